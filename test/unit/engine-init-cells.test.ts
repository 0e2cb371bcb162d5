// Init of the cells of design §8 through initializeModel: their own §8 init whatever the
// scheme, except a hidden-to-hidden matrix (slstm's R), which the W_hh schemes act on.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hasHiddenToHidden, MODERN_KINDS } from '../../src/engine/cells';
import { initializeModel } from '../../src/engine/init';
import { createModel, defaultModelConfig } from '../../src/engine/model';
import { Rng } from '../../src/engine/rng';
import type { CellKind, InitScheme, Model } from '../../src/engine/types';

function init(cell: CellKind, scheme: InitScheme): Model {
  const m = createModel(defaultModelConfig({ cell, inputSize: 2, hiddenSize: 4, outputSize: 1, numLayers: 2 }));
  initializeModel(m, { scheme, spectralRadius: null, forgetBias: false }, new Rng(5));
  return m;
}

test('slstm: orthogonal and identity schemes set every H×H block of R; the §8 init elsewhere', () => {
  const H = 4;
  for (const layer of [0, 1]) {
    const R = init('slstm', 'orthogonal').params.get(`weight_hh_l${layer}`)!.data;
    for (let g = 0; g < 4; g++) {
      for (let i = 0; i < H; i++) {
        for (let j = 0; j < H; j++) {
          let dot = 0;
          for (let k = 0; k < H; k++) dot += R[(g * H + i) * H + k] * R[(g * H + j) * H + k];
          assert.ok(Math.abs(dot - (i === j ? 1 : 0)) <= 1e-14, `layer ${layer} block ${g} (${i},${j}): ${dot}`);
        }
      }
    }
    const I = init('slstm', 'identity').params.get(`weight_hh_l${layer}`)!.data;
    for (let g = 0; g < 4; g++) for (let i = 0; i < H; i++) for (let j = 0; j < H; j++) assert.equal(I[(g * H + i) * H + j], i === j ? 1 : 0);
  }
  assert.ok(hasHiddenToHidden('slstm'));
});

test('cells without a hidden-to-hidden matrix keep their §8 init under every scheme (only the head differs)', () => {
  for (const cell of MODERN_KINDS.filter((k) => !hasHiddenToHidden(k))) {
    const a = init(cell, 'pytorch');
    for (const scheme of ['xavier', 'orthogonal', 'identity'] as const) {
      const b = init(cell, scheme);
      for (const [name, t] of a.params) {
        if (name.startsWith('head.')) continue;
        assert.deepEqual(b.params.get(name)!.data, t.data, `${cell} ${scheme} ${name}`);
      }
    }
  }
});
