// Runs tree view model and the report store: built from Reports, no vscode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Diagnosis, Report, ReportRun, Verdict } from '../../src/study/types';
import {
  buildStudyItem, buildUnreadSavedItem, describeRun, displaySource, formatNumber, plainLabel, runTooltip, sampleOfSource, studyLabel, verdictIcon, verdictSummary,
} from '../../src/extension/viewModel';
import { ReportStore } from '../../src/extension/store';

function diagnosis(verdict: Verdict, rho: number | null, horizon: number | null): Diagnosis {
  return { verdict, decayPerStep: rho, horizon, evidence: [`ρ = ${rho} per step`, 'p(11)/p(0) = 0.5'], lagProfile: [1, 0.5] };
}

function run(id: string, d: Diagnosis | null, extra: Partial<ReportRun> = {}): ReportRun {
  return {
    schema: 'bptt-lens/run@1',
    id,
    label: `${id}, no clip`,
    config: { cellChoice: 'lstm' },
    timesteps: 12,
    layers: [],
    inputGradNorm: [],
    loss: 0.1,
    globalGradNorm: 1,
    clippedGradNorm: 1,
    nonFinite: null,
    itemized: null,
    diagnosis: d,
    history: { loss: [1, 0.5, 0.0625], preClipNorm: [], postClipNorm: [], clipRate: 0, recorded: [] },
    recommendations: [{ title: 'Use an LSTM with forget bias 1', rationale: 'because', change: { cellChoice: 'lstm', forgetBias: true } }],
    ...extra,
  };
}

function report(runs: ReportRun[], source = 'sample:airline'): Report {
  return {
    schema: 'bptt-lens/report@1',
    study: {
      kind: 'diagnosis', name: 'diagnosis-airline', source, description: 'desc', task: 'predict',
      createdAt: '2026-11-22T10:09:17.000Z', thresholds: { explodeGrowth: 10, vanishEpsilon: 1e-3, rhoDelta: 0.02 },
    },
    runs,
  };
}

test('verdict icons: arrow-down / flame / pass with theme colours', () => {
  assert.deepEqual(verdictIcon('vanishing'), { id: 'arrow-down', color: 'charts.blue' });
  assert.deepEqual(verdictIcon('exploding'), { id: 'flame', color: 'charts.red' });
  assert.deepEqual(verdictIcon('healthy'), { id: 'pass', color: 'charts.green' });
  assert.deepEqual(verdictIcon(null), { id: 'circle-outline' });
});

test('numbers: three significant digits, exponent when tiny or huge, non-finite spelled out', () => {
  assert.equal(formatNumber(0.97781), '0.978');
  assert.equal(formatNumber(12.345), '12.3');
  assert.equal(formatNumber(1.5e-7), '1.50e-7');
  assert.equal(formatNumber(3e12), '3.00e+12');
  assert.equal(formatNumber(0), '0');
  assert.equal(formatNumber(Number.NaN), 'NaN');
  assert.equal(formatNumber(Number.POSITIVE_INFINITY), '∞');
  assert.equal(formatNumber(null), '—');
});

test('run description carries rho and horizon; a null horizon reads as "at least T"', () => {
  assert.equal(describeRun(run('a', diagnosis('vanishing', 0.8123, 7))), 'ρ 0.812 · horizon 7/12');
  assert.equal(describeRun(run('b', diagnosis('healthy', 0.99, null))), 'ρ 0.99 · horizon ≥ 12');
  assert.equal(describeRun(run('c', null)), 'no diagnosis');
  assert.equal(describeRun(run('d', null, { nonFinite: { quantity: 'loss', layer: null, t: null, value: Number.NaN } })), 'non-finite');
});

test('run tooltip lists verdict, evidence, final loss and the first recommendation', () => {
  const lines = runTooltip(run('a', diagnosis('exploding', 1.3, null)));
  assert.equal(lines[0], 'a, no clip: exploding');
  assert.ok(lines.includes('• ρ = 1.3 per step'));
  assert.ok(lines.some((l) => l === 'final loss 0.1 (on the probe batch after training)'), 'the probe-batch loss, not the last minibatch (0.0625)');
  assert.ok(lines.some((l) => l.startsWith('Recommendation: Use an LSTM')));
});

test('study item: label from kind, source and T, verdict summary, runs in report order with icons; saved reports marked', () => {
  const r = report([run('a', diagnosis('vanishing', 0.8, 5)), run('b', diagnosis('healthy', 0.99, null)), run('c', diagnosis('vanishing', 0.7, 3))]);
  const item = buildStudyItem('study-1', r, 'session');
  assert.equal(item.label, `Diagnosis: airline, T = ${r.runs[0]!.timesteps}`);
  assert.ok(item.description.startsWith('2 vanishing, 1 healthy'));
  assert.equal(item.icon.id, 'beaker');
  assert.deepEqual(item.runs?.map((x) => [x.runId, x.icon.id, x.studyKey]), [['a', 'arrow-down', 'study-1'], ['b', 'pass', 'study-1'], ['c', 'arrow-down', 'study-1']]);
  const saved = buildStudyItem('saved:/w/r/report.json', r, 'saved', '/w/r/report.json');
  assert.equal(saved.icon.id, 'save');
  assert.equal(saved.description.split(' · ')[1], 'saved 2026-11-22');
  assert.notEqual(saved.description, item.description, 'a saved report does not look like a live study');
  assert.ok(saved.tooltip.includes('saved in /w/r/report.json'));
  const unread = buildUnreadSavedItem('saved:/w/x/report.json', '/w/x/report.json', '2026-11-22-diagnosis-airline');
  assert.equal(unread.runs, null);
  assert.equal(unread.label, '2026-11-22-diagnosis-airline');
  // A file study names its target column.
  const file = { ...r, study: { ...r.study, source: '/data/daily_weather.csv', task: 'predict the next "temp_c" from the previous 24 rows (zscore-normalised)' } };
  assert.equal(buildStudyItem('k', file, 'session').label, `Diagnosis: daily_weather.csv → temp_c, T = ${r.runs[0]!.timesteps}`);
});

test('verdict summary counts undiagnosed runs too', () => {
  assert.equal(verdictSummary(report([run('a', null), run('b', diagnosis('exploding', 2, null))])), '1 exploding, 1 undiagnosed');
});

test('sources: sample prefix stripped, file paths shortened', () => {
  assert.equal(displaySource('sample:airline'), 'airline');
  assert.equal(displaySource('/home/u/data/sales.csv'), 'sales.csv');
  assert.equal(displaySource('C:\\data\\sales.csv'), 'sales.csv');
  assert.equal(sampleOfSource('sample:copy'), 'copy');
  assert.equal(sampleOfSource('/x/y.csv'), null);
  assert.equal(studyLabel(report([], '/tmp/my data.csv')), 'Diagnosis: my data.csv');
});

test('plain labels: codicon syntax escaped, control characters removed, length capped', () => {
  assert.equal(plainLabel('$(alert) price'), '\\$(alert) price');
  assert.equal(plainLabel('\\$(alert) already'), '\\$(alert) already');
  assert.equal(plainLabel('a\nb\u0000c'), 'a b c');
  assert.equal(plainLabel('<b>bold</b>'), '<b>bold</b>', 'QuickPick renders text, so HTML stays inert text');
  assert.equal(plainLabel('x'.repeat(200)).length, 80);
});

test('store: add makes the study current with its first run selected; select ignores unknown ids', () => {
  const store = new ReportStore();
  const changes: string[] = [];
  store.onChange((c) => changes.push(c));
  const key = store.add(report([run('a', null), run('b', null)]));
  assert.equal(store.current()?.key, key);
  assert.equal(store.selectedRun()?.id, 'a');
  assert.deepEqual(changes, ['studies', 'current']);
  assert.equal(store.select('b'), true);
  assert.equal(store.selectedRun()?.id, 'b');
  assert.equal(store.select('<script>'), false);
  assert.equal(store.selectedRun()?.id, 'b');
  assert.deepEqual(changes, ['studies', 'current', 'selection']);
});

test('store: newest first, a file is added once, capacity drops the oldest', () => {
  const store = new ReportStore(2);
  const k1 = store.add(report([run('a', null)]), '/r/1/report.json');
  const k2 = store.add(report([run('b', null)]));
  assert.deepEqual(store.list().map((s) => s.key), [k2, k1]);
  assert.equal(store.add(report([run('c', null)]), '/r/1/report.json'), k1, 'same file, same entry');
  assert.equal(store.current()?.key, k1);
  const k3 = store.add(report([run('d', null)]));
  assert.deepEqual(store.list().map((s) => s.key), [k3, k2]);
  assert.equal(store.get(k1), undefined);
});

test('store: replace swaps the report, forgets the file and selects the given run', () => {
  const store = new ReportStore();
  const key = store.add(report([run('a', null)]), '/r/report.json');
  store.replace(key, report([run('a', null), run('a-rec1', null)]), 'a-rec1');
  assert.equal(store.selectedRun()?.id, 'a-rec1');
  assert.equal(store.get(key)?.file, undefined);
  store.markSaved(key, '/r2/report.json');
  assert.equal(store.get(key)?.file, '/r2/report.json');
});
