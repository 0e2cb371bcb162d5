// The heatmap's pure parts: values -> RGBA pixels (one pixel per cell, the hot loop),
// pixel -> cell, tick placement and keyboard cursor moves. No DOM, unit-tested in Node.
import { logDomain, LUT_SIZE, type LogDomain, type SpecialColors } from './scales';
import { EMPTY } from './viewModel';

export interface ColorizeStats {
  nonFinite: number;
  zero: number;
  empty: number;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** An RGBA pixel as the uint32 whose bytes in memory are r, g, b, a. */
function packRgba(r: number, g: number, b: number, a: number): number {
  return LITTLE_ENDIAN ? ((a << 24) | (b << 16) | (g << 8) | r) >>> 0 : ((r << 24) | (g << 16) | (b << 8) | a) >>> 0;
}

/**
 * Fills `out` (RGBA, 4 * values.length bytes) from row-major values: log-scaled palette
 * for positive finite values, special colours for NaN (non-finite) and 0, transparent for
 * EMPTY (not applicable, e.g. the itemized upper triangle). Writes whole pixels through a
 * Uint32Array view: one store per cell, which is what keeps 500k cells well under 200 ms.
 */
export function colorize(
  values: Float64Array, d: LogDomain, lut: Uint8ClampedArray, special: SpecialColors, out: Uint8ClampedArray,
): ColorizeStats {
  const stats: ColorizeStats = { nonFinite: 0, zero: 0, empty: 0 };
  const packed = new Uint32Array(LUT_SIZE);
  for (let k = 0; k < LUT_SIZE; k++) packed[k] = packRgba(lut[k * 3]!, lut[k * 3 + 1]!, lut[k * 3 + 2]!, 255);
  const nonFinite = packRgba(special.nonFinite[0], special.nonFinite[1], special.nonFinite[2], 255);
  const zero = packRgba(special.zero[0], special.zero[1], special.zero[2], 255);
  const px = new Uint32Array(out.buffer, out.byteOffset, values.length);
  const scale = (LUT_SIZE - 1) / (d.hi - d.lo);
  const lo = d.lo;
  const n = values.length;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (v > 0 && v < Infinity) {
      let k = Math.round((Math.log10(v) - lo) * scale);
      if (k < 0) k = 0;
      else if (k > LUT_SIZE - 1) k = LUT_SIZE - 1;
      px[i] = packed[k]!;
    } else if (v === EMPTY) {
      px[i] = 0;
      stats.empty++;
    } else if (v === 0) {
      px[i] = zero;
      stats.zero++;
    } else {
      // NaN (null in JSON), +Inf, or a negative value that a norm cannot have.
      px[i] = nonFinite;
      stats.nonFinite++;
    }
  }
  return stats;
}

export interface MatrixScan extends ColorizeStats {
  /** The log colour domain over plottable cells; null when there is none. */
  domain: LogDomain | null;
}

/**
 * One pass over a matrix: its log colour domain (min and max found in linear space, so
 * only two logarithms are taken) and how many cells are non-finite, zero or EMPTY.
 */
export function scanMatrix(values: Float64Array): MatrixScan {
  let min = Infinity;
  let max = 0;
  let nonFinite = 0;
  let zero = 0;
  let empty = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v > 0 && v < Infinity) {
      if (v < min) min = v;
      if (v > max) max = v;
    } else if (v === EMPTY) empty++;
    else if (v === 0) zero++;
    else nonFinite++;
  }
  return { domain: min === Infinity ? null : logDomain([min, max]), nonFinite, zero, empty };
}

/** The log colour domain of a matrix (EMPTY, NaN, 0 skipped); null when no cell is plottable. */
export function matrixDomain(values: Float64Array): LogDomain | null {
  return scanMatrix(values).domain;
}

/**
 * Shrinks a rows x cols matrix to at most outRows x outCols by taking, per block, the
 * largest value, except that a non-finite cell wins over everything and EMPTY only shows
 * when the whole block is EMPTY. Plain nearest-neighbour scaling would silently drop
 * whole timesteps when 1000 of them share 800 pixels: a one-step explosion or a NaN
 * column must stay visible. Returns the input when it already fits.
 */
export function poolMax(values: Float64Array, rows: number, cols: number, outRows: number, outCols: number): { values: Float64Array; rows: number; cols: number } {
  const R = Math.max(1, Math.min(rows, Math.floor(outRows)));
  const C = Math.max(1, Math.min(cols, Math.floor(outCols)));
  if (R === rows && C === cols) return { values, rows, cols };
  const out = new Float64Array(R * C).fill(EMPTY);
  for (let i = 0; i < rows; i++) {
    const oi = Math.floor((i * R) / rows) * C;
    for (let j = 0; j < cols; j++) {
      const v = values[i * cols + j]!;
      if (v === EMPTY) continue;
      const o = oi + Math.floor((j * C) / cols);
      const cur = out[o]!;
      if (Number.isNaN(cur)) continue; // non-finite already wins this block
      if (!(v >= 0 && v < Infinity)) out[o] = NaN;
      else if (cur === EMPTY || v > cur) out[o] = v;
    }
  }
  return { values: out, rows: R, cols: C };
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
