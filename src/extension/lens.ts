// The extension's controller: owns the report store, the study runner (worker pool), the
// views, and implements every command. The views only render; the webviews only ask (through
// validated messages); everything that changes state happens here.
import * as vscode from 'vscode';
import * as path from 'node:path';
import { realpath } from 'node:fs/promises';
import { errorLine, isInputError, type InputError } from '../io/errors';
import { DEFAULT_HEAD_ROWS, isSizeLimitError, type FileReadOptions } from '../io/sequenceHead';
import { isMissingValuesError, SEQUENCE_EXTENSIONS, type MissingPolicy } from '../io/sequences';
import type { HostToWebview, WebviewKind, WebviewToHost } from '../protocol';
import { isSampleName, loadSample, SAMPLES, type SampleName } from '../study/samples';
import type { StudySpec } from '../study/study';
import type { Dataset, Report, ReportRun, RunConfig, StudyKind } from '../study/types';
import { OPTION_LIMITS } from '../study/options';
import { isWindowedSeries, suggestWindow, targetSeries } from '../study/window';
import { pickCells, pickClips, pickData, pickFile, pickGateCells, pickTargetColumn, pickWindow, pickWindowLength } from './prompts';
import { defaultWindowLength, gatePicks } from '../study/gateChoices';
import { findSavedReports, saveReportFolder } from './reportFiles';
import { chooseSaveTarget, resolveReportDir } from './reportPaths';
import { RunsTreeProvider } from './runsTree';
import { readSettings, type LensSettings } from './settings';
import type { RunStats } from './stallProbe';
import { ReportStore } from './store';
import { checkOf } from '../study/study';
import { applyRecommendation, buildCheckSpec, buildStudySpec, rerunConfigProblem, type StudyPicks } from './studyRequest';
import { StudyRunner } from './studyRunner';
import { displaySource, kindLabel, plainLabel, sampleOfSource } from './viewModel';
import { clampSteps, clampUntrustedConfig, resolveRerunSource, workloadText } from './rerunGuard';
import { boundReportForView, boundRunForView } from './viewBounds';
import { HeatmapEditor, HeatmapsViewProvider, ReportPanel, type WebviewHost } from './webviews';
import { defaultPoolSize, WorkerPool } from '../worker/pool';

const LAST_REPORT_KEY = 'bpttLens.lastReportFile';

export class Lens implements vscode.Disposable, WebviewHost {
  readonly extensionUri: vscode.Uri;
  readonly store = new ReportStore();
  readonly output: vscode.OutputChannel;
  readonly tree: RunsTreeProvider;
  readonly heatmaps: HeatmapsViewProvider;
  private readonly runner: StudyRunner;
  /** Reads and parses sequence files off this thread (a 13 MB CSV took 2-3.5 s here). */
  /**
   * The worker threads for training runs and for reading users' sequence files (both kept off
   * this thread). One core stays free for the editor itself: on 2 cores, two busy workers
   * starved the extension host's main thread (300 ms stalls instead of under 40 ms).
   */
  readonly workers: WorkerPool;
  private busyState: { label: string; fraction: number } | null = null;
  /** The running study's finished runs (shown in the panel as they come), while runAndShow waits. */
  private live: Report | null = null;
  private liveWanted = false;
  /** The data each session study trained on, to re-run a recommendation on the same data. */
  private readonly datasets = new Map<string, Dataset>();
  private revealedSideBar = false;
  private readonly workspaceState: vscode.Memento;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(context: vscode.ExtensionContext) {
    this.extensionUri = context.extensionUri;
    this.workspaceState = context.workspaceState;
    this.output = vscode.window.createOutputChannel('BPTT Lens');
    const workerPath = vscode.Uri.joinPath(context.extensionUri, 'dist', 'worker.js').fsPath;
    this.workers = new WorkerPool({ workerPath, size: Math.max(1, defaultPoolSize() - 1) });
    this.runner = new StudyRunner(this.workers, this.output, {
      busy: (label, fraction) => this.setBusy({ label, fraction }),
      partial: (report) => this.showLive(report),
      idle: () => this.setBusy(null),
    });
    // Saved reports are read and validated in a worker: a big report.json must not stall this thread.
    this.tree = new RunsTreeProvider(this.store, (file) => this.workers.readReportFile(file), () => findSavedReports(this.reportDirs()));
    this.heatmaps = new HeatmapsViewProvider(this);
    this.disposables.push(this.output, this.runner, this.tree, this.heatmaps, { dispose: () => void this.workers.close() });
    this.disposables.push(this.store.onChange((change) => this.onStoreChange(change)));
  }

  // ------------------------------------------------------------------ settings

  settings(): LensSettings {
    const config = vscode.workspace.getConfiguration('bpttLens');
    const { settings, warnings } = readSettings((key) => config.get(key));
    for (const w of warnings) this.output.appendLine(w);
    return settings;
  }

  private reportDirs(): string[] {
    const folder = this.settings().reportFolder;
    return (vscode.workspace.workspaceFolders ?? []).map((f) => resolveReportDir(f.uri.fsPath, folder)).filter((d): d is string => d !== null);
  }

  // ------------------------------------------------------------------ webviews

  log(line: string): void {
    this.output.appendLine(line);
  }

  snapshot(view: WebviewKind): HostToWebview[] {
    const out: HostToWebview[] = [];
    if (this.busyState) out.push({ type: 'busy', label: this.busyState.label, fraction: this.busyState.fraction });
    const current = this.store.current();
    if (view === 'heatmapEditor') {
      const m = HeatmapEditor.message;
      out.push(m ?? { type: 'clear' });
      return out.filter((x) => x.type !== 'busy');
    }
    if (view === 'report') {
      if (this.live) out.push(this.reportMessage(this.live, undefined));
      else out.push(current ? this.reportMessage(current.report, this.store.selectedRun()?.id) : { type: 'clear' });
    } else {
      const run = this.store.selectedRun();
      out.push(current && run ? this.runMessage(run, current.report.study) : { type: 'clear' });
    }
    return out;
  }

  onMessage(message: WebviewToHost, view: WebviewKind): void {
    switch (message.type) {
      case 'ready':
        break; // handled by the channel
      case 'selectRun':
        this.store.select(message.runId);
        break;
      case 'saveReport':
        void this.saveReport();
        break;
      case 'runCommand':
        void vscode.commands.executeCommand(message.command);
        break;
      case 'applyRecommendation':
        void this.applyRecommendation(message.runId, message.index);
        break;
      case 'openHeatmap':
        this.openHeatmap(message.runId, message.kind, message.quantity);
        break;
      case 'perf':
        this.output.appendLine(`${view} webview: ${message.name} ${message.ms.toFixed(1)} ms`);
        break;
    }
  }

  /** A heatmap of the current study full size in an editor tab. */
  private openHeatmap(runId: string, kind: string, quantity: string): void {
    const current = this.store.current();
    const run = current?.report.runs.find((r) => r.id === runId);
    if (!current || !run) return;
    const bounded = boundRunForView(run).run;
    HeatmapEditor.show(this, `Heatmap: ${plainLabel(run.label, 60)}`, { type: 'run', run: bounded, study: current.report.study, heatmap: { kind, quantity } });
  }

  /** The report as the panel draws it: bounded in runs and matrix sizes (viewBounds.ts), saying what is left out. */
  private reportMessage(report: Report, selectedRunId: string | undefined): HostToWebview {
    const bounded = boundReportForView(report, selectedRunId);
    this.tellLeftOut(report, bounded.notes);
    return { type: 'report', report: bounded.report, selectedRunId };
  }

  private runMessage(run: ReportRun, study: Report['study']): HostToWebview {
    const bounded = boundRunForView(run);
    this.tellLeftOut(run, bounded.notes);
    return { type: 'run', run: bounded.run, study };
  }

  /** Once per report or run: every note to the log, the first one as a notification. */
  private readonly toldLeftOut = new WeakSet<object>();
  private tellLeftOut(key: object, notes: string[]): void {
    if (notes.length === 0 || this.toldLeftOut.has(key)) return;
    this.toldLeftOut.add(key);
    for (const n of notes) this.output.appendLine(n);
    const more = notes.length > 1 ? ` (${notes.length - 1} more note${notes.length > 2 ? 's' : ''} in the BPTT Lens output)` : '';
    void vscode.window.showInformationMessage(`BPTT Lens: ${notes[0]}${more}`, 'Show Log').then((c) => {
      if (c) this.output.show(true);
    });
  }

  private postToViews(report: HostToWebview | null, heatmaps: HostToWebview | null): void {
    if (report) ReportPanel.current?.post(report);
    if (heatmaps) this.heatmaps.post(heatmaps);
  }

  private onStoreChange(change: string): void {
    const current = this.store.current();
    // A report that is on disk can come back after a window reload (see restorePanel).
    if (change !== 'selection') void this.workspaceState.update(LAST_REPORT_KEY, current?.file);
    if (change === 'studies') for (const key of [...this.datasets.keys()]) if (!this.store.get(key)) this.datasets.delete(key);
    if (!current || change === 'studies') return;
    const run = this.store.selectedRun();
    const runMessage: HostToWebview | null = run ? this.runMessage(run, current.report.study) : null;
    if (change === 'current') {
      this.postToViews(this.reportMessage(current.report, run?.id), runMessage ?? { type: 'clear' });
      ReportPanel.current?.setTitle(panelTitle(current.report));
    } else if (run) {
      this.postToViews({ type: 'select', runId: run.id }, runMessage);
    }
    this.heatmaps.setDescription(run?.label);
  }

  private setBusy(state: { label: string; fraction: number } | null): void {
    this.busyState = state;
    const message: HostToWebview = state ? { type: 'busy', label: state.label, fraction: state.fraction } : { type: 'idle' };
    this.postToViews(message, message);
  }

  /** Shows the current study in the report panel (opening it beside the editor). */
  showPanel(preserveFocus = false): void {
    const panel = ReportPanel.createOrShow(this, preserveFocus);
    const current = this.store.current();
    if (current) panel.setTitle(panelTitle(current.report));
  }

  /** VS Code restored the report panel after a reload: show the last report again if it is on disk. */
  async restorePanel(panel: vscode.WebviewPanel): Promise<void> {
    ReportPanel.revive(panel, this);
    const file = this.workspaceState.get<string>(LAST_REPORT_KEY);
    if (!file || this.store.current()) return;
    try {
      this.store.add(await this.workers.readReportFile(file), file);
    } catch (e) {
      this.output.appendLine(`could not restore ${file}: ${(e as Error).message}`);
    }
  }

  // ------------------------------------------------------------------ studies

  lastRunStats(): Pick<RunStats, 'maxStallMs' | 'maxBusyMs' | 'runMs'> | null {
    const s = this.runner.lastStats;
    return s ? { maxStallMs: s.maxStallMs, maxBusyMs: s.maxBusyMs, runMs: s.runMs } : null;
  }

  private async loadSampleData(name: SampleName, settings: LensSettings): Promise<Dataset> {
    return loadSample(name, { seed: settings.seed, ...(settings.length > 0 ? { steps: settings.length } : {}) });
  }

  /** Runs finish one by one: the panel shows each as it comes (opened on the first one). */
  private showLive(report: Report): void {
    if (!this.liveWanted) return;
    this.live = report;
    if (!ReportPanel.current) this.showPanel(true);
    ReportPanel.current?.post(this.reportMessage(report, undefined));
    ReportPanel.current?.setTitle(`${panelTitle(report)} (running)`);
  }

  /**
   * Plans and runs a study, then shows it. A cancel keeps the finished runs as a partial study
   * (marked partial, savable); a failure leaves the views as they were.
   */
  private async runAndShow(spec: StudySpec, title: string): Promise<Report | undefined> {
    if (this.refusedWhileBusy()) return undefined;
    this.liveWanted = true;
    let outcome;
    try {
      outcome = await this.runner.run(spec, title);
    } finally {
      this.liveWanted = false;
      this.live = null;
    }
    if (outcome.kind === 'cancelled') {
      const what = `Cancelled after ${outcome.done} of ${outcome.total} runs`;
      if (outcome.partial) {
        const key = this.store.add(outcome.partial);
        this.datasets.set(key, spec.dataset);
        this.revealSideBarOnce();
        this.showPanel(true);
        void vscode.window.showInformationMessage(`BPTT Lens: ${what}. The finished runs are kept as a partial study.`, 'Save Partial Report').then((choice) => {
          if (choice) void this.saveReport();
        });
        return outcome.partial;
      }
      // Nothing finished: the panel goes back to what it showed before.
      const current = this.store.current();
      ReportPanel.current?.post(current ? this.reportMessage(current.report, this.store.selectedRun()?.id) : { type: 'clear' });
      if (current) ReportPanel.current?.setTitle(panelTitle(current.report));
      void vscode.window.showInformationMessage(`BPTT Lens: ${what}.`);
      return undefined;
    }
    if (outcome.kind === 'failed') {
      const current = this.store.current();
      ReportPanel.current?.post(current ? this.reportMessage(current.report, this.store.selectedRun()?.id) : { type: 'clear' });
      ReportPanel.current?.post({ type: 'error', message: `${title} failed: ${outcome.error.message}` });
      void vscode.window.showErrorMessage(`BPTT Lens: ${title} failed: ${outcome.error.message}`, 'Show Log').then((c) => {
        if (c) this.output.show(true);
      });
      return undefined;
    }
    const key = this.store.add(outcome.report);
    this.datasets.set(key, spec.dataset);
    this.revealSideBarOnce();
    this.showPanel();
    return outcome.report;
  }

  /**
   * One study at a time, checked before the prompts too, so nobody answers them only to be
   * refused. The warning's Cancel It cancels the running study.
   */
  private refusedWhileBusy(): boolean {
    if (!this.runner.busy) return false;
    void vscode.window.showWarningMessage('BPTT Lens: a study is already running.', 'Cancel It').then((choice) => {
      if (choice === 'Cancel It') this.runner.cancel();
    });
    return true;
  }

  /** The first study of a session opens the BPTT Lens side bar (Runs tree + Heatmaps). */
  private revealSideBarOnce(): void {
    if (this.revealedSideBar) return;
    this.revealedSideBar = true;
    void vscode.commands.executeCommand('workbench.view.extension.bpttLens').then(undefined, () => undefined);
  }

  private async runSampleStudy(kind: StudyKind, command: string, sample: SampleName, picks: StudyPicks, settings: LensSettings): Promise<void> {
    let dataset: Dataset;
    try {
      dataset = await this.loadSampleData(sample, settings);
    } catch (e) {
      void vscode.window.showErrorMessage(`BPTT Lens: ${(e as Error).message}`);
      return;
    }
    await this.runAndShow(buildStudySpec(dataset, settings, { ...picks, kind }), `${command} on ${sample}`);
  }

  async runDiagnosis(): Promise<void> {
    if (this.refusedWhileBusy()) return;
    const settings = this.settings();
    const data = await pickData('Run Diagnosis', 1, 2, 'diagnosis');
    if (!data) return;
    if (data.kind === 'file') return this.fileStudy('diagnosis', 'Run Diagnosis', undefined);
    const cells = await pickCells('Run Diagnosis', 2, 2, settings);
    if (!cells) return;
    await this.runSampleStudy('diagnosis', 'Run Diagnosis', data.name, { kind: 'diagnosis', cells }, settings);
  }

  async compareClipping(): Promise<void> {
    if (this.refusedWhileBusy()) return;
    const settings = this.settings();
    const data = await pickData('Compare Clipping Thresholds', 1, 2, 'clipping');
    if (!data) return;
    if (data.kind === 'file') return this.fileStudy('clipping', 'Compare Clipping Thresholds', undefined);
    const clips = await pickClips('Compare Clipping Thresholds', 2, 2, settings);
    if (!clips) return;
    await this.runSampleStudy('clipping', 'Compare Clipping Thresholds', data.name, { kind: 'clipping', clips }, settings);
  }

  async compareGates(): Promise<void> {
    if (this.refusedWhileBusy()) return;
    const settings = this.settings();
    const data = await pickData('Compare Gate Choices', 1, 3, 'gates');
    if (!data) return;
    if (data.kind === 'file') return this.fileStudy('gates', 'Compare Gate Choices', undefined);
    const cells = await pickGateCells('Compare Gate Choices', 2, 3);
    if (!cells) return;
    const length = await pickWindowLength('Compare Gate Choices', 3, 3, data.name, defaultWindowLength(data.name, settings.length));
    if (length === undefined) return;
    const chosen = gatePicks(cells, length);
    // T answered here applies to this study only (the setting stays as it is).
    const withLength: LensSettings = { ...settings, length: chosen.length };
    await this.runSampleStudy('gates', 'Compare Gate Choices', data.name, { kind: 'gates', ...chosen.picks }, withLength);
  }

  /** From the explorer / editor context menu (uri), the active editor, or a file dialog. */
  async diagnoseFile(arg?: unknown): Promise<void> {
    return this.fileStudy('diagnosis', 'Diagnose', arg);
  }

  /**
   * A study on the user's own file: the file (argument, active editor or dialog), the target
   * column when a CSV has several, the window T with a suggestion computed from the series,
   * then (Compare Clipping) the clip settings. Every read runs in a worker.
   */
  private async fileStudy(kind: StudyKind, command: string, arg: unknown): Promise<void> {
    if (this.refusedWhileBusy()) return;
    const settings = this.settings();
    let uri = arg instanceof vscode.Uri ? arg : undefined;
    if (!uri && kind === 'diagnosis') {
      const active = vscode.window.activeTextEditor?.document.uri;
      const ext = path.extname(active?.fsPath ?? '').toLowerCase();
      if (active && active.scheme === 'file' && (SEQUENCE_EXTENSIONS as readonly string[]).includes(ext)) uri = active;
    }
    uri ??= await pickFile();
    if (!uri) return;
    if (uri.scheme !== 'file') {
      void vscode.window.showErrorMessage(`BPTT Lens: ${uri.toString()} is not a local file.`);
      return;
    }
    const file = uri.fsPath;
    const name = path.basename(file);
    // Like listTargetColumns, never fails: a file problem is reported by the read below.
    const listing = this.workers.listTargetColumns(file).catch(() => []);
    vscode.window.setStatusBarMessage(`$(sync~spin) BPTT Lens: reading ${name}…`, listing);
    const columns = await listing;
    let targetColumn: number | undefined;
    if (columns.length > 1) {
      const picked = await pickTargetColumn(name, columns);
      if (!picked) return;
      targetColumn = picked.position;
    }
    const target = targetColumn !== undefined ? { targetColumn } : {};
    // The user's answers about missing values and a file over the size limit: asked once, kept for the second read.
    let answers: FileReadOptions = {};
    const read = async (options: { window?: number }): Promise<Dataset | undefined> => {
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          const reading = this.workers.readSequenceFile(file, { ...target, ...answers, ...options });
          vscode.window.setStatusBarMessage(`$(sync~spin) BPTT Lens: reading ${name}…`, reading);
          return await reading;
        } catch (e) {
          if (isMissingValuesError(e) && !answers.missing) {
            const missing = await this.pickMissing(name, e);
            if (!missing) return undefined;
            answers = { ...answers, missing };
            continue;
          }
          if (isSizeLimitError(e) && answers.firstRows === undefined) {
            const head = `Read First ${DEFAULT_HEAD_ROWS.toLocaleString('en')} Rows`;
            const choice = await vscode.window.showErrorMessage(`BPTT Lens: ${errorLine(e)}`, head);
            if (choice !== head) return undefined;
            answers = { ...answers, firstRows: DEFAULT_HEAD_ROWS };
            continue;
          }
          // The whole message (file, line, what was expected), with "Open at Line N".
          this.showReadError(e, file);
          return undefined;
        }
      }
      return undefined;
    };
    // The window: asked for a series, with a suggestion from its autocorrelation (read once at T = 1).
    const series = await read({ window: 1 });
    if (!series) return;
    let window: number | undefined;
    if (isWindowedSeries(series)) {
      const suggestion = suggestWindow(targetSeries(series), { maxWindow: OPTION_LIMITS.length.max, fallback: SAMPLES.airline.defaults.steps });
      const prefilled = settings.length > 0
        ? { ...suggestion, window: Math.min(settings.length, Math.max(1, series.count - 1)), reason: `bpttLens.sequenceLength is ${settings.length}; the series itself suggests ${suggestion.window}: ${suggestion.reason}` }
        : suggestion;
      window = await pickWindow(name, prefilled, series.count + 1, OPTION_LIMITS.length.max);
      if (window === undefined) return;
      this.output.appendLine(`${name}: window T = ${window} (suggested ${suggestion.window}: ${suggestion.reason})`);
    }
    const dataset = window === undefined ? series : await read({ window });
    if (!dataset) return;
    const picks: StudyPicks = { kind };
    if (kind === 'clipping') {
      const clips = await pickClips(command, 2, 2, settings);
      if (!clips) return;
      picks.clips = clips;
    }
    if (kind === 'gates') {
      const cells = await pickGateCells(command, 2, 2);
      if (!cells) return;
      picks.cells = gatePicks(cells, dataset.steps).picks.cells;
    }
    await this.runAndShow(buildStudySpec(dataset, settings, picks), kind === 'diagnosis' ? `Diagnose ${name}` : `${command} on ${name}`);
  }

  /** Missing cells in a file: interpolate them or drop the windows that hold one (or give up). */
  private async pickMissing(name: string, e: InputError): Promise<MissingPolicy | undefined> {
    const count = /missing values: (\d+)/.exec(e.detail)?.[1] ?? 'some';
    type Item = vscode.QuickPickItem & { policy: MissingPolicy };
    const items: Item[] = [
      { label: 'Interpolate the gaps', description: 'linear between the neighbouring values (the ends take the nearest value)', policy: 'interpolate' },
      { label: 'Drop the windows that contain a gap', description: 'fewer examples, only observed values', policy: 'drop' },
    ];
    const picked = await vscode.window.showQuickPick(items, {
      title: `BPTT Lens: ${plainLabel(name)} has ${count} missing cell${count === '1' ? '' : 's'} (empty, NA, n/a, NaN, null or -)`,
      placeHolder: 'What should the diagnosis do with them? The report says how many.',
      ignoreFocusOut: true,
    });
    return picked?.policy;
  }

  /** The whole message in the notification, with "Open at line N" when it names a line. */
  private showReadError(e: unknown, file: string): void {
    if (!isInputError(e)) {
      void vscode.window.showErrorMessage(`BPTT Lens: ${path.basename(file)}: ${(e as Error).message}`);
      return;
    }
    const action = e.line !== null ? `Open at Line ${e.line}` : 'Open File';
    this.output.appendLine(`could not read ${e.message}`);
    void vscode.window.showErrorMessage(`BPTT Lens: ${errorLine(e)}`, action).then(async (choice) => {
      if (choice !== action) return;
      try {
        const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(e.file));
        const line = Math.max(0, Math.min(doc.lineCount - 1, (e.line ?? 1) - 1));
        const range = doc.lineAt(line).range;
        await vscode.window.showTextDocument(doc, { selection: range, preview: false });
      } catch (err) {
        void vscode.window.showErrorMessage(`BPTT Lens: cannot open ${path.basename(e.file)}: ${(err as Error).message}`);
      }
    });
  }

  /** Re-runs a run with one of its recommendations applied; the result joins the same report. */
  async applyRecommendation(runId: string, index: number): Promise<void> {
    const current = this.store.current();
    const run = current?.report.runs.find((r) => r.id === runId);
    const rec = run?.recommendations[index];
    if (!current || !run || !rec) return;
    // Already re-run by the study (its recommendation check): show that run, do not train again.
    if (rec.check && current.report.runs.some((r) => r.id === rec.check!.runId)) {
      this.store.replace(current.key, current.report, rec.check.runId, current.file);
      this.showPanel();
      return;
    }
    const settings = this.settings();
    const seed = typeof run.config.seed === 'number' ? run.config.seed : settings.seed;
    // A report read from disk is untrusted: its source and config are checked (rerunGuard.ts).
    const untrusted = !this.datasets.has(current.key);
    const dataset = this.datasets.get(current.key) ?? (await this.recoverDataset(current.report, current.file, clampSteps(run.timesteps), seed));
    // Every way out without a new run resends the report, so the webview's "Re-running…" button comes back.
    const giveUp = (): void => {
      if (this.store.current()?.key === current.key) this.store.replace(current.key, current.report, run.id, current.file);
    };
    if (!dataset) {
      void vscode.window.showWarningMessage(`BPTT Lens: the data of this report (${plainLabel(current.report.study.source)}) is not available to re-run.`);
      giveUp();
      return;
    }
    // The report may have come from disk: its config is checked before anything trains on it.
    let config: RunConfig | undefined;
    let problem: string | null;
    try {
      config = applyRecommendation(run.config, rec.change, dataset, settings);
      problem = rerunConfigProblem(config);
    } catch (e) {
      problem = (e as Error).message;
    }
    if (!config || problem !== null) {
      void vscode.window.showWarningMessage(`BPTT Lens: "${plainLabel(rec.title)}" cannot be re-run: its configuration has ${plainLabel(problem ?? '', 160)}.`);
      giveUp();
      return;
    }
    if (untrusted) {
      const clamped = clampUntrustedConfig(config);
      config = clamped.config;
      const lowered = clamped.changes.length > 0 ? ` Lowered to the settings' limits: ${clamped.changes.join(', ')}.` : '';
      const go = await vscode.window.showWarningMessage(
        `BPTT Lens: re-run "${plainLabel(rec.title)}" from a saved report?`,
        { modal: true, detail: `It trains ${workloadText(config, dataset.steps, dataset.inputSize)}.${lowered}` },
        'Re-run',
      );
      if (go !== 'Re-run') {
        giveUp();
        return;
      }
    }
    const spec = buildCheckSpec(dataset, settings, config);
    const outcome = await this.runner.run(spec, `Check "${rec.title}"`);
    if (outcome.kind === 'failed') {
      ReportPanel.current?.post({ type: 'error', message: `The re-run failed: ${outcome.error.message}` });
      void vscode.window.showErrorMessage(`BPTT Lens: the re-run failed: ${outcome.error.message}`);
    }
    if (outcome.kind !== 'done' || outcome.report.runs.length === 0) {
      giveUp();
      return;
    }
    const checked = { ...outcome.report.runs[0]!, id: uniqueId(current.report, `${run.id}-rec${index + 1}`), label: `${run.label} → ${rec.title}` };
    const recommendations = run.recommendations.map((r, i) =>
      i === index ? { ...r, check: checkOf(checked, checked.id, run, run.recommendations[index + 1]?.title ?? null) } : r,
    );
    const report: Report = {
      ...current.report,
      runs: [...current.report.runs.map((r) => (r.id === run.id ? { ...r, recommendations } : r)), checked],
    };
    this.store.replace(current.key, report, checked.id);
    this.showPanel();
  }

  /**
   * A saved report's data: a built-in sample by name, or its file when that lies inside the
   * workspace folder holding the report; any other file is read only if the user agrees,
   * having seen its full path.
   */
  private async recoverDataset(report: Report, reportFile: string | undefined, steps: number, seed: number): Promise<Dataset | undefined> {
    const folders = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
    try {
      const where = await resolveRerunSource(report.study.source, reportFile, folders, (s) => {
        const sample = sampleOfSource(s);
        return sample !== null && isSampleName(sample) ? sample : null;
      }, (p) => realpath(p));
      if (where.kind === 'sample') return loadSample(where.name as SampleName, { seed, steps });
      if (where.kind === 'ask') {
        const choice = await vscode.window.showWarningMessage(
          'BPTT Lens: the saved report wants to re-run on a file outside its workspace folder.',
          { modal: true, detail: `${where.file}\n\nRead this file? (${where.reason})` },
          'Read This File',
        );
        if (choice !== 'Read This File') return undefined;
      }
      return await this.workers.readSequenceFile(where.file, { window: steps });
    } catch {
      return undefined;
    }
  }

  // ------------------------------------------------------------------ reports

  async saveReport(): Promise<void> {
    const current = this.store.current();
    if (!current) {
      const choice = await vscode.window.showInformationMessage('BPTT Lens: there is no report to save yet.', 'Run Diagnosis');
      if (choice) void vscode.commands.executeCommand('bpttLens.runDiagnosis');
      return;
    }
    const settings = this.settings();
    const folders = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
    const activeUri = vscode.window.activeTextEditor?.document.uri;
    const hint = activeUri ? vscode.workspace.getWorkspaceFolder(activeUri)?.uri.fsPath : undefined;
    const target = chooseSaveTarget(folders, settings.reportFolder, hint);
    let parentDir: string | undefined;
    if (target.kind === 'dir') parentDir = target.parentDir;
    else if (target.kind === 'pick') {
      const picked = await vscode.window.showQuickPick(
        target.candidates.map((c) => ({ label: plainLabel(path.basename(c.folder)), description: plainLabel(c.parentDir, 120), parentDir: c.parentDir })),
        { title: 'BPTT Lens: Save Report', placeHolder: 'Workspace folder to save the report in' },
      );
      parentDir = picked?.parentDir;
    } else {
      const picked = await vscode.window.showOpenDialog({ canSelectFiles: false, canSelectFolders: true, canSelectMany: false, openLabel: 'Save Report Here', title: 'BPTT Lens: Save Report' });
      parentDir = picked?.[0]?.fsPath;
    }
    if (!parentDir) return;
    let folder: string;
    try {
      folder = await saveReportFolder(current.report, parentDir, folders);
    } catch (e) {
      void vscode.window.showErrorMessage(`BPTT Lens: the report could not be saved: ${(e as Error).message}`);
      return;
    }
    this.store.markSaved(current.key, path.join(folder, 'report.json'));
    void this.tree.refresh();
    const shown = vscode.workspace.asRelativePath(folder, folders.length > 1);
    this.output.appendLine(`report saved to ${folder}`);
    void vscode.window.showInformationMessage(`BPTT Lens: Report saved to ${shown}`, 'Open report.md').then(async (choice) => {
      if (choice) await vscode.window.showTextDocument(vscode.Uri.file(path.join(folder, 'report.md')));
    });
  }

  async openReport(arg?: unknown): Promise<void> {
    let file = arg instanceof vscode.Uri && arg.scheme === 'file' ? arg.fsPath : undefined;
    if (!file) {
      const found = await findSavedReports(this.reportDirs());
      type Item = vscode.QuickPickItem & { file?: string };
      const browse: Item = { label: '$(folder-opened) Browse…', description: 'pick a report.json anywhere' };
      if (found.length > 0) {
        const items: Item[] = found.map((f) => ({ label: plainLabel(path.basename(path.dirname(f))), description: plainLabel(vscode.workspace.asRelativePath(f), 120), file: f }));
        const picked = await vscode.window.showQuickPick([...items, browse], { title: 'BPTT Lens: Open Saved Report', placeHolder: 'Saved report to open' });
        if (!picked) return;
        file = picked.file;
      }
      if (!file) {
        const uris = await vscode.window.showOpenDialog({ canSelectMany: false, openLabel: 'Open Report', title: 'BPTT Lens: Open Saved Report', filters: { 'BPTT Lens report': ['json'] } });
        file = uris?.[0]?.fsPath;
      }
      if (!file) return;
    }
    let report: Report;
    try {
      report = await this.workers.readReportFile(file);
    } catch (e) {
      void vscode.window.showErrorMessage(`BPTT Lens: ${(e as Error).message}`);
      return;
    }
    this.store.add(report, file);
    this.showPanel();
  }

  /** A Runs tree click: make that study current with that run selected. */
  showRun(studyKey: unknown, runId: unknown): void {
    if (typeof studyKey !== 'string' || typeof runId !== 'string') return;
    const saved = this.tree.savedReport(studyKey);
    const key = saved ? this.store.add(saved.report, saved.file) : studyKey;
    this.store.setCurrent(key, runId);
    this.showPanel(true); // keep the focus in the tree for keyboard navigation
  }

  dispose(): void {
    ReportPanel.current?.dispose();
    HeatmapEditor.close();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

function panelTitle(report: Report): string {
  const kind = kindLabel(report.study.kind, 'Report');
  return `BPTT Lens: ${kind} · ${displaySource(report.study.source || report.study.name)}`;
}

function uniqueId(report: Report, base: string): string {
  const ids = new Set(report.runs.map((r) => r.id));
  let id = base;
  for (let n = 2; ids.has(id); n++) id = `${base}-${n}`;
  return id;
}

