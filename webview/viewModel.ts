// Report -> what the views draw. Pure: no DOM, no Chart.js, so the choices (which layer is
// "top", what a card says, how a heatmap matrix is laid out) are unit-tested in Node.
import type { LayerRecord } from '../src/engine/types';
import type { Recommendation, ReportRun, RunConfig, Verdict } from '../src/study/types';
import { throughTime, throughTimeAtInit, topLayerOf } from '../src/io/report/throughTime';
import { changeWords, checkSentence, finalLoss, lossText } from '../src/study/format';
import { formatExp } from './scales';
import { nonFiniteIndices, type MaybeNum } from './series';

export interface RecommendationModel {
  index: number;
  title: string;
  rationale: string;
  change: string;
  check: string | null;
  checkVerdict: Verdict | null;
  /** The run that re-ran this recommendation, when there is one. */
  checkRunId: string | null;
}

export interface CardModel {
  id: string;
  label: string;
  verdict: Verdict | null;
  facts: { name: string; value: string }[];
  evidence: string[];
  /** Plain-text notes: non-finite values met, early stop, initial verdict. */
  notes: string[];
  recommendations: RecommendationModel[];
}

export function fmtNum(v: MaybeNum, digits = 3): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return v === undefined ? '—' : 'non-finite';
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e4)) return formatExp(v, digits);
  return String(Number(v.toPrecision(digits)));
}

/** A config change as "key: value" text, e.g. "clip: norm 1, cellChoice: lstm". */
export function describeChange(change: Partial<RunConfig> | Record<string, unknown>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(change)) {
    parts.push(`${k}: ${describeValue(v)}`);
  }
  return parts.join(', ');
}

function describeValue(v: unknown): string {
  if (v === null) return 'none';
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.kind === 'string') return o.threshold === undefined ? o.kind : `${o.kind} ${describeValue(o.threshold)}`;
    return Object.entries(o)
      .map(([k, x]) => `${k}=${describeValue(x)}`)
      .join(' ');
  }
  if (typeof v === 'number') return fmtNum(v);
  return String(v);
}

export function clipDescription(run: ReportRun): string {
  const c = run.config.clip;
  if (!c || c.kind === 'none') return 'no clipping';
  return `${c.kind} ≤ ${fmtNum(c.threshold)}`;
}

/** Threshold to draw on the pre-clip global norm: only norm clipping compares to that norm. */
export function normClipThreshold(run: ReportRun): number | null {
  const c = run.config.clip;
  return c && c.kind === 'norm' && typeof c.threshold === 'number' && Number.isFinite(c.threshold) ? c.threshold : null;
}

/** "horizon (ε = 0.001)": the horizon is measured at the study's ε, a setting (not always 1e-3). */
export function horizonHeading(vanishEpsilon: number | undefined): string {
  return typeof vanishEpsilon === 'number' ? `horizon (ε = ${fmtNum(vanishEpsilon)})` : 'horizon';
}

/**
 * A run that is one pass over given weights (a state-dict probe, a training capture), not a
 * training run: no iteration was recorded.
 */
export function isSinglePass(run: Pick<ReportRun, 'history'>): boolean {
  return run.history.recorded.length === 0;
}

/** `vanishEpsilon`: the study's ε (see horizonHeading). */
export function cardModel(run: ReportRun, vanishEpsilon?: number): CardModel {
  const d = run.diagnosis;
  const h = run.history;
  // One final loss everywhere: the probe-batch loss after training (src/study/format.ts).
  const loss = finalLoss(run);
  const facts = [
    { name: 'ρ (decay per step)', value: typeof d?.decayPerStep === 'number' ? fmtNum(d.decayPerStep, 4) : '—' },
    { name: horizonHeading(vanishEpsilon), value: d ? (d.horizon === null ? `≥ ${run.timesteps} (whole sequence)` : `${d.horizon} steps`) : '—' },
  ];
  if (isSinglePass(run)) {
    // A probe of given weights or a training capture: one pass, so no "final" loss and no clipping.
    facts.push({ name: 'loss', value: lossText(loss) });
  } else {
    facts.push(
      { name: 'final loss', value: lossText(loss) },
      { name: 'clip rate', value: typeof h.clipRate === 'number' && Number.isFinite(h.clipRate) ? `${Math.round(h.clipRate * 1000) / 10}%` : '—' },
      { name: 'clipping', value: clipDescription(run) },
    );
  }
  if (run.seedSpread) {
    const s = run.seedSpread.finalLoss;
    facts.push({ name: `final loss over ${run.seeds?.length ?? 'all'} seeds`, value: `${lossText(s.min)} … ${lossText(s.median)} … ${lossText(s.max)}` });
  }
  const notes: string[] = [];
  if (run.nonFinite) {
    const nf = run.nonFinite;
    const where = [nf.layer !== null && nf.layer !== undefined ? `layer ${nf.layer}` : '', nf.t !== null && nf.t !== undefined ? `t = ${nf.t}` : '']
      .filter(Boolean)
      .join(', ');
    notes.push(`Non-finite ${nf.quantity}${where ? ` at ${where}` : ''}.`);
  }
  if (typeof h.stoppedAt === 'number') notes.push(`Training stopped at iteration ${h.stoppedAt} on a non-finite value.`);
  const lossGaps = nonFiniteIndices(h.loss as MaybeNum[]).length;
  if (lossGaps > 0 && typeof h.stoppedAt !== 'number') notes.push(`${lossGaps} iteration(s) with a non-finite loss (gaps in the curves).`);
  if (run.initialDiagnosis && d && run.initialDiagnosis.verdict !== d.verdict) {
    notes.push(`At initialisation the verdict was ${run.initialDiagnosis.verdict} (ρ = ${fmtNum(run.initialDiagnosis.decayPerStep, 4)}).`);
  }
  return {
    id: run.id,
    label: run.label,
    verdict: d?.verdict ?? null,
    facts,
    evidence: d?.evidence ?? [],
    notes,
    recommendations: run.recommendations.map((r, index) => recommendationModel(r, index, run)),
  };
}

function recommendationModel(r: Recommendation, index: number, run: ReportRun): RecommendationModel {
  const c = r.check ?? null;
  // The same before → after sentence as report.md/html and the CLI (src/study/format.ts).
  const check = c ? checkSentence(run, c, []) : null;
  return { index, title: r.title, rationale: r.rationale, change: changeWords(r.change as Record<string, unknown>), check, checkVerdict: c ? c.verdict : null, checkRunId: c ? c.runId : null };
}

/** A horizon in steps; null means the profile never fell that far within the T steps. */
function horizonText(h: number | null | undefined, T: number): string {
  return typeof h === 'number' ? String(h) : `≥ ${T}`;
}

/** One row of the verdict table at the top of the report. */
export interface SummaryRow {
  id: string;
  label: string;
  verdict: Verdict | null;
  rho: string;
  horizon: string;
  finalLoss: string;
  clipRate: string;
  /** Verdict at initialisation when it differs from the trained one. */
  atInit: string;
  /** This run re-ran another run's recommendation. */
  isCheck: boolean;
}

export function summaryRows(runs: readonly ReportRun[]): SummaryRow[] {
  const checkIds = new Set(runs.flatMap((r) => r.recommendations.map((rec) => rec.check?.runId).filter((id): id is string => !!id)));
  return runs.map((run) => {
    const c = cardModel(run);
    const fact = (prefix: string) => c.facts.find((f) => f.name.startsWith(prefix))?.value ?? '—';
    const init = run.initialDiagnosis?.verdict ?? null;
    return {
      id: run.id,
      label: run.label,
      verdict: c.verdict,
      rho: fact('ρ'),
      horizon: run.diagnosis ? horizonText(run.diagnosis.horizon, run.timesteps) : '—',
      finalLoss: isSinglePass(run) ? fact('loss') : fact('final loss'),
      clipRate: fact('clip rate'),
      atInit: init ?? '—',
      isCheck: checkIds.has(run.id),
    };
  });
}

// ------------------------------------------------------------------ per-timestep series

export type ProfileMetric = 'normalised' | 'absolute' | 'gradNormC' | 'jacobianNorm';

/** What the gradient panels can show; all on the same timestep axis (see throughTime.ts). */
export const PROFILE_METRICS: { value: ProfileMetric; label: string; short: string; axis: string; xName: string }[] = [
  { value: 'normalised', label: 'normalised p(k)/p(0)', short: 'p(k) / p(0)', axis: 'timestep t', xName: 't' },
  { value: 'absolute', label: 'absolute ‖∂L/∂h_t‖ (top layer)', short: '‖∂L/∂h_t‖', axis: 'timestep t', xName: 't' },
  { value: 'gradNormC', label: '‖∂L/∂c_t‖ (LSTM family)', short: '‖∂L/∂c_t‖', axis: 'timestep t', xName: 't' },
  { value: 'jacobianNorm', label: 'step Jacobian ‖∂s_t/∂s_{t−1}‖', short: '‖∂s_t/∂s_{t−1}‖', axis: 'timestep t', xName: 't' },
];

/** The chosen per-timestep series of a run (final pass, index t), or null when the run lacks it. */
export function profileSeries(run: ReportRun, metric: ProfileMetric): MaybeNum[] | null {
  if (metric === 'normalised' || metric === 'absolute') return throughTime(run, metric);
  const top = topLayerOf(run.layers);
  if (!top) return null;
  const s = top[metric];
  return (s as MaybeNum[] | null) ?? null;
}

/**
 * The same series for the network at initialisation (recorded iteration 0), to draw beside
 * the trained one; null when iteration 0 was not recorded or lacks the series.
 */
export function profileSeriesAtInit(run: ReportRun, metric: ProfileMetric): MaybeNum[] | null {
  if (metric === 'normalised' || metric === 'absolute') return throughTimeAtInit(run, metric);
  const rec = run.history.recorded.find((r) => r.iteration === 0);
  if (!rec) return null;
  const top = topLayerOf(rec.layers);
  return ((top?.[metric] as MaybeNum[] | null | undefined) ?? null);
}

/** One-line text description of a series, for screen readers and the canvas fallback. */
export function seriesSummary(name: string, ys: readonly MaybeNum[], xName: string): string {
  if (ys.length === 0) return `${name}: no data.`;
  let iMin = -1;
  let iMax = -1;
  ys.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) return;
    if (iMin < 0 || v < (ys[iMin] as number)) iMin = i;
    if (iMax < 0 || v > (ys[iMax] as number)) iMax = i;
  });
  const gaps = nonFiniteIndices(ys).length;
  const parts = [`${name}: ${ys.length} points`];
  if (iMin >= 0) {
    parts.push(`first ${fmtNum(ys[0])}, last ${fmtNum(ys[ys.length - 1])}`);
    parts.push(`min ${fmtNum(ys[iMin])} at ${xName} ${iMin}, max ${fmtNum(ys[iMax])} at ${xName} ${iMax}`);
  }
  if (gaps > 0) parts.push(`${gaps} non-finite`);
  return `${parts.join('; ')}.`;
}

// ------------------------------------------------------------------ heatmaps

export type HeatmapKind = 'timestepIteration' | 'timestepLayer' | 'itemized';

export const HEATMAP_KINDS: { value: HeatmapKind; label: string }[] = [
  { value: 'timestepIteration', label: 'timestep × iteration (top layer; later iterations on top)' },
  { value: 'timestepLayer', label: 'timestep × layer (final pass)' },
  { value: 'itemized', label: 'itemized T × T (‖∂ℓ_s/∂s_k‖)' },
];

/** Cell encoding in `values`: EMPTY = not applicable (drawn blank), NaN = non-finite. */
export const EMPTY = -1;

/** Larger matrices (160 MB of float64) are refused rather than freezing the view. */
export const MAX_HEATMAP_CELLS = 20_000_000;

export interface HeatmapMatrix {
  kind: HeatmapKind;
  rows: number;
  cols: number;
  /** Row-major, rows * cols; row 0 is drawn at the top. */
  values: Float64Array;
  xName: string;
  yName: string;
  /** Label of column j / row i as shown in the readout (e.g. the iteration number). */
  colLabels: (j: number) => string;
  rowLabels: (i: number) => string;
  quantity: string;
}

function put(values: Float64Array, offset: number, series: readonly MaybeNum[], cols: number): void {
  for (let j = 0; j < cols; j++) {
    const v = series[j];
    values[offset + j] = typeof v === 'number' ? v : v === null ? NaN : EMPTY;
  }
}

export type HeatmapQuantity = 'gradNormH' | 'gradNormC' | 'weightGradByStep' | 'inputGradNorm';

export const HEATMAP_QUANTITIES: { value: HeatmapQuantity; label: string; symbol: string }[] = [
  { value: 'gradNormH', label: '‖∂L/∂h_t‖ hidden-state gradient', symbol: '‖∂L/∂h_t‖' },
  { value: 'gradNormC', label: '‖∂L/∂c_t‖ cell-state gradient (LSTM family)', symbol: '‖∂L/∂c_t‖' },
  { value: 'weightGradByStep', label: 'weight-gradient part contributed at step t', symbol: '‖∂L/∂W‖ at t' },
  { value: 'inputGradNorm', label: '‖∂L/∂x_t‖ input gradient', symbol: '‖∂L/∂x_t‖' },
];

/** One per-timestep series of a layer (or the pass, for the input gradient); null when not recorded. */
function layerSeries(layer: LayerRecord | null, inputGradNorm: readonly MaybeNum[] | null | undefined, q: HeatmapQuantity): MaybeNum[] | null {
  if (q === 'inputGradNorm') return (inputGradNorm as MaybeNum[] | null | undefined) ?? null;
  if (!layer) return null;
  return (layer[q] as MaybeNum[] | null | undefined) ?? null;
}

/** Which quantities a heatmap kind can show for this run (itemized has its own, fixed one). */
export function availableQuantities(run: ReportRun, kind: HeatmapKind): HeatmapQuantity[] {
  if (kind === 'itemized') return [];
  return HEATMAP_QUANTITIES.map((q) => q.value).filter((q) => {
    if (kind === 'timestepLayer') return q !== 'inputGradNorm' && run.layers.some((l) => (layerSeries(l, null, q)?.length ?? 0) > 0);
    return run.history.recorded.some((r) => (layerSeries(topLayerOf(r.layers), r.inputGradNorm, q)?.length ?? 0) > 0);
  });
}

/** Which heatmap kinds a run can show, in selector order. */
export function availableHeatmaps(run: ReportRun): HeatmapKind[] {
  const out: HeatmapKind[] = [];
  // A kind is offered only when it has at least one cell (createImageData refuses 0 x n).
  if (availableQuantities(run, 'timestepIteration').length > 0) out.push('timestepIteration');
  if (availableQuantities(run, 'timestepLayer').length > 0) out.push('timestepLayer');
  if (run.itemized && run.itemized.length > 0) out.push('itemized');
  return out;
}

/** Rows of per-timestep series -> a matrix (short rows padded with EMPTY); null when empty or too big. */
function fromRows(series: (MaybeNum[] | null)[]): { values: Float64Array; rows: number; cols: number } | null {
  const cols = Math.max(0, ...series.map((r) => r?.length ?? 0));
  const rows = series.length;
  if (rows === 0 || cols === 0 || rows * cols > MAX_HEATMAP_CELLS) return null;
  const values = new Float64Array(rows * cols).fill(EMPTY);
  series.forEach((r, i) => {
    if (r) put(values, i * cols, r, cols);
  });
  return { values, rows, cols };
}

export function heatmapMatrix(run: ReportRun, kind: HeatmapKind, quantity: HeatmapQuantity = 'gradNormH'): HeatmapMatrix | null {
  const symbol = HEATMAP_QUANTITIES.find((q) => q.value === quantity)!.symbol;
  if (kind === 'timestepIteration') {
    // Later iterations on top, as in report.html and the SVGs (iteration grows upwards like a y axis).
    const recs = [...run.history.recorded].reverse();
    const m = fromRows(recs.map((r) => layerSeries(topLayerOf(r.layers), r.inputGradNorm, quantity)));
    if (!m) return null;
    return {
      kind, ...m,
      xName: 'timestep t', yName: 'iteration',
      colLabels: (j) => String(j), rowLabels: (i) => String(recs[i]!.iteration),
      quantity: symbol,
    };
  }
  if (kind === 'timestepLayer') {
    const ls = [...run.layers].sort((a, b) => b.layer - a.layer || a.direction.localeCompare(b.direction));
    const m = quantity === 'inputGradNorm' ? null : fromRows(ls.map((l) => layerSeries(l, null, quantity)));
    if (!m) return null;
    const bidi = ls.some((l) => l.direction === 'reverse');
    return {
      kind, ...m,
      xName: 'timestep t', yName: 'layer',
      colLabels: (j) => String(j),
      rowLabels: (i) => `${ls[i]!.layer}${bidi ? ` ${ls[i]!.direction}` : ''}`,
      quantity: symbol,
    };
  }
  const it = run.itemized;
  if (!it || it.length === 0 || it.length * it.length > MAX_HEATMAP_CELLS) return null;
  const n = it.length;
  const values = new Float64Array(n * n).fill(EMPTY);
  // itemized[s][k] for k <= s: row s, column k; the upper triangle stays EMPTY.
  it.forEach((row, s) => put(values, s * n, (row as MaybeNum[]).slice(0, s + 1), Math.min(s + 1, n)));
  return {
    kind, rows: n, cols: n, values,
    xName: 'state k', yName: 'scored step s',
    colLabels: (j) => String(j), rowLabels: (i) => String(i),
    quantity: '‖∂ℓ_s/∂s_k‖',
  };
}
