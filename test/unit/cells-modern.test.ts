// The eight modern cells of design §8, one by one: the parameter contract (names, shapes,
// roles: the safetensors names of `gradients --cell`), state layouts and gates, the §8 inits,
// the step Jacobians that §8 states in closed form (checked through the cells' JVPs to
// 1e-12), xLSTM's stabiliser (h does not depend on the gauge m), RG-LRU's first step, and the
// constructors' messages for bad options. Gradients are checked in test/gradcheck/cells-modern
// (finite differences) and test/unit/cells-modern-torch (PyTorch).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Cell, CellOptions } from '../../src/engine/cells/cell';
import { IndRnnCell } from '../../src/engine/cells/indrnn';
import { LruCell } from '../../src/engine/cells/lru';
import { S6Cell } from '../../src/engine/cells/s6';
import { softplus } from '../../src/engine/cells/common';
import { Rng } from '../../src/engine/rng';
import { backward, forward, jacobianNorms, makeCell, MODERN_CELLS, Net, type ForwardRecord, type ModernCellName } from '../gradcheck/cells-modern-unroll';

const I = 2;
const H = 3;
const N = 4;

type Spec = [string, number[], string];

/** Design §8, verbatim: name, shape, role. */
const EXPECTED: Record<ModernCellName, Spec[]> = {
  indrnn: [['weight_ih', [H, I], 'input'], ['bias_ih', [H], 'inputBias'], ['weight_hh', [H], 'own']],
  mingru: [['weight_ih', [2 * H, I], 'input'], ['bias_ih', [2 * H], 'inputBias']],
  minlstm: [['weight_ih', [3 * H, I], 'input'], ['bias_ih', [3 * H], 'inputBias']],
  lru: [
    ['nu_log', [H], 'own'], ['theta_log', [H], 'own'], ['gamma_log', [H], 'own'],
    ['B_re', [H, I], 'input'], ['B_im', [H, I], 'input'], ['C_re', [H, H], 'own'], ['C_im', [H, H], 'own'], ['D', [H, I], 'input'],
  ],
  rglru: [['weight_ih', [3 * H, I], 'input'], ['bias_ih', [3 * H], 'inputBias'], ['a_param', [H], 'own']],
  slstm: [['weight_ih', [4 * H, I], 'input'], ['weight_hh', [4 * H, H], 'recurrent'], ['bias_ih', [4 * H], 'inputBias'], ['bias_hh', [4 * H], 'recurrentBias']],
  mlstm: [
    ['weight_q', [H, I], 'input'], ['bias_q', [H], 'inputBias'], ['weight_k', [H, I], 'input'], ['bias_k', [H], 'inputBias'],
    ['weight_v', [H, I], 'input'], ['bias_v', [H], 'inputBias'], ['weight_o', [H, I], 'input'], ['bias_o', [H], 'inputBias'],
    ['weight_if', [2, I], 'input'], ['bias_if', [2], 'inputBias'],
  ],
  s6: [
    ['weight_u', [H, I], 'input'], ['bias_u', [H], 'inputBias'], ['weight_dt', [H, I], 'input'], ['bias_dt', [H], 'inputBias'],
    ['weight_B', [N, I], 'input'], ['weight_C', [N, I], 'input'], ['A_log', [H, N], 'own'], ['D', [H], 'own'],
  ],
};

const STATES: Record<ModernCellName, Array<[string, number, boolean]>> = {
  indrnn: [['h', H, false]],
  mingru: [['h', H, false]],
  minlstm: [['h', H, false]],
  lru: [['h', 2 * H, false]],
  rglru: [['h', H, false]],
  slstm: [['h', H, false], ['c', H, false], ['n', H, false], ['m', H, true]],
  mlstm: [['C', H * H, false], ['n', H, false], ['m', 1, true]],
  s6: [['h', H * N, false]],
};

const GATES: Record<ModernCellName, string[]> = {
  indrnn: ['a'], mingru: ['z', 'h'], minlstm: ['f', 'i', 'h'], lru: [], rglru: ['a', 'x'], slstm: ['i', 'f', 'z', 'o'], mlstm: ['i', 'f', 'o'], s6: ['dt'],
};

function options(cell: ModernCellName): CellOptions {
  return cell === 's6' ? { stateSize: N } : {};
}

for (const name of MODERN_CELLS) {
  test(`${name}: parameters, projection, state, output and gates as design §8 lists them`, () => {
    const cell = makeCell(name, I, H, options(name));
    assert.equal(cell.name, name);
    assert.deepEqual(cell.params.map((p) => [p.name, p.shape, p.role]), EXPECTED[name]);
    // Every input-role weight is a projection block with its rows; every inputBias belongs to one.
    const blocks = cell.projection;
    for (const p of cell.params.filter((q) => q.role === 'input')) {
      const blk = blocks.find((b) => b.weight === p.name);
      assert.ok(blk, `${p.name} is not a projection block`);
      assert.equal(blk.rows, p.shape[0]);
    }
    for (const p of cell.params.filter((q) => q.role === 'inputBias')) assert.ok(blocks.some((b) => b.bias === p.name), `${p.name} is no block's bias`);
    assert.deepEqual(cell.state.map((s) => [s.name, s.size, s.heldConstant === true]), STATES[name]);
    assert.equal(cell.outSize, H);
    assert.equal(cell.outPart, ['lru', 'mlstm', 's6'].includes(name) ? null : 'h');
    if (cell.outPart === null) assert.equal(typeof cell.readout, 'function');
    assert.deepEqual(cell.gates.map((g) => g.name), GATES[name]);
    const P = blocks.reduce((a, b) => a + b.rows, 0);
    for (const g of cell.gates) {
      assert.ok(g.offset >= 0 && g.offset + g.width <= cell.cacheSize, `gate ${g.name} outside the cache`);
      assert.ok(g.gradOffset >= 0 && g.gradOffset + g.width <= P, `gate ${g.name} outside proj`);
    }
    assert.equal(cell.recurrent !== null, name === 'slstm');
    assert.equal(cell.recShared, name === 'slstm');
    assert.equal(cell.nodeC !== null, name === 'slstm');
  });
}

/** Fill a fresh cell's parameters with its init. */
function initialised(cell: Cell, seed: number): Map<string, Float64Array> {
  const params = new Map(cell.params.map((p) => [p.name, new Float64Array(p.shape.reduce((a, b) => a * b, 1))] as const));
  cell.init((n) => params.get(n)!, new Rng(seed));
  return params;
}

test('init is deterministic per seed and touches every parameter', () => {
  for (const name of MODERN_CELLS) {
    const a = initialised(makeCell(name, I, H, options(name)), 5);
    const b = initialised(makeCell(name, I, H, options(name)), 5);
    const c = initialised(makeCell(name, I, H, options(name)), 6);
    for (const [k, v] of a) {
      assert.deepEqual(v, b.get(k), `${name} ${k}`);
      assert.ok(v.every(Number.isFinite), `${name} ${k} finite`);
    }
    assert.ok([...a].some(([k, v]) => v.some((x, i) => x !== c.get(k)![i])), `${name}: the seed changes nothing`);
  }
});

test('init: U(−1/√H, 1/√H) where §8 states no init; IndRNN u ~ U(0, 1)', () => {
  const bigH = 200;
  const bound = 1 / Math.sqrt(bigH);
  const generic: Record<string, string[]> = {
    indrnn: ['weight_ih', 'bias_ih'], mingru: ['weight_ih', 'bias_ih'], minlstm: ['weight_ih', 'bias_ih'], rglru: ['weight_ih', 'bias_ih'],
    slstm: ['weight_ih', 'weight_hh', 'bias_ih', 'bias_hh'], mlstm: ['weight_q', 'bias_q', 'weight_k', 'bias_k', 'weight_v', 'bias_v', 'weight_o', 'bias_o', 'weight_if'],
    s6: ['weight_u', 'bias_u', 'weight_dt', 'weight_B', 'weight_C'],
  };
  for (const [name, names] of Object.entries(generic)) {
    const p = initialised(makeCell(name as ModernCellName, 5, bigH, options(name as ModernCellName)), 1);
    for (const n of names) {
      const d = p.get(n)!;
      const max = d.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      assert.ok(max <= bound && max > 0.9 * bound, `${name} ${n}: max |w| ${max} vs bound ${bound}`);
    }
  }
  const u = initialised(new IndRnnCell(5, bigH), 1).get('weight_hh')!;
  assert.ok(u.every((x) => x >= 0 && x < 1) && u.some((x) => x < 0.05) && u.some((x) => x > 0.95));
});

test('LRU init: λ uniform on the ring [0.9, 0.999] by area, phase in (0, 2π), γ = √(1 − |λ|²)', () => {
  const bigH = 4000;
  const p = initialised(new LruCell(2, bigH), 3);
  const nu = p.get('nu_log')!;
  const theta = p.get('theta_log')!;
  const gamma = p.get('gamma_log')!;
  let mean = 0;
  for (let j = 0; j < bigH; j++) {
    const r = Math.exp(-Math.exp(nu[j]));
    assert.ok(r >= 0.9 - 1e-15 && r <= 0.999 + 1e-15, `|λ| ${r}`);
    const phase = Math.exp(theta[j]);
    assert.ok(phase > 0 && phase < 2 * Math.PI);
    assert.ok(Math.abs(Math.exp(gamma[j]) - Math.sqrt(1 - r * r)) <= 1e-12 * Math.sqrt(1 - r * r), `γ at ${j}`);
    mean += (r * r) / bigH;
  }
  // |λ|² ~ U(0.81, 0.998001): mean 0.9040005, sd of the mean 0.0543/√4000 = 8.6e-4.
  assert.ok(Math.abs(mean - 0.9040005) < 4 * 8.6e-4, `mean |λ|² ${mean}`);
  const narrow = initialised(new LruCell(2, 500, { rMin: 0.5, rMax: 0.6 }), 3).get('nu_log')!;
  for (const v of narrow) {
    const r = Math.exp(-Math.exp(v));
    assert.ok(r >= 0.5 - 1e-15 && r <= 0.6 + 1e-15);
  }
  assert.throws(() => new LruCell(2, 3, { rMin: 0.9, rMax: 1 }), /lru: need 0 ≤ rMin ≤ rMax < 1, got rMin 0.9, rMax 1/);
  assert.throws(() => new LruCell(2, 3, { rMin: 0.95, rMax: 0.9 }), /rMin ≤ rMax/);
});

test('RG-LRU init: softplus(Λ) = −ln ρ with ρ² uniform in [0.9², 0.999²], so a_t = ρ^(8 r_t)', () => {
  const bigH = 4000;
  const lambda = initialised(makeCell('rglru', 2, bigH), 4).get('a_param')!;
  let mean = 0;
  for (const l of lambda) {
    const rho = Math.exp(-softplus(l));
    assert.ok(rho >= 0.9 - 1e-15 && rho <= 0.999 + 1e-15, `ρ ${rho}`);
    mean += (rho * rho) / bigH;
  }
  assert.ok(Math.abs(mean - 0.9040005) < 4 * 8.6e-4, `mean ρ² ${mean}`);
  // a_t = ρ^(8 r): run one step and compare with the cache.
  const net = new Net({ cell: 'rglru', inputSize: 2, hiddenSize: H, layers: 1, bidirectional: false, options: {} });
  net.initialize(new Rng(4));
  const rec = forward(net, Float64Array.from({ length: 2 * 3 * 2 }, (_, k) => Math.sin(k + 1)), 2, 3);
  const lam = net.params.get('a_param_l0')!;
  for (let t = 0; t < 3; t++) {
    for (let b = 0; b < 2; b++) {
      for (let j = 0; j < H; j++) {
        const r = rec.lds[0].cache[t][b * 4 * H + j];
        const a = rec.lds[0].cache[t][b * 4 * H + 2 * H + j];
        const rho = Math.exp(-softplus(lam[j]));
        assert.ok(Math.abs(a - rho ** (8 * r)) <= 1e-14, `a ${a} vs ρ^(8r) ${rho ** (8 * r)}`);
      }
    }
  }
});

test('S6 init: A_log[d, n] = ln(n + 1), D = 1, softplus(b_Δ) in [0.001, 0.1]', () => {
  const bigH = 300;
  const p = initialised(new S6Cell(2, bigH, { stateSize: 16 }), 2);
  const aLog = p.get('A_log')!;
  for (let d = 0; d < bigH; d++) for (let n = 0; n < 16; n++) assert.equal(aLog[d * 16 + n], Math.log(n + 1));
  assert.ok(p.get('D')!.every((v) => v === 1));
  const dt = [...p.get('bias_dt')!].map(softplus);
  assert.ok(dt.every((v) => v >= 1e-3 * (1 - 1e-12) && v <= 0.1 * (1 + 1e-12)), 'Δ₀ range');
  assert.ok(Math.min(...dt) < 2e-3 && Math.max(...dt) > 0.05, 'Δ₀ spans the log-uniform range');
  assert.equal(new S6Cell(2, 3).stateSize, 16);
  assert.throws(() => new S6Cell(2, 3, { stateSize: 0 }), /s6: the state size N must be a positive integer, got 0/);
  assert.throws(() => new IndRnnCell(2, 3, { activation: 'sigmoid' as 'relu' }), /indrnn: activation must be 'relu' or 'tanh', got 'sigmoid'/);
});

test('mLSTM init: bias_if = (0, 3): the forget gate starts open', () => {
  assert.deepEqual([...initialised(makeCell('mlstm', 2, 8), 1).get('bias_if')!], [0, 3]);
});

// ---------------------------------------------------------------- closed-form step Jacobians

function run(cell: ModernCellName, seed: number, bidirectional = false, T = 6, B = 3): { net: Net; rec: ForwardRecord } {
  const net = new Net({ cell, inputSize: I, hiddenSize: H, layers: 1, bidirectional, options: options(cell) });
  const rng = new Rng(seed);
  net.initialize(rng, 0.3);
  const x = Float64Array.from({ length: B * T * I }, () => rng.range(-2, 2));
  return { net, rec: forward(net, x, B, T) };
}

/** jacobianNorm from the cells' JVP (explicit Jacobian, exact σ_max) against a closed form per step. */
function checkClosedForm(cell: ModernCellName, closed: (rec: ForwardRecord, net: Net, k: number, t: number, b: number) => number, bidirectional = true): void {
  const { net, rec } = run(cell, 7, bidirectional);
  net.lds.forEach((_, k) => {
    const got = jacobianNorms(net, rec, k);
    for (let t = 0; t < rec.T; t++) {
      let want = 0;
      for (let b = 0; b < rec.B; b++) want += closed(rec, net, k, t, b) / rec.B;
      assert.ok(Math.abs(got[t] - want) <= 1e-12 * want, `${cell} ld ${k} t=${t}: ${got[t]} vs closed form ${want}`);
    }
  });
}

test('LRU: the step Jacobian is diag(λ), so jacobianNorm[t] = max_j |λ_j| at every step', () => {
  checkClosedForm('lru', (_rec, net, k) => {
    const nu = net.param(net.lds[k], 'nu_log');
    return Math.max(...[...nu].map((v) => Math.exp(-Math.exp(v))));
  });
});

test('minGRU: the step Jacobian is diag(1 − z_t): jacobianNorm = mean over the batch of max_j (1 − z_t,j)', () => {
  checkClosedForm('mingru', (rec, _net, k, t, b) => Math.max(...Array.from({ length: H }, (_, j) => 1 - rec.lds[k].cache[t][b * 2 * H + j])));
});

test('S6: the step Jacobian is diag(exp(Δ_t A)): jacobianNorm = mean over the batch of max exp(Δ_t[d] A[d, n])', () => {
  checkClosedForm('s6', (rec, net, k, t, b) => {
    const aLog = net.param(net.lds[k], 'A_log');
    let m = 0;
    for (let d = 0; d < H; d++) for (let n = 0; n < N; n++) m = Math.max(m, Math.exp(rec.lds[k].cache[t][b * 2 * H + d] * -Math.exp(aLog[d * N + n])));
    return m;
  });
});

test('minLSTM diag(f′_t), RG-LRU diag(a_t), IndRNN diag(act′ ⊙ u), mLSTM f_t·I: jacobianNorm in closed form', () => {
  checkClosedForm('minlstm', (rec, _net, k, t, b) => Math.max(...Array.from({ length: H }, (_, j) => rec.lds[k].cache[t][b * 5 * H + j])));
  checkClosedForm('rglru', (rec, _net, k, t, b) => Math.max(...Array.from({ length: H }, (_, j) => rec.lds[k].cache[t][b * 4 * H + 2 * H + j])));
  checkClosedForm('indrnn', (rec, net, k, t, b) => {
    const u = net.param(net.lds[k], 'weight_hh');
    return Math.max(...Array.from({ length: H }, (_, j) => (rec.lds[k].cache[t][b * H + j] > 0 ? Math.abs(u[j]) : 0)));
  });
  checkClosedForm('mlstm', (rec, _net, k, t, b) => rec.lds[k].cache[t][b * (2 * H + 5) + H + 1]);
});

// ---------------------------------------------------------------- xLSTM's stabiliser, RG-LRU's first step

test('xLSTM: h does not depend on the gauge m — the same initial state in another gauge gives the same outputs to 1e-14', () => {
  for (const cell of ['slstm', 'mlstm'] as const) {
    const { net } = run(cell, 3);
    const B = 2;
    const T = 6;
    const rng = new Rng(8);
    const x = Float64Array.from({ length: B * T * I }, () => rng.range(-2, 2));
    const ld = net.lds[0].cell;
    const base = ld.state.map((p) => Float64Array.from({ length: B * p.size }, () => (p.name === 'n' && cell === 'slstm' ? rng.range(0.5, 1) : rng.range(-1, 1))));
    // (c, n, m) and (c·e^δ, n·e^δ, m − δ) are the same unstabilised state c̄ = c·e^m.
    const shifted = base.map((a, i) => {
      const p = ld.state[i];
      if (p.name === 'h') return Float64Array.from(a);
      if (p.heldConstant) return a.map((v) => v - 2.5);
      return a.map((v) => v * Math.exp(2.5));
    });
    const r1 = forward(net, x, B, T, { initial: new Map([[0, base]]) });
    const r2 = forward(net, x, B, T, { initial: new Map([[0, shifted]]) });
    let worst = 0;
    for (let t = 0; t < T; t++) for (let k = 0; k < r1.top[t].length; k++) worst = Math.max(worst, Math.abs(r1.top[t][k] - r2.top[t][k]) / Math.max(Math.abs(r1.top[t][k]), 1e-3));
    assert.ok(worst <= 1e-14, `${cell}: outputs differ by ${worst} between two gauges of one state`);
    // And the first step's stabiliser is m_0 = ĩ_0: i_0 = exp(ĩ_0 − m_0) = 1.
    const iAt = cell === 'slstm' ? (b: number, j: number) => r1.lds[0].cache[0][b * 5 * H + j] : (b: number) => r1.lds[0].cache[0][b * (2 * H + 5) + H];
    for (let b = 0; b < B; b++) assert.equal(iAt(b, 0), 1);
  }
});

test('RG-LRU: m = 1 on the first step each direction takes (t = 0 forward, t = T−1 reverse), √(1 − a²) elsewhere', () => {
  const { rec } = run('rglru', 5, true);
  const T = rec.T;
  for (const [k, first] of [[0, 0], [1, T - 1]] as const) {
    for (let t = 0; t < T; t++) {
      for (let b = 0; b < rec.B; b++) {
        for (let j = 0; j < H; j++) {
          const a = rec.lds[k].cache[t][b * 4 * H + 2 * H + j];
          const m = rec.lds[k].cache[t][b * 4 * H + 3 * H + j];
          if (t === first) assert.equal(m, 1);
          else assert.ok(Math.abs(m - Math.sqrt(1 - a * a)) <= 1e-15, `t=${t}: m ${m} vs √(1 − a²) ${Math.sqrt(1 - a * a)}`);
        }
      }
    }
  }
});

test('T = 1,000 with large inputs (×5; ×20 for the exponential gates of xLSTM): every output and gradient finite', () => {
  for (const cell of MODERN_CELLS) {
    const net = new Net({ cell, inputSize: I, hiddenSize: 6, layers: 1, bidirectional: false, options: options(cell) });
    const rng = new Rng(1);
    net.initialize(rng);
    const T = 1000;
    const B = 2;
    const scale = cell === 'slstm' || cell === 'mlstm' ? 20 : 5;
    const x = Float64Array.from({ length: B * T * I }, () => scale * rng.normal());
    const rec = forward(net, x, B, T);
    const res = backward(net, rec, rec.top.map((a) => a.map(() => rng.normal())), null);
    for (const a of rec.top) assert.ok(a.every(Number.isFinite), `${cell}: non-finite output`);
    for (const [name, g] of res.grads) assert.ok(g.every(Number.isFinite), `${cell}: non-finite gradient of ${name}`);
    for (const parts of res.dState[0]) for (const p of parts) assert.ok(p.every(Number.isFinite), `${cell}: non-finite state gradient`);
  }
});
