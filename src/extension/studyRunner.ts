// Runs a study off the main thread: planning and bookkeeping here, every training run in the
// worker pool (dist/worker.js). Shows a cancellable notification with runs done/total; each
// run is handed to the sink as soon as it is back (the panel shows it), and Cancel aborts the
// pool's workers and keeps the finished runs as a partial study. Around each study the
// longest event-loop stall of this thread is measured and logged.
import * as vscode from 'vscode';
import { writeFile } from 'node:fs/promises';
import { runStudy, type StudySpec } from '../study/study';
import type { Report } from '../study/types';
import { PartialStudy } from './partialStudy';
import { laneExecutor } from './poolExecutor';
import type { WorkerPool } from '../worker/pool';
import { startStallProbe, type RunStats } from './stallProbe';

export type StudyOutcome =
  | { kind: 'done'; report: Report; stats: RunStats }
  /** `partial`: the runs that finished before the cancel (null when none did). */
  | { kind: 'cancelled'; partial: Report | null; done: number; total: number }
  | { kind: 'failed'; error: Error };

export interface ProgressSink {
  /** `fraction` in [0, 1]; label is what runs now. */
  busy(label: string, fraction: number): void;
  /** The runs finished so far, as a partial report (called after each run). */
  partial?(report: Report): void;
  idle(): void;
}

export class StudyRunner implements vscode.Disposable {
  private running: AbortController | undefined;
  lastStats: RunStats | undefined;

  constructor(
    /** Shared with the file reads of Lens; its owner closes it. */
    private readonly pool: WorkerPool,
    private readonly output: vscode.OutputChannel,
    private readonly sink: ProgressSink,
  ) {}

  get busy(): boolean {
    return this.running !== undefined;
  }

  /** Cancels the running study, if any. */
  cancel(): void {
    this.running?.abort();
  }

  async run(spec: StudySpec, title: string): Promise<StudyOutcome> {
    if (this.running) return { kind: 'failed', error: new Error('A study is already running; cancel it or wait for it to finish.') };
    const abort = new AbortController();
    this.running = abort;
    const probe = startStallProbe(`${spec.kind}: ${spec.dataset.name}`);
    const partial = new PartialStudy(spec);
    const overall = { done: 0, total: 0 };
    this.output.appendLine(`[${new Date().toISOString()}] ${title}: ${spec.dataset.source}, T = ${spec.dataset.steps}, ${spec.dataset.count} examples`);
    try {
      const report = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `BPTT Lens: ${title}`, cancellable: true },
        async (progress, token) => {
          token.onCancellationRequested(() => abort.abort());
          let reported = 0;
          // runStudy counts runs over all its executor calls (the main runs, then the re-runs
          // that check recommendations); the executor adds how far the running ones are.
          const onStudyProgress = (done: number, total: number): void => {
            overall.done = done;
            overall.total = total;
          };
          const executor = laneExecutor(this.pool, overall, (fraction, label) => {
            const pct = Math.round(fraction * 100);
            progress.report({ increment: Math.max(0, pct - reported), message: `${overall.done}/${overall.total} runs done · ${label}` });
            reported = Math.max(reported, pct);
            this.sink.busy(`${title}: ${overall.done}/${overall.total} runs done`, fraction);
          }, (run) => {
            partial.add(run);
            this.sink.partial?.(partial.report(Math.max(overall.total, partial.planned), true));
          });
          progress.report({ message: 'starting workers…' });
          return runStudy(spec, { signal: abort.signal, executor, onProgress: onStudyProgress });
        },
      );
      const stats = probe.stop('done');
      this.finish(stats);
      return { kind: 'done', report, stats };
    } catch (err) {
      if (abort.signal.aborted || (err as Error)?.name === 'AbortError') {
        this.finish(probe.stop('cancelled'));
        const total = Math.max(overall.total, partial.planned);
        this.output.appendLine(`cancelled after ${partial.done} of ${total} runs`);
        return { kind: 'cancelled', partial: partial.done > 0 ? partial.report(total) : null, done: partial.done, total };
      }
      this.finish(probe.stop('failed'));
      const error = err instanceof Error ? err : new Error(String(err));
      this.output.appendLine(`study failed: ${error.stack ?? error.message}`);
      return { kind: 'failed', error };
    } finally {
      this.running = undefined;
      this.sink.idle();
    }
  }

  private finish(stats: RunStats): void {
    this.lastStats = stats;
    this.output.appendLine(
      `${stats.label} ${stats.outcome} in ${stats.runMs} ms; max event-loop delay: ${stats.maxStallMs} ms; longest main-thread work: ${stats.maxBusyMs} ms`,
    );
    // The e2e harness asks for the figures in a file it names (never set in normal use).
    const statsFile = process.env.BPTT_LENS_E2E_STATS;
    if (statsFile) void writeFile(statsFile, JSON.stringify(stats) + '\n').catch(() => undefined);
  }

  dispose(): void {
    this.running?.abort();
  }
}
