// Runs the Python tests (the recorder in python/, test/python/*.py) from npm test, with the
// system Python and its PyTorch (Debian's python3-torch; .ci/run installs it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(__dirname, '..', '..');
/** Debian's python3-torch installs into the system Python (a pyenv python3 on PATH lacks torch). */
export const PYTHON = process.env.BPTT_LENS_PYTHON ?? '/usr/bin/python3';

test(`python recorder tests (${PYTHON} -m unittest discover -s test/python)`, { timeout: 600_000 }, () => {
  const run = spawnSync(PYTHON, ['-m', 'unittest', 'discover', '-s', 'test/python'], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
  });
  assert.equal(run.error, undefined, `cannot start ${PYTHON}: ${run.error?.message}`);
  const output = `${run.stdout}\n${run.stderr}`;
  assert.equal(run.status, 0, output);
  assert.match(run.stderr, /\nOK/);
});
