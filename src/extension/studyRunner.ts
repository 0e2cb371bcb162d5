// Runs a study off the main thread: planning and bookkeeping here, every training run in the
// worker pool (dist/worker.js). Shows a cancellable notification with runs done/total;
// Cancel aborts the pool's workers. The study's Report exists only once every run is back,
// so a cancelled or failed study leaves nothing behind. Around each study the longest
// event-loop stall of this thread is measured and logged.
import * as vscode from 'vscode';
import { writeFile } from 'node:fs/promises';
import { runStudy, type StudySpec } from '../study/study';
import type { Report } from '../study/types';
import { laneExecutor } from './poolExecutor';
import type { WorkerPool } from '../worker/pool';
import { startStallProbe, type RunStats } from './stallProbe';

export type StudyOutcome = { kind: 'done'; report: Report; stats: RunStats } | { kind: 'cancelled' } | { kind: 'failed'; error: Error };

export interface ProgressSink {
  /** `fraction` in [0, 1]; label is what runs now. */
  busy(label: string, fraction: number): void;
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
    this.output.appendLine(`[${new Date().toISOString()}] ${title}: ${spec.dataset.source}, T = ${spec.dataset.steps}, ${spec.dataset.count} examples`);
    try {
      const report = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `BPTT Lens: ${title}`, cancellable: true },
        async (progress, token) => {
          token.onCancellationRequested(() => abort.abort());
          let reported = 0;
          // runStudy counts runs over all its executor calls (the main runs, then the re-runs
          // that check recommendations); the executor adds how far the running ones are.
          const overall = { done: 0, total: 0 };
          const onStudyProgress = (done: number, total: number): void => {
            overall.done = done;
            overall.total = total;
          };
          const executor = laneExecutor(this.pool, overall, (fraction, label) => {
            const pct = Math.round(fraction * 100);
            progress.report({ increment: Math.max(0, pct - reported), message: `${overall.done}/${overall.total} runs done · ${label}` });
            reported = Math.max(reported, pct);
            this.sink.busy(`${title}: ${overall.done}/${overall.total} runs done`, fraction);
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
        return { kind: 'cancelled' };
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
