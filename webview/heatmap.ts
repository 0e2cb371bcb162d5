// Canvas heatmap: the matrix is painted once into an offscreen canvas at one pixel per
// cell (ImageData), then blitted scaled with smoothing off, so a 1000 x 500 matrix costs
// one pass over its cells; hover and keyboard cursor only redraw a thin overlay canvas.
import { cellAt, colorize, indexTicks, moveCursor, poolMax, scanMatrix, type ColorizeStats, type PlotRect } from './heatmapImage';
import { el } from './dom';
import { formatExp, legendTicks, lutColor, paletteLut, LUT_SIZE, SPECIAL, type LogDomain } from './scales';
import type { Theme } from './theme';
import { EMPTY, type HeatmapMatrix } from './viewModel';

export interface Cursor {
  row: number;
  col: number;
}

export interface HeatmapTimings {
  /** Scan for the colour domain, pooling to the plot's pixels, colour mapping into the offscreen image. */
  colorizeMs: number;
  /** Axes + scaled blit + legend. */
  drawMs: number;
}

const MARGIN = { left: 64, right: 12, top: 8, bottom: 40 };
/** A side bar at its default width (about 180-300 px): smaller margins, so the plot keeps its room. */
const NARROW_MARGIN = { left: 46, right: 6, top: 8, bottom: 36 };
const NARROW_WIDTH = 320;
const LEGEND_HEIGHT = 46;
/** Narrow legends name the quantity on a line above the bar, and list special colours below it. */
const LEGEND_LABEL = 16;

export class HeatmapCanvas {
  readonly root: HTMLElement;
  private readonly plot: HTMLCanvasElement;
  private readonly overlay: HTMLCanvasElement;
  private readonly legend: HTMLCanvasElement;
  private readonly status: HTMLElement;
  private readonly note: HTMLElement;
  private readonly image: HTMLCanvasElement;
  private m: HeatmapMatrix | null = null;
  private theme: Theme | null = null;
  private domain: LogDomain | null = null;
  private stats: ColorizeStats = { nonFinite: 0, zero: 0, empty: 0 };
  private rect: PlotRect = { left: 0, top: 0, width: 1, height: 1 };
  private cursor: Cursor | null = null;
  private cssWidth = 0;
  /** Pooled size the offscreen image was coloured at ('' = must recolour). */
  private imageKey = '';
  private cssHeight = 0;
  private margin = MARGIN;
  /** In an editor tab the plot may use the whole height. */
  expand = false;

  constructor(private readonly onCursor: (c: Cursor | null) => void) {
    this.plot = el('canvas', { class: 'heatmap-plot', attrs: { tabindex: '0', role: 'img' } });
    this.overlay = el('canvas', { class: 'heatmap-overlay', attrs: { 'aria-hidden': 'true' } });
    this.legend = el('canvas', { class: 'heatmap-legend', attrs: { role: 'img' } });
    this.status = el('p', { class: 'heatmap-status', attrs: { 'aria-live': 'polite' } });
    this.note = el('p', { class: 'heatmap-note' });
    this.image = document.createElement('canvas');
    this.root = el('div', { class: 'heatmap' }, [
      el('div', { class: 'heatmap-stack' }, [this.plot, this.overlay]),
      this.legend,
      this.status,
      this.note,
    ]);
    this.plot.addEventListener('mousemove', (e) => this.hover(e));
    this.plot.addEventListener('mouseleave', () => {
      if (document.activeElement !== this.plot) this.setCursor(null);
    });
    this.plot.addEventListener('focus', () => this.setCursor(this.cursor ?? { row: 0, col: 0 }));
    this.plot.addEventListener('keydown', (e) => this.key(e));
  }

  /** New data or theme: recolour every cell. Returns timings of this render. */
  setData(m: HeatmapMatrix, theme: Theme, cursor: Cursor | null, width: number): HeatmapTimings {
    const t0 = performance.now();
    this.m = m;
    this.theme = theme;
    const scan = scanMatrix(m.values);
    this.domain = scan.domain ?? { lo: -1, hi: 0 };
    this.stats = scan;
    this.imageKey = '';
    this.cursor = cursor && cursor.row < m.rows && cursor.col < m.cols ? cursor : null;
    const scanMs = performance.now() - t0;
    const colorMs = this.layout(width);
    const total = performance.now() - t0;
    return { colorizeMs: scanMs + colorMs, drawMs: total - scanMs - colorMs };
  }

  /**
   * Container resized: re-blit the cached image at the new size, re-pooling the matrix
   * first when the plot now has a different number of device pixels than before.
   * Returns the ms spent pooling and colouring (0 when the cached image was reused).
   */
  layout(width: number): number {
    const t0 = performance.now();
    const m = this.m;
    if (!m || !this.theme) return 0;
    const w = Math.max(140, Math.floor(width));
    this.margin = w < NARROW_WIDTH ? NARROW_MARGIN : MARGIN;
    const MARGIN_ = this.margin;
    const plotW = w - MARGIN_.left - MARGIN_.right;
    // Keep the legend and the readout on screen in a short side-bar view.
    // Room left below the plot's top for the plot, the legend and the readout, in this view's height.
    const top = this.root.isConnected ? this.root.getBoundingClientRect().top + window.scrollY : 150;
    const below = MARGIN_.top + MARGIN_.bottom + LEGEND_HEIGHT + (MARGIN_ === NARROW_MARGIN ? LEGEND_LABEL : 0) + 56;
    // A heatmap that starts below the first screen (the probe editor's, under the report) is
    // scrolled to: it may use a screen's height rather than the room left under its top.
    const room = top < window.innerHeight ? window.innerHeight - top - below : window.innerHeight - below - 40;
    const maxH = Math.max(90, Math.min(this.expand ? 900 : 560, room));
    const plotH = m.kind === 'itemized' ? Math.min(plotW, maxH) : Math.max(90, Math.min(maxH, m.rows * 24));
    this.cssWidth = w;
    this.cssHeight = plotH + MARGIN_.top + MARGIN_.bottom;
    this.rect = { left: MARGIN_.left, top: MARGIN_.top, width: plotW, height: plotH };
    const dpr = window.devicePixelRatio || 1;
    const pooled = { rows: Math.min(m.rows, Math.ceil(plotH * dpr)), cols: Math.min(m.cols, Math.ceil(plotW * dpr)) };
    const key = `${pooled.rows}x${pooled.cols}`;
    let colorMs = 0;
    if (key !== this.imageKey) {
      // One pixel per (pooled) cell, coloured once; drawn scaled with smoothing off.
      const p = poolMax(m.values, m.rows, m.cols, pooled.rows, pooled.cols);
      this.image.width = p.cols;
      this.image.height = p.rows;
      const ictx = this.image.getContext('2d')!;
      const img = ictx.createImageData(p.cols, p.rows);
      colorize(p.values, this.domain!, paletteLut(this.theme.palette), SPECIAL[this.theme.palette], img.data);
      ictx.putImageData(img, 0, 0);
      this.imageKey = key;
      colorMs = performance.now() - t0;
      const shrunk = [p.cols < m.cols ? `${m.cols} ${m.xName} columns into ${p.cols} pixels` : '', p.rows < m.rows ? `${m.rows} ${m.yName} rows into ${p.rows} pixels` : '']
        .filter(Boolean)
        .join(' and ');
      this.note.textContent = shrunk
        ? `More cells than pixels: ${shrunk}, each pixel shows the largest value of its cells (non-finite wins). The readout gives the exact cell.`
        : '';
    }
    this.drawPlot();
    this.drawLegend();
    this.drawOverlay();
    this.describe();
    return colorMs;
  }

  private sized(c: HTMLCanvasElement, w: number, h: number): CanvasRenderingContext2D {
    const dpr = window.devicePixelRatio || 1;
    c.width = Math.round(w * dpr);
    c.height = Math.round(h * dpr);
    c.style.width = `${w}px`;
    c.style.height = `${h}px`;
    const ctx = c.getContext('2d')!;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    return ctx;
  }

  private drawPlot(): void {
    const m = this.m!;
    const th = this.theme!;
    const r = this.rect;
    const ctx = this.sized(this.plot, this.cssWidth, this.cssHeight);
    ctx.clearRect(0, 0, this.cssWidth, this.cssHeight);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(this.image, r.left, r.top, r.width, r.height);
    ctx.strokeStyle = th.grid;
    ctx.lineWidth = 1;
    ctx.strokeRect(r.left - 0.5, r.top - 0.5, r.width + 1, r.height + 1);
    const fontSize = Math.max(10, th.fontSize - 2);
    ctx.font = `${fontSize}px ${th.fontFamily}`;
    ctx.fillStyle = th.foreground;
    ctx.strokeStyle = th.foreground;
    // x ticks: column centres.
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    for (const j of indexTicks(m.cols, Math.max(3, Math.floor(r.width / 80)))) {
      const x = r.left + ((j + 0.5) / m.cols) * r.width;
      ctx.beginPath();
      ctx.moveTo(x, r.top + r.height);
      ctx.lineTo(x, r.top + r.height + 4);
      ctx.stroke();
      ctx.fillText(m.colLabels(j), x, r.top + r.height + 6);
    }
    ctx.fillStyle = th.muted;
    ctx.fillText(m.xName, r.left + r.width / 2, r.top + r.height + 8 + fontSize);
    // y ticks: row centres, row 0 at the top.
    ctx.fillStyle = th.foreground;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (const i of indexTicks(m.rows, Math.max(3, Math.floor(r.height / 40)))) {
      const y = r.top + ((i + 0.5) / m.rows) * r.height;
      ctx.beginPath();
      ctx.moveTo(r.left - 4, y);
      ctx.lineTo(r.left, y);
      ctx.stroke();
      ctx.fillText(m.rowLabels(i), r.left - 6, y);
    }
    ctx.save();
    ctx.translate(12, r.top + r.height / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = 'center';
    ctx.fillStyle = th.muted;
    ctx.fillText(m.yName, 0, 0);
    ctx.restore();
  }

  private drawLegend(): void {
    const th = this.theme!;
    const d = this.domain!;
    const w = this.cssWidth;
    const narrow = this.margin === NARROW_MARGIN;
    const specialRow = narrow && (this.stats.nonFinite > 0 || this.stats.zero > 0);
    const height = LEGEND_HEIGHT + (narrow ? LEGEND_LABEL : 0) + (specialRow ? 20 : 0);
    const ctx = this.sized(this.legend, w, height);
    ctx.clearRect(0, 0, w, height);
    const lut = paletteLut(th.palette);
    // Narrow: the bar spans the whole width and the quantity is named above it, not beside it.
    const barLeft = narrow ? 4 : this.margin.left;
    const specials: { label: string; rgb: readonly number[] }[] = [];
    if (this.stats.nonFinite > 0) specials.push({ label: 'non-finite', rgb: SPECIAL[th.palette].nonFinite });
    if (this.stats.zero > 0) specials.push({ label: '0', rgb: SPECIAL[th.palette].zero });
    const specialsWidth = narrow ? 0 : specials.length * 90;
    const barW = Math.max(60, w - barLeft - this.margin.right - specialsWidth);
    const barTop = narrow ? 4 + LEGEND_LABEL : 4;
    const barH = 14;
    for (let x = 0; x < barW; x++) {
      const c = lutColor(lut, Math.round((x / Math.max(1, barW - 1)) * (LUT_SIZE - 1)));
      ctx.fillStyle = `rgb(${c[0]},${c[1]},${c[2]})`;
      ctx.fillRect(barLeft + x, barTop, 1.5, barH);
    }
    ctx.strokeStyle = th.grid;
    ctx.strokeRect(barLeft - 0.5, barTop - 0.5, barW + 1, barH + 1);
    const fontSize = Math.max(10, th.fontSize - 2);
    ctx.font = `${fontSize}px ${th.fontFamily}`;
    ctx.fillStyle = th.foreground;
    ctx.strokeStyle = th.foreground;
    ctx.textBaseline = 'top';
    const ticks = legendTicks(d, Math.max(2, Math.floor(barW / (narrow ? 50 : 60))));
    for (const t of ticks) {
      const x = barLeft + t.fraction * barW;
      ctx.textAlign = t.fraction < 0.02 ? 'left' : t.fraction > 0.98 ? 'right' : 'center';
      ctx.beginPath();
      ctx.moveTo(x, barTop + barH);
      ctx.lineTo(x, barTop + barH + 4);
      ctx.stroke();
      ctx.fillText(t.label, x, barTop + barH + 6);
    }
    ctx.fillStyle = th.muted;
    if (narrow) {
      ctx.textAlign = 'left';
      ctx.textBaseline = 'top';
      ctx.fillText(`${this.m!.quantity}, log scale`, barLeft, 2);
    } else {
      ctx.textAlign = 'right';
      ctx.textBaseline = 'middle';
      ctx.fillText(this.m!.quantity, barLeft - 6, barTop + barH / 2);
    }
    ctx.textBaseline = 'middle';
    let sx = narrow ? barLeft : barLeft + barW + 16;
    const sy = narrow ? barTop + barH + 34 : barTop + barH / 2;
    ctx.textAlign = 'left';
    for (const s of specials) {
      const top = sy - barH / 2;
      ctx.fillStyle = `rgb(${s.rgb[0]},${s.rgb[1]},${s.rgb[2]})`;
      ctx.fillRect(sx, top, barH, barH);
      ctx.strokeStyle = th.grid;
      ctx.strokeRect(sx - 0.5, top - 0.5, barH + 1, barH + 1);
      ctx.fillStyle = th.foreground;
      ctx.fillText(s.label, sx + barH + 6, sy);
      sx += 90;
    }
    this.legend.setAttribute(
      'aria-label',
      `Colour scale, logarithmic, from ${formatExp(10 ** d.lo, 3)} to ${formatExp(10 ** d.hi, 3)}` +
        (specials.length ? `; ${specials.map((s) => s.label).join(' and ')} cells drawn in their own colours` : ''),
    );
  }

  private drawOverlay(): void {
    const ctx = this.sized(this.overlay, this.cssWidth, this.cssHeight);
    ctx.clearRect(0, 0, this.cssWidth, this.cssHeight);
    const m = this.m;
    const c = this.cursor;
    if (!m || !c) {
      this.status.textContent = m ? 'Hover or focus the heatmap (arrow keys move) to read exact values.' : '';
      return;
    }
    const r = this.rect;
    const cw = r.width / m.cols;
    const ch = r.height / m.rows;
    // Crosshair box at least 5 px so a single cell of a 1000-wide matrix is still visible.
    const bw = Math.max(5, cw);
    const bh = Math.max(5, ch);
    const x = r.left + (c.col + 0.5) * cw - bw / 2;
    const y = r.top + (c.row + 0.5) * ch - bh / 2;
    ctx.lineWidth = 2;
    ctx.strokeStyle = this.theme!.background;
    ctx.strokeRect(x - 1, y - 1, bw + 2, bh + 2);
    ctx.lineWidth = 1.5;
    ctx.strokeStyle = this.theme!.focus;
    ctx.strokeRect(x, y, bw, bh);
    this.status.textContent = this.readout(c);
  }

  readout(c: Cursor): string {
    const m = this.m!;
    const v = m.values[c.row * m.cols + c.col]!;
    const value = v === EMPTY ? (m.kind === 'itemized' ? 'not defined (k > s)' : 'not recorded') : Number.isNaN(v) ? 'non-finite' : formatExp(v, 4);
    return `${m.xName} = ${m.colLabels(c.col)} · ${m.yName} = ${m.rowLabels(c.row)} · ${m.quantity} = ${value}`;
  }

  private describe(): void {
    const m = this.m!;
    const d = this.domain!;
    const parts = [
      `Heatmap of ${m.quantity}: ${m.cols} ${m.xName} columns by ${m.rows} ${m.yName} rows`,
      `values from ${formatExp(10 ** d.lo, 3)} to ${formatExp(10 ** d.hi, 3)} on a log colour scale`,
    ];
    if (this.stats.nonFinite) parts.push(`${this.stats.nonFinite} non-finite cells`);
    parts.push('focus and use the arrow keys to read values');
    this.plot.setAttribute('aria-label', `${parts.join('; ')}.`);
  }

  private setCursor(c: Cursor | null): void {
    this.cursor = c;
    this.drawOverlay();
    this.onCursor(c);
  }

  private hover(e: MouseEvent): void {
    if (!this.m) return;
    const b = this.plot.getBoundingClientRect();
    const cell = cellAt(e.clientX - b.left, e.clientY - b.top, this.rect, this.m.rows, this.m.cols);
    if (cell && (cell.row !== this.cursor?.row || cell.col !== this.cursor?.col)) this.setCursor(cell);
  }

  private key(e: KeyboardEvent): void {
    if (!this.m) return;
    const next = moveCursor(e.key, e.shiftKey, this.cursor ?? { row: 0, col: 0 }, this.m.rows, this.m.cols);
    if (!next) return;
    e.preventDefault();
    this.setCursor(next);
  }
}
