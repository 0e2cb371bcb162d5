import assert from 'node:assert/strict';
import { test } from 'node:test';
import { evaluateLoss, forwardDetailed, predict, runPass, runPassWithHooks } from '../../src/engine/bptt';
import { createModel, defaultModelConfig, fillUniform } from '../../src/engine/model';
import { Rng } from '../../src/engine/rng';
import type { Batch, Model, ModelConfig } from '../../src/engine/types';

function model(partial: Partial<ModelConfig>, seed = 1, scale = 0.5): Model {
  const m = createModel(defaultModelConfig(partial));
  fillUniform(m, new Rng(seed), scale);
  return m;
}

function batchFor(m: Model, B: number, T: number, mode: Batch['mode'], seed = 2): Batch {
  const rng = new Rng(seed);
  const { inputSize: I, outputSize: O } = m.config;
  return {
    batchSize: B,
    steps: T,
    inputSize: I,
    outputSize: O,
    mode,
    x: Float64Array.from({ length: B * T * I }, () => rng.range(-1, 1)),
    y: Float64Array.from({ length: (mode === 'many-to-many' ? B * T : B) * O }, () => rng.range(-1, 1)),
  };
}

test('scalar relu RNN in its linear regime: ‖∂L/∂h_{T-1-k}‖ = w^k ‖∂L/∂h_{T-1}‖', () => {
  for (const w of [0.7, 1.3]) {
    const m = createModel(defaultModelConfig({ cell: 'rnn', nonlinearity: 'relu', inputSize: 1, hiddenSize: 1, outputSize: 1 }));
    m.params.get('weight_ih_l0')!.data[0] = 0.5;
    m.params.get('weight_hh_l0')!.data[0] = w;
    m.params.get('bias_ih_l0')!.data[0] = 0.1;
    m.params.get('bias_hh_l0')!.data[0] = 0.05;
    m.params.get('head.weight')!.data[0] = 1.2;
    const T = 12;
    // Positive inputs and weights keep every pre-activation positive: relu is the identity.
    const batch: Batch = {
      batchSize: 2,
      steps: T,
      inputSize: 1,
      outputSize: 1,
      mode: 'many-to-one',
      x: Float64Array.from({ length: 2 * T }, (_, k) => 0.2 + 0.03 * k),
      y: Float64Array.from([-1, 2]),
    };
    const g = runPass(m, batch, { loss: 'mse' }).record.layers[0].gradNormH;
    for (let k = 0; k < T; k++) {
      const expected = w ** k * g[T - 1];
      assert.ok(Math.abs(g[T - 1 - k] - expected) <= 1e-12 * expected, `w=${w} k=${k}: ${g[T - 1 - k]} vs ${expected}`);
    }
  }
});

test('a gradient of 1e-300 is still reported (scaled norms, no underflow to 0)', () => {
  const m = createModel(defaultModelConfig({ cell: 'rnn', inputSize: 1, hiddenSize: 2, outputSize: 1 }));
  const wy = m.params.get('head.weight')!.data;
  wy[0] = 3;
  wy[1] = 4; // ‖W_y‖ = 5
  m.params.get('weight_hh_l0')!.data.set([1, 0, 0, 1]);
  // x = 0 and zero biases keep h = 0, so y = 0; the target −1e-300 makes dL/dy = 2e-300.
  const batch: Batch = { batchSize: 1, steps: 3, inputSize: 1, outputSize: 1, mode: 'many-to-one', x: new Float64Array(3), y: Float64Array.from([-1e-300]) };
  const { record, grads } = runPass(m, batch, { loss: 'mse' });
  const expected = 2e-300 * 5; // ‖W_yᵀ dL/dy‖, and tanh'(0) = 1 with W_hh = I carries it back unchanged
  for (let t = 0; t < 3; t++) {
    assert.ok(Math.abs(record.layers[0].gradNormH[t] - expected) <= 1e-12 * expected, `t=${t}: ${record.layers[0].gradNormH[t]}`);
  }
  assert.equal(grads.get('head.bias')!.data[0], 2e-300);
  assert.ok(record.globalGradNorm >= 2e-300 && Number.isFinite(record.globalGradNorm));
  assert.equal(record.nonFinite, null);
});

test('determinism: two passes are bit-identical, also after a pass with another shape', () => {
  const m = model({ cell: 'lstm', variant: 'peephole', inputSize: 2, hiddenSize: 4, outputSize: 3, numLayers: 2 });
  const b = batchFor(m, 3, 7, 'many-to-many');
  const opts = { loss: 'xent' as const, probes: { itemized: true } };
  const r1 = runPass(m, b, opts);
  runPass(m, batchFor(m, 2, 4, 'many-to-one'), { loss: 'mse' });
  const r2 = runPass(m, b, opts);
  assert.deepEqual(r2.record, r1.record);
  for (const [name, t] of r1.grads) assert.deepEqual(r2.grads.get(name)!.data, t.data, name);
  assert.equal(r1.loss, r2.loss);
});

test('evaluateLoss and predict agree with runPass; predict is batch-first [B][T][O]', () => {
  const m = model({ cell: 'gru', inputSize: 2, hiddenSize: 3, outputSize: 2, bidirectional: true });
  const b = batchFor(m, 2, 5, 'many-to-many');
  assert.equal(evaluateLoss(m, b, 'mse'), runPass(m, b, { loss: 'mse' }).loss);
  const yb = predict(m, b);
  const yt = forwardDetailed(m, b, 'mse').y; // time-major
  for (let bb = 0; bb < 2; bb++) for (let t = 0; t < 5; t++) for (let o = 0; o < 2; o++) assert.equal(yb[(bb * 5 + t) * 2 + o], yt[(t * 2 + bb) * 2 + o]);
  assert.deepEqual(predict(m, { ...b, y: new Float64Array(0) }), yb); // inference needs no targets
});

test('losses: mse is the mean over scored elements, xent the mean cross-entropy over scored outputs', () => {
  const m = model({ cell: 'rnn', inputSize: 1, hiddenSize: 2, outputSize: 3 });
  const b2m = batchFor(m, 2, 4, 'many-to-many');
  const y = predict(m, b2m);
  let mse = 0;
  for (let k = 0; k < y.length; k++) mse += (y[k] - b2m.y[k]) ** 2;
  assert.ok(Math.abs(evaluateLoss(m, b2m, 'mse') - mse / y.length) < 1e-15);
  // many-to-one: only y_{T-1}; xent with one-hot targets = mean of −log softmax(y)[label].
  const b2o = batchFor(m, 2, 4, 'many-to-one');
  b2o.y = Float64Array.from([0, 1, 0, 0, 0, 1]);
  const yo = predict(m, b2o);
  let xent = 0;
  for (let bb = 0; bb < 2; bb++) {
    const row = Array.from(yo.subarray((bb * 4 + 3) * 3, (bb * 4 + 4) * 3));
    const label = bb === 0 ? 1 : 2;
    xent += -Math.log(Math.exp(row[label]) / row.reduce((s, v) => s + Math.exp(v), 0));
  }
  assert.ok(Math.abs(evaluateLoss(m, b2o, 'xent') - xent / 2) < 1e-14);
});

test('record shape: series per layer/direction, gates per variant, itemized rows of length s+1', () => {
  const m = model({ cell: 'lstm', variant: 'cifg', inputSize: 1, hiddenSize: 3, outputSize: 1, numLayers: 2, bidirectional: true });
  const b = batchFor(m, 2, 6, 'many-to-one');
  const r = runPass(m, b, { loss: 'mse', probes: { itemized: true } }).record;
  assert.equal(r.timesteps, 6);
  assert.deepEqual(
    r.layers.map((l) => [l.layer, l.direction]),
    [
      [0, 'forward'],
      [0, 'reverse'],
      [1, 'forward'],
      [1, 'reverse'],
    ],
  );
  for (const l of r.layers) {
    assert.deepEqual(Object.keys(l.gateGradNorm), ['i', 'g', 'o']); // cifg: f = 1 − i is not a gate
    assert.equal(l.gradNormH.length, 6);
    assert.equal(l.gradNormC!.length, 6);
    assert.equal(l.weightGradByStep.length, 6);
    assert.equal(l.jacobianNorm!.length, 6);
    for (const s of Object.values(l.gateSaturation)) assert.ok(s.every((v) => v >= 0 && v <= 1));
  }
  assert.equal(r.inputGradNorm.length, 6);
  assert.deepEqual(
    r.itemized!.map((row) => row.length),
    [1, 2, 3, 4, 5, 6],
  );
  // many-to-one: only the last step has a loss term.
  assert.ok(r.itemized!.slice(0, 5).every((row) => row.every((v) => v === 0)));
  assert.ok(r.itemized![5].every((v) => v > 0));
  assert.equal(r.clippedGradNorm, r.globalGradNorm);
  const off = runPass(m, b, { loss: 'mse', probes: { gates: false, weightGradByStep: false, jacobian: false } }).record;
  assert.deepEqual(off.layers[0].gateGradNorm, {});
  assert.deepEqual(off.layers[0].weightGradByStep, []);
  assert.equal(off.layers[0].jacobianNorm, null);
  assert.equal(off.itemized, null);
});

test('itemized above its cap throws an Error naming the cap', () => {
  const m = model({ cell: 'rnn', inputSize: 1, hiddenSize: 2, outputSize: 1 });
  const b = batchFor(m, 1, 6, 'many-to-many');
  assert.throws(() => runPass(m, b, { loss: 'mse', probes: { itemized: true, itemizedMaxSteps: 5 } }), /itemizedMaxSteps = 5/);
  assert.doesNotThrow(() => runPass(m, b, { loss: 'mse', probes: { itemized: true, itemizedMaxSteps: 6 } }));
});

test('non-finite weights, inputs or overflowing states give a nonFinite record, never an exception', () => {
  const m = model({ cell: 'lstm', inputSize: 1, hiddenSize: 2, outputSize: 1 });
  const b = batchFor(m, 2, 4, 'many-to-many');
  m.params.get('weight_hh_l0')!.data[3] = NaN;
  const r = runPass(m, b, { loss: 'mse', probes: { itemized: true } });
  assert.deepEqual(r.record.nonFinite, { quantity: 'params', layer: 0, t: null, value: NaN });
  assert.ok(Number.isNaN(r.loss));

  const ok = model({ cell: 'gru', inputSize: 1, hiddenSize: 2, outputSize: 1 });
  const bx = batchFor(ok, 2, 4, 'many-to-one');
  bx.x[1 * 4 + 2] = Infinity; // b = 1, t = 2
  assert.deepEqual(runPass(ok, bx, { loss: 'xent' }).record.nonFinite, { quantity: 'x', layer: null, t: 2, value: Infinity });

  // A relu RNN with W_hh = 1e200·I overflows at t = 2: h_0 ≈ 1, h_1 ≈ 1e200, h_2 = Inf.
  const big = createModel(defaultModelConfig({ cell: 'rnn', nonlinearity: 'relu', inputSize: 1, hiddenSize: 1, outputSize: 1 }));
  big.params.get('weight_ih_l0')!.data[0] = 1;
  big.params.get('weight_hh_l0')!.data[0] = 1e200;
  big.params.get('head.weight')!.data[0] = 1;
  const bb: Batch = { batchSize: 1, steps: 4, inputSize: 1, outputSize: 1, mode: 'many-to-one', x: Float64Array.from([1, 1, 1, 1]), y: Float64Array.from([0]) };
  const rb = runPass(big, bb, { loss: 'mse' }).record;
  assert.deepEqual(rb.nonFinite, { quantity: 'h', layer: 0, t: 2, value: Infinity });
});

test('a batch that does not fit the model is refused with a clear message', () => {
  const m = model({ cell: 'rnn', inputSize: 2, hiddenSize: 2, outputSize: 1 });
  const b = batchFor(m, 2, 3, 'many-to-one');
  assert.throws(() => runPass(m, { ...b, inputSize: 3 }, { loss: 'mse' }), /inputSize 3, model expects 2/);
  assert.throws(() => runPass(m, { ...b, x: new Float64Array(5) }, { loss: 'mse' }), /x has 5 values/);
  assert.throws(() => runPass(m, { ...b, mode: 'many-to-many' }, { loss: 'mse' }), /y has 2 values, expected 6/);
});

test('weightGradByStep from Gram matrices (no parts built) equals the materialised parts, and the gradient built in one product equals the sum of the parts', () => {
  const { gramRoutePays } = require('../../src/engine/linalg') as typeof import('../../src/engine/linalg');
  const cases: Array<[Partial<ModelConfig>, number]> = [
    [{ cell: 'gru', hiddenSize: 8, inputSize: 2 }, 1],
    [{ cell: 'gru', hiddenSize: 8, inputSize: 2, numLayers: 2, bidirectional: true }, 3],
    [{ cell: 'lstm', hiddenSize: 6, inputSize: 1 }, 1],
    [{ cell: 'lstm', variant: 'peephole', hiddenSize: 6, inputSize: 3 }, 2],
    [{ cell: 'rnn', hiddenSize: 16, inputSize: 1 }, 1],
  ];
  let usedGram = 0;
  for (const [cfg, B] of cases) {
    const m = model({ outputSize: 2, ...cfg }, 5, 0.6);
    const batch = batchFor(m, B, 9, 'many-to-many', 6);
    const G = ({ rnn: 1, lstm: 4, gru: 3 } as Record<string, number>)[m.config.cell]! * m.config.hiddenSize;
    if (gramRoutePays(B, G, m.config.inputSize, m.config.hiddenSize)) usedGram++;
    const fast = runPass(m, batch, { loss: 'mse', probes: { jacobian: false } });
    // A test hook that asks for the parts forces the materialised route.
    const slow = runPassWithHooks(m, batch, { loss: 'mse', probes: { jacobian: false } }, { onWeightGradPart: () => undefined });
    fast.record.layers.forEach((l, i) => {
      const ref = slow.record.layers[i]!.weightGradByStep;
      l.weightGradByStep.forEach((v, t) => assert.ok(Math.abs(v - ref[t]!) <= 1e-12 * ref[t]!, `${JSON.stringify(cfg)} B=${B} layer ${i} t=${t}: ${v} vs ${ref[t]}`));
    });
    for (const [name, g] of fast.grads) {
      const r = slow.grads.get(name)!.data;
      g.data.forEach((v, k) => assert.ok(Math.abs(v - r[k]!) <= 1e-12 * (1 + Math.abs(r[k]!)), `${name}[${k}]: ${v} vs ${r[k]}`));
    }
  }
  assert.ok(usedGram >= 3, `the Gram route ran in ${usedGram} cases`);
});
