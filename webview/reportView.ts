// The Report panel: study header, one verdict card per run (evidence, recommendations with
// "Apply & re-run"), small multiples of the per-timestep gradient norm on one shared log
// axis, loss curves, and the pre-clip global norm against the clipping threshold.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import type { Chart } from 'chart.js';
import type { HostToWebview } from '../src/protocol';
import type { Report, ReportRun } from '../src/study/types';
import type { App, View } from './app';
import { emphasize, lineChart, type GapRange, type LineSeries, type LineSpec } from './charts';
import { clear, el, uid } from './dom';
import { fade } from './scales';
import { downsampleMinMax, forLog, indexRanges, nonFiniteIndices, sharedLogRange, type MaybeNum } from './series';
import {
  cardModel, fmtNum, horizonHeading, normClipThreshold, PROFILE_METRICS, profileSeries, profileSeriesAtInit, seriesSummary, summaryRows, type CardModel, type ProfileMetric,
} from './viewModel';

const MAX_POINTS = 800;

function lossNote(runs: ReportRun[]): string | null {
  const parts = runs
    .map((run) => ({ run, n: nonFiniteIndices(run.history.loss as MaybeNum[]).length }))
    .filter((x) => x.n > 0)
    .map((x) => `${x.run.label}: ${x.n} non-finite`);
  return parts.length ? `Non-finite losses (shaded, ▼ in the run's colour) — ${parts.join('; ')}.` : null;
}

function gapsOf(ys: readonly MaybeNum[], color: string): GapRange[] {
  return indexRanges(nonFiniteIndices(ys)).map((r) => ({ ...r, color }));
}

export class ReportView implements View {
  private report: Report | null = null;
  private charts: Chart[] = [];
  /** The loss overlay and its run colours, re-emphasised when the selection changes. */
  private loss: { chart: Chart<'line'>; colors: string[]; ids: string[] } | null = null;
  private readonly status: HTMLElement;
  private readonly content: HTMLElement;
  private scrollRestored = false;

  constructor(root: HTMLElement, private readonly app: App) {
    this.status = el('div', { class: 'status-area' });
    this.content = el('div', { class: 'report' });
    root.append(this.status, this.content);
    this.renderEmpty();
    let pending = false;
    window.addEventListener('scroll', () => {
      if (pending || !this.report) return;
      pending = true;
      setTimeout(() => {
        pending = false;
        this.app.save({ scrollY: window.scrollY });
      }, 200);
    });
  }

  handle(msg: HostToWebview): void {
    switch (msg.type) {
      case 'report':
        this.report = msg.report;
        if (msg.selectedRunId !== undefined) this.app.save({ selectedRunId: msg.selectedRunId });
        this.render();
        break;
      case 'select':
        this.app.save({ selectedRunId: msg.runId });
        this.highlight();
        // Picked in the Runs tree: bring its card into view.
        this.content.querySelector(`.card.selected`)?.scrollIntoView({ block: 'nearest' });
        break;
      case 'busy':
        this.showBusy(msg.label, msg.fraction);
        break;
      case 'idle':
        clear(this.status);
        break;
      case 'error':
        this.showError(msg.message);
        break;
      case 'clear':
        this.report = null;
        this.renderEmpty();
        break;
      case 'run':
        break; // meant for the Heatmaps view
    }
  }

  retheme(): void {
    if (this.report) this.renderCharts();
  }

  // ---------------------------------------------------------------- status

  private showBusy(label: string, fraction: number | null): void {
    clear(this.status);
    const bar = el('vscode-progress-bar', { attrs: { 'aria-label': label } }) as HTMLElement & { value?: number; max: number; indeterminate: boolean };
    if (fraction !== null && Number.isFinite(fraction)) {
      bar.max = 1;
      bar.value = Math.max(0, Math.min(1, fraction));
    } else {
      bar.indeterminate = true;
    }
    const pct = fraction !== null && Number.isFinite(fraction) ? ` — ${Math.round(fraction * 100)}%` : '';
    this.status.append(el('div', { class: 'busy', attrs: { role: 'status' } }, [bar, el('p', { text: `${label}${pct}` })]));
  }

  private showError(message: string): void {
    clear(this.status);
    const dismiss = el('vscode-button', { text: 'Dismiss', attrs: { secondary: '' } });
    dismiss.addEventListener('click', () => clear(this.status));
    this.status.append(el('div', { class: 'error-box', attrs: { role: 'alert' } }, [el('p', { text: message }), dismiss]));
  }

  private renderEmpty(): void {
    this.destroyCharts();
    clear(this.content);
    const buttons = el('div', { class: 'button-row' });
    const commands = [
      ['Diagnose a sample', 'bpttLens.runDiagnosis'],
      ['Compare clipping thresholds', 'bpttLens.compareClipping'],
      ['Compare gates', 'bpttLens.compareGates'],
      ['Open a saved report', 'bpttLens.openReport'],
    ] as const;
    for (const [label, command] of commands) {
      const b = el('vscode-button', { text: label, attrs: { secondary: '' } });
      b.addEventListener('click', () => this.app.post({ type: 'runCommand', command }));
      buttons.append(b);
    }
    this.content.append(el('div', { class: 'empty' }, [el('h1', { text: 'BPTT Lens' }), el('p', { text: 'No report yet. Run a study to see how gradients travel back through time.' }), buttons]));
    this.app.publish({ verdicts: [], chartsDrawn: 0 });
  }

  // ---------------------------------------------------------------- report

  private render(): void {
    const r = this.report!;
    // A re-sent report (after a re-run) should not throw the reader back to the top.
    const keepY = window.scrollY;
    this.destroyCharts();
    clear(this.content);
    const s = r.study;
    const meta = [s.kind && `${s.kind} study`, s.source && `data: ${s.source}`, s.createdAt && new Date(s.createdAt).toLocaleString()].filter(Boolean).join(' · ');
    this.content.append(
      el('header', { class: 'report-header' }, [
        el('h1', { text: s.name }),
        el('p', { class: 'meta', text: meta }),
        s.task ? el('p', { class: 'task', text: `Task: ${s.task}` }) : null,
        s.description ? el('p', { class: 'description', text: s.description }) : null,
      ]),
      this.toolbar(),
      el('section', { attrs: { 'aria-labelledby': 'h-verdicts' } }, [
        el('h2', { text: 'Verdicts', attrs: { id: 'h-verdicts' } }),
        this.summaryTable(r.runs),
        el('h3', { class: 'subhead', text: 'Evidence and recommendations' }),
        el('div', { class: 'cards' }, r.runs.map((run) => this.card(cardModel(run, r.study.thresholds?.vanishEpsilon)))),
      ]),
      el('section', { attrs: { 'aria-labelledby': 'h-profile' } }, [
        el('h2', { attrs: { id: 'h-profile' }, text: 'Gradient through time' }),
        el('p', { class: 'section-note', text: 'Solid: the trained network; dashed: the same network at initialisation. Every panel shares one logarithmic y axis, so heights compare across configurations. Shaded stretches marked ▼ hold non-finite values.' }),
        el('div', { class: 'multiples', attrs: { id: 'multiples-profile' } }),
      ]),
      el('section', { attrs: { 'aria-labelledby': 'h-loss' } }, [
        el('h2', { attrs: { id: 'h-loss' }, text: 'Training loss' }),
        el('div', { attrs: { id: 'loss-chart' } }),
      ]),
      el('section', { attrs: { 'aria-labelledby': 'h-clip' } }, [
        el('h2', { attrs: { id: 'h-clip' }, text: 'Pre-clip global gradient norm' }),
        el('p', { class: 'section-note', text: 'Dashed line: the clipping threshold (norm clipping). Shared logarithmic y axis.' }),
        el('div', { class: 'multiples', attrs: { id: 'multiples-clip' } }),
      ]),
    );
    this.renderCharts();
    const y = this.scrollRestored ? keepY : this.app.state.scrollY;
    this.scrollRestored = true;
    if (y > 0) requestAnimationFrame(() => window.scrollTo(0, y));
  }

  private toolbar(): HTMLElement {
    const save = el('vscode-button', { text: 'Save report' });
    save.addEventListener('click', () => this.app.post({ type: 'saveReport' }));
    const metricId = uid('metric');
    const select = el('vscode-single-select', { attrs: { id: metricId, 'aria-label': 'Per-timestep quantity' } }) as HTMLElement & { value: string };
    for (const m of PROFILE_METRICS) {
      select.append(el('vscode-option', { text: m.label, attrs: { value: m.value, ...(m.value === this.app.state.metric ? { selected: '' } : {}) } }));
    }
    select.addEventListener('change', () => {
      const v = select.value as ProfileMetric;
      if (PROFILE_METRICS.some((m) => m.value === v) && v !== this.app.state.metric) {
        this.app.save({ metric: v });
        this.renderCharts();
      }
    });
    const lossLog = el('vscode-checkbox', { attrs: { label: 'Log scale for loss', ...(this.app.state.lossLog ? { checked: '' } : {}) } }) as HTMLElement & { checked: boolean };
    lossLog.addEventListener('change', () => {
      this.app.save({ lossLog: lossLog.checked });
      this.renderCharts();
    });
    return el('div', { class: 'toolbar', attrs: { role: 'toolbar', 'aria-label': 'Report options' } }, [
      el('label', { class: 'toolbar-label', text: 'Panels show', attrs: { for: metricId } }),
      select,
      lossLog,
      el('span', { class: 'spacer' }),
      save,
    ]);
  }

  private select(runId: string, scrollToCard: boolean): void {
    this.app.save({ selectedRunId: runId });
    this.highlight();
    this.app.post({ type: 'selectRun', runId });
    if (scrollToCard) this.content.querySelector('.card.selected')?.scrollIntoView({ block: 'nearest' });
  }

  private summaryTable(runs: ReportRun[]): HTMLElement {
    const head = ['Run', 'Verdict', 'ρ per step', horizonHeading(this.report?.study.thresholds?.vanishEpsilon), 'final loss', 'clip rate', 'at init'];
    const body = summaryRows(runs).map((row) => {
      const pick = el('button', { class: 'row-select', text: row.label, attrs: { type: 'button', 'aria-pressed': 'false', title: 'Select this run and show its card' } });
      pick.addEventListener('click', () => this.select(row.id, true));
      return el('tr', { attrs: { 'data-run': row.id } }, [
        el('th', { attrs: { scope: 'row' } }, [pick, row.isCheck ? el('span', { class: 'tag', text: 'check' }) : null]),
        el('td', {}, [el('span', { class: `badge badge-${row.verdict ?? 'none'}`, text: row.verdict ?? 'not diagnosed' })]),
        el('td', { class: 'num', text: row.rho }),
        el('td', { class: 'num', text: row.horizon }),
        el('td', { class: 'num', text: row.finalLoss }),
        el('td', { class: 'num', text: row.clipRate }),
        el('td', { text: row.atInit }),
      ]);
    });
    return el('div', { class: 'table-scroll' }, [
      el('table', { class: 'summary' }, [
        el('caption', { class: 'visually-hidden', text: 'Verdict per run' }),
        el('thead', {}, [el('tr', {}, head.map((h) => el('th', { text: h, attrs: { scope: 'col' } })))]),
        el('tbody', {}, body),
      ]),
    ]);
  }

  private card(c: CardModel): HTMLElement {
    const titleId = uid('card');
    const select = el('button', { class: 'card-title', text: c.label, attrs: { id: titleId, type: 'button', 'aria-pressed': 'false', title: 'Select this run (shows it in the Heatmaps view)' } });
    select.addEventListener('click', () => this.select(c.id, false));
    const verdict = c.verdict ?? 'not diagnosed';
    const facts = el('dl', { class: 'facts' });
    for (const f of c.facts) facts.append(el('div', {}, [el('dt', { text: f.name }), el('dd', { text: f.value })]));
    const runIds = new Set(this.report?.runs.map((x) => x.id));
    const recs = c.recommendations.map((r) => {
      // Already re-run (by the study or earlier): the button shows that run instead of training again.
      const checkRun = r.checkRunId !== null && runIds.has(r.checkRunId) ? r.checkRunId : null;
      const apply = checkRun
        ? (el('vscode-button', { text: 'Show the re-run', attrs: { secondary: '', 'aria-label': `Show the run that re-ran ${c.label} with “${r.title}”` } }) as HTMLElement & { disabled: boolean })
        : (el('vscode-button', { text: 'Apply & re-run', attrs: { 'aria-label': `Apply “${r.title}” and re-run ${c.label}` } }) as HTMLElement & { disabled: boolean });
      apply.addEventListener('click', () => {
        if (checkRun) return this.select(checkRun, true);
        if (apply.disabled) return;
        apply.disabled = true;
        apply.textContent = 'Re-running…';
        this.app.post({ type: 'applyRecommendation', runId: c.id, index: r.index });
      });
      return el('li', { class: 'rec' }, [
        el('p', { class: 'rec-title', text: r.title }),
        el('p', { class: 'rec-why', text: r.rationale }),
        r.change ? el('p', { class: 'rec-change', text: `Change: ${r.change}` }) : null,
        r.check
          ? el('p', { class: `rec-check verdict-text-${r.checkVerdict ?? 'none'}`, text: r.check })
          : null,
        el('div', { class: 'rec-actions' }, [apply]),
      ]);
    });
    return el('article', { class: `card verdict-${c.verdict ?? 'none'}`, attrs: { 'data-run': c.id, 'aria-labelledby': titleId } }, [
      el('header', { class: 'card-header' }, [select, el('span', { class: `badge badge-${c.verdict ?? 'none'}`, text: verdict })]),
      facts,
      c.evidence.length ? el('ul', { class: 'evidence', attrs: { 'aria-label': 'Evidence' } }, c.evidence.map((e) => el('li', { text: e }))) : null,
      ...c.notes.map((n) => el('p', { class: 'note', text: n })),
      recs.length ? el('div', { class: 'recs' }, [el('h3', { text: 'Recommendations' }), el('ul', {}, recs.slice(0, 1))]) : null,
      // The top recommendation is shown; the others fold away so many runs stay scannable.
      recs.length > 1
        ? el('details', { class: 'more-recs' }, [el('summary', { text: `${recs.length - 1} more recommendation${recs.length > 2 ? 's' : ''}` }), el('ul', {}, recs.slice(1))])
        : null,
    ]);
  }

  private highlight(): void {
    const id = this.app.state.selectedRunId;
    for (const node of this.content.querySelectorAll<HTMLElement>('[data-run]')) {
      const on = node.dataset.run === id;
      node.classList.toggle('selected', on);
      node.querySelector('.card-title, .row-select')?.setAttribute('aria-pressed', String(on));
    }
    if (this.loss) {
      const i = id === null ? -1 : this.loss.ids.indexOf(id);
      const highContrast = this.app.theme().kind.startsWith('high-contrast');
      emphasize(this.loss.chart, this.loss.colors, i >= 0 ? i : null, highContrast ? 0.7 : 0.3);
    }
  }

  // ---------------------------------------------------------------- charts

  private destroyCharts(): void {
    for (const c of this.charts) c.destroy();
    this.charts = [];
    this.loss = null;
  }

  private renderCharts(): void {
    const r = this.report;
    if (!r) return;
    const t0 = performance.now();
    this.destroyCharts();
    const theme = this.app.theme();
    const color = (i: number) => theme.series[i % theme.series.length]!;
    const runs = r.runs;

    // Small multiples of the chosen per-timestep quantity, one shared log range.
    const metric = PROFILE_METRICS.find((m) => m.value === this.app.state.metric) ?? PROFILE_METRICS[0]!;
    const profiles = runs.map((run) => profileSeries(run, metric.value));
    const atInit = runs.map((run) => profileSeriesAtInit(run, metric.value));
    const profileRange = sharedLogRange([...profiles, ...atInit].filter((p): p is MaybeNum[] => p !== null));
    const profileMax = Math.max(1, ...profiles.map((p) => (p ? p.length - 1 : 0)));
    const multiples = this.content.querySelector('#multiples-profile')!;
    clear(multiples);
    runs.forEach((run, i) => {
      const ys = profiles[i];
      if (!ys) {
        multiples.append(this.placeholder(run, `${metric.label}: not recorded for this run.`));
        return;
      }
      const init = atInit[i];
      // Trained network solid, the same network at initialisation dashed and faded.
      const series: LineSeries[] = [{ label: 'trained', points: downsampleMinMax(ys.map(forLog), MAX_POINTS), color: color(i) }];
      if (init) series.push({ label: 'at initialisation', points: downsampleMinMax(init.map(forLog), MAX_POINTS), color: fade(color(i), 0.55), dashed: true });
      this.figure(multiples, run, {
        series, xTitle: metric.axis, yTitle: metric.short, yLog: true,
        yRange: profileRange, xMax: profileMax, gaps: gapsOf(ys, theme.red),
      }, seriesSummary(`${run.label}, ${metric.label}, trained`, ys, metric.xName) + (init ? ` ${seriesSummary('At initialisation', init, metric.xName)}` : ''), ys);
    });

    // Loss curves, all runs on one chart.
    const lossBox = this.content.querySelector('#loss-chart')!;
    clear(lossBox);
    const lossLog = this.app.state.lossLog;
    const lossSeries: LineSeries[] = runs.map((run, i) => ({
      label: run.label,
      points: downsampleMinMax((run.history.loss as MaybeNum[]).map((v) => (lossLog ? forLog(v) : v)), MAX_POINTS),
      color: color(i),
      dashed: i >= theme.series.length,
    }));
    const lossGaps = runs.flatMap((run, i) => gapsOf(run.history.loss as MaybeNum[], color(i)));
    const lossSummary = runs.map((run) => seriesSummary(`${run.label} loss`, run.history.loss as MaybeNum[], 'iteration')).join(' ');
    const lossChart = this.figure(lossBox, null, {
      series: lossSeries, xTitle: 'iteration', yTitle: 'loss', yLog: lossLog, legend: true, gaps: lossGaps,
      yRange: lossLog ? sharedLogRange(runs.map((run) => run.history.loss as MaybeNum[])) : null,
    }, lossSummary, null, 'chart-box tall', lossNote(runs));
    this.loss = { chart: lossChart, colors: lossSeries.map((x) => x.color), ids: runs.map((run) => run.id) };

    // Pre-clip global norm per run, threshold dashed, shared log range including thresholds.
    const clipBox = this.content.querySelector('#multiples-clip')!;
    clear(clipBox);
    const thresholds = runs.map(normClipThreshold);
    const clipRange = sharedLogRange(runs.map((run) => run.history.preClipNorm as MaybeNum[]), thresholds);
    const iterMax = Math.max(1, ...runs.map((run) => run.history.preClipNorm.length - 1));
    runs.forEach((run, i) => {
      const ys = run.history.preClipNorm as MaybeNum[];
      const th = thresholds[i] ?? null;
      const valueClip = run.config.clip?.kind === 'value';
      const summary =
        seriesSummary(`${run.label}, pre-clip global norm`, ys, 'iteration') +
        (th !== null ? ` Threshold ${fmtNum(th)}; clipped on ${fmtNum((run.history.clipRate ?? 0) * 100)}% of iterations.` : valueClip ? ' Clipped elementwise by value.' : ' No norm clipping.');
      this.figure(clipBox, run, {
        series: [{ label: run.label, points: downsampleMinMax(ys.map(forLog), MAX_POINTS), color: color(i) }],
        xTitle: 'iteration', yTitle: '‖g‖ before clipping', yLog: true, yRange: clipRange, xMax: iterMax,
        threshold: th !== null ? { value: th, label: `clip ${fmtNum(th)}` } : null, gaps: gapsOf(ys, theme.red),
      }, summary, ys, 'chart-box', valueClip ? 'Clipped by value: no norm threshold to draw.' : th === null ? 'No clipping.' : null);
    });

    this.highlight();
    this.app.perf('report', performance.now() - t0);
    this.app.publish({ verdicts: runs.map((run) => run.diagnosis?.verdict ?? 'none'), chartsDrawn: this.charts.length });
  }

  private placeholder(run: ReportRun, text: string): HTMLElement {
    return el('figure', { class: 'chart-figure empty-figure', attrs: { 'data-run': run.id } }, [el('figcaption', { text: run.label }), el('p', { class: 'note', text })]);
  }

  private figure(
    parent: Element, run: ReportRun | null, spec: LineSpec, summary: string, raw: MaybeNum[] | null,
    boxClass = 'chart-box', extraNote: string | null = null,
  ): Chart<'line'> {
    const summaryId = uid('summary');
    const canvas = el('canvas', { attrs: { role: 'img', 'aria-label': run ? `${run.label}: ${spec.yTitle} over ${spec.xTitle}` : `${spec.yTitle} over ${spec.xTitle}`, 'aria-describedby': summaryId } });
    const notes: string[] = [];
    if (raw) {
      const gaps = nonFiniteIndices(raw).length;
      const nonPositive = raw.filter((v) => typeof v === 'number' && Number.isFinite(v) && v <= 0).length;
      if (gaps) notes.push(`${gaps} non-finite value${gaps > 1 ? 's' : ''} (shaded, ▼).`);
      if (nonPositive && spec.yLog) notes.push(`${nonPositive} zero value${nonPositive > 1 ? 's' : ''} not shown on the log axis.`);
      if (!spec.series.some((s) => s.points.some((p) => p.y !== null))) notes.push('No finite positive value to plot.');
    }
    if (extraNote) notes.push(extraNote);
    const caption = run
      ? el('figcaption', {}, [el('span', { class: 'fig-title', text: run.label, attrs: { title: run.label } }), el('span', { class: `badge badge-${run.diagnosis?.verdict ?? 'none'}`, text: run.diagnosis?.verdict ?? 'not diagnosed' })])
      : null;
    const fig = el('figure', { class: 'chart-figure', attrs: run ? { 'data-run': run.id } : {} }, [
      caption,
      el('div', { class: boxClass }, [canvas]),
      ...notes.map((n) => el('p', { class: 'chart-note', text: n })),
      el('p', { class: 'visually-hidden', text: summary, attrs: { id: summaryId } }),
    ]);
    parent.append(fig);
    const chart = lineChart(canvas, spec, this.app.theme());
    this.charts.push(chart);
    return chart;
  }
}
