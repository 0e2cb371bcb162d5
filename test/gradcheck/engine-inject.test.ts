// The injected-gradient pass (inject.ts, design §9) against central finite differences of its
// objective L = ⟨grad_output, output⟩ + ⟨grad_h_n, h_n⟩ + ⟨grad_c_n, c_n⟩: every parameter,
// ∂L/∂input, ∂L/∂h_0, ∂L/∂c_0, and every recorded per-timestep gradient (probe-checks.ts:
// gradNormH/C/State, gate gradients, weightGradByStep entry by entry, inputGradNorm, itemized
// with the injection at step s as ℓ_s). Plus: L = Σ ℓ_s, directGradNorm, final states, and
// agreement with the head-driven pass when the injected gradient is the head's.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runPass } from '../../src/engine/bptt';
import { evaluateInjected, runInjectedPass, runInjectedPassWithHooks, type InjectedPassInput } from '../../src/engine/inject';
import { computeLoss } from '../../src/engine/loss';
import { cellName } from '../../src/engine/cells';
import { createModel, defaultModelConfig, fillUniform, HEAD_BIAS, HEAD_WEIGHT, layerCells } from '../../src/engine/model';
import { Rng } from '../../src/engine/rng';
import type { ModelConfig, ParamSet } from '../../src/engine/types';
import { derivative, fdParam, norm, TOLERANCE, worst } from './fd';
import { checkSubjectProbes, type ProbeSubject } from './probe-checks';

const SIZES = { H: 3, T: 5, B: 2, I: 2 };

interface InjCase {
  name: string;
  input: InjectedPassInput;
}

function makeInjCase(partial: Partial<ModelConfig>, opts: { initial: boolean; finalGrads: boolean }, seed = 5, sizes = SIZES): InjCase {
  const { H, T, B, I } = sizes;
  const config = defaultModelConfig({ inputSize: I, hiddenSize: H, outputSize: 1, ...partial });
  const model = createModel(config);
  const rng = new Rng(seed);
  fillUniform(model, rng, 0.6);
  const params: ParamSet = new Map([...model.params].filter(([name]) => name !== HEAD_WEIGHT && name !== HEAD_BIAS));
  const D = config.bidirectional ? 2 : 1;
  const LDBH = config.numLayers * D * B * H;
  const classic = config.cell === 'rnn' || config.cell === 'lstm' || config.cell === 'gru';
  const lstm = config.cell === 'lstm';
  const u = (n: number, scale = 1): Float64Array => Float64Array.from({ length: n }, () => rng.range(-scale, scale));
  const input: InjectedPassInput = {
    config,
    params,
    batchSize: B,
    steps: T,
    input: u(B * T * I),
    gradOutput: u(B * T * D * H),
    h0: opts.initial && classic ? u(LDBH, 0.8) : null,
    c0: opts.initial && lstm ? u(LDBH, 0.8) : null,
    gradHn: opts.finalGrads && classic ? u(LDBH) : null,
    gradCn: opts.finalGrads && lstm ? u(LDBH) : null,
  };
  if (!classic) {
    // Any cell: every state part by name (held-constant parts have no gradient, and their
    // initial value is overwritten on the first step).
    const free = layerCells(config)[0].state.filter((st) => !st.heldConstant);
    const per = (size: number, scale: number): Float64Array => u(config.numLayers * D * B * size, scale);
    if (opts.initial) input.initialState = Object.fromEntries(free.map((st) => [st.name, per(st.size, st.name === 'n' ? 0.3 : 0.8)]));
    // With a held-constant stabiliser (slstm's m), the final c and n are gauge-dependent
    // (c̄·e^{−m_T}): only the output part's final value is a function of the input alone.
    const held = layerCells(config)[0].state.some((st) => st.heldConstant);
    const finals = held ? free.filter((st) => st.name === 'h') : free;
    if (opts.finalGrads) input.gradFinalState = Object.fromEntries(finals.map((st) => [st.name, per(st.size, 1)]));
    if (config.cell === 'slstm' && input.initialState) input.initialState.n = input.initialState.n.map((v) => 1 + Math.abs(v)); // n > 0: h = o c / n
  }
  const name = [
    cellName(config),
    config.cellOptions ? JSON.stringify(config.cellOptions) : '',
    config.numLayers > 1 ? `${config.numLayers}-layer` : '',
    config.bidirectional ? 'bidirectional' : '',
    opts.initial ? 'with h_0' : 'zero h_0',
    opts.finalGrads ? 'with grad_h_n' : 'no grad_h_n',
  ]
    .filter((p) => p)
    .join(' ');
  return { name, input };
}

function subject(c: InjCase): ProbeSubject {
  const inp = c.input;
  return {
    config: { ...inp.config, outputSize: 1 },
    B: inp.batchSize,
    T: inp.steps,
    I: inp.config.inputSize,
    x: inp.input,
    run: (itemized, hooks) => runInjectedPassWithHooks({ ...inp, probes: { itemized, jacobian: false } }, hooks),
    batchedGrads: () => runInjectedPass({ ...inp, probes: { weightGradByStep: false, jacobian: false } }).grads,
    objective: (hooks) => evaluateInjected(inp, hooks ?? null).loss,
    terms: (hooks) => evaluateInjected(inp, hooks).terms,
  };
}

/** FD of L with respect to every entry of an array the input holds (perturbed in place). */
function fdArray(inp: InjectedPassInput, data: Float64Array): Float64Array {
  const g = new Float64Array(data.length);
  for (let k = 0; k < data.length; k++) {
    const v = data[k];
    g[k] = derivative((eps) => {
      data[k] = v + eps;
      const l = evaluateInjected(inp).loss;
      data[k] = v;
      return l;
    });
  }
  return g;
}

function assertClose(analytic: Float64Array, numeric: Float64Array, what: string): void {
  assert.equal(analytic.length, numeric.length, `${what}: length`);
  const { err, at } = worst(analytic, numeric);
  assert.ok(err <= TOLERANCE, `${what}[${at}]: analytic ${analytic[at]} vs FD ${numeric[at]} (relErr ${err})`);
}

const CONFIGS: Array<Partial<ModelConfig>> = [
  { cell: 'rnn', nonlinearity: 'tanh' },
  { cell: 'rnn', nonlinearity: 'relu' },
  { cell: 'lstm' },
  { cell: 'lstm', variant: 'peephole' },
  { cell: 'gru' },
  { cell: 'lstm', numLayers: 2 },
  { cell: 'gru', numLayers: 2, bidirectional: true },
  { cell: 'rnn', bidirectional: true },
  { cell: 'lstm', numLayers: 2, bidirectional: true },
];

// The cells of design §8 through the same pass (smooth ones: kinked cells are covered by the
// head-driven suites, whose data keep their kinks away from the stencil).
const MODERN: Array<Partial<ModelConfig>> = [
  { cell: 'lru', numLayers: 2 },
  { cell: 'rglru', bidirectional: true },
  { cell: 'slstm', numLayers: 2, bidirectional: true },
  { cell: 's6', cellOptions: { stateSize: 3 } },
  { cell: 'indrnn', cellOptions: { activation: 'tanh' }, bidirectional: true },
];

const CASES: InjCase[] = [];
for (const config of MODERN) CASES.push(makeInjCase(config, { initial: true, finalGrads: true }, 8));
for (const config of CONFIGS) {
  CASES.push(makeInjCase(config, { initial: true, finalGrads: true }));
}
CASES.push(makeInjCase({ cell: 'lstm' }, { initial: false, finalGrads: false }, 9));
CASES.push(makeInjCase({ cell: 'gru', bidirectional: true }, { initial: false, finalGrads: true }, 9));
CASES.push(makeInjCase({ cell: 'lstm', bidirectional: true }, { initial: true, finalGrads: true }, 4, { H: 2, T: 1, B: 1, I: 1 }));

for (const c of CASES) {
  test(`injected pass: parameter, input and initial-state gradients match FD: ${c.name}`, () => {
    const inp = c.input;
    const res = runInjectedPass(inp);
    const batched = runInjectedPass({ ...inp, probes: { weightGradByStep: false, jacobian: false, gates: false } });
    assert.equal(res.loss, evaluateInjected(inp).loss);
    const obj = (): number => evaluateInjected(inp).loss;
    const model = { config: { ...inp.config, outputSize: 1 }, params: inp.params };
    assert.deepEqual([...res.grads.keys()], [...inp.params.keys()]);
    for (const name of inp.params.keys()) {
      const numeric = fdParam(obj, model, name);
      assertClose(res.grads.get(name)!.data, numeric, `${name} (per-step sum)`);
      assertClose(batched.grads.get(name)!.data, numeric, `${name} (batched)`);
    }
    assertClose(res.gradInput, fdArray(inp, inp.input), 'gradInput');
    if (inp.h0) assertClose(res.gradH0!, fdArray(inp, inp.h0), 'gradH0');
    if (inp.c0) assertClose(res.gradC0!, fdArray(inp, inp.c0), 'gradC0');
    for (const [part, values] of Object.entries(inp.initialState ?? {})) assertClose(res.gradInitialState[part], fdArray(inp, values), `gradInitialState.${part}`);
  });

  test(`injected pass: every recorded per-timestep gradient matches FD: ${c.name}`, () => {
    checkSubjectProbes(subject(c), { itemized: true });
  });
}

test('injected pass: L = Σ ℓ_s, directGradNorm = ‖grad_output_t‖, the final states are the last states of each direction', () => {
  for (const c of CASES) {
    const inp = c.input;
    const { B, T } = { B: inp.batchSize, T: inp.steps };
    const H = inp.config.hiddenSize;
    const D = inp.config.bidirectional ? 2 : 1;
    const res = runInjectedPass({ ...inp, probes: { itemized: true } });
    const fwd = evaluateInjected(inp);
    assert.ok(Math.abs(fwd.terms.reduce((a, b) => a + b, 0) - res.loss) <= 1e-14 * Math.max(1, Math.abs(res.loss)), c.name);
    assert.deepEqual(res.record.directGradNorm, res.directGradNorm);
    for (let t = 0; t < T; t++) {
      const row: number[] = [];
      for (let b = 0; b < B; b++) for (let j = 0; j < D * H; j++) row.push(inp.gradOutput[(b * T + t) * D * H + j]);
      assert.ok(Math.abs(res.directGradNorm[t] - norm(row)) <= 1e-14 * norm(row), `${c.name} directGradNorm[${t}]`);
    }
    if (!['rnn', 'lstm', 'gru'].includes(inp.config.cell)) continue; // h_n is the output only where h is the output part
    // The top layer's h_n: forward state after t = T−1, reverse state after t = 0 (reverse time).
    const top = (inp.config.numLayers - 1) * D;
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < H; j++) {
        assert.equal(res.hN![top * B * H + b * H + j], res.output[(b * T + T - 1) * D * H + j]);
        if (D === 2) assert.equal(res.hN![(top + 1) * B * H + b * H + j], res.output[b * T * D * H + H + j]);
      }
    }
    assert.equal(res.cN === null, inp.config.cell !== 'lstm');
    assert.equal(res.record.itemized!.length, T);
    assert.equal(res.record.nonFinite, null);
  }
});

test('injected pass with the head’s own upstream gradient gives the head-driven pass’s recurrent gradients and records', () => {
  for (const config of CONFIGS) {
    const full = defaultModelConfig({ inputSize: 2, hiddenSize: 3, outputSize: 2, ...config });
    const model = createModel(full);
    const rng = new Rng(31);
    fillUniform(model, rng, 0.6);
    const B = 2;
    const T = 6;
    const D = full.bidirectional ? 2 : 1;
    const DH = D * full.hiddenSize;
    const x = Float64Array.from({ length: B * T * 2 }, () => rng.range(-1, 1));
    const y = Float64Array.from({ length: B * T * 2 }, () => rng.range(-1, 1));
    const batch = { batchSize: B, steps: T, inputSize: 2, outputSize: 2, mode: 'many-to-many' as const, x, y };
    const ref = runPass(model, batch, { loss: 'mse', probes: { itemized: true } });
    // grad_output = dL/dY · W_y, from the head's outputs (predict = the same forward).
    const rows = evaluateHead(model.params, full, batch);
    const gradOutput = new Float64Array(B * T * DH);
    const wy = model.params.get(HEAD_WEIGHT)!.data;
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        for (let j = 0; j < DH; j++) {
          let s = 0;
          for (let o = 0; o < 2; o++) s += rows[(t * B + b) * 2 + o] * wy[o * DH + j];
          gradOutput[(b * T + t) * DH + j] = s;
        }
      }
    }
    const params: ParamSet = new Map([...model.params].filter(([n]) => n !== HEAD_WEIGHT && n !== HEAD_BIAS));
    const inj = runInjectedPass({ config: full, params, batchSize: B, steps: T, input: x, gradOutput, probes: { itemized: true } });
    const rel = (a: number, b: number): number => Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), 1e-300);
    for (const name of params.keys()) {
      const a = inj.grads.get(name)!.data;
      const r = ref.grads.get(name)!.data;
      for (let k = 0; k < a.length; k++) assert.ok(Math.abs(a[k] - r[k]) <= 1e-12 * Math.max(1e-3, Math.abs(r[k])), `${name}[${k}]: ${a[k]} vs ${r[k]}`);
    }
    ref.record.layers.forEach((lr, k) => {
      const il = inj.record.layers[k];
      for (let t = 0; t < T; t++) {
        assert.ok(rel(il.gradNormH[t], lr.gradNormH[t]) <= 1e-12, `gradNormH[${t}]`);
        assert.ok(rel(il.weightGradByStep[t], lr.weightGradByStep[t]) <= 1e-12, `weightGradByStep[${t}]`);
        assert.ok(rel(il.jacobianNorm![t], lr.jacobianNorm![t]) <= 1e-12, `jacobianNorm[${t}]`);
      }
    });
    for (let s = 0; s < T; s++) for (let k = 0; k <= s; k++) assert.ok(rel(inj.record.itemized![s][k], ref.record.itemized![s][k]) <= 1e-12, `itemized[${s}][${k}]`);
  }
});

/** dL/dY (mse, many-to-many), time-major [T][B][O], from a head forward. */
function evaluateHead(params: ParamSet, config: ModelConfig, batch: { batchSize: number; steps: number; inputSize: number; outputSize: number; mode: 'many-to-many'; x: Float64Array; y: Float64Array }): Float64Array {
  const { batchSize: B, steps: T, outputSize: O } = batch;
  // The head-free replay gives the top output; the head and the loss are applied here.
  const withoutHead: ParamSet = new Map([...params].filter(([n]) => n !== HEAD_WEIGHT && n !== HEAD_BIAS));
  const D = config.bidirectional ? 2 : 1;
  const DH = D * config.hiddenSize;
  const out = evaluateInjected({ config, params: withoutHead, batchSize: B, steps: T, input: batch.x, gradOutput: new Float64Array(B * T * DH) }).output;
  const wy = params.get(HEAD_WEIGHT)!.data;
  const by = params.get(HEAD_BIAS)!.data;
  const Y = new Float64Array(T * B * O);
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) {
      for (let o = 0; o < O; o++) {
        let s = by[o];
        for (let j = 0; j < DH; j++) s += wy[o * DH + j] * out[(b * T + t) * DH + j];
        Y[(t * B + b) * O + o] = s;
      }
    }
  }
  const dY = new Float64Array(T * B * O);
  computeLoss('mse', batch, Y, new Float64Array(T), dY);
  return dY;
}

test('injected pass refuses inputs that do not fit, naming what was expected', () => {
  const c = makeInjCase({ cell: 'gru' }, { initial: true, finalGrads: true });
  const inp = c.input;
  assert.throws(() => runInjectedPass({ ...inp, gradOutput: new Float64Array(7) }), /gradOutput has 7 values, expected B·T·D·H = 2·5·1·3 = 30/);
  assert.throws(() => runInjectedPass({ ...inp, c0: new Float64Array(6) }), /c0 is given, but only the LSTM family/);
  const params = new Map(inp.params);
  params.delete('bias_hh_l0');
  assert.throws(() => runInjectedPass({ ...inp, params }), /lack 'bias_hh_l0' \(shape \[9\]\)/);
  params.set('bias_hh_l0', { shape: [3, 3], data: new Float64Array(9) });
  assert.throws(() => runInjectedPass({ ...inp, params }), /'bias_hh_l0' has shape \[3, 3\], expected \[9\]/);
});
