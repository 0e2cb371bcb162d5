// One training run, start to finish: build and initialise the model, train it by minibatch
// with the chosen optimizer and clipping, probe the gradient through time on a FIXED probe
// batch at recorded iterations, and diagnose.
//
// What the run record holds (design §6):
//   - history.loss / preClipNorm / postClipNorm: one entry per update, on that update's minibatch;
//   - history.recorded[j]: per-timestep probes after `iteration` updates, always on the same
//     probe batch, so the timestep × iteration heatmap compares like with like;
//     recorded[0] is the network at initialisation (the classic gradient-flow analysis);
//     jacobianNorm is probed at the first and last recorded iterations only (it is costly);
//   - the run-record fields (layers, inputGradNorm, itemized, loss, diagnosis) are the probe
//     pass after the last update; `initialDiagnosis` diagnoses recorded[0].
// A non-finite loss or gradient stops training: it is recorded (nonFinite, history.stoppedAt)
// and diagnosed as `exploding`, never thrown.
//
// Everything is derived from config.seed: one Rng forks an init stream and a minibatch-order
// stream, so a run is bit-reproducible and independent of how many runs share a worker.

import { runPass } from '../engine/bptt';
import { clipGradients } from '../engine/clip';
import { initializeModel } from '../engine/init';
import { createModel, stateReals } from '../engine/model';
import { createOptimizer } from '../engine/optim';
import { Rng } from '../engine/rng';
import type { Batch, Model, NonFinite, PassRecord, ProbeOptions } from '../engine/types';
import { diagnosePass, lagProfile } from './diagnosis';
import { lossText } from './format';
import { BASELINE_MARGIN, notLearned } from './recommend';
import type { Dataset, Diagnosis, PlannedRun, RecordedIteration, ReportRun, RunConfig } from './types';

/** Above this T the O(T²) itemized matrix is not requested and many-to-many falls back (said in the evidence). */
export const STUDY_ITEMIZED_MAX_STEPS = 128;
/** Default number of recorded iterations (including initialisation and the end). */
export const DEFAULT_RECORD_POINTS = 20;
/** Examples in the fixed probe batch (fewer when the dataset is smaller). */
export const PROBE_BATCH_SIZE = 32;

export interface ExecuteRunOptions {
  /** Iterations (0..config.iterations) to record; default DEFAULT_RECORD_POINTS evenly spaced incl. 0 and the last. */
  recordAt?: number[];
  signal?: AbortSignal;
  onProgress?(iteration: number): void;
}

export class AbortError extends Error {
  constructor(message = 'The run was cancelled.') {
    super(message);
    this.name = 'AbortError';
  }
}

/** `n` iterations evenly spaced over 0..iterations, first and last included, no duplicates. */
export function defaultRecordAt(iterations: number, n = DEFAULT_RECORD_POINTS): number[] {
  if (iterations <= 0) return [0];
  const points = Math.min(n, iterations + 1);
  const out = new Set<number>();
  for (let j = 0; j < points; j++) out.add(Math.round((j * iterations) / (points - 1)));
  return [...out].sort((a, b) => a - b);
}

/** A Batch made of the dataset's examples at `indices` (in that order). */
export function sliceBatch(dataset: Dataset, indices: number[]): Batch {
  const { steps: T, inputSize: I, outputSize: O, mode } = dataset;
  const xStride = T * I;
  const yStride = mode === 'many-to-many' ? T * O : O;
  const x = new Float64Array(indices.length * xStride);
  const y = new Float64Array(indices.length * yStride);
  indices.forEach((ex, b) => {
    x.set(dataset.x.subarray(ex * xStride, (ex + 1) * xStride), b * xStride);
    y.set(dataset.y.subarray(ex * yStride, (ex + 1) * yStride), b * yStride);
  });
  return { batchSize: indices.length, steps: T, inputSize: I, outputSize: O, mode, x, y };
}

/** The fixed probe batch: up to `size` examples spread evenly over the dataset. */
export function probeIndices(count: number, size: number): number[] {
  const n = Math.min(count, size);
  return Array.from({ length: n }, (_, j) => Math.floor((j * count) / n));
}

/** Epoch-wise shuffled minibatches (Fisher-Yates on a seeded stream); the last short batch of an epoch is dropped. */
export function minibatchOrder(count: number, batchSize: number, rng: Rng): () => number[] {
  const size = Math.min(batchSize, count);
  let perm: number[] = [];
  let pos = count;
  return () => {
    if (pos + size > count) {
      perm = Array.from({ length: count }, (_, i) => i);
      for (let i = count - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [perm[i], perm[j]] = [perm[j]!, perm[i]!];
      }
      pos = 0;
    }
    const out = perm.slice(pos, pos + size);
    pos += size;
    return out;
  };
}

export function buildModel(dataset: Dataset, config: RunConfig): Model {
  const model = createModel({
    cell: config.cell,
    nonlinearity: config.nonlinearity,
    variant: config.variant,
    inputSize: dataset.inputSize,
    hiddenSize: config.hiddenSize,
    numLayers: config.numLayers,
    bidirectional: config.bidirectional,
    outputSize: dataset.outputSize,
  });
  return model;
}

/** Run one planned configuration on `dataset`. Deterministic from planned.config.seed. */
export function executeRun(dataset: Dataset, planned: PlannedRun, opts: ExecuteRunOptions = {}): ReportRun {
  const config = planned.config;
  checkCompatible(dataset, config);
  const root = new Rng(config.seed);
  const initRng = root.fork();
  const orderRng = root.fork();

  const model = buildModel(dataset, config);
  initializeModel(model, { scheme: config.init, spectralRadius: config.spectralRadius, forgetBias: config.forgetBias }, initRng);
  const optimizer = createOptimizer({ kind: config.optimizer, learningRate: config.learningRate });
  const nextBatch = minibatchOrder(dataset.count, config.batchSize, orderRng);
  const probeBatch = sliceBatch(dataset, probeIndices(dataset.count, Math.max(PROBE_BATCH_SIZE, config.batchSize)));
  const wantItemized = dataset.mode === 'many-to-many' && dataset.steps <= STUDY_ITEMIZED_MAX_STEPS;
  const recordAt = new Set((planned.recordAt ?? opts.recordAt ?? defaultRecordAt(config.iterations)).filter((i) => i >= 0 && i <= config.iterations));
  recordAt.add(0);

  const history = { loss: [] as number[], preClipNorm: [] as number[], postClipNorm: [] as number[], clipRate: 0, recorded: [] as RecordedIteration[], stoppedAt: null as number | null };
  const diagnose = (record: PassRecord, extra: { history?: number[]; stoppedAt?: number | null } = {}): Diagnosis =>
    diagnosePass(record, { mode: dataset.mode, cell: config.cell, thresholds: planned.thresholds, ...extra });

  const probe = (iteration: number, jacobian: boolean): PassRecord => {
    const record = probePass(model, probeBatch, config, wantItemized, jacobian);
    history.recorded.push({
      iteration,
      layers: record.layers,
      inputGradNorm: record.inputGradNorm,
      lagProfile: lagProfile(record, dataset.mode, config.cell).profile,
      loss: record.loss,
    });
    return record;
  };

  const initialRecord = probe(0, true);
  const initialDiagnosis = diagnose(initialRecord);
  let lastRecord: PassRecord = initialRecord;
  let lastRecordedAt = 0;
  let trainingNonFinite: NonFinite | null = null;
  let clippedCount = 0;

  for (let it = 0; it < config.iterations; it++) {
    if (opts.signal?.aborted) throw new AbortError();
    const batch = sliceBatch(dataset, nextBatch());
    const { loss, grads } = runPass(model, batch, {
      loss: config.loss,
      probes: NO_PROBES,
      truncation: config.truncation,
      checkpoint: needsCheckpointing(batch, config, false),
    });
    const clip = clipGradients(grads, config.clip);
    history.loss.push(loss);
    history.preClipNorm.push(clip.before);
    history.postClipNorm.push(clip.after);
    if (!Number.isFinite(loss) || !Number.isFinite(clip.before)) {
      trainingNonFinite = !Number.isFinite(loss)
        ? { quantity: 'loss', layer: null, t: null, value: loss }
        : { quantity: 'globalGradNorm', layer: null, t: null, value: clip.before };
      history.stoppedAt = it;
      break;
    }
    if (clip.clipped) clippedCount++;
    optimizer.step(model.params, grads);
    opts.onProgress?.(it + 1);
    if (recordAt.has(it + 1)) {
      lastRecord = probe(it + 1, it + 1 === config.iterations);
      lastRecordedAt = it + 1;
    }
  }
  const updates = history.stoppedAt ?? config.iterations;
  // The run record is the network as training left it: probe it if the last update was not recorded.
  if (lastRecordedAt !== updates) lastRecord = probe(updates, true);
  history.clipRate = history.preClipNorm.length > 0 ? clippedCount / history.preClipNorm.length : 0;

  const nonFinite = trainingNonFinite ?? lastRecord.nonFinite;
  const diagnosis = diagnose({ ...lastRecord, nonFinite }, { history: history.preClipNorm, stoppedAt: history.stoppedAt });
  const baseline = trivialBaseline(probeBatch, config.loss);
  const finding = baselineFinding(lastRecord.loss, baseline);
  if (finding) diagnosis.evidence.push(finding);

  return {
    schema: 'bptt-lens/run@1',
    id: planned.id,
    label: planned.label,
    ...(planned.group !== undefined ? { group: planned.group } : {}),
    config: { ...config },
    timesteps: lastRecord.timesteps,
    layers: lastRecord.layers,
    inputGradNorm: lastRecord.inputGradNorm,
    loss: lastRecord.loss,
    globalGradNorm: lastRecord.globalGradNorm,
    clippedGradNorm: lastRecord.clippedGradNorm,
    nonFinite,
    itemized: lastRecord.itemized,
    diagnosis,
    initialDiagnosis,
    history,
    recommendations: [],
    baseline,
  };
}

/**
 * The best constant prediction's loss on `batch`: mse — every output predicts the mean of its
 * target over the scored outputs (loss = their variance); xent — the class frequencies of the
 * scored targets (loss = their entropy). A network at this loss has learned nothing about its input.
 */
export function trivialBaseline(batch: Batch, loss: RunConfig['loss']): { kind: 'mean' | 'prior'; loss: number } {
  const O = batch.outputSize;
  const n = batch.y.length / O;
  const mean = new Float64Array(O);
  for (let i = 0; i < n; i++) for (let o = 0; o < O; o++) mean[o] += batch.y[i * O + o]! / n;
  if (loss === 'xent') {
    let sum = 0;
    for (let o = 0; o < O; o++) sum += mean[o]!;
    let entropy = 0;
    for (let o = 0; o < O; o++) {
      const p = mean[o]! / (sum || 1);
      if (p > 0) entropy -= p * Math.log(p);
    }
    return { kind: 'prior', loss: entropy };
  }
  let sq = 0;
  for (let i = 0; i < n; i++) for (let o = 0; o < O; o++) sq += (batch.y[i * O + o]! - mean[o]!) ** 2;
  return { kind: 'mean', loss: sq / (n * O) };
}

/** The evidence sentence for a final loss within BASELINE_MARGIN of the trivial baseline (or above it); null otherwise. */
export function baselineFinding(finalLoss: number, baseline: { kind: 'mean' | 'prior'; loss: number }): string | null {
  const learned = notLearned({ loss: finalLoss, baseline });
  if (!learned) return null;
  const rel = (finalLoss - baseline.loss) / baseline.loss;
  const where = Math.abs(rel) <= BASELINE_MARGIN
    ? `within ${Math.max(1, Math.ceil(Math.abs(rel) * 100))}% of`
    : `above`;
  return `Final loss ${lossText(finalLoss)} is ${where} the trivial baseline ${lossText(baseline.loss)} (${learned.what}): the network has not learned the task yet.`;
}

const NO_PROBES: ProbeOptions = { gates: false, weightGradByStep: false, jacobian: false, itemized: false };

/**
 * Recurrent state entries (T x B x H x layers) above which a pass keeps only every
 * ⌈√T⌉-th state and recomputes the segments in the backward pass: the engine stores about
 * twenty such buffers per layer, so 2^21 entries is some 300 MB of float64. Checkpointing
 * gives the same gradients and records; the engine offers it for unidirectional, full-BPTT
 * passes without the itemized matrix. Cells with a larger state than the LSTM's (h, c) count
 * in proportion (s6's H·N: 8×; mlstm's H² + H: about H/2 ×).
 */
const CHECKPOINT_ABOVE = 2 ** 21;

export function needsCheckpointing(batch: Batch, config: RunConfig, itemized: boolean): boolean {
  const H = config.hiddenSize;
  const reals = stateReals({ cell: config.cell, nonlinearity: config.nonlinearity, variant: config.variant, inputSize: 1, hiddenSize: H, numLayers: 1, bidirectional: false, outputSize: 1 });
  const entries = batch.steps * batch.batchSize * H * config.numLayers * Math.max(1, reals / (2 * H));
  return entries > CHECKPOINT_ABOVE && !config.bidirectional && !config.truncation && !itemized;
}

/**
 * Probes on the probe batch; the gradient is discarded, its pre/post-clip norms recorded.
 * The Jacobian probe (power iteration per step, several passes' worth of work) is asked for
 * at initialisation and at the end only; the recorded iterations in between carry
 * jacobianNorm = null.
 */
function probePass(model: Model, batch: Batch, config: RunConfig, itemized: boolean, jacobian: boolean): PassRecord {
  const { grads, record } = runPass(model, batch, {
    loss: config.loss,
    probes: { gates: true, weightGradByStep: true, jacobian, jacobianIterations: 20, itemized, itemizedMaxSteps: STUDY_ITEMIZED_MAX_STEPS },
    truncation: config.truncation,
    checkpoint: needsCheckpointing(batch, config, itemized),
  });
  const clip = clipGradients(grads, config.clip);
  return { ...record, globalGradNorm: clip.before, clippedGradNorm: clip.after };
}

function checkCompatible(dataset: Dataset, config: RunConfig): void {
  if (config.mode !== dataset.mode) throw new Error(`run config mode ${config.mode} does not match the data (${dataset.mode})`);
  if (config.loss !== dataset.loss) throw new Error(`run config loss ${config.loss} does not match the data (${dataset.loss})`);
  if (!(config.iterations >= 0) || !Number.isInteger(config.iterations)) throw new Error(`iterations must be a whole number >= 0, got ${config.iterations}`);
  if (!(config.batchSize >= 1) || !Number.isInteger(config.batchSize)) throw new Error(`batchSize must be a whole number >= 1, got ${config.batchSize}`);
}
