// Compare Gate Choices: the cell list grouped by family with the classic gate choices
// preselected, the window length T, and the mapping of the answers onto the study (the
// extension's picks and the CLI's --study gates --cells LIST build the same runs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { optionsFromFlags } from '../../src/cli/diagnose';
import { CELL_NAMES, cellFamily } from '../../src/engine/cells';
import { DEFAULT_SETTINGS } from '../../src/extension/settings';
import { buildStudySpec } from '../../src/extension/studyRequest';
import { defaultWindowLength, FAMILY_TITLES, gateCellRows, gatePicks, windowLengthProblem } from '../../src/study/gateChoices';
import { DEFAULT_STUDY_OPTIONS, OPTION_LIMITS, studySpec } from '../../src/study/options';
import { loadSample } from '../../src/study/samples';
import { GATE_STUDY_CELLS, planRuns, runStudy, sequentialExecutor, skippedRuns } from '../../src/study/study';

const defaults = { ...DEFAULT_STUDY_OPTIONS, cells: [...DEFAULT_STUDY_OPTIONS.cells], seeds: [], thresholds: { ...DEFAULT_STUDY_OPTIONS.thresholds } };

test('the cell list: every registry cell once, under the separator of its family, classic gate choices preselected', () => {
  const rows = gateCellRows();
  const separators = rows.filter((r) => r.kind === 'separator').map((r) => r.label);
  assert.deepEqual(separators, ['classic', 'gated modern', 'linear recurrences']);
  const cells = rows.flatMap((r) => (r.kind === 'cell' ? [r.cell] : []));
  assert.deepEqual([...cells].sort(), [...CELL_NAMES].sort(), 'every name of the registry is listed once');
  let family = '';
  for (const row of rows) {
    if (row.kind === 'separator') family = row.label;
    else {
      assert.equal(FAMILY_TITLES[cellFamily(row.cell)], family, `${row.cell} sits under its family`);
      assert.ok(row.description.length > 5, `${row.cell} has a description`);
    }
  }
  const picked = rows.flatMap((r) => (r.kind === 'cell' && r.picked ? [r.cell] : []));
  assert.deepEqual(picked, GATE_STUDY_CELLS, 'Enter on the untouched list keeps the classic study');
  assert.ok(cells.includes('lru') && cells.includes('s6') && cells.includes('mingru'));
});

test('window length T: prefilled with the setting or the sample own, checked against OPTION_LIMITS.length', () => {
  assert.equal(defaultWindowLength('adding', 0), 40);
  assert.equal(defaultWindowLength('airline', 0), 12);
  assert.equal(defaultWindowLength('adding', 1000), 1000);
  assert.equal(windowLengthProblem('40'), null);
  assert.equal(windowLengthProblem(' 1000 '), null);
  assert.equal(windowLengthProblem(String(OPTION_LIMITS.length.max)), null);
  for (const bad of ['0', String(OPTION_LIMITS.length.max + 1), '1.5', '-3', 'abc', '', '4e2']) {
    assert.match(windowLengthProblem(bad) ?? '', /whole number of steps from 1 to 10000/, `'${bad}' refused`);
  }
});

test('picks → study: classic and modern cells side by side, forget bias doubled only where it differs, T applied', () => {
  const { picks, length } = gatePicks(['s6', 'lstm', 'rnn-tanh', 'lru', 'gru', 'mingru'], 60);
  assert.deepEqual(picks.cells, ['rnn-tanh', 'lstm', 'gru', 'mingru', 'lru', 's6'], 'registry order');
  const dataset = loadSample('adding', { seed: 1, steps: length, count: 64 });
  const spec = buildStudySpec(dataset, { ...DEFAULT_SETTINGS, length }, { kind: 'gates', ...picks });
  const runs = planRuns(spec);
  assert.deepEqual(runs.map((r) => r.label), ['rnn-tanh', 'lstm', 'lstm +forget bias 1', 'gru', 'mingru', 'lru', 's6']);
  assert.equal(spec.dataset.steps, 60);
  const keys = runs.map((r) => JSON.stringify(r.config));
  assert.equal(new Set(keys).size, keys.length, 'no two runs identical');
  for (const r of runs) if (r.config.cell !== 'lstm') assert.equal(r.config.forgetBias, false, `${r.label}: forget bias is LSTM only`);
  assert.deepEqual(skippedRuns(spec), []);
});

test('picks → study: the modern gated cells with a forget gate of their own are not doubled either', () => {
  const dataset = loadSample('adding', { seed: 1, count: 64 });
  const spec = studySpec('gates', dataset, defaults, gatePicks(['minlstm', 'slstm', 'mlstm', 'lstm-cifg', 'indrnn', 'rglru'], 40).picks);
  const runs = planRuns(spec);
  assert.deepEqual(runs.map((r) => r.label), ['lstm-cifg', 'indrnn', 'minlstm', 'rglru', 'slstm', 'mlstm']);
  assert.equal(new Set(runs.map((r) => JSON.stringify(r.config))).size, runs.length);
  assert.equal(skippedRuns(spec).length, 1, 'lstm-cifg with bias 1 is said to be skipped');
});

test('an empty pick and no pick are today\'s classic study', () => {
  const dataset = loadSample('adding', { seed: 1, count: 64 });
  const today = planRuns(studySpec('gates', dataset, defaults)).map((r) => r.id);
  assert.equal(today.length, 17);
  assert.deepEqual(planRuns(studySpec('gates', dataset, defaults, gatePicks([], 40).picks)).map((r) => r.id), today);
  assert.deepEqual(planRuns(studySpec('gates', dataset, defaults, gatePicks(GATE_STUDY_CELLS, 40).picks)).map((r) => r.id), today);
});

test('CLI: --study gates --cells LIST runs exactly the listed cells (and the classic ones without --cells)', () => {
  const dataset = loadSample('adding', { seed: 1, count: 64 });
  const withCells = optionsFromFlags({ study: 'gates', cells: 'rnn,lstm,mingru,lru,s6' });
  const spec = studySpec(withCells.kind, dataset, withCells.options, { cells: withCells.cells });
  assert.deepEqual(spec.cells, ['rnn-tanh', 'lstm', 'mingru', 'lru', 's6']);
  assert.deepEqual(planRuns(spec).map((r) => r.label), ['rnn-tanh', 'lstm', 'lstm +forget bias 1', 'mingru', 'lru', 's6']);
  const plain = optionsFromFlags({ study: 'gates' });
  assert.deepEqual(studySpec(plain.kind, dataset, plain.options, { cells: plain.cells }).cells, GATE_STUDY_CELLS);
  // The extension's answers for the same cells give the same runs.
  const ext = buildStudySpec(dataset, DEFAULT_SETTINGS, { kind: 'gates', ...gatePicks(['rnn-tanh', 'lstm', 'mingru', 'lru', 's6'], 40).picks });
  assert.deepEqual(planRuns(ext).map((r) => r.config), planRuns(spec).map((r) => r.config));
});

test('gates study: a vanishing LSTM beside a healthy LRU gets "Switch to an LRU", confirmed by the LRU run on screen', async () => {
  const dataset = loadSample('adding', { seed: 1, steps: 20, count: 32 });
  const spec = studySpec('gates', dataset, { ...defaults, iterations: 2, hiddenSize: 4, batchSize: 8 }, gatePicks(['rnn-tanh', 'lstm', 'lru'], 20).picks);
  // Real runs (tiny), with the verdicts and losses of the long-range case set on them.
  const outcome: Record<string, { verdict: 'vanishing' | 'healthy'; loss: number }> = {
    'rnn-tanh': { verdict: 'vanishing', loss: 0.17 }, lstm: { verdict: 'vanishing', loss: 0.17 }, 'lstm +forget bias 1': { verdict: 'vanishing', loss: 0.16 }, lru: { verdict: 'healthy', loss: 0.01 },
  };
  const executor: typeof sequentialExecutor = async (ds, planned, o) => {
    const runs = await sequentialExecutor(ds, planned, o);
    for (const r of runs) {
      const want = outcome[r.label]!;
      r.diagnosis = { ...r.diagnosis!, verdict: want.verdict, horizon: want.verdict === 'vanishing' ? 8 : null, decayPerStep: want.verdict === 'vanishing' ? 0.5 : 0.99 };
      r.loss = want.loss;
    }
    return runs;
  };
  const report = await runStudy(spec, { executor });
  const lstm = report.runs.find((r) => r.label === 'lstm')!;
  const top = lstm.recommendations[0]!;
  assert.equal(top.title, 'Switch to an LRU (linear recurrence)');
  assert.equal(top.check?.runId, report.runs.find((r) => r.label === 'lru')!.id);
  assert.equal(top.check?.outcome, 'confirmed');
  assert.equal(report.runs.length, 4, 'the check reuses the run on screen: no training added');
  const lru = report.runs.find((r) => r.label === 'lru')!;
  assert.ok(!lru.recommendations.some((r) => r.change.init !== undefined || r.change.spectralRadius !== undefined));
});
