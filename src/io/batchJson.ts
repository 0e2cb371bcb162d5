// The CLI's input JSON (design §5): {"x": number[B][T][I], "y": number[B][T][O] | number[B][O]}
// -> an engine Batch, checked against the model that will read it.
// Syntax, nesting, ragged sequences and non-finite values are checked by jsonSeries.ts
// (shared with the sequence-file reader; errors carry the line and the x[b][t] path);
// this module adds what only the model knows: input and output sizes, and the mode.

import type { Batch, LossKind, Mode, ModelConfig } from '../engine/types';
import { InputError } from './errors';
import { ExamplesScanner, lineOfByte, ScanError } from './examplesScan';
import { parseJsonInput, type JsonExamples } from './jsonSeries';

export interface BatchJsonOptions {
  /** Check x and y against this model's inputSize and outputSize. */
  model?: Pick<ModelConfig, 'inputSize' | 'outputSize'>;
  /** Mode asked for; must agree with y's shape ([B][T][O] many-to-many, [B][O] many-to-one). */
  mode?: Mode;
  /** With 'xent', each target row must be class probabilities (>= 0, summing to 1). */
  loss?: LossKind;
  /** The file the model came from, named beside the input when their sizes disagree. */
  modelFile?: string;
}

/** Tolerance on the sum of a probability row (targets written with a few decimals still pass). */
const PROBABILITY_SUM_TOLERANCE = 1e-6;

/** Generous bounds so a mistaken file fails with a message instead of exhausting memory. */
const LIMITS = { maxValues: 50_000_000, maxSteps: 1_000_000 };

/** Below this size a file the one-pass scanner refuses is re-read by the general JSON reader, whose messages point at the line and path. */
const GENERAL_READER_BYTES = 8 * 1024 * 1024;
const EXPECTED_OBJECT = 'expected an object {"x": [batch][steps][inputs], "y": [batch][steps][outputs] or [batch][outputs]}';

export function parseBatchJson(text: string, file: string, options: BatchJsonOptions = {}): Batch {
  const input = parseJsonInput(text, file, LIMITS);
  if (input.kind !== 'examples') throw new InputError(file, null, `${EXPECTED_OBJECT}, found an array`);
  return checkBatch(input, file, options);
}

/**
 * The input file's bytes -> Batch in one pass, with memory of about 8 bytes per value
 * (examplesScan.ts), whatever the file's size. Same contract and messages as parseBatchJson.
 */
export function parseBatchJsonBytes(bytes: Uint8Array, file: string, options: BatchJsonOptions = {}): Batch {
  let fields;
  try {
    fields = new ExamplesScanner(bytes, { maxValues: LIMITS.maxValues }).scanObject();
  } catch (e) {
    if (!(e instanceof ScanError)) throw e;
    if (bytes.length <= GENERAL_READER_BYTES) return parseBatchJson(new TextDecoder('utf-8').decode(bytes), file, options);
    throw new InputError(file, lineOfByte(bytes, e.offset), e.detail);
  }
  const fail = (detail: string): never => {
    throw new InputError(file, null, detail);
  };
  for (const key of fields.keys()) if (key !== 'x' && key !== 'y') fail(`unexpected field "${key}"; expected only "x" and "y"`);
  const x = fields.get('x') ?? fail(`missing "x"; ${EXPECTED_OBJECT}`);
  const y = fields.get('y') ?? fail('missing "y"; expected "y": [batch][steps][outputs] or [batch][outputs]');
  if (x.shape.length !== 3) fail(`x: expected [batch][steps][inputs], found numbers nested ${x.shape.length} deep`);
  if (y.shape.length !== 2 && y.shape.length !== 3) {
    fail(`expected y as [batch][steps][outputs] (many-to-many) or [batch][outputs] (many-to-one), found numbers nested ${y.shape.length} deep`);
  }
  const [B, T, I] = x.shape;
  if (T > LIMITS.maxSteps) fail(`sequences of ${T} steps; the limit is ${LIMITS.maxSteps}`);
  if (y.shape[0] !== B) fail(`y has ${y.shape[0]} examples but x has ${B}; expected the same batch size`);
  if (y.shape.length === 3 && y.shape[1] !== T) fail(`y has ${y.shape[1]} steps per example but x has ${T}; expected the same`);
  const input: JsonExamples = {
    kind: 'examples', batchSize: B, steps: T, inputSize: I, outputSize: y.shape[y.shape.length - 1],
    mode: y.shape.length === 3 ? 'many-to-many' : 'many-to-one',
    x: x.values, y: y.values,
  };
  return checkBatch(input, file, options);
}

/** What only the model knows: sizes, mode, and xent targets. */
function checkBatch(input: JsonExamples, file: string, options: BatchJsonOptions): Batch {
  const { batchSize, steps, inputSize, outputSize, mode } = input;
  const m = options.model;
  const model = options.modelFile ? `the model in ${options.modelFile}` : 'the model';
  if (m && inputSize !== m.inputSize) {
    throw new InputError(file, null, `x has ${inputSize} input${inputSize === 1 ? '' : 's'} per step, but ${model} reads ${m.inputSize}`);
  }
  if (m && outputSize !== m.outputSize) {
    throw new InputError(file, null, `y has ${outputSize} output${outputSize === 1 ? '' : 's'} per target, but the head of ${model} gives ${m.outputSize}`);
  }
  if (options.mode && options.mode !== mode) {
    const shape = mode === 'many-to-one' ? '[batch][outputs]' : '[batch][steps][outputs]';
    const wanted = options.mode === 'many-to-one' ? '[batch][outputs]' : '[batch][steps][outputs]';
    throw new InputError(file, null, `y is ${shape}, which means ${mode}, but mode ${options.mode} was asked for (it needs y as ${wanted})`);
  }
  if (options.loss === 'xent') checkProbabilities(input.y, outputSize, mode, steps, file);
  return { batchSize, steps, inputSize, outputSize, mode, x: input.x, y: input.y };
}

/** Class indices or raw scores passed as xent targets would train on nonsense; say so. */
function checkProbabilities(y: Float64Array, O: number, mode: Mode, T: number, file: string): void {
  for (let row = 0; row * O < y.length; row++) {
    const where = mode === 'many-to-one' ? `y[${row}]` : `y[${Math.floor(row / T)}][${row % T}]`;
    let sum = 0;
    for (let o = 0; o < O; o++) {
      const p = y[row * O + o];
      if (p < 0) throw new InputError(file, null, `${where}[${o}] = ${p}: xent targets must be class probabilities (one-hot for labels), not negative`);
      sum += p;
    }
    if (Math.abs(sum - 1) > PROBABILITY_SUM_TOLERANCE) {
      throw new InputError(file, null, `${where} sums to ${sum}: xent targets must be class probabilities over the ${O} outputs (one-hot for labels), summing to 1`);
    }
  }
}
