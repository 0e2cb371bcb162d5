import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderFigures, lagProfileFigure, lossFigure, gradNormFigure, heatmapFigure } from '../../src/io/report/figures';
import { escapeXml, fmtNum, slugify } from '../../src/io/report/format';
import { decadeRange, drawSeries, linearScale, logScale, niceTicks, pathData, Svg, viridis } from '../../src/io/report/svg';
import type { Report } from '../../src/study/types';
import { fixtureReport } from './report-fixture';
import { checkWellFormed } from './report-xml';

const HOSTILE = '<script>&"\'</script>';

test('the well-formedness checker rejects what it should', () => {
  assert.doesNotThrow(() => checkWellFormed('<svg a="1"><g><text>a &amp; b &#39;</text></g><rect/></svg>'));
  for (const bad of ['<svg><g></svg>', '<svg>a & b</svg>', '<svg a="<"></svg>', '<svg></svg><svg></svg>', '<svg a=1></svg>', 'x<svg></svg>', '<svg a="1" a="2"/>', '<svg>\u0001</svg>']) {
    assert.throws(() => checkWellFormed(bad), Error, bad);
  }
});

test('escapeXml escapes the five specials and drops characters XML forbids', () => {
  assert.equal(escapeXml(HOSTILE), '&lt;script&gt;&amp;&quot;&#39;&lt;/script&gt;');
  assert.equal(escapeXml('a\u0000b\u0007c\td\ud800'), 'abc\td');
  assert.equal(escapeXml('😀'), '😀');
});

test('every figure of the fixture report is well-formed SVG with a background and stays under 200 KB', () => {
  const figures = renderFigures(fixtureReport());
  assert.deepEqual(figures.slice(0, 4).map((f) => f.file), ['lag-profiles.svg', 'gradient-absolute.svg', 'loss.svg', 'grad-norm.svg']);
  assert.equal(figures.filter((f) => f.file.startsWith('heatmap-')).length, 5);
  assert.equal(new Set(figures.map((f) => f.file)).size, figures.length);
  for (const f of figures) {
    const { root, elements } = checkWellFormed(f.svg);
    assert.equal(root, 'svg', f.file);
    assert.ok(elements > 10, f.file);
    assert.match(f.svg, /<rect class="bg" width="100%" height="100%" fill="#ffffff"\/>/, f.file);
    assert.ok(f.svg.length < 200_000, `${f.file} is ${f.svg.length} bytes`);
    assert.doesNotMatch(f.svg, /NaN|Infinity|undefined/, `${f.file} leaks a non-number into coordinates`);
    assert.match(f.file, /^[a-z0-9-]+\.svg$/);
  }
});

test('a hostile run label is escaped in every figure', () => {
  const report = fixtureReport({ hostileLabel: HOSTILE });
  for (const f of renderFigures(report)) {
    checkWellFormed(f.svg);
    assert.ok(!f.svg.includes('<script'), f.file);
  }
  const lag = lagProfileFigure(report).svg;
  assert.ok(lag.includes('&lt;script&gt;&amp;&quot;&#39;&lt;/script&gt;'), 'label shown escaped');
});

test('lag-profile panels share one log axis labelled in decades, with verdicts in the titles', () => {
  const report = fixtureReport({ long: false });
  const svg = lagProfileFigure(report).svg;
  for (const verdict of ['vanishing', 'healthy', 'exploding']) assert.ok(svg.includes(`— ${verdict}`), verdict);
  // Same y tick labels in the first column of every row: the axis is shared.
  const labels = [...svg.matchAll(/>(1e-?\d+)</g)].map((m) => m[1]);
  assert.ok(labels.includes('1e0'), labels.join(','));
  assert.ok(labels.every((l) => /^1e-?\d+$/.test(l!)));
  // The exploding run has Infinity/NaN in its profile: marked, not dropped silently.
  assert.match(svg, /non-finite value from index/);
});

test('a 1000-timestep profile is reduced, zeros are marked on the floor, and the axis is capped at 24 decades', () => {
  const report = fixtureReport();
  const svg = lagProfileFigure(report).svg;
  assert.match(svg, /below the axis, drawn on its floor/);
  const range = decadeRange([report.runs[3]!.diagnosis!.lagProfile]);
  assert.ok(range && range[1] - range[0] <= 28, String(range));
  assert.ok(svg.length < 100_000, `${svg.length} bytes`);
  assert.ok(heatmapFigure(report.runs[3]!, 3)!.svg.includes('1000 timesteps shown in 160 bins'));
});

test('drawSeries breaks the line at non-finite values, marks them, and dots isolated points', () => {
  const svg = new Svg(200, 100, 't');
  const plot = { x: 0, y: 0, w: 200, h: 100 };
  const x = linearScale(0, 6, 0, 200);
  const y = logScale(-3, 0, 100, 0);
  drawSeries(svg, plot, x, y, [0.1, 0.2, NaN, 0.3, Infinity, 0, 0.5], { color: '#000' });
  const out = svg.toString();
  checkWellFormed(out);
  assert.equal((out.match(/<path d="M[^"]*" fill="none"/g) ?? []).length, 1);
  const d = /<path d="(M[^"]*)" fill="none"/.exec(out)![1]!;
  assert.equal((d.match(/M/g) ?? []).length, 2, d); // [0.1, 0.2] and [0, 0.5]; 0.3 alone is a dot
  assert.equal((out.match(/<circle/g) ?? []).length, 1);
  assert.equal((out.match(/non-finite value from index/g) ?? []).length, 2);
  assert.equal((out.match(/below the axis/g) ?? []).length, 1);
});

test('one-point and empty series do not break the figures', () => {
  const base = fixtureReport({ long: false });
  const run = base.runs[3]!;
  assert.equal(run.timesteps, 1);
  const one: Report = { ...base, runs: [run] };
  for (const f of renderFigures(one)) checkWellFormed(f.svg);
  const empty: Report = { ...base, runs: [{ ...run, history: { ...run.history, loss: [], preClipNorm: [], postClipNorm: [], recorded: [] }, layers: [], diagnosis: null }] };
  const figures = renderFigures(empty);
  assert.equal(figures.some((f) => f.file.startsWith('heatmap-')), false, 'no data, no heatmap');
  for (const f of figures) checkWellFormed(f.svg);
  assert.deepEqual(renderFigures({ ...base, runs: [] }), []);
});

test('loss uses a log axis only when every finite loss is positive', () => {
  const report = fixtureReport({ long: false });
  assert.match(lossFigure(report).svg, /\(log scale\)/);
  const negative: Report = { ...report, runs: report.runs.map((r, i) => (i === 0 ? { ...r, history: { ...r.history, loss: r.history.loss.map((v) => v - 1) } } : r)) };
  assert.doesNotMatch(lossFigure(negative).svg, /\(log scale\)/);
});

test('the clip threshold is drawn dashed for norm clipping only', () => {
  const report = fixtureReport({ long: false });
  const svg = gradNormFigure(report).svg;
  assert.equal((svg.match(/stroke="#d1242f" stroke-dasharray="6 4"/g) ?? []).length, 2); // the two runs that clip by norm
  assert.match(svg, /clip value ±0\.5 \(elementwise\)/);
});

test('scales and ticks', () => {
  assert.deepEqual(logScale(-9, 0, 0, 90).ticks().map((t) => t.label), ['1e-8', '1e-6', '1e-4', '1e-2', '1e0']);
  assert.deepEqual(logScale(-3, 0, 0, 90).ticks().map((t) => t.label), ['1e-3', '1e-2', '1e-1', '1e0']);
  assert.deepEqual(logScale(-1, 1, 0, 90).ticks().map((t) => t.label), ['1e-1', '2e-1', '5e-1', '1e0', '2e0', '5e0', '1e1']);
  assert.deepEqual(logScale(0, 290, 0, 90).ticks().map((t) => t.label), ['1e0', '1e50', '1e100', '1e150', '1e200', '1e250']);
  const y = logScale(-3, 0, 100, 0);
  assert.equal(y.map(1), 0);
  assert.equal(y.map(1e-3), 100);
  assert.equal(y.map(0), 100, 'zero clamps to the floor');
  assert.deepEqual(niceTicks(0, 10, 5), [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(niceTicks(0, 1, 4), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(decadeRange([[0.5, 2e-4, 0, NaN]]), [-4, 0]);
  assert.deepEqual(decadeRange([[1, 1]]), [-1, 0]);
  assert.equal(decadeRange([[0, NaN, -1]]), null);
  const s = linearScale(5, 5, 0, 100);
  assert.ok(Number.isFinite(s.map(5)));
});

test('viridis runs from dark purple to yellow', () => {
  assert.equal(viridis(0), '#440154');
  assert.equal(viridis(1), '#fde725');
  assert.equal(viridis(NaN), '#440154');
  assert.match(viridis(0.5), /^#[0-9a-f]{6}$/);
});

test('number formatting and slugs', () => {
  assert.equal(fmtNum(0.76), '0.76');
  assert.equal(fmtNum(1000), '1000');
  assert.equal(fmtNum(1.23456e-7), '1.235e-7');
  assert.equal(fmtNum(NaN), 'NaN');
  assert.equal(fmtNum(Infinity), '∞');
  assert.equal(fmtNum(null), '—');
  assert.equal(slugify('Airline passengers: gradient flow'), 'airline-passengers-gradient-flow');
  assert.equal(slugify('../../etc/passwd'), 'etc-passwd');
  assert.equal(slugify('¿¿??'), 'report');
  assert.equal(slugify('Écoute'), 'ecoute');
});

test('pathData writes compact relative moves on a 0.1 px grid without drift', () => {
  assert.equal(pathData([[0, 0], [1.25, 2], [1, -1]]), 'M0 0l1.3 2-.3-3');
  assert.equal(pathData([[5, 5]]), 'M5 5');
  // Summing the relative steps lands on the rounded last point.
  const pts: [number, number][] = Array.from({ length: 1000 }, (_, i) => [i * 0.333, Math.sin(i) * 10]);
  const d = pathData(pts);
  const nums = d.slice(1).replace('l', ' ').match(/-?\d*\.?\d+/g)!.map(Number);
  let x = 0, y = 0;
  for (let k = 0; k < nums.length; k += 2) { x += nums[k]!; y += nums[k + 1]!; }
  assert.ok(Math.abs(x - 999 * 0.333) < 0.051 && Math.abs(y - Math.sin(999) * 10) < 0.051, `${x} ${y}`);
});

test('a long series keeps its spike when reduced to a min/max envelope', () => {
  const svg = new Svg(300, 100, 't');
  const plot = { x: 0, y: 0, w: 300, h: 100 };
  const values = Array.from({ length: 20_000 }, (_, i) => (i === 12_345 ? 100 : 1));
  drawSeries(svg, plot, linearScale(0, values.length - 1, 0, 300), linearScale(0, 100, 100, 0), values, { color: '#000' });
  const out = svg.toString();
  assert.ok(out.length < 10_000, `${out.length} bytes`);
  const d = /<path d="(M[^"]*)" fill="none"/.exec(out)![1]!;
  const nums = d.slice(1).replace('l', ' ').match(/-?\d*\.?\d+/g)!.map(Number);
  let y = nums[1]!;
  let minY = y;
  for (let k = 3; k < nums.length; k += 2) { y += nums[k]!; minY = Math.min(minY, y); }
  assert.equal(minY, 0, 'the spike to 100 reaches the top of the plot');
});
