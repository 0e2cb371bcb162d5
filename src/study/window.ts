// A window T suggested from the series itself, with the reason, for Diagnose Sequence File and
// `bptt-lens diagnose --data FILE` without --length. A network that predicts the next value
// from T steps can only use what lies within them, so the window should reach back to the
// lag where the series repeats itself most: the strongest peak of its autocorrelation (a
// yearly cycle in daily data: ≈ 365; in monthly data: 12).
//
// How: remove the least-squares line (a trend makes every lag look alike), autocorrelation
// r(k) for k = 1..maxLag on the last MAX_POINTS values, and pick the lag whose r(k) rises most
// above the lowest r(j), j < k, among local maxima (a peak after a trough, not the slow decay
// at small lags). Without such a peak: the lag at which r(k) first falls below 1/e (how long
// the series remembers), or the sample default when even that is missing.

export interface WindowSuggestion {
  window: number;
  /** One sentence: why this window. */
  reason: string;
  /** The lag behind it and its autocorrelation, when there is one. */
  lag: number | null;
  r: number | null;
}

/** Values used for the autocorrelation (the most recent ones): bounds the work at ~MAX_POINTS × maxLag. */
export const MAX_POINTS = 8192;
/** Smallest rise of a peak above the trough before it that counts as a cycle. */
const MIN_PROMINENCE = 0.2;

export function suggestWindow(series: ArrayLike<number>, opts: { maxWindow: number; fallback: number }): WindowSuggestion {
  const all = Array.from(series).filter((v) => Number.isFinite(v));
  const x = all.slice(Math.max(0, all.length - MAX_POINTS));
  const n = x.length;
  // At least two windows' worth of examples beside the window itself.
  const maxLag = Math.min(opts.maxWindow, Math.floor(n / 3));
  const fallback = Math.max(1, Math.min(opts.fallback, Math.max(1, n - 2)));
  if (maxLag < 2) return { window: fallback, lag: null, r: null, reason: `the series has ${n} values: too short to measure its autocorrelation; using ${fallback}` };
  const r = autocorrelation(detrend(x), maxLag);
  if (r === null) return { window: fallback, lag: null, r: null, reason: `the series is constant once its trend is removed; using ${fallback}` };

  let best = -1;
  let bestRise = MIN_PROMINENCE;
  let trough = r[1]!;
  for (let k = 2; k <= maxLag; k++) {
    trough = Math.min(trough, r[k - 1]!);
    const isPeak = r[k]! >= r[k - 1]! && (k === maxLag || r[k]! >= r[k + 1]!) && r[k]! > 0;
    if (isPeak && r[k]! - trough > bestRise) {
      bestRise = r[k]! - trough;
      best = k;
    }
  }
  if (best > 0) {
    return {
      window: best, lag: best, r: r[best]!,
      reason: `the series' autocorrelation peaks at lag ${best} (r = ${r[best]!.toFixed(2)}, after falling to ${(r[best]! - bestRise).toFixed(2)}): a window of ${best} steps reaches back one full cycle`,
    };
  }
  for (let k = 1; k <= maxLag; k++) {
    if (r[k]! < 1 / Math.E) {
      const w = Math.max(2, Math.min(maxLag, 2 * k));
      return { window: w, lag: k, r: r[k]!, reason: `no repeating cycle; the autocorrelation falls below 1/e at lag ${k}, so a window of ${w} steps covers twice the span the series remembers` };
    }
  }
  return { window: maxLag, lag: null, r: null, reason: `the autocorrelation stays above 1/e up to lag ${maxLag}: the longest window that leaves enough examples` };
}

function detrend(x: number[]): number[] {
  const n = x.length;
  let st = 0, sy = 0, stt = 0, sty = 0;
  for (let t = 0; t < n; t++) { st += t; sy += x[t]!; stt += t * t; sty += t * x[t]!; }
  const den = n * stt - st * st;
  const b = den === 0 ? 0 : (n * sty - st * sy) / den;
  const a = (sy - b * st) / n;
  return x.map((v, t) => v - a - b * t);
}

/** r(k) for k = 0..maxLag (r(0) = 1); null for a constant series. */
export function autocorrelation(x: number[], maxLag: number): number[] | null {
  const n = x.length;
  const mean = x.reduce((s, v) => s + v, 0) / n;
  const d = x.map((v) => v - mean);
  const c0 = d.reduce((s, v) => s + v * v, 0);
  if (!(c0 > 0)) return null;
  const r = [1];
  for (let k = 1; k <= maxLag; k++) {
    let c = 0;
    for (let t = k; t < n; t++) c += d[t]! * d[t - k]!;
    r.push(c / c0);
  }
  return r;
}

/** The predicted column of a Dataset windowed at T = 1 (its targets, in order): the series itself from its second value on. */
export function targetSeries(series: { count: number; outputSize: number; y: Float64Array }): Float64Array {
  const O = series.outputSize;
  const out = new Float64Array(series.count);
  for (let i = 0; i < series.count; i++) out[i] = series.y[i * O + O - 1]!;
  return out;
}

/** Whether a Dataset read with a window of 1 is a windowed series (CSV/TSV, JSON numbers or rows) whose window can be chosen. */
export function isWindowedSeries(series: { steps: number; mode: string; loss: string }): boolean {
  return series.steps === 1 && series.mode === 'many-to-one' && series.loss === 'mse';
}
