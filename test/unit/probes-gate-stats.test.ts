// The gates probe's per-step statistics against their definitions: the mean of the gate's
// activations (one running sum in row order, so the same bits) and the fraction in the
// saturated band (sigmoid < 0.05 or > 0.95, tanh |v| > 0.9, relu v <= 0; none otherwise),
// values exactly on the thresholds, -0 and NaN included, on a block with an offset and stride.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gateStatsAt } from '../../src/engine/probes';
import { Rng } from '../../src/engine/rng';
import type { GateActivation } from '../../src/engine/cells/cell';

const SATURATED: Record<GateActivation, ((v: number) => boolean) | null> = {
  sigmoid: (v) => v < 0.05 || v > 0.95,
  tanh: (v) => Math.abs(v) > 0.9,
  relu: (v) => v <= 0,
  identity: null,
  exp: null,
  softplus: null,
};

test('gate mean and saturation follow their definitions, thresholds and NaN included', () => {
  const rng = new Rng(7);
  const edges = [0.05, 0.95, 0.9, -0.9, 0, -0, NaN, 0.0499999999, 0.9500000001, 1, -1];
  for (const activation of Object.keys(SATURATED) as GateActivation[]) {
    for (const [B, width, stride, off] of [[1, 1, 1, 0], [3, 5, 9, 2], [16, 64, 384, 64], [4, 7, 7, 0]]) {
      const cache = Float64Array.from({ length: off + B * stride + 3 }, () =>
        rng.uniform() < 0.3 ? edges[rng.int(edges.length)] : rng.range(-1.2, 1.2));
      const out = { mean: -1, saturation: -1 };
      gateStatsAt(cache, off, B, width, stride, activation, out);
      let sum = 0;
      let count = 0;
      for (let b = 0; b < B; b++) {
        for (let j = 0; j < width; j++) {
          const v = cache[off + b * stride + j];
          sum += v;
          if (SATURATED[activation]?.(v)) count++;
        }
      }
      const what = `${activation} ${B}x${width} stride ${stride}`;
      assert.ok(Object.is(out.mean, sum / (B * width)), `${what}: mean ${out.mean}, expected ${sum / (B * width)}`);
      assert.equal(out.saturation, count / (B * width), `${what}: saturation`);
    }
  }
});
