// `gradients --cell NAME`: weights of every cell of the registry, under the §8 names with any
// common prefix, read back into the same model (names, shapes, values, config); the cell
// inferred where the names or shapes tell it, --cell needed where they do not (slstm); and a
// whole `gradients` run on a modern cell's weights.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gradientsRecord } from '../../src/cli/gradients';
import { CELL_NAMES, parseCellName } from '../../src/engine/cells';
import { initializeModel } from '../../src/engine/init';
import { createModel, defaultModelConfig } from '../../src/engine/model';
import { Rng } from '../../src/engine/rng';
import type { Model, ModelConfig } from '../../src/engine/types';
import { readSafetensors, writeSafetensors } from '../../src/io/safetensors';
import { modelFromStateDict, stateDictFromModel } from '../../src/io/stateDict';

function model(name: string, extra: Partial<ModelConfig> = {}): Model {
  const m = createModel(defaultModelConfig({ ...parseCellName(name), inputSize: 3, hiddenSize: 4, outputSize: 2, numLayers: 2, bidirectional: true, ...extra }));
  initializeModel(m, { scheme: 'pytorch', spectralRadius: null, forgetBias: false }, new Rng(9));
  return m;
}

function roundTrip(m: Model, cell: string | undefined, prefix = 'model.encoder.rnn.', headPrefix = 'fc.'): Model {
  const bytes = writeSafetensors(stateDictFromModel(m, { prefix, headPrefix }), { dtype: 'F64' });
  return modelFromStateDict(readSafetensors(bytes, 'w.safetensors').tensors, 'w.safetensors', cell ? { cell } : {});
}

function assertSame(a: Model, b: Model, what: string): void {
  assert.deepEqual(b.config, a.config, `${what}: config`);
  assert.deepEqual([...b.params.keys()], [...a.params.keys()], `${what}: names`);
  for (const [name, t] of a.params) assert.deepEqual(b.params.get(name)!.data, t.data, `${what}: ${name}`);
}

for (const name of CELL_NAMES) {
  test(`state_dict round trip with --cell ${name} and any prefix`, () => {
    const m = model(name, name === 's6' ? { cellOptions: { stateSize: 5 } } : name === 'indrnn' ? { cellOptions: { activation: 'relu' } } : {});
    assertSame(m, roundTrip(m, name), `${name} with --cell`);
    assertSame(m, roundTrip(m, name, '', 'head.'), `${name} without prefix`);
  });
}

test('the cell is inferred where names or shapes tell it; sLSTM weights need --cell slstm', () => {
  for (const name of ['indrnn', 'mingru', 'minlstm', 'lru', 'rglru', 'mlstm', 's6']) {
    const m = model(name, name === 'indrnn' ? { cellOptions: { activation: 'relu' } } : name === 's6' ? { cellOptions: { stateSize: 16 } } : {});
    assertSame(m, roundTrip(m, undefined), `${name} inferred`);
  }
  const s = model('slstm');
  assert.equal(roundTrip(s, undefined).config.cell, 'lstm'); // the same names and shapes as an LSTM
  assert.equal(roundTrip(s, 'slstm').config.cell, 'slstm');
  // indrnn's activation is not in the weights: --nonlinearity tanh picks it.
  const ind = model('indrnn', { cellOptions: { activation: 'tanh' } });
  const bytes = writeSafetensors(stateDictFromModel(ind), { dtype: 'F64' });
  const back = modelFromStateDict(readSafetensors(bytes, 'w').tensors, 'w', { nonlinearity: 'tanh' });
  assert.deepEqual(back.config.cellOptions, { activation: 'tanh' });
});

test('--cell errors name the file and what was expected', () => {
  const gru = model('gru');
  assert.throws(() => roundTrip(gru, 'lstm'), /w\.safetensors.*--cell lstm: the weights are a GRU/);
  assert.throws(() => roundTrip(gru, 'mamba'), /w\.safetensors.*unknown cell 'mamba'/);
  const lru = model('lru');
  assert.throws(() => roundTrip(lru, 'mingru'), /w\.safetensors.*unknown tensor 'model\.encoder\.rnn\.nu_log_l0': expected the mingru names/);
  const bytes = writeSafetensors(stateDictFromModel(lru, { prefix: 'a.' }), { dtype: 'F64' });
  const tensors = readSafetensors(bytes, 'w').tensors;
  tensors.delete('a.C_im_l1_reverse');
  assert.throws(() => modelFromStateDict(tensors, 'w.safetensors', { cell: 'lru' }), /missing tensor 'a\.C_im_l1_reverse' \(expected shape \[4, 4\]/);
});

test('gradients --cell on a modern cell: a run record with its diagnosis', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bptt-cells-'));
  try {
    const m = model('mlstm', { numLayers: 1, bidirectional: false });
    writeFileSync(join(dir, 'w.safetensors'), writeSafetensors(stateDictFromModel(m, { prefix: 'net.mlstm.' }), { dtype: 'F32' }));
    const rng = new Rng(3);
    const x = Array.from({ length: 2 }, () => Array.from({ length: 6 }, () => Array.from({ length: 3 }, () => rng.range(-1, 1))));
    const y = Array.from({ length: 2 }, () => Array.from({ length: 2 }, () => rng.range(-1, 1)));
    writeFileSync(join(dir, 'in.json'), JSON.stringify({ x, y }));
    const record = gradientsRecord({ weights: join(dir, 'w.safetensors'), input: join(dir, 'in.json'), cell: 'mlstm' });
    assert.equal(record.config.cell, 'mlstm');
    assert.equal(record.config.cellChoice, 'mlstm');
    assert.equal(record.timesteps, 6);
    assert.equal(record.layers[0].gradNormState!.length, 6);
    assert.ok(record.diagnosis);
    assert.equal(record.nonFinite, null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
