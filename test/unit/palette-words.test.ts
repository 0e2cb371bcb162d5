// The run palette (one colour per configuration, the same in every figure, pairwise
// distinguishable under CIEDE2000) and the shared words (titles without the common part,
// common evidence once, recommendations in plain words).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ciede2000, hexToLab, MIN_DELTA_E00, paletteColor, runColorList, runColors } from '../../src/io/report/palette';
import { changeWords } from '../../src/study/format';
import { changeBeyondTitle, commonEvidence, distinctLabels, studySummary } from '../../src/io/report/words';
import type { ReportRun } from '../../src/study/types';
import { fixtureReport } from './report-fixture';

function minPairwise(colors: string[]): { min: number; pair: [number, number] } {
  let min = Infinity;
  let pair: [number, number] = [0, 0];
  for (let i = 0; i < colors.length; i++) {
    for (let j = i + 1; j < colors.length; j++) {
      const d = ciede2000(hexToLab(colors[i]!), hexToLab(colors[j]!));
      if (d < min) [min, pair] = [d, [i, j]];
    }
  }
  return { min, pair };
}

test('CIEDE2000 matches the published test pairs (Sharma, Wu & Dalal 2005)', () => {
  const cases: [number[], number[], number][] = [
    [[50, 2.6772, -79.7751], [50, 0, -82.7485], 2.0425],
    [[50, -1.3802, -84.2814], [50, 0, -82.7485], 1.0],
    [[50, 2.49, -0.001], [50, -2.49, 0.0009], 7.1792],
    [[60.2574, -34.0099, 36.2677], [60.4626, -34.1751, 39.4387], 1.2644],
    [[22.7233, 20.0904, -46.694], [23.0331, 14.973, -42.5619], 2.0373],
    [[90.9257, -0.5406, -0.9208], [88.6381, -0.8985, -0.7239], 1.5381],
    [[90.8027, -2.0831, 1.441], [91.1528, -1.6435, 0.0447], 1.4441],
  ];
  for (const [a, b, want] of cases) assert.ok(Math.abs(ciede2000(a, b) - want) < 1e-4, `${a} vs ${b}: ${ciede2000(a, b)} != ${want}`);
});

test(`palette: every pair of up to 20 configurations differs by ΔE00 ≥ ${MIN_DELTA_E00}; 24 by ≥ 9.5`, () => {
  for (let n = 2; n <= 20; n++) {
    const { min, pair } = minPairwise(Array.from({ length: n }, (_, i) => paletteColor(i, n)));
    assert.ok(min >= MIN_DELTA_E00, `n = ${n}: colours ${pair} only ΔE00 = ${min.toFixed(2)} apart`);
  }
  assert.ok(minPairwise(Array.from({ length: 24 }, (_, i) => paletteColor(i, 24))).min >= 9.5);
});

test('palette colours read on white and on a dark editor background (WCAG contrast ≥ 1.9 on both)', () => {
  const lum = (hex: string) => {
    const n = parseInt(hex.slice(1), 16);
    const lin = [(n >> 16) & 255, (n >> 8) & 255, n & 255].map((v) => (v / 255 <= 0.03928 ? v / 255 / 12.92 : ((v / 255 + 0.055) / 1.055) ** 2.4));
    return 0.2126 * lin[0]! + 0.7152 * lin[1]! + 0.0722 * lin[2]!;
  };
  const contrast = (a: string, b: string) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x! + 0.05) / (y! + 0.05); };
  for (let i = 0; i < 20; i++) {
    const c = paletteColor(i, 20);
    assert.ok(contrast(c, '#ffffff') >= 1.9, `${c} on white: ${contrast(c, '#ffffff').toFixed(2)}`);
    assert.ok(contrast(c, '#1e1e1e') >= 1.9, `${c} on #1e1e1e: ${contrast(c, '#1e1e1e').toFixed(2)}`);
  }
});

/** A gate-comparison-like study: 11 cells, the LSTM family with and without forget bias (19 runs). */
function gateRuns(): ReportRun[] {
  const base = fixtureReport().runs[0]!;
  const cells = ['rnn-tanh', 'rnn-relu', 'lstm', 'lstm-peephole', 'lstm-cifg', 'lstm-nfg', 'lstm-nig', 'lstm-nog', 'lstm-niaf', 'lstm-noaf', 'gru'];
  const out: ReportRun[] = [];
  for (const cell of cells) {
    for (const fb of cell.startsWith('lstm') ? [false, true] : [false]) {
      const label = `${cell}${fb ? ' +forget bias 1' : ''}, no clip`;
      out.push({ ...base, id: `${cell}${fb ? '-fb1' : ''}`, label, group: label, config: { ...base.config, cellChoice: cell as never, forgetBias: fb, clip: { kind: 'none' } } });
    }
  }
  return out;
}

test('palette: one colour per configuration whatever the run order, shared by seeds, distinct across a 19-run gate study', () => {
  const runs = gateRuns();
  const colors = runColors(runs);
  assert.equal(new Set(colors.values()).size, 19);
  const shuffled = [...runs].reverse();
  const again = runColors(shuffled);
  for (const r of runs) assert.equal(again.get(r.id), colors.get(r.id), `${r.id} changed colour with the run order`);
  // Two seeds of one configuration share its colour.
  const seeds = [{ ...runs[0]!, id: 'a-s1' }, { ...runs[0]!, id: 'a-s2' }, runs[1]!];
  const list = runColorList(seeds);
  assert.equal(list[0], list[1]);
  assert.notEqual(list[0], list[2]);
  // The LSTM family takes one contiguous stretch of the sorted order (hues next to each other).
  const order = [...colors.entries()];
  assert.ok(order.length === 19);
});

test('titles keep what tells runs apart: ", no clip" shared by every run is dropped; a clipping sweep keeps the clip', () => {
  const titles = distinctLabels(gateRuns());
  assert.equal(titles[0], 'rnn-tanh');
  assert.equal(titles[3], 'lstm +forget bias 1');
  assert.ok(titles.every((t) => !t.includes('no clip')));
  assert.deepEqual(distinctLabels([{ id: 'a', label: 'lstm, no clip' }, { id: 'b', label: 'lstm, norm clip 1' }]), ['no clip', 'norm clip 1']);
  assert.deepEqual(distinctLabels([{ id: 'a', label: 'gru, no clip' }]), ['gru, no clip'], 'one run keeps its whole label');
});

test('evidence common to every run word for word is said once', () => {
  const runs = gateRuns().slice(0, 3).map((r, i) => ({ ...r, diagnosis: { ...r.diagnosis!, evidence: [`own ${i}`, 'The same Jacobian sentence.'] } }));
  assert.deepEqual(commonEvidence(runs), ['The same Jacobian sentence.']);
});

test('recommendations in plain words, without internal keys, and not repeating the title', () => {
  const lstm = changeWords({ cell: 'lstm', variant: 'vanilla', cellChoice: 'lstm', forgetBias: true });
  assert.equal(lstm, 'Switch to an LSTM with forget-gate bias 1');
  assert.doesNotMatch(lstm, /cellChoice|variant|forgetBias/);
  assert.equal(changeWords({ clip: { kind: 'norm', threshold: 2.3 } }), "Clip the gradient's global norm at 2.3");
  assert.equal(changeWords({ init: 'orthogonal', spectralRadius: null }), 'Initialise W_hh orthogonal');
  assert.equal(changeWords({ learningRate: 0.001 }), 'Set the learning rate to 1e-3');
  // The title already says it: no second line repeating the clause.
  assert.equal(changeBeyondTitle({ title: 'Use an LSTM with forget bias 1', change: { cell: 'lstm', variant: 'vanilla', cellChoice: 'lstm', forgetBias: true } }), null);
  assert.equal(changeBeyondTitle({ title: 'Try the suggested cell', change: { cell: 'gru', cellChoice: 'gru' } }), 'Switch to a GRU');
  assert.equal(changeBeyondTitle({ title: 'Clip the gradient by global norm at 2.3', change: { clip: { kind: 'norm', threshold: 2.3 } } }), null);
  assert.equal(changeBeyondTitle({ title: 'Initialise W_hh orthogonal', change: { init: 'orthogonal', spectralRadius: null } }), null);
});

test("the summary is the study's findings when it has them, else counts, the best loss and the fastest decay", () => {
  const report = fixtureReport();
  const lines = studySummary(report);
  assert.match(lines[0]!, /configurations, T = \d+: .*after training/);
  assert.ok(lines.some((l) => l.startsWith('Lowest final loss')));
  const withFindings = { ...report, study: { ...report.study, findings: ['Gates keep the gradient 40 steps back; the tanh RNN loses it after 9.'] } };
  assert.deepEqual(studySummary(withFindings), ['Gates keep the gradient 40 steps back; the tanh RNN loses it after 9.']);
});

test("the palette's cell families are the engine registry's (when the registry exists on this branch)", async (t) => {
  const path = '../../src/engine/cells/index';
  type Registry = { CELL_NAMES: readonly string[]; cellFamily(name: string): string };
  const registry = (await import(path).catch(() => null)) as Registry | null;
  if (!registry || !Array.isArray(registry.CELL_NAMES)) {
    t.skip('src/engine/cells/index.ts is not on this branch yet');
    return;
  }
  const { PALETTE_CELLS } = await import('../../src/io/report/palette');
  for (const name of registry.CELL_NAMES) {
    const mine = PALETTE_CELLS.find(([n]) => n === name);
    assert.ok(mine, `the palette does not know the cell ${name}`);
    assert.equal(mine[1], registry.cellFamily(name), `${name}: family`);
  }
});
