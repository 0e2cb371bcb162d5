// One "Probe State Dict" editor's state, without vscode (so it is unit-tested): the state dict
// read in a worker, the choices (cell, loss, sequence file), the `gradients` pass in a worker,
// its report. One job at a time; a failed or cancelled job changes nothing but the message:
// the choices are committed only with the result they produced.
import { basename, dirname } from 'node:path';
import { errorLine } from '../io/errors';
import { probeReport } from '../io/probeReport';
import type { ProbeOptions, StateDictSummary } from '../io/stateDictProbe';
import type { Report, RunRecord } from '../study/types';
import type { ProbeLoss, ProbeState } from './probeProtocol';

export interface ProbeWorkers {
  inspect(file: string, cell: string | undefined, signal: AbortSignal): Promise<StateDictSummary>;
  /** `onStage` hears what the worker is doing (reading, the pass, the diagnosis). */
  probe(options: ProbeOptions, signal: AbortSignal, onStage: (label: string) => void): Promise<RunRecord>;
}

interface Choices {
  /** --cell; undefined: what the weights' names and shapes give. */
  cell: string | undefined;
  loss: ProbeLoss;
  input: string | null;
}

export class ProbeSession {
  private summary: StateDictSummary | null = null;
  private choices: Choices = { cell: undefined, loss: 'mse', input: null };
  private result: { record: RunRecord; report: Report } | null = null;
  private busy: { label: string; since: number; controller: AbortController } | null = null;
  private error: string | null = null;
  private note: string | null = null;
  private readonly listeners = new Set<() => void>();
  private disposed = false;

  constructor(
    readonly weights: string,
    private readonly workers: ProbeWorkers,
    private readonly now: () => number = Date.now,
  ) {}

  onChange(listener: () => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  get isBusy(): boolean {
    return this.busy !== null;
  }

  /** The report of the result on show, or null. */
  report(): Report | null {
    return this.result?.report ?? null;
  }

  /** Reads the state dict (again, when it failed before). */
  open(): Promise<boolean> {
    return this.job(`Reading ${basename(this.weights)}…`, { ...this.choices, input: null }, async (signal) => {
      const summary = await this.workers.inspect(this.weights, this.choices.cell, signal);
      return () => {
        this.summary = summary;
      };
    });
  }

  /** A sequence file picked by the user: the pass runs on it; it becomes the input when it succeeds. */
  chooseInput(file: string): Promise<boolean> {
    if (!this.summary) return Promise.resolve(false);
    return this.probe({ ...this.choices, input: file });
  }

  /** The cell picker (`--cell`): only a cell the weights fit. Runs again when a file is chosen. */
  setCell(cell: string): Promise<boolean> {
    if (!this.summary || !(this.summary.cells as readonly string[]).includes(cell) || cell === this.summary.cell) return Promise.resolve(false);
    const next: Choices = { ...this.choices, cell };
    return this.job(`Reading ${basename(this.weights)} as ${cell}…`, next, async (signal) => {
      const summary = await this.workers.inspect(this.weights, cell, signal);
      const probed = next.input !== null ? await this.pass(next, signal) : null;
      return () => {
        this.summary = summary;
        if (probed) this.result = probed;
      };
    });
  }

  setLoss(loss: ProbeLoss): Promise<boolean> {
    if (!this.summary || loss === this.choices.loss) return Promise.resolve(false);
    if (this.choices.input === null) {
      if (this.busy) return Promise.resolve(false);
      this.choices = { ...this.choices, loss };
      this.emit();
      return Promise.resolve(true);
    }
    return this.probe({ ...this.choices, loss });
  }

  /** Runs the same file again (it may have changed on disk), or re-reads weights that failed to read. */
  rerun(): Promise<boolean> {
    if (!this.summary) return this.open();
    if (this.choices.input === null) return Promise.resolve(false);
    return this.probe(this.choices);
  }

  cancel(): void {
    this.busy?.controller.abort();
  }

  state(): ProbeState {
    const s = this.summary;
    return {
      type: 'probeState',
      weights: basename(this.weights),
      folder: dirname(this.weights),
      summary: s
        ? {
            cell: s.cell,
            cells: s.cells,
            numLayers: s.numLayers,
            bidirectional: s.bidirectional,
            hiddenSize: s.hiddenSize,
            inputSize: s.inputSize,
            outputSize: s.outputSize,
            parameterCount: s.parameterCount,
            bytes: s.bytes,
          }
        : null,
      input: this.choices.input === null ? null : basename(this.choices.input),
      loss: this.choices.loss,
      busy: this.busy ? { label: this.busy.label, since: this.busy.since } : null,
      error: this.error,
      note: this.note,
      hasResult: this.result !== null,
    };
  }

  dispose(): void {
    this.disposed = true;
    this.busy?.controller.abort();
    this.listeners.clear();
  }

  // ---------------------------------------------------------------- internals

  private probe(next: Choices): Promise<boolean> {
    const input = next.input!;
    return this.job(`Probing on ${basename(input)}…`, next, async (signal) => {
      const probed = await this.pass(next, signal);
      return () => {
        this.result = probed;
      };
    });
  }

  private async pass(c: Choices, signal: AbortSignal): Promise<{ record: RunRecord; report: Report }> {
    const options: ProbeOptions = { weights: this.weights, input: c.input!, loss: c.loss, ...(c.cell !== undefined ? { cell: c.cell } : {}) };
    const busy = this.busy;
    const record = await this.workers.probe(options, signal, (label) => {
      // Only the job still running may relabel it.
      if (this.busy !== busy || !busy || this.disposed) return;
      busy.label = label;
      this.emit();
    });
    return { record, report: probeReport(record, { weights: this.weights, input: c.input! }) };
  }

  /**
   * One job at a time. `work` returns how to commit its result; the choices `next` are
   * committed with it, and only then. A failure keeps everything and says why; a cancel too.
   */
  private async job(label: string, next: Choices, work: (signal: AbortSignal) => Promise<() => void>): Promise<boolean> {
    if (this.busy || this.disposed) return false;
    const controller = new AbortController();
    this.busy = { label, since: this.now(), controller };
    this.error = null;
    this.note = null;
    this.emit();
    try {
      const commit = await work(controller.signal);
      if (this.disposed) return false;
      commit();
      this.choices = next;
      return true;
    } catch (e) {
      if (this.disposed) return false;
      if (controller.signal.aborted) this.note = 'Cancelled; nothing changed.';
      else this.error = errorLine(e);
      return false;
    } finally {
      this.busy = null;
      if (!this.disposed) this.emit();
    }
  }

  private emit(): void {
    for (const l of [...this.listeners]) l();
  }
}
