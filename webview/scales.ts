// Log colour scales and decade ticks: pure functions shared by the heatmap renderer, its
// legend bar and the Chart.js log axes. No DOM here, so it is unit-tested in Node.

export type Rgb = readonly [number, number, number];
export type PaletteName = 'viridis' | 'inferno';

// Matplotlib's perceptually uniform maps sampled at 11 evenly spaced stops; interpolating
// linearly between them stays within a few levels of the 256-entry originals.
const STOPS: Record<PaletteName, string[]> = {
  viridis: ['#440154', '#482475', '#414487', '#355f8d', '#2a788e', '#21918c', '#22a884', '#44bf70', '#7ad151', '#bddf26', '#fde725'],
  // Inferno runs from near black to pale yellow: the widest lightness range, so it is the
  // map for high-contrast themes.
  inferno: ['#000004', '#160b39', '#420a68', '#6a176e', '#932667', '#bc3754', '#dd513a', '#f37819', '#fca50a', '#f6d746', '#fcffa4'],
};

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

export const LUT_SIZE = 256;

export function hexToRgb(hex: string): Rgb {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex.trim());
  if (!m) throw new Error(`not a #rrggbb colour: ${hex}`);
  return [parseInt(m[1]!, 16), parseInt(m[2]!, 16), parseInt(m[3]!, 16)];
}

/** A palette as LUT_SIZE packed RGB triples (Uint8ClampedArray of length 3 * LUT_SIZE). */
export function paletteLut(name: PaletteName): Uint8ClampedArray {
  const stops = STOPS[name].map(hexToRgb);
  const lut = new Uint8ClampedArray(LUT_SIZE * 3);
  for (let i = 0; i < LUT_SIZE; i++) {
    const pos = (i / (LUT_SIZE - 1)) * (stops.length - 1);
    const j = Math.min(Math.floor(pos), stops.length - 2);
    const f = pos - j;
    const a = stops[j]!;
    const b = stops[j + 1]!;
    for (let c = 0; c < 3; c++) lut[i * 3 + c] = Math.round(a[c]! + (b[c]! - a[c]!) * f);
  }
  return lut;
}

export function lutColor(lut: Uint8ClampedArray, index: number): Rgb {
  return [lut[index * 3]!, lut[index * 3 + 1]!, lut[index * 3 + 2]!];
}

/** Relative luminance (WCAG), used by tests to check a palette is monotone in lightness. */
export function luminance([r, g, b]: Rgb): number {
  const lin = (v: number) => {
    const s = v / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/** Finite, strictly positive: the values a log axis can show. */
export function isLogPlottable(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0;
}

export interface LogDomain {
  /** log10 of the smallest value shown. */
  lo: number;
  /** log10 of the largest value shown (> lo). */
  hi: number;
}

/**
 * The log10 domain covering every plottable value, or null when there is none. A single
 * value (or a flat series) gets half a decade either side so it still maps to mid-palette.
 */
export function logDomain(values: Iterable<number | null | undefined>): LogDomain | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!isLogPlottable(v)) continue;
    const l = Math.log10(v);
    if (l < lo) lo = l;
    if (l > hi) hi = l;
  }
  if (lo === Infinity) return null;
  if (hi - lo < 1e-9) return { lo: lo - 0.5, hi: hi + 0.5 };
  return { lo, hi };
}

/**
 * Position of v on the log domain as a LUT index 0..LUT_SIZE-1 (clamped), or -1 when v is
 * not plottable (null, non-finite, zero, negative): callers draw those distinctly.
 */
export function logColorIndex(v: number | null | undefined, d: LogDomain): number {
  if (!isLogPlottable(v)) return -1;
  const f = (Math.log10(v) - d.lo) / (d.hi - d.lo);
  const i = Math.round(f * (LUT_SIZE - 1));
  return i < 0 ? 0 : i > LUT_SIZE - 1 ? LUT_SIZE - 1 : i;
}

const NICE_STEPS = [1, 2, 3, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000];

/**
 * Integer decade exponents inside [lo, hi] (log10 units), thinned to every n-th decade so
 * there are at most maxTicks. When the range holds no whole decade, returns [] and the
 * caller labels the ends instead.
 */
export function decadeExponents(lo: number, hi: number, maxTicks = 8): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || hi < lo) return [];
  const first = Math.ceil(lo - 1e-9);
  const last = Math.floor(hi + 1e-9);
  if (last < first) return [];
  // The smallest "nice" step that keeps the count within maxTicks, anchored on its
  // multiples so ticks read 1e-10, 1e-5, 1 rather than 1e-9, 1e-4 ...
  const ticksWith = (step: number) => Math.floor(last / step) - Math.ceil(first / step) + 1;
  const step = NICE_STEPS.find((s) => ticksWith(s) <= Math.max(1, maxTicks)) ?? Math.ceil((last - first + 1) / Math.max(1, maxTicks));
  const start = Math.ceil(first / step) * step;
  const out: number[] = [];
  for (let e = start; e <= last; e += step) out.push(e + 0); // + 0 turns -0 into 0
  return out;
}

/** Legend tick: exponent e at fraction (0 = low end, 1 = high end) along the bar. */
export interface LegendTick {
  fraction: number;
  label: string;
}

export function legendTicks(d: LogDomain, maxTicks = 8): LegendTick[] {
  const exps = decadeExponents(d.lo, d.hi, maxTicks);
  if (exps.length >= 2) return exps.map((e) => ({ fraction: (e - d.lo) / (d.hi - d.lo), label: formatPow10(e) }));
  // Less than two decades inside: label the ends (and the one decade, if any) exactly.
  const ticks: LegendTick[] = [
    { fraction: 0, label: formatExp(10 ** d.lo, 2) },
    { fraction: 1, label: formatExp(10 ** d.hi, 2) },
  ];
  for (const e of exps) {
    const fraction = (e - d.lo) / (d.hi - d.lo);
    if (fraction > 0.15 && fraction < 0.85) ticks.splice(1, 0, { fraction, label: formatPow10(e) });
  }
  return ticks;
}

/** 10^e parsed from decimal text, so 1e-5 is the same double as the literal (10 ** -5 is not always). */
export function pow10(e: number): number {
  return Number(`1e${e}`);
}

/** 10^e as a short label: 1e-5, 1, 10, 1e3. */
export function formatPow10(e: number): string {
  if (e === 0) return '1';
  if (e === 1) return '10';
  return `1e${e}`;
}

/** Exponent notation for readouts: 1.234e-5; null/non-finite spelled out. */
export function formatExp(v: number | null | undefined, digits = 4): string {
  if (v === null || v === undefined) return 'non-finite';
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  if (v === 0) return '0';
  return v.toExponential(digits - 1).replace('e+', 'e');
}

/**
 * Decade ticks for a Chart.js log axis between min and max (values, not logs). Returns
 * the tick values; when the range holds fewer than two decades it adds the ends so the
 * axis is never unlabelled.
 */
export function logAxisTicks(min: number, max: number, maxTicks = 6): number[] {
  if (!(min > 0) || !(max > 0) || max < min) return [];
  const lo = Math.log10(min);
  const hi = Math.log10(max);
  const exps = decadeExponents(lo, hi, maxTicks);
  if (exps.length >= 2) return exps.map(pow10);
  const vals = [min, max, ...exps.map(pow10)];
  return [...new Set(vals)].sort((a, b) => a - b);
}

/**
 * The same colour at reduced opacity, for fading the runs that are not selected. Accepts the
 * forms theme variables come in (#rgb, #rrggbb, #rrggbbaa, rgb(), rgba()); anything else is
 * returned unchanged rather than guessed at.
 */
export function fade(color: string, alpha: number): string {
  const c = color.trim();
  let m = /^#([0-9a-f])([0-9a-f])([0-9a-f])$/i.exec(c);
  if (m) return `rgba(${parseInt(m[1]! + m[1]!, 16)}, ${parseInt(m[2]! + m[2]!, 16)}, ${parseInt(m[3]! + m[3]!, 16)}, ${alpha})`;
  m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})?$/i.exec(c);
  if (m) {
    const a = m[4] ? (parseInt(m[4], 16) / 255) * alpha : alpha;
    return `rgba(${parseInt(m[1]!, 16)}, ${parseInt(m[2]!, 16)}, ${parseInt(m[3]!, 16)}, ${Number(a.toFixed(3))})`;
  }
  m = /^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)(?:[\s,/]+([\d.]+%?))?\s*\)$/i.exec(c);
  if (m) {
    const base = m[4] === undefined ? 1 : m[4].endsWith('%') ? parseFloat(m[4]) / 100 : parseFloat(m[4]);
    return `rgba(${m[1]}, ${m[2]}, ${m[3]}, ${Number((base * alpha).toFixed(3))})`;
  }
  return c;
}
