// Measures how long the extension host's main thread was blocked while a study ran:
//   maxStallMs  the largest event-loop delay (perf_hooks histogram, 10 ms sampling): what a
//               user would feel, including time the OS gave the thread no CPU at all;
//   maxBusyMs   the longest stretch the loop spent running code (event-loop utilisation
//               between 10 ms ticks): stalls our own main-thread work caused.
// The engine runs in worker threads, so both stay small; the e2e test reads them.
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

export interface RunStats {
  /** Longest main-thread stall during the run (ms). */
  maxStallMs: number;
  /** Longest stretch of main-thread work during the run (ms). */
  maxBusyMs: number;
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

const TICK_MS = 10;

export function startStallProbe(label: string): StallProbe {
  const histogram = monitorEventLoopDelay({ resolution: TICK_MS });
  histogram.enable();
  const started = performance.now();
  let lastElu = performance.eventLoopUtilization();
  let maxBusy = 0;
  const tick = setInterval(() => {
    const elu = performance.eventLoopUtilization();
    maxBusy = Math.max(maxBusy, elu.active - lastElu.active);
    lastElu = elu;
  }, TICK_MS);
  tick.unref();
  let stats: RunStats | null = null;
  return {
    stop(outcome: string): RunStats {
      if (stats) return stats;
      histogram.disable();
      clearInterval(tick);
      maxBusy = Math.max(maxBusy, performance.eventLoopUtilization().active - lastElu.active);
      // The histogram records in nanoseconds.
      const maxNs = histogram.count > 0 ? histogram.max : 0;
      stats = {
        maxStallMs: Math.round(maxNs / 1e4) / 100,
        maxBusyMs: Math.round(maxBusy * 100) / 100,
        runMs: Math.round(performance.now() - started),
        label,
        outcome,
      };
      return stats;
    },
  };
}
