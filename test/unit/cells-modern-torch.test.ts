// The eight modern cells of design §8 against PyTorch autograd: reference implementations in
// torch (float64) in scripts/make-torch-fixtures.py wrote test/fixtures/torch/modern_*.
// The cells run twice: in the reference loop of test/gradcheck/cells-modern-unroll.ts (the
// contract's loop, done plainly) with a linear head and the §2 losses, and in the engine
// (runPass: the generic loop of bptt.ts with its probes). Every number the fixture holds is
// compared: loss, every parameter gradient (head included), and per layer/direction and step
// gradNormState, gradNormH, gradNormC (slstm), gateGradNorm, gateMean, weightGradByStep,
// jacobianNorm and inputGradNorm. Required: ≤ 1e-10 relative (see maxRelErr for entries
// that are ~0). torch is not needed here.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { CellOptions } from '../../src/engine/cells/cell';
import { runPass } from '../../src/engine/bptt';
import { createModel, defaultModelConfig } from '../../src/engine/model';
import { readSafetensors } from '../../src/io/safetensors';
import { backward, forward, headLoss, jacobianNorms, MODERN_CELLS, Net, type ModernCellName } from '../gradcheck/cells-modern-unroll';

const FIXTURES = join(__dirname, '..', 'fixtures', 'torch');
const TOLERANCE = 1e-10;

export const MODERN_TORCH_CASES = [
  'modern_indrnn',
  'modern_indrnn_tanh',
  'modern_mingru',
  'modern_minlstm',
  'modern_lru',
  'modern_rglru',
  'modern_slstm',
  'modern_slstm_bidir',
  'modern_mlstm',
  'modern_s6',
];

interface ModernExpected {
  name: string;
  weights: string;
  input: string;
  config: { cell: ModernCellName; inputSize: number; hiddenSize: number; numLayers: number; bidirectional: boolean; outputSize: number; cellOptions: CellOptions };
  statePrefix: string;
  headPrefix: string;
  lossKind: 'mse' | 'xent';
  mode: 'many-to-one' | 'many-to-many';
  loss: number;
  globalGradNorm: number;
  grads: Record<string, number[]>;
  layers: {
    layer: number;
    direction: 'forward' | 'reverse';
    gradNormState: number[];
    gradNormH: number[];
    gradNormC: number[] | null;
    gateGradNorm: Record<string, number[]>;
    gateMean: Record<string, number[]>;
    weightGradByStep: number[];
    jacobianNorm: number[];
  }[];
  inputGradNorm: number[];
}

/**
 * max |got − want| / max(|want|, 1e-6·scale): relative above a millionth of `scale` (by default
 * the series' largest value), absolute in units of scale below, where quantities that are 0
 * in exact arithmetic (e.g. sLSTM's input-gate gradient on a fresh state's first step: i
 * cancels in c/n) come out of both programs as different ~1e-19 roundings.
 */
function maxRelErr(got: ArrayLike<number>, want: ArrayLike<number>, scaleOverride?: number): number {
  assert.equal(got.length, want.length);
  let scale = scaleOverride ?? 0;
  if (scaleOverride === undefined) for (let k = 0; k < want.length; k++) scale = Math.max(scale, Math.abs(want[k]));
  let worst = 0;
  for (let k = 0; k < want.length; k++) {
    const e = Math.abs(got[k] - want[k]) / Math.max(Math.abs(want[k]), 1e-6 * scale, Number.MIN_VALUE);
    worst = Number.isNaN(e) ? Infinity : Math.max(worst, e);
  }
  return worst;
}

function norm(a: ArrayLike<number>, from = 0, to = a.length): number {
  let s = 0;
  for (let k = from; k < to; k++) s += a[k] * a[k];
  return Math.sqrt(s);
}

const worstByCell = new Map<string, number>();

for (const name of MODERN_TORCH_CASES) {
  test(`${name}: the reference loop reproduces PyTorch autograd (loss, every gradient, every per-step series) to ${TOLERANCE} relative`, () => {
    const ex = JSON.parse(readFileSync(join(FIXTURES, `${name}.expected.json`), 'utf8')) as ModernExpected;
    const file = readSafetensors(readFileSync(join(FIXTURES, ex.weights)), ex.weights);
    const { cell, inputSize: I, hiddenSize: H, numLayers, bidirectional, outputSize: O, cellOptions } = ex.config;
    const net = new Net({ cell, inputSize: I, hiddenSize: H, layers: numLayers, bidirectional, options: cellOptions });
    for (const [full, data] of net.params) {
      const stored = file.tensors.get(ex.statePrefix + full);
      assert.ok(stored, `${name}: no tensor ${ex.statePrefix + full} in ${ex.weights}`);
      assert.equal(stored.data.length, data.length, `${name}: ${full} size`);
      data.set(stored.data);
    }
    const headW = file.tensors.get(`${ex.headPrefix}weight`)!;
    const head = { weight: headW.data, bias: file.tensors.get(`${ex.headPrefix}bias`)!.data, O };
    assert.equal(headW.shape[0], O);
    const input = JSON.parse(readFileSync(join(FIXTURES, ex.input), 'utf8')) as { x: number[][][]; y: number[][] | number[][][] };
    const B = input.x.length;
    const T = input.x[0].length;
    const x = Float64Array.from(input.x.flat(2));
    const y = Float64Array.from((input.y as number[][][]).flat(2));
    const rec = forward(net, x, B, T);
    const hl = headLoss(head, rec.top, B, T, y, ex.lossKind, ex.mode);
    const res = backward(net, rec, hl.dTop, null);

    const errs: Record<string, number> = {};
    const note = (key: string, e: number): void => {
      errs[key] = Math.max(errs[key] ?? 0, e);
    };
    note('loss', Math.abs(hl.loss - ex.loss) / Math.abs(ex.loss));
    for (const [stored, want] of Object.entries(ex.grads)) {
      let got: Float64Array | undefined;
      if (stored === `${ex.headPrefix}weight`) got = hl.dWeight;
      else if (stored === `${ex.headPrefix}bias`) got = hl.dBias;
      else got = res.grads.get(stored.slice(ex.statePrefix.length));
      assert.ok(got, `${name}: no gradient for ${stored}`);
      note('grads', maxRelErr(got, want, ex.globalGradNorm));
    }
    for (const want of ex.layers) {
      const k = net.lds.findIndex((ld) => ld.l === want.layer && ld.d === (want.direction === 'reverse' ? 1 : 0));
      const ld = net.lds[k];
      const c = ld.cell;
      const series = (f: (t: number) => number): number[] => Array.from({ length: T }, (_, t) => f(t));
      const stateNorm = series((t) => Math.hypot(...c.state.map((p, i) => (p.heldConstant ? 0 : norm(res.dState[k][t][i])))));
      note('gradNormState', maxRelErr(stateNorm, want.gradNormState));
      const outIndex = c.state.findIndex((p) => p.name === c.outPart);
      note('gradNormH', maxRelErr(outIndex >= 0 ? series((t) => norm(res.dState[k][t][outIndex])) : stateNorm, want.gradNormH));
      if (want.gradNormC) note('gradNormC', maxRelErr(series((t) => norm(res.dNodeC[k][t])), want.gradNormC));
      assert.deepEqual(c.gates.map((g) => g.name).sort(), Object.keys(want.gateGradNorm).sort(), `${name}: gate names`);
      const gateScale = Math.max(0, ...Object.values(want.gateGradNorm).flat());
      for (const g of c.gates) {
        const P = res.dProj[k][0].length / B;
        const blockNorm = (buf: Float64Array, row: number, off: number, w: number): number => {
          let s = 0;
          for (let b = 0; b < B; b++) s += norm(buf, b * row + off, b * row + off + w) ** 2;
          return Math.sqrt(s);
        };
        note('gateGradNorm', maxRelErr(series((t) => blockNorm(res.dProj[k][t], P, g.gradOffset, g.width)), want.gateGradNorm[g.name], gateScale));
        const mean = series((t) => {
          let s = 0;
          for (let b = 0; b < B; b++) for (let w = 0; w < g.width; w++) s += rec.lds[k].cache[t][b * c.cacheSize + g.offset + w];
          return s / (B * g.width);
        });
        note('gateMean', maxRelErr(mean, want.gateMean[g.name]));
      }
      note('weightGradByStep', maxRelErr(res.weightGradByStep[k], want.weightGradByStep));
      note('jacobianNorm', maxRelErr(jacobianNorms(net, rec, k), want.jacobianNorm));
    }
    const I0 = I;
    note('inputGradNorm', maxRelErr(series2(T, (t) => {
      let s = 0;
      for (let b = 0; b < B; b++) s += norm(res.dx, (b * T + t) * I0, (b * T + t + 1) * I0) ** 2;
      return Math.sqrt(s);
    }), ex.inputGradNorm));
    const worst = Math.max(...Object.values(errs));
    worstByCell.set(cell, Math.max(worstByCell.get(cell) ?? 0, worst));
    if (process.env.BPTT_LENS_VERBOSE) console.log(`${name}: ${Object.entries(errs).map(([k, v]) => `${k} ${v.toExponential(1)}`).join(', ')}`);
    for (const [key, e] of Object.entries(errs)) assert.ok(e <= TOLERANCE, `${name}: ${key} relative error ${e.toExponential(2)} vs PyTorch`);
  });
}

for (const name of MODERN_TORCH_CASES) {
  test(`${name}: the engine (runPass) reproduces PyTorch autograd (loss, every gradient, every recorded per-step series) to ${TOLERANCE} relative`, () => {
    const ex = JSON.parse(readFileSync(join(FIXTURES, `${name}.expected.json`), 'utf8')) as ModernExpected;
    const file = readSafetensors(readFileSync(join(FIXTURES, ex.weights)), ex.weights);
    const { cell, inputSize, hiddenSize, numLayers, bidirectional, outputSize, cellOptions } = ex.config;
    const model = createModel(defaultModelConfig({ cell, inputSize, hiddenSize, numLayers, bidirectional, outputSize, cellOptions }));
    assert.equal(model.params.size, file.tensors.size, `${name}: parameter count`);
    for (const [stored, tensor] of file.tensors) {
      const engineName = stored.startsWith(ex.headPrefix) ? `head.${stored.slice(ex.headPrefix.length)}` : stored.slice(ex.statePrefix.length);
      const p = model.params.get(engineName);
      assert.ok(p, `${name}: the engine has no parameter ${engineName}`);
      assert.deepEqual(p.shape, tensor.shape, `${name}: ${engineName} shape`);
      p.data.set(tensor.data);
    }
    const input = JSON.parse(readFileSync(join(FIXTURES, ex.input), 'utf8')) as { x: number[][][]; y: number[][] | number[][][] };
    const B = input.x.length;
    const T = input.x[0].length;
    const batch = { batchSize: B, steps: T, inputSize, outputSize, mode: ex.mode, x: Float64Array.from(input.x.flat(2)), y: Float64Array.from((input.y as number[][][]).flat(2)) };
    // Power iteration to convergence (it stops once every estimate is still to 1e-13).
    const result = runPass(model, batch, { loss: ex.lossKind, probes: { jacobianIterations: 20000 } });
    const errs: Record<string, number> = {};
    const note = (key: string, e: number): void => {
      errs[key] = Math.max(errs[key] ?? 0, e);
    };
    note('loss', Math.abs(result.loss - ex.loss) / Math.abs(ex.loss));
    for (const [stored, want] of Object.entries(ex.grads)) {
      const engineName = stored.startsWith(ex.headPrefix) ? `head.${stored.slice(ex.headPrefix.length)}` : stored.slice(ex.statePrefix.length);
      const got = result.grads.get(engineName);
      assert.ok(got, `${name}: no gradient for ${engineName}`);
      note('grads', maxRelErr(got.data, want, ex.globalGradNorm));
    }
    for (const want of ex.layers) {
      const got = result.record.layers.find((l) => l.layer === want.layer && l.direction === want.direction);
      assert.ok(got, `${name}: no record for layer ${want.layer} ${want.direction}`);
      assert.ok(got.gradNormState, `${name}: gradNormState missing`);
      note('gradNormState', maxRelErr(got.gradNormState, want.gradNormState));
      note('gradNormH', maxRelErr(got.gradNormH, want.gradNormH));
      if (want.gradNormC) {
        assert.ok(got.gradNormC, `${name}: gradNormC missing`);
        note('gradNormC', maxRelErr(got.gradNormC, want.gradNormC));
      } else assert.equal(got.gradNormC, null, `${name}: gradNormC should be null`);
      assert.deepEqual(Object.keys(got.gateGradNorm).sort(), Object.keys(want.gateGradNorm).sort(), `${name}: gate names`);
      const gateScale = Math.max(0, ...Object.values(want.gateGradNorm).flat());
      for (const [gate, series] of Object.entries(want.gateGradNorm)) {
        note('gateGradNorm', maxRelErr(got.gateGradNorm[gate], series, gateScale));
        note('gateMean', maxRelErr(got.gateMean[gate], want.gateMean[gate]));
      }
      note('weightGradByStep', maxRelErr(got.weightGradByStep, want.weightGradByStep));
    }
    note('inputGradNorm', maxRelErr(result.record.inputGradNorm, ex.inputGradNorm));
    const worst = Math.max(...Object.values(errs));
    engineWorstByCell.set(cell, Math.max(engineWorstByCell.get(cell) ?? 0, worst));
    if (process.env.BPTT_LENS_VERBOSE) console.log(`engine ${name}: ${Object.entries(errs).map(([k, v]) => `${k} ${v.toExponential(1)}`).join(', ')}`);
    for (const [key, e] of Object.entries(errs)) assert.ok(e <= TOLERANCE, `${name}: engine ${key} relative error ${e.toExponential(2)} vs PyTorch`);
  });
}

/**
 * The engine's jacobianNorm vs torch.linalg.svdvals of the autograd Jacobian, the power
 * iteration run to convergence. (This is what showed that warm-starting each step from the
 * previous step's vector missed the new top unit of diagonal Jacobians — indrnn, mingru,
 * minlstm, s6 — fixed in probes.ts by mixing in the fixed start vector.)
 */
for (const name of MODERN_TORCH_CASES) {
  test(`${name}: the engine's jacobianNorm is σ_max of PyTorch's autograd Jacobian (to 1e-9: power iteration to convergence)`, () => {
    const ex = JSON.parse(readFileSync(join(FIXTURES, `${name}.expected.json`), 'utf8')) as ModernExpected;
    const file = readSafetensors(readFileSync(join(FIXTURES, ex.weights)), ex.weights);
    const { cell, inputSize, hiddenSize, numLayers, bidirectional, outputSize, cellOptions } = ex.config;
    const model = createModel(defaultModelConfig({ cell, inputSize, hiddenSize, numLayers, bidirectional, outputSize, cellOptions }));
    for (const [stored, tensor] of file.tensors) {
      const engineName = stored.startsWith(ex.headPrefix) ? `head.${stored.slice(ex.headPrefix.length)}` : stored.slice(ex.statePrefix.length);
      model.params.get(engineName)!.data.set(tensor.data);
    }
    const input = JSON.parse(readFileSync(join(FIXTURES, ex.input), 'utf8')) as { x: number[][][]; y: number[][] | number[][][] };
    const batch = { batchSize: input.x.length, steps: input.x[0].length, inputSize, outputSize, mode: ex.mode, x: Float64Array.from(input.x.flat(2)), y: Float64Array.from((input.y as number[][][]).flat(2)) };
    const { record } = runPass(model, batch, { loss: ex.lossKind, probes: { jacobianIterations: 20000 } });
    for (const want of ex.layers) {
      const got = record.layers.find((l) => l.layer === want.layer && l.direction === want.direction)!.jacobianNorm;
      assert.ok(got, `${name}: jacobianNorm missing`);
      const e = maxRelErr(got, want.jacobianNorm);
      jacobianWorstByCell.set(cell, Math.max(jacobianWorstByCell.get(cell) ?? 0, e));
      assert.ok(e <= 1e-9, `${name} layer ${want.layer} ${want.direction}: jacobianNorm ${JSON.stringify(got)} vs PyTorch ${JSON.stringify(want.jacobianNorm)} (relErr ${e.toExponential(2)})`);
    }
  });
}

const engineWorstByCell = new Map<string, number>();
const jacobianWorstByCell = new Map<string, number>();

function series2(T: number, f: (t: number) => number): number[] {
  return Array.from({ length: T }, (_, t) => f(t));
}

test('every modern cell has a PyTorch fixture', () => {
  const covered = new Set<string>(MODERN_TORCH_CASES.map((n) => (JSON.parse(readFileSync(join(FIXTURES, `${n}.expected.json`), 'utf8')) as ModernExpected).config.cell));
  for (const cell of MODERN_CELLS) assert.ok(covered.has(cell), `no fixture for ${cell}`);
  if (process.env.BPTT_LENS_VERBOSE) {
    for (const [cell, e] of worstByCell) console.log(`# ${cell}: reference loop, max relative error vs PyTorch ${e.toExponential(2)}`);
    for (const [cell, e] of engineWorstByCell) console.log(`# ${cell}: engine, max relative error vs PyTorch ${e.toExponential(2)}`);
    for (const [cell, e] of jacobianWorstByCell) console.log(`# ${cell}: engine jacobianNorm, max relative error vs PyTorch ${e.toExponential(2)}`);
  }
});
