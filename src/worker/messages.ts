// The protocol between the worker pool (main thread) and a study worker (dist/worker.js).
//
//   pool -> worker   RunRequest      one planned run over one dataset
//   worker -> pool   RunProgress     iterations done so far (throttled)
//                    RunResult       the finished ReportRun
//                    RunFailure      executeRun threw; the worker stays usable
//
// A worker runs one job at a time, and executeRun is synchronous, so a worker cannot read
// a cancel message while it trains: the pool cancels by terminating the worker and
// starting a fresh one. Everything a worker sends back is checked by `parseWorkerMessage`
// before the pool believes it (a worker is our own code, but a bug there must surface as a
// clear error, not as a malformed report further down).

import type { Dataset, PlannedRun, ReportRun } from '../study/types';

export interface RunRequest {
  type: 'run';
  jobId: number;
  dataset: Dataset;
  planned: PlannedRun;
}

export interface RunProgress {
  type: 'progress';
  jobId: number;
  /** Training iterations finished so far. */
  done: number;
  /** Training iterations this run will do. */
  total: number;
}

export interface RunResult {
  type: 'result';
  jobId: number;
  run: ReportRun;
}

export interface RunFailure {
  type: 'failure';
  jobId: number;
  message: string;
  stack: string | null;
}

export type PoolToWorker = RunRequest;
export type WorkerToPool = RunProgress | RunResult | RunFailure;

/** Why a worker message was refused. */
export class ProtocolError extends Error {
  constructor(detail: string) {
    super(`study worker sent a malformed message: ${detail}`);
    this.name = 'ProtocolError';
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}

/** Numbers in records may be NaN or ±Infinity (non-finite values are findings), so only the type is checked. */
function isNumberArray(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'number');
}

/**
 * Check the shape of a finished run: the fields every consumer of a ReportRun reads
 * (design §6 run record + history). Deeper per-timestep structure is the engine's contract.
 */
function checkReportRun(run: unknown, expectedId: string): ReportRun {
  if (!isRecord(run)) throw new ProtocolError('result.run is not an object');
  if (run.schema !== 'bptt-lens/run@1') throw new ProtocolError(`result.run.schema is ${JSON.stringify(run.schema)}`);
  if (run.id !== expectedId) throw new ProtocolError(`result.run.id ${JSON.stringify(run.id)} does not match the planned run '${expectedId}'`);
  if (typeof run.label !== 'string') throw new ProtocolError('result.run.label is not a string');
  if (!isCount(run.timesteps)) throw new ProtocolError('result.run.timesteps is not a count');
  if (!Array.isArray(run.layers) || !run.layers.every(isRecord)) throw new ProtocolError('result.run.layers is not an array of layer records');
  if (!isNumberArray(run.inputGradNorm)) throw new ProtocolError('result.run.inputGradNorm is not a number array');
  for (const key of ['loss', 'globalGradNorm', 'clippedGradNorm'] as const) {
    if (typeof run[key] !== 'number') throw new ProtocolError(`result.run.${key} is not a number`);
  }
  const h = run.history;
  if (!isRecord(h)) throw new ProtocolError('result.run.history is not an object');
  for (const key of ['loss', 'preClipNorm', 'postClipNorm'] as const) {
    if (!isNumberArray(h[key])) throw new ProtocolError(`result.run.history.${key} is not a number array`);
  }
  if (!Array.isArray(h.recorded)) throw new ProtocolError('result.run.history.recorded is not an array');
  if (!Array.isArray(run.recommendations)) throw new ProtocolError('result.run.recommendations is not an array');
  return run as unknown as ReportRun;
}

/**
 * Validate a message from a worker that is running job `jobId` for planned run `runId`.
 * Throws ProtocolError on anything else.
 */
export function parseWorkerMessage(msg: unknown, jobId: number, runId: string): WorkerToPool {
  if (!isRecord(msg)) throw new ProtocolError('not an object');
  if (msg.jobId !== jobId) throw new ProtocolError(`jobId ${JSON.stringify(msg.jobId)} while job ${jobId} is running`);
  switch (msg.type) {
    case 'progress':
      if (!isCount(msg.done) || !isCount(msg.total) || msg.done > msg.total) {
        throw new ProtocolError(`progress ${JSON.stringify(msg.done)}/${JSON.stringify(msg.total)}`);
      }
      return { type: 'progress', jobId, done: msg.done, total: msg.total };
    case 'result':
      return { type: 'result', jobId, run: checkReportRun(msg.run, runId) };
    case 'failure':
      if (typeof msg.message !== 'string') throw new ProtocolError('failure.message is not a string');
      return { type: 'failure', jobId, message: msg.message, stack: typeof msg.stack === 'string' ? msg.stack : null };
    default:
      throw new ProtocolError(`unknown type ${JSON.stringify(msg.type)}`);
  }
}
