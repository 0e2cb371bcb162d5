// The extension's RunExecutor over the worker pool, against a fake pool: order, the cap on
// runs in flight, progress, cancel and failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { laneExecutor, type RunPool } from '../../src/extension/poolExecutor';
import type { Dataset, PlannedRun, ReportRun } from '../../src/study/types';

const dataset = { name: 'fake' } as unknown as Dataset;
const planned = (n: number): PlannedRun[] => Array.from({ length: n }, (_, i) => ({ id: `r${i}`, label: `run ${i}`, config: { iterations: 10 } }) as unknown as PlannedRun);

/** A pool whose runs take `ms(i)` and report progress halfway; records what it was asked. */
function fakePool(size: number, ms: (i: number) => number, fail?: number) {
  const log = { inFlight: 0, maxInFlight: 0, started: [] as string[], abortedSeen: 0 };
  const pool: RunPool = {
    size,
    execute(_d, runs, opts) {
      const p = runs[0]!;
      const i = Number(p.id.slice(1));
      log.started.push(p.id);
      log.inFlight++;
      log.maxInFlight = Math.max(log.maxInFlight, log.inFlight);
      return new Promise<ReportRun[]>((resolve, reject) => {
        let settled = false;
        const half = setTimeout(() => opts.onProgress?.(0.5, 1, p.label), ms(i) / 2);
        const done = setTimeout(() => {
          settled = true;
          log.inFlight--;
          if (i === fail) reject(new Error(`run ${i} crashed`));
          else resolve([{ id: p.id } as ReportRun]);
        }, ms(i));
        opts.signal?.addEventListener('abort', () => {
          if (settled) return;
          settled = true;
          clearTimeout(half);
          clearTimeout(done);
          log.inFlight--;
          log.abortedSeen++;
          const e = new Error('aborted');
          e.name = 'AbortError';
          reject(e);
        }, { once: true });
      });
    },
  };
  return { pool, log };
}

test('results come back in planned order with at most pool.size runs in flight; progress rises to 1', async () => {
  const { pool, log } = fakePool(2, (i) => (i % 2 === 0 ? 30 : 5));
  const fractions: number[] = [];
  const overall = { done: 0, total: 0 };
  const exec = laneExecutor(pool, overall, (f) => fractions.push(f));
  const runs = await exec(dataset, planned(5), { onProgress: (done, total) => Object.assign(overall, { done, total }) });
  assert.deepEqual(runs.map((r) => r.id), ['r0', 'r1', 'r2', 'r3', 'r4']);
  assert.equal(log.maxInFlight, 2);
  assert.deepEqual(overall, { done: 5, total: 5 });
  assert.equal(fractions.at(-1), 1);
  for (let k = 1; k < fractions.length; k++) assert.ok(fractions[k]! >= fractions[k - 1]!, `progress went back: ${fractions.join(', ')}`);
  assert.ok(fractions.some((f) => f > 0 && f < 1 && (f * 10) % 2 !== 0), 'half-done runs count');
});

test('a second executor call (recommendation checks) continues the bar from where the study is', async () => {
  const { pool } = fakePool(1, () => 2);
  const fractions: number[] = [];
  const overall = { done: 0, total: 0 };
  const exec = laneExecutor(pool, overall, (f) => fractions.push(f));
  // runStudy's bookkeeping: 3 main runs, then 1 check run, total 4.
  await exec(dataset, planned(3), { onProgress: (done) => Object.assign(overall, { done, total: 3 }) });
  const afterMain = fractions.at(-1)!;
  await exec(dataset, planned(1), { onProgress: (done) => Object.assign(overall, { done: 3 + done, total: 4 }) });
  assert.equal(afterMain, 1);
  assert.equal(fractions.at(-1), 1);
  assert.ok(fractions.every((f, k) => k === 0 || f >= fractions[k - 1]!));
});

test('cancel: rejects with AbortError, stops only the runs in flight, starts no more', async () => {
  const { pool, log } = fakePool(2, () => 40);
  const ac = new AbortController();
  const exec = laneExecutor(pool, { done: 0, total: 0 }, () => undefined);
  setTimeout(() => ac.abort(), 10);
  await assert.rejects(exec(dataset, planned(19), { signal: ac.signal }), (e: Error) => e.name === 'AbortError');
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(log.started, ['r0', 'r1']);
  assert.equal(log.abortedSeen, 2);
  assert.equal(log.inFlight, 0);
});

test('already cancelled: nothing is started', async () => {
  const { pool, log } = fakePool(2, () => 5);
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(laneExecutor(pool, { done: 0, total: 0 }, () => undefined)(dataset, planned(3), { signal: ac.signal }));
  assert.deepEqual(log.started, []);
});

test('a failing run fails the study with its error and stops the others', async () => {
  const { pool, log } = fakePool(2, (i) => (i === 1 ? 5 : 50), 1);
  await assert.rejects(laneExecutor(pool, { done: 0, total: 0 }, () => undefined)(dataset, planned(6), {}), /run 1 crashed/);
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(log.inFlight, 0);
  assert.ok(log.started.length <= 3, `started ${log.started.join(', ')}`);
});
