// Series helpers for the charts: JSON nulls (non-finite values in training) become gaps,
// long series are thinned without losing spikes, and small multiples share one log range.
import { isLogPlottable, pow10 } from './scales';

/** A chart point; y null draws as a gap. */
export interface Pt {
  x: number;
  y: number | null;
}

/** A value as received in JSON: non-finite numbers arrive as null. */
export type MaybeNum = number | null | undefined;

/** Clean one value for a log axis: finite positive stays, anything else is a gap. */
export function forLog(v: MaybeNum): number | null {
  return isLogPlottable(v) ? v : null;
}

/** Indices whose value is null or non-finite: what the charts mark as non-finite. */
export function nonFiniteIndices(ys: readonly MaybeNum[]): number[] {
  const out: number[] = [];
  ys.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) out.push(i);
  });
  return out;
}

/** Consecutive indices grouped into inclusive ranges: [3,4,5,9] -> [{3,5},{9,9}]. */
export function indexRanges(indices: readonly number[]): { from: number; to: number }[] {
  const out: { from: number; to: number }[] = [];
  for (const i of indices) {
    const last = out[out.length - 1];
    if (last && i === last.to + 1) last.to = i;
    else out.push({ from: i, to: i });
  }
  return out;
}

/**
 * Thin a series to about maxPoints by min/max bucketing: each bucket keeps its smallest
 * and largest values in their original order, so spikes and dips survive (a plain stride
 * would drop a one-iteration explosion). A bucket holding a gap keeps one gap point, so a
 * non-finite stretch never gets bridged. The first and last points are always kept.
 * x defaults to the index.
 */
export function downsampleMinMax(ys: readonly MaybeNum[], maxPoints: number, xs?: readonly number[]): Pt[] {
  const n = ys.length;
  const xAt = (i: number) => (xs ? xs[i]! : i);
  const yAt = (i: number): number | null => {
    const v = ys[i];
    return typeof v === 'number' && Number.isFinite(v) ? v : null;
  };
  if (n <= Math.max(maxPoints, 2)) return Array.from({ length: n }, (_, i) => ({ x: xAt(i), y: yAt(i) }));
  const buckets = Math.max(1, Math.floor((maxPoints - 2) / 3));
  const out: Pt[] = [{ x: xAt(0), y: yAt(0) }];
  const inner = n - 2;
  for (let b = 0; b < buckets; b++) {
    const start = 1 + Math.floor((b * inner) / buckets);
    const end = 1 + Math.floor(((b + 1) * inner) / buckets);
    let iMin = -1;
    let iMax = -1;
    let iGap = -1;
    for (let i = start; i < end; i++) {
      const y = yAt(i);
      if (y === null) {
        if (iGap < 0) iGap = i;
        continue;
      }
      if (iMin < 0 || y < yAt(iMin)!) iMin = i;
      if (iMax < 0 || y > yAt(iMax)!) iMax = i;
    }
    const keep = [...new Set([iMin, iMax, iGap].filter((i) => i >= 0))].sort((a, b2) => a - b2);
    for (const i of keep) out.push({ x: xAt(i), y: yAt(i) });
  }
  out.push({ x: xAt(n - 1), y: yAt(n - 1) });
  return out;
}

export interface Range {
  min: number;
  max: number;
}

/**
 * One log-axis range for several panels: min/max over every finite positive value of every
 * series (nulls, zeros and negatives ignored), widened to whole decades so panels line up
 * on the same gridlines. Null when no series has a plottable value.
 */
export function sharedLogRange(series: Iterable<readonly MaybeNum[]>, extra: readonly MaybeNum[] = []): Range | null {
  let lo = Infinity;
  let hi = -Infinity;
  const visit = (v: MaybeNum) => {
    if (!isLogPlottable(v)) return;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  };
  for (const s of series) for (const v of s) visit(v);
  for (const v of extra) visit(v);
  if (lo === Infinity) return null;
  let eLo = Math.floor(Math.log10(lo) + 1e-12);
  let eHi = Math.ceil(Math.log10(hi) - 1e-12);
  if (eHi <= eLo) eHi = eLo + 1;
  // Float underflow of 10**e for extreme exponents would give 0 or Infinity.
  eLo = Math.max(eLo, -307);
  eHi = Math.min(eHi, 307);
  return { min: pow10(eLo), max: pow10(eHi) };
}

/** Last finite value of a series, or null when there is none. */
export function lastFinite(ys: readonly MaybeNum[]): number | null {
  for (let i = ys.length - 1; i >= 0; i--) {
    const v = ys[i];
    if (typeof v === 'number' && Number.isFinite(v)) return v;
  }
  return null;
}

/** Median of the finite values (for summaries such as the median pre-clip norm). */
export function medianFinite(ys: readonly MaybeNum[]): number | null {
  const v = ys.filter((y): y is number => typeof y === 'number' && Number.isFinite(y)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}
