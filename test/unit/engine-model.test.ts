import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cloneParams, createModel, defaultModelConfig, paramShapes, zerosLike } from '../../src/engine/model';

test('paramShapes: PyTorch state_dict order and shapes for a 2-layer bidirectional LSTM', () => {
  const shapes = paramShapes(defaultModelConfig({ cell: 'lstm', inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true, outputSize: 2 }));
  assert.deepEqual(shapes, [
    ['weight_ih_l0', [16, 3]],
    ['weight_hh_l0', [16, 4]],
    ['bias_ih_l0', [16]],
    ['bias_hh_l0', [16]],
    ['weight_ih_l0_reverse', [16, 3]],
    ['weight_hh_l0_reverse', [16, 4]],
    ['bias_ih_l0_reverse', [16]],
    ['bias_hh_l0_reverse', [16]],
    ['weight_ih_l1', [16, 8]],
    ['weight_hh_l1', [16, 4]],
    ['bias_ih_l1', [16]],
    ['bias_hh_l1', [16]],
    ['weight_ih_l1_reverse', [16, 8]],
    ['weight_hh_l1_reverse', [16, 4]],
    ['bias_ih_l1_reverse', [16]],
    ['bias_hh_l1_reverse', [16]],
    ['head.weight', [2, 8]],
    ['head.bias', [2]],
  ]);
});

test('paramShapes: GRU has 3H rows, RNN H rows, peephole adds diagonal weights; every LSTM variant keeps 4H rows', () => {
  const gru = paramShapes(defaultModelConfig({ cell: 'gru', inputSize: 2, hiddenSize: 5 }));
  assert.deepEqual(gru[0], ['weight_ih_l0', [15, 2]]);
  const rnn = paramShapes(defaultModelConfig({ cell: 'rnn', inputSize: 2, hiddenSize: 5 }));
  assert.deepEqual(rnn[1], ['weight_hh_l0', [5, 5]]);
  const peep = paramShapes(defaultModelConfig({ cell: 'lstm', variant: 'peephole', inputSize: 2, hiddenSize: 5 }));
  assert.deepEqual(
    peep.map(([n]) => n),
    ['weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0', 'weight_ci_l0', 'weight_cf_l0', 'weight_co_l0', 'head.weight', 'head.bias'],
  );
  assert.deepEqual(peep[4][1], [5]);
  const cifg = paramShapes(defaultModelConfig({ cell: 'lstm', variant: 'cifg', inputSize: 2, hiddenSize: 5 }));
  assert.deepEqual(cifg[0], ['weight_ih_l0', [20, 2]]);
});

test('createModel is all zeros; zerosLike and cloneParams are independent copies', () => {
  const m = createModel(defaultModelConfig({ cell: 'gru', inputSize: 2, hiddenSize: 3, outputSize: 1 }));
  for (const t of m.params.values()) assert.ok(t.data.every((v) => v === 0));
  const c = cloneParams(m.params);
  c.get('weight_ih_l0')!.data[0] = 1;
  assert.equal(m.params.get('weight_ih_l0')!.data[0], 0);
  const z = zerosLike(m.params);
  assert.deepEqual([...z.keys()], [...m.params.keys()]);
  assert.notEqual(z.get('head.bias')!.data, m.params.get('head.bias')!.data);
});

test('invalid configs are refused with a clear message', () => {
  assert.throws(() => paramShapes(defaultModelConfig({ hiddenSize: 0 })), /hiddenSize must be a positive integer/);
  assert.throws(() => paramShapes(defaultModelConfig({ cell: 'mamba' as never })), /unknown cell 'mamba'/);
  assert.throws(() => paramShapes(defaultModelConfig({ variant: 'xyz' as never })), /unknown LSTM variant/);
});
