// Randomized gradient checks (fast-check): any cell, variant, depth, direction, sizes, loss,
// mode, truncation and weight scale; every parameter gradient against FD (fd.ts).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { runPass } from '../../src/engine/bptt';
import type { ModelConfig, Truncation } from '../../src/engine/types';
import { fdParam, LSTM_VARIANTS, makeCase, objective, relErr, TOLERANCE, worst } from './fd';

const configArb = fc.record({
  // Classic cells and every cell of design §8 (makeCase keeps kinked cells' kinks off the stencil).
  cell: fc.constantFrom('rnn', 'lstm', 'gru', 'indrnn', 'mingru', 'minlstm', 'lru', 'rglru', 'slstm', 'mlstm', 's6') as fc.Arbitrary<ModelConfig['cell']>,
  nonlinearity: fc.constantFrom('tanh', 'relu') as fc.Arbitrary<ModelConfig['nonlinearity']>,
  variant: fc.constantFrom(...LSTM_VARIANTS),
  numLayers: fc.integer({ min: 1, max: 2 }),
  bidirectional: fc.boolean(),
});

test('random models: every parameter gradient matches FD', () => {
  fc.assert(
    fc.property(
      configArb,
      fc.record({ H: fc.integer({ min: 1, max: 3 }), T: fc.integer({ min: 1, max: 5 }), B: fc.integer({ min: 1, max: 2 }), I: fc.integer({ min: 1, max: 2 }), O: fc.integer({ min: 2, max: 3 }) }),
      fc.constantFrom('mse', 'xent') as fc.Arbitrary<'mse' | 'xent'>,
      fc.constantFrom('many-to-one', 'many-to-many') as fc.Arbitrary<'many-to-one' | 'many-to-many'>,
      fc.integer({ min: 1, max: 1000 }),
      fc.option(fc.record({ k1: fc.integer({ min: 1, max: 3 }), extra: fc.integer({ min: 0, max: 2 }) })),
      (config, sizes, loss, mode, seed, trunc) => {
        const truncation: Truncation | null = trunc && !config.bidirectional ? { k1: trunc.k1, k2: trunc.k1 + trunc.extra } : null;
        const c = makeCase({ ...config, ...(config.cell === 's6' ? { cellOptions: { stateSize: 3 } } : {}) }, loss, mode, seed, truncation, sizes);
        const { grads } = runPass(c.model, c.batch, { loss, truncation, probes: { jacobian: false, itemized: true } });
        const obj = objective(c);
        const relu = config.cell === 'rnn' && config.nonlinearity === 'relu';
        for (const name of c.model.params.keys()) {
          const analytic = grads.get(name)!.data;
          const numeric = fdParam(obj, c.model, name);
          if (relu) {
            // A relu kink within the stencil's reach (±3h) makes FD meaningless there; it shows
            // as two step sizes disagreeing with each other (a wrong analytic gradient would not
            // make the FDs disagree). Such entries are left out.
            const fine = fdParam(obj, c.model, name, 1e-5);
            for (let k = 0; k < numeric.length; k++) {
              if (relErr(numeric[k], fine[k]) > 1e-4) numeric[k] = NaN;
            }
          }
          const ok = Array.from(analytic.keys()).filter((k) => !Number.isNaN(numeric[k]));
          const { err, at } = worst(
            ok.map((k) => analytic[k]),
            ok.map((k) => numeric[k]),
          );
          assert.ok(err <= TOLERANCE, `${c.name} ${JSON.stringify(sizes)} seed ${seed}: ${name}[${ok[at]}] relErr ${err}`);
        }
      },
    ),
    { numRuns: 100, seed: 20261122 },
  );
});
