// The protocol between the worker pool (main thread) and a study worker (dist/worker.js).
//
//   pool -> worker   RunRequest      one planned run over one dataset
//   worker -> pool   RunProgress     iterations done so far (throttled)
//                    RunResult       the finished ReportRun
//                    RunFailure      executeRun threw; the worker stays usable
//   pool -> worker   ReadSequenceRequest / ListColumnsRequest   read and parse a user's file
//                    ReadReportRequest                          read and validate a saved report.json
//   worker -> pool   SequenceResult  the Dataset (x / y copied once into shared memory by the worker; not transferred, not copied again)
//                    ColumnsResult   the numeric columns offered as the target
//                    ReportResult    the validated Report
//                    InputFailure    the file's InputError (file, line, detail), rebuilt as one
//                    RunFailure      anything else the job threw
//   pool -> worker   AnalyzeCaptureRequest   read a training capture and replay it (io/captureRun.ts)
//   worker -> pool   CaptureResult   its run record (or InputFailure / RunFailure as above)
//   pool -> worker   InspectStateDictRequest  read and check a state dict (io/stateDictProbe.ts)
//   worker -> pool   StateDictResult          what it holds (cell, sizes, the cells it fits)
//   pool -> worker   ProbeStateDictRequest    the `gradients` pass of a state dict on an input file
//   worker -> pool   FileProgress             its stages while it runs, then ProbeResult (its run record)
//
// A worker runs one job at a time, and executeRun is synchronous, so a worker cannot read
// a cancel message while it trains: the pool cancels by terminating the worker and
// starting a fresh one. Everything a worker sends back is checked by `parseWorkerMessage`
// (runs) or `parseFileReply` (file jobs) before the pool believes it (a worker is our own code, but a bug there must surface as a
// clear error, not as a malformed report further down).

import type { CaptureRunOptions, CaptureRunRecord } from '../io/captureRun';
import type { ColumnChoice } from '../io/columns';
import type { ProbeOptions, StateDictSummary } from '../io/stateDictProbe';
import type { FileReadOptions } from '../io/sequenceHead';
import type { Dataset, PlannedRun, Report, ReportRun, RunRecord } from '../study/types';

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

/** Read and parse a sequence file in the worker (readSequenceFile), off the caller's thread. */
export interface ReadSequenceRequest {
  type: 'readSequence';
  jobId: number;
  file: string;
  options: FileReadOptions;
}

/** The target-column candidates of a table-like file (listTargetColumns parses the whole file). */
export interface ListColumnsRequest {
  type: 'listColumns';
  jobId: number;
  file: string;
}

/** Read a capture file (design §9) and replay it: the run record of analyzeCapture. */
export interface AnalyzeCaptureRequest {
  type: 'analyzeCapture';
  jobId: number;
  file: string;
  options: CaptureRunOptions;
}

export interface CaptureResult {
  type: 'capture';
  jobId: number;
  run: CaptureRunRecord;
}

/** Read and check a state dict as `gradients` does (inspectStateDict); `cell` plays --cell. */
export interface InspectStateDictRequest {
  type: 'inspectStateDict';
  jobId: number;
  file: string;
  cell?: string;
}

export interface StateDictResult {
  type: 'stateDict';
  jobId: number;
  summary: StateDictSummary;
}

/** The `gradients` pass of a state dict on an input file (probeStateDict). */
export interface ProbeStateDictRequest {
  type: 'probeStateDict';
  jobId: number;
  options: ProbeOptions;
}

/** What a long file job is doing now (probeStateDict's stages); the job goes on. */
export interface FileProgress {
  type: 'fileProgress';
  jobId: number;
  label: string;
}

export interface ProbeResult {
  type: 'probe';
  jobId: number;
  run: RunRecord;
}

/** Read and validate a saved report.json (readReportFile): up to 256 MB, kept off the caller's thread. */
export interface ReadReportRequest {
  type: 'readReport';
  jobId: number;
  file: string;
}

export interface ReportResult {
  type: 'report';
  jobId: number;
  report: Report;
}

export interface SequenceResult {
  type: 'dataset';
  jobId: number;
  dataset: Dataset;
}

export interface ColumnsResult {
  type: 'columns';
  jobId: number;
  columns: ColumnChoice[];
}

/** The file is bad: the InputError's fields, so the caller gets the very same message. */
export interface InputFailure {
  type: 'inputError';
  jobId: number;
  file: string;
  line: number | null;
  detail: string;
}

export type FileRequest = ReadSequenceRequest | ListColumnsRequest | ReadReportRequest | AnalyzeCaptureRequest | InspectStateDictRequest | ProbeStateDictRequest;
export type PoolToWorker = RunRequest | FileRequest;
export type WorkerToPool = RunProgress | RunResult | RunFailure;
export type FileReply = SequenceResult | ColumnsResult | ReportResult | CaptureResult | StateDictResult | ProbeResult | FileProgress | InputFailure | RunFailure;

/** Why a worker message was refused. */
class ProtocolError extends Error {
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

/** A capture's run record: the run-record fields every reader uses, plus the replay check. */
function checkCaptureRun(raw: unknown): CaptureRunRecord {
  const run = checkRunRecord(raw, 'capture.run') as unknown as Record<string, unknown> & { config: Record<string, unknown> };
  if (!isNumberArray(run.directGradNorm)) throw new ProtocolError('capture.run.directGradNorm is not a number array');
  if (typeof run.replayError !== 'number') throw new ProtocolError('capture.run.replayError is not a number');
  if (!(run.inputGradError === null || typeof run.inputGradError === 'number')) throw new ProtocolError('capture.run.inputGradError is not a number or null');
  if (!isCount(run.config.step)) throw new ProtocolError('capture.run.config.step is not a count');
  return run as unknown as CaptureRunRecord;
}

function checkStateDictSummary(s: unknown): StateDictSummary {
  if (!isRecord(s)) throw new ProtocolError('stateDict.summary is not an object');
  if (typeof s.file !== 'string' || typeof s.cell !== 'string' || !Array.isArray(s.cells) || !s.cells.every((c) => typeof c === 'string')) {
    throw new ProtocolError('stateDict.summary needs file, cell and cells');
  }
  for (const key of ['numLayers', 'hiddenSize', 'inputSize', 'outputSize', 'parameterCount', 'tensorCount', 'bytes'] as const) {
    if (!isCount(s[key])) throw new ProtocolError(`stateDict.summary.${key} is not a count`);
  }
  if (typeof s.bidirectional !== 'boolean') throw new ProtocolError('stateDict.summary.bidirectional is not a boolean');
  return s as unknown as StateDictSummary;
}

/** A `gradients` run record (design §6): the fields the report and the panel read. */
function checkRunRecord(run: unknown, path: string): RunRecord {
  if (!isRecord(run) || run.schema !== 'bptt-lens/run@1') throw new ProtocolError(`${path} is not a bptt-lens/run@1 record`);
  if (!isRecord(run.config) || !isCount(run.timesteps) || !Array.isArray(run.layers) || !run.layers.every(isRecord)) {
    throw new ProtocolError(`${path} needs config, timesteps and layers`);
  }
  for (const key of ['loss', 'globalGradNorm', 'clippedGradNorm'] as const) {
    if (typeof run[key] !== 'number') throw new ProtocolError(`${path}.${key} is not a number`);
  }
  if (!isNumberArray(run.inputGradNorm)) throw new ProtocolError(`${path}.inputGradNorm is not a number array`);
  return run as unknown as RunRecord;
}

/** Modes and losses a Dataset may carry (engine/types.ts Mode and LossKind). */
const MODES = new Set(['many-to-one', 'many-to-many']);
const LOSSES = new Set(['mse', 'xent']);

/** The Dataset contract (study/types.ts): sizes are counts and x / y hold exactly that many values. */
function checkDataset(d: unknown): Dataset {
  if (!isRecord(d)) throw new ProtocolError('dataset is not an object');
  for (const key of ['name', 'description', 'task', 'source'] as const) {
    if (typeof d[key] !== 'string') throw new ProtocolError(`dataset.${key} is not a string`);
  }
  if (!MODES.has(d.mode as string)) throw new ProtocolError(`dataset.mode is ${JSON.stringify(d.mode)}`);
  if (!LOSSES.has(d.loss as string)) throw new ProtocolError(`dataset.loss is ${JSON.stringify(d.loss)}`);
  for (const key of ['inputSize', 'outputSize', 'steps', 'count'] as const) {
    if (!isCount(d[key])) throw new ProtocolError(`dataset.${key} is not a count`);
  }
  const { count, steps, inputSize, outputSize } = d as unknown as Dataset;
  const yLength = count * outputSize * (d.mode === 'many-to-many' ? steps : 1);
  if (!(d.x instanceof Float64Array) || d.x.length !== count * steps * inputSize) throw new ProtocolError(`dataset.x is not a Float64Array of ${count * steps * inputSize} values`);
  if (!(d.y instanceof Float64Array) || d.y.length !== yLength) throw new ProtocolError(`dataset.y is not a Float64Array of ${yLength} values`);
  const norm = d.normalization;
  if (!isRecord(norm)) throw new ProtocolError('dataset.normalization is not an object');
  if (norm.kind !== 'none') {
    const columnsOk = Array.isArray(norm.columns) && norm.columns.every((c) => isRecord(c) && typeof c.name === 'string' && typeof c.a === 'number' && typeof c.b === 'number');
    if ((norm.kind !== 'zscore' && norm.kind !== 'minmax') || !columnsOk) throw new ProtocolError(`dataset.normalization is not none, zscore or minmax with columns`);
  }
  return d as unknown as Dataset;
}

function checkColumns(v: unknown): ColumnChoice[] {
  if (!Array.isArray(v) || !v.every((c) => isRecord(c) && typeof c.name === 'string' && Number.isInteger(c.position) && (c.position as number) >= 1)) {
    throw new ProtocolError('columns is not an array of {name, position}');
  }
  return v as ColumnChoice[];
}

/**
 * Validate a worker's reply to file job `jobId` (a request of type `kind`).
 * Throws ProtocolError on anything else.
 */
export function parseFileReply(msg: unknown, jobId: number, kind: FileRequest['type']): FileReply {
  if (!isRecord(msg)) throw new ProtocolError('not an object');
  if (msg.jobId !== jobId) throw new ProtocolError(`jobId ${JSON.stringify(msg.jobId)} while job ${jobId} is running`);
  switch (msg.type) {
    case 'dataset':
      if (kind !== 'readSequence') break;
      return { type: 'dataset', jobId, dataset: checkDataset(msg.dataset) };
    case 'columns':
      if (kind !== 'listColumns') break;
      return { type: 'columns', jobId, columns: checkColumns(msg.columns) };
    case 'capture':
      if (kind !== 'analyzeCapture') break;
      return { type: 'capture', jobId, run: checkCaptureRun(msg.run) };
    case 'stateDict':
      if (kind !== 'inspectStateDict') break;
      return { type: 'stateDict', jobId, summary: checkStateDictSummary(msg.summary) };
    case 'fileProgress':
      if (kind !== 'probeStateDict') break;
      if (typeof msg.label !== 'string' || msg.label.length > 500) throw new ProtocolError('fileProgress.label is not a short string');
      return { type: 'fileProgress', jobId, label: msg.label };
    case 'probe':
      if (kind !== 'probeStateDict') break;
      return { type: 'probe', jobId, run: checkRunRecord(msg.run, 'probe.run') };
    case 'report': {
      if (kind !== 'readReport') break;
      // The worker validated it in full (schema and semantics, io/report/read.ts); check the envelope.
      const r = msg.report;
      if (!isRecord(r) || r.schema !== 'bptt-lens/report@1' || !isRecord(r.study) || !Array.isArray(r.runs)) throw new ProtocolError('report is not a bptt-lens/report@1 object');
      return { type: 'report', jobId, report: r as unknown as Report };
    }
    case 'inputError':
      if (typeof msg.file !== 'string' || typeof msg.detail !== 'string' || !(msg.line === null || (isCount(msg.line) && msg.line >= 1))) {
        throw new ProtocolError('inputError needs file, line (null or >= 1) and detail');
      }
      return { type: 'inputError', jobId, file: msg.file, line: msg.line, detail: msg.detail };
    case 'failure':
      if (typeof msg.message !== 'string') throw new ProtocolError('failure.message is not a string');
      return { type: 'failure', jobId, message: msg.message, stack: typeof msg.stack === 'string' ? msg.stack : null };
  }
  throw new ProtocolError(`unexpected type ${JSON.stringify(msg.type)} in reply to ${kind}`);
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
