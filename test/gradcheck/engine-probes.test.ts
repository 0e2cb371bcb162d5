// Recorded per-timestep gradient quantities against finite differences (probe-checks.ts),
// for every cell, variant, stacking, direction, loss and mode.

import { test } from 'node:test';
import { cellConfigs, makeCase } from './fd';
import { checkProbes } from './probe-checks';

const LOSSES = ['mse', 'xent'] as const;
const MODES = ['many-to-one', 'many-to-many'] as const;

for (const config of cellConfigs()) {
  for (const loss of LOSSES) {
    for (const mode of MODES) {
      const c = makeCase(config, loss, mode, 11);
      test(`probe gradients match FD: ${c.name}`, () => checkProbes(c, { itemized: true }));
    }
  }
}
