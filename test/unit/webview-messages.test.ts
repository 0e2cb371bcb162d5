import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkHostMessage, isHostMessageType } from '../../webview/messages';
import { fixtureReport } from '../../webview/fixture';
import { restoreState, DEFAULT_STATE } from '../../webview/uiState';

/** What the webview receives: JSON, so NaN/Infinity are null. */
const json = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const report = () => json(fixtureReport(20, 200, 10));

test('a well-formed report message (with nulls for non-finite values) is accepted', () => {
  const r = report();
  assert.ok(r.runs[3]!.history.loss.includes(null as unknown as number), 'fixture carries nulls');
  const c = checkHostMessage({ type: 'report', report: r, selectedRunId: 'lstm' });
  assert.equal(c.ok, true);
});

test('every host message kind is accepted in its documented shape', () => {
  const r = report();
  for (const m of [
    { type: 'run', run: r.runs[0], study: r.study },
    { type: 'select', runId: 'x' },
    { type: 'busy', label: 'Training 3/12', fraction: 0.25 },
    { type: 'busy', label: 'Starting', fraction: null },
    { type: 'error', message: 'bad file' },
    { type: 'clear' },
    { type: 'idle' },
  ]) {
    assert.equal(checkHostMessage(m).ok, true, JSON.stringify(m).slice(0, 80));
  }
});

function rejects(mutate: (r: ReturnType<typeof report>) => void, path: string): void {
  const r = report();
  mutate(r);
  const c = checkHostMessage({ type: 'report', report: r });
  assert.equal(c.ok, false);
  if (!c.ok) assert.ok(c.error.startsWith(path), `error "${c.error}" should start with "${path}"`);
}

test('malformed reports are refused with the path of the bad field', () => {
  rejects((r) => ((r as { schema: string }).schema = 'bptt-lens/report@9'), 'report.schema');
  rejects((r) => ((r.runs[1]!.history as { loss: unknown }).loss = 'oops'), 'report.runs[1].history.loss');
  rejects((r) => ((r.runs[0]!.layers[0]!.gradNormH as unknown[])[3] = '1e3'), 'report.runs[0].layers[0].gradNormH[3]');
  rejects((r) => ((r.runs[2]!.diagnosis as { verdict: string }).verdict = 'fine'), 'report.runs[2].diagnosis.verdict');
  rejects((r) => ((r.runs[0]!.diagnosis!.evidence as unknown[])[0] = { html: '<b>' }), 'report.runs[0].diagnosis.evidence[0]');
  rejects((r) => ((r.runs[0] as { label: unknown }).label = 42), 'report.runs[0].label');
  rejects((r) => ((r.runs[3]!.recommendations[0] as { title: unknown }).title = null), 'report.runs[3].recommendations[0].title');
  rejects((r) => ((r.runs[0]!.config as { clip: unknown }).clip = { kind: 'sometimes' }), 'report.runs[0].config.clip.kind');
  rejects((r) => ((r.runs[0]!.history.recorded[0] as { layers: unknown }).layers = {}), 'report.runs[0].history.recorded[0].layers');
  rejects((r) => ((r.runs[0]!.layers[0] as { direction: string }).direction = 'sideways'), 'report.runs[0].layers[0].direction');
  rejects((r) => ((r.runs[3]!.itemized as unknown[])[2] = 7), 'report.runs[3].itemized[2]');
  rejects((r) => ((r as { runs: unknown }).runs = { length: 1 }), 'report.runs');
});

test('unknown or non-object messages are refused, never thrown on', () => {
  for (const m of [null, undefined, 3, 'report', [], { type: 'eval', code: '1' }, { type: 'busy', label: 'x', fraction: '50%' }, { type: 'error' }]) {
    assert.equal(checkHostMessage(m).ok, false, String(JSON.stringify(m)));
  }
  const hostile = { type: 'report', get report(): never { throw new Error('boom'); } };
  assert.equal(checkHostMessage(hostile).ok, false);
});

test('oversized series are refused (a hostile report.json must not freeze the page)', () => {
  rejects((r) => ((r.runs[0]!.history as { loss: unknown }).loss = new Array(1_000_001).fill(1)), 'report.runs[0].history.loss');
});

test('the checker never throws on arbitrary JSON (property)', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (v) => {
      const c = checkHostMessage(v);
      return typeof c.ok === 'boolean';
    }),
  );
  fc.assert(
    fc.property(fc.jsonValue(), (v) => typeof checkHostMessage({ type: 'report', report: v }).ok === 'boolean'),
  );
});

test('restoreState keeps valid fields and drops garbage', () => {
  assert.deepEqual(restoreState(null), DEFAULT_STATE);
  assert.deepEqual(restoreState('x'), DEFAULT_STATE);
  const good = { selectedRunId: 'lstm', metric: 'absolute', lossLog: false, lossSmooth: true, scrollY: 120, heatmapKind: 'itemized', heatmapQuantity: 'gradNormC', cursor: { row: 3, col: 4 } };
  assert.deepEqual(restoreState(good), good);
  const g = restoreState({ selectedRunId: 5, metric: 'eval', lossLog: 'yes', lossSmooth: 1, scrollY: -1, heatmapKind: 'x', heatmapQuantity: 'loss', cursor: { row: -1, col: 2 } });
  assert.deepEqual(g, DEFAULT_STATE);
});

test('isHostMessageType tells our messages from other traffic', () => {
  assert.equal(isHostMessageType({ type: 'report' }), true);
  assert.equal(isHostMessageType({ type: 'idle' }), true);
  for (const v of [null, 'report', { type: 'vscode:focus' }, { kind: 'report' }, [], 7]) assert.equal(isHostMessageType(v), false);
  assert.equal(isHostMessageType({ get type(): never { throw new Error('x'); } }), false);
});
