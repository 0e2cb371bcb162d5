// Gradient checkpointing must not change a single number beyond rounding: gradients and every
// recorded series against the plain pass (which the FD checks cover), for several segment sizes.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runPass } from '../../src/engine/bptt';
import { createModel, defaultModelConfig, fillUniform } from '../../src/engine/model';
import { Rng } from '../../src/engine/rng';
import type { Batch, ModelConfig, PassRecord } from '../../src/engine/types';

function setup(partial: Partial<ModelConfig>, mode: Batch['mode'], T: number, seed = 4): { model: ReturnType<typeof createModel>; batch: Batch } {
  const model = createModel(defaultModelConfig({ inputSize: 2, hiddenSize: 3, outputSize: 2, ...partial }));
  const rng = new Rng(seed);
  fillUniform(model, rng, 0.6);
  const B = 2;
  const batch: Batch = {
    batchSize: B,
    steps: T,
    inputSize: 2,
    outputSize: 2,
    mode,
    x: Float64Array.from({ length: B * T * 2 }, () => rng.range(-1, 1)),
    y: Float64Array.from({ length: (mode === 'many-to-many' ? B * T : B) * 2 }, () => rng.range(-1, 1)),
  };
  return { model, batch };
}

function near(a: number, b: number, what: string): void {
  const e = Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), 1e-300);
  assert.ok(e <= 1e-12 || (a === 0 && b === 0), `${what}: ${a} vs ${b}`);
}

function sameSeries(a: number[], b: number[], what: string): void {
  assert.equal(a.length, b.length, what);
  a.forEach((v, t) => near(v, b[t], `${what}[${t}]`));
}

function sameRecord(a: PassRecord, b: PassRecord): void {
  assert.equal(a.timesteps, b.timesteps);
  near(a.loss, b.loss, 'loss');
  near(a.globalGradNorm, b.globalGradNorm, 'globalGradNorm');
  sameSeries(a.inputGradNorm, b.inputGradNorm, 'inputGradNorm');
  assert.equal(a.layers.length, b.layers.length);
  a.layers.forEach((la, i) => {
    const lb = b.layers[i];
    sameSeries(la.gradNormH, lb.gradNormH, `L${i} gradNormH`);
    if (la.gradNormC) sameSeries(la.gradNormC, lb.gradNormC!, `L${i} gradNormC`);
    else assert.equal(lb.gradNormC, null);
    sameSeries(la.gradNormState!, lb.gradNormState!, `L${i} gradNormState`);
    for (const g of Object.keys(la.gateGradNorm)) {
      sameSeries(la.gateGradNorm[g], lb.gateGradNorm[g], `L${i} gateGradNorm.${g}`);
      sameSeries(la.gateMean[g], lb.gateMean[g], `L${i} gateMean.${g}`);
      sameSeries(la.gateSaturation[g], lb.gateSaturation[g], `L${i} gateSaturation.${g}`);
    }
    assert.deepEqual(Object.keys(la.gateGradNorm), Object.keys(lb.gateGradNorm));
    sameSeries(la.weightGradByStep, lb.weightGradByStep, `L${i} weightGradByStep`);
    // Power iteration restarts at segment starts, so compare it converged.
    sameSeries(la.jacobianNorm!, lb.jacobianNorm!, `L${i} jacobianNorm`);
  });
}

const CONFIGS: Array<Partial<ModelConfig>> = [
  { cell: 'rnn' },
  { cell: 'rnn', nonlinearity: 'relu' },
  { cell: 'lstm' },
  { cell: 'lstm', variant: 'peephole', numLayers: 2 },
  { cell: 'lstm', variant: 'cifg' },
  { cell: 'gru', numLayers: 2 },
  // Segments carry every state part (held ones too) and continue the sequence (StepIO.first).
  { cell: 'rglru' },
  { cell: 'slstm', numLayers: 2 },
  { cell: 'mlstm' },
  { cell: 'lru' },
  { cell: 's6', cellOptions: { stateSize: 4 } },
  { cell: 'mingru' },
  { cell: 'minlstm' },
  { cell: 'indrnn' },
];

for (const config of CONFIGS) {
  for (const mode of ['many-to-one', 'many-to-many'] as const) {
    for (const loss of ['mse', 'xent'] as const) {
      test(`checkpointed pass equals the plain pass: ${JSON.stringify(config)} ${mode} ${loss}`, () => {
        const { model, batch } = setup(config, mode, 11);
        const probes = { jacobianIterations: 2000 };
        const plain = runPass(model, batch, { loss, probes });
        for (const checkpoint of [true, 1, 2, 4, 11, 50] as const) {
          const cp = runPass(model, batch, { loss, probes, checkpoint });
          for (const [name, t] of plain.grads) {
            // Entries that are 0 but for rounding (sLSTM's i-gate bias where m_t = ĩ_t makes
            // i_t ≡ 1) are compared to the tensor's scale, not to themselves.
            const scale = t.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
            t.data.forEach((v, k) => {
              const w = cp.grads.get(name)!.data[k];
              if (Math.abs(w - v) > 1e-12 * scale) near(w, v, `checkpoint ${checkpoint}: ${name}[${k}]`);
            });
          }
          sameRecord(cp.record, plain.record);
          assert.equal(cp.record.nonFinite, null);
        }
      });
    }
  }
}

test('checkpointing: clear errors for what it does not support; non-finite values still recorded', () => {
  const { model, batch } = setup({ cell: 'gru', bidirectional: true }, 'many-to-many', 6);
  assert.throws(() => runPass(model, batch, { loss: 'mse', checkpoint: true }), /unidirectional/);
  const uni = setup({ cell: 'lstm' }, 'many-to-many', 6);
  assert.throws(() => runPass(uni.model, uni.batch, { loss: 'mse', checkpoint: true, truncation: { k1: 2, k2: 2 } }), /truncated/);
  assert.throws(() => runPass(uni.model, uni.batch, { loss: 'mse', checkpoint: true, probes: { itemized: true } }), /itemized/);
  assert.throws(() => runPass(uni.model, uni.batch, { loss: 'mse', checkpoint: 0.5 }), /positive integer/);
  uni.batch.x[2 * 4 + 1] = NaN; // b = 0, t = 4
  const r = runPass(uni.model, uni.batch, { loss: 'mse', checkpoint: 2 });
  assert.deepEqual(r.record.nonFinite, { quantity: 'x', layer: null, t: 4, value: NaN });
  assert.deepEqual(r.record.nonFinite, runPass(uni.model, uni.batch, { loss: 'mse' }).record.nonFinite);
});
