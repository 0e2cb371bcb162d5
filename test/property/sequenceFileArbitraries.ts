// Shared generators and checks for the sequence-file property tests (not a test file itself).
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { InputError } from '../../src/io/errors';
import type { SequenceOptions } from '../../src/io/sequences';
import type { Dataset } from '../../src/study/types';

/** A finite double written the way some tool might write it; `value` is what the text means. */
export interface WrittenNumber { text: string; value: number }

export function writtenNumber(json: boolean): fc.Arbitrary<WrittenNumber> {
  const value = fc.oneof(
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }),
    fc.integer({ min: -1_000_000, max: 1_000_000 }),
  );
  return fc.tuple(value, fc.integer({ min: 0, max: 5 }), fc.integer({ min: 1, max: 17 }), fc.boolean()).map(([v, style, digits, flourish]) => {
    let text: string;
    switch (style) {
      case 0: text = String(v); break;
      case 1: text = v.toExponential(); break;
      case 2: text = v.toExponential(digits - 1); break;
      case 3: text = v.toPrecision(digits); break;
      case 4: text = v.toFixed(Math.min(digits, 12)); break;
      default: text = v.toExponential(digits - 1).toUpperCase(); break;
    }
    // CSV also accepts what JSON refuses: a leading '+' or a bare leading '.'.
    if (!json && flourish) {
      if (/^\d/.test(text)) text = `+${text}`;
      else if (text.startsWith('0.')) text = text.slice(1);
    }
    return { text, value: Number(text) };
  }).filter((n) => Number.isFinite(n.value)); // rounding the largest doubles can reach Infinity
}

/** Clean outcome: a self-consistent Dataset, or an InputError for this file with a sane line. */
export function expectClean(run: () => Dataset, file: string, text?: string): void {
  let d: Dataset;
  try {
    d = run();
  } catch (e) {
    if (!(e instanceof InputError)) throw new Error(`expected InputError, got ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    assert.equal(e.file, file);
    assert.ok(!e.message.includes('internal error'), e.message);
    assert.ok(!e.message.includes('\n') && !e.message.includes('\r'), `one line: ${JSON.stringify(e.message)}`);
    if (e.line !== null) {
      assert.ok(Number.isInteger(e.line) && e.line >= 1, `line ${e.line}`);
      if (text !== undefined) assert.ok(e.line <= text.split(/\r\n|\n|\r/).length, `line ${e.line} within the file`);
    }
    return;
  }
  checkDataset(d);
}

export function checkDataset(d: Dataset): void {
  assert.ok(d.count >= 1 && d.steps >= 1 && d.inputSize >= 1 && d.outputSize >= 1);
  assert.equal(d.x.length, d.count * d.steps * d.inputSize);
  assert.equal(d.y.length, d.count * (d.mode === 'many-to-one' ? 1 : d.steps) * d.outputSize);
  assert.ok(d.x.every(Number.isFinite), 'x finite');
  assert.ok(d.y.every(Number.isFinite), 'y finite');
}

/** Random edits of a valid file: truncation, deletion, insertion, duplication of a slice. */
export function mutated(valid: fc.Arbitrary<string>): fc.Arbitrary<string> {
  const edit = fc.tuple(fc.integer({ min: 0, max: 3 }), fc.nat(), fc.nat(), fc.string({ unit: 'binary-ascii', maxLength: 6 }));
  return fc.tuple(valid, fc.array(edit, { minLength: 1, maxLength: 4 })).map(([text, edits]) => {
    let s = text;
    for (const [kind, a, b, insert] of edits) {
      const i = s.length === 0 ? 0 : a % s.length;
      const j = Math.min(s.length, i + (b % 8));
      if (kind === 0) s = s.slice(0, i);
      else if (kind === 1) s = s.slice(0, i) + s.slice(j);
      else if (kind === 2) s = s.slice(0, i) + insert + s.slice(i);
      else s = s.slice(0, j) + s.slice(i, j) + s.slice(j);
    }
    return s;
  });
}

export const garbageText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.string({ unit: 'binary-ascii', maxLength: 300 }),
  fc.string({ unit: fc.constantFrom(',', ';', '\t', '|', '"', '\n', '\r', '1', '.', 'e', '-', ' ', '[', ']', '{', '}', ':', 'x'), maxLength: 300 }),
);

export const RUNS = { numRuns: 150 };

/** Options as a caller might pass them, valid or not: bad ones must be InputErrors too. */
export const sequenceOptions: fc.Arbitrary<SequenceOptions> = fc.record({
  window: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.constantFrom(0, -1, 1.5, Number.NaN, 20_000)),
  stride: fc.oneof(fc.integer({ min: 1, max: 3 }), fc.constantFrom(0, -2, 0.5)),
  normalize: fc.constantFrom<SequenceOptions['normalize']>('zscore', 'minmax', 'none'),
  targetColumn: fc.oneof(fc.integer({ min: -1, max: 5 }), fc.string({ maxLength: 6 }), fc.constantFrom('column 1', 'value', '2')),
  featureColumns: fc.array(fc.oneof(fc.integer({ min: 0, max: 5 }), fc.string({ maxLength: 4 })), { maxLength: 3 }),
  header: fc.boolean(),
  delimiter: fc.constantFrom(',', ';', '\t', '|', 'x', ''),
  loss: fc.constantFrom<SequenceOptions['loss']>('mse', 'xent'),
}, { requiredKeys: [] });
