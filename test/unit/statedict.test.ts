import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { modelFromStateDict, stateDictFromModel } from '../../src/io/stateDict';
import { readSafetensors, writeSafetensors } from '../../src/io/safetensors';
import { InputError } from '../../src/io/errors';
import { createModel, defaultModelConfig } from '../../src/engine/model';
import { initializeModel } from '../../src/engine/init';
import { Rng } from '../../src/engine/rng';
import type { ModelConfig, Tensor } from '../../src/engine/types';

const FIXTURES = join(__dirname, '..', 'fixtures', 'torch');

function randomModel(partial: Partial<ModelConfig>, seed = 1) {
  const m = createModel(defaultModelConfig(partial));
  initializeModel(m, { scheme: 'pytorch', spectralRadius: null, forgetBias: false }, new Rng(seed));
  return m;
}

function rejects(tensors: Map<string, { shape: number[]; data: Float64Array }>, pattern: RegExp, options = {}): void {
  assert.throws(
    () => modelFromStateDict(tensors, 'w.safetensors', options),
    (e: unknown) => e instanceof InputError && e.file === 'w.safetensors' && pattern.test(e.detail),
    `expected InputError matching ${pattern}`,
  );
}

test('round trip through safetensors F64 is exact for every cell, layers and directions', () => {
  const configs: Partial<ModelConfig>[] = [
    { cell: 'rnn', inputSize: 3, hiddenSize: 4, outputSize: 2 },
    { cell: 'lstm', inputSize: 2, hiddenSize: 5, numLayers: 2, outputSize: 3 },
    { cell: 'gru', inputSize: 1, hiddenSize: 3, numLayers: 2, bidirectional: true, outputSize: 1 },
    { cell: 'lstm', variant: 'peephole', inputSize: 2, hiddenSize: 3, outputSize: 2 },
  ];
  for (const c of configs) {
    const m = randomModel(c);
    for (const names of [{}, { prefix: 'model.encoder.', headPrefix: 'fc.' }, { prefix: '', headPrefix: 'linear.' }]) {
      const bytes = writeSafetensors(stateDictFromModel(m, names), { dtype: 'F64' });
      const back = modelFromStateDict(readSafetensors(bytes, 'x').tensors, 'x', { variant: m.config.variant });
      assert.deepEqual(back.config, m.config);
      assert.deepEqual([...back.params.keys()], [...m.params.keys()]);
      for (const [k, t] of m.params) assert.deepEqual(back.params.get(k)!.data, t.data, k);
    }
  }
});

test('round trip through safetensors F32 rounds each weight to float32 only', () => {
  const m = randomModel({ cell: 'lstm', inputSize: 2, hiddenSize: 3, numLayers: 2, bidirectional: true, outputSize: 2 });
  const back = modelFromStateDict(readSafetensors(writeSafetensors(stateDictFromModel(m), { dtype: 'F32' }), 'x').tensors, 'x');
  assert.deepEqual(back.config, m.config);
  for (const [k, t] of m.params) assert.deepEqual(Array.from(back.params.get(k)!.data), Array.from(t.data, Math.fround), k);
});

test('infers architecture of every PyTorch fixture', () => {
  for (const name of ['rnn_tanh', 'rnn_relu', 'lstm_2layer', 'lstm_bidir', 'gru', 'lstm_f32']) {
    const expected = JSON.parse(readFileSync(join(FIXTURES, `${name}.expected.json`), 'utf8'));
    const file = readSafetensors(readFileSync(join(FIXTURES, expected.weights)), expected.weights);
    const model = modelFromStateDict(file.tensors, expected.weights, { nonlinearity: expected.config.nonlinearity });
    assert.deepEqual(model.config, expected.config, name);
  }
});

test('stateDictFromModel copies, so writing does not alias the model', () => {
  const m = randomModel({ cell: 'rnn', inputSize: 1, hiddenSize: 2, outputSize: 1 });
  const sd = stateDictFromModel(m);
  assert.deepEqual([...sd.keys()], ['rnn.weight_ih_l0', 'rnn.weight_hh_l0', 'rnn.bias_ih_l0', 'rnn.bias_hh_l0', 'head.weight', 'head.bias']);
  sd.get('rnn.weight_hh_l0')!.data[0] = 99;
  assert.notEqual(m.params.get('weight_hh_l0')!.data[0], 99);
});

function lstmDict(): Map<string, Tensor> {
  return stateDictFromModel(randomModel({ cell: 'lstm', inputSize: 3, hiddenSize: 4, numLayers: 2, outputSize: 2 }), { prefix: 'lstm.', headPrefix: 'fc.' });
}

test('rejects bad state dicts with a message naming the tensor', () => {
  const withExtra = lstmDict();
  withExtra.set('lstm.running_mean', { shape: [4], data: new Float64Array(4) });
  rejects(withExtra, /unknown tensor 'lstm.running_mean'/);

  const extraHead = lstmDict();
  extraHead.set('decoder.weight', { shape: [2, 7], data: new Float64Array(14) });
  rejects(extraHead, /unknown tensor 'decoder.weight'/);

  const missing = lstmDict();
  missing.delete('lstm.bias_hh_l1');
  rejects(missing, /missing tensor 'lstm.bias_hh_l1'/);

  const noHeadBias = lstmDict();
  noHeadBias.delete('fc.bias');
  rejects(noHeadBias, /missing tensor 'fc.bias'/);

  const noHead = lstmDict();
  noHead.delete('fc.bias');
  noHead.delete('fc.weight');
  rejects(noHead, /no linear head/);

  const twoPrefixes = lstmDict();
  const t = twoPrefixes.get('lstm.bias_ih_l1')!;
  twoPrefixes.delete('lstm.bias_ih_l1');
  twoPrefixes.set('enc.bias_ih_l1', t);
  rejects(twoPrefixes, /different prefixes/);

  const badRows = lstmDict();
  badRows.set('lstm.weight_hh_l0', { shape: [8, 4], data: new Float64Array(32) });
  rejects(badRows, /'lstm.weight_hh_l0' has shape \[8, 4\]: rows must be H \(RNN\), 3H \(GRU\) or 4H \(LSTM\)/);

  const badLayer1 = lstmDict();
  badLayer1.set('lstm.weight_ih_l1', { shape: [16, 5], data: new Float64Array(80) });
  rejects(badLayer1, /'lstm.weight_ih_l1' has shape \[16, 5\], expected \[16, 4\]/);

  const badHead = lstmDict();
  badHead.set('fc.weight', { shape: [2, 8], data: new Float64Array(16) });
  rejects(badHead, /'fc.weight' has shape \[2, 8\], expected \[2, 4\]/);

  const badBias = lstmDict();
  badBias.set('fc.bias', { shape: [3], data: new Float64Array(3) });
  rejects(badBias, /'fc.bias' has shape \[3\], expected \[2\]/);

  const nonFinite = lstmDict();
  nonFinite.get('lstm.weight_hh_l1')!.data[4 * 2 + 1] = Number.NaN;
  rejects(nonFinite, /'lstm.weight_hh_l1' holds a non-finite value \(NaN\) at index \[2, 1\]/);

  const inf = lstmDict();
  inf.get('fc.bias')!.data[1] = -Infinity;
  rejects(inf, /'fc.bias' holds a non-finite value \(-Infinity\) at index \[1\]/);

  const gap = lstmDict();
  for (const k of ['weight_ih', 'weight_hh', 'bias_ih', 'bias_hh']) {
    gap.set(`lstm.${k}_l3`, gap.get(`lstm.${k}_l1`)!);
  }
  rejects(gap, /names layer 3, but the file holds no tensor of layer 2/);

  rejects(new Map(), /no tensors/);
  rejects(new Map([['fc.weight', { shape: [1, 1], data: new Float64Array(1) }]]), /no recurrent weights/);
  const gru = stateDictFromModel(randomModel({ cell: 'gru', inputSize: 1, hiddenSize: 2, outputSize: 1 }));
  rejects(gru, /GRU.*variant 'cifg' does not apply/, { variant: 'cifg' });
  rejects(gru, /GRU.*relu nonlinearity only applies to an RNN/, { nonlinearity: 'relu' });
});

test('an LSTM variant can be chosen for vanilla weights; peephole weights imply the peephole variant', () => {
  const m = modelFromStateDict(lstmDict(), 'w', { variant: 'cifg' });
  assert.equal(m.config.variant, 'cifg');
  const peep = stateDictFromModel(randomModel({ cell: 'lstm', variant: 'peephole', inputSize: 1, hiddenSize: 2, outputSize: 1 }));
  assert.equal(modelFromStateDict(peep, 'w').config.variant, 'peephole');
  rejects(peep, /peephole weights.*'nfg'/, { variant: 'nfg' });
});

// ---- PyTorch autograd reference (test/fixtures/torch, scripts/make-torch-fixtures.py) ----

interface TorchExpected {
  name: string;
  weights: string;
  input: string;
  config: ModelConfig;
  lossKind: 'mse' | 'xent';
  mode: 'many-to-one' | 'many-to-many';
  statePrefix: string;
  headPrefix: string;
  loss: number;
  globalGradNorm: number;
  grads: Record<string, number[]>;
  layers: {
    layer: number;
    direction: 'forward' | 'reverse';
    gradNormH: number[];
    gradNormC: number[] | null;
    gateGradNorm: Record<string, number[]>;
    weightGradByStep: number[];
  }[];
  inputGradNorm: number[];
}

export const TORCH_CASES = ['rnn_tanh', 'rnn_relu', 'lstm_2layer', 'lstm_bidir', 'gru', 'lstm_f32'];

/** max |a-b| / max(|b|, floor) over paired values; the floor keeps exact zeros meaningful. */
function maxRelErr(got: ArrayLike<number>, want: ArrayLike<number>, scale: number): number {
  assert.equal(got.length, want.length);
  let worst = 0;
  for (let k = 0; k < want.length; k++) worst = Math.max(worst, Math.abs(got[k] - want[k]) / Math.max(Math.abs(want[k]), 1e-6 * scale, Number.MIN_VALUE));
  return worst;
}

test('runPass on PyTorch weights reproduces PyTorch autograd (loss, every gradient, per-step h/c/gate/weight-part norms) to 1e-9 relative', async () => {
  const { runPass } = await import('../../src/engine/bptt');
  const { parseBatchJson } = await import('../../src/io/batchJson');
  const report: string[] = [];
  for (const name of TORCH_CASES) {
    const ex = JSON.parse(readFileSync(join(FIXTURES, `${name}.expected.json`), 'utf8')) as TorchExpected;
    const model = modelFromStateDict(readSafetensors(readFileSync(join(FIXTURES, ex.weights)), ex.weights).tensors, ex.weights, { nonlinearity: ex.config.nonlinearity });
    const batch = parseBatchJson(readFileSync(join(FIXTURES, ex.input), 'utf8'), ex.input, { model: model.config, mode: ex.mode, loss: ex.lossKind });
    const result = runPass(model, batch, { loss: ex.lossKind });
    const errs: Record<string, number> = {};
    errs.loss = Math.abs(result.loss - ex.loss) / Math.abs(ex.loss);
    let gradErr = 0;
    for (const [stored, want] of Object.entries(ex.grads)) {
      const engineName = stored.startsWith(ex.headPrefix) ? `head.${stored.slice(ex.headPrefix.length)}` : stored.slice(ex.statePrefix.length);
      const got = result.grads.get(engineName);
      assert.ok(got, `${name}: no gradient for ${engineName}`);
      gradErr = Math.max(gradErr, maxRelErr(got.data, want, ex.globalGradNorm));
    }
    errs.grads = gradErr;
    let hErr = 0;
    let cErr = 0;
    let gateErr = 0;
    let partErr = 0;
    for (const want of ex.layers) {
      const got = result.record.layers.find((l) => l.layer === want.layer && l.direction === want.direction);
      assert.ok(got, `${name}: no record for layer ${want.layer} ${want.direction}`);
      const scale = Math.max(...want.gradNormH);
      hErr = Math.max(hErr, maxRelErr(got.gradNormH, want.gradNormH, scale));
      if (want.gradNormC) {
        assert.ok(got.gradNormC, `${name}: gradNormC missing`);
        cErr = Math.max(cErr, maxRelErr(got.gradNormC, want.gradNormC, Math.max(...want.gradNormC)));
      }
      assert.deepEqual(Object.keys(got.gateGradNorm).sort(), Object.keys(want.gateGradNorm).sort(), `${name}: gate names`);
      for (const [gate, series] of Object.entries(want.gateGradNorm)) {
        gateErr = Math.max(gateErr, maxRelErr(got.gateGradNorm[gate], series, Math.max(...series)));
      }
      partErr = Math.max(partErr, maxRelErr(got.weightGradByStep, want.weightGradByStep, Math.max(...want.weightGradByStep)));
    }
    errs.gradNormH = hErr;
    errs.gradNormC = cErr;
    errs.gateGradNorm = gateErr;
    errs.weightGradByStep = partErr;
    errs.inputGradNorm = maxRelErr(result.record.inputGradNorm, ex.inputGradNorm, Math.max(...ex.inputGradNorm));
    report.push(`${name}: ${Object.entries(errs).map(([k, v]) => `${k} ${v.toExponential(1)}`).join(', ')}`);
    for (const [k, v] of Object.entries(errs)) assert.ok(v <= 1e-9, `${name}: ${k} relative error ${v} vs PyTorch`);
  }
  if (process.env.BPTT_LENS_VERBOSE) console.log(report.join('\n'));
});
