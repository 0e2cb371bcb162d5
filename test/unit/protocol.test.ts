import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MAX_ID_LENGTH, MAX_NAME_LENGTH, WEBVIEW_COMMANDS, validateWebviewMessage } from '../../src/protocol';

test('accepts every well-formed webview message and returns a copy', () => {
  const good = [
    { type: 'ready' },
    { type: 'selectRun', runId: 'run-1' },
    { type: 'saveReport' },
    { type: 'runCommand', command: 'bpttLens.runDiagnosis' },
    { type: 'applyRecommendation', runId: 'lstm', index: 0 },
    { type: 'openHeatmap', runId: 'lstm', kind: 'timestepIteration', quantity: 'gradNormC' },
    { type: 'openHeatmap', runId: 'lstm', kind: 'itemized', quantity: '' },
    { type: 'perf', name: 'heatmap', ms: 12.5 },
  ];
  for (const m of good) {
    const out = validateWebviewMessage(m);
    assert.deepEqual(out, m);
    assert.notEqual(out, m, 'the validator must return a fresh object');
  }
  for (const command of WEBVIEW_COMMANDS) assert.ok(validateWebviewMessage({ type: 'runCommand', command }));
});

test('rejects non-objects, arrays, unknown types and class instances', () => {
  const bad: unknown[] = [
    null, undefined, 0, 'ready', true, [], [{ type: 'ready' }], () => ({ type: 'ready' }),
    {}, { type: 'Ready' }, { type: 'unknown' }, { type: '__proto__' }, { type: 'toString' }, { type: 'constructor' },
    { type: 7 }, { type: null }, new Date(), new (class { type = 'ready'; })(), Object.create({ type: 'ready' }),
  ];
  for (const v of bad) assert.equal(validateWebviewMessage(v), null, `accepted ${String(v)}`);
});

test('rejects missing, extra, mistyped and out-of-range fields', () => {
  const bad: unknown[] = [
    { type: 'ready', extra: 1 },
    { type: 'saveReport', path: '/etc/passwd' },
    { type: 'selectRun' },
    { type: 'selectRun', runId: '' },
    { type: 'selectRun', runId: 5 },
    { type: 'selectRun', runId: 'x'.repeat(MAX_ID_LENGTH + 1) },
    { type: 'selectRun', runId: 'a', other: 'b' },
    { type: 'runCommand', command: 'workbench.action.terminal.new' },
    { type: 'runCommand', command: 'bpttLens.internal.lastRunStats' },
    { type: 'runCommand', command: ['bpttLens.runDiagnosis'] },
    { type: 'runCommand', command: 'bpttLens.runDiagnosis', args: ['x'] },
    { type: 'applyRecommendation', runId: 'r', index: -1 },
    { type: 'openHeatmap', runId: 'r', kind: 'everything', quantity: '' },
    { type: 'openHeatmap', runId: 'r', kind: 'itemized', quantity: 'loss' },
    { type: 'openHeatmap', runId: 'r', kind: 'itemized' },
    { type: 'applyRecommendation', runId: 'r', index: 1.5 },
    { type: 'applyRecommendation', runId: 'r', index: '0' },
    { type: 'applyRecommendation', runId: 'r', index: Number.NaN },
    { type: 'applyRecommendation', runId: 'r', index: 1e9 },
    { type: 'applyRecommendation', index: 0 },
    { type: 'perf', name: 'x', ms: Number.POSITIVE_INFINITY },
    { type: 'perf', name: 'x', ms: -1 },
    { type: 'perf', name: 'x', ms: '3' },
    { type: 'perf', name: '', ms: 3 },
    { type: 'perf', name: 'a\nfake log line', ms: 3 },
    { type: 'perf', name: 'x'.repeat(MAX_NAME_LENGTH + 1), ms: 3 },
  ];
  for (const v of bad) assert.equal(validateWebviewMessage(v), null, `accepted ${JSON.stringify(v)}`);
});

test('hostile objects: getters, symbols, throwing proxies, polluted prototypes', () => {
  let calls = 0;
  const getter = { type: 'selectRun', get runId() { calls++; return 'r'; } };
  assert.equal(validateWebviewMessage(getter), null);
  assert.equal(calls, 0, 'getters must not be invoked');
  const typeGetter = Object.defineProperty({}, 'type', { get: () => 'ready', enumerable: true });
  assert.equal(validateWebviewMessage(typeGetter), null);
  assert.equal(validateWebviewMessage({ type: 'ready', [Symbol('x')]: 1 }), null);
  const throwing = new Proxy({}, { ownKeys() { throw new Error('boom'); }, getPrototypeOf() { return Object.prototype; }, getOwnPropertyDescriptor() { throw new Error('boom'); } });
  assert.equal(validateWebviewMessage(throwing), null);
  const polluted = JSON.parse('{"type":"selectRun","runId":"r","__proto__":{"admin":true}}');
  assert.equal(validateWebviewMessage(polluted), null);
  const nullProto = Object.assign(Object.create(null), { type: 'ready' });
  assert.deepEqual({ ...validateWebviewMessage(nullProto) }, { type: 'ready' });
});

test('property: arbitrary JSON values never throw and only valid shapes pass', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (v) => {
      const out = validateWebviewMessage(v);
      if (out !== null) assert.ok(['ready', 'selectRun', 'saveReport', 'runCommand', 'applyRecommendation', 'perf'].includes(out.type));
    }),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.string(), fc.anything(), (runId, junk) => {
      const out = validateWebviewMessage({ type: 'selectRun', runId, junk });
      assert.equal(out, null);
    }),
    { numRuns: 500 },
  );
});
