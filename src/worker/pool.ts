// A pool of worker threads that runs a study's planned runs in parallel, off the caller's
// thread. Each worker (dist/worker.js, built from studyWorker.ts) runs one planned run at a
// time with the same executeRun the in-process path uses, so results are bit-identical;
// they come back in planned order whatever order the runs finish in.
//
//   const pool = new WorkerPool();                 // one worker per core, started lazily
//   const runs = await pool.executor(dataset, planned, { signal, onProgress });
//   const report = await pool.runStudy(spec, { signal, onProgress });
//   const data = await pool.readSequenceFile(file, options, { signal });  // parsed off-thread
//   await pool.close();
//
// Cancelling (AbortSignal) terminates the workers busy with that call, drops its queued
// runs and rejects with an AbortError; a worker that crashes (uncaught error, exit) fails
// its call with an Error naming the run. Either way the dead worker is replaced on demand,
// so the pool stays usable. Idle workers are unref'd (an unclosed pool never keeps a
// process alive) and stopped after idleTimeoutMs (their memory returns). close() rejects
// what is pending and resolves once every worker thread has stopped. File jobs
// (readSequenceFile, listTargetColumns) queue with the runs; a bad file rejects with the
// same InputError readSequenceFile throws in-process.

import { Worker } from 'node:worker_threads';
import * as os from 'node:os';
import * as path from 'node:path';
import type { CaptureRunOptions, CaptureRunRecord } from '../io/captureRun';
import type { ColumnChoice } from '../io/columns';
import { InputError } from '../io/errors';
import type { FileReadOptions } from '../io/sequenceHead';
import type { ProbeOptions, StateDictSummary } from '../io/stateDictProbe';
import { runStudy, type StudySpec } from '../study/study';
import type { Dataset, PlannedRun, Report, ReportRun, RunExecutor, RunRecord } from '../study/types';
import { parseFileReply, parseWorkerMessage, type FileRequest, type RunRequest } from './messages';

export interface WorkerPoolOptions {
  /** Number of worker threads (default: os.availableParallelism(), at least 1). */
  size?: number;
  /** The worker script (default: worker.js beside the running bundle, i.e. dist/worker.js). */
  workerPath?: string;
  /**
   * Stop a worker once it has been idle this long (ms): that frees all its memory, which
   * after a long-sequence run includes the WebAssembly kernels' memory (it never shrinks).
   * Default DEFAULT_IDLE_TIMEOUT_MS; Infinity keeps idle workers.
   */
  idleTimeoutMs?: number;
}

/**
 * Progress in runs, like study.ts's sequential executor (`total` = number of planned runs),
 * but fractional: `done` = Σ over runs of (iterations finished / iterations planned), so a
 * sweep's bar moves while its runs train, not only when one finishes.
 */
export type ProgressCallback = (done: number, total: number, label: string) => void;

/** One call of `execute`: its runs, their results so far, and how to settle it. */
interface Call {
  planned: PlannedRun[];
  results: (ReportRun | undefined)[];
  remaining: number;
  /** Fraction of each run finished, and their sum over the call. */
  fractionDone: number[];
  sumDone: number;
  onProgress: ProgressCallback | undefined;
  settled: boolean;
  resolve: (runs: ReportRun[]) => void;
  reject: (err: unknown) => void;
  detach: () => void;
}

interface RunJob {
  kind: 'run';
  jobId: number;
  call: Call;
  index: number;
  dataset: Dataset;
}

/** Reading a file: one request, one answer (the Dataset or the column list). */
interface FileJob {
  kind: 'file';
  jobId: number;
  request: FileRequest;
  /** Stages a long job reports before its answer (FileProgress). */
  onProgress?: (label: string) => void;
  settled: boolean;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
  detach: () => void;
}

type Job = RunJob | FileJob;

interface Slot {
  worker: Worker;
  job: Job | null;
  /** The last 'error' event, reported when the worker then exits mid-job. */
  lastError: Error | null;
  /** Armed while idle when the pool has an idleTimeoutMs. */
  idleTimer: NodeJS.Timeout | undefined;
}

/** An idle worker is stopped after 15 s; a study's runs follow each other much closer. */
export const DEFAULT_IDLE_TIMEOUT_MS = 15_000;

export function defaultWorkerPath(): string {
  return path.join(__dirname, 'worker.js');
}

export function defaultPoolSize(): number {
  const n = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, n);
}

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name === 'AbortError') return reason;
  const err = new Error('The study was cancelled', { cause: reason });
  err.name = 'AbortError';
  return err;
}

function describe(run: PlannedRun): string {
  return `run '${run.label}' (${run.id})`;
}

function describeFile(request: FileRequest): string {
  if (request.type === 'analyzeCapture') return `replaying the capture ${request.file}`;
  if (request.type === 'inspectStateDict') return `reading the state dict ${request.file}`;
  if (request.type === 'probeStateDict') return `probing ${request.options.weights} on ${request.options.input}`;
  return request.type === 'listColumns' ? `listing the columns of ${request.file}` : `reading ${request.file}`;
}

export class WorkerPool {
  readonly size: number;
  readonly workerPath: string;
  readonly idleTimeoutMs: number;
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextJobId = 1;
  private closed = false;
  /** Workers retired (cancel, protocol error, idle) whose termination is still under way: close() waits for them. */
  private readonly stopping = new Set<Promise<number>>();

  constructor(options: WorkerPoolOptions = {}) {
    const size = options.size ?? defaultPoolSize();
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`WorkerPool size must be an integer >= 1, got ${size}`);
    this.size = size;
    this.workerPath = options.workerPath ?? defaultWorkerPath();
    const idle = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    if (!(idle >= 0)) throw new RangeError(`WorkerPool idleTimeoutMs must be >= 0, got ${idle}`);
    this.idleTimeoutMs = idle;
  }

  /** A RunExecutor for study.runStudy: runs `planned` over `dataset` on the pool. */
  readonly executor: RunExecutor = (dataset, planned, opts) => this.execute(dataset, planned, opts);

  /** Number of live worker threads (started lazily, at most `size` busy ones). */
  get liveWorkers(): number {
    return this.slots.length;
  }

  execute(
    dataset: Dataset,
    planned: PlannedRun[],
    opts: { signal?: AbortSignal; onProgress?: ProgressCallback } = {},
  ): Promise<ReportRun[]> {
    if (this.closed) return Promise.reject(new Error('WorkerPool is closed'));
    const { signal, onProgress } = opts;
    if (signal?.aborted) return Promise.reject(abortError(signal));
    if (planned.length === 0) return Promise.resolve([]);

    return new Promise<ReportRun[]>((resolve, reject) => {
      const call: Call = {
        planned,
        results: new Array(planned.length).fill(undefined),
        remaining: planned.length,
        fractionDone: new Array(planned.length).fill(0),
        sumDone: 0,
        onProgress,
        settled: false,
        resolve,
        reject,
        detach: () => {},
      };
      if (signal) {
        const onAbort = (): void => this.fail(call, abortError(signal));
        signal.addEventListener('abort', onAbort, { once: true });
        call.detach = () => signal.removeEventListener('abort', onAbort);
      }
      planned.forEach((_, index) => this.queue.push({ kind: 'run', jobId: this.nextJobId++, call, index, dataset }));
      this.pump();
    });
  }

  /**
   * readSequenceFile (io/sequences.ts) in a worker: the same Dataset, bit for bit, or the same
   * InputError (file, line, detail). Cancelling stops the worker and rejects with an AbortError.
   */
  readSequenceFile(file: string, options: FileReadOptions = {}, opts: { signal?: AbortSignal } = {}): Promise<Dataset> {
    return this.fileJob({ type: 'readSequence', jobId: this.nextJobId++, file, options }, opts.signal) as Promise<Dataset>;
  }

  /** listTargetColumns (io/columns.ts) in a worker: it parses the whole file. Never rejects for a bad file. */
  listTargetColumns(file: string, opts: { signal?: AbortSignal } = {}): Promise<ColumnChoice[]> {
    return this.fileJob({ type: 'listColumns', jobId: this.nextJobId++, file }, opts.signal) as Promise<ColumnChoice[]>;
  }

  /** A training capture (design §9) read and replayed in a worker: its run record, or the file's InputError. */
  analyzeCapture(file: string, options: CaptureRunOptions = {}, opts: { signal?: AbortSignal } = {}): Promise<CaptureRunRecord> {
    return this.fileJob({ type: 'analyzeCapture', jobId: this.nextJobId++, file, options }, opts.signal) as Promise<CaptureRunRecord>;
  }

  /** A state dict read and checked as `gradients` does (io/stateDictProbe.ts), in a worker: what it holds, or the file's InputError. */
  inspectStateDict(file: string, cell?: string, opts: { signal?: AbortSignal } = {}): Promise<StateDictSummary> {
    return this.fileJob({ type: 'inspectStateDict', jobId: this.nextJobId++, file, ...(cell !== undefined ? { cell } : {}) }, opts.signal) as Promise<StateDictSummary>;
  }

  /** The `gradients` pass of a state dict on an input file, in a worker (cancel stops the worker): its run record or an InputError. */
  probeStateDict(options: ProbeOptions, opts: { signal?: AbortSignal; onProgress?: (label: string) => void } = {}): Promise<RunRecord> {
    return this.fileJob({ type: 'probeStateDict', jobId: this.nextJobId++, options }, opts.signal, opts.onProgress) as Promise<RunRecord>;
  }

  /** readReportFile (io/report/read.ts) in a worker: read, schema and semantic checks off this thread; the same InputError. */
  readReportFile(file: string, opts: { signal?: AbortSignal } = {}): Promise<Report> {
    return this.fileJob({ type: 'readReport', jobId: this.nextJobId++, file }, opts.signal) as Promise<Report>;
  }

  private fileJob(request: FileRequest, signal: AbortSignal | undefined, onProgress?: (label: string) => void): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error('WorkerPool is closed'));
    if (signal?.aborted) return Promise.reject(abortError(signal));
    return new Promise((resolve, reject) => {
      const job: FileJob = { kind: 'file', jobId: request.jobId, request, settled: false, resolve, reject, detach: () => {}, ...(onProgress ? { onProgress } : {}) };
      if (signal) {
        const onAbort = (): void => this.failFile(job, abortError(signal));
        signal.addEventListener('abort', onAbort, { once: true });
        job.detach = () => signal.removeEventListener('abort', onAbort);
      }
      this.queue.push(job);
      this.pump();
    });
  }

  /** study.runStudy with this pool as its executor: plan, run in parallel, diagnose, recommend. */
  runStudy(spec: StudySpec, opts: { signal?: AbortSignal; onProgress?: ProgressCallback } = {}): Promise<Report> {
    return runStudy(spec, { signal: opts.signal, onProgress: opts.onProgress, executor: this.executor });
  }

  /** Terminate every worker; pending calls reject. The pool cannot be used afterwards. */
  async close(): Promise<void> {
    this.closed = true;
    const jobs = [...this.queue, ...this.slots.flatMap((s) => (s.job ? [s.job] : []))];
    const calls = new Set<Call>(jobs.flatMap((j) => (j.kind === 'run' ? [j.call] : [])));
    for (const call of calls) this.fail(call, new Error('WorkerPool was closed'));
    for (const job of jobs) if (job.kind === 'file') this.failFile(job, new Error('WorkerPool was closed'));
    for (const slot of [...this.slots]) this.retire(slot);
    // Busy workers were retired by fail() above without waiting: wait for every one, so no
    // thread outlives close().
    await Promise.all(this.stopping);
  }

  /** Hand queued jobs to idle workers, starting workers up to `size`. */
  private pump(): void {
    if (this.closed) return;
    while (this.queue.length > 0) {
      let slot = this.slots.find((s) => s.job === null);
      if (!slot) {
        if (this.slots.length >= this.size) break;
        try {
          slot = this.spawn();
        } catch (err) {
          // new Worker throws synchronously for some paths (ERR_WORKER_PATH) or when the
          // thread cannot start: fail the job that needed it rather than throw out of pump
          // (called from event handlers, where a throw would be uncaught).
          const job = this.queue.shift()!;
          const why = `a worker could not be started (${this.workerPath}): ${(err as Error).message}`;
          if (job.kind === 'file') this.failFile(job, new Error(`${describeFile(job.request)}: ${why}`, { cause: err }));
          else this.fail(job.call, new Error(`${describe(job.call.planned[job.index])}: ${why}`, { cause: err }));
          continue;
        }
      }
      const job = this.queue.shift()!;
      clearTimeout(slot.idleTimer);
      slot.idleTimer = undefined;
      slot.job = job;
      slot.worker.ref();
      if (job.kind === 'file') {
        try {
          slot.worker.postMessage(job.request);
        } catch (err) {
          slot.job = null;
          slot.worker.unref();
          this.failFile(job, new Error(`${describeFile(job.request)}: the request could not be sent to a worker: ${(err as Error).message}`, { cause: err }));
        }
        continue;
      }
      const request: RunRequest = { type: 'run', jobId: job.jobId, dataset: job.dataset, planned: job.call.planned[job.index] };
      try {
        slot.worker.postMessage(request);
      } catch (err) {
        // Not cloneable (a caller bug): the worker never saw the job and stays usable.
        slot.job = null;
        slot.worker.unref();
        this.fail(job.call, new Error(`${describe(request.planned)} could not be sent to a study worker: ${(err as Error).message}`, { cause: err }));
      }
    }
    this.armIdleTimers();
  }

  /** Idle workers retire after idleTimeoutMs (pump runs whenever a worker becomes idle). */
  private armIdleTimers(): void {
    if (this.idleTimeoutMs === Infinity) return;
    for (const slot of this.slots) {
      if (slot.job !== null || slot.idleTimer) continue;
      slot.idleTimer = setTimeout(() => {
        slot.idleTimer = undefined;
        if (slot.job === null) this.retire(slot);
      }, this.idleTimeoutMs);
      slot.idleTimer.unref();
    }
  }

  private spawn(): Slot {
    const worker = new Worker(this.workerPath);
    const slot: Slot = { worker, job: null, lastError: null, idleTimer: undefined };
    worker.on('message', (msg: unknown) => this.onMessage(slot, msg));
    // A message that cannot be deserialised would otherwise leave its job waiting forever.
    worker.on('messageerror', (err: Error) => {
      const job = slot.job;
      if (!job) return;
      this.retire(slot);
      if (job.kind === 'file') {
        this.failFile(job, new Error(`${describeFile(job.request)}: the worker's message could not be read: ${err.message}`, { cause: err }));
        return;
      }
      this.fail(job.call, new Error(`${describe(job.call.planned[job.index])}: the study worker's message could not be read: ${err.message}`, { cause: err }));
    });
    worker.on('error', (err: Error) => {
      slot.lastError = err;
    });
    worker.on('exit', (code: number) => this.onExit(slot, code));
    worker.unref();
    this.slots.push(slot);
    return slot;
  }

  private onMessage(slot: Slot, raw: unknown): void {
    const job = slot.job;
    if (!job) return; // a late message from a job already settled (e.g. cancelled)
    if (job.kind === 'file') return this.onFileReply(slot, job, raw);
    const run = job.call.planned[job.index];
    let msg;
    try {
      msg = parseWorkerMessage(raw, job.jobId, run.id);
    } catch (err) {
      this.retire(slot);
      this.fail(job.call, new Error(`${describe(run)}: ${(err as Error).message}`, { cause: err }));
      return;
    }
    switch (msg.type) {
      case 'progress':
        if (msg.total > 0) this.progress(job, Math.min(msg.done / msg.total, 1));
        break;
      case 'result': {
        slot.job = null;
        slot.worker.unref();
        const call = job.call;
        if (!call.settled) {
          call.results[job.index] = msg.run;
          call.remaining--;
          this.progress(job, 1, true);
          if (call.remaining === 0) this.succeed(call);
        }
        this.pump();
        break;
      }
      case 'failure': {
        slot.job = null;
        slot.worker.unref();
        const err = new Error(`${describe(run)} failed: ${msg.message}`);
        if (msg.stack) err.stack = `${err.name}: ${err.message}\n--- in the study worker ---\n${msg.stack}`;
        this.fail(job.call, err);
        this.pump();
        break;
      }
    }
  }

  private onFileReply(slot: Slot, job: FileJob, raw: unknown): void {
    let reply;
    try {
      reply = parseFileReply(raw, job.jobId, job.request.type);
    } catch (err) {
      this.retire(slot);
      this.failFile(job, new Error(`${describeFile(job.request)}: ${(err as Error).message}`, { cause: err }));
      return;
    }
    if (reply.type === 'fileProgress') {
      // Not an answer: the worker is still on the job.
      if (!job.settled) {
        try {
          job.onProgress?.(reply.label);
        } catch {
          // the listener's problem; the job goes on
        }
      }
      return;
    }
    slot.job = null;
    slot.worker.unref();
    if (!job.settled) {
      job.settled = true;
      job.detach();
      switch (reply.type) {
        case 'dataset':
          job.resolve(reply.dataset);
          break;
        case 'columns':
          job.resolve(reply.columns);
          break;
        case 'capture':
        case 'probe':
          job.resolve(reply.run);
          break;
        case 'report':
          job.resolve(reply.report);
          break;
        case 'stateDict':
          job.resolve(reply.summary);
          break;
        case 'inputError':
          job.reject(new InputError(reply.file, reply.line, reply.detail));
          break;
        case 'failure': {
          const err = new Error(`${describeFile(job.request)} failed: ${reply.message}`);
          if (reply.stack) err.stack = `${err.name}: ${err.message}\n--- in the worker ---\n${reply.stack}`;
          job.reject(err);
          break;
        }
      }
    }
    this.pump();
  }

  /** Settle a file job with `err`: dequeue it, or stop the worker reading it. */
  private failFile(job: FileJob, err: unknown): void {
    if (job.settled) return;
    job.settled = true;
    job.detach();
    const queued = this.queue.indexOf(job);
    if (queued >= 0) this.queue.splice(queued, 1);
    for (const slot of [...this.slots]) if (slot.job === job) this.retire(slot);
    job.reject(err);
    this.pump();
  }

  private onExit(slot: Slot, code: number): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return; // retired on purpose (cancel, protocol error, close)
    this.slots.splice(i, 1);
    const job = slot.job;
    slot.job = null;
    if (job) {
      const why = slot.lastError ? `${slot.lastError.name}: ${slot.lastError.message}` : `exit code ${code}`;
      if (job.kind === 'file') this.failFile(job, new Error(`Study worker crashed while ${describeFile(job.request)}: ${why}`, { cause: slot.lastError ?? undefined }));
      else this.fail(job.call, new Error(`Study worker crashed while running ${describe(job.call.planned[job.index])}: ${why}`, { cause: slot.lastError ?? undefined }));
    }
    this.pump(); // replaces the worker if runs are waiting
  }

  /** Record a run's fraction done and report the call's progress (always when `finished`). */
  private progress(job: RunJob, fraction: number, finished = false): void {
    const call = job.call;
    if (call.settled) return;
    const before = call.fractionDone[job.index];
    if (fraction <= before && !finished) return;
    call.fractionDone[job.index] = fraction;
    call.sumDone += fraction - before;
    if (!call.onProgress) return;
    // A sum of fractions drifts by ulps: round it, and report exactly `total` at the end.
    const done = call.remaining === 0 ? call.planned.length : Math.min(Math.round(call.sumDone * 1e9) / 1e9, call.planned.length);
    try {
      call.onProgress(done, call.planned.length, call.planned[job.index].label);
    } catch (err) {
      this.fail(call, err);
    }
  }

  private succeed(call: Call): void {
    if (call.settled) return; // e.g. onProgress threw on the last result: already rejected
    call.settled = true;
    call.detach();
    call.resolve(call.results as ReportRun[]);
  }

  /** Settle `call` with `err`: drop its queued jobs and stop the workers busy with it. */
  private fail(call: Call, err: unknown): void {
    if (call.settled) return;
    call.settled = true;
    call.detach();
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const job = this.queue[i];
      if (job.kind === 'run' && job.call === call) this.queue.splice(i, 1);
    }
    for (const slot of [...this.slots]) if (slot.job?.kind === 'run' && slot.job.call === call) this.retire(slot);
    call.reject(err);
    this.pump();
  }

  /** Stop a worker whose state we no longer trust or need; a fresh one is spawned on demand. */
  private retire(slot: Slot): void {
    clearTimeout(slot.idleTimer);
    slot.idleTimer = undefined;
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
    slot.job = null;
    const stopped = slot.worker.terminate().catch(() => -1); // a thread that is already gone
    this.stopping.add(stopped);
    void stopped.then(() => this.stopping.delete(stopped));
  }
}
