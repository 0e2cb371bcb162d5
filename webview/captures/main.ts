// The Training Captures view (dist/captures.js): the heatmap of the total ‖∂L/∂h_t‖ over
// timestep × captured training step, the share that arrived through the recurrence, one
// capture's curves, the verdict over training with the replay check, and the unreadable
// files. It redraws (at most once per animation frame) whenever the host sends the state.
// Every text from the host goes through textContent; the host's messages are checked.
import type { CaptureSummary, CapturesFromWebview, CapturesState } from '../../src/extension/capturesProtocol';
import { readTheme } from '../theme';
import { drawHeatmap, drawLines, prepare, type Colors, type HeatmapLayout } from './draw';

interface VsCodeApi {
  postMessage(msg: CapturesFromWebview): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

declare global {
  interface Window {
    __bpttCaptures?: { columns: number; pending: number; errors: number; drawn: number; selectedStep: number | null };
  }
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

// ---------------------------------------------------------------- message checks

const isNum = (v: unknown): boolean => v === null || (typeof v === 'number' && Number.isFinite(v));
const isSeries = (v: unknown): boolean => Array.isArray(v) && v.length <= 1_000_000 && v.every(isNum);
const VERDICTS = new Set(['vanishing', 'exploding', 'healthy', null]);

function checkSummary(c: unknown): c is CaptureSummary {
  if (typeof c !== 'object' || c === null) return false;
  const s = c as Record<string, unknown>;
  return typeof s.step === 'number' && typeof s.file === 'string' && typeof s.timesteps === 'number' && VERDICTS.has(s.verdict as string | null) &&
    ['decayPerStep', 'horizon', 'replayError', 'inputGradError', 'trainingLoss'].every((k) => isNum(s[k])) &&
    isSeries(s.total) && isSeries(s.direct) && isSeries(s.recurrentShare) && Array.isArray(s.evidence) && s.evidence.every((e) => typeof e === 'string') &&
    Array.isArray(s.layers) && s.layers.every((l) => typeof l === 'object' && l !== null && typeof (l as { label?: unknown }).label === 'string' && isSeries((l as { gradNormH?: unknown }).gradNormH)) &&
    typeof s.itemizedRows === 'string';
}

export function checkState(raw: unknown): CapturesState | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const m = raw as Record<string, unknown>;
  if (m.type !== 'captures' || typeof m.folder !== 'string' || typeof m.pending !== 'number') return null;
  if (!Array.isArray(m.captures) || !m.captures.every(checkSummary)) return null;
  if (!Array.isArray(m.errors) || !m.errors.every((e) => typeof e === 'object' && e !== null && typeof (e as { file?: unknown }).file === 'string' && typeof (e as { message?: unknown }).message === 'string')) return null;
  const fc = m.firstChange as Record<string, unknown> | null;
  if (fc !== null && (typeof fc !== 'object' || typeof fc.step !== 'number' || typeof fc.from !== 'string' || typeof fc.to !== 'string')) return null;
  return raw as CapturesState;
}

// ---------------------------------------------------------------- view

/** The view's colours from the one theme reader (theme.ts), which the other webviews use. */
function colors(): Colors {
  const t = readTheme();
  return { foreground: t.foreground, muted: t.muted, grid: t.grid, background: t.background, font: `11px ${t.fontFamily}`, series: t.series.slice(0, 5), red: t.red, palette: t.palette };
}

function fmt(x: number | null, digits = 3): string {
  if (x === null) return '—';
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a >= 1e4 || a < 1e-2 ? x.toExponential(1) : String(Number(x.toPrecision(digits)));
}

class CapturesView {
  private state: CapturesState | null = null;
  private selected: number | null = null; // a step
  /** The user picked a capture: stop following the newest one. */
  private pinned = false;
  private frame = 0;
  private drawn = 0;
  private heatLayout: HeatmapLayout | null = null;
  private readonly status = el('p', 'status');
  private readonly folder = el('p', 'folder');
  private readonly errors = el('ul', 'errors');
  private readonly heat = el('canvas', 'heat');
  private readonly share = el('canvas', 'heat');
  private readonly readout = el('p', 'readout');
  private readonly picker = el('select', 'picker');
  private readonly curves = el('canvas', 'curves');
  private readonly evidence = el('ul', 'evidence');
  private readonly table = el('table', 'verdicts');
  private readonly change = el('p', 'change');
  private readonly empty = el('p', 'empty', 'Waiting for captures… Start your training with the bptt_lens recorder; each capture appears here as soon as it is written.');

  constructor(private readonly root: HTMLElement, private readonly vscode: VsCodeApi) {
    const save = el('button', 'save', 'Save Report');
    save.addEventListener('click', () => vscode.postMessage({ type: 'saveReport' }));
    const head = el('header');
    head.append(el('h1', undefined, 'Training captures'), save);
    this.heat.setAttribute('role', 'img');
    this.heat.setAttribute('aria-label', 'Total gradient norm by timestep and captured training step');
    this.share.setAttribute('role', 'img');
    this.share.setAttribute('aria-label', 'Share of the gradient that arrived through the recurrence');
    this.heat.tabIndex = 0;
    this.heat.addEventListener('mousemove', (e) => this.hover(e));
    this.heat.addEventListener('click', (e) => this.pickAt(e));
    this.picker.setAttribute('aria-label', 'Captured step');
    this.picker.addEventListener('change', () => this.pick(Number(this.picker.value)));
    root.append(
      head, this.folder, this.status, this.errors, this.empty,
      el('h2', undefined, 'Total ‖∂L/∂h_t‖ over training (top layer)'), this.heat, this.readout,
      el('h2', undefined, 'Share that arrived through the recurrence (1 − direct / total)'), this.share,
      el('h2', undefined, 'One capture'), this.picker, this.curves, this.evidence,
      el('h2', undefined, 'Verdict over training and replay check'), this.change, this.table,
    );
    new ResizeObserver(() => this.schedule()).observe(root);
    new MutationObserver(() => this.schedule()).observe(document.body, { attributes: true, attributeFilter: ['class'] });
  }

  show(state: CapturesState): void {
    this.state = state;
    const steps = state.captures.map((c) => c.step);
    // Follow the newest capture unless the user picked one that still exists.
    if (!this.pinned || this.selected === null || !steps.includes(this.selected)) {
      this.pinned = false;
      this.selected = steps.length > 0 ? steps[steps.length - 1]! : null;
    }
    this.schedule();
  }

  private pick(step: number): void {
    this.selected = step;
    this.pinned = true;
    this.schedule();
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      const t0 = performance.now();
      this.render();
      this.drawn++;
      const s = this.state;
      window.__bpttCaptures = { columns: s?.captures.length ?? 0, pending: s?.pending ?? 0, errors: s?.errors.length ?? 0, drawn: this.drawn, selectedStep: this.selected };
      if (this.drawn % 20 === 1) this.vscode.postMessage({ type: 'perf', name: 'capturesRender', ms: Math.round((performance.now() - t0) * 100) / 100 });
    });
  }

  private render(): void {
    const s = this.state;
    if (!s) return;
    const c = colors();
    const n = s.captures.length;
    this.folder.textContent = s.folder;
    this.status.textContent = `${n} capture${n === 1 ? '' : 's'} replayed` + (s.pending > 0 ? ` · ${s.pending} being replayed` : '') + (s.errors.length > 0 ? ` · ${s.errors.length} unreadable` : '');
    this.errors.replaceChildren(...s.errors.map((e) => el('li', undefined, `${e.file}: ${e.message.replace(/^.*?\.capture\.safetensors: /, '')}`)));
    this.empty.hidden = n > 0;
    const width = Math.max(320, Math.min(1100, this.root.clientWidth - 8));
    const T = Math.max(1, ...s.captures.map((x) => x.timesteps));
    const labels = s.captures.map((x) => String(x.step));
    const ctx = prepare(this.heat, width, 260);
    this.heatLayout = drawHeatmap(ctx, width, 260, { columns: s.captures.map((x) => x.total), columnLabels: labels, rows: T, scale: 'log', xTitle: 'training step (captured)', yTitle: 'timestep t' }, c);
    drawHeatmap(prepare(this.share, width, 200), width, 200, { columns: s.captures.map((x) => x.recurrentShare), columnLabels: labels, rows: T, scale: 'unit', xTitle: 'training step (captured)', yTitle: 'timestep t' }, c);

    // Picker and curves of the selected capture.
    const options = s.captures.map((x) => {
      const o = el('option', undefined, `step ${x.step} — ${x.verdict ?? 'not diagnosed'}`);
      o.value = String(x.step);
      return o;
    });
    this.picker.replaceChildren(...options);
    if (this.selected !== null) this.picker.value = String(this.selected);
    const cap = s.captures.find((x) => x.step === this.selected);
    const lines = cap
      ? [
          { values: cap.total, label: 'total ‖∂L/∂h_t‖ (top layer)', color: c.series[0]!, width: 2 },
          { values: cap.direct, label: 'direct ‖grad_output_t‖', color: c.series[1]!, dash: [5, 3] },
          ...cap.layers.slice(0, -1).map((l, k) => ({ values: l.gradNormH, label: l.label, color: c.series[2 + (k % 3)]!, width: 1 })),
        ]
      : [];
    drawLines(prepare(this.curves, width, 240), width, 240, lines, c, 'timestep t');
    this.evidence.replaceChildren(...(cap ? [cap.itemizedRows && cap.itemizedRows !== 'all' ? `Itemized rows: ${cap.itemizedRows}.` : '', ...cap.evidence].filter(Boolean).map((e) => el('li', undefined, e)) : []));

    // Verdict over training.
    this.change.textContent = n === 0 ? '' : s.firstChange ? `The verdict changed first at step ${s.firstChange.step}: ${s.firstChange.from} → ${s.firstChange.to}.` : `The verdict stayed ${s.captures[0]!.verdict ?? '—'} over ${n} captured step${n === 1 ? '' : 's'}.`;
    const head = el('tr');
    for (const h of ['step', 'verdict', 'ρ/step', 'horizon', 'replay error', '∂L/∂x error', 'loss']) head.append(el('th', undefined, h));
    const rows = s.captures.map((x) => {
      const tr = el('tr');
      if (x.step === this.selected) tr.className = 'selected';
      const cells = [String(x.step), x.verdict ?? '—', fmt(x.decayPerStep), x.horizon === null ? `≥ ${x.timesteps}` : `${x.horizon}/${x.timesteps}`, x.replayError === null ? '—' : x.replayError.toExponential(1), x.inputGradError === null ? '—' : x.inputGradError.toExponential(1), fmt(x.trainingLoss)];
      cells.forEach((text, k) => {
        const td = el('td', k === 1 ? `verdict ${x.verdict ?? ''}` : undefined, text);
        tr.append(td);
      });
      tr.addEventListener('click', () => this.pick(x.step));
      return tr;
    });
    this.table.replaceChildren(el('thead'), el('tbody'));
    this.table.tHead!.append(head);
    this.table.tBodies[0]!.append(...rows);
  }

  private cellAt(e: MouseEvent): { cap: CaptureSummary; t: number } | null {
    const s = this.state;
    const L = this.heatLayout;
    if (!s || !L || s.captures.length === 0) return null;
    const r = this.heat.getBoundingClientRect();
    const x = e.clientX - r.left - L.plot.left;
    const y = e.clientY - r.top - L.plot.top;
    if (x < 0 || y < 0 || x >= L.plot.width || y >= L.plot.height) return null;
    const cap = s.captures[Math.floor((x / L.plot.width) * s.captures.length)]!;
    const T = Math.max(1, ...s.captures.map((c) => c.timesteps));
    const t = T - 1 - Math.floor((y / L.plot.height) * T);
    return { cap, t };
  }

  private hover(e: MouseEvent): void {
    const hit = this.cellAt(e);
    if (!hit) return;
    const v = hit.cap.total[hit.t];
    const d = hit.cap.direct[hit.t];
    this.readout.textContent = `step ${hit.cap.step}, t = ${hit.t}: ‖∂L/∂h_t‖ = ${v === null || v === undefined ? 'non-finite' : v.toExponential(3)}, direct ${d === null || d === undefined ? '—' : d.toExponential(3)}`;
  }

  private pickAt(e: MouseEvent): void {
    const hit = this.cellAt(e);
    if (hit) this.pick(hit.cap.step);
  }
}

function start(): void {
  const vscode = acquireVsCodeApi();
  const app = document.getElementById('app') ?? document.body;
  app.removeAttribute('aria-busy');
  app.replaceChildren();
  const view = new CapturesView(app, vscode);
  window.addEventListener('message', (event: MessageEvent) => {
    const state = checkState(event.data);
    if (state) view.show(state);
  });
  vscode.postMessage({ type: 'ready' });
}

if (typeof document !== 'undefined' && typeof acquireVsCodeApi === 'function') {
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
}
