// JSON sequence files: design §5 examples `{"x": [B][T][I], "y": [B][T][O] | [B][O]}`, a
// plain array of numbers (one series), or an array of rows (arrays of numbers, or objects
// with the same keys). JSON.parse reads the values; on any error jsonc-parser, which keeps
// offsets, finds the line to name.
// The ESM build: the package's UMD main requires its parts dynamically, which bundles break.
import { findNodeAtLocation, parseTree, printParseErrorCode, type ParseError } from 'jsonc-parser/lib/esm/main.js';
import type { Batch } from '../engine/types';
import { InputError } from './errors';
import { abbreviate, cellNumber, LineIndex, type Table } from './table';

/** The design §5 examples object, already in the engine's Batch layout. */
export interface JsonExamples extends Batch {
  kind: 'examples';
}

export type JsonInput = JsonExamples | { kind: 'table'; table: Table };

type PathSegment = string | number;

/** Limits checked while reading, before any large allocation. */
export interface JsonLimits {
  maxValues: number;
  maxSteps: number;
}

const EXPECTED_TOP = 'expected {"x": [batch][steps][inputs], "y": ...}, an array of numbers, or an array of rows';

export function parseJsonInput(text: string, file: string, limits: JsonLimits): JsonInput {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw syntaxError(text, file, e);
  }
  const locate = locator(text);
  const fail = (path: PathSegment[], detail: string): never => {
    throw new InputError(file, locate(path), detail);
  };
  if (Array.isArray(data)) return { kind: 'table', table: tableFromArray(data, locate, fail, limits) };
  if (data !== null && typeof data === 'object' && 'x' in data) return examples(data as Record<string, unknown>, fail, limits);
  return fail([], `${EXPECTED_TOP}; found ${describe(data)}`);
}

function syntaxError(text: string, file: string, cause: unknown): InputError {
  const errors: ParseError[] = [];
  boundedParseTree(text, errors);
  if (errors.length > 0) {
    const first = errors[0];
    const line = new LineIndex(text).lineAt(first.offset);
    const near = text.slice(first.offset, first.offset + 20).split(/\r\n|\n|\r/)[0];
    return new InputError(file, line, `invalid JSON: ${syntaxName(printParseErrorCode(first.error))}${near ? ` near '${abbreviate(near, 20)}'` : ''}`);
  }
  // jsonc-parser accepted what JSON.parse refused (it is more lenient in rare cases).
  const message = cause instanceof Error ? cause.message : String(cause);
  return new InputError(file, null, `invalid JSON: ${abbreviate(message, 80)}`);
}

function syntaxName(code: string): string {
  const names: Record<string, string> = {
    InvalidSymbol: 'unexpected symbol', InvalidNumberFormat: 'malformed number', PropertyNameExpected: 'expected a property name',
    ValueExpected: 'expected a value', ColonExpected: "expected ':'", CommaExpected: "expected ','",
    CloseBraceExpected: "expected '}'", CloseBracketExpected: "expected ']'", EndOfFileExpected: 'expected the end of the file',
    InvalidCommentToken: 'comments are not allowed', UnexpectedEndOfComment: 'comment never closed',
    UnexpectedEndOfString: 'string never closed', UnexpectedEndOfNumber: 'number cut short', InvalidUnicode: 'invalid \\u escape',
    InvalidEscapeCharacter: 'invalid escape character', InvalidCharacter: 'invalid character in a string',
  };
  return names[code] ?? code;
}

/** jsonc-parser's tree, or undefined where its recursion cannot follow (absurdly deep nesting). */
function boundedParseTree(text: string, errors: ParseError[]): ReturnType<typeof parseTree> {
  try {
    return parseTree(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  } catch (e) {
    if (e instanceof RangeError) {
      errors.length = 0;
      return undefined;
    }
    throw e;
  }
}

/** path -> 1-based line of that element; the offset tree is built only when an error needs it. */
function locator(text: string): (path: PathSegment[]) => number | null {
  let lines: LineIndex | null = null;
  let root: ReturnType<typeof parseTree> | null = null;
  return (path) => {
    root ??= boundedParseTree(text, []) ?? undefined;
    lines ??= new LineIndex(text);
    if (!root) return null;
    // The deepest existing node on the path (a missing key points at its object).
    for (let depth = path.length; depth >= 0; depth--) {
      const node = findNodeAtLocation(root, path.slice(0, depth));
      if (node) return lines.lineAt(node.offset);
    }
    return null;
  };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `the string '${abbreviate(value, 20)}'`;
  return `${typeof value} ${String(value)}`;
}

function pathText(path: PathSegment[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('').replace(/^\./, '');
}

function tableFromArray(
  data: unknown[], locate: (p: PathSegment[]) => number | null, fail: (p: PathSegment[], d: string) => never, limits: JsonLimits,
): Table {
  if (data.length === 0) return fail([], 'empty array; expected numbers or rows');
  const first = data[0];
  if (typeof first === 'number' || typeof first === 'string') {
    // A single series; cells are checked where columns are interpreted.
    if (data.length > limits.maxValues) fail([], `${data.length} values; the limit is ${limits.maxValues}`);
    data.forEach((v, i) => { if (Array.isArray(v) || (v !== null && typeof v === 'object')) fail([i], `expected a number like the first element, found ${describe(v)}`); });
    return { columns: ['value'], rows: data.map((v) => [v]), lineOf: (row) => locate([row]), numbersOnly: true };
  }
  if (Array.isArray(first)) {
    const width = first.length;
    if (width === 0) fail([0], 'empty row; expected an array of numbers');
    if (data.length * width > limits.maxValues) fail([], `${data.length} rows x ${width} columns = ${data.length * width} values; the limit is ${limits.maxValues}`);
    data.forEach((row, i) => {
      if (!Array.isArray(row)) fail([i], `expected a row (array of ${width} numbers) like the first, found ${describe(row)}`);
      if (row.length !== width) fail([i], `expected ${width} values in this row (as in the first), found ${row.length}`);
    });
    return {
      columns: first.map((_, i) => `column ${i + 1}`),
      rows: data as unknown[][],
      lineOf: (row, column) => locate(column === undefined ? [row] : [row, column]),
      numbersOnly: true,
    };
  }
  if (first !== null && typeof first === 'object') {
    const keys = Object.keys(first);
    if (keys.length === 0) fail([0], 'empty object; expected an object with numeric fields');
    if (data.length * keys.length > limits.maxValues) fail([], `${data.length} rows x ${keys.length} fields = ${data.length * keys.length} values; the limit is ${limits.maxValues}`);
    const rows = data.map((row, i) => {
      if (row === null || typeof row !== 'object' || Array.isArray(row)) return fail([i], `expected an object like the first, found ${describe(row)}`);
      const record = row as Record<string, unknown>;
      const rowKeys = Object.keys(record);
      for (const key of keys) if (!(key in record)) fail([i], `missing field "${abbreviate(key, 30)}" (the first row has it)`);
      if (rowKeys.length !== keys.length) {
        const extra = rowKeys.find((k) => !keys.includes(k)) ?? '';
        fail([i, extra], `unexpected field "${abbreviate(extra, 30)}" (not in the first row)`);
      }
      return keys.map((k) => record[k]);
    });
    return { columns: keys, rows, lineOf: (row, column) => locate(column === undefined ? [row] : [row, keys[column]]), numbersOnly: true };
  }
  return fail([0], `expected a number, an array of numbers or an object; found ${describe(first)}`);
}

function examples(data: Record<string, unknown>, fail: (p: PathSegment[], d: string) => never, limits: JsonLimits): JsonExamples {
  const extra = Object.keys(data).find((k) => k !== 'x' && k !== 'y');
  if (extra !== undefined) fail([extra], `unexpected field "${abbreviate(extra, 30)}"; expected only "x" and "y"`);
  if (!('y' in data)) fail([], 'missing "y"; expected "y": [batch][steps][outputs] or [batch][outputs]');
  const x = data.x;
  const y = data.y;
  const xShape = shapeOf(x, 3, ['x'], fail);
  const [B, T, I] = xShape;
  if (T > limits.maxSteps) fail(['x', 0], `sequences of ${T} steps; the limit is ${limits.maxSteps}`);
  if (B * T * I > limits.maxValues) fail(['x'], `x holds ${B * T * I} values; the limit is ${limits.maxValues}`);
  const yDepth = depthOf(y);
  if (yDepth !== 2 && yDepth !== 3) fail(['y'], `expected y as [batch][steps][outputs] (many-to-many) or [batch][outputs] (many-to-one), found ${describe(y)} nested ${yDepth} deep`);
  const yShape = shapeOf(y, yDepth, ['y'], fail);
  if (yShape[0] !== B) fail(['y'], `y has ${yShape[0]} examples but x has ${B}; expected the same batch size`);
  if (yDepth === 3 && yShape[1] !== T) fail(['y', 0], `y has ${yShape[1]} steps per example but x has ${T}; expected the same`);
  const O = yShape[yShape.length - 1];
  if (B * (yDepth === 3 ? T : 1) * O > limits.maxValues) fail(['y'], `y holds too many values; the limit is ${limits.maxValues}`);
  return {
    kind: 'examples', batchSize: B, steps: T, inputSize: I, outputSize: O,
    mode: yDepth === 3 ? 'many-to-many' : 'many-to-one',
    x: flatten(x, xShape, ['x'], fail), y: flatten(y, yShape, ['y'], fail),
  };
}

/** Nesting depth along first elements (0 for a non-array). */
function depthOf(value: unknown): number {
  let depth = 0;
  let v = value;
  while (Array.isArray(v)) { depth++; if (v.length === 0) break; v = v[0]; }
  return depth;
}

/** Shape along first elements; every level must be a non-empty array. */
function shapeOf(value: unknown, depth: number, path: PathSegment[], fail: (p: PathSegment[], d: string) => never): number[] {
  const names = depth === 3 ? ['examples', 'steps', 'values per step'] : ['examples', 'values per example'];
  const shape: number[] = [];
  let v = value;
  const at = [...path];
  for (let level = 0; level < depth; level++) {
    if (!Array.isArray(v)) return fail(at, `${pathText(at)}: expected an array of ${names[level]}, found ${describe(v)}`);
    if (v.length === 0) return fail(at, `${pathText(at)}: empty array; expected at least one of ${names[level]}`);
    shape.push(v.length);
    v = v[0];
    at.push(0);
  }
  return shape;
}

/** Row-major copy that checks every element is an array of the expected length or a finite number. */
function flatten(value: unknown, shape: number[], path: PathSegment[], fail: (p: PathSegment[], d: string) => never): Float64Array {
  const out = new Float64Array(shape.reduce((a, b) => a * b, 1));
  let k = 0;
  const index: number[] = []; // indices below `path`, turned into a path only for a message
  const here = (): PathSegment[] => [...path, ...index];
  const walk = (v: unknown, level: number): void => {
    if (level === shape.length) {
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        const n = cellNumber(v);
        fail(here(), `${pathText(here())}: expected a finite number, found ${typeof v === 'string' ? `the string '${abbreviate(v, 20)}'` : n.ok ? String(v) : n.found}`);
      }
      out[k++] = v as number;
      return;
    }
    if (!Array.isArray(v)) return fail(here(), `${pathText(here())}: expected an array of ${shape[level]}, found ${describe(v)}`);
    if (v.length !== shape[level]) return fail(here(), `${pathText(here())}: expected ${shape[level]} elements (as in the first), found ${v.length}`);
    index.push(0);
    for (let i = 0; i < v.length; i++) {
      index[index.length - 1] = i;
      walk(v[i], level + 1);
    }
    index.pop();
  };
  walk(value, 0);
  return out;
}
