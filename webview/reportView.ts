// The Report panel, charts first: the study's summary sentences, then small multiples of the
// gradient through time (one shared log axis, the same picture as report.html: see
// src/io/report/throughTime.ts), then one line per run with the number that decided its
// verdict (expandable to the evidence and recommendations with "Apply & re-run"), the loss
// curves (highlight on hover, optional smoothing) and, only when some run clips, the global
// gradient norm before and after clipping. Every run keeps one colour (src/io/report/palette.ts).
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
import { runColors } from '../src/io/report/palette';
import { horizonTimestep } from '../src/io/report/throughTime';
import {
  anyClipping, changeBeyondTitle, commonEvidence, commonFacts, decidingNumber, distinctLabels, ownEvidence, partialOf, partialText, studySummary,
} from '../src/io/report/words';
import {
  cardModel, fmtNum, isSinglePass, normClipThreshold, PROFILE_METRICS, profileSeries, profileSeriesAtInit, seriesSummary, type CardModel, type ProfileMetric,
} from './viewModel';

const MAX_POINTS = 800;
/** Summary sentences shown before "n more findings". */
const SUMMARY_SHOWN = 3;

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
    this.colors = runColors(r.runs);
    this.titles = new Map(distinctLabels(r.runs).map((t, i) => [r.runs[i]!.id, t]));
    const meta = [s.kind && `${s.kind} study`, s.source && `data: ${s.source}`, s.createdAt && new Date(s.createdAt).toLocaleString()].filter(Boolean).join(' · ');
    const partial = partialOf(s);
    const common = commonEvidence(r.runs);
    const clipping = anyClipping(r.runs);
    this.content.append(
      el('header', { class: 'report-header' }, [
        el('h1', {}, [el('span', { text: s.name }), partial ? el('span', { class: 'tag tag-partial', text: `${partial.running ? 'running' : 'partial'}: ${partial.done} of ${partial.total} runs` }) : null]),
        el('p', { class: 'meta', text: meta }),
        s.task ? el('p', { class: 'meta', text: `Task: ${s.task}` }) : null,
      ]),
      el('section', { class: 'summary-block', attrs: { 'aria-label': 'Summary' } }, [
        partial ? el('p', { class: 'partial-note', attrs: { role: 'note' }, text: partialText(partial) }) : null,
        ...this.summaryLines(studySummary(r)),
        ...commonFacts(r).map((line) => el('p', { class: 'common-line', text: line })),
      ]),
      this.toolbar(),
      el('section', { attrs: { 'aria-labelledby': 'h-profile' } }, [
        el('h2', { attrs: { id: 'h-profile' }, text: 'Gradient through time' }),
        el('p', { class: 'section-note', attrs: { id: 'profile-note' } }),
        el('div', { class: 'multiples', attrs: { id: 'multiples-profile' } }),
      ]),
      el('section', { attrs: { 'aria-labelledby': 'h-verdicts' } }, [
        el('h2', { text: 'Verdicts', attrs: { id: 'h-verdicts' } }),
        common.length
          ? el('div', { class: 'common-evidence' }, [el('p', { class: 'section-note', text: 'Every run:' }), el('ul', {}, common.map((e) => el('li', { text: e })))])
          : null,
        el('div', { class: 'run-lines' }, r.runs.map((run) => this.runLine(run, cardModel(run, r.study.thresholds?.vanishEpsilon), common))),
      ]),
      el('section', { attrs: { 'aria-labelledby': 'h-loss' } }, [
        el('h2', { attrs: { id: 'h-loss' }, text: 'Training loss' }),
        el('div', { attrs: { id: 'loss-chart' } }),
      ]),
      clipping
        ? el('section', { attrs: { 'aria-labelledby': 'h-clip' } }, [
            el('h2', { attrs: { id: 'h-clip' }, text: 'Global gradient norm and clipping' }),
            el('p', { class: 'section-note', text: 'Solid: the norm before clipping; dashed: after clipping (what the update used); horizontal dashed line: the norm threshold. Shared logarithmic y axis.' }),
            el('div', { class: 'multiples', attrs: { id: 'multiples-clip' } }),
          ])
        : el('span', { attrs: { hidden: '' } }),
    );
    this.renderCharts();
    const y = this.scrollRestored ? keepY : this.app.state.scrollY;
    this.scrollRestored = true;
    if (y > 0) requestAnimationFrame(() => window.scrollTo(0, y));
  }

  /**
   * The first sentences of the summary, the rest one click away: a long findings list must not
   * push the first chart below the fold (the layout rule, checked end to end at 1600 x 1000).
   */
  private summaryLines(lines: string[]): HTMLElement[] {
    const shown = lines.slice(0, SUMMARY_SHOWN).map((line) => el('p', { class: 'summary-line', text: line }));
    const rest = lines.slice(SUMMARY_SHOWN);
    if (rest.length === 0) return shown;
    return [...shown, el('details', { class: 'more-findings' }, [
      el('summary', { text: `${rest.length} more finding${rest.length > 1 ? 's' : ''}` }),
      ...rest.map((line) => el('p', { class: 'summary-line', text: line })),
    ])];
  }

  private colors = new Map<string, string>();
  private titles = new Map<string, string>();

  private colorOf(run: ReportRun): string {
    return this.colors.get(run.id) ?? this.app.theme().series[0]!;
  }

  private titleOf(run: ReportRun): string {
    return this.titles.get(run.id) ?? run.label;
  }

  private swatch(run: ReportRun): HTMLElement {
    const sw = el('span', { class: 'swatch', attrs: { 'aria-hidden': 'true' } });
    // CSSOM, not a style attribute: allowed under the panel's CSP (no 'unsafe-inline').
    sw.style.background = this.colorOf(run);
    return sw;
  }

  private toolbar(): HTMLElement {
    const save = el('vscode-button', { text: partialOf(this.report!.study) ? 'Save partial report' : 'Save report' });
    save.addEventListener('click', () => this.app.post({ type: 'saveReport' }));
    const metricId = uid('metric');
    const select = el('vscode-single-select', { attrs: { id: metricId, 'aria-label': 'Gradient panels show' } }) as HTMLElement & { value: string };
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
    const lossLog = el('vscode-checkbox', { attrs: { label: 'Log-scale loss', ...(this.app.state.lossLog ? { checked: '' } : {}) } }) as HTMLElement & { checked: boolean };
    lossLog.addEventListener('change', () => {
      this.app.save({ lossLog: lossLog.checked });
      this.renderCharts();
    });
    const smooth = el('vscode-checkbox', { attrs: { label: 'Smooth loss', ...(this.app.state.lossSmooth ? { checked: '' } : {}) } }) as HTMLElement & { checked: boolean };
    smooth.addEventListener('change', () => {
      this.app.save({ lossSmooth: smooth.checked });
      this.renderCharts();
    });
    return el('div', { class: 'toolbar', attrs: { role: 'toolbar', 'aria-label': 'Report options' } }, [
      el('label', { class: 'toolbar-label', text: 'Gradient panels show', attrs: { for: metricId } }),
      select,
      lossLog,
      smooth,
      el('span', { class: 'spacer' }),
      // A running study is not in the store yet: there is nothing of it to save until it ends or is cancelled.
      partialOf(this.report!.study)?.running ? null : save,
    ]);
  }

  private select(runId: string, scrollToCard: boolean): void {
    this.app.save({ selectedRunId: runId });
    this.highlight();
    this.app.post({ type: 'selectRun', runId });
    if (scrollToCard) this.content.querySelector('.card.selected')?.scrollIntoView({ block: 'nearest' });
  }

  /** One line per run: colour, distinguishing title, verdict, deciding number; opens to the whole evidence. */
  private runLine(run: ReportRun, c: CardModel, common: readonly string[]): HTMLElement {
    const titleId = uid('card');
    const title = this.titleOf(run);
    const pick = el('button', { class: 'card-title', text: title, attrs: { id: titleId, type: 'button', 'aria-pressed': 'false', title: `${run.label} — select this run (shows it in the Heatmaps view)` } });
    pick.addEventListener('click', (e) => {
      e.preventDefault(); // a click on the name selects; the disclosure triangle opens
      this.select(c.id, false);
    });
    const verdict = c.verdict ?? 'not diagnosed';
    // The run record's loss (the probe batch after training): the number the summary, the CLI and the checks use.
    const finalLoss = typeof run.loss === 'number' ? fmtNum(run.loss, 4) : (c.facts.find((f) => f.name === 'final loss')?.value ?? '—');
    const summary = el('summary', { class: 'run-summary' }, [
      this.swatch(run),
      pick,
      el('span', { class: `badge badge-${c.verdict ?? 'none'}`, text: verdict }),
      el('span', { class: 'deciding', text: decidingNumber(run) }),
      el('span', { class: 'loss-fact', text: `${isSinglePass(run) ? 'loss' : 'final loss'} ${finalLoss}` }),
      c.recommendations[0] ? el('span', { class: 'top-rec', text: `→ ${c.recommendations[0].title}` }) : null,
    ]);
    const facts = el('dl', { class: 'facts' });
    for (const f of c.facts) facts.append(el('div', {}, [el('dt', { text: f.name }), el('dd', { text: f.value })]));
    const runIds = new Set(this.report?.runs.map((x) => x.id));
    const recs = c.recommendations.map((r, i) => {
      // Already re-run (by the study or earlier): the button shows that run instead of training again.
      const checkRun = r.checkRunId !== null && runIds.has(r.checkRunId) ? r.checkRunId : null;
      const apply = checkRun
        ? (el('vscode-button', { text: 'Show the re-run', attrs: { secondary: '', 'aria-label': `Show the run that re-ran ${title} with “${r.title}”` } }) as HTMLElement & { disabled: boolean })
        : (el('vscode-button', { text: 'Apply & re-run', attrs: { 'aria-label': `Apply “${r.title}” and re-run ${title}` } }) as HTMLElement & { disabled: boolean });
      apply.addEventListener('click', () => {
        if (checkRun) return this.select(checkRun, true);
        if (apply.disabled) return;
        apply.disabled = true;
        apply.textContent = 'Re-running…';
        this.app.post({ type: 'applyRecommendation', runId: c.id, index: r.index });
      });
      const extra = changeBeyondTitle(run.recommendations[i]!);
      return el('li', { class: 'rec' }, [
        el('p', { class: 'rec-title', text: r.title }),
        el('p', { class: 'rec-why', text: r.rationale }),
        extra ? el('p', { class: 'rec-change', text: `Re-run with: ${extra}` }) : null,
        r.check ? el('p', { class: `rec-check verdict-text-${r.checkVerdict ?? 'none'}`, text: r.check }) : null,
        el('div', { class: 'rec-actions' }, [apply]),
      ]);
    });
    const evidence = ownEvidence(run, common);
    return el('details', { class: `card run-line verdict-${c.verdict ?? 'none'}`, attrs: { 'data-run': c.id, 'aria-labelledby': titleId } }, [
      summary,
      el('div', { class: 'run-body' }, [
        el('p', { class: 'meta', text: run.label }),
        facts,
        evidence.length ? el('ul', { class: 'evidence', attrs: { 'aria-label': 'Evidence' } }, evidence.map((e) => el('li', { text: e }))) : null,
        ...c.notes.map((n) => el('p', { class: 'note', text: n })),
        recs.length ? el('div', { class: 'recs' }, [el('h3', { text: 'Recommendations' }), el('ul', {}, recs)]) : null,
      ]),
    ]);
  }

  private highlight(): void {
    const id = this.app.state.selectedRunId;
    for (const node of this.content.querySelectorAll<HTMLElement>('[data-run]')) {
      const on = node.dataset.run === id;
      node.classList.toggle('selected', on);
      // The selected run's line opens to its evidence and recommendations (others stay as the reader left them).
      if (on && node instanceof HTMLDetailsElement) node.open = true;
      node.querySelector('.card-title, .row-select')?.setAttribute('aria-pressed', String(on));
    }
    this.emphasizeLoss(null);
  }

  /** Bold the hovered loss curve (else the selected run's), the others faint. */
  private emphasizeLoss(hovered: number | null): void {
    if (!this.loss) return;
    const id = this.app.state.selectedRunId;
    const selected = id === null ? -1 : this.loss.ids.indexOf(id);
    const i = hovered ?? (selected >= 0 ? selected : null);
    const highContrast = this.app.theme().kind.startsWith('high-contrast');
    // Pointing at a curve fades the others far; a selection in a small study only a little
    // (three curves are readable together; twenty are not).
    const few = this.loss.ids.length <= 6 && hovered === null;
    emphasize(this.loss.chart, this.loss.colors, i, few ? 0.7 : highContrast ? 0.45 : 0.18);
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
    const runs = r.runs;

    // Small multiples on the shared timestep axis, one shared log range.
    const metric = PROFILE_METRICS.find((m) => m.value === this.app.state.metric) ?? PROFILE_METRICS[0]!;
    const note = this.content.querySelector('#profile-note');
    if (note) {
      note.textContent = (metric.value === 'normalised'
        ? 'p(k)/p(0): the gradient reaching t = T−1−k, relative to the scored step (1 at the right end). '
        : '') + 'Timestep t runs left to right; the scored step is on the right (k = T−1−t steps back), so the gradient travels leftwards. Solid: trained; dashed: at initialisation. One shared log axis; shaded ▼ stretches are non-finite.';
    }
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
      const color = this.colorOf(run);
      const series: LineSeries[] = [{ label: 'trained', points: downsampleMinMax(ys.map(forLog), MAX_POINTS), color }];
      if (init) series.push({ label: 'at initialisation', points: downsampleMinMax(init.map(forLog), MAX_POINTS), color: fade(color, 0.55), dashed: true });
      const eps = r.study.thresholds?.vanishEpsilon;
      const ht = metric.value === 'normalised' ? horizonTimestep(run) : null;
      this.figure(multiples, run, {
        series, xTitle: metric.axis, yTitle: metric.short, yLog: true,
        yRange: profileRange, xMax: profileMax, gaps: gapsOf(ys, theme.red),
        threshold: metric.value === 'normalised' && typeof eps === 'number' ? { value: eps, label: `ε = ${fmtNum(eps)}${ht !== null ? ` · horizon at t = ${ht}` : ''}` } : null,
        vline: ht,
      }, seriesSummary(`${run.label}, ${metric.label}, trained`, ys, metric.xName) + (init ? ` ${seriesSummary('At initialisation', init, metric.xName)}` : ''), ys, 'chart-box short');
    });

    // Loss curves, all runs on one chart: the hovered (or selected) one bold, the others faint.
    const lossBox = this.content.querySelector('#loss-chart')!;
    clear(lossBox);
    const lossLog = this.app.state.lossLog;
    const smooth = this.app.state.lossSmooth;
    const lossOf = (run: ReportRun): MaybeNum[] => (smooth ? ema(run.history.loss as MaybeNum[]) : (run.history.loss as MaybeNum[]));
    const many = runs.length > 6;
    const lossSeries: LineSeries[] = runs.map((run) => ({
      label: this.titleOf(run),
      points: downsampleMinMax(lossOf(run).map((v) => (lossLog ? forLog(v) : v)), MAX_POINTS),
      color: this.colorOf(run),
    }));
    const lossGaps = runs.flatMap((run) => gapsOf(run.history.loss as MaybeNum[], this.colorOf(run)));
    const lossSummary = runs.map((run) => seriesSummary(`${run.label} loss`, run.history.loss as MaybeNum[], 'iteration')).join(' ');
    const lossChart = this.figure(lossBox, null, {
      series: lossSeries, xTitle: 'iteration', yTitle: smooth ? 'loss (smoothed)' : 'loss', yLog: lossLog, legend: !many, gaps: lossGaps,
      yRange: lossLog ? sharedLogRange(runs.map((run) => lossOf(run))) : null,
      nearestOnly: many,
      onHoverSeries: (i) => this.emphasizeLoss(i),
    }, lossSummary, null, 'chart-box tall', [lossNote(runs), many ? 'Point at a curve to bring it forward (its run in the tooltip); pick a run to keep it bold.' : null].filter(Boolean).join(' ') || null);
    this.loss = { chart: lossChart, colors: lossSeries.map((x) => x.color), ids: runs.map((run) => run.id) };

    // Global norm before and after clipping, only when some run clips.
    const clipBox = this.content.querySelector('#multiples-clip');
    if (clipBox) {
      clear(clipBox);
      const thresholds = runs.map(normClipThreshold);
      const clipRange = sharedLogRange(runs.flatMap((run) => [run.history.preClipNorm as MaybeNum[], run.history.postClipNorm as MaybeNum[]]), thresholds);
      const iterMax = Math.max(1, ...runs.map((run) => run.history.preClipNorm.length - 1));
      runs.forEach((run, i) => {
        const ys = run.history.preClipNorm as MaybeNum[];
        const post = run.history.postClipNorm as MaybeNum[];
        const th = thresholds[i] ?? null;
        const clips = run.config.clip && run.config.clip.kind !== 'none';
        const color = this.colorOf(run);
        const series: LineSeries[] = [{ label: 'before clipping', points: downsampleMinMax(ys.map(forLog), MAX_POINTS), color }];
        if (clips) series.push({ label: 'after clipping', points: downsampleMinMax(post.map(forLog), MAX_POINTS), color: theme.foreground, dashed: true });
        const summary =
          seriesSummary(`${run.label}, global norm before clipping`, ys, 'iteration') +
          (th !== null ? ` Threshold ${fmtNum(th)}; clipped on ${fmtNum((run.history.clipRate ?? 0) * 100)}% of iterations.` : clips ? ' Clipped elementwise by value.' : ' No clipping.');
        this.figure(clipBox, run, {
          series, xTitle: 'iteration', yTitle: '‖g‖', yLog: true, yRange: clipRange, xMax: iterMax,
          threshold: th !== null ? { value: th, label: `clip ${fmtNum(th)} · ${fmtNum((run.history.clipRate ?? 0) * 100)}% clipped` } : null, gaps: gapsOf(ys, theme.red),
        }, summary, ys, 'chart-box short', run.config.clip?.kind === 'value' ? 'Clipped by value: no norm threshold to draw.' : clips ? null : 'No clipping (reference).');
      });
    }

    this.highlight();
    this.app.perf('report', performance.now() - t0);
    // A study still running is not a result yet: its verdicts are published once it is done
    // (tests and tools that wait for "a report with verdicts" get the finished one).
    const running = partialOf(r.study)?.running === true;
    this.app.publish({ verdicts: running ? [] : runs.map((run) => run.diagnosis?.verdict ?? 'none'), chartsDrawn: this.charts.length });
  }

  private placeholder(run: ReportRun, text: string): HTMLElement {
    return el('figure', { class: 'chart-figure empty-figure', attrs: { 'data-run': run.id } }, [el('figcaption', { text: this.titleOf(run) }), el('p', { class: 'note', text })]);
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
    const title = run ? this.titleOf(run) : '';
    const pick = run ? el('button', { class: 'fig-title', text: title, attrs: { type: 'button', title: `${run.label} — select this run` } }) : null;
    if (run && pick) pick.addEventListener('click', () => this.select(run.id, false));
    const caption = run
      ? el('figcaption', {}, [el('span', { class: 'fig-name' }, [this.swatch(run), pick]), el('span', { class: `badge badge-${run.diagnosis?.verdict ?? 'none'}`, text: run.diagnosis?.verdict ?? 'not diagnosed' })])
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

/** Exponential moving average (span ≈ 2 % of the curve, at least 3), skipping non-finite points. */
export function ema(ys: readonly MaybeNum[]): MaybeNum[] {
  const span = Math.max(3, Math.round(ys.length / 50));
  const alpha = 2 / (span + 1);
  let acc: number | null = null;
  return ys.map((v) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) return v;
    acc = acc === null ? v : acc + alpha * (v - acc);
    return acc;
  });
}
