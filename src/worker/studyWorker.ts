// The study worker (bundled to dist/worker.js): a worker thread that runs one planned run
// at a time with executeRun — the very function the in-process path calls, so a run gives
// bit-identical results wherever it runs. Protocol: ./messages.ts. It never cancels itself:
// the pool terminates it (executeRun is synchronous and keeps this thread busy).

import { parentPort } from 'node:worker_threads';
import { enableWasmKernels } from '../engine/kernels/wasmGemm';
import { executeRun } from '../study/train';
import type { PoolToWorker, WorkerToPool } from './messages';

/** Progress is posted at most this often (ms), plus the final iteration, so the pool is not flooded. */
const PROGRESS_INTERVAL_MS = 50;

// WebAssembly SIMD matrix products: bit-identical to the TypeScript kernels, about twice as fast.
enableWasmKernels();

const port = parentPort;
if (!port) throw new Error('studyWorker.ts must run in a worker thread (it is dist/worker.js, started by WorkerPool)');

function post(msg: WorkerToPool): void {
  port!.postMessage(msg);
}

port.on('message', (msg: PoolToWorker) => {
  if (msg?.type !== 'run') return;
  const { jobId, dataset, planned } = msg;
  const total = Math.max(0, planned.config.iterations);
  let lastPost = 0;
  try {
    const run = executeRun(dataset, planned, {
      onProgress: (iteration) => {
        const now = Date.now();
        if (iteration < total && now - lastPost < PROGRESS_INTERVAL_MS) return;
        lastPost = now;
        post({ type: 'progress', jobId, done: Math.min(Math.max(0, Math.floor(iteration)), total), total });
      },
    });
    post({ type: 'result', jobId, run });
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    post({ type: 'failure', jobId, message: e.message, stack: e.stack ?? null });
  }
});
