// A capture folder followed live (no vscode here, so it is unit-tested): every capture file
// that appears is handed to `analyze` (the worker pool: never this thread), its run record is
// kept, a bad file keeps its one-line error, and listeners hear about it (throttled by the
// caller). A file rewritten with new contents (the recorder replaces atomically) is analysed
// again; a file that vanishes is forgotten.
import { basename } from 'node:path';
import type { CaptureRunRecord } from '../io/captureRun';
import { capturesReport, firstVerdictChange, recurrentShare, topOutputGradNorm } from '../io/captureReport';
import { CAPTURE_SUFFIX } from '../io/capture';
import { joinLines } from '../io/errors';
import type { Report } from '../study/types';
import type { CaptureSummary, CapturesState } from './capturesProtocol';

export type Analyze = (file: string, signal: AbortSignal) => Promise<CaptureRunRecord>;

export class CapturesSession {
  private readonly records = new Map<string, CaptureRunRecord>();
  private readonly errors = new Map<string, string>();
  private readonly pending = new Map<string, AbortController>();
  /** The version (e.g. mtime) of each file last submitted, to notice rewrites. */
  private readonly versions = new Map<string, string>();
  private readonly listeners = new Set<() => void>();
  private disposed = false;

  constructor(
    readonly folder: string,
    private readonly analyze: Analyze,
  ) {}

  onChange(listener: () => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  static isCaptureFile(file: string): boolean {
    const name = basename(file);
    return name.endsWith(CAPTURE_SUFFIX) && !name.startsWith('.');
  }

  /** A file appeared or changed; `version` distinguishes a rewrite from a repeated event. */
  offer(file: string, version = ''): void {
    if (this.disposed || !CapturesSession.isCaptureFile(file)) return;
    if (this.versions.get(file) === version && (this.records.has(file) || this.errors.has(file) || this.pending.has(file))) return;
    this.versions.set(file, version);
    this.pending.get(file)?.abort();
    const controller = new AbortController();
    this.pending.set(file, controller);
    this.emit();
    this.analyze(file, controller.signal).then(
      (record) => {
        if (this.pending.get(file) !== controller) return;
        this.pending.delete(file);
        this.errors.delete(file);
        this.records.set(file, record);
        this.emit();
      },
      (e: unknown) => {
        if (this.pending.get(file) !== controller) return;
        this.pending.delete(file);
        this.records.delete(file);
        this.errors.set(file, joinLines(e instanceof Error ? e.message : String(e)));
        this.emit();
      },
    );
  }

  /** A file was deleted. */
  forget(file: string): void {
    this.pending.get(file)?.abort();
    const had = this.pending.delete(file) || this.records.delete(file) || this.errors.delete(file);
    this.versions.delete(file);
    if (had) this.emit();
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  get recordCount(): number {
    return this.records.size;
  }

  /** Run records in training-step order. */
  sortedRecords(): CaptureRunRecord[] {
    return [...this.records.values()].sort((a, b) => Number(a.config.step) - Number(b.config.step));
  }

  report(): Report {
    return capturesReport(this.sortedRecords(), this.folder);
  }

  /** What the captures view draws. */
  state(): CapturesState {
    const records = this.sortedRecords();
    const captures = records.map(summarize);
    const change = firstVerdictChange(records);
    return {
      type: 'captures',
      folder: this.folder,
      captures,
      errors: [...this.errors].map(([file, message]) => ({ file: basename(file), message })).sort((a, b) => (a.file < b.file ? -1 : 1)),
      pending: this.pending.size,
      firstChange: change,
    };
  }

  dispose(): void {
    this.disposed = true;
    for (const c of this.pending.values()) c.abort();
    this.pending.clear();
    this.listeners.clear();
  }

  private emit(): void {
    for (const l of [...this.listeners]) l();
  }
}

function finiteOrNull(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** The numbers one capture contributes to the view (series as plain arrays, non-finite as null). */
export function summarize(r: CaptureRunRecord): CaptureSummary {
  const d = r.diagnosis;
  return {
    step: Number(r.config.step),
    file: basename(String(r.config.capture ?? '')),
    timesteps: r.timesteps,
    verdict: d?.verdict ?? null,
    decayPerStep: finiteOrNull(d?.decayPerStep),
    horizon: d?.horizon ?? null,
    replayError: finiteOrNull(r.replayError),
    inputGradError: finiteOrNull(r.inputGradError),
    trainingLoss: finiteOrNull(r.config.trainingLoss),
    total: (topOutputGradNorm(r.layers) ?? []).map(finiteOrNull),
    direct: r.directGradNorm.map(finiteOrNull),
    recurrentShare: (recurrentShare(r) ?? []).map(finiteOrNull),
    layers: r.layers.map((l) => ({ label: `layer ${l.layer}${l.direction === 'reverse' ? ' reverse' : ''}`, gradNormH: l.gradNormH.map(finiteOrNull) })),
    evidence: d?.evidence.slice(0, 3) ?? [],
    itemizedRows: String(r.config.itemizedRows ?? ''),
  };
}
