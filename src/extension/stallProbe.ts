// Measures how long the extension host's main thread was blocked while a study ran: the
// largest event-loop delay seen by perf_hooks' histogram (10 ms sampling). The engine runs in
// worker threads, so this stays small; the e2e test reads it to prove it.
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface RunStats {
  /** Longest main-thread stall during the run (ms). */
  maxStallMs: number;
  /** Wall time of the run (ms). */
  runMs: number;
  /** What ran, e.g. "diagnosis: airline". */
  label: string;
  /** 'done' | 'cancelled' | 'failed' */
  outcome: string;
}

export interface StallProbe {
  stop(outcome: string): RunStats;
}

export function startStallProbe(label: string): StallProbe {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  const started = performance.now();
  let stats: RunStats | null = null;
  return {
    stop(outcome: string): RunStats {
      if (stats) return stats;
      histogram.disable();
      // The histogram records the delay beyond the sampling interval, in nanoseconds.
      const maxNs = histogram.count > 0 ? histogram.max : 0;
      stats = { maxStallMs: Math.round(maxNs / 1e4) / 100, runMs: Math.round(performance.now() - started), label, outcome };
      return stats;
    },
  };
}
