// Chart.js line charts for the Report panel: log y axes with decade ticks, gaps for
// non-finite values (the stretch shaded, a ▼ on its top edge), and a dashed threshold
// line; both overlays come from a small plugin of ours instead of another dependency.
import {
  Chart, Legend, LinearScale, LineController, LineElement, LogarithmicScale, PointElement, Tooltip,
  type ChartConfiguration, type ChartType, type Plugin, type Scale,
} from 'chart.js';
import { fade, formatExp, formatPow10, logAxisTicks } from './scales';
import type { Pt, Range } from './series';
import type { Theme } from './theme';

Chart.register(LineController, LineElement, PointElement, LinearScale, LogarithmicScale, Legend, Tooltip);

export interface LineSeries {
  label: string;
  points: Pt[];
  color: string;
  dashed?: boolean;
}

export interface GapRange {
  from: number;
  to: number;
  color: string;
}

export interface LineSpec {
  series: LineSeries[];
  xTitle: string;
  yTitle: string;
  yLog: boolean;
  /** Fixed y range (shared across small multiples); automatic when absent. */
  yRange?: Range | null;
  xMax?: number;
  threshold?: { value: number; label: string } | null;
  /** A dashed vertical line at this x (the horizon, as report.html draws it). */
  vline?: number | null;
  /** Ranges of x (inclusive, in data units) whose values are non-finite: shaded and marked. */
  gaps?: GapRange[];
  legend?: boolean;
  /** Called with the series under the pointer (null when it leaves): highlight-on-hover. */
  onHoverSeries?: (index: number | null) => void;
  /** Tooltip items: the nearest series only (many runs) instead of every series at that x. */
  nearestOnly?: boolean;
}

interface OverlayOptions {
  threshold: { value: number; label: string } | null;
  vline: number | null;
  gaps: GapRange[];
  color: string;
  background: string;
  font: string;
}

declare module 'chart.js' {
  interface PluginOptionsByType<TType extends ChartType> {
    bpttOverlay?: OverlayOptions;
  }
}

// Draws after the datasets so the threshold sits on top of the curve it is compared to.
const overlayPlugin: Plugin<'line'> = {
  id: 'bpttOverlay',
  afterDatasetsDraw(chart, _args, opts) {
    const o = opts as unknown as OverlayOptions;
    const { ctx, chartArea: area } = chart;
    const x = chart.scales.x as Scale | undefined;
    const y = chart.scales.y as Scale | undefined;
    if (!x || !y || !area) return;
    ctx.save();
    // Non-finite stretches first, so the threshold line stays on top.
    for (const g of o.gaps) {
      const x0 = Math.max(area.left, x.getPixelForValue(g.from - 0.5));
      const x1 = Math.min(area.right, x.getPixelForValue(g.to + 0.5));
      if (x1 < area.left || x0 > area.right) continue;
      ctx.fillStyle = g.color;
      ctx.globalAlpha = 0.14;
      ctx.fillRect(x0, area.top, Math.max(1, x1 - x0), area.bottom - area.top);
      ctx.globalAlpha = 1;
      ctx.beginPath();
      ctx.moveTo(x0, area.top + 8);
      ctx.lineTo(x0 - 5, area.top);
      ctx.lineTo(x0 + 5, area.top);
      ctx.closePath();
      ctx.fill();
    }
    if (o.vline !== null && Number.isFinite(o.vline)) {
      const px = x.getPixelForValue(o.vline);
      if (px >= area.left - 0.5 && px <= area.right + 0.5) {
        ctx.strokeStyle = o.color;
        ctx.globalAlpha = 0.7;
        ctx.lineWidth = 1;
        ctx.setLineDash([5, 4]);
        ctx.beginPath();
        ctx.moveTo(px, area.top);
        ctx.lineTo(px, area.bottom);
        ctx.stroke();
        ctx.setLineDash([]);
        ctx.globalAlpha = 1;
      }
    }
    if (o.threshold && Number.isFinite(o.threshold.value)) {
      const py = y.getPixelForValue(o.threshold.value);
      if (py >= area.top - 0.5 && py <= area.bottom + 0.5) {
        ctx.strokeStyle = o.color;
        ctx.lineWidth = 2;
        ctx.setLineDash([6, 4]);
        ctx.beginPath();
        ctx.moveTo(area.left, py);
        ctx.lineTo(area.right, py);
        ctx.stroke();
        ctx.setLineDash([]);
        // Label on a background patch above the line's right end, readable over the data.
        ctx.font = o.font;
        ctx.textAlign = 'right';
        ctx.textBaseline = 'bottom';
        const w = ctx.measureText(o.threshold.label).width;
        const ly = py - 3 < area.top + 14 ? py + 16 : py - 3;
        ctx.fillStyle = o.background;
        ctx.globalAlpha = 0.85;
        ctx.fillRect(area.right - w - 8, ly - 13, w + 6, 14);
        ctx.globalAlpha = 1;
        ctx.fillStyle = o.color;
        ctx.fillText(o.threshold.label, area.right - 5, ly);
      }
    }
    ctx.restore();
  },
};

function tickLabel(v: number): string {
  const e = Math.log10(v);
  return Math.abs(e - Math.round(e)) < 1e-9 ? formatPow10(Math.round(e)) : formatExp(v, 2);
}

export function lineChart(canvas: HTMLCanvasElement, spec: LineSpec, theme: Theme): Chart<'line'> {
  const font = { family: theme.fontFamily, size: Math.max(10, theme.fontSize - 2) };
  const few = spec.series.every((s) => s.points.length <= 24);
  const config: ChartConfiguration<'line', Pt[]> = {
    type: 'line',
    data: {
      datasets: spec.series.map((s) => ({
        label: s.label,
        data: s.points,
        borderColor: s.color,
        backgroundColor: s.color,
        borderWidth: 1.5,
        borderDash: s.dashed ? [5, 3] : [],
        pointRadius: few ? 2 : 0,
        pointHoverRadius: 3,
        spanGaps: false,
        tension: 0,
      })),
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      normalized: true,
      interaction: spec.nearestOnly ? { mode: 'nearest', axis: 'xy', intersect: false } : { mode: 'nearest', axis: 'x', intersect: false },
      ...(spec.onHoverSeries
        ? {
            onHover: (_event: unknown, elements: { datasetIndex: number }[]) => spec.onHoverSeries!(elements[0]?.datasetIndex ?? null),
          }
        : {}),
      color: theme.foreground,
      font,
      scales: {
        x: {
          type: 'linear',
          min: 0,
          ...(spec.xMax !== undefined ? { max: Math.max(1, spec.xMax) } : {}),
          title: { display: true, text: spec.xTitle, color: theme.muted, font },
          ticks: { color: theme.foreground, font, maxTicksLimit: 6, precision: 0 },
          grid: { color: theme.grid },
          border: { color: theme.grid },
        },
        y: {
          type: spec.yLog ? 'logarithmic' : 'linear',
          ...(spec.yRange ? { min: spec.yRange.min, max: spec.yRange.max } : {}),
          title: { display: true, text: spec.yTitle, color: theme.muted, font },
          ticks: {
            color: theme.foreground,
            font,
            callback: (v) => (spec.yLog ? tickLabel(Number(v)) : formatTick(Number(v))),
          },
          grid: { color: theme.grid },
          border: { color: theme.grid },
          ...(spec.yLog
            ? {
                afterBuildTicks: (axis: Scale) => {
                  axis.ticks = logAxisTicks(axis.min, axis.max).map((value) => ({ value }));
                },
              }
            : {}),
        },
      },
      plugins: {
        legend: {
          display: spec.legend ?? false,
          labels: { color: theme.foreground, font, boxWidth: 14, boxHeight: 2 },
        },
        tooltip: {
          callbacks: {
            label: (item) => `${item.dataset.label ?? ''}: ${formatExp(item.parsed.y, 4)}`,
            title: (items) => (items[0] ? `${spec.xTitle} ${items[0].parsed.x}` : ''),
          },
        },
        bpttOverlay: {
          threshold: spec.threshold ?? null,
          vline: spec.vline ?? null,
          gaps: spec.gaps ?? [],
          color: theme.foreground,
          background: theme.background,
          font: `${font.size}px ${theme.fontFamily}`,
        },
      },
    },
    plugins: [overlayPlugin],
  };
  return new Chart(canvas, config);
}

function formatTick(v: number): string {
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-2 || a >= 1e4)) return formatExp(v, 2);
  return String(Number(v.toPrecision(3)));
}

/**
 * Draws series `index` bold and fades the others to `opacity` (null index: all plain);
 * colours are the originals. High-contrast themes pass a higher opacity: a faded line on
 * black would all but vanish.
 */
export function emphasize(chart: Chart<'line'>, colors: readonly string[], index: number | null, opacity = 0.3): void {
  chart.data.datasets.forEach((ds, i) => {
    const on = index === null || i === index;
    const color = colors[i] ?? String(ds.borderColor);
    ds.borderColor = on ? color : fade(color, opacity);
    ds.backgroundColor = ds.borderColor;
    ds.borderWidth = index !== null && i === index ? 2.75 : 1.5;
  });
  chart.update('none');
}
