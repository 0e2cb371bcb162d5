// The CLI's input JSON (design §5): {"x": number[B][T][I], "y": number[B][T][O] | number[B][O]}
// -> an engine Batch, checked against the model that will read it.
// Syntax, nesting, ragged sequences and non-finite values are checked by jsonSeries.ts
// (shared with the sequence-file reader; errors carry the line and the x[b][t] path);
// this module adds what only the model knows: input and output sizes, and the mode.

import type { Batch, LossKind, Mode, ModelConfig } from '../engine/types';
import { InputError } from './errors';
import { parseJsonInput } from './jsonSeries';

export interface BatchJsonOptions {
  /** Check x and y against this model's inputSize and outputSize. */
  model?: Pick<ModelConfig, 'inputSize' | 'outputSize'>;
  /** Mode asked for; must agree with y's shape ([B][T][O] many-to-many, [B][O] many-to-one). */
  mode?: Mode;
  /** With 'xent', each target row must be class probabilities (>= 0, summing to 1). */
  loss?: LossKind;
}

/** Tolerance on the sum of a probability row (targets written with a few decimals still pass). */
const PROBABILITY_SUM_TOLERANCE = 1e-6;

/** Generous bounds so a mistaken file fails with a message instead of exhausting memory. */
const LIMITS = { maxValues: 50_000_000, maxSteps: 1_000_000 };

export function parseBatchJson(text: string, file: string, options: BatchJsonOptions = {}): Batch {
  const input = parseJsonInput(text, file, LIMITS);
  if (input.kind !== 'examples') {
    throw new InputError(file, null, 'expected an object {"x": [batch][steps][inputs], "y": [batch][steps][outputs] or [batch][outputs]}, found an array');
  }
  const { batchSize, steps, inputSize, outputSize, mode } = input;
  const m = options.model;
  if (m && inputSize !== m.inputSize) {
    throw new InputError(file, null, `x has ${inputSize} input${inputSize === 1 ? '' : 's'} per step, but the model reads ${m.inputSize}`);
  }
  if (m && outputSize !== m.outputSize) {
    throw new InputError(file, null, `y has ${outputSize} output${outputSize === 1 ? '' : 's'} per target, but the model's head gives ${m.outputSize}`);
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
