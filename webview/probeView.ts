// The "Probe State Dict" editor (data-view="probe"): a header with what the state dict holds
// and the choices (cell, loss, sequence file), then the result of the `gradients` pass drawn
// with the product's own views: ‖∂L/∂h_t‖ per layer (first, so it is on screen without
// scrolling), the study panel's ReportView (summary, gradient through time, the verdict with
// its evidence, Save Report) and the Heatmaps view (timestep × layer, and the itemized matrix
// when the pass computed it). Text only ever goes in as textContent.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import type { Chart } from 'chart.js';
import type { HostToWebview } from '../src/protocol';
import type { ProbeRequest, ProbeState } from '../src/extension/probeProtocol';
import type { ReportRun } from '../src/study/types';
import type { App, View } from './app';
import { lineChart, type LineSeries } from './charts';
import { clear, el } from './dom';
import { HeatmapsView } from './heatmapsView';
import { ReportView } from './reportView';
import { downsampleMinMax, forLog, sharedLogRange, type MaybeNum } from './series';
import { fmtNum } from './viewModel';

const MAX_POINTS = 800;

declare global {
  interface Window {
    /** For the end-to-end tests: what the probe editor shows. */
    __bpttProbe?: { summary: boolean; cell: string | null; busy: boolean; busyLabel: string | null; note: string | null; error: string | null; input: string | null; layerSeries: number; verdict: string | null; loss: number | null };
  }
}

function bytesText(n: number): string {
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

export class ProbeView implements View {
  private state: ProbeState | null = null;
  private run: ReportRun | null = null;
  private chart: Chart<'line'> | null = null;
  private readonly header = el('section', { class: 'probe-header', attrs: { 'aria-label': 'State dict' } });
  private readonly layersSection = el('section', { class: 'probe-layers', attrs: { 'aria-labelledby': 'h-probe-layers', hidden: '' } });
  private readonly reportView: ReportView;
  private readonly heatmaps: HeatmapsView;
  private readonly resultParts: HTMLElement[];
  private busyTimer: number | undefined;
  private shownHeatmap = false;

  constructor(root: HTMLElement, private readonly app: App, private readonly send: (msg: ProbeRequest) => void) {
    const reportRoot = el('div', { class: 'probe-report', attrs: { hidden: '' } });
    const heatRoot = el('section', { class: 'probe-heatmaps', attrs: { hidden: '', 'aria-labelledby': 'h-probe-heat' } }, [el('h2', { attrs: { id: 'h-probe-heat' }, text: 'Heatmaps' })]);
    const heatBody = el('div');
    heatRoot.append(heatBody);
    root.append(this.header, this.layersSection, reportRoot, heatRoot);
    this.resultParts = [this.layersSection, reportRoot, heatRoot];
    this.reportView = new ReportView(reportRoot, app);
    this.heatmaps = new HeatmapsView(heatBody, { ...app, view: 'heatmaps', publish: () => undefined });
    this.renderHeader();
  }

  /** The header's state (the host's ProbeState, shape-checked by main.ts). */
  setState(state: ProbeState): void {
    this.state = state;
    this.renderHeader();
  }

  handle(msg: HostToWebview): void {
    if (msg.type !== 'report') return; // busy / error are the header's (setState)
    const run = msg.report.runs[0] ?? null;
    this.run = run;
    for (const p of this.resultParts) p.toggleAttribute('hidden', run === null);
    this.reportView.handle(msg);
    if (run) {
      // The first result opens on the itemized matrix when the pass computed it (the timestep × layer
      // picture is the chart above); later ones keep whatever the user picked.
      const first = !this.shownHeatmap && run.itemized !== null && run.itemized.length > 0;
      this.shownHeatmap = true;
      this.heatmaps.handle({ type: 'run', run, study: msg.report.study, ...(first ? { heatmap: { kind: 'itemized', quantity: '' } } : {}) });
    }
    this.drawLayers();
    this.publish();
  }

  retheme(): void {
    this.reportView.retheme();
    this.heatmaps.retheme();
    this.drawLayers();
  }

  // ---------------------------------------------------------------- header

  private renderHeader(): void {
    clearInterval(this.busyTimer);
    this.busyTimer = undefined;
    clear(this.header);
    const s = this.state;
    this.header.append(el('h1', {}, [el('span', { text: s ? s.weights : 'State dict' }), el('span', { class: 'tag', text: 'probe' })]));
    if (s) this.header.append(el('p', { class: 'meta', text: `${s.folder} · a PyTorch nn.RNN/LSTM/GRU + Linear state dict, run as bptt-lens gradients runs it: one forward and backward pass in float64, no training` }));
    if (!s) {
      this.header.append(el('p', { class: 'loading', text: 'Loading…' }));
      this.publish();
      return;
    }
    const sum = s.summary;
    if (sum) {
      const facts = el('dl', { class: 'facts probe-facts' });
      const fact = (name: string, value: Node | string): void => {
        facts.append(el('div', {}, [el('dt', { text: name }), el('dd', {}, [typeof value === 'string' ? document.createTextNode(value) : value])]));
      };
      fact('cell', this.cellPicker(sum.cell, sum.cells, s.busy !== null));
      fact('layers', String(sum.numLayers));
      fact('direction', sum.bidirectional ? 'bidirectional' : 'forward');
      fact('hidden size H', String(sum.hiddenSize));
      fact('input size', String(sum.inputSize));
      fact('output size', String(sum.outputSize));
      fact('parameters', sum.parameterCount.toLocaleString('en'));
      fact('file', bytesText(sum.bytes));
      this.header.append(facts);
      if (sum.cells.length > 1) {
        this.header.append(el('p', { class: 'section-note', text: `These tensors fit ${sum.cells.length} cells (${sum.cells.join(', ')}): the weights alone cannot tell them apart, so pick the one the model used (like --cell).` }));
      }
    }
    const controls = el('div', { class: 'button-row probe-controls' });
    if (sum) {
      const choose = el('vscode-button', { class: 'choose', text: s.input ? 'Choose another sequence file…' : 'Choose sequence file…' });
      const run = el('vscode-button', { class: 'rerun', text: 'Run again', attrs: { secondary: '' } });
      if (s.busy) {
        choose.setAttribute('disabled', '');
        run.setAttribute('disabled', '');
      }
      choose.addEventListener('click', () => this.send({ type: 'chooseSequence' }));
      run.addEventListener('click', () => this.send({ type: 'rerun' }));
      controls.append(choose, this.lossPicker(s), s.input ? run : el('span'));
      if (s.input) controls.append(el('span', { class: 'meta probe-input', text: `sequence file: ${s.input}` }));
    } else if (!s.busy) {
      const retry = el('vscode-button', { class: 'rerun', text: 'Read again', attrs: { secondary: '' } });
      retry.addEventListener('click', () => this.send({ type: 'rerun' }));
      controls.append(retry);
    }
    this.header.append(controls);
    if (sum && !s.input && !s.busy) {
      this.header.append(el('p', { class: 'section-note', text: `The sequence file is the CLI's input JSON: {"x": [batch][steps][${sum.inputSize}], "y": [batch][steps][${sum.outputSize}] (many-to-many) or [batch][${sum.outputSize}] (many-to-one)}.` }));
    }
    if (s.busy) {
      const bar = el('vscode-progress-bar', { attrs: { 'aria-label': s.busy.label } }) as HTMLElement & { indeterminate: boolean };
      bar.indeterminate = true;
      const text = el('p', { text: s.busy.label });
      const since = s.busy.since;
      const label = s.busy.label;
      const tick = (): void => {
        const sec = Math.max(0, (Date.now() - since) / 1000);
        text.textContent = sec >= 1 ? `${label} ${sec.toFixed(0)} s` : label;
      };
      tick();
      this.busyTimer = window.setInterval(tick, 1000);
      const cancel = el('vscode-button', { class: 'cancel', text: 'Cancel', attrs: { secondary: '' } });
      cancel.addEventListener('click', () => this.send({ type: 'cancel' }));
      this.header.append(el('div', { class: 'busy probe-busy', attrs: { role: 'status' } }, [el('div', { class: 'button-row' }, [text, cancel]), bar]));
    }
    if (s.error) this.header.append(el('div', { class: 'error-box', attrs: { role: 'alert' } }, [el('p', { text: s.error })]));
    if (s.note) this.header.append(el('p', { class: 'note', attrs: { role: 'status' }, text: s.note }));
    this.publish();
  }

  private cellPicker(cell: string, cells: string[], disabled: boolean): Node {
    if (cells.length <= 1) return document.createTextNode(cell);
    const select = el('vscode-single-select', { class: 'cell-picker', attrs: { 'aria-label': 'cell' } }) as HTMLElement & { value: string };
    for (const c of cells) select.append(el('vscode-option', { text: c, attrs: { value: c, ...(c === cell ? { selected: '' } : {}) } }));
    if (disabled) select.setAttribute('disabled', '');
    select.addEventListener('change', () => {
      if (select.value && select.value !== cell) this.send({ type: 'setCell', cell: select.value });
    });
    return select;
  }

  private lossPicker(s: ProbeState): Node {
    const select = el('vscode-single-select', { class: 'loss-picker', attrs: { 'aria-label': 'loss' } }) as HTMLElement & { value: string };
    for (const [value, text] of [['mse', 'loss: mse'], ['xent', 'loss: xent (targets are probabilities)']] as const) {
      select.append(el('vscode-option', { text, attrs: { value, ...(value === s.loss ? { selected: '' } : {}) } }));
    }
    if (s.busy) select.setAttribute('disabled', '');
    select.addEventListener('change', () => {
      if (select.value === 'mse' || select.value === 'xent') this.send({ type: 'setLoss', loss: select.value });
    });
    return select;
  }

  // ---------------------------------------------------------------- ‖∂L/∂h_t‖ per layer

  private drawLayers(): void {
    this.chart?.destroy();
    this.chart = null;
    clear(this.layersSection);
    const run = this.run;
    if (!run) return;
    const theme = this.app.theme();
    const layers = run.layers;
    const label = (l: ReportRun['layers'][number]): string => `layer ${l.layer}${l.direction === 'reverse' ? ' (reverse)' : ''}`;
    const series: LineSeries[] = layers.map((l, i) => ({
      label: label(l),
      points: downsampleMinMax((l.gradNormH as MaybeNum[]).map(forLog), MAX_POINTS),
      color: theme.series[i % theme.series.length]!,
      dashed: l.direction === 'reverse',
    }));
    const d = run.diagnosis;
    const verdict = d ? `${d.verdict}: ρ = ${d.decayPerStep === null ? '—' : fmtNum(d.decayPerStep)} per step, horizon ${d.horizon === null ? 'beyond the sequence' : `${d.horizon} steps`}` : 'no verdict';
    const canvas = el('canvas', { attrs: { role: 'img', 'aria-label': `‖∂L/∂h_t‖ per layer over ${run.timesteps} timesteps` } });
    this.layersSection.append(
      el('h2', { attrs: { id: 'h-probe-layers' } }, [
        el('span', { text: '‖∂L/∂h_t‖ per layer ' }),
        el('span', { class: `badge badge-${d?.verdict ?? 'none'}`, text: verdict }),
      ]),
      el('p', { class: 'section-note', text: `Timestep t left to right (T = ${run.timesteps}); loss ${fmtNum(run.loss)}, global gradient norm ${fmtNum(run.globalGradNorm)}. Log axis; dashed: reverse direction.` }),
      el('div', { class: 'chart-box probe-chart' }, [canvas]),
    );
    this.chart = lineChart(canvas, {
      series, xTitle: 'timestep t', yTitle: '‖∂L/∂h_t‖', yLog: true, legend: true,
      yRange: sharedLogRange(layers.map((l) => l.gradNormH as MaybeNum[])), xMax: Math.max(1, run.timesteps - 1),
    }, theme);
    this.publish();
  }

  private publish(): void {
    const s = this.state;
    window.__bpttProbe = {
      summary: s?.summary !== null && s !== null,
      cell: s?.summary?.cell ?? null,
      loss: this.run?.loss ?? null,
      busy: s?.busy !== null && s !== null,
      busyLabel: s?.busy?.label ?? null,
      note: s?.note ?? null,
      error: s?.error ?? null,
      input: s?.input ?? null,
      layerSeries: this.chart ? this.run?.layers.length ?? 0 : 0,
      verdict: this.run?.diagnosis?.verdict ?? null,
    };
  }
}
