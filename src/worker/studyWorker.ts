// The study worker (bundled to dist/worker.js): a worker thread that runs one planned run
// at a time with executeRun — the very function the in-process path calls, so a run gives
// bit-identical results wherever it runs. Protocol: ./messages.ts. It never cancels itself:
// the pool terminates it (executeRun is synchronous and keeps this thread busy).
// It also reads and parses users' sequence files (papaparse on a 13 MB CSV takes seconds),
// so that the extension host's main thread never does; and it reads and validates saved
// report.json files (a 229 MB one took 6.3 s and 1.2 GB on the main thread).

import { parentPort } from 'node:worker_threads';
import { clearWorkspaceCache } from '../engine/workspace';
import { enableWasmKernels } from '../engine/kernels/wasmGemm';
import { readCapture } from '../io/capture';
import { analyzeCapture } from '../io/captureRun';
import { listTargetColumns } from '../io/columns';
import { isInputError } from '../io/errors';
import { readSequenceFileHead } from '../io/sequenceHead';
import { inspectStateDict, probeStateDict } from '../io/stateDictProbe';
import { readSequenceFile } from '../io/sequences';
import { executeRun } from '../study/train';
import { readReportFile } from '../io/report/read';
import type { FileReply, FileRequest, PoolToWorker, RunFailure, RunRequest, WorkerToPool } from './messages';

/** Progress is posted at most this often (ms), plus the final iteration, so the pool is not flooded. */
const PROGRESS_INTERVAL_MS = 50;
/**
 * After this long without a job the engine's cached workspaces are dropped, so the next
 * collection can take them (after a long-sequence run they hold hundreds of MB). An idle
 * thread rarely collects, so the pool also stops workers that stay idle
 * (DEFAULT_IDLE_TIMEOUT_MS), which frees everything. A study's runs follow each other
 * closely, so they still share the workspaces.
 */
const IDLE_CLEAR_MS = 1000;

// WebAssembly SIMD matrix products: bit-identical to the TypeScript kernels, about twice as fast.
enableWasmKernels();

const port = parentPort;
if (!port) throw new Error('studyWorker.ts must run in a worker thread (it is dist/worker.js, started by WorkerPool)');

function shared(a: Float64Array): Float64Array {
  const s = new Float64Array(new SharedArrayBuffer(a.byteLength));
  s.set(a);
  return s;
}

function post(msg: WorkerToPool | FileReply): void {
  port!.postMessage(msg);
}

function failure(jobId: number, err: unknown): RunFailure {
  const e = err instanceof Error ? err : new Error(String(err));
  return { type: 'failure', jobId, message: e.message, stack: e.stack ?? null };
}

let idleTimer: NodeJS.Timeout | undefined;

function becameIdle(): void {
  clearTimeout(idleTimer);
  idleTimer = setTimeout(() => {
    clearWorkspaceCache();
  }, IDLE_CLEAR_MS);
  idleTimer.unref();
}

function run(msg: RunRequest): void {
  const { jobId, dataset, planned } = msg;
  const total = Math.max(0, planned.config.iterations);
  let lastPost = 0;
  try {
    const result = executeRun(dataset, planned, {
      onProgress: (iteration) => {
        const now = Date.now();
        if (iteration < total && now - lastPost < PROGRESS_INTERVAL_MS) return;
        lastPost = now;
        post({ type: 'progress', jobId, done: Math.min(Math.max(0, Math.floor(iteration)), total), total });
      },
    });
    post({ type: 'result', jobId, run: result });
  } catch (err) {
    post(failure(jobId, err));
  }
}

async function fileJob(msg: FileRequest): Promise<void> {
  const { jobId } = msg;
  try {
    if (msg.type === 'readReport') {
      post({ type: 'report', jobId, report: await readReportFile(msg.file) });
      return;
    }
    if (msg.type === 'listColumns') {
      post({ type: 'columns', jobId, columns: await listTargetColumns(msg.file) });
      return;
    }
    if (msg.type === 'inspectStateDict') {
      post({ type: 'stateDict', jobId, summary: inspectStateDict(msg.file, msg.cell) });
      return;
    }
    if (msg.type === 'probeStateDict') {
      post({ type: 'probe', jobId, run: probeStateDict(msg.options, (label) => post({ type: 'fileProgress', jobId, label })) });
      return;
    }
    if (msg.type === 'analyzeCapture') {
      post({ type: 'capture', jobId, run: analyzeCapture(await readCapture(msg.file), msg.options) });
      return;
    }
    // `firstRows`: the user asked for the head of a file over the size limit.
    const { firstRows, ...options } = msg.options;
    const dataset = firstRows !== undefined ? await readSequenceFileHead(msg.file, firstRows, options) : await readSequenceFile(msg.file, options);
    // Shared, not transferred: transferring detaches the buffers here, and after the first
    // detach in a thread V8 checks every typed-array access in it (kernels/wasmModule.ts), so
    // every run this worker trained afterwards was slower (lstm-h64 pass 34.9 vs 30.5 ms). One
    // copy here into shared memory (the dataset is briefly held twice in this worker); the
    // caller's thread maps the same memory.
    post({ type: 'dataset', jobId, dataset: { ...dataset, x: shared(dataset.x), y: shared(dataset.y) } });
  } catch (err) {
    post(isInputError(err) ? { type: 'inputError', jobId, file: err.file, line: err.line, detail: err.detail } : failure(jobId, err));
  }
}

port.on('message', (msg: PoolToWorker) => {
  clearTimeout(idleTimer);
  switch (msg?.type) {
    case 'run':
      run(msg);
      becameIdle();
      break;
    case 'readSequence':
    case 'listColumns':
    case 'analyzeCapture':
    case 'readReport':
    case 'inspectStateDict':
    case 'probeStateDict':
      void fileJob(msg).finally(becameIdle);
      break;
    default: {
      // The pool waits for exactly one reply per job: answer even a request we do not know
      // (a pool and worker from different builds), so it fails instead of waiting forever.
      const jobId = (msg as { jobId?: unknown } | null)?.jobId;
      post(failure(typeof jobId === 'number' ? jobId : -1, new Error(`unknown request type ${JSON.stringify((msg as { type?: unknown } | null)?.type)}`)));
      becameIdle();
    }
  }
});
