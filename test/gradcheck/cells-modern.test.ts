// The eight modern cells of design §8 against central finite differences in float64, through
// the reference loop of cells-modern-unroll.ts (one layer forward, and two stacked
// bidirectional layers), with random upstream output gradients and a random final-state
// gradient: L = Σ_t ⟨G_t, y_t⟩ + Σ_layers/directions ⟨F, s_final⟩, from a random initial state.
// Checked, every entry: each parameter, the input, the initial state, every per-step state
// gradient the backward reports (∂L/∂s_t per part, by perturbing the part after step t and
// forming out_t again), sLSTM's node gradient ∂L/∂c_t (gradNormC), each gate's
// pre-activation gradient (dProj), and each step's JVP against FD of the step map, plus
// ⟨w, J v⟩ = ⟨Jᵀ w, v⟩ with Jᵀ from backward (what the Jacobian probe's power iteration uses).
//
// Stencil: 7-point central differences, h = 1e-2 (truncation O(h⁶)). Error: |a − n| /
// max(|a|, |n|, 1e-8), required ≤ 1e-6. Kinks (relu, g's slope jump at 0, mLSTM's
// max(|nᵀq|, exp(−m))) would break FD if a stencil crossed one: each case takes the first
// seed whose pass keeps every kink argument ≥ 0.05 away (mLSTM: |ln|nᵀq| + m| ≥ 0.1), and
// the case fails if no seed among 400 does. mLSTM's seed must also use both sides of that max.

import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { CellOptions } from '../../src/engine/cells/cell';
import { Rng } from '../../src/engine/rng';
import {
  backward,
  finalState,
  forward,
  MODERN_CELLS,
  Net,
  stepJvp,
  stepMap,
  stepOrder,
  type ForwardRecord,
  type Hooks,
  type ModernCellName,
} from './cells-modern-unroll';

const FD_STEP = 1e-2;
const FLOOR = 1e-8;
const TOLERANCE = 1e-6;

const worstByCell = new Map<string, { err: number; checks: number }>();
after(() => {
  for (const [cell, { err, checks }] of worstByCell) console.log(`# ${cell}: ${checks} FD comparisons, max relative error ${err.toExponential(2)}`);
});

function derivative(f: (eps: number) => number, h = FD_STEP): number {
  return (45 * (f(h) - f(-h)) - 9 * (f(2 * h) - f(-2 * h)) + (f(3 * h) - f(-3 * h))) / (60 * h);
}

/**
 * LRU's phase enters as exp(θ) t for t up to T: L oscillates in θ with frequency ≈ T·exp(θ)
 * (≈ 40 here), and the O(h⁶) truncation term of the stencil at h = 1e-2 reaches 1e-4; at
 * h = 1e-3 it is below 1e-10.
 */
function stepFor(param: string): number {
  return param.startsWith('theta_log') ? 1e-3 : FD_STEP;
}

function relErr(a: number, n: number): number {
  return Math.abs(a - n) / Math.max(Math.abs(a), Math.abs(n), FLOOR);
}

interface Problem {
  name: string;
  cell: ModernCellName;
  net: Net;
  x: Float64Array;
  B: number;
  T: number;
  G: Float64Array[]; // [T][B][top]
  F: Float64Array[][]; // [ld][part]
  initial: Map<number, Float64Array[]>;
}

const SIZES = { I: 2, H: 3, B: 2, T: 5 };

function buildProblem(cell: ModernCellName, layers: number, bidirectional: boolean, options: CellOptions, seed: number): Problem {
  const { I, H, B, T } = SIZES;
  const rng = new Rng(seed);
  const net = new Net({ cell, inputSize: I, hiddenSize: H, layers, bidirectional, options });
  net.initialize(rng, 0.3);
  const x = Float64Array.from({ length: B * T * I }, () => rng.range(-1, 1));
  const top = net.topOutSize();
  const G = Array.from({ length: T }, () => Float64Array.from({ length: B * top }, () => 0.5 * rng.normal()));
  const initial = new Map<number, Float64Array[]>();
  const F: Float64Array[][] = [];
  net.lds.forEach((ld, k) => {
    initial.set(
      k,
      ld.cell.state.map((p) =>
        // sLSTM's normaliser n stays positive, as the recurrence keeps it; m is any gauge.
        Float64Array.from({ length: B * p.size }, () => (p.name === 'n' && cell === 'slstm' ? rng.range(0.3, 1) : rng.range(-0.5, 0.5))),
      ),
    );
    // xLSTM's stabilised parts (c, n, C) are defined only up to the gauge exp(−m): a loss on
    // them is no function of the network (it moves with m_T, which backward holds), so the
    // final-state gradient there is zero; h (sLSTM) and every other cell's state get one.
    const gauged = ld.cell.state.some((p) => p.heldConstant);
    F.push(ld.cell.state.map((p) => (p.heldConstant ? new Float64Array(0) : Float64Array.from({ length: B * p.size }, () => (gauged && p.name !== 'h' ? 0 : 0.5 * rng.normal())))));
  });
  const name = `${cell}${options.activation ? `(${options.activation})` : ''} ${layers}-layer${bidirectional ? ' bidirectional' : ''}`;
  return { name, cell, net, x, B, T, G, F, initial };
}

function lossOf(pb: Problem, hooks: Hooks = {}): number {
  const rec = forward(pb.net, pb.x, pb.B, pb.T, { ...hooks, initial: hooks.initial ?? pb.initial });
  return lossFromRecord(pb, rec);
}

function lossFromRecord(pb: Problem, rec: ForwardRecord): number {
  let L = 0;
  for (let t = 0; t < pb.T; t++) for (let k = 0; k < pb.G[t].length; k++) L += pb.G[t][k] * rec.top[t][k];
  pb.net.lds.forEach((ld, k) => {
    const fin = finalState(rec, k, ld.d);
    ld.cell.state.forEach((p, i) => {
      if (p.heldConstant) return;
      for (let j = 0; j < fin[i].length; j++) L += pb.F[k][i][j] * fin[i][j];
    });
  });
  return L;
}

/** Distance of the pass's kink arguments from their kinks (Infinity for smooth cells). */
function kinkMargin(pb: Problem, rec: ForwardRecord): number {
  const { net, B, T } = pb;
  const H = SIZES.H;
  let margin = Infinity;
  net.lds.forEach((ld, k) => {
    const r = rec.lds[k];
    for (let t = 0; t < T; t++) {
      const proj = r.proj[t];
      for (let b = 0; b < B; b++) {
        for (let j = 0; j < H; j++) {
          if (pb.cell === 'indrnn' && (ld.cell as { activation?: string }).activation === 'relu') {
            const prevT = ld.d === 0 ? t - 1 : t + 1;
            const prev = prevT < 0 || prevT >= T ? r.initial[0] : r.after[prevT][0];
            margin = Math.min(margin, Math.abs(proj[b * H + j] + net.param(ld, 'weight_hh')[j] * prev[b * H + j]));
          }
          if (pb.cell === 'mingru') margin = Math.min(margin, Math.abs(proj[b * 2 * H + H + j]));
          if (pb.cell === 'minlstm') margin = Math.min(margin, Math.abs(proj[b * 3 * H + 2 * H + j]));
        }
        if (pb.cell === 'mlstm') {
          const X = 2 * H + 5;
          const s = r.cache[t][b * X + H + 3];
          const m = r.after[t][2][b];
          margin = Math.min(margin, Math.abs(Math.log(Math.abs(s)) + m) / 2); // ≥ 0.1 in log ratio
        }
      }
    }
  });
  return margin;
}

/** mLSTM: the pass uses both sides of max(|nᵀq|, exp(−m)), so both are checked. */
function mlstmBothBranches(rec: ForwardRecord): boolean {
  const H = SIZES.H;
  const X = 2 * H + 5;
  let normaliser = 0;
  let floor = 0;
  for (const r of rec.lds) {
    for (let t = 0; t < rec.T; t++) {
      for (let b = 0; b < rec.B; b++) {
        if (Math.abs(r.cache[t][b * X + H + 3]) >= Math.exp(-r.after[t][2][b])) normaliser++;
        else floor++;
      }
    }
  }
  return normaliser > 0 && floor > 0;
}

function findProblem(cell: ModernCellName, layers: number, bidirectional: boolean, options: CellOptions): Problem {
  for (let seed = 1; seed <= 400; seed++) {
    const pb = buildProblem(cell, layers, bidirectional, options, seed);
    const rec = forward(pb.net, pb.x, pb.B, pb.T, { initial: pb.initial });
    if (kinkMargin(pb, rec) >= 0.05 && (cell !== 'mlstm' || mlstmBothBranches(rec))) return pb;
  }
  throw new Error(`no seed in 1..400 keeps ${cell}'s kinks 0.05 away from the FD stencil`);
}

function compare(pb: Problem, what: string, analytic: ArrayLike<number>, numeric: ArrayLike<number>): void {
  assert.equal(analytic.length, numeric.length, `${pb.name} ${what}: length`);
  const s = worstByCell.get(pb.cell) ?? { err: 0, checks: 0 };
  for (let k = 0; k < analytic.length; k++) {
    const e = relErr(analytic[k], numeric[k]);
    s.checks++;
    if (e > s.err || Number.isNaN(e)) s.err = Number.isNaN(e) ? Infinity : e;
    assert.ok(e <= TOLERANCE, `${pb.name} ${what}[${k}]: analytic ${analytic[k]} vs FD ${numeric[k]} (relErr ${e.toExponential(2)})`);
  }
  worstByCell.set(pb.cell, s);
}

const CASES: Array<{ cell: ModernCellName; layers: number; bidirectional: boolean; options: CellOptions }> = [];
for (const cell of MODERN_CELLS) {
  const options: CellOptions = cell === 's6' ? { stateSize: 3 } : {};
  CASES.push({ cell, layers: 1, bidirectional: false, options });
  CASES.push({ cell, layers: 2, bidirectional: true, options });
}
CASES.push({ cell: 'indrnn', layers: 1, bidirectional: false, options: { activation: 'tanh' } });

for (const c of CASES) {
  const pb = findProblem(c.cell, c.layers, c.bidirectional, c.options);
  const { net, B, T } = pb;

  test(`${pb.name}: every parameter, input and initial-state gradient matches FD`, () => {
    const rec = forward(net, pb.x, B, T, { initial: pb.initial });
    const res = backward(net, rec, pb.G, pb.F);
    for (const [name, data] of net.params) {
      const numeric = new Float64Array(data.length);
      for (let k = 0; k < data.length; k++) {
        const v = data[k];
        numeric[k] = derivative((eps) => {
          data[k] = v + eps;
          const L = lossOf(pb);
          data[k] = v;
          return L;
        }, stepFor(name));
      }
      compare(pb, name, res.grads.get(name)!, numeric);
    }
    const dx = new Float64Array(pb.x.length);
    for (let k = 0; k < pb.x.length; k++) {
      const v = pb.x[k];
      dx[k] = derivative((eps) => {
        pb.x[k] = v + eps;
        const L = lossOf(pb);
        pb.x[k] = v;
        return L;
      });
    }
    compare(pb, 'x', res.dx, dx);
    net.lds.forEach((ld, k) => {
      ld.cell.state.forEach((p, i) => {
        if (p.heldConstant) return;
        const init = pb.initial.get(k)![i];
        const numeric = new Float64Array(init.length);
        for (let j = 0; j < init.length; j++) {
          const v = init[j];
          numeric[j] = derivative((eps) => {
            init[j] = v + eps;
            const L = lossOf(pb);
            init[j] = v;
            return L;
          });
        }
        compare(pb, `initial ${p.name}${ld.suffix}`, res.dInitial[k][i], numeric);
      });
    });
  });

  test(`${pb.name}: every per-step state gradient (and gate pre-activation gradient) matches FD`, () => {
    const rec = forward(net, pb.x, B, T, { initial: pb.initial });
    const res = backward(net, rec, pb.G, pb.F);
    net.lds.forEach((ld, k) => {
      const { cell } = ld;
      for (let t = 0; t < T; t++) {
        cell.state.forEach((p, i) => {
          if (p.heldConstant) return;
          const n = B * p.size;
          const numeric = new Float64Array(n);
          for (let j = 0; j < n; j++) {
            numeric[j] = derivative((eps) => {
              const delta = new Float64Array(n);
              delta[j] = eps;
              return lossOf(pb, { state: [{ ld: k, t, part: i, delta }] });
            });
          }
          compare(pb, `∂L/∂${p.name}${ld.suffix}[t=${t}]`, res.dState[k][t][i], numeric);
        });
        if (cell.nodeC) {
          const n = res.dNodeC[k][t].length;
          const numeric = new Float64Array(n);
          for (let j = 0; j < n; j++) {
            numeric[j] = derivative((eps) => {
              const delta = new Float64Array(n);
              delta[j] = eps;
              return lossOf(pb, { node: [{ ld: k, t, delta }] });
            });
          }
          compare(pb, `node ∂L/∂c${ld.suffix}[t=${t}]`, res.dNodeC[k][t], numeric);
        }
        // Gate pre-activation gradients: dProj at each gate's gradOffset, by perturbing proj_t there.
        for (const g of cell.gates) {
          const P = rec.lds[k].proj[t].length / B;
          const numeric = new Float64Array(B * g.width);
          const analytic = new Float64Array(B * g.width);
          for (let b = 0; b < B; b++) {
            for (let w = 0; w < g.width; w++) {
              const at = b * P + g.gradOffset + w;
              analytic[b * g.width + w] = res.dProj[k][t][at];
              numeric[b * g.width + w] = derivative((eps) => lossOf(pb, { proj: [{ ld: k, t, at, eps }] }));
            }
          }
          compare(pb, `gate ${g.name}${ld.suffix} pre-activation [t=${t}]`, analytic, numeric);
        }
      }
    });
  });

  test(`${pb.name}: each step's JVP matches FD of the step map, and backward is its transpose`, () => {
    const rec = forward(net, pb.x, B, T, { initial: pb.initial });
    const rng = new Rng(99);
    net.lds.forEach((ld, k) => {
      const { cell } = ld;
      for (const t of stepOrder(T, ld.d)) {
        const v = cell.state.map((p) => (p.heldConstant ? new Float64Array(0) : Float64Array.from({ length: B * p.size }, () => rng.normal())));
        const jv = stepJvp(net, rec, k, t, v);
        cell.state.forEach((p, i) => {
          if (p.heldConstant) return;
          const numeric = new Float64Array(B * p.size);
          for (let j = 0; j < numeric.length; j++) numeric[j] = derivative((eps) => stepMap(net, rec, k, t, v, eps)[i][j]);
          compare(pb, `JVP ${p.name}${ld.suffix}[t=${t}]`, jv[i], numeric);
        });
        // ⟨w, J v⟩ = ⟨Jᵀ w, v⟩ with Jᵀ w from backward (dOut = 0, dNext = w, plus dRec W_hh).
        const w = cell.state.map((p) => (p.heldConstant ? new Float64Array(0) : Float64Array.from({ length: B * p.size }, () => rng.normal())));
        const jtw = stepVjp(pb, rec, k, t, w);
        let lhs = 0;
        let rhs = 0;
        let scale = 0;
        cell.state.forEach((_p, i) => {
          for (let j = 0; j < w[i].length; j++) {
            lhs += w[i][j] * jv[i][j];
            rhs += jtw[i][j] * v[i][j];
            scale += Math.abs(w[i][j] * jv[i][j]);
          }
        });
        assert.ok(Math.abs(lhs - rhs) <= 1e-12 * Math.max(scale, 1), `${pb.name} ${ld.suffix} t=${t}: ⟨w, Jv⟩ ${lhs} vs ⟨Jᵀw, v⟩ ${rhs}`);
      }
    });
  });
}

/** Jᵀ w for step t of one ld via backward with dOut = 0 and dNext = w (plus dRec W_hh into the `from` part). */
function stepVjp(pb: Problem, rec: ForwardRecord, k: number, t: number, w: Float64Array[]): Float64Array[] {
  const { net, B, T } = pb;
  const ld = net.lds[k];
  const { cell } = ld;
  const r = rec.lds[k];
  const prevT = ld.d === 0 ? t - 1 : t + 1;
  const first = prevT < 0 || prevT >= T;
  const prev = first ? r.initial : r.after[prevT];
  const P = r.proj[t].length / B;
  const G = cell.recurrent ? cell.recurrent.rows : 0;
  const dProj = new Float64Array(B * P);
  const dRec = cell.recShared ? dProj : new Float64Array(B * G);
  const dPrev = cell.state.map((p) => new Float64Array(p.heldConstant ? 0 : B * p.size));
  const own = cell.params.filter((p) => p.role === 'own').map((p) => net.param(ld, p.name));
  cell.backward({
    B,
    t,
    first,
    proj: r.proj[t],
    rec: r.rec[t],
    prev,
    next: r.after[t],
    out: r.out[t],
    cache: r.cache[t],
    own,
    dOut: new Float64Array(B * cell.outSize),
    dNext: w.map((a) => Float64Array.from(a)),
    dState: cell.state.map((p) => new Float64Array(p.heldConstant ? 0 : B * p.size)),
    dProj,
    dRec,
    dPrev,
    dOwn: own.map((a) => new Float64Array(a.length)),
    wantOwn: false,
    dNodeC: new Float64Array(cell.nodeC ? B * SIZES.H : 0),
  });
  if (cell.recurrent) {
    const from = cell.state.findIndex((s) => s.name === cell.recurrent!.from);
    const Hf = cell.state[from].size;
    const W = net.param(ld, cell.recurrent.weight);
    for (let b = 0; b < B; b++) for (let q = 0; q < G; q++) for (let i = 0; i < Hf; i++) dPrev[from][b * Hf + i] += dRec[b * G + q] * W[q * Hf + i];
  }
  return dPrev;
}
