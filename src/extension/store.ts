// The reports this window knows about: the studies run in this session (newest first), the
// one the views show ("current") and the run selected in it. No vscode, so it is unit-tested;
// views subscribe with `onChange` and re-render from it.
import type { Report, ReportRun } from '../study/types';
import { findRun } from './viewModel';

export interface SessionStudy {
  key: string;
  report: Report;
  /** Where it was read from or saved to (report.json), if anywhere. */
  file?: string;
}

export type StoreChange = 'studies' | 'current' | 'selection';

export class ReportStore {
  private readonly studies: SessionStudy[] = [];
  private currentKey: string | null = null;
  private selectedRunId: string | null = null;
  private readonly listeners = new Set<(change: StoreChange) => void>();
  private counter = 0;

  /** Session studies kept at most (older ones drop out of the tree; saved ones stay on disk). */
  constructor(private readonly capacity = 20) {}

  onChange(listener: (change: StoreChange) => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  list(): readonly SessionStudy[] {
    return this.studies;
  }

  /** Adds a study and makes it current with its first run selected. Returns its key. */
  add(report: Report, file?: string): string {
    const existing = file ? this.studies.find((s) => s.file === file) : undefined;
    if (existing) {
      existing.report = report;
      this.setCurrent(existing.key);
      return existing.key;
    }
    const key = `study-${++this.counter}`;
    this.studies.unshift({ key, report, ...(file ? { file } : {}) });
    if (this.studies.length > this.capacity) {
      const dropped = this.studies.splice(this.capacity);
      if (dropped.some((s) => s.key === this.currentKey)) this.currentKey = null;
    }
    this.emit('studies');
    this.setCurrent(key);
    return key;
  }

  get(key: string): SessionStudy | undefined {
    return this.studies.find((s) => s.key === key);
  }

  current(): SessionStudy | undefined {
    return this.currentKey === null ? undefined : this.get(this.currentKey);
  }

  selectedRun(): ReportRun | undefined {
    const cur = this.current();
    return cur && this.selectedRunId !== null ? findRun(cur.report, this.selectedRunId) : undefined;
  }

  setCurrent(key: string, runId?: string): void {
    const study = this.get(key);
    if (!study) return;
    const run = (runId !== undefined ? findRun(study.report, runId) : undefined) ?? study.report.runs[0];
    const changedStudy = key !== this.currentKey;
    this.currentKey = key;
    this.selectedRunId = run ? run.id : null;
    this.emit(changedStudy ? 'current' : 'selection');
  }

  /** Selects a run of the current study; unknown ids are ignored (they come from webviews). */
  select(runId: string): boolean {
    const cur = this.current();
    if (!cur || !findRun(cur.report, runId)) return false;
    if (this.selectedRunId === runId) return true;
    this.selectedRunId = runId;
    this.emit('selection');
    return true;
  }

  /**
   * Replaces a study's report (e.g. a run was added) and makes it current with `runId`
   * selected; `file` says where this exact report is on disk (none: it changed).
   */
  replace(key: string, report: Report, runId?: string, file?: string): void {
    const s = this.get(key);
    if (!s) return;
    s.report = report;
    if (file) s.file = file;
    else delete s.file;
    this.emit('studies');
    this.currentKey = null; // force a full resend of the report
    this.setCurrent(key, runId);
  }

  /** Replaces a study's report without changing what the views show (a capture folder grew). */
  update(key: string, report: Report): void {
    const s = this.get(key);
    if (!s) return;
    s.report = report;
    delete s.file;
    this.emit('studies');
  }

  /** Records where the current study was saved. */
  markSaved(key: string, file: string): void {
    const s = this.get(key);
    if (s) {
      s.file = file;
      this.emit('studies');
    }
  }

  private emit(change: StoreChange): void {
    for (const l of [...this.listeners]) l(change);
  }
}
