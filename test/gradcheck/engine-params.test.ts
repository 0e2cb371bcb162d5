// Every parameter gradient of runPass against central finite differences (see fd.ts for the
// stencil and the error measure), for every cell, variant, stacking, direction, loss and mode.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runPass } from '../../src/engine/bptt';
import { cellConfigs, fdParam, makeCase, objective, TOLERANCE, worst } from './fd';

const LOSSES = ['mse', 'xent'] as const;
const MODES = ['many-to-one', 'many-to-many'] as const;

for (const config of cellConfigs()) {
  for (const loss of LOSSES) {
    for (const mode of MODES) {
      const c = makeCase(config, loss, mode);
      test(`parameter gradients match FD: ${c.name}`, () => {
        // Two code paths build the layer gradients: one product over all steps (probes off),
        // or the sum of the per-step parts that weightGradByStep measures (probe on).
        const batched = runPass(c.model, c.batch, { loss, probes: { gates: false, weightGradByStep: false, jacobian: false } });
        const summed = runPass(c.model, c.batch, { loss, probes: { jacobian: false } });
        const obj = objective(c);
        assert.equal(batched.loss, obj());
        for (const [name, tensor] of c.model.params) {
          const numeric = fdParam(obj, c.model, name);
          for (const [path, grads] of [['batched', batched.grads], ['per-step sum', summed.grads]] as const) {
            const analytic = grads.get(name)!.data;
            assert.equal(analytic.length, tensor.data.length);
            const { err, at } = worst(analytic, numeric);
            assert.ok(err <= TOLERANCE, `${path} ${name}[${at}]: analytic ${analytic[at]} vs FD ${numeric[at]} (relErr ${err})`);
          }
        }
      });
    }
  }
}

// Edge sizes: one step, one unit, one sequence.
for (const config of cellConfigs()) {
  const c = makeCase(config, 'xent', 'many-to-one', 21, null, { H: 1, T: 1, B: 1, I: 1, O: 2 });
  test(`parameter gradients match FD at T = B = H = I = 1: ${c.name}`, () => {
    const { grads } = runPass(c.model, c.batch, { loss: c.loss, probes: { itemized: true } });
    const obj = objective(c);
    for (const name of c.model.params.keys()) {
      const { err, at } = worst(grads.get(name)!.data, fdParam(obj, c.model, name));
      assert.ok(err <= TOLERANCE, `${name}[${at}] relErr ${err}`);
    }
  });
}
