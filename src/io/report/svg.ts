// Minimal SVG plotting kit for the report figures: scales (linear and log10), axes with
// readable ticks, line series that survive NaN/Infinity/zero and thousands of points, and
// the palettes. Pure string building, no DOM, so it runs in Node, the worker and tests.
// Every piece of text goes through escapeXml.
import { decadeLabel, escapeXml, fmtNum } from './format';

export interface Rect { x: number; y: number; w: number; h: number }

export const FONT = 'system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif';
export const INK = '#1f2328';
export const MUTED = '#57606a';
export const GRID = '#d8dee4';
export const BACKGROUND = '#ffffff';
/** Marks for values a chart cannot place: non-finite (red) and zero on a log axis (grey). */
export const NONFINITE_COLOR = '#d1242f';
export const ZERO_COLOR = '#8c959f';

/** Okabe–Ito colour-blind-safe categories (yellow dropped: unreadable on white). */
export const CATEGORY_COLORS = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#000000', '#999999'];
/** Dash patterns that extend the palette past 8 runs. */
const DASHES = ['', '6 3', '2 2', '8 3 2 3'];

export function seriesStyle(index: number): { color: string; dash: string } {
  return { color: CATEGORY_COLORS[index % CATEGORY_COLORS.length]!, dash: DASHES[Math.floor(index / CATEGORY_COLORS.length) % DASHES.length]! };
}

export const VERDICT_COLORS: Record<string, string> = { vanishing: '#0969da', exploding: '#cf222e', healthy: '#1a7f37' };

/** Round a coordinate to 0.1 px: plenty for a figure, and keeps files small. */
export function r1(v: number): string {
  const x = Math.round(v * 10) / 10;
  return Object.is(x, -0) ? '0' : String(x);
}

/** Attribute string with escaped values; undefined/empty values are skipped. */
export function attrs(a: Record<string, string | number | undefined>): string {
  let s = '';
  for (const [k, v] of Object.entries(a)) {
    if (v === undefined || v === '') continue;
    s += ` ${k}="${escapeXml(typeof v === 'number' ? r1(v) : v)}"`;
  }
  return s;
}

/** An SVG document under construction. */
export class Svg {
  private readonly parts: string[] = [];
  constructor(readonly width: number, readonly height: number, readonly title: string, readonly description = '') {}

  add(fragment: string): this {
    this.parts.push(fragment);
    return this;
  }

  text(x: number, y: number, content: string, a: Record<string, string | number | undefined> = {}): this {
    return this.add(`<text${attrs({ x, y, ...a })}>${escapeXml(content)}</text>`);
  }

  line(x1: number, y1: number, x2: number, y2: number, a: Record<string, string | number | undefined> = {}): this {
    return this.add(`<line${attrs({ x1, y1, x2, y2, ...a })}/>`);
  }

  rect(r: Rect, a: Record<string, string | number | undefined> = {}): this {
    return this.add(`<rect${attrs({ x: r.x, y: r.y, width: Math.max(0, r.w), height: Math.max(0, r.h), ...a })}/>`);
  }

  toString(): string {
    const head =
      `<svg xmlns="http://www.w3.org/2000/svg"${attrs({ width: this.width, height: this.height, viewBox: `0 0 ${this.width} ${this.height}`, role: 'img', 'font-family': FONT, 'font-size': 12, fill: INK })}>` +
      `<title>${escapeXml(this.title)}</title>` +
      (this.description ? `<desc>${escapeXml(this.description)}</desc>` : '') +
      // An opaque background keeps the figure legible on dark editor themes.
      `<rect class="bg" width="100%" height="100%" fill="${BACKGROUND}"/>`;
    return head + this.parts.join('') + '</svg>\n';
  }
}

// ---------------------------------------------------------------- scales

export interface Tick { value: number; label: string }

export interface Scale {
  kind: 'linear' | 'log';
  /** Domain ends (for log: positive values). */
  lo: number;
  hi: number;
  /** Data value to pixel; log scales clamp values <= lo to the axis floor. */
  map(v: number): number;
  ticks(): Tick[];
}

export function linearScale(lo: number, hi: number, p0: number, p1: number, integer = false, tickCount = 6): Scale {
  if (!(hi > lo)) [lo, hi] = lo === hi && Number.isFinite(lo) ? [lo - (Math.abs(lo) || 1) * 0.5, hi + (Math.abs(hi) || 1) * 0.5] : [0, 1];
  const k = (p1 - p0) / (hi - lo);
  return {
    kind: 'linear', lo, hi,
    map: (v) => p0 + (v - lo) * k,
    ticks: () => niceTicks(lo, hi, tickCount, integer).map((value) => ({ value, label: fmtNum(value, 3) })),
  };
}

const DECADE_STEPS = [1, 2, 3, 4, 5, 10, 20, 25, 50, 100];

/** Log10 scale spanning whole decades; lo and hi are the domain values 10^a, 10^b. */
export function logScale(loExp: number, hiExp: number, p0: number, p1: number): Scale {
  if (!(hiExp > loExp)) hiExp = loExp + 1;
  const lo = 10 ** loExp;
  const hi = 10 ** hiExp;
  const k = (p1 - p0) / (hiExp - loExp);
  return {
    kind: 'log', lo, hi,
    map: (v) => p0 + (Math.max(loExp, Math.min(hiExp, v > 0 ? Math.log10(v) : loExp)) - loExp) * k,
    ticks: () => {
      const span = hiExp - loExp;
      const out: Tick[] = [];
      if (span <= 2) {
        // Few decades: label 2× and 5× too, so the axis is not left with two ticks.
        for (let e = loExp; e <= hiExp; e++) {
          for (const m of [1, 2, 5]) if (m === 1 || e < hiExp) out.push({ value: m * 10 ** e, label: m === 1 ? decadeLabel(e) : `${m}e${e}` });
        }
        return out;
      }
      const step = DECADE_STEPS.find((s) => span / s <= 7) ?? Math.ceil(span / 7);
      for (let e = Math.ceil(loExp / step) * step; e <= hiExp; e += step) out.push({ value: 10 ** e, label: decadeLabel(e) });
      return out;
    },
  };
}

/**
 * Decade range [floor(log10 min), ceil(log10 max)] over the finite positive values, at most
 * maxSpan decades deep (values further down are drawn on the floor and marked: 1e-30 and
 * 1e-300 are both "vanished", and a 300-decade axis would flatten every other curve).
 * Null when there are no finite positive values.
 */
export function decadeRange(series: Iterable<number>[], maxSpan = 24): [number, number] | null {
  let min = Infinity;
  let max = -Infinity;
  for (const s of series) for (const v of s) if (v > 0 && Number.isFinite(v)) { if (v < min) min = v; if (v > max) max = v; }
  if (!(max >= min)) return null;
  return decadesOfLogs(Math.log10(min), Math.log10(max), maxSpan);
}

/** The decade range for log10 values in [minLog, maxLog]; see decadeRange. */
export function decadesOfLogs(minLog: number, maxLog: number, maxSpan = 24): [number, number] {
  const hi = Math.min(Math.ceil(maxLog - 1e-9), 310) || 0; // no -0
  let lo = Math.floor(minLog + 1e-9);
  // A capped floor sits on a multiple of 4 decades so the axis labels it.
  if (lo < hi - maxSpan) lo = Math.floor((hi - maxSpan) / 4) * 4;
  return [Math.min(lo, hi - 1), hi];
}

/** Finite min/max over the series, or null. */
export function finiteRange(series: Iterable<number>[]): [number, number] | null {
  let min = Infinity;
  let max = -Infinity;
  for (const s of series) for (const v of s) if (Number.isFinite(v)) { if (v < min) min = v; if (v > max) max = v; }
  return max >= min ? [min, max] : null;
}

/** True when every finite value is positive and there is at least one (a log axis fits). */
export function allPositive(series: Iterable<number>[]): boolean {
  let any = false;
  for (const s of series) for (const v of s) if (Number.isFinite(v)) { if (v <= 0) return false; any = true; }
  return any;
}

export function niceTicks(lo: number, hi: number, count: number, integer = false): number[] {
  const span = hi - lo;
  if (!(span > 0) || !Number.isFinite(span)) return [lo];
  let step = 10 ** Math.floor(Math.log10(span / count));
  const err = (span / count) / step;
  if (err >= 7.5) step *= 10;
  else if (err >= 3.5) step *= 5;
  else if (err >= 1.5) step *= 2;
  if (integer) step = Math.max(1, Math.round(step));
  const out: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : Number(v.toPrecision(12)));
  return out;
}

// ---------------------------------------------------------------- axes

export interface AxisOptions {
  xTitle?: string;
  yTitle?: string;
  /** Draw y tick labels (small multiples label only the first column). */
  yLabels?: boolean;
  xLabels?: boolean;
}

/** Frame, grid lines, tick labels and axis titles for one plot area. */
export function drawAxes(svg: Svg, plot: Rect, x: Scale, y: Scale, o: AxisOptions = {}): void {
  const bottom = plot.y + plot.h;
  let grid = '';
  let labels = '';
  for (const t of y.ticks()) {
    const py = y.map(t.value);
    if (py < plot.y - 0.5 || py > bottom + 0.5) continue;
    grid += `M${r1(plot.x)} ${r1(py)}h${r1(plot.w)}`;
    if (o.yLabels !== false) labels += `<text${attrs({ x: plot.x - 5, y: py + 4, 'text-anchor': 'end' })}>${escapeXml(t.label)}</text>`;
  }
  for (const t of x.ticks()) {
    const px = x.map(t.value);
    if (px < plot.x - 0.5 || px > plot.x + plot.w + 0.5) continue;
    grid += `M${r1(px)} ${r1(plot.y)}v${r1(plot.h)}`;
    if (o.xLabels !== false) labels += `<text${attrs({ x: px, y: bottom + 15, 'text-anchor': 'middle' })}>${escapeXml(t.label)}</text>`;
  }
  svg.add(`<path d="${grid}" stroke="${GRID}" stroke-width="1" fill="none"/>`);
  svg.rect(plot, { fill: 'none', stroke: MUTED, 'stroke-width': 1 });
  svg.add(`<g fill="${MUTED}" font-size="11">${labels}</g>`);
  if (o.xTitle) svg.text(plot.x + plot.w / 2, bottom + 32, o.xTitle, { 'text-anchor': 'middle', fill: INK });
  if (o.yTitle) yAxisTitle(svg, plot, o.yTitle, 48, { fill: INK });
}

/** A y-axis title, rotated to read bottom-up, centred `gap` px left of the plot. */
export function yAxisTitle(svg: Svg, plot: Rect, title: string, gap = 48, a: Record<string, string> = {}): void {
  const cx = plot.x - gap;
  const cy = plot.y + plot.h / 2;
  svg.text(cx, cy, title, { 'text-anchor': 'middle', transform: `rotate(-90 ${r1(cx)} ${r1(cy)})`, ...a });
}

// ---------------------------------------------------------------- series

export interface SeriesStyle {
  color: string;
  width?: number;
  dash?: string;
  opacity?: number;
  /** Extra attributes on the group (the HTML page uses data-run to toggle runs). */
  data?: Record<string, string>;
}

/** A series with more than two points per this many pixels is reduced to its min/max per column. */
const PX_PER_COLUMN = 2;

/**
 * Compact path data for a polyline: one absolute move, then relative line-tos on a 0.1 px
 * grid (differences of rounded coordinates, so rounding never accumulates).
 */
export function pathData(points: [number, number][]): string {
  let d = '';
  let px = 0;
  let py = 0;
  points.forEach(([x, y], k) => {
    const ix = Math.round(x * 10);
    const iy = Math.round(y * 10);
    if (k === 0) d += `M${num10(ix)} ${num10(iy)}l`;
    else {
      const dx = num10(ix - px);
      const dy = num10(iy - py);
      d += (k > 1 && !dx.startsWith('-') ? ' ' : '') + dx + (dy.startsWith('-') ? '' : ' ') + dy;
    }
    px = ix;
    py = iy;
  });
  return points.length === 1 ? d.slice(0, -1) : d;
}

/** An integer count of tenths as a short decimal: 12 -> "1.2", -3 -> "-.3", 0 -> "0". */
function num10(tenths: number): string {
  if (tenths === 0) return '0';
  const sign = tenths < 0 ? '-' : '';
  const a = Math.abs(tenths);
  const whole = Math.floor(a / 10);
  const frac = a % 10;
  return sign + (frac === 0 ? String(whole) : `${whole === 0 ? '' : whole}.${frac}`);
}

/**
 * Draw values[i] at x = xOf(i) as a polyline. Non-finite values break the line and are
 * marked (a pale red band over the gap and a red × at the top edge); values off the axis
 * (zeros on a log axis included) are drawn on its edge and marked with a grey triangle; an isolated point gets
 * a dot so one-point series stay visible. Long series are reduced to min/max per column.
 */
export function drawSeries(svg: Svg, plot: Rect, x: Scale, y: Scale, values: ArrayLike<number>, style: SeriesStyle, xOf: (i: number) => number = (i) => i, mark = true): void {
  const n = values.length;
  const segments: number[][] = [];
  const gaps: [number, number][] = [];
  const floors: number[] = [];
  const ceilings: number[] = [];
  let seg: number[] = [];
  let gapStart = -1;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    const finite = Number.isFinite(v);
    if (!finite) {
      if (gapStart < 0) gapStart = i;
      if (seg.length) segments.push(seg);
      seg = [];
      continue;
    }
    if (gapStart >= 0) { gaps.push([gapStart, i - 1]); gapStart = -1; }
    if (y.kind === 'log' && v < y.lo && (i === 0 || !(values[i - 1]! < y.lo))) floors.push(i);
    if (v > y.hi && (i === 0 || !(values[i - 1]! > y.hi))) ceilings.push(i);
    seg.push(i);
  }
  if (seg.length) segments.push(seg);
  if (gapStart >= 0) gaps.push([gapStart, n - 1]);

  if (!mark) { gaps.length = 0; floors.length = 0; ceilings.length = 0; }
  const g: string[] = [];
  const half = n > 1 ? Math.abs(x.map(xOf(1)) - x.map(xOf(0))) / 2 : 3;
  for (const [a, b] of gaps) {
    const x0 = Math.max(plot.x, x.map(xOf(a)) - Math.max(half, 1.5));
    const x1 = Math.min(plot.x + plot.w, x.map(xOf(b)) + Math.max(half, 1.5));
    g.push(`<rect${attrs({ x: x0, y: plot.y, width: Math.max(1, x1 - x0), height: plot.h, fill: NONFINITE_COLOR, 'fill-opacity': 0.1 })}/>`);
    const mx = x.map(xOf(a));
    g.push(`<path d="M${r1(mx - 4)} ${r1(plot.y + 2)}l8 8m0 -8l-8 8" stroke="${NONFINITE_COLOR}" stroke-width="2"><title>${escapeXml(`non-finite value from index ${xOf(a)}${b > a ? ` to ${xOf(b)}` : ''}`)}</title></path>`);
  }
  let d = '';
  const dots: number[] = [];
  for (const s of segments) {
    if (s.length === 1) { dots.push(s[0]!); continue; }
    const widthPx = Math.abs(x.map(xOf(s[s.length - 1]!)) - x.map(xOf(s[0]!)));
    const columns = Math.max(1, Math.round(widthPx / PX_PER_COLUMN));
    const pts = s.length > 2 * columns ? envelope(s, values, columns) : s;
    d += pathData(pts.map((i) => [x.map(xOf(i)), y.map(values[i]!)]));
  }
  const stroke = attrs({ stroke: style.color, 'stroke-width': style.width ?? 1.6, 'stroke-dasharray': style.dash, 'stroke-opacity': style.opacity, 'stroke-linejoin': 'round' });
  if (d) g.push(`<path d="${d}" fill="none"${stroke}/>`);
  for (const i of dots) g.push(`<circle${attrs({ cx: x.map(xOf(i)), cy: y.map(values[i]!), r: 2.5, fill: style.color })}/>`);
  for (const i of floors) {
    const px = x.map(xOf(i));
    const py = plot.y + plot.h;
    g.push(`<path d="M${r1(px - 4)} ${r1(py - 8)}h8l-4 7z" fill="${ZERO_COLOR}"><title>${escapeXml(`${fmtNum(values[i]!)} at index ${xOf(i)}: below the axis, drawn on its floor`)}</title></path>`);
  }
  for (const i of ceilings) {
    const px = x.map(xOf(i));
    g.push(`<path d="M${r1(px - 4)} ${r1(plot.y + 8)}h8l-4 -7z" fill="${ZERO_COLOR}"><title>${escapeXml(`${fmtNum(values[i]!)} at index ${xOf(i)}: above the axis, drawn on its top`)}</title></path>`);
  }
  const data = style.data ? attrs(style.data) : '';
  svg.add(`<g${data}>${g.join('')}</g>`);
}

/**
 * Reduce a long run of indices to the min and max of each of `columns` buckets, in index
 * order, plus the run's two ends: the drawn line keeps every spike a full path would show.
 */
function envelope(indices: number[], values: ArrayLike<number>, columns: number): number[] {
  const out: number[] = [];
  const per = indices.length / columns;
  for (let c = 0; c < columns; c++) {
    const a = Math.floor(c * per);
    const b = Math.min(indices.length, Math.floor((c + 1) * per));
    if (b <= a) continue;
    let lo = a;
    let hi = a;
    for (let j = a; j < b; j++) {
      if (values[indices[j]!]! < values[indices[lo]!]!) lo = j;
      if (values[indices[j]!]! > values[indices[hi]!]!) hi = j;
    }
    const keep = [lo, hi];
    if (c === 0) keep.push(a);
    if (b === indices.length) keep.push(b - 1);
    for (const j of [...new Set(keep)].sort((p, q) => p - q)) out.push(indices[j]!);
  }
  return out;
}

// ---------------------------------------------------------------- colour

const VIRIDIS = ['#440154', '#482878', '#3e4989', '#31688e', '#26828e', '#1f9e89', '#35b779', '#6ece58', '#b5de2b', '#fde725'];

/** Viridis (perceptually uniform, colour-blind safe) at t in [0, 1]. */
export function viridis(t: number): string {
  const u = Math.max(0, Math.min(1, Number.isFinite(t) ? t : 0)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(u));
  const f = u - i;
  const a = hex(VIRIDIS[i]!);
  const b = hex(VIRIDIS[i + 1]!);
  return '#' + [0, 1, 2].map((k) => Math.round(a[k]! + (b[k]! - a[k]!) * f).toString(16).padStart(2, '0')).join('');
}

function hex(c: string): number[] {
  return [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16));
}

/** Approximate rendered width of text at the given font size (for legends and titles). */
export function textWidth(text: string, fontSize = 12): number {
  return [...text].length * fontSize * 0.58;
}

/** Shorten text to fit a pixel width, with an ellipsis. */
export function fitText(text: string, width: number, fontSize = 12): string {
  const chars = [...text];
  const max = Math.max(1, Math.floor(width / (fontSize * 0.58)));
  return chars.length <= max ? text : chars.slice(0, Math.max(1, max - 1)).join('') + '…';
}
