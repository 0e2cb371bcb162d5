// Built-in sample tasks (design §7). Each one is a fixed set of examples generated from a
// seed with the engine's Rng, so the same (name, seed, steps, count) gives a bit-identical
// Dataset on every machine. The airline series ships inside the extension.
import { Rng } from '../engine/rng';
import type { LossKind, Mode } from '../engine/types';
import type { Dataset } from './types';
import { AIRLINE_PASSENGERS } from './data/airline';
import { ALICE_OPENING } from './data/alice';

export const SAMPLE_NAMES = ['airline', 'adding', 'copy', 'binary-addition', 'sine', 'text'] as const;
export type SampleName = (typeof SAMPLE_NAMES)[number];

export interface SampleDefaults {
  steps: number;
  count: number;
  mode: Mode;
  loss: LossKind;
  inputSize: number;
  outputSize: number;
}

export interface SampleInfo {
  name: SampleName;
  /** One line for pickers and reports. */
  description: string;
  /** One line: what the network is asked to do. */
  task: string;
  defaults: SampleDefaults;
}

export interface SampleOptions {
  seed: number;
  /** Sequence length T (for airline and sine: the window; for binary-addition: the bits). */
  steps?: number;
  /** Number of examples (airline: capped at the number of windows the series has). */
  count?: number;
}

/** Longest generated sequence (the same cap as sequence files). */
export const SAMPLE_MAX_STEPS = 10_000;
/** Values in one sample Dataset (x plus y): 80 MB of float64. */
export const SAMPLE_MAX_VALUES = 10_000_000;

// Copy task sizes (Arjovsky et al. 2016 use 8 symbols and S = 10; S = 5 keeps it small).
const COPY_SYMBOLS = 8;
const COPY_LENGTH = 5;
const COPY_BLANK = COPY_SYMBOLS;
const COPY_DELIMITER = COPY_SYMBOLS + 1;

const TEXT_VOCAB: readonly string[] = [...new Set(ALICE_OPENING)].sort();

export const SAMPLES: Readonly<Record<SampleName, SampleInfo>> = {
  airline: {
    name: 'airline',
    description: 'Monthly international airline passengers, 1949-1960 (Box & Jenkins, 144 values)',
    task: 'predict next month\'s passengers from the previous 12 months (z-scored)',
    defaults: { steps: 12, count: AIRLINE_PASSENGERS.length - 12, mode: 'many-to-one', loss: 'mse', inputSize: 1, outputSize: 1 },
  },
  adding: {
    name: 'adding',
    description: 'Adding problem (Hochreiter & Schmidhuber 1997): random values, two of them marked',
    task: 'output the sum of the two marked values (one in each half) after reading the whole sequence',
    // T = 40: long enough that a tanh RNN loses the gradient, short enough that a GRU learns
    // the task in a few seconds; the classic setting is --length 100.
    defaults: { steps: 40, count: 512, mode: 'many-to-one', loss: 'mse', inputSize: 2, outputSize: 1 },
  },
  copy: {
    name: 'copy',
    description: `Copy/memory task (Hochreiter & Schmidhuber 1997; Arjovsky et al. 2016): ${COPY_LENGTH} of ${COPY_SYMBOLS} symbols, then a delay`,
    task: `after the delimiter, reproduce the first ${COPY_LENGTH} symbols; output blank elsewhere`,
    defaults: { steps: 30, count: 512, mode: 'many-to-many', loss: 'xent', inputSize: COPY_SYMBOLS + 2, outputSize: COPY_SYMBOLS + 1 },
  },
  'binary-addition': {
    name: 'binary-addition',
    description: '8-bit binary addition, least significant bit first',
    task: 'read one bit of a and one of b per step and output that bit of a + b (2-class softmax)',
    defaults: { steps: 8, count: 256, mode: 'many-to-many', loss: 'xent', inputSize: 2, outputSize: 2 },
  },
  sine: {
    name: 'sine',
    description: 'Sine waves with random phase and frequency (period 8 to 32 steps)',
    task: 'predict the next value of the wave from the last 40',
    defaults: { steps: 40, count: 256, mode: 'many-to-one', loss: 'mse', inputSize: 1, outputSize: 1 },
  },
  text: {
    name: 'text',
    description: `Opening of "Alice's Adventures in Wonderland" (Carroll 1865), ${ALICE_OPENING.length} characters`,
    task: `predict the next character at every step (${TEXT_VOCAB.length}-symbol vocabulary, one-hot)`,
    defaults: { steps: 32, count: 256, mode: 'many-to-many', loss: 'xent', inputSize: TEXT_VOCAB.length, outputSize: TEXT_VOCAB.length },
  },
};

export function isSampleName(name: string): name is SampleName {
  return (SAMPLE_NAMES as readonly string[]).includes(name);
}

/** Builds a sample task. Throws RangeError for an unknown name or out-of-range steps/count. */
export function loadSample(name: SampleName, options: SampleOptions): Dataset {
  if (!isSampleName(name)) throw new RangeError(`unknown sample '${String(name)}'; expected one of ${SAMPLE_NAMES.join(', ')}`);
  const info = SAMPLES[name];
  const steps = options.steps ?? info.defaults.steps;
  const count = options.count ?? info.defaults.count;
  checkInt('count', count, 1, 1_000_000);
  const perStep = info.defaults.inputSize + (info.defaults.mode === 'many-to-many' ? info.defaults.outputSize : 0);
  const values = count * (steps * perStep + (info.defaults.mode === 'many-to-one' ? info.defaults.outputSize : 0));
  if (values > SAMPLE_MAX_VALUES) {
    throw new RangeError(`${name} with ${steps} steps and ${count} examples holds ${values} values; the limit is ${SAMPLE_MAX_VALUES} (use fewer steps or examples)`);
  }
  const rng = new Rng(options.seed);
  switch (name) {
    case 'airline': return airline(steps, count);
    case 'adding': return adding(rng, steps, count);
    case 'copy': return copyTask(rng, steps, count);
    case 'binary-addition': return binaryAddition(rng, steps, count);
    case 'sine': return sine(rng, steps, count);
    case 'text': return text(rng, steps, count);
  }
}

function checkInt(what: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${what} must be an integer from ${min} to ${max}, got ${value}`);
  }
}

function base(name: SampleName, steps: number, count: number, task?: string): Omit<Dataset, 'x' | 'y' | 'normalization'> {
  const info = SAMPLES[name];
  return {
    name, description: info.description, task: task ?? info.task,
    mode: info.defaults.mode, loss: info.defaults.loss,
    inputSize: info.defaults.inputSize, outputSize: info.defaults.outputSize,
    steps, count, source: `sample:${name}`,
  };
}

function airline(steps: number, count: number): Dataset {
  const n = AIRLINE_PASSENGERS.length;
  checkInt('steps', steps, 1, n - 1);
  const { values, column } = zscore(AIRLINE_PASSENGERS, 'passengers');
  const windows = windowSeries(values, steps);
  const used = Math.min(count, windows.count);
  return {
    ...base('airline', steps, used, `predict next month's passengers from the previous ${steps} months (z-scored)`),
    x: windows.x.slice(0, used * steps),
    y: windows.y.slice(0, used),
    normalization: { kind: 'zscore', columns: [column] },
  };
}

function adding(rng: Rng, steps: number, count: number): Dataset {
  checkInt('steps', steps, 2, SAMPLE_MAX_STEPS);
  const x = new Float64Array(count * steps * 2);
  const y = new Float64Array(count);
  const half = Math.floor(steps / 2);
  for (let b = 0; b < count; b++) {
    for (let t = 0; t < steps; t++) x[(b * steps + t) * 2] = rng.uniform();
    const first = rng.int(half);
    const second = half + rng.int(steps - half);
    x[(b * steps + first) * 2 + 1] = 1;
    x[(b * steps + second) * 2 + 1] = 1;
    y[b] = x[(b * steps + first) * 2] + x[(b * steps + second) * 2];
  }
  return { ...base('adding', steps, count), x, y, normalization: { kind: 'none' } };
}

function copyTask(rng: Rng, steps: number, count: number): Dataset {
  checkInt('steps', steps, 2 * COPY_LENGTH + 1, SAMPLE_MAX_STEPS);
  const I = COPY_SYMBOLS + 2;
  const O = COPY_SYMBOLS + 1;
  const x = new Float64Array(count * steps * I);
  const y = new Float64Array(count * steps * O);
  const recallStart = steps - COPY_LENGTH;
  for (let b = 0; b < count; b++) {
    const symbols: number[] = [];
    for (let s = 0; s < COPY_LENGTH; s++) symbols.push(rng.int(COPY_SYMBOLS));
    for (let t = 0; t < steps; t++) {
      const input = t < COPY_LENGTH ? symbols[t] : t === recallStart - 1 ? COPY_DELIMITER : COPY_BLANK;
      const target = t >= recallStart ? symbols[t - recallStart] : COPY_BLANK;
      x[(b * steps + t) * I + input] = 1;
      y[(b * steps + t) * O + target] = 1;
    }
  }
  const task = `after the delimiter, reproduce the first ${COPY_LENGTH} symbols (delay ${recallStart} steps); output blank elsewhere`;
  return { ...base('copy', steps, count, task), x, y, normalization: { kind: 'none' } };
}

function binaryAddition(rng: Rng, steps: number, count: number): Dataset {
  // a, b < 2^(bits-1) so that a + b fits in `bits` bits: every output bit is determined.
  checkInt('steps (bits)', steps, 2, 30);
  const x = new Float64Array(count * steps * 2);
  const y = new Float64Array(count * steps * 2);
  const limit = 2 ** (steps - 1);
  for (let b = 0; b < count; b++) {
    const a = rng.int(limit);
    const c = rng.int(limit);
    const sum = a + c;
    for (let t = 0; t < steps; t++) {
      x[(b * steps + t) * 2] = Math.floor(a / 2 ** t) % 2;
      x[(b * steps + t) * 2 + 1] = Math.floor(c / 2 ** t) % 2;
      y[(b * steps + t) * 2 + (Math.floor(sum / 2 ** t) % 2)] = 1;
    }
  }
  const info = base('binary-addition', steps, count);
  return { ...info, description: `${steps}-bit binary addition, least significant bit first`, x, y, normalization: { kind: 'none' } };
}

function sine(rng: Rng, steps: number, count: number): Dataset {
  checkInt('steps', steps, 1, SAMPLE_MAX_STEPS);
  const x = new Float64Array(count * steps);
  const y = new Float64Array(count);
  for (let b = 0; b < count; b++) {
    const frequency = 1 / rng.range(8, 32);
    const phase = rng.range(0, 2 * Math.PI);
    for (let t = 0; t < steps; t++) x[b * steps + t] = Math.sin(2 * Math.PI * frequency * t + phase);
    y[b] = Math.sin(2 * Math.PI * frequency * steps + phase);
  }
  const task = `predict the next value of the wave from the last ${steps}`;
  return { ...base('sine', steps, count, task), x, y, normalization: { kind: 'none' } };
}

function text(rng: Rng, steps: number, count: number): Dataset {
  checkInt('steps', steps, 1, ALICE_OPENING.length - 1);
  const V = TEXT_VOCAB.length;
  const codes = [...ALICE_OPENING].map((ch) => TEXT_VOCAB.indexOf(ch));
  const x = new Float64Array(count * steps * V);
  const y = new Float64Array(count * steps * V);
  for (let b = 0; b < count; b++) {
    const offset = rng.int(codes.length - steps);
    for (let t = 0; t < steps; t++) {
      x[(b * steps + t) * V + codes[offset + t]] = 1;
      y[(b * steps + t) * V + codes[offset + t + 1]] = 1;
    }
  }
  return { ...base('text', steps, count), x, y, normalization: { kind: 'none' } };
}

/** The characters of the text sample's vocabulary, index = one-hot position. */
export function textSampleVocabulary(): readonly string[] {
  return TEXT_VOCAB;
}

// ---- series helpers shared with file input (src/io/sequences.ts) ----

/**
 * Normalisation of one column, as recorded in Dataset.normalization:
 * normalised = (original - a) / b, so original = normalised * b + a.
 * z-score: a = mean, b = population standard deviation; min-max: a = min, b = max - min.
 * A constant column gets b = 1 (it is only shifted). Sums run on values divided by a power
 * of two near the largest magnitude: exact in binary floating point, so the results are the
 * plain formula's, but columns near the float64 limits do not overflow to Infinity.
 */
export function zscore(values: ArrayLike<number>, name: string): NormalizedColumn {
  const n = values.length;
  const s = magnitude(values);
  let mean = 0;
  for (let i = 0; i < n; i++) mean += values[i] / s;
  mean /= n;
  let variance = 0;
  for (let i = 0; i < n; i++) variance += (values[i] / s - mean) ** 2;
  return scaledAffine(values, name, s, mean, Math.sqrt(variance / n));
}

export function minmax(values: ArrayLike<number>, name: string): NormalizedColumn {
  const s = magnitude(values);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    lo = Math.min(lo, values[i] / s);
    hi = Math.max(hi, values[i] / s);
  }
  return scaledAffine(values, name, s, lo, hi - lo);
}

export interface NormalizedColumn {
  values: Float64Array;
  column: { name: string; a: number; b: number };
}

function magnitude(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s = Math.max(s, Math.abs(values[i]));
  // log2 of the largest doubles rounds to 1024; 2^1023 keeps the scale finite.
  return s > 0 && Number.isFinite(s) ? 2 ** Math.min(1023, Math.floor(Math.log2(s))) : 1;
}

/** (v - a) / b computed on v / s, with a = shift * s and b = spread * s. */
function scaledAffine(values: ArrayLike<number>, name: string, s: number, shift: number, spread: number): NormalizedColumn {
  const out = new Float64Array(values.length);
  const a = shift * s;
  // b overflows only for a min-max range wider than the largest double (callers check).
  const b = spread * s;
  if (b > 0) {
    for (let i = 0; i < values.length; i++) out[i] = (values[i] / s - shift) / spread;
    return { values: out, column: { name, a, b } };
  }
  for (let i = 0; i < values.length; i++) out[i] = (values[i] / s - shift) * s;
  return { values: out, column: { name, a, b: 1 } };
}

/**
 * Windows a single series into next-value examples with stride 1:
 * x[i] = values[i .. i+steps-1] (inputSize 1), y[i] = values[i+steps].
 */
export function windowSeries(values: ArrayLike<number>, steps: number): { x: Float64Array; y: Float64Array; count: number } {
  const count = Math.max(0, values.length - steps);
  const x = new Float64Array(count * steps);
  const y = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    for (let t = 0; t < steps; t++) x[i * steps + t] = values[i + t];
    y[i] = values[i + steps];
  }
  return { x, y, count };
}
