// The heatmap's pure parts: values -> RGBA pixels (one pixel per cell, the hot loop),
// pixel -> cell, tick placement and keyboard cursor moves. No DOM, unit-tested in Node.
import { LUT_SIZE, type LogDomain, type PaletteName, type Rgb } from './scales';
import { EMPTY } from './viewModel';

/** Colours for cells the palette cannot show. */
export interface SpecialColors {
  nonFinite: Rgb;
  zero: Rgb;
}

// Neither hue occurs in its palette: magenta is absent from viridis, cyan from inferno.
export const SPECIAL: Record<PaletteName, SpecialColors> = {
  viridis: { nonFinite: [255, 0, 255], zero: [128, 128, 128] },
  inferno: { nonFinite: [0, 255, 255], zero: [128, 128, 128] },
};

export interface ColorizeStats {
  nonFinite: number;
  zero: number;
  empty: number;
}

/**
 * Fills `out` (RGBA, 4 * values.length bytes) from row-major values: log-scaled palette
 * for positive finite values, special colours for NaN (non-finite) and 0, transparent for
 * EMPTY (not applicable, e.g. the itemized upper triangle).
 */
export function colorize(
  values: Float64Array, d: LogDomain, lut: Uint8ClampedArray, special: SpecialColors, out: Uint8ClampedArray,
): ColorizeStats {
  const stats: ColorizeStats = { nonFinite: 0, zero: 0, empty: 0 };
  const scale = (LUT_SIZE - 1) / (d.hi - d.lo);
  const lo = d.lo;
  const n = values.length;
  for (let i = 0, p = 0; i < n; i++, p += 4) {
    const v = values[i]!;
    if (v > 0 && v < Infinity) {
      let k = Math.round((Math.log10(v) - lo) * scale);
      if (k < 0) k = 0;
      else if (k > LUT_SIZE - 1) k = LUT_SIZE - 1;
      const q = k * 3;
      out[p] = lut[q]!;
      out[p + 1] = lut[q + 1]!;
      out[p + 2] = lut[q + 2]!;
      out[p + 3] = 255;
    } else if (v === EMPTY) {
      out[p + 3] = 0;
      stats.empty++;
    } else if (v === 0) {
      out[p] = special.zero[0];
      out[p + 1] = special.zero[1];
      out[p + 2] = special.zero[2];
      out[p + 3] = 255;
      stats.zero++;
    } else {
      // NaN (null in JSON), +Inf, or a negative value that a norm cannot have.
      out[p] = special.nonFinite[0];
      out[p + 1] = special.nonFinite[1];
      out[p + 2] = special.nonFinite[2];
      out[p + 3] = 255;
      stats.nonFinite++;
    }
  }
  return stats;
}

/** Finite positive values of a matrix, for the colour domain (EMPTY and NaN skipped). */
export function* plottable(values: Float64Array): Generator<number> {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v > 0 && v < Infinity) yield v;
  }
}

export interface PlotRect {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** The cell under a point in CSS pixels, or null outside the plot. */
export function cellAt(x: number, y: number, r: PlotRect, rows: number, cols: number): { row: number; col: number } | null {
  if (x < r.left || y < r.top || x >= r.left + r.width || y >= r.top + r.height) return null;
  const col = Math.min(cols - 1, Math.floor(((x - r.left) / r.width) * cols));
  const row = Math.min(rows - 1, Math.floor(((y - r.top) / r.height) * rows));
  return { row, col };
}

/**
 * About `maxTicks` evenly spaced integer indices in [0, n-1] on a 1-2-5 step, always
 * including 0; used for both heatmap axes.
 */
export function indexTicks(n: number, maxTicks: number): number[] {
  if (n <= 0) return [];
  if (n === 1) return [0];
  const raw = (n - 1) / Math.max(1, maxTicks - 1);
  const mag = 10 ** Math.floor(Math.log10(Math.max(1, raw)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let i = 0; i <= n - 1; i += step) out.push(i);
  return out;
}

/** Keyboard cursor: arrow keys move a cell (Shift: 10 cells), Home/End jump along the row. */
export function moveCursor(
  key: string, shift: boolean, cur: { row: number; col: number }, rows: number, cols: number,
): { row: number; col: number } | null {
  const step = shift ? 10 : 1;
  const clampR = (r: number) => Math.max(0, Math.min(rows - 1, r));
  const clampC = (c: number) => Math.max(0, Math.min(cols - 1, c));
  switch (key) {
    case 'ArrowLeft': return { row: cur.row, col: clampC(cur.col - step) };
    case 'ArrowRight': return { row: cur.row, col: clampC(cur.col + step) };
    case 'ArrowUp': return { row: clampR(cur.row - step), col: cur.col };
    case 'ArrowDown': return { row: clampR(cur.row + step), col: cur.col };
    case 'PageUp': return { row: clampR(cur.row - 10), col: cur.col };
    case 'PageDown': return { row: clampR(cur.row + 10), col: cur.col };
    case 'Home': return { row: cur.row, col: 0 };
    case 'End': return { row: cur.row, col: cols - 1 };
    default: return null;
  }
}
