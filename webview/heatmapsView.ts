// The Heatmaps view: one run's gradient norms as timestep x iteration, timestep x layer
// or the itemized T x T matrix, on a log colour scale with an exact-value readout.
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import type { HostToWebview } from '../src/protocol';
import type { ReportRun, StudyInfo } from '../src/study/types';
import type { App, View } from './app';
import { clear, el } from './dom';
import { HeatmapCanvas } from './heatmap';
import {
  availableHeatmaps, availableQuantities, HEATMAP_KINDS, HEATMAP_QUANTITIES, heatmapMatrix, MAX_HEATMAP_CELLS, type HeatmapKind, type HeatmapQuantity,
} from './viewModel';

export class HeatmapsView implements View {
  private run: ReportRun | null = null;
  private study: StudyInfo | null = null;
  private readonly status: HTMLElement;
  private readonly content: HTMLElement;
  private readonly canvas: HeatmapCanvas;
  private readonly tooLarge = el('p', { class: 'note' });
  private readonly quantityBox = el('span', { class: 'toolbar-group' });
  private drawn = false;

  constructor(root: HTMLElement, private readonly app: App) {
    this.status = el('div', { class: 'status-area' });
    this.content = el('div', { class: 'heatmaps' });
    root.append(this.status, this.content);
    this.canvas = new HeatmapCanvas((c) => this.app.save({ cursor: c }));
    this.canvas.expand = app.view === 'heatmapEditor';
    let pending = false;
    const relayout = () => {
      if (pending) return;
      pending = true;
      requestAnimationFrame(() => {
        pending = false;
        if (this.drawn) this.canvas.layout(this.width());
      });
    };
    new ResizeObserver(relayout).observe(this.content);
    // The plot height follows the view's height too (a short side bar).
    window.addEventListener('resize', relayout);
    this.renderEmpty();
  }

  handle(msg: HostToWebview): void {
    switch (msg.type) {
      case 'run':
        this.run = msg.run;
        this.study = msg.study;
        if (msg.heatmap) {
          // Opened from the side bar: start on the heatmap it showed.
          const k = HEATMAP_KINDS.find((x) => x.value === msg.heatmap!.kind)?.value ?? null;
          const q = HEATMAP_QUANTITIES.find((x) => x.value === msg.heatmap!.quantity)?.value ?? null;
          this.app.save({ heatmapKind: k, heatmapQuantity: q, cursor: null });
        }
        this.render();
        break;
      case 'busy': {
        clear(this.status);
        const bar = el('vscode-progress-bar', { attrs: { 'aria-label': msg.label } }) as HTMLElement & { indeterminate: boolean; value?: number; max: number };
        if (msg.fraction !== null && Number.isFinite(msg.fraction)) {
          bar.max = 1;
          bar.value = Math.max(0, Math.min(1, msg.fraction));
        } else bar.indeterminate = true;
        this.status.append(el('div', { class: 'busy', attrs: { role: 'status' } }, [bar, el('p', { text: msg.label })]));
        break;
      }
      case 'idle':
        clear(this.status);
        break;
      case 'error':
        clear(this.status);
        this.status.append(el('div', { class: 'error-box', attrs: { role: 'alert' } }, [el('p', { text: msg.message })]));
        break;
      case 'clear':
        this.run = null;
        this.renderEmpty();
        break;
      case 'report':
      case 'select':
        break; // the host sends this view a 'run' for the selected run
    }
  }

  retheme(): void {
    if (this.run && this.drawn) this.draw();
  }

  private width(): number {
    return this.content.clientWidth || document.body.clientWidth || 600;
  }

  private renderEmpty(): void {
    this.drawn = false;
    clear(this.content);
    this.content.append(el('p', { class: 'empty', text: 'No run selected. Run a study, or pick a run in the Runs view or the Report panel.' }));
    this.app.publish({ verdicts: [], chartsDrawn: 0 });
  }

  private render(): void {
    const run = this.run!;
    clear(this.content);
    const kinds = availableHeatmaps(run);
    const verdict = run.diagnosis?.verdict ?? 'none';
    this.content.append(
      el('header', { class: 'heatmaps-header' }, [
        el('h1', {}, [el('span', { text: run.label }), el('span', { class: `badge badge-${verdict}`, text: run.diagnosis?.verdict ?? 'not diagnosed' })]),
        this.study ? el('p', { class: 'meta', text: `${this.study.name} · ${run.timesteps} timesteps · ${run.history.recorded.length} recorded iterations` }) : null,
      ]),
    );
    if (kinds.length === 0) {
      this.drawn = false;
      this.content.append(el('p', { class: 'note', text: 'This run has no per-timestep records to draw.' }));
      this.app.publish({ verdicts: [verdict], chartsDrawn: 0 });
      return;
    }
    let kind: HeatmapKind = this.app.state.heatmapKind && kinds.includes(this.app.state.heatmapKind) ? this.app.state.heatmapKind : kinds[0]!;
    const select = el('vscode-single-select', { attrs: { 'aria-label': 'Heatmap', id: 'heatmap-kind' } }) as HTMLElement & { value: string };
    for (const k of HEATMAP_KINDS) {
      const available = kinds.includes(k.value);
      const label = available ? k.label : `${k.label} — not recorded`;
      select.append(el('vscode-option', { text: label, attrs: { value: k.value, ...(k.value === kind ? { selected: '' } : {}), ...(available ? {} : { disabled: '' }) } }));
    }
    select.addEventListener('change', () => {
      const v = select.value as HeatmapKind;
      if (!kinds.includes(v) || v === kind) return;
      kind = v;
      this.app.save({ heatmapKind: v, cursor: null });
      this.fillQuantities(v);
      this.draw();
    });
    // The side bar is narrow: any heatmap opens full size in an editor tab, with the same readout.
    let open: HTMLElement | null = null;
    if (this.app.view === 'heatmaps') {
      open = el('vscode-button', { text: 'Open in editor', attrs: { secondary: '', title: 'Show this heatmap full size in an editor tab', class: 'open-editor' } });
      open.addEventListener('click', () => {
        const k = this.app.state.heatmapKind ?? kind;
        const q = k === 'itemized' ? '' : (this.quantityOf(k) ?? '');
        this.app.post({ type: 'openHeatmap', runId: run.id, kind: k, quantity: q });
      });
    }
    this.content.append(
      el('div', { class: 'toolbar' }, [
        el('label', { class: 'toolbar-label', text: 'Heatmap', attrs: { for: 'heatmap-kind' } }), select,
        this.quantityBox,
        open,
      ]),
      this.tooLarge,
      this.canvas.root,
    );
    this.app.save({ heatmapKind: kind });
    this.fillQuantities(kind);
    this.draw();
  }

  private quantityOf(kind: HeatmapKind): HeatmapQuantity | null {
    const qs = availableQuantities(this.run!, kind);
    const saved = this.app.state.heatmapQuantity;
    return saved && qs.includes(saved) ? saved : (qs[0] ?? null);
  }

  /** The quantity selector depends on the kind (itemized has one fixed quantity): rebuilt per kind. */
  private fillQuantities(kind: HeatmapKind): void {
    clear(this.quantityBox);
    const qs = availableQuantities(this.run!, kind);
    if (qs.length === 0) return;
    const current = this.quantityOf(kind);
    const select = el('vscode-single-select', { attrs: { 'aria-label': 'Quantity', id: 'heatmap-quantity' } }) as HTMLElement & { value: string };
    for (const q of HEATMAP_QUANTITIES) {
      if (!qs.includes(q.value)) continue;
      select.append(el('vscode-option', { text: q.label, attrs: { value: q.value, ...(q.value === current ? { selected: '' } : {}) } }));
    }
    select.addEventListener('change', () => {
      const v = select.value as HeatmapQuantity;
      if (!qs.includes(v) || v === this.quantityOf(kind)) return;
      this.app.save({ heatmapQuantity: v });
      this.draw();
    });
    this.quantityBox.append(el('label', { class: 'toolbar-label', text: 'Quantity', attrs: { for: 'heatmap-quantity' } }), select);
  }

  private draw(): void {
    const run = this.run!;
    const kinds = availableHeatmaps(run);
    const kind = this.app.state.heatmapKind && kinds.includes(this.app.state.heatmapKind) ? this.app.state.heatmapKind : kinds[0];
    if (!kind) return;
    // Read the width first: it forces the page's layout, which is not the heatmap's cost.
    const width = this.width();
    const t0 = performance.now();
    const m = heatmapMatrix(run, kind, this.quantityOf(kind) ?? 'gradNormH');
    if (!m) {
      this.tooLarge.textContent = `This heatmap has more than ${MAX_HEATMAP_CELLS.toLocaleString('en')} cells: too large to draw here.`;
      this.canvas.root.hidden = true;
      this.drawn = false;
      return;
    }
    this.tooLarge.textContent = '';
    this.canvas.root.hidden = false;
    const t1 = performance.now();
    const timings = this.canvas.setData(m, this.app.theme(), this.app.state.cursor, width);
    const total = performance.now() - t0;
    this.drawn = true;
    this.app.perf('heatmapMatrix', t1 - t0, false);
    this.app.perf('heatmapColorize', timings.colorizeMs, false);
    this.app.perf('heatmapDraw', timings.drawMs, false);
    this.app.perf('heatmap', total);
    this.app.publish({ verdicts: [run.diagnosis?.verdict ?? 'none'], chartsDrawn: 1 });
  }
}
