// Host logic that needs no VS Code: settings -> StudySpec, save-path choice, the webview
// shell and its CSP, target-column discovery, saved-report discovery, the stall probe.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DEFAULT_SETTINGS, readSettings, type LensSettings } from '../../src/extension/settings';
import { applyRecommendation, buildStudySpec, clipChoices, RERUN_LIMITS, rerunConfigProblem, sampleChoices } from '../../src/extension/studyRequest';
import { chooseSaveTarget, reportName, resolveReportDir } from '../../src/extension/reportPaths';
import { contentSecurityPolicy, escapeHtml, makeNonce, renderShell } from '../../src/extension/webviewHtml';
import { listTargetColumns } from '../../src/io/columns';
import { findSavedReports } from '../../src/extension/reportFiles';
import { readReportFile } from '../../src/io/report/read';
import { startStallProbe } from '../../src/extension/stallProbe';
import { loadSample } from '../../src/study/samples';
import { planRuns } from '../../src/study/study';
import { InputError } from '../../src/io/errors';

const settingsFrom = (values: Record<string, unknown>): LensSettings => readSettings((k) => values[k]).settings;

test('settings: unset values take the defaults; bad values are refused with a warning', () => {
  assert.deepEqual(readSettings(() => undefined), { settings: DEFAULT_SETTINGS, warnings: [] });
  const { settings, warnings } = readSettings(
    (k) => ({ hiddenSize: -3, iterations: 1.5, learningRate: Number.NaN, cells: ['lstm', 'bogus'], clipThresholds: [1, 0.5, 1], seed: 7, reportFolder: '  out  ', 'diagnosis.vanishEpsilon': 2 })[k],
  );
  assert.equal(settings.hiddenSize, DEFAULT_SETTINGS.hiddenSize);
  assert.equal(settings.iterations, DEFAULT_SETTINGS.iterations);
  assert.equal(settings.learningRate, DEFAULT_SETTINGS.learningRate);
  assert.deepEqual(settings.cells, DEFAULT_SETTINGS.cells);
  assert.deepEqual(settings.clipThresholds, [0.5, 1], 'sorted, deduplicated');
  assert.equal(settings.seed, 7);
  assert.equal(settings.reportFolder, 'out');
  assert.equal(settings.thresholds.vanishEpsilon, DEFAULT_SETTINGS.thresholds.vanishEpsilon);
  assert.equal(warnings.length, 5);
  assert.match(warnings[0]!, /bpttLens\.hiddenSize = -3/);
});

test('Run Diagnosis defaults: adding first, the settings cells, no clipping, recommendations checked', () => {
  assert.equal(sampleChoices('diagnosis')[0]!.name, 'adding');
  assert.equal(sampleChoices('gates')[0]!.name, 'adding');
  assert.equal(sampleChoices('clipping')[0]!.name, 'airline');
  const dataset = loadSample('airline', { seed: 1 });
  const spec = buildStudySpec(dataset, DEFAULT_SETTINGS, { kind: 'diagnosis' });
  assert.equal(spec.kind, 'diagnosis');
  assert.deepEqual(spec.cells, ['rnn-tanh', 'lstm', 'gru']);
  assert.deepEqual(spec.clips, [{ kind: 'none' }]);
  assert.equal(spec.checkRecommendations, true);
  assert.deepEqual(spec.seeds, [1]);
  assert.deepEqual(spec.thresholds, DEFAULT_SETTINGS.thresholds);
  // 0 in the settings keeps the sample's own defaults.
  assert.equal(spec.base.hiddenSize, 16);
  assert.equal(spec.base.iterations, 150);
  assert.deepEqual(planRuns(spec).map((p) => p.config.cellChoice), ['rnn-tanh', 'lstm', 'gru']);
});

test('settings override the sample defaults; picks override the settings cells', () => {
  const dataset = loadSample('airline', { seed: 1 });
  const settings = settingsFrom({ hiddenSize: 8, iterations: 20, learningRate: 0.1, seed: 9, cells: ['gru'] });
  const spec = buildStudySpec(dataset, settings, { kind: 'diagnosis', cells: ['lstm-cifg', 'lstm-cifg', 'rnn-relu'] });
  assert.deepEqual(spec.cells, ['lstm-cifg', 'rnn-relu']);
  assert.equal(spec.base.hiddenSize, 8);
  assert.equal(spec.base.iterations, 20);
  assert.equal(spec.base.learningRate, 0.1);
  assert.equal(spec.base.seed, 9);
  assert.deepEqual(buildStudySpec(dataset, settings, { kind: 'diagnosis' }).cells, ['gru']);
});

test('Compare Clipping: none + every norm threshold + by value, on one cell', () => {
  const settings = settingsFrom({ clipThresholds: [0.5, 2], clipValue: 0.05 });
  assert.deepEqual(clipChoices(settings).map((c) => c.clip), [
    { kind: 'none' }, { kind: 'norm', threshold: 0.5 }, { kind: 'norm', threshold: 2 }, { kind: 'value', threshold: 0.05 },
  ]);
  assert.equal(clipChoices(settingsFrom({ clipValue: 0 })).some((c) => c.clip.kind === 'value'), false);
  const spec = buildStudySpec(loadSample('airline', { seed: 1 }), settings, { kind: 'clipping' });
  assert.equal(spec.cells?.length, 1);
  assert.equal(planRuns(spec).length, 4);
  const picked = buildStudySpec(loadSample('airline', { seed: 1 }), settings, { kind: 'clipping', clips: [{ kind: 'none' }, { kind: 'norm', threshold: 1 }] });
  assert.equal(planRuns(picked).length, 2);
});

test('Compare Gates: every cell, LSTM family with and without forget bias', () => {
  const spec = buildStudySpec(loadSample('airline', { seed: 1 }), DEFAULT_SETTINGS, { kind: 'gates' });
  const planned = planRuns(spec);
  const labels = planned.map((p) => p.config.cellChoice + (p.config.forgetBias ? '+fb' : ''));
  for (const want of ['rnn-tanh', 'rnn-relu', 'gru', 'lstm', 'lstm+fb', 'lstm-cifg', 'lstm-nfg', 'lstm-noaf+fb']) assert.ok(labels.includes(want), want);
  for (const never of ['gru+fb', 'lstm-cifg+fb', 'lstm-nfg+fb']) assert.equal(labels.includes(never), false, never);
});

test('applying a recommendation: the change wins, cell fields follow the cell choice', () => {
  const dataset = loadSample('airline', { seed: 1 });
  const spec = buildStudySpec(dataset, DEFAULT_SETTINGS, { kind: 'diagnosis', cells: ['rnn-tanh'] });
  const config = applyRecommendation(spec.base, { cellChoice: 'lstm', forgetBias: true }, dataset, DEFAULT_SETTINGS);
  assert.equal(config.cell, 'lstm');
  assert.equal(config.variant, 'vanilla');
  assert.equal(config.forgetBias, true);
  assert.equal(config.iterations, spec.base.iterations);
  const gru = applyRecommendation({ ...spec.base, forgetBias: true }, { cellChoice: 'gru' }, dataset, DEFAULT_SETTINGS);
  assert.equal(gru.cell, 'gru');
  assert.equal(gru.forgetBias, false, 'forget bias is an LSTM setting');
  const clip = applyRecommendation(spec.base, { clip: { kind: 'norm', threshold: 0.7 } }, dataset, DEFAULT_SETTINGS);
  assert.deepEqual(clip.clip, { kind: 'norm', threshold: 0.7 });
  assert.equal(clip.cell, 'rnn');
});

test('re-run configs: what studies produce passes; a saved report asking for huge or unknown settings is refused by name', () => {
  const dataset = loadSample('airline', { seed: 1 });
  for (const kind of ['diagnosis', 'clipping', 'gates'] as const) {
    for (const run of planRuns(buildStudySpec(dataset, DEFAULT_SETTINGS, { kind }))) {
      assert.equal(rerunConfigProblem(run.config), null, `${kind} ${run.config.cellChoice}`);
    }
  }
  const base = buildStudySpec(dataset, settingsFrom({ hiddenSize: 256, iterations: 100_000 }), { kind: 'diagnosis' }).base;
  assert.equal(rerunConfigProblem(base), null, 'the largest settings pass');
  assert.equal(rerunConfigProblem(applyRecommendation(base, { truncation: { k1: 4, k2: 8 }, spectralRadius: 1, init: 'orthogonal' }, dataset, DEFAULT_SETTINGS)), null);
  // What a tampered report.json could ask for: each is named in the refusal.
  const bad: [Record<string, unknown>, string][] = [
    [{ hiddenSize: RERUN_LIMITS.hiddenSize + 1 }, 'hiddenSize'],
    [{ hiddenSize: 1e9 }, 'hiddenSize'],
    [{ numLayers: 100 }, 'numLayers'],
    [{ iterations: 1e12 }, 'iterations'],
    [{ iterations: 2.5 }, 'iterations'],
    [{ batchSize: 0 }, 'batchSize'],
    [{ batchSize: 1e7 }, 'batchSize'],
    [{ seed: -1 }, 'seed'],
    [{ cellChoice: 'lstm; rm -rf' }, 'cellChoice'],
    [{ learningRate: Number.NaN }, 'learningRate'],
    [{ learningRate: '0.1' }, 'learningRate'],
    [{ init: 'zeros' }, 'init'],
    [{ optimizer: 'lbfgs' }, 'optimizer'],
    [{ bidirectional: 'yes' }, 'bidirectional'],
    [{ forgetBias: 1 }, 'forgetBias'],
    [{ spectralRadius: 1e6 }, 'spectralRadius'],
    [{ clip: { kind: 'norm', threshold: -1 } }, 'clip'],
    [{ clip: { kind: 'scale', threshold: 1 } }, 'clip'],
    [{ clip: null }, 'clip'],
    [{ truncation: { k1: 8, k2: 4 } }, 'truncation'],
    [{ truncation: { k1: 0, k2: 4 } }, 'truncation'],
  ];
  for (const [change, field] of bad) {
    const problem = rerunConfigProblem({ ...base, ...change } as never);
    assert.ok(problem?.startsWith(`${field} = `), `${JSON.stringify(change)} -> ${problem}`);
  }
});

test('save target: one folder saves without asking; several ask unless the editor hints; none opens a dialog', () => {
  const w1 = path.resolve('/ws/one');
  const w2 = path.resolve('/ws/two');
  assert.deepEqual(chooseSaveTarget([w1], 'bptt-reports'), { kind: 'dir', parentDir: path.join(w1, 'bptt-reports') });
  assert.deepEqual(chooseSaveTarget([], 'bptt-reports'), { kind: 'ask' });
  const pick = chooseSaveTarget([w1, w2], 'bptt-reports');
  assert.equal(pick.kind, 'pick');
  assert.deepEqual(chooseSaveTarget([w1, w2], 'bptt-reports', w2), { kind: 'dir', parentDir: path.join(w2, 'bptt-reports') });
  const abs = path.resolve('/reports');
  assert.deepEqual(chooseSaveTarget([w1, w2], abs), { kind: 'dir', parentDir: abs });
  // A relative setting may not climb out of the workspace folder.
  assert.equal(resolveReportDir(w1, '../elsewhere'), null);
  assert.equal(resolveReportDir(w1, 'a/../../b'), null);
  assert.equal(resolveReportDir(w1, 'reports/../bptt'), path.join(w1, 'bptt'));
  assert.deepEqual(chooseSaveTarget([w1], '../x'), { kind: 'ask' });
});

test('report names are short slugs of kind and source', () => {
  assert.equal(reportName('diagnosis', 'sample:airline'), 'diagnosis-airline');
  assert.equal(reportName('clipping', '/home/u/My Data (v2).csv'), 'clipping-my-data-v2');
  assert.equal(reportName('gates', '../../etc/passwd'), 'gates-passwd');
});

test('webview shell: strict CSP with a fresh nonce, no inline styles or unsafe-inline, escaped attributes', () => {
  const nonce = makeNonce();
  assert.match(nonce, /^[A-Za-z0-9+/]{20,}$/);
  assert.notEqual(makeNonce(), nonce);
  const csp = contentSecurityPolicy('https://x.vscode-cdn.net', 'abc');
  assert.equal(csp, "default-src 'none'; img-src https://x.vscode-cdn.net data:; style-src https://x.vscode-cdn.net; script-src 'nonce-abc'; font-src https://x.vscode-cdn.net; base-uri 'none'; form-action 'none'");
  const html = renderShell({ view: 'report', title: 'T "<x>"', cspSource: 'https://x.vscode-cdn.net', scriptUri: 'https://x/dist/webview.js', styleUri: 'https://x/media/webview.css', nonce: 'abc' });
  assert.match(html, /<body data-view="report">/);
  assert.match(html, /<script nonce="abc" src="https:\/\/x\/dist\/webview.js"><\/script>/);
  assert.match(html, /<link rel="stylesheet" href="https:\/\/x\/media\/webview.css">/);
  assert.equal((html.match(/<script/g) ?? []).length, 1, 'one script, the bundle');
  assert.doesNotMatch(html, /unsafe-inline|unsafe-eval|style="/);
  assert.match(html, /<title>T &quot;&lt;x&gt;&quot;<\/title>/);
  assert.equal(escapeHtml(`<img src=x onerror='a'>&`), '&lt;img src=x onerror=&#39;a&#39;&gt;&amp;');
  assert.match(renderShell({ view: 'heatmaps', title: 'H', cspSource: 's', scriptUri: 'a', styleUri: 'b' }), /data-view="heatmaps"/);
});

test('target columns: numeric columns of a CSV in file order; dates, text files and bad files give none', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bptt-f-cols-'));
  try {
    const csv = path.join(dir, 'sales.csv');
    writeFileSync(csv, 'Month,price $(alert),units\n1949-01,1.5,3\n1949-02,1.7,4\n1949-03,1.9,5\n');
    assert.deepEqual(await listTargetColumns(csv), [{ name: 'price $(alert)', position: 2 }, { name: 'units', position: 3 }]);
    const tsv = path.join(dir, 'one.tsv');
    writeFileSync(tsv, 'a\tb\n1\t2\n3\t4\n');
    assert.deepEqual((await listTargetColumns(tsv)).map((c) => c.name), ['a', 'b']);
    const txt = path.join(dir, 'book.txt');
    writeFileSync(txt, 'hello world');
    assert.deepEqual(await listTargetColumns(txt), []);
    const bad = path.join(dir, 'bad.csv');
    writeFileSync(bad, 'a,b\n1,2\n3\n"unterminated');
    assert.deepEqual(await listTargetColumns(bad), []);
    assert.deepEqual(await listTargetColumns(path.join(dir, 'missing.csv')), []);
    const json = path.join(dir, 'rows.json');
    writeFileSync(json, JSON.stringify([{ t: 1, v: 2 }, { t: 2, v: 3 }]));
    assert.deepEqual((await listTargetColumns(json)).map((c) => c.name), ['t', 'v']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('saved reports: report folders found newest first; temp folders and strays ignored; bad JSON is an InputError with a line', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bptt-f-saved-'));
  try {
    for (const name of ['2026-11-20-diagnosis-airline', '2026-11-22-gates-airline', '.tmp-2026-11-22-x-abc', 'no-report']) mkdirSync(path.join(dir, name));
    writeFileSync(path.join(dir, '2026-11-20-diagnosis-airline', 'report.json'), '{\n  "schema": "bptt-lens/report@1",\n  "study": oops\n}');
    writeFileSync(path.join(dir, '2026-11-22-gates-airline', 'report.json'), '{}');
    writeFileSync(path.join(dir, '.tmp-2026-11-22-x-abc', 'report.json'), '{}');
    writeFileSync(path.join(dir, 'stray.json'), '{}');
    const found = await findSavedReports([dir, path.join(dir, 'absent')]);
    assert.deepEqual(found.map((f) => path.basename(path.dirname(f))), ['2026-11-22-gates-airline', '2026-11-20-diagnosis-airline']);
    await assert.rejects(readReportFile(found[1]!), (e: unknown) => e instanceof InputError && e.line === 3 && e.file === found[1]);
    await assert.rejects(readReportFile(found[0]!), (e: unknown) => e instanceof InputError);
    await assert.rejects(readReportFile(path.join(dir, 'nope.json')), (e: unknown) => e instanceof InputError && /cannot read/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('stall probe: a 150 ms block on the main thread is measured as delay and as busy time; waiting is not busy', async () => {
  const idle = startStallProbe('idle');
  await new Promise((r) => setTimeout(r, 200));
  assert.ok(idle.stop('done').maxBusyMs < 100, 'waiting on a timer is not main-thread work');
  const probe = startStallProbe('busy');
  await new Promise((r) => setTimeout(r, 30));
  const t = Date.now();
  while (Date.now() - t < 150);
  await new Promise((r) => setTimeout(r, 30));
  const stats = probe.stop('done');
  assert.ok(stats.maxStallMs >= 140, `measured ${stats.maxStallMs} ms`);
  assert.ok(stats.maxBusyMs >= 140 && stats.maxBusyMs < stats.runMs, `busy ${stats.maxBusyMs} ms`);
  assert.ok(stats.runMs >= 200);
  assert.equal(probe.stop('again'), stats, 'stop is idempotent');
});
