// The RunExecutor the extension gives runStudy: runs go to the worker pool at most
// `pool.size` at a time, each as its own pool call, so that
//   - progress can say how many whole runs are done (and how far the running ones are), and
//   - a cancel or a failure stops only the few runs in flight (handing every run over at once
//     made a cancel spawn and kill a worker per queued run: 190 ms of main-thread work).
// No vscode here, so it is unit-tested with a fake pool.
import type { Dataset, PlannedRun, ReportRun, RunExecutor } from '../study/types';

export interface RunPool {
  readonly size: number;
  execute(
    dataset: Dataset,
    planned: PlannedRun[],
    opts: { signal?: AbortSignal; onProgress?: (done: number, total: number, label: string) => void },
  ): Promise<ReportRun[]>;
}

/** Runs done over the whole study, as runStudy reports them (it may call the executor twice). */
export interface StudyProgress {
  done: number;
  total: number;
}

/**
 * `overall` is updated by runStudy's own onProgress (called synchronously from ours);
 * `report(fraction, label)` gets the study's fraction done in [0, 1], never decreasing.
 */
export function laneExecutor(
  pool: RunPool,
  overall: StudyProgress,
  report: (fraction: number, label: string) => void,
  /** Each run as soon as it is back (the panel shows it; a cancel keeps it). */
  onRunDone?: (run: ReportRun, planned: PlannedRun) => void,
): RunExecutor {
  let reported = 0;
  return async (dataset, planned, opts) => {
    const linked = new AbortController();
    const onAbort = (): void => linked.abort(opts.signal?.reason);
    if (opts.signal?.aborted) onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const fractionDone = planned.map(() => 0);
    let runsDone = 0;
    const tell = (label: string): void => {
      opts.onProgress?.(runsDone, planned.length, label); // updates `overall` through runStudy
      const total = Math.max(overall.total, planned.length);
      const before = Math.max(0, overall.done - runsDone);
      const partial = fractionDone.reduce((sum, f) => sum + f, 0);
      reported = Math.max(reported, Math.min(1, (before + partial) / total));
      report(reported, label);
    };
    const results: ReportRun[] = new Array(planned.length);
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < planned.length && !linked.signal.aborted) {
        const i = next++;
        const p = planned[i]!;
        const [run] = await pool.execute(dataset, [p], {
          signal: linked.signal,
          onProgress: (done, total) => {
            // A one-run call reports done in [0, 1] of total 1; any other scale works too.
            fractionDone[i] = Math.min(1, Math.max(fractionDone[i]!, done / Math.max(1, total)));
            tell(p.label);
          },
        });
        if (!run) throw new Error(`the worker pool returned no result for run '${p.label}'`);
        results[i] = run;
        fractionDone[i] = 1;
        runsDone++;
        tell(p.label);
        // After the bookkeeping: a throwing listener must not lose the run or the count.
        try {
          onRunDone?.(run, p);
        } catch {
          // the listener's problem; the study goes on
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.max(1, Math.min(pool.size, planned.length)) }, lane));
      if (linked.signal.aborted) throw abortError();
      return results;
    } catch (err) {
      linked.abort(err);
      throw err;
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
  };
}

function abortError(): Error {
  const e = new Error('The study was cancelled.');
  e.name = 'AbortError';
  return e;
}
