import { lossText } from '../../src/study/format';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LayerRecord } from '../../src/engine/types';
import type { ReportRun } from '../../src/study/types';
import { bigRun, fixtureReport } from '../../webview/fixture';
import { topLayerOf } from '../../src/io/report/throughTime';
import {
  availableHeatmaps, availableQuantities, cardModel, horizonHeading, profileSeriesAtInit, summaryRows, MAX_HEATMAP_CELLS, describeChange, EMPTY, fmtNum, heatmapMatrix, normClipThreshold, profileSeries, seriesSummary,
} from '../../webview/viewModel';

const json = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const runs = () => json(fixtureReport(30, 200, 10)).runs;

function layer(l: number, direction: 'forward' | 'reverse', h: number[]): LayerRecord {
  return { layer: l, direction, gradNormH: h, gradNormC: null, gateGradNorm: {}, gateMean: {}, gateSaturation: {}, weightGradByStep: h, jacobianNorm: null };
}

test('topLayer is the highest forward layer, whatever the order', () => {
  const ls = [layer(1, 'reverse', [9]), layer(0, 'forward', [1]), layer(1, 'forward', [2]), layer(0, 'reverse', [3])];
  assert.deepEqual(topLayerOf(ls)!.gradNormH, [2]);
  assert.equal(topLayerOf([]), null);
});

test('verdict card: facts from the diagnosis and history, last finite loss, notes for non-finite', () => {
  const [vanishing, , , exploding] = runs();
  const c = cardModel(vanishing!);
  assert.equal(c.verdict, 'vanishing');
  const fact = (name: string) => c.facts.find((f) => f.name.startsWith(name))?.value;
  assert.equal(fact('ρ'), '0.8');
  assert.equal(fact('horizon'), '31 steps');
  assert.equal(fact('clipping'), 'no clipping');
  assert.deepEqual(c.evidence, vanishing!.diagnosis!.evidence);
  assert.equal(c.recommendations.length, 2);
  assert.match(c.recommendations[1]!.check!, /^Checked by re-running \(rnn-tanh-orth\): verdict vanishing → vanishing, final loss 0\.\d+ → 0\.081\.$/);
  assert.equal(c.recommendations[0]!.check, null);
  assert.equal(c.recommendations[0]!.change, 'Switch to an LSTM with forget-gate bias 1');

  const e = cardModel(exploding!);
  const loss = exploding!.history.loss;
  // The final loss is the probe-batch loss after training (the run record's loss), not the last minibatch's.
  assert.ok((loss as (number | null)[]).some((v) => v !== null));
  assert.equal(e.facts.find((f) => f.name === 'final loss')!.value, lossText(exploding!.loss));
  assert.ok(e.notes.some((n) => n.includes('Non-finite loss')));
  assert.ok(e.notes.some((n) => n.includes('stopped at iteration 150')));
  assert.equal(e.facts.find((f) => f.name === 'clipping')!.value, 'value ≤ 5');
});

test('a check with ρ and horizon reads before → after', () => {
  const [r] = runs();
  r!.recommendations[0]!.check = { runId: 'chk', verdict: 'healthy', finalLoss: 0.05, decayPerStep: 0.99, horizon: null };
  const c = cardModel(r!);
  assert.match(c.recommendations[0]!.check!, /verdict vanishing → healthy, ρ 0\.8 → 0\.99, horizon 31 → ≥ 30, final loss .* → 0\.05\.$/);
});

test('a recommendation names the run that re-ran it (the card offers to show it instead of training again)', () => {
  const [r] = runs();
  r!.recommendations[0]!.check = { runId: 'chk', verdict: 'healthy', finalLoss: 0.05 };
  r!.recommendations[1]!.check = null;
  const c = cardModel(r!);
  assert.equal(c.recommendations[0]!.checkRunId, 'chk');
  assert.equal(c.recommendations[1]!.checkRunId, null);
});

test('summary rows: one per run, check runs flagged', () => {
  const rs = runs();
  rs[0]!.recommendations[1]!.check!.runId = 'gru';
  const rows = summaryRows(rs);
  assert.deepEqual(rows.map((r) => r.verdict), ['vanishing', 'healthy', 'healthy', 'exploding']);
  assert.deepEqual(rows.map((r) => r.isCheck), [false, false, true, false]);
  assert.equal(rows[0]!.horizon, '31');
  assert.equal(rows[1]!.horizon, '≥ 30');
  assert.equal(rows[0]!.rho, '0.8');
});

test('the horizon fact names the study\'s ε (a setting), not a fixed 1e-3', () => {
  const [vanishing] = runs();
  const name = (eps?: number) => cardModel(vanishing!, eps).facts.find((f) => f.value === '31 steps')!.name;
  assert.match(name(1e-4), /^horizon \(ε = 1(\.0+)?e-4\)$/);
  assert.match(name(0.01), /^horizon \(ε = 0\.01\)$/);
  assert.equal(name(), 'horizon');
  assert.equal(horizonHeading(1e-3), 'horizon (ε = 0.001)', 'the summary table heads its column the same way');
  assert.equal(horizonHeading(undefined), 'horizon');
});

test('horizon null reads as "whole sequence", missing diagnosis as not diagnosed', () => {
  const [, healthy] = runs();
  assert.equal(cardModel(healthy!).facts.find((f) => f.name.startsWith('horizon'))!.value, '≥ 30 (whole sequence)');
  const bare = { ...healthy!, diagnosis: null } as ReportRun;
  const c = cardModel(bare);
  assert.equal(c.verdict, null);
  assert.equal(c.facts[0]!.value, '—');
  assert.equal(c.facts[1]!.value, '—');
});

test('describeChange and fmtNum', () => {
  assert.equal(describeChange({ clip: { kind: 'norm', threshold: 1.2 } }), 'clip: norm 1.2');
  assert.equal(describeChange({ learningRate: 0.0003, spectralRadius: null }), 'learningRate: 3.00e-4, spectralRadius: none');
  assert.equal(fmtNum(null), 'non-finite');
  assert.equal(fmtNum(undefined), '—');
  assert.equal(fmtNum(123456), '1.23e5');
  assert.equal(fmtNum(0.5), '0.5');
});

test('norm threshold only for norm clipping', () => {
  const [none, normClip, , valueClip] = runs();
  assert.equal(normClipThreshold(none!), null);
  assert.equal(normClipThreshold(normClip!), 1);
  assert.equal(normClipThreshold(valueClip!), null);
});

test('profileSeries: absolute is the top layer by timestep, normalised is p(T-1-t)/p(0)', () => {
  const [r] = runs();
  assert.deepEqual(profileSeries(r!, 'absolute'), topLayerOf(r!.layers)!.gradNormH);
  const p = r!.diagnosis!.lagProfile;
  const n = profileSeries(r!, 'normalised')!;
  assert.equal(n.length, p.length);
  assert.equal(n[n.length - 1], 1, 'the scored step (right end) is p(0)/p(0)');
  p.forEach((v, k) => assert.equal(n[p.length - 1 - k], v / p[0]!));
  assert.equal(profileSeries(r!, 'gradNormC'), null, 'RNN has no cell state');
});

test('profileSeriesAtInit reads recorded iteration 0, or nothing when it was not recorded', () => {
  const [r] = runs();
  const p0 = r!.initialDiagnosis?.lagProfile ?? r!.history.recorded[0]!.lagProfile;
  assert.deepEqual(profileSeriesAtInit(r!, 'normalised'), [...p0].reverse().map((v) => v / p0[0]!));
  assert.deepEqual(profileSeriesAtInit(r!, 'absolute'), topLayerOf(r!.history.recorded[0]!.layers)!.gradNormH);
  const late = { ...r!, initialDiagnosis: null, history: { ...r!.history, recorded: r!.history.recorded.slice(1) } };
  assert.equal(profileSeriesAtInit(late, 'normalised'), null);
});

test('timestep x iteration heatmap: one row per recorded iteration, later iterations on top, nulls become NaN', () => {
  const r = runs()[3]!; // exploding: late recorded iterations carry nulls
  const m = heatmapMatrix(r, 'timestepIteration')!;
  const n = r.history.recorded.length;
  assert.equal(m.rows, n);
  assert.equal(m.cols, 30);
  const rec = r.history.recorded[2]!;
  const top = topLayerOf(rec.layers)!;
  const row = n - 1 - 2; // row 0 (drawn at the top) is the last recorded iteration
  assert.equal(m.values[row * m.cols + 7], top.gradNormH[7]);
  assert.equal(m.rowLabels(row), String(rec.iteration));
  assert.equal(m.rowLabels(0), String(r.history.recorded[n - 1]!.iteration));
  const lastTop = topLayerOf(r.history.recorded[n - 1]!.layers)!.gradNormH as (number | null)[];
  const nullAt = lastTop.indexOf(null);
  assert.ok(nullAt >= 0);
  assert.ok(Number.isNaN(m.values[0 * m.cols + nullAt]!));
});

test('timestep x layer heatmap: top layer in the first row', () => {
  const r = runs()[0]!;
  const m = heatmapMatrix(r, 'timestepLayer')!;
  assert.equal(m.rows, 2);
  assert.equal(m.rowLabels(0), '1');
  assert.equal(m.values[5], r.layers.find((l) => l.layer === 1)!.gradNormH[5]);
});

test('itemized heatmap: lower triangle holds itemized[s][k], the upper triangle is EMPTY', () => {
  const r = runs()[0]!;
  const m = heatmapMatrix(r, 'itemized')!;
  const n = r.itemized!.length;
  assert.equal(m.rows, n);
  assert.equal(m.cols, n);
  assert.equal(m.values[5 * n + 2], r.itemized![5]![2]);
  assert.equal(m.values[2 * n + 5], EMPTY);
});

test('available heatmaps follow what the run recorded', () => {
  const r = runs()[0]!;
  assert.deepEqual(availableHeatmaps(r), ['timestepIteration', 'timestepLayer', 'itemized']);
  assert.deepEqual(availableHeatmaps({ ...r, itemized: null }), ['timestepIteration', 'timestepLayer']);
  assert.deepEqual(availableHeatmaps({ ...r, itemized: null, layers: [], history: { ...r.history, recorded: [] } }), []);
  assert.equal(heatmapMatrix({ ...r, itemized: null }, 'itemized'), null);
  // T = 0: nothing to draw, so nothing offered (a 0-wide image would throw in the browser).
  const empty = (l: LayerRecord) => ({ ...l, gradNormH: [], gradNormC: null, weightGradByStep: [] });
  const zeroT = {
    ...r, itemized: null, layers: r.layers.map(empty),
    history: { ...r.history, recorded: r.history.recorded.map((x) => ({ ...x, layers: x.layers.map(empty), inputGradNorm: [] })) },
  };
  assert.deepEqual(availableHeatmaps(zeroT), []);
  assert.equal(heatmapMatrix(zeroT, 'timestepIteration'), null);
  assert.equal(heatmapMatrix(zeroT, 'timestepLayer'), null);
});

test('a matrix beyond MAX_HEATMAP_CELLS is refused before anything is allocated', () => {
  const r = runs()[0]!;
  const huge = { ...r, itemized: new Array(Math.ceil(Math.sqrt(MAX_HEATMAP_CELLS)) + 1) as number[][] };
  assert.equal(heatmapMatrix(huge, 'itemized'), null);
  assert.ok(heatmapMatrix(r, 'itemized'));
});

test('heatmap quantities: what each kind can show, and the matrix holds that series', () => {
  const [rnn, lstm] = runs();
  assert.deepEqual(availableQuantities(rnn!, 'timestepIteration'), ['gradNormH', 'weightGradByStep', 'inputGradNorm']);
  assert.deepEqual(availableQuantities(lstm!, 'timestepIteration'), ['gradNormH', 'gradNormC', 'weightGradByStep', 'inputGradNorm']);
  assert.deepEqual(availableQuantities(lstm!, 'timestepLayer'), ['gradNormH', 'gradNormC', 'weightGradByStep']);
  assert.deepEqual(availableQuantities(lstm!, 'itemized'), []);
  const c = heatmapMatrix(lstm!, 'timestepIteration', 'gradNormC')!;
  assert.equal(c.quantity, '‖∂L/∂c_t‖');
  // Row 0 is the last recorded iteration (later iterations on top).
  const lastRow = (n: number, i: number) => n - 1 - i;
  assert.equal(c.values[lastRow(c.rows, 3) * c.cols + 4], topLayerOf(lstm!.history.recorded[3]!.layers)!.gradNormC![4]);
  const x = heatmapMatrix(rnn!, 'timestepIteration', 'inputGradNorm')!;
  assert.equal(x.values[lastRow(x.rows, 2) * x.cols + 1], rnn!.history.recorded[2]!.inputGradNorm[1]);
  assert.equal(heatmapMatrix(rnn!, 'timestepIteration', 'gradNormC'), null, 'an RNN has no cell state');
  assert.equal(heatmapMatrix(rnn!, 'timestepLayer', 'inputGradNorm'), null, 'the input gradient is not per layer');
});

// Its render time is measured in the real webview by test/e2e/heatmap.e2e.ts.
test('the 1000 x 500 heatmap matrix has one row per recorded iteration', () => {
  const big = json(bigRun());
  const m = heatmapMatrix(big, 'timestepIteration')!;
  assert.equal(m.rows, 500);
  assert.equal(m.cols, 1000);
  assert.equal(m.values[0 * 1000 + 999], big.history.recorded[499]!.layers[0]!.gradNormH[999], 'the last iteration is the top row');
  assert.equal(m.values[499 * 1000 + 3], big.history.recorded[0]!.layers[0]!.gradNormH[3], 'iteration 0 is the bottom row');
});

test('seriesSummary names extremes and counts non-finite values', () => {
  const s = seriesSummary('p(k)', [1, 0.1, null, 0.001], 'k');
  assert.equal(s, 'p(k): 4 points; first 1, last 0.001; min 0.001 at k 3, max 1 at k 0; 1 non-finite.');
  assert.equal(seriesSummary('x', [], 't'), 'x: no data.');
});

test('a single pass (a state-dict probe or a capture: no recorded iteration) shows its loss, no "final" loss and no clipping facts', () => {
  const trained = fixtureReport().runs[0]!;
  const probe: ReportRun = { ...trained, history: { ...trained.history, recorded: [] } };
  const names = cardModel(probe).facts.map((f) => f.name);
  assert.ok(names.includes('loss'), names.join(', '));
  assert.ok(!names.some((n) => n.startsWith('final loss') || n === 'clip rate' || n === 'clipping'), names.join(', '));
  assert.equal(summaryRows([probe])[0]!.finalLoss, lossText(probe.loss));
  assert.equal(summaryRows([probe])[0]!.clipRate, '—');
  assert.ok(cardModel(trained).facts.some((f) => f.name === 'final loss'));
});
