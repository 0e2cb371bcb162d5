// Sequence files read in a worker (WorkerPool.readSequenceFile / listTargetColumns) give
// exactly what the in-process readers give: the same Dataset bit for bit, the same column
// list, the same InputError for a bad or missing file; a cancel or a bad file leaves the pool
// usable. The worker is bundled from the current source (./worker-bundle.ts).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listTargetColumns } from '../../src/io/columns';
import { InputError } from '../../src/io/errors';
import { readSequenceFile } from '../../src/io/sequences';
import { defaultRunConfig, planRuns } from '../../src/study/study';
import { executeRun } from '../../src/study/train';
import { parseFileReply } from '../../src/worker/messages';
import { WorkerPool } from '../../src/worker/pool';
import { bundleWorker, type WorkerBundle } from './worker-bundle';

let dir = '';
let workerPath = '';
let bundle: WorkerBundle | undefined;

before(async () => {
  bundle = await bundleWorker('bptt-lens-worker-files-');
  ({ dir, workerPath } = bundle);
});

after(() => bundle?.remove());

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

/** A dated CSV with two numeric columns (awkward values: negatives, exponents, many digits). */
function csvText(rows: number): string {
  const lines = ['date,price,units'];
  for (let i = 0; i < rows; i++) lines.push(`2020-01-${String((i % 28) + 1).padStart(2, '0')},${(Math.sin(i * 0.37) * 1e3).toPrecision(17)},${i % 7 === 0 ? -i : `${i}e-3`}`);
  return lines.join('\n') + '\n';
}

async function inputErrorOf(p: Promise<unknown>): Promise<InputError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof InputError, `expected an InputError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a rejection');
}

describe('WorkerPool file jobs', () => {
  it('reads CSV, TSV, JSON and text exactly as readSequenceFile does in-process', async () => {
    const pool = new WorkerPool({ size: 1, workerPath });
    try {
      const csv = write('good.csv', csvText(3000));
      for (const options of [{}, { targetColumn: 'price', window: 24 }, { targetColumn: 2, normalize: 'minmax' as const, stride: 5 }]) {
        // deepStrictEqual compares Float64Array elements with Object.is: bit for bit.
        assert.deepStrictEqual(await pool.readSequenceFile(csv, options), await readSequenceFile(csv, options));
      }
      const tsv = write('good.tsv', 'a\tb\n' + Array.from({ length: 40 }, (_, i) => `${i}\t${i * i}`).join('\n'));
      assert.deepStrictEqual(await pool.readSequenceFile(tsv), await readSequenceFile(tsv));
      const json = write('good.json', JSON.stringify({ x: [[[1], [2], [3]], [[4], [5], [6]]], y: [[0.5], [-0.25]] }));
      assert.deepStrictEqual(await pool.readSequenceFile(json), await readSequenceFile(json));
      const txt = write('good.txt', 'the quick brown fox jumps over the lazy dog\n'.repeat(20));
      assert.deepStrictEqual(await pool.readSequenceFile(txt, { window: 16 }), await readSequenceFile(txt, { window: 16 }));
    } finally {
      await pool.close();
    }
  });

  it('hands the dataset over in shared memory, so nothing is detached in the worker that goes on to train', async () => {
    // A transfer would detach the buffers in the worker, and from then on V8 checks every
    // typed-array access in that thread (the engine's loops up to 1.5x slower): see
    // src/engine/kernels/wasmModule.ts.
    const pool = new WorkerPool({ size: 1, workerPath });
    try {
      const ds = await pool.readSequenceFile(write('shared.csv', csvText(200)), { window: 12 });
      assert.ok(ds.x.buffer instanceof SharedArrayBuffer && ds.y.buffer instanceof SharedArrayBuffer);
      assert.deepStrictEqual(ds, await readSequenceFile(path.join(dir, 'shared.csv'), { window: 12 }));
    } finally {
      await pool.close();
    }
  });

  it('rejects a bad or missing file with the same InputError, and the pool stays usable', async () => {
    const pool = new WorkerPool({ size: 1, workerPath });
    try {
      const bad = write('bad.csv', csvText(50).replace(/\n(2020-01-0[0-9]),[^,]+,/, (_m, date) => `\n${date},12abc,`));
      const missing = path.join(dir, 'missing.csv');
      const folder = path.join(dir, 'folder.csv');
      fs.mkdirSync(folder, { recursive: true });
      const cases: [string, object][] = [
        [bad, {}],
        [missing, {}],
        [folder, {}],
        [path.join(dir, 'good.csv'), { targetColumn: 'nope' }],
        [write('notes.md', 'x'), {}],
      ];
      write('good.csv', csvText(100));
      for (const [file, options] of cases) {
        const expected = await inputErrorOf(readSequenceFile(file, options));
        const actual = await inputErrorOf(pool.readSequenceFile(file, options));
        assert.equal(actual.message, expected.message);
        assert.deepEqual([actual.file, actual.line, actual.detail], [expected.file, expected.line, expected.detail]);
      }
      const badError = await inputErrorOf(pool.readSequenceFile(bad));
      assert.ok(badError.line !== null && badError.line > 1, 'the bad cell is named by its line');

      // Still usable for file jobs and for training runs.
      const good = path.join(dir, 'good.csv');
      const dataset = await pool.readSequenceFile(good);
      assert.deepStrictEqual(dataset, await readSequenceFile(good));
      const [run] = planRuns({ kind: 'diagnosis', name: 't', dataset, base: defaultRunConfig(dataset, { hiddenSize: 4, iterations: 2, batchSize: 4 }), cells: ['gru'], clips: [{ kind: 'none' }] });
      assert.deepStrictEqual(await pool.executor(dataset, [run], {}), [executeRun(dataset, run)]);
      assert.equal(pool.liveWorkers, 1);
    } finally {
      await pool.close();
    }
  });

  it('lists target columns as the in-process listTargetColumns does', async () => {
    const pool = new WorkerPool({ size: 1, workerPath });
    try {
      const files = [
        write('cols.csv', csvText(80)),
        write('cols.json', JSON.stringify([{ t: 1, v: 2, s: 'a' }, { t: 2, v: 3, s: 'b' }])),
        write('cols-bad.csv', 'a,b\n1,2\n3\n'),
        write('cols.txt', 'abc'),
        path.join(dir, 'cols-missing.csv'),
      ];
      for (const file of files) assert.deepEqual(await pool.listTargetColumns(file), await listTargetColumns(file));
      assert.deepEqual((await pool.listTargetColumns(files[0])).map((c) => c.name), ['price', 'units']);
    } finally {
      await pool.close();
    }
  });

  it('cancels a read with an AbortError and stays usable', async () => {
    const pool = new WorkerPool({ size: 1, workerPath });
    try {
      const big = write('big.csv', csvText(200_000));
      const controller = new AbortController();
      const pending = pool.readSequenceFile(big, {}, { signal: controller.signal });
      controller.abort();
      await assert.rejects(pending, (err: Error) => err.name === 'AbortError');
      await assert.rejects(pool.readSequenceFile(big, {}, { signal: AbortSignal.abort() }), (err: Error) => err.name === 'AbortError');
      const small = write('small.csv', csvText(60));
      assert.deepStrictEqual(await pool.readSequenceFile(small), await readSequenceFile(small));
    } finally {
      await pool.close();
    }
    await assert.rejects(pool.readSequenceFile(path.join(dir, 'small.csv')), /closed/);
  });

  it('retires a worker idle for idleTimeoutMs and starts a fresh one when needed', async () => {
    const pool = new WorkerPool({ size: 1, workerPath, idleTimeoutMs: 100 });
    try {
      const small = write('idle.csv', csvText(60));
      const expected = await readSequenceFile(small);
      assert.deepStrictEqual(await pool.readSequenceFile(small), expected);
      assert.equal(pool.liveWorkers, 1);
      // A liveness bound, not a timing assertion: the idle worker is gone well within 10 s.
      for (const deadline = Date.now() + 10_000; pool.liveWorkers > 0 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
      assert.equal(pool.liveWorkers, 0);
      assert.deepStrictEqual(await pool.readSequenceFile(small), expected);
    } finally {
      await pool.close();
    }
  });

  it('refuses a negative idle timeout', () => {
    assert.throws(() => new WorkerPool({ workerPath, idleTimeoutMs: -1 }), RangeError);
    assert.throws(() => new WorkerPool({ workerPath, idleTimeoutMs: Number.NaN }), RangeError);
  });

  it('refuses malformed file replies', () => {
    const dataset = {
      name: 'd', description: '', task: '', source: 'd.csv', mode: 'many-to-one', loss: 'mse',
      inputSize: 1, outputSize: 1, steps: 2, count: 2, x: new Float64Array(4), y: new Float64Array(2), normalization: { kind: 'none' },
    };
    assert.equal(parseFileReply({ type: 'dataset', jobId: 1, dataset }, 1, 'readSequence').type, 'dataset');
    assert.throws(() => parseFileReply({ type: 'dataset', jobId: 1, dataset: { ...dataset, x: new Float64Array(3) } }, 1, 'readSequence'), /dataset\.x/);
    assert.throws(() => parseFileReply({ type: 'dataset', jobId: 1, dataset: { ...dataset, y: [0, 0] } }, 1, 'readSequence'), /dataset\.y/);
    assert.throws(() => parseFileReply({ type: 'dataset', jobId: 1, dataset }, 1, 'listColumns'), /unexpected type/);
    assert.throws(() => parseFileReply({ type: 'columns', jobId: 1, columns: [{ name: 'a', position: 0 }] }, 1, 'listColumns'), /columns/);
    assert.throws(() => parseFileReply({ type: 'inputError', jobId: 1, file: 'f', line: 0, detail: 'x' }, 1, 'readSequence'), /inputError/);
    assert.throws(() => parseFileReply({ type: 'columns', jobId: 2, columns: [] }, 1, 'listColumns'), /jobId/);
  });
});
