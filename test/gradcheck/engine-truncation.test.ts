// Truncated BPTT(k1, k2) against finite differences. The FD objective is the sum over
// backward passes of each pass's segment loss, evaluated on the pass's window starting from
// the boundary state frozen at its unperturbed value (fd.ts `objective`).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backwardWindows, forwardDetailed, runPass } from '../../src/engine/bptt';
import type { ModelConfig, Truncation } from '../../src/engine/types';
import { fdParam, makeCase, objective, TOLERANCE, worst, type Case } from './fd';
import { checkProbes } from './probe-checks';

const CONFIGS: Array<Partial<ModelConfig>> = [
  { cell: 'rnn', nonlinearity: 'tanh' },
  { cell: 'lstm', variant: 'vanilla' },
  { cell: 'lstm', variant: 'peephole' },
  { cell: 'gru' },
  { cell: 'lstm', numLayers: 2 },
  // Cells that carry more than their gradient state across a truncation boundary: rglru's
  // first-step rule (m = 1 only at t = 0, not at a window start), slstm's and mlstm's held
  // stabiliser m; lru's complex state.
  { cell: 'rglru' },
  { cell: 'slstm' },
  { cell: 'mlstm' },
  { cell: 'lru', numLayers: 2 },
];
const TRUNCATIONS: Truncation[] = [
  { k1: 2, k2: 3 },
  { k1: 1, k2: 2 },
];

function checkParams(c: Case, fdCase: Case = c, onlyWindow: number | null = null): void {
  const { grads } = runPass(c.model, c.batch, { loss: c.loss, truncation: c.truncation, probes: { jacobian: false } });
  const obj = objective(fdCase, onlyWindow);
  for (const name of c.model.params.keys()) {
    const analytic = grads.get(name)!.data;
    const numeric = fdParam(obj, c.model, name);
    const { err, at } = worst(analytic, numeric);
    assert.ok(err <= TOLERANCE, `${c.name} ${name}[${at}]: analytic ${analytic[at]} vs FD ${numeric[at]} (relErr ${err})`);
  }
}

test('backward windows follow Williams & Peng BPTT(k1, k2)', () => {
  assert.deepEqual(backwardWindows(5, { k1: 2, k2: 3 }), [
    { lossFrom: 0, lossTo: 1, from: 0, to: 1 },
    { lossFrom: 2, lossTo: 3, from: 1, to: 3 },
    { lossFrom: 4, lossTo: 4, from: 2, to: 4 },
  ]);
  assert.deepEqual(backwardWindows(4, null), [{ lossFrom: 0, lossTo: 3, from: 0, to: 3 }]);
  assert.throws(() => backwardWindows(4, { k1: 3, k2: 2 }), /k1 <= k2/);
});

for (const config of CONFIGS) {
  for (const truncation of TRUNCATIONS) {
    for (const loss of ['mse', 'xent'] as const) {
      for (const mode of ['many-to-one', 'many-to-many'] as const) {
        const c = makeCase(config, loss, mode, 5, truncation);
        test(`truncated gradients and probes match FD: ${c.name}`, () => {
          checkParams(c);
          checkProbes(c, { itemized: false });
        });
      }
    }
  }
}

// Each backward point on its own: give every step outside the pass's segment a target equal
// to the model's own prediction (zero loss gradient there, for mse and for xent alike), so
// the truncated gradient is that of this pass alone; it must equal the FD gradient of the
// segment loss with the boundary state held fixed.
for (const config of CONFIGS) {
  for (const loss of ['mse', 'xent'] as const) {
    test(`each truncated backward pass is the exact gradient of its segment loss, boundary frozen: ${config.cell} ${config.variant ?? ''} ${config.numLayers ?? 1}-layer ${loss}`, () => {
      const truncation = { k1: 2, k2: 3 };
      const base = makeCase(config, loss, 'many-to-many', 9, truncation);
      const { batchSize: B, steps: T, outputSize: O } = base.batch;
      const y = forwardDetailed(base.model, base.batch, loss).y; // [T][B][O]
      for (const [index, w] of backwardWindows(T, truncation).entries()) {
        const targets = Float64Array.from(base.batch.y);
        for (let t = 0; t < T; t++) {
          if (t >= w.lossFrom && t <= w.lossTo) continue;
          for (let b = 0; b < B; b++) {
            const row = y.subarray((t * B + b) * O, (t * B + b + 1) * O);
            let target: ArrayLike<number> = row;
            if (loss === 'xent') {
              const m = Math.max(...row);
              const e = Array.from(row, (v) => Math.exp(v - m));
              const s = e.reduce((a, v) => a + v, 0);
              target = e.map((v) => v / s);
            }
            targets.set(target, (b * T + t) * O);
          }
        }
        // Analytic: the whole truncated pass on the masked batch. FD: that segment's loss alone.
        checkParams({ ...base, batch: { ...base.batch, y: targets }, name: `${base.name} pass ending at ${w.to}` }, base, index);
      }
    });
  }
}

test('truncation with k1 = k2 = T is full BPTT; k2 < T differs', () => {
  const full = makeCase({ cell: 'lstm' }, 'mse', 'many-to-many', 3);
  const T = full.batch.steps;
  const g0 = runPass(full.model, full.batch, { loss: 'mse' }).grads;
  const g1 = runPass(full.model, full.batch, { loss: 'mse', truncation: { k1: T, k2: T } }).grads;
  for (const [name, t] of g0) assert.deepEqual(g1.get(name)!.data, t.data, name);
  const g2 = runPass(full.model, full.batch, { loss: 'mse', truncation: { k1: 1, k2: 1 } }).grads;
  assert.notDeepEqual(g2.get('weight_hh_l0')!.data, g0.get('weight_hh_l0')!.data);
});

test('truncation is refused for bidirectional models with a clear message', () => {
  const c = makeCase({ cell: 'gru', bidirectional: true }, 'mse', 'many-to-many');
  assert.throws(() => runPass(c.model, c.batch, { loss: 'mse', truncation: { k1: 2, k2: 2 } }), /unidirectional/);
});
