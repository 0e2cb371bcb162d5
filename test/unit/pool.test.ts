// WorkerPool: parallel runs give exactly the in-process results, in planned order; cancel
// rejects with an AbortError and leaves the pool usable; a crashing or lying worker is
// reported (naming the run) and replaced.
//
// The worker is bundled from the current src/worker/studyWorker.ts (./worker-bundle.ts).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { Rng } from '../../src/engine/rng';
import { defaultRunConfig, planRuns } from '../../src/study/study';
import { executeRun } from '../../src/study/train';
import type { Dataset, PlannedRun } from '../../src/study/types';
import { WorkerPool } from '../../src/worker/pool';
import { parseWorkerMessage } from '../../src/worker/messages';
import { bundleWorker, type WorkerBundle } from './worker-bundle';

let dir = '';
let workerPath = '';
let bundle: WorkerBundle | undefined;

before(async () => {
  bundle = await bundleWorker('bptt-lens-pool-');
  ({ dir, workerPath } = bundle);
});

after(() => bundle?.remove());

function tinyDataset(steps = 12, count = 8): Dataset {
  const rng = new Rng(7);
  const x = Float64Array.from({ length: count * steps }, () => rng.range(-1, 1));
  const y = Float64Array.from({ length: count }, () => rng.range(-1, 1));
  return {
    name: 'pool-test', description: 'random', task: 'regress', mode: 'many-to-one', loss: 'mse',
    inputSize: 1, outputSize: 1, steps, count, x, y, source: 'test', normalization: { kind: 'none' },
  };
}

function plan(dataset: Dataset, iterations: number, hiddenSize = 6): PlannedRun[] {
  return planRuns({
    kind: 'diagnosis',
    name: 'pool-test',
    dataset,
    base: defaultRunConfig(dataset, { hiddenSize, iterations, batchSize: 4 }),
    cells: ['rnn-tanh', 'lstm', 'gru'],
    clips: [{ kind: 'none' }, { kind: 'norm', threshold: 0.5 }],
  });
}

/** A worker script that misbehaves on runs whose label contains a keyword, and is the real worker otherwise. */
function writeFaultyWorker(): string {
  const file = path.join(dir, 'faulty-worker.js');
  fs.writeFileSync(
    file,
    `const { parentPort } = require('node:worker_threads');
// Wrap the real worker's message listener: misbehave first on the chosen runs.
const on = parentPort.on.bind(parentPort);
parentPort.on = (event, listener) => on(event, event !== 'message' ? listener : (m) => {
  if (m.planned.label.includes('lstm')) throw new Error('injected crash');
  if (m.planned.label.includes('gru')) return parentPort.postMessage({ type: 'result', jobId: m.jobId, run: { schema: 'nope' } });
  listener(m);
});
require(${JSON.stringify(workerPath)});
`,
  );
  return file;
}

describe('WorkerPool', () => {
  it('returns exactly the in-process results, in planned order, with progress up to the run count', async () => {
    const dataset = tinyDataset();
    // Hidden size 24 makes the products large enough for the worker's WebAssembly kernels,
    // while this thread uses the TypeScript ones: the results must still agree bit for bit.
    const planned = plan(dataset, 6, 24);
    const expected = planned.map((p) => executeRun(dataset, p));
    const pool = new WorkerPool({ size: 2, workerPath });
    const seen: number[] = [];
    try {
      const runs = await pool.executor(dataset, planned, { onProgress: (done, total) => { assert.equal(total, planned.length); seen.push(done); } });
      assert.deepEqual(runs.map((r) => r.id), planned.map((p) => p.id));
      // deepStrictEqual compares numbers with Object.is: bit-for-bit, -0 and NaN included.
      assert.deepStrictEqual(runs, expected);
      assert.ok(seen.length >= planned.length);
      for (let i = 1; i < seen.length; i++) assert.ok(seen[i] >= seen[i - 1], 'progress never goes back');
      assert.equal(seen[seen.length - 1], planned.length);
    } finally {
      await pool.close();
    }
  });

  it('cancels mid-run with an AbortError and stays usable', async () => {
    const dataset = tinyDataset();
    const long = plan(dataset, 1_000_000).slice(0, 3);
    const pool = new WorkerPool({ size: 2, workerPath });
    try {
      const controller = new AbortController();
      let progressed = false;
      const pending = pool.executor(dataset, long, {
        signal: controller.signal,
        onProgress: (done) => {
          if (done > 0 && !progressed) {
            progressed = true;
            controller.abort();
          }
        },
      });
      const started = Date.now();
      await assert.rejects(pending, (err: Error) => err.name === 'AbortError');
      assert.ok(progressed, 'aborted after training had started');
      assert.ok(Date.now() - started < 20_000);

      const short = plan(dataset, 3).slice(0, 2);
      const runs = await pool.executor(dataset, short, {});
      assert.deepStrictEqual(runs, short.map((p) => executeRun(dataset, p)));
      // An already-aborted signal rejects without starting anything.
      await assert.rejects(pool.executor(dataset, short, { signal: AbortSignal.abort() }), (err: Error) => err.name === 'AbortError');
    } finally {
      await pool.close();
    }
  });

  it('reports a crashed worker by run and replaces it', async () => {
    const dataset = tinyDataset();
    const planned = plan(dataset, 2);
    const pool = new WorkerPool({ size: 1, workerPath: writeFaultyWorker() });
    try {
      const lstm = planned.find((p) => p.label.includes('lstm'))!;
      await assert.rejects(pool.executor(dataset, [lstm], {}), (err: Error) =>
        err.message.includes(lstm.label) && err.message.includes(lstm.id) && err.message.includes('injected crash'));

      const gru = planned.find((p) => p.label.includes('gru'))!;
      await assert.rejects(pool.executor(dataset, [gru], {}), (err: Error) => err.message.includes(gru.id) && /malformed/.test(err.message));

      const rnn = planned.filter((p) => p.label.includes('rnn'));
      const runs = await pool.executor(dataset, rnn, {});
      assert.deepStrictEqual(runs, rnn.map((p) => executeRun(dataset, p)));
      assert.equal(pool.liveWorkers, 1);
    } finally {
      await pool.close();
    }
  });

  it('reports a worker script that cannot load, by run', async () => {
    const dataset = tinyDataset();
    const [first] = plan(dataset, 1);
    const pool = new WorkerPool({ size: 1, workerPath: path.join(dir, 'no-such-worker.js') });
    try {
      await assert.rejects(pool.executor(dataset, [first], {}), (err: Error) => err.message.includes(first.id) && err.message.includes('no-such-worker.js'));
    } finally {
      await pool.close();
    }
  });

  it('rejects a run that cannot be sent to a worker and stays usable', async () => {
    const dataset = tinyDataset();
    const [first, second] = plan(dataset, 1);
    const pool = new WorkerPool({ size: 1, workerPath });
    try {
      const uncloneable = { ...first, config: { ...first.config, hook: () => 1 } } as unknown as PlannedRun;
      await assert.rejects(pool.executor(dataset, [uncloneable], {}), (err: Error) => err.message.includes(first.id) && /could not be sent/.test(err.message));
      assert.deepStrictEqual(await pool.executor(dataset, [second], {}), [executeRun(dataset, second)]);
    } finally {
      await pool.close();
    }
  });

  it('close() during runs rejects them and returns only once every worker thread has stopped', async () => {
    const dataset = tinyDataset();
    const long = plan(dataset, 1_000_000).slice(0, 3);
    // Count terminations still under way (the pool's Worker is this very class).
    const terminate = Worker.prototype.terminate;
    let stopping = 0;
    Worker.prototype.terminate = function (this: Worker) {
      stopping++;
      return terminate.call(this).finally(() => stopping--);
    };
    const pool = new WorkerPool({ size: 2, workerPath });
    try {
      let started!: () => void;
      const training = new Promise<void>((resolve) => (started = resolve));
      const pending = pool.executor(dataset, long, { onProgress: (done) => done > 0 && started() });
      const rejected = assert.rejects(pending, /closed/);
      await training;
      await pool.close();
      assert.equal(stopping, 0, 'no worker thread outlives close()');
      assert.equal(pool.liveWorkers, 0);
      await rejected;
      await assert.rejects(pool.executor(dataset, long, {}), /closed/);
    } finally {
      Worker.prototype.terminate = terminate;
      await pool.close();
    }
  });

  it('fails the run, naming it, when a worker cannot even be created', async () => {
    const dataset = tinyDataset();
    const [first, second] = plan(dataset, 1);
    // A relative path not starting with ./ makes new Worker throw synchronously (ERR_WORKER_PATH).
    const pool = new WorkerPool({ size: 1, workerPath: 'no/such/worker.js' });
    try {
      await assert.rejects(pool.executor(dataset, [first, second], {}), (err: Error) => err.message.includes(first.id) && /could not be started/.test(err.message));
      await assert.rejects(pool.readSequenceFile('x.csv'), /could not be started/);
      assert.equal(pool.liveWorkers, 0);
    } finally {
      await pool.close();
    }
  });

  it('rejects with the error an onProgress callback throws, and stays usable', async () => {
    const dataset = tinyDataset();
    const planned = plan(dataset, 3).slice(0, 3);
    const pool = new WorkerPool({ size: 2, workerPath });
    try {
      const boom = new Error('progress bar gone');
      await assert.rejects(pool.executor(dataset, planned, { onProgress: () => { throw boom; } }), (err) => err === boom);
      assert.deepStrictEqual(await pool.executor(dataset, planned.slice(0, 1), {}), [executeRun(dataset, planned[0])]);
    } finally {
      await pool.close();
    }
  });

  it('the worker answers a request it does not know with a failure (the pool never waits forever)', async () => {
    const worker = new Worker(workerPath);
    try {
      const reply = new Promise<unknown>((resolve) => worker.once('message', resolve));
      worker.postMessage({ type: 'train-faster', jobId: 5 });
      const msg = await reply;
      assert.equal(parseWorkerMessage(msg, 5, 'any').type, 'failure');
      assert.match((msg as { message: string }).message, /unknown request type "train-faster"/);
    } finally {
      await worker.terminate();
    }
  });

  it('refuses malformed worker messages', () => {
    assert.throws(() => parseWorkerMessage(null, 1, 'a'), /malformed/);
    assert.throws(() => parseWorkerMessage({ type: 'progress', jobId: 2, done: 1, total: 2 }, 1, 'a'), /jobId/);
    assert.throws(() => parseWorkerMessage({ type: 'progress', jobId: 1, done: 3, total: 2 }, 1, 'a'), /progress/);
    assert.throws(() => parseWorkerMessage({ type: 'result', jobId: 1, run: { schema: 'bptt-lens/run@1', id: 'b' } }, 1, 'a'), /does not match/);
    assert.throws(() => parseWorkerMessage({ type: 'shout', jobId: 1 }, 1, 'a'), /unknown type/);
    assert.deepEqual(parseWorkerMessage({ type: 'failure', jobId: 1, message: 'x' }, 1, 'a'), { type: 'failure', jobId: 1, message: 'x', stack: null });
  });

  it('rejects a size below 1', () => {
    assert.throws(() => new WorkerPool({ size: 0 }), RangeError);
  });
});
