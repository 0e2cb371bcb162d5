// The live captures session (src/extension/capturesSession.ts) with a fake analyzer, the
// captures view's message gates, and the session's work going through the real worker pool.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeCapture, type CaptureRunRecord } from '../../src/io/captureRun';
import { parseCapture } from '../../src/io/capture';
import { CapturesSession } from '../../src/extension/capturesSession';
import { validateCapturesMessage } from '../../src/extension/capturesProtocol';
import { checkState } from '../../webview/captures/main';
import { WorkerPool } from '../../src/worker/pool';
import { bundleWorker } from './worker-bundle';
import { captureName, makeCaptureBytes } from './capture-fixture';

function recordFor(step: number, seed = step + 1): CaptureRunRecord {
  return analyzeCapture(parseCapture(makeCaptureBytes({ step, seed, steps: 8 }), `/f/${captureName(step)}`));
}

async function settle(session: CapturesSession): Promise<void> {
  for (let k = 0; k < 200 && session.pendingCount > 0; k++) await new Promise((r) => setTimeout(r, 10));
}

test('session: captures in step order, errors kept per file, rewrites re-analysed, deletions forgotten', async () => {
  const calls: string[] = [];
  const session = new CapturesSession('/f', async (file) => {
    calls.push(file);
    if (file.includes('00000005')) throw new Error(`${file}: missing tensor 'grad_output'`);
    return recordFor(Number(/step-(\d+)/.exec(file)![1]));
  });
  let changes = 0;
  session.onChange(() => changes++);
  for (const s of [20, 0, 5, 10]) session.offer(`/f/${captureName(s)}`, 'v1');
  session.offer('/f/.step-00000030.77.tmp', 'v1'); // a writer's temporary file: ignored
  session.offer('/f/notes.txt', 'v1');
  session.offer(`/f/${captureName(20)}`, 'v1'); // a repeated event: not analysed again
  await settle(session);
  assert.equal(calls.length, 4);
  const state = session.state();
  assert.deepEqual(state.captures.map((c) => c.step), [0, 10, 20]);
  assert.deepEqual(state.errors.map((e) => e.file), [captureName(5)]);
  assert.match(state.errors[0]!.message, /missing tensor 'grad_output'/);
  assert.equal(state.pending, 0);
  assert.ok(changes >= 5);
  assert.equal(state.captures[0]!.total.length, 8);
  assert.equal(state.captures[0]!.direct.length, 8);
  assert.ok(checkState(JSON.parse(JSON.stringify(state))), 'the webview accepts the state');
  session.offer(`/f/${captureName(20)}`, 'v2'); // rewritten
  await settle(session);
  assert.equal(calls.length, 5);
  session.forget(`/f/${captureName(10)}`);
  assert.deepEqual(session.state().captures.map((c) => c.step), [0, 20]);
  assert.equal(session.report().runs.length, 2);
  session.dispose();
});

test('message gates: the host accepts only ready / saveReport / perf; the webview checks the state', () => {
  assert.deepEqual(validateCapturesMessage({ type: 'ready' }), { type: 'ready' });
  assert.deepEqual(validateCapturesMessage({ type: 'saveReport' }), { type: 'saveReport' });
  assert.equal(validateCapturesMessage({ type: 'saveReport', path: '/etc' }), null);
  assert.equal(validateCapturesMessage({ type: 'runCommand', command: 'x' }), null);
  assert.equal(validateCapturesMessage({ type: 'perf', name: '<img>', ms: 1 }), null);
  assert.equal(validateCapturesMessage('ready'), null);
  assert.equal(checkState({ type: 'captures', folder: 1, captures: [], errors: [], pending: 0, firstChange: null }), null);
  assert.equal(checkState({ type: 'captures', folder: '/f', captures: [{ step: 'x' }], errors: [], pending: 0, firstChange: null }), null);
  assert.ok(checkState({ type: 'captures', folder: '/f', captures: [], errors: [], pending: 0, firstChange: null }));
});

test('a backlog of captures is replayed by the worker pool, off this thread', { timeout: 120_000 }, async () => {
  const bundle = await bundleWorker('bptt-backlog-');
  const dir = bundle.dir;
  const pool = new WorkerPool({ workerPath: bundle.workerPath, size: 2 });
  try {
    const n = 12;
    for (let s = 0; s < n; s++) writeFileSync(join(dir, captureName(s * 10)), makeCaptureBytes({ step: s * 10, seed: s + 3, steps: 64, hidden: 32, batch: 4 }));
    writeFileSync(join(dir, captureName(999)), makeCaptureBytes({ edit: (t) => t.delete('grad_output') }));
    const session = new CapturesSession(dir, (file, signal) => pool.analyzeCapture(file, {}, { signal }));
    // The main thread stays free while the backlog is replayed: timer ticks keep arriving on time.
    let worstLag = 0;
    let last = Date.now();
    const ticker = setInterval(() => {
      const now = Date.now();
      worstLag = Math.max(worstLag, now - last - 10);
      last = now;
    }, 10);
    const started = Date.now();
    for (let s = 0; s < n; s++) session.offer(join(dir, captureName(s * 10)), 'v');
    session.offer(join(dir, captureName(999)), 'v');
    for (let k = 0; k < 6000 && session.pendingCount > 0; k++) await new Promise((r) => setTimeout(r, 20));
    clearInterval(ticker);
    const state = session.state();
    assert.equal(state.captures.length, n);
    assert.equal(state.errors.length, 1);
    assert.match(state.errors[0]!.message, /missing tensor 'grad_output'/);
    console.log(`# backlog of ${n + 1} captures (T = 64, H = 32, 2-layer LSTM): ${Date.now() - started} ms, worst timer lag on the main thread ${worstLag} ms`);
    assert.ok(worstLag < 500, `main thread blocked for ${worstLag} ms`);
    session.dispose();
  } finally {
    await pool.close();
    bundle.remove();
  }
});
