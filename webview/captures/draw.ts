// Canvas drawing for the Training Captures view: a column heatmap (one column per captured
// training step, one row per timestep) and a log-scale line chart. No DOM text from data:
// labels are drawn with fillText, which cannot become markup.

import { LUT_SIZE, lutColor, paletteLut, SPECIAL, type PaletteName, type Rgb } from '../scales';

export interface Colors {
  foreground: string;
  muted: string;
  grid: string;
  background: string;
  font: string;
  series: string[];
  red: string;
  /** viridis, or inferno in the high-contrast themes (theme.ts), as in the other heatmaps. */
  palette: PaletteName;
}

/** The palette colour at t in [0, 1]: the same lookup table as every other heatmap (scales.ts). */
const css = ([r, g, b]: Rgb): string => `rgb(${r},${g},${b})`;

function paletteColor(lut: Uint8ClampedArray, t: number): string {
  return css(lutColor(lut, Math.round(Math.min(1, Math.max(0, t)) * (LUT_SIZE - 1))));
}

export interface Plot {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Sizes a canvas to its CSS box at the device pixel ratio; returns its context in CSS pixels. */
export function prepare(canvas: HTMLCanvasElement, cssWidth: number, cssHeight: number): CanvasRenderingContext2D {
  const dpr = window.devicePixelRatio || 1;
  canvas.style.width = `${cssWidth}px`;
  canvas.style.height = `${cssHeight}px`;
  canvas.width = Math.max(1, Math.round(cssWidth * dpr));
  canvas.height = Math.max(1, Math.round(cssHeight * dpr));
  const ctx = canvas.getContext('2d')!;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return ctx;
}

export interface HeatmapSpec {
  /** columns[c][t]: one column per capture. */
  columns: (number | null)[][];
  columnLabels: string[];
  rows: number;
  /** 'log': colour by log10 of positive values; 'unit': values in [0, 1]. */
  scale: 'log' | 'unit';
  xTitle: string;
  yTitle: string;
}

export interface HeatmapLayout {
  plot: Plot;
  lo: number;
  hi: number;
}

export function drawHeatmap(ctx: CanvasRenderingContext2D, w: number, h: number, spec: HeatmapSpec, colors: Colors): HeatmapLayout {
  const plot: Plot = { left: 56, top: 8, width: Math.max(10, w - 56 - 96), height: Math.max(10, h - 8 - 40) };
  ctx.clearRect(0, 0, w, h);
  ctx.font = colors.font;
  let lo = Infinity;
  let hi = -Infinity;
  for (const col of spec.columns) {
    for (const v of col) {
      if (v === null || !Number.isFinite(v)) continue;
      const x = spec.scale === 'log' ? (v > 0 ? Math.log10(v) : null) : v;
      if (x === null) continue;
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
  }
  if (spec.scale === 'unit') {
    lo = 0;
    hi = 1;
  } else if (!Number.isFinite(lo)) {
    lo = -1;
    hi = 0;
  } else if (hi - lo < 1e-9) {
    lo -= 0.5;
    hi += 0.5;
  }
  const lut = paletteLut(colors.palette);
  const nonFinite = css(SPECIAL[colors.palette].nonFinite);
  const zero = css(SPECIAL[colors.palette].zero);
  const n = spec.columns.length;
  const T = Math.max(1, spec.rows);
  const cw = plot.width / Math.max(1, n);
  const rh = plot.height / T;
  for (let c = 0; c < n; c++) {
    const col = spec.columns[c]!;
    for (let t = 0; t < T; t++) {
      const v = col[t];
      let color: string;
      if (v === null || v === undefined || !Number.isFinite(v)) color = nonFinite;
      else if (spec.scale === 'log' && v <= 0) color = zero;
      else color = paletteColor(lut, ((spec.scale === 'log' ? Math.log10(v) : v) - lo) / (hi - lo));
      ctx.fillStyle = color;
      // t = 0 at the bottom: the gradient travels down the picture, back in time.
      const y = plot.top + plot.height - (t + 1) * rh;
      ctx.fillRect(plot.left + c * cw, y, Math.ceil(cw), Math.ceil(rh));
    }
  }
  ctx.strokeStyle = colors.muted;
  ctx.strokeRect(plot.left + 0.5, plot.top + 0.5, plot.width, plot.height);
  // Axes: y = timestep, x = captured step labels (at most ~8).
  ctx.fillStyle = colors.muted;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const t of ticks(T)) ctx.fillText(String(t), plot.left - 6, plot.top + plot.height - (t + 0.5) * rh);
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  const every = Math.max(1, Math.ceil(n / 8));
  for (let c = 0; c < n; c += every) ctx.fillText(spec.columnLabels[c]!, plot.left + (c + 0.5) * cw, plot.top + plot.height + 5);
  ctx.fillStyle = colors.foreground;
  ctx.fillText(spec.xTitle, plot.left + plot.width / 2, plot.top + plot.height + 22);
  ctx.save();
  ctx.translate(14, plot.top + plot.height / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textBaseline = 'middle';
  ctx.fillText(spec.yTitle, 0, 0);
  ctx.restore();
  // Legend: a vertical colour bar.
  const bar: Plot = { left: plot.left + plot.width + 16, top: plot.top, width: 12, height: Math.min(plot.height, 160) };
  for (let k = 0; k < 40; k++) {
    ctx.fillStyle = paletteColor(lut, 1 - k / 39);
    ctx.fillRect(bar.left, bar.top + (k * bar.height) / 40, bar.width, bar.height / 40 + 1);
  }
  ctx.fillStyle = colors.muted;
  ctx.textAlign = 'left';
  ctx.textBaseline = 'middle';
  const label = (x: number) => (spec.scale === 'log' ? (10 ** x).toExponential(1) : x.toFixed(1));
  ctx.fillText(label(hi), bar.left + bar.width + 4, bar.top + 4);
  ctx.fillText(label(lo), bar.left + bar.width + 4, bar.top + bar.height - 4);
  return { plot, lo, hi };
}

function ticks(T: number): number[] {
  const step = niceStep(T / 6);
  const out: number[] = [];
  for (let t = 0; t < T; t += step) out.push(t);
  return out;
}

function niceStep(raw: number): number {
  if (raw <= 1) return 1;
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

export interface Series {
  values: (number | null)[];
  label: string;
  color: string;
  dash?: number[];
  width?: number;
}

/** A log-y line chart over t = 0..T-1; null / non-positive points break the line. */
export function drawLines(ctx: CanvasRenderingContext2D, w: number, h: number, series: Series[], colors: Colors, xTitle: string): void {
  const plot: Plot = { left: 56, top: 10, width: Math.max(10, w - 56 - 16), height: Math.max(10, h - 10 - 60) };
  ctx.clearRect(0, 0, w, h);
  ctx.font = colors.font;
  let lo = Infinity;
  let hi = -Infinity;
  let T = 1;
  for (const s of series) {
    T = Math.max(T, s.values.length);
    for (const v of s.values) {
      if (v !== null && v > 0 && Number.isFinite(v)) {
        const x = Math.log10(v);
        lo = Math.min(lo, x);
        hi = Math.max(hi, x);
      }
    }
  }
  if (!Number.isFinite(lo)) {
    lo = -1;
    hi = 0;
  }
  lo = Math.floor(lo);
  hi = Math.max(lo + 1, Math.ceil(hi));
  const xOf = (t: number) => plot.left + (T <= 1 ? plot.width / 2 : (t / (T - 1)) * plot.width);
  const yOf = (x: number) => plot.top + plot.height - ((x - lo) / (hi - lo)) * plot.height;
  ctx.strokeStyle = colors.grid;
  ctx.fillStyle = colors.muted;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  const decadeStep = Math.max(1, Math.ceil((hi - lo) / 6));
  for (let d = lo; d <= hi; d += decadeStep) {
    ctx.beginPath();
    ctx.moveTo(plot.left, yOf(d) + 0.5);
    ctx.lineTo(plot.left + plot.width, yOf(d) + 0.5);
    ctx.stroke();
    ctx.fillText(`1e${d}`, plot.left - 6, yOf(d));
  }
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (const t of ticks(T)) ctx.fillText(String(t), xOf(t), plot.top + plot.height + 5);
  ctx.fillStyle = colors.foreground;
  ctx.fillText(xTitle, plot.left + plot.width / 2, plot.top + plot.height + 20);
  for (const s of series) {
    ctx.strokeStyle = s.color;
    ctx.lineWidth = s.width ?? 1.5;
    ctx.setLineDash(s.dash ?? []);
    ctx.beginPath();
    let pen = false;
    s.values.forEach((v, t) => {
      if (v === null || !(v > 0) || !Number.isFinite(v)) {
        pen = false;
        return;
      }
      const x = xOf(t);
      const y = yOf(Math.log10(v));
      if (pen) ctx.lineTo(x, y);
      else ctx.moveTo(x, y);
      pen = true;
    });
    ctx.stroke();
  }
  ctx.setLineDash([]);
  ctx.lineWidth = 1;
  // Legend below the axis title.
  let lx = plot.left;
  const ly = plot.top + plot.height + 40;
  ctx.textAlign = 'left';
  ctx.textBaseline = 'middle';
  for (const s of series) {
    ctx.strokeStyle = s.color;
    ctx.setLineDash(s.dash ?? []);
    ctx.lineWidth = s.width ?? 1.5;
    ctx.beginPath();
    ctx.moveTo(lx, ly);
    ctx.lineTo(lx + 18, ly);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = colors.muted;
    ctx.fillText(s.label, lx + 22, ly);
    lx += 30 + ctx.measureText(s.label).width;
  }
  ctx.lineWidth = 1;
}
