// User sequence files -> Dataset (the same contract the built-in samples produce).
// .csv/.tsv (papaparse) and JSON rows/series are windowed into next-value examples;
// JSON {"x", "y"} is used as given; .txt becomes character-level next-character prediction.
// Every problem with the file is an InputError naming the file, the line and what was
// expected; nothing else escapes.
import type { LossKind } from '../engine/types';
import { minmax, windowSeries, zscore } from '../study/samples';
import type { Dataset } from '../study/types';
import { parseCsvTable } from './csv';
import { InputError } from './errors';
import { readGuarded } from './guardedRead';
import { parseJsonInput, type JsonExamples } from './jsonSeries';
import { isMissingCell, MISSING_MARKERS, tableCellNumber, type Table } from './table';
import { parseTextSeries } from './textSeries';

export interface SequenceLimits {
  /** File size in bytes (checked with stat before reading). */
  maxBytes: number;
  /** Values in the file: rows x used columns, characters of a text, or elements of x / y. */
  maxValues: number;
  /** Window length / steps per example. */
  maxSteps: number;
  /** Distinct characters of a text file (the one-hot input size). */
  maxVocab: number;
  /** Values in the resulting Dataset (x plus y), which windowing multiplies. */
  maxDatasetValues: number;
}

export const DEFAULT_SEQUENCE_LIMITS: Readonly<SequenceLimits> = Object.freeze({
  maxBytes: 20 * 1024 * 1024,
  maxValues: 1_000_000,
  maxSteps: 10_000,
  maxVocab: 96,
  maxDatasetValues: 10_000_000,
});

export type Normalize = 'zscore' | 'minmax' | 'none';

export interface SequenceOptions {
  /** Column to predict: its header name, or its 1-based position (as in error messages). Default: the last numeric column. */
  targetColumn?: string | number;
  /** Input columns, by name or 1-based position. Default: every column but a non-numeric first one (a date, like airline's "Month"). */
  featureColumns?: (string | number)[];
  /** Steps per example T. Default 12 for series, 32 for text. */
  window?: number;
  /** Offset between consecutive windows. Default 1, or the smallest stride that keeps the Dataset within maxDatasetValues. */
  stride?: number;
  /** Series normalisation per column (default zscore); stats land in Dataset.normalization. Not applied to JSON {"x","y"} examples or text. */
  normalize?: Normalize;
  /** Loss for JSON {"x","y"} examples (default mse). */
  loss?: LossKind;
  /**
   * Missing cells (empty, NA, n/a, NaN, null, -): 'drop' the windows that contain one, or
   * 'interpolate' linearly between the neighbours (the ends take the nearest value). Unset: an
   * InputError that counts them and asks for a choice (isMissingValuesError).
   */
  missing?: MissingPolicy;
  /** CSV: force the delimiter (comma, semicolon, tab or pipe). */
  delimiter?: string;
  /** CSV: force header / no header. */
  header?: boolean;
  maxSteps?: number;
  maxBytes?: number;
  maxValues?: number;
  maxVocab?: number;
  maxDatasetValues?: number;
}

export const SEQUENCE_EXTENSIONS = ['.csv', '.tsv', '.json', '.txt'] as const;

export type MissingPolicy = 'drop' | 'interpolate';

export { isMissingCell, MISSING_MARKERS };

const MISSING_DETAIL = 'missing values: ';

/** The error asking what to do about missing cells (its detail starts with "missing values: "). */
export function isMissingValuesError(e: unknown): e is InputError {
  return e instanceof InputError && e.detail.startsWith(MISSING_DETAIL);
}
type Format = 'csv' | 'tsv' | 'json' | 'txt';

const DEFAULT_SERIES_WINDOW = 12;
const DEFAULT_TEXT_WINDOW = 32;

/** Reads a sequence file from disk. Rejects (InputError) before reading when the file is too big. */
export async function readSequenceFile(path: string, options: SequenceOptions = {}): Promise<Dataset> {
  const limits = limitsOf(options);
  formatOf(path);
  // Regular files only, refused before reading when too big (the cap is in the message).
  const bytes = await readGuarded(path, 'sequence', { maxBytes: limits.maxBytes });
  return parseSequenceBytes(bytes, path, options);
}

/** Decodes UTF-8 (refusing anything else) and parses. `file` names the source in messages. */
export function parseSequenceBytes(bytes: Uint8Array, file: string, options: SequenceOptions = {}): Dataset {
  const limits = limitsOf(options);
  formatOf(file);
  if (bytes.length > limits.maxBytes) throw new InputError(file, null, `file is ${megabytes(bytes.length)}; the limit is ${megabytes(limits.maxBytes)}`);
  // UTF-32 LE's byte order mark begins with UTF-16 LE's: test the longer one first.
  if ((bytes[0] === 0xff && bytes[1] === 0xfe && bytes[2] === 0 && bytes[3] === 0) || (bytes[0] === 0 && bytes[1] === 0 && bytes[2] === 0xfe && bytes[3] === 0xff)) {
    throw new InputError(file, null, 'UTF-32 text; expected UTF-8 (save the file as UTF-8)');
  }
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    throw new InputError(file, null, 'UTF-16 text; expected UTF-8 (save the file as UTF-8)');
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const loose = new TextDecoder('utf-8').decode(bytes);
    const bad = loose.indexOf('\ufffd');
    const line = bad < 0 ? null : lineOfOffset(loose, bad);
    throw new InputError(file, line, 'invalid UTF-8 byte sequence; expected UTF-8 text (is this a binary file?)');
  }
  return parseSequenceText(text, file, options);
}

/** Parses file contents already in memory; the format comes from the extension of `file`. */
export function parseSequenceText(text: string, file: string, options: SequenceOptions = {}): Dataset {
  const limits = limitsOf(options);
  const format = formatOf(file);
  if (text.length > limits.maxBytes) throw new InputError(file, null, `text of ${text.length} characters; the limit is ${megabytes(limits.maxBytes)}`);
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    switch (format) {
      case 'csv':
      case 'tsv': {
        const table = parseCsvTable(body, file, { delimiter: options.delimiter || (format === 'tsv' ? '\t' : undefined), header: options.header });
        return tableToDataset(table, file, options, limits);
      }
      case 'json': {
        const input = parseJsonInput(body, file, limits);
        return input.kind === 'examples' ? examplesToDataset(input, file, options) : tableToDataset(input.table, file, options, limits);
      }
      case 'txt':
        return textToDataset(body, file, options, limits);
    }
  } catch (e) {
    if (e instanceof InputError) throw e;
    // A safety net so that no exception other than InputError reaches the caller; the
    // property tests check that this message never appears.
    throw new InputError(file, null, `could not read this file (internal error: ${e instanceof Error ? e.message : String(e)})`);
  }
}

function limitsOf(options: SequenceOptions): SequenceLimits {
  return {
    maxBytes: options.maxBytes ?? DEFAULT_SEQUENCE_LIMITS.maxBytes,
    maxValues: options.maxValues ?? DEFAULT_SEQUENCE_LIMITS.maxValues,
    maxSteps: options.maxSteps ?? DEFAULT_SEQUENCE_LIMITS.maxSteps,
    maxVocab: options.maxVocab ?? DEFAULT_SEQUENCE_LIMITS.maxVocab,
    maxDatasetValues: options.maxDatasetValues ?? DEFAULT_SEQUENCE_LIMITS.maxDatasetValues,
  };
}

function formatOf(file: string): Format {
  const match = /\.([^./\\]+)$/.exec(file);
  const ext = match ? match[1].toLowerCase() : '';
  if (ext === 'csv' || ext === 'tsv' || ext === 'json' || ext === 'txt') return ext;
  throw new InputError(file, null, `unsupported file type ${ext ? `'.${ext}'` : '(no extension)'}; expected .csv, .tsv, .json or .txt`);
}

function baseName(file: string): string {
  return file.split(/[/\\]/).pop() || file;
}

function megabytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

function lineOfOffset(text: string, offset: number): number {
  const before = text.slice(0, offset);
  return (before.match(/\r\n|\n|\r/g)?.length ?? 0) + 1;
}

function checkWindow(file: string, window: number, limits: SequenceLimits): void {
  if (!Number.isInteger(window) || window < 1 || window > limits.maxSteps) {
    throw new InputError(file, null, `window ${window} is out of range; expected a whole number of steps from 1 to ${limits.maxSteps}`);
  }
}

/**
 * Stride between windows: the one asked for, or 1, or when stride 1 would exceed the Dataset
 * limit, the smallest stride that fits (long files still load, with fewer examples).
 */
function chooseStride(file: string, length: number, window: number, perExample: number, options: SequenceOptions, limits: SequenceLimits): { stride: number; count: number } {
  const starts = length - window; // windows at stride 1
  const maxCount = Math.floor(limits.maxDatasetValues / perExample);
  if (maxCount < 1) {
    throw new InputError(file, null, `one example of ${window} steps holds ${perExample} values; the Dataset limit is ${limits.maxDatasetValues}; use a shorter window`);
  }
  let stride: number;
  if (options.stride !== undefined) {
    stride = options.stride;
    if (!Number.isInteger(stride) || stride < 1) throw new InputError(file, null, `stride ${stride} is out of range; expected a whole number of at least 1`);
  } else {
    stride = Math.floor((starts - 1) / maxCount) + 1;
  }
  const count = Math.floor((starts - 1) / stride) + 1;
  if (count > maxCount) {
    throw new InputError(file, null, `${count} windows of ${window} steps make ${count * perExample} values; the Dataset limit is ${limits.maxDatasetValues}; use a larger stride or a shorter window`);
  }
  return { stride, count };
}

// ---- tables (CSV, JSON rows and series) ----

function resolveColumn(table: Table, file: string, spec: string | number, role: string): number {
  const n = table.columns.length;
  const list = table.columns.map((c) => `"${c}"`).join(', ');
  if (typeof spec === 'number') {
    if (!Number.isInteger(spec) || spec < 1 || spec > n) throw new InputError(file, null, `${role} column ${spec} does not exist; expected 1 to ${n} (columns: ${list})`);
    return spec - 1;
  }
  const exact = table.columns.indexOf(spec);
  if (exact >= 0) return exact;
  const loose = table.columns.findIndex((c) => c.trim().toLowerCase() === spec.trim().toLowerCase());
  if (loose >= 0) return loose;
  if (/^\d+$/.test(spec.trim())) return resolveColumn(table, file, Number(spec.trim()), role);
  throw new InputError(file, null, `no ${role} column named "${spec}"; columns: ${list}`);
}

function tableToDataset(table: Table, file: string, options: SequenceOptions, limits: SequenceLimits): Dataset {
  const width = table.columns.length;
  const n = table.rows.length;
  // A non-numeric first column (dates, labels) is not an input unless asked for.
  const labelFirst = width > 1 && !isMissingCell(table.rows[0][0]) && !tableCellNumber(table, table.rows[0][0]).ok;
  const candidates = [...Array(width).keys()].filter((c) => !(labelFirst && c === 0));
  const features = options.featureColumns?.length
    ? [...new Set(options.featureColumns.map((spec) => resolveColumn(table, file, spec, 'feature')))]
    : candidates;
  const target = options.targetColumn !== undefined
    ? resolveColumn(table, file, options.targetColumn, 'target')
    : features[features.length - 1];
  const used = [...features, ...(features.includes(target) ? [] : [target])];
  if (n * used.length > limits.maxValues) {
    throw new InputError(file, null, `${n} rows x ${used.length} columns = ${n * used.length} values; the limit is ${limits.maxValues}`);
  }

  const window = options.window ?? DEFAULT_SERIES_WINDOW;
  checkWindow(file, window, limits);
  const columns = new Map<number, Float64Array>();
  const gaps = new Map<number, number[]>();
  for (const c of used) {
    const col = readColumn(table, file, c);
    columns.set(c, col.values);
    if (col.missing.length > 0) gaps.set(c, col.missing);
  }
  const missingCount = [...gaps.values()].reduce((sum, rows) => sum + rows.length, 0);
  if (missingCount > 0) {
    if (!options.missing) throw missingValuesError(table, file, gaps, missingCount);
    for (const [c, rows] of gaps) {
      if (rows.length === n) throw new InputError(file, null, `column "${table.columns[c]}" has no value at all (every cell is empty or marked missing)`);
      if (options.missing === 'interpolate') interpolateGaps(columns.get(c) as Float64Array);
    }
  }
  if (n < window + 1) {
    throw new InputError(file, null, `${n} rows; a window of ${window} steps needs at least ${window + 1} (the inputs and the next value)`);
  }

  const method = options.normalize ?? 'zscore';
  const stats: { name: string; a: number; b: number }[] = [];
  if (method !== 'none') {
    for (const c of used) {
      const values = columns.get(c) as Float64Array;
      // Statistics over the values present (NaN marks a gap left for the windows to drop).
      const present = gaps.has(c) && options.missing === 'drop' ? values.filter((v) => !Number.isNaN(v)) : values;
      const result = method === 'zscore' ? zscore(present, table.columns[c]) : minmax(present, table.columns[c]);
      if (!Number.isFinite(result.column.b)) {
        throw new InputError(file, null, `column "${table.columns[c]}" spans more than the largest float64 number; min-max normalisation cannot record it (use zscore)`);
      }
      columns.set(c, present === values ? result.values : values.map((v) => (v - result.column.a) / result.column.b));
      stats.push(result.column);
    }
  }

  const I = features.length;
  let x: Float64Array;
  let y: Float64Array;
  let count: number;
  let stride: number;
  let missingNote = '';
  if (missingCount > 0 && options.missing === 'drop') {
    // Windows (inputs and the next value) that contain no gap.
    const usedValues = used.map((c) => columns.get(c) as Float64Array);
    const bad = new Uint8Array(n);
    for (const v of usedValues) for (let r = 0; r < n; r++) if (Number.isNaN(v[r])) bad[r] = 1;
    const starts: number[] = [];
    let badInWindow = 0;
    for (let r = 0; r <= window; r++) badInWindow += bad[r]!;
    for (let start = 0; start + window < n; start++) {
      if (start > 0) badInWindow += bad[start + window]! - bad[start - 1]!;
      if (badInWindow === 0) starts.push(start);
    }
    const possible = n - window;
    if (starts.length === 0) {
      throw new InputError(file, null, `every window of ${window} steps holds a missing value (${missingCount} missing cells); interpolate them instead, or use a shorter window`);
    }
    ({ stride, count } = chooseStride(file, starts.length + window, window, window * I + 1, options, limits));
    const picked = starts.filter((_, i) => i % stride === 0).slice(0, count);
    count = picked.length;
    ({ x, y } = gather(columns, features, target, picked, window));
    missingNote = `${missingCount} missing value${missingCount === 1 ? '' : 's'}: ${possible - starts.length} of ${possible} windows dropped`;
  } else {
    ({ stride, count } = chooseStride(file, n, window, window * I + 1, options, limits));
    if (I === 1 && stride === 1) {
      ({ x, y } = windowSeries(columns.get(features[0]) as Float64Array, window));
      if (features[0] !== target) y = windowSeries(columns.get(target) as Float64Array, window).y;
    } else {
      ({ x, y } = gather(columns, features, target, Array.from({ length: count }, (_, i) => i * stride), window));
    }
    if (missingCount > 0) missingNote = `${missingCount} missing value${missingCount === 1 ? '' : 's'} interpolated`;
  }

  const name = baseName(file);
  const targetName = table.columns[target];
  const inputs = features.map((c) => `"${table.columns[c]}"`).join(', ');
  const notes = [stride > 1 ? `stride ${stride}` : '', method !== 'none' ? `${method}-normalised` : '', missingNote].filter(Boolean).join(', ');
  return {
    name,
    description: `${name}: ${n} rows; input${I === 1 ? '' : 's'} ${inputs}`,
    task: `predict the next "${targetName}" from the previous ${window} rows${notes ? ` (${notes})` : ''}`,
    mode: 'many-to-one', loss: 'mse',
    inputSize: I, outputSize: 1, steps: window, count,
    x, y, source: file,
    normalization: method === 'none' ? { kind: 'none' } : { kind: method, columns: stats },
  };
}

/** A column's numbers; missing cells become NaN and are listed by row (the caller decides). */
function readColumn(table: Table, file: string, c: number): { values: Float64Array; missing: number[] } {
  const values = new Float64Array(table.rows.length);
  const missing: number[] = [];
  for (let r = 0; r < table.rows.length; r++) {
    const raw = table.rows[r][c];
    if (isMissingCell(raw)) {
      values[r] = NaN;
      missing.push(r);
      continue;
    }
    const cell = tableCellNumber(table, raw);
    if (!cell.ok) {
      throw new InputError(file, table.lineOf(r, c), `column "${table.columns[c]}": expected a number, found ${cell.found}`);
    }
    values[r] = cell.value;
  }
  return { values, missing };
}

function missingValuesError(table: Table, file: string, gaps: Map<number, number[]>, count: number): InputError {
  let first: { row: number; c: number } | null = null;
  for (const [c, rows] of gaps) if (!first || rows[0]! < first.row) first = { row: rows[0]!, c };
  const names = [...gaps.keys()].map((c) => `"${table.columns[c]}"`).join(', ');
  return new InputError(file, table.lineOf(first!.row, first!.c),
    `${MISSING_DETAIL}${count} cell${count === 1 ? '' : 's'} of ${names} ${count === 1 ? 'is' : 'are'} empty or marked missing (NA, n/a, NaN, null, -); ` +
    'choose to drop the windows that contain them or to interpolate them');
}

/** Linear interpolation over NaN runs; a run at either end takes the nearest value. */
export function interpolateGaps(v: Float64Array): void {
  const n = v.length;
  let prev = -1;
  for (let i = 0; i <= n; i++) {
    if (i < n && Number.isNaN(v[i])) continue;
    // Gap (prev, i): fill it.
    if (i - prev > 1) {
      for (let j = prev + 1; j < i; j++) {
        if (prev < 0) v[j] = v[i]!;
        else if (i >= n) v[j] = v[prev]!;
        else v[j] = v[prev]! + ((v[i]! - v[prev]!) * (j - prev)) / (i - prev);
      }
    }
    prev = i;
  }
}

/** Next-value examples starting at `starts`: x = features over the window, y = the target after it. */
function gather(columns: Map<number, Float64Array>, features: number[], target: number, starts: number[], window: number): { x: Float64Array; y: Float64Array } {
  const I = features.length;
  const x = new Float64Array(starts.length * window * I);
  const y = new Float64Array(starts.length);
  const targetValues = columns.get(target) as Float64Array;
  const featureValues = features.map((c) => columns.get(c) as Float64Array);
  starts.forEach((start, i) => {
    for (let t = 0; t < window; t++) {
      for (let f = 0; f < I; f++) x[(i * window + t) * I + f] = featureValues[f][start + t];
    }
    y[i] = targetValues[start + window];
  });
  return { x, y };
}

// ---- JSON examples ----

function examplesToDataset(input: JsonExamples, file: string, options: SequenceOptions): Dataset {
  const name = baseName(file);
  return {
    name,
    description: `${name}: ${input.batchSize} examples of ${input.steps} steps, ${input.inputSize} inputs, ${input.outputSize} outputs`,
    task: input.mode === 'many-to-one' ? 'predict y from the whole sequence x' : 'predict y at every step of x',
    mode: input.mode, loss: options.loss ?? 'mse',
    inputSize: input.inputSize, outputSize: input.outputSize, steps: input.steps, count: input.batchSize,
    x: input.x, y: input.y, source: file, normalization: { kind: 'none' },
  };
}

// ---- text ----

function textToDataset(text: string, file: string, options: SequenceOptions, limits: SequenceLimits): Dataset {
  const { vocabulary, codes } = parseTextSeries(text, file, limits);
  const window = options.window ?? DEFAULT_TEXT_WINDOW;
  checkWindow(file, window, limits);
  if (codes.length < window + 1) {
    throw new InputError(file, null, `${codes.length} characters; a window of ${window} steps needs at least ${window + 1}`);
  }
  const V = vocabulary.length;
  const { stride, count } = chooseStride(file, codes.length, window, 2 * window * V, options, limits);
  const x = new Float64Array(count * window * V);
  const y = new Float64Array(count * window * V);
  for (let i = 0; i < count; i++) {
    const start = i * stride;
    for (let t = 0; t < window; t++) {
      x[(i * window + t) * V + codes[start + t]] = 1;
      y[(i * window + t) * V + codes[start + t + 1]] = 1;
    }
  }
  const name = baseName(file);
  const shown = vocabulary.map((ch) => (ch === '\n' ? '\\n' : ch === '\t' ? '\\t' : ch)).join('');
  return {
    name,
    description: `${name}: ${codes.length} characters, ${V}-symbol vocabulary`,
    task: `predict the next character at every step, ${window}-character windows${stride > 1 ? ` (stride ${stride})` : ''}; vocabulary: ${shown.length > 60 ? `${shown.slice(0, 60)}...` : shown}`,
    mode: 'many-to-many', loss: 'xent',
    inputSize: V, outputSize: V, steps: window, count,
    x, y, source: file, normalization: { kind: 'none' },
  };
}
