// The report's figures as standalone SVG documents (report.md embeds them; report.html
// inlines them and adds hover readouts using the data-* attributes written here):
//   lag-profiles.svg  small multiples of p(k) with a shared log axis, verdict in each title
//   loss.svg          training loss of every run, overlaid
//   grad-norm.svg     pre-clip global gradient norm per run, clip threshold dashed
//   heatmap-*.svg     ‖∂L/∂h_t‖ of the top layer, timestep × recorded iteration, log colour
import type { Report, ReportRun } from '../../study/types';
import { horizonText } from './summary';
import { runColorList } from './palette';
import { GRADIENT_SCALES, horizonTimestep, throughTime, throughTimeAtInit, topLayerOf, type GradientScale } from './throughTime';
import { anyClipping, distinctLabels } from './words';
import { decadeLabel, escapeXml, fmtNum, fmtPercent, slugify } from './format';
import {
  allPositive, attrs, decadeRange, decadesOfLogs, drawAxes, drawSeries, finiteRange, fitText, GRID, INK, linearScale, logScale, MUTED,
  NONFINITE_COLOR, r1, type Rect, type Scale, Svg, textWidth, VERDICT_COLORS, viridis, yAxisTitle, ZERO_COLOR,
} from './svg';

/** The untrained network's lag profile: light enough to sit behind the trained one. */
const INIT_COLOR = '#afb8c1';
const PRE_CLIP_COLOR = '#8c959f';
const POST_CLIP_COLOR = '#1f2328';

export interface Figure {
  /** File name beside report.md. */
  file: string;
  /** Heading and alt text. */
  title: string;
  /** One or two sentences on how to read it. */
  caption: string;
  svg: string;
  /** Index of the run a per-run figure (heatmap) shows. */
  run?: number;
}

/** report.md gets heatmaps for this many runs (the first ones), to keep the folder small ... */
export const MAX_HEATMAPS = 8;
/** ... and report.html for this many. */
export const MAX_HTML_HEATMAPS = 40;

export function renderFigures(report: Report, maxHeatmaps = MAX_HEATMAPS): Figure[] {
  const figures: Figure[] = [];
  if (report.runs.length === 0) return figures;
  figures.push(lagProfileFigure(report, 'normalised'), lagProfileFigure(report, 'absolute'), lossFigure(report));
  // No clipping section in a study without clipping (every panel would say "no clipping").
  if (anyClipping(report.runs)) figures.push(gradNormFigure(report));
  const used = new Set<string>();
  report.runs.slice(0, maxHeatmaps).forEach((run, index) => {
    const fig = heatmapFigure(run, index);
    if (!fig) return;
    // Two labels may slugify alike; file names must not collide.
    let file = fig.file;
    for (let n = 2; used.has(file); n++) file = fig.file.replace(/\.svg$/, `-${n}.svg`);
    used.add(file);
    figures.push({ ...fig, file });
  });
  return figures;
}

// ---------------------------------------------------------------- shared pieces


/** Shared decades for relative profiles: room for ε below 1, at most 8 decades of growth above it, 32 in all. */
function relativeRange(series: number[][]): [number, number] {
  const r = decadeRange(series, 1000) ?? [-4, 0];
  const hi = Math.max(0, Math.min(r[1], 8));
  const lo = Math.min(-4, Math.max(r[0], hi - 32));
  return [lo, hi];
}

function clipThreshold(run: ReportRun): { kind: string; threshold: number } | null {
  const clip = run.config.clip as { kind?: unknown; threshold?: unknown } | undefined;
  if (!clip || typeof clip !== 'object' || (clip.kind !== 'norm' && clip.kind !== 'value')) return null;
  return typeof clip.threshold === 'number' ? { kind: clip.kind, threshold: clip.threshold } : null;
}

interface Grid { cols: number; rows: number; panelW: number; panelH: number }

function gridFor(n: number, panelW: number, panelH: number): Grid {
  const cols = Math.min(3, Math.max(1, n));
  return { cols, rows: Math.ceil(n / cols), panelW, panelH };
}

/** Plot area of panel i: room on the left for tick labels, on top for the two-line title. */
function panelPlot(g: Grid, i: number, top: number, left: number, pad = 14): Rect {
  const c = i % g.cols;
  const r = Math.floor(i / g.cols);
  // Columns after the first get `pad` on the left: room for their own tick labels when needed.
  const x = left + c * g.panelW + (c === 0 ? 14 : pad);
  return { x, y: top + r * g.panelH + 40, w: left + (c + 1) * g.panelW - 14 - x, h: g.panelH - 82 };
}

function indexScale(n: number, plot: Rect): Scale {
  return linearScale(0, Math.max(1, n - 1), plot.x, plot.x + plot.w, true, 4);
}

/** Data attributes the HTML page reads to turn a pointer position into an index. */
function plotData(kind: string, plot: Rect, x: Scale, run: number | null): string {
  return attrs({ class: 'plot', 'data-kind': kind, 'data-run': run === null ? undefined : String(run), 'data-plot': `${r1(plot.x)} ${r1(plot.y)} ${r1(plot.w)} ${r1(plot.h)}`, 'data-x': `${x.lo} ${x.hi}` });
}

function panelTitle(svg: Svg, plot: Rect, run: ReportRun, index: number, subtitle: string, title?: string, color?: string): void {
  const verdict = run.diagnosis?.verdict;
  const label = title ?? (run.label || run.id);
  const verdictText = verdict ? ` — ${verdict}` : '';
  const swatch = color ? 16 : 0;
  const room = plot.w + 20 - swatch;
  const shown = fitText(label, room - textWidth(verdictText, 13), 13);
  if (color) svg.rect({ x: plot.x, y: plot.y - 33, w: 11, h: 11 }, { fill: color, rx: 2 });
  svg.add(`<text${attrs({ x: plot.x + swatch, y: plot.y - 22, 'font-size': 13, 'font-weight': 600, 'data-run': String(index) })}>` +
    `<title>${escapeXml(run.label || run.id)}</title>${escapeXml(shown)}` +
    (verdict ? `<tspan fill="${VERDICT_COLORS[verdict] ?? INK}">${escapeXml(verdictText)}</tspan>` : '') + '</text>');
  svg.text(plot.x, plot.y - 7, fitText(subtitle, plot.w + 20, 11), { 'font-size': 11, fill: MUTED });
}

function legendMarks(svg: Svg, x: number, y: number, items: { label: string; color: string; dash?: string; kind?: 'line' | 'cross' | 'floor' }[]): void {
  let cx = x;
  for (const it of items) {
    if (it.kind === 'cross') svg.add(`<path d="M${r1(cx + 4)} ${r1(y - 8)}l8 8m0 -8l-8 8" stroke="${it.color}" stroke-width="2"/>`);
    else if (it.kind === 'floor') svg.add(`<path d="M${r1(cx + 4)} ${r1(y - 8)}h8l-4 7z" fill="${it.color}"/>`);
    else svg.line(cx, y - 4, cx + 18, y - 4, { stroke: it.color, 'stroke-width': 2, 'stroke-dasharray': it.dash });
    svg.text(cx + 22, y, it.label, { 'font-size': 11, fill: MUTED });
    cx += 30 + textWidth(it.label, 11);
  }
}

// ---------------------------------------------------------------- (a) gradient through time

/**
 * Small multiples of the gradient through time, drawn like the panel (throughTime.ts): x =
 * timestep t with the scored step on the right, y = p(k)/p(0) at t = T−1−k (normalised, the
 * default) or the absolute ‖∂L/∂h_t‖ of the top layer, one shared log axis, each run in its
 * palette colour with the title that tells it apart.
 */
export function lagProfileFigure(report: Report, scale: GradientScale = 'normalised'): Figure {
  const runs = report.runs;
  const g = gridFor(runs.length, 320, 250);
  const left = 70;
  const top = 44;
  const width = left + g.cols * g.panelW + 10;
  const height = top + g.rows * g.panelH + 30;
  const colors = runColorList(runs);
  const titles = distinctLabels(runs);
  const toNum = (v: (number | null)[] | null): number[] | null => (v ? v.map((x) => (x === null ? NaN : x)) : null);
  const series = runs.map((run) => toNum(throughTime(run, scale)) ?? []);
  const initials = runs.map((run) => toNum(throughTimeAtInit(run, scale)));
  const normalised = scale === 'normalised';
  const eps = report.study.thresholds?.vanishEpsilon;
  const all = [...series, ...initials.filter((p): p is number[] => p !== null)];
  const range = normalised ? relativeRange(all) : (decadeRange(all, 1000) ?? [-1, 0]);
  const yTitle = GRADIENT_SCALES.find((s) => s.value === scale)!.yTitle;
  const heading = normalised
    ? 'Gradient through time — p(k)/p(0) at timestep t = T−1−k, shared log scale'
    : 'Gradient through time — ‖∂L/∂h_t‖ of the top layer, shared log scale';
  const svg = new Svg(width, height, heading, 'One panel per configuration; x: timestep t with the scored step on the right; y on one log axis for all panels.');
  svg.text(left, 22, heading, { 'font-size': 15, 'font-weight': 600 });
  legendMarks(svg, left, 38, [
    { label: 'after training (run colour)', color: INK },
    ...(initials.some((p) => p !== null) ? [{ label: 'at initialisation', color: INIT_COLOR, dash: '5 3' }] : []),
    ...(normalised ? [{ label: 'fit ρ^k', color: MUTED, dash: '2 3' }, { label: 'ε and horizon', color: MUTED, dash: '5 4' }] : []),
    { label: 'non-finite', color: NONFINITE_COLOR, kind: 'cross' as const },
    { label: 'off the axis (or 0)', color: ZERO_COLOR, kind: 'floor' as const },
  ]);
  runs.forEach((run, i) => {
    const plot = panelPlot(g, i, top, left);
    const values = series[i]!;
    const n = values.length;
    const x = indexScale(n, plot);
    const y = logScale(range[0], range[1], plot.y + plot.h, plot.y);
    const d = run.diagnosis;
    const sub = `ρ = ${fmtNum(d?.decayPerStep ?? null, 3)}/step · horizon ${horizonText(d, run.timesteps)} · T = ${run.timesteps}`;
    panelTitle(svg, plot, run, i, sub, titles[i]!, colors[i]!);
    svg.add(`<g${plotData(normalised ? 'lag' : 'abs', plot, x, i)}>`);
    drawAxes(svg, plot, x, y, { xTitle: 'timestep t (scored step on the right)', yLabels: i % g.cols === 0 });
    if (normalised && d) {
      if (eps !== undefined && eps > 0 && Number.isFinite(eps) && eps >= y.lo) {
        const py = y.map(eps);
        svg.line(plot.x, py, plot.x + plot.w, py, { stroke: MUTED, 'stroke-dasharray': '5 4', 'stroke-width': 1 });
      }
      const ht = horizonTimestep(run);
      if (ht !== null) {
        const px = x.map(ht);
        svg.line(px, plot.y, px, plot.y + plot.h, { stroke: MUTED, 'stroke-dasharray': '5 4', 'stroke-width': 1 });
      }
      const fit = fitLine([...values].reverse(), d.decayPerStep);
      if (fit) drawSeries(svg, plot, x, y, fit.reverse(), { color: MUTED, width: 1.2, dash: '2 3' }, undefined, false);
    }
    const initial = initials[i];
    if (initial) drawSeries(svg, plot, x, y, initial, { color: INIT_COLOR, width: 1.4, dash: '5 3' }, undefined, false);
    drawSeries(svg, plot, x, y, values, { color: colors[i]!, width: 2, data: { 'data-run': String(i) } });
    svg.add('</g>');
    if (i % g.cols === 0) yAxisTitle(svg, plot, yTitle);
  });
  return normalised
    ? {
        file: 'lag-profiles.svg',
        title: 'Gradient through time (normalised)',
        caption: 'One panel per configuration, in its colour. x: timestep t, left to right, with the scored step on the right, so the gradient travels leftwards; y: p(k)/p(0), the gradient reaching t = T−1−k relative to the scored step (1 at the right end), on one log scale for every panel. Grey dashed: the same network at initialisation. A straight line is geometric decay at ρ per step; the dashed lines mark the vanishing threshold ε and the horizon where the profile crosses it.',
        svg: svg.toString(),
      }
    : {
        file: 'gradient-absolute.svg',
        title: 'Gradient through time (absolute)',
        caption: 'The same panels with the absolute ‖∂L/∂h_t‖ of the top layer (not normalised), on one shared log scale: heights compare across configurations.',
        svg: svg.toString(),
      };
}

/** The least-squares line exp(a + k·ln ρ) through log p(k), with ρ from the diagnosis. */
function fitLine(values: number[], rho: number | null): number[] | null {
  if (rho === null || !(rho > 0) || !Number.isFinite(rho)) return null;
  const slope = Math.log(rho);
  let sum = 0;
  let count = 0;
  values.forEach((v, k) => { if (v > 0 && Number.isFinite(v)) { sum += Math.log(v) - slope * k; count++; } });
  if (count < 2) return null;
  const a = sum / count;
  return values.map((_, k) => Math.exp(a + slope * k));
}

// ---------------------------------------------------------------- (b) loss

export function lossFigure(report: Report): Figure {
  const runs = report.runs;
  const colors = runColorList(runs);
  const titles = distinctLabels(runs);
  const legendW = Math.min(260, Math.max(110, ...runs.map((r) => textWidth(titles[runs.indexOf(r)] ?? r.label) + 40)));
  const plot: Rect = { x: 80, y: 44, w: 560, h: 300 };
  const width = plot.x + plot.w + 20 + legendW;
  const height = Math.max(plot.y + plot.h + 50, 60 + runs.length * 18);
  const all = runs.map((r) => r.history.loss);
  const n = Math.max(1, ...all.map((s) => s.length));
  const x = linearScale(0, Math.max(1, n - 1), plot.x, plot.x + plot.w, true);
  const log = allPositive(all);
  const y = log
    ? logScale(...lossDecades(all), plot.y + plot.h, plot.y)
    : (() => { const [lo, hi] = finiteRange(all) ?? [0, 1]; return linearScale(Math.min(0, lo), hi, plot.y + plot.h, plot.y); })();
  const svg = new Svg(width, height, 'Training loss', 'Training loss per iteration for every run.');
  svg.text(plot.x, 24, `Training loss over iterations${log ? ' (log scale)' : ''}`, { 'font-size': 15, 'font-weight': 600 });
  svg.add(`<g${plotData('loss', plot, x, null)}>`);
  const kinds = new Set(runs.map((r) => r.config.loss).filter((k) => typeof k === 'string'));
  const lossName = kinds.size === 1 ? ` (${[...kinds][0] === 'xent' ? 'cross-entropy' : [...kinds][0] === 'mse' ? 'mean squared error' : String([...kinds][0])})` : '';
  drawAxes(svg, plot, x, y, { xTitle: 'iteration', yTitle: `loss${lossName}` });
  runs.forEach((run, i) => drawSeries(svg, plot, x, y, run.history.loss, { color: colors[i]!, width: 1.6, data: { 'data-run': String(i) } }));
  svg.add('</g>');
  runs.forEach((run, i) => {
    const ly = plot.y + 8 + i * 18;
    const lx = plot.x + plot.w + 16;
    svg.add(`<g${attrs({ 'data-run': String(i), class: 'legend' })}>`);
    svg.line(lx, ly - 4, lx + 20, ly - 4, { stroke: colors[i]!, 'stroke-width': 3 });
    svg.add(`<text${attrs({ x: lx + 26, y: ly })}><title>${escapeXml(run.label || run.id)}</title>${escapeXml(fitText(titles[i]!, legendW - 30, 12))}</text>`);
    svg.add('</g>');
  });
  return {
    file: 'loss.svg',
    title: 'Training loss',
    caption: 'Loss per training iteration, every configuration overlaid in its colour (report.html: point at a curve or a legend entry to bring it forward). Gaps with a red × are iterations where the loss was not a finite number.',
    svg: svg.toString(),
  };
}

/**
 * Decades for the loss axis: from the smallest loss up to 100× the median starting loss
 * (a diverging run climbs off the top, marked, instead of squashing every other curve).
 */
function lossDecades(all: number[][]): [number, number] {
  const range = decadeRange(all, 1000) ?? [-1, 0];
  const starts = all.map((s) => s.find((v) => v > 0 && Number.isFinite(v))).filter((v): v is number => v !== undefined);
  starts.sort((a, b) => a - b);
  const typical = starts[Math.floor((starts.length - 1) / 2)];
  const hi = typical !== undefined ? Math.min(range[1], Math.ceil(Math.log10(typical) + 2)) : range[1];
  const lo = Math.max(range[0], hi - 24);
  return [Math.min(lo, hi - 1), hi];
}

// ---------------------------------------------------------------- (c) gradient norm and clipping

export function gradNormFigure(report: Report): Figure {
  const runs = report.runs;
  const colors = runColorList(runs);
  const titles = distinctLabels(runs);
  const g = gridFor(runs.length, 320, 250);
  const left = 70;
  const top = 44;
  const width = left + g.cols * g.panelW + 10;
  const height = top + g.rows * g.panelH + 30;
  const thresholds = runs.map(clipThreshold);
  const seriesOf = (r: ReportRun, t: { kind: string; threshold: number } | null) => [r.history.preClipNorm, r.history.postClipNorm, t?.kind === 'norm' ? [t.threshold] : []];
  // One axis for all panels unless that would span more than 24 decades (an overflowing
  // run next to healthy ones): then each panel gets its own.
  const shared = decadeRange(runs.flatMap((r, i) => seriesOf(r, thresholds[i]!)), 1000);
  const sharedOk = shared === null || shared[1] - shared[0] <= 24;
  const ranges = runs.map((r, i) => (sharedOk ? shared : decadeRange(seriesOf(r, thresholds[i]!), 1000)) ?? [-1, 0] as [number, number]);
  const svg = new Svg(width, height, 'Global gradient norm before clipping', 'Pre-clip global gradient norm per iteration; dashed: the clip threshold.');
  svg.text(left, 22, `Global gradient norm per iteration — ${sharedOk ? 'shared log scale' : 'log scale per panel (the runs span too many decades to share one)'}`, { 'font-size': 15, 'font-weight': 600 });
  legendMarks(svg, left, 38, [
    { label: 'before clipping (run colour)', color: PRE_CLIP_COLOR },
    { label: 'after clipping', color: POST_CLIP_COLOR, dash: '4 3' },
    { label: 'clip threshold', color: NONFINITE_COLOR, dash: '6 4' },
    { label: 'non-finite', color: NONFINITE_COLOR, kind: 'cross' },
  ]);
  runs.forEach((run, i) => {
    const plot = panelPlot(g, i, top, left, sharedOk ? 14 : 52);
    const h = run.history;
    const n = Math.max(h.preClipNorm.length, h.postClipNorm.length);
    const x = indexScale(n, plot);
    const range = ranges[i]!;
    const y = logScale(range[0], range[1], plot.y + plot.h, plot.y);
    const t = thresholds[i];
    const clipText = !t ? 'no clipping' : t.kind === 'norm' ? `clip norm ${fmtNum(t.threshold, 3)}` : `clip value ±${fmtNum(t.threshold, 3)} (elementwise)`;
    panelTitle(svg, plot, run, i, t ? `${clipText} · clipped ${fmtPercent(h.clipRate)} of updates` : 'no clipping (reference)', titles[i]!, colors[i]!);
    svg.add(`<g${plotData('norm', plot, x, i)}>`);
    drawAxes(svg, plot, x, y, { xTitle: 'iteration', yLabels: !sharedOk || i % g.cols === 0 });
    // Before clipping first, in the run's colour; after clipping dashed on top, so where the
    // two coincide (no clip fired) the dashes still show over the coloured line.
    drawSeries(svg, plot, x, y, h.preClipNorm, { color: colors[i]!, width: 2.2, data: { 'data-run': String(i) } });
    if (t) drawSeries(svg, plot, x, y, h.postClipNorm, { color: POST_CLIP_COLOR, width: 1.5, dash: '4 3' }, undefined, false);
    if (t?.kind === 'norm' && t.threshold > 0 && Number.isFinite(t.threshold)) {
      const py = y.map(t.threshold);
      svg.line(plot.x, py, plot.x + plot.w, py, { stroke: NONFINITE_COLOR, 'stroke-dasharray': '6 4', 'stroke-width': 1.5 });
    }
    svg.add('</g>');
    if (i % g.cols === 0) yAxisTitle(svg, plot, 'gradient norm');
  });
  return {
    file: 'grad-norm.svg',
    title: 'Gradient norm and clipping',
    caption: 'Global L2 norm of the whole gradient at each iteration, before clipping (solid, in the run\'s colour) and after (black dashes, runs with clipping only); the red dashed line is the clip-by-norm threshold. Spikes far above the line are the updates clipping tamed.',
    svg: svg.toString(),
  };
}

// ---------------------------------------------------------------- (d) heatmap

/** At most this many columns (timesteps are binned) and rows (recorded iterations are sampled). */
const HEAT_COLS = 160;
const HEAT_ROWS = 60;

type Cell = number | 'nonfinite' | 'zero';

/** Geometric mean of a bin; a bin holding any non-finite value shows as non-finite (a finding). */
function binValue(values: number[], a: number, b: number): Cell {
  let logSum = 0;
  let count = 0;
  let zeros = 0;
  for (let t = a; t < b; t++) {
    const v = values[t];
    if (v === undefined) continue;
    if (!Number.isFinite(v)) return 'nonfinite';
    if (v <= 0) zeros++;
    else { logSum += Math.log10(v); count++; }
  }
  if (count === 0) return zeros > 0 ? 'zero' : 'nonfinite';
  return logSum / count;
}

/** What the heatmap's rows are: recorded training iterations unless a caller says otherwise (the probe's layers). */
export interface HeatmapRows {
  /** y axis title, e.g. 'layer'. */
  title: string;
  /** Plural noun in the subtitle and the SVG's description, e.g. 'layers'. */
  noun: string;
  /** Row labels, bottom to top (default: the recorded iteration). */
  labels?: string[];
}

const ITERATION_ROWS: HeatmapRows = { title: 'training iteration', noun: 'recorded iterations' };

export function heatmapFigure(run: ReportRun, index: number, rowsAre: HeatmapRows = ITERATION_ROWS): Figure | null {
  const rows = run.history.recorded.length > 0
    ? run.history.recorded.map((r, i) => ({ label: rowsAre.labels?.[i] ?? String(r.iteration), values: topLayerOf(r.layers)?.gradNormH ?? [] }))
    : [{ label: 'final', values: topLayerOf(run.layers)?.gradNormH ?? [] }];
  const T = Math.max(0, ...rows.map((r) => r.values.length));
  if (T === 0) return null;
  const rowPick = rows.length <= HEAT_ROWS ? rows.map((_, i) => i) : Array.from({ length: HEAT_ROWS }, (_, i) => Math.round((i * (rows.length - 1)) / (HEAT_ROWS - 1)));
  const cols = Math.min(T, HEAT_COLS);
  const grid: Cell[][] = rowPick.map((ri) => Array.from({ length: cols }, (_, c) => binValue(rows[ri]!.values, Math.floor((c * T) / cols), Math.floor(((c + 1) * T) / cols))));
  let lo = Infinity;
  let hi = -Infinity;
  for (const row of grid) for (const v of row) if (typeof v === 'number') { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  // The same 24-decade cap as the line charts; deeper cells take the darkest colour.
  const [loExp, hiExp] = Number.isFinite(lo) ? decadesOfLogs(lo, hi) : [-1, 0];
  const capped = Number.isFinite(lo) && lo < loExp - 1e-9;

  const plot: Rect = { x: 80, y: 56, w: 600, h: Math.max(120, Math.min(360, rowPick.length * 14)) };
  const width = plot.x + plot.w + 140;
  const height = plot.y + plot.h + 56;
  const label = run.label || run.id;
  const layer = topLayerOf(run.history.recorded[0]?.layers ?? run.layers);
  const byIteration = rowsAre === ITERATION_ROWS;
  const svg = new Svg(width, height, `Gradient norm by timestep and ${byIteration ? 'iteration' : rowsAre.title}: ${label}`, `Colour: log10 of the gradient norm at each timestep (x) and ${byIteration ? 'recorded training iteration' : rowsAre.title} (y).`);
  svg.text(plot.x, 22, fitText(`‖∂L/∂h_t‖ by timestep and ${byIteration ? 'iteration' : rowsAre.title} — ${label}`, plot.w + 120, 15), { 'font-size': 15, 'font-weight': 600 });
  const verdict = run.diagnosis?.verdict;
  svg.text(plot.x, 40, `${byIteration ? `top layer${layer ? ` (layer ${layer.layer})` : ''} · ` : ''}log colour scale${cols < T ? ` · ${T} timesteps shown in ${cols} bins (geometric mean)` : ''}${rowPick.length < rows.length ? ` · ${rowPick.length} of ${rows.length} ${rowsAre.noun}` : ''}${verdict ? ` · ${verdict}` : ''}`, { 'font-size': 11, fill: MUTED });

  // Cells are unit squares in a scaled group; same-colour cells share one path (small files).
  const cw = plot.w / cols;
  const rh = plot.h / rowPick.length;
  const LEVELS = 64;
  const byColor = new Map<string, string[]>();
  const push = (color: string, d: string) => { const list = byColor.get(color); if (list) list.push(d); else byColor.set(color, [d]); };
  grid.forEach((row, r) => {
    const yRow = rowPick.length - 1 - r; // later iterations on top
    let c = 0;
    while (c < cols) {
      const color = cellColor(row[c]!, loExp, hiExp, LEVELS);
      let end = c + 1;
      while (end < cols && cellColor(row[end]!, loExp, hiExp, LEVELS) === color) end++;
      push(color, `M${c} ${yRow}h${end - c}v1h${c - end}z`);
      c = end;
    }
  });
  svg.add(`<g${plotData('heat', plot, linearScale(0, T, plot.x, plot.x + plot.w), index)} data-rows="${rowPick.join(' ')}">`);
  svg.add(`<g transform="translate(${r1(plot.x)} ${r1(plot.y)}) scale(${cw.toFixed(4)} ${rh.toFixed(4)})" shape-rendering="crispEdges">`);
  for (const [color, ds] of byColor) svg.add(`<path fill="${color}" d="${ds.join('')}"/>`);
  svg.add('</g>');
  svg.rect(plot, { fill: 'none', stroke: MUTED });
  // x ticks: timesteps at bin edges
  const xs = linearScale(0, T, plot.x, plot.x + plot.w, true);
  let ticks = '';
  for (const t of xs.ticks()) {
    if (t.value > T) continue;
    const px = xs.map(t.value);
    ticks += `<text${attrs({ x: px, y: plot.y + plot.h + 15, 'text-anchor': 'middle' })}>${t.label}</text>`;
    svg.line(px, plot.y + plot.h, px, plot.y + plot.h + 4, { stroke: MUTED });
  }
  // y ticks: up to 8 recorded iterations
  const step = Math.max(1, Math.ceil(rowPick.length / 8));
  for (let r = 0; r < rowPick.length; r += step) {
    const py = plot.y + (rowPick.length - 1 - r + 0.5) * rh;
    ticks += `<text${attrs({ x: plot.x - 6, y: py + 4, 'text-anchor': 'end' })}>${escapeXml(rows[rowPick[r]!]!.label)}</text>`;
  }
  svg.add(`<g fill="${MUTED}" font-size="11">${ticks}</g>`);
  svg.add('</g>');
  svg.text(plot.x + plot.w / 2, plot.y + plot.h + 34, 'timestep t', { 'text-anchor': 'middle' });
  yAxisTitle(svg, plot, rowsAre.title, 52);
  colorLegend(svg, { x: plot.x + plot.w + 24, y: plot.y, w: 16, h: Math.min(plot.h, 220) }, loExp, hiExp, grid, capped, Number.isFinite(lo));
  return {
    run: index,
    file: `heatmap-${index + 1}-${slugify(label, 40)}.svg`,
    title: `Heatmap: ${label}`,
    caption: 'Gradient norm ‖∂L/∂h_t‖ of the top layer at every timestep (x) for each recorded training iteration (y, later iterations on top), on a log colour scale. Vanishing shows as a dark band at early timesteps; exploding as bright or red (non-finite) cells.',
    svg: svg.toString(),
  };
}

function cellColor(v: Cell, loExp: number, hiExp: number, levels: number): string {
  if (v === 'nonfinite') return NONFINITE_COLOR;
  if (v === 'zero') return ZERO_COLOR;
  const t = (v - loExp) / (hiExp - loExp);
  return viridis(Math.round(t * (levels - 1)) / (levels - 1));
}

function colorLegend(svg: Svg, bar: Rect, loExp: number, hiExp: number, grid: Cell[][], capped: boolean, hasValues: boolean): void {
  const flat = grid.flat();
  let ly = bar.y + 10;
  const swatch = (color: string, label: string) => {
    svg.rect({ x: bar.x, y: ly - 10, w: bar.w, h: 12 }, { fill: color, stroke: GRID });
    svg.text(bar.x + bar.w + 7, ly, label, { 'font-size': 11, fill: MUTED });
    ly += 18;
  };
  if (hasValues) {
    colorBar(svg, bar, loExp, hiExp, capped);
    ly = bar.y + bar.h + 22;
  }
  if (flat.includes('nonfinite')) swatch(NONFINITE_COLOR, 'non-finite');
  if (flat.includes('zero')) swatch(ZERO_COLOR, 'zero');
}

function colorBar(svg: Svg, bar: Rect, loExp: number, hiExp: number, capped: boolean): void {
  const steps = 32;
  let d = '';
  for (let i = 0; i < steps; i++) {
    const y0 = bar.y + (bar.h * (steps - 1 - i)) / steps;
    d += `<rect${attrs({ x: bar.x, y: y0, width: bar.w, height: bar.h / steps + 0.5, fill: viridis(i / (steps - 1)) })}/>`;
  }
  svg.add(`<g shape-rendering="crispEdges">${d}</g>`);
  svg.rect(bar, { fill: 'none', stroke: MUTED });
  const scale = logScale(loExp, hiExp, bar.y + bar.h, bar.y);
  const ticks = scale.ticks().map((t) => ({ py: scale.map(t.value), label: t.label }));
  // Label both ends of the bar too, when no tick sits there and there is room.
  for (const [py, exp] of [[bar.y + bar.h, loExp], [bar.y, hiExp]] as const) {
    if (ticks.every((t) => Math.abs(t.py - py) > 16)) ticks.push({ py, label: decadeLabel(exp) });
  }
  for (const t of ticks) {
    svg.line(bar.x + bar.w, t.py, bar.x + bar.w + 4, t.py, { stroke: MUTED });
    const atFloor = Math.abs(t.py - (bar.y + bar.h)) < 0.5;
    svg.text(bar.x + bar.w + 7, t.py + 4, (capped && atFloor ? '≤ ' : '') + t.label, { 'font-size': 11, fill: MUTED });
  }
}
