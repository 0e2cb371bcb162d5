// Every fuzz class (classes.ts): each regenerated input meets the contract (a one-line
// InputError naming the file, or an accepted result that checks out) within its time bound.
// scripts/fuzz-table.ts prints the same runs as a table, with peak memory.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLASSES } from './classes';

for (const c of CLASSES) {
  test(`fuzz: ${c.name}`, { skip: process.platform === 'win32' ? 'FIFOs and devices' : false, timeout: 120_000 }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'bptt-fuzz-'));
    try {
      const trials = await c.run(dir);
      if (trials.length === 0) {
        t.skip('the reader for this class is not on this branch');
        return;
      }
      const failed = trials.filter((t) => !t.ok);
      assert.deepEqual(failed.map((t) => `${t.input}: ${t.detail}`), [], `${failed.length} of ${trials.length} broke the contract`);
      const slow = trials.filter((t) => t.ms > c.boundMs);
      assert.deepEqual(slow.map((t) => `${t.input}: ${Math.round(t.ms)} ms`), [], `over ${c.boundMs} ms`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
