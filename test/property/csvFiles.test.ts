import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { InputError } from '../../src/io/errors';
import { parseSequenceBytes, parseSequenceText } from '../../src/io/sequences';
import { expectClean, garbageText, mutated, RUNS, sequenceOptions, writtenNumber, type WrittenNumber } from './sequenceFileArbitraries';

interface CsvCase {
  text: string;
  file: string;
  /** values[row][column] of the numeric columns. */
  values: number[][];
  /** 1-based file line of each data row. */
  lines: number[];
  hasDateColumn: boolean;
}

const csvCase: fc.Arbitrary<CsvCase> = fc.record({
  columns: fc.integer({ min: 1, max: 4 }),
  rows: fc.integer({ min: 2, max: 25 }),
  delimiter: fc.constantFrom(',', ';', '\t', '|'),
  tsvName: fc.boolean(),
  newline: fc.constantFrom('\n', '\r\n', '\r'),
  bom: fc.boolean(),
  header: fc.boolean(),
  dateColumn: fc.boolean(),
  trailingNewline: fc.boolean(),
  seed: fc.array(fc.tuple(writtenNumber(false), fc.integer({ min: 0, max: 9 })), { minLength: 100, maxLength: 100 }),
  names: fc.array(fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_ ]{0,8}$/), { minLength: 4, maxLength: 4 }),
  blankAfter: fc.array(fc.integer({ min: 0, max: 30 }), { maxLength: 3 }),
  commentAfter: fc.array(fc.integer({ min: -1, max: 30 }), { maxLength: 2 }),
}).map((g) => {
  const quote = (s: string, how: number): string => (how === 0 ? `"${s}"` : how === 1 ? ` ${s} ` : s);
  const lines: string[] = [];
  const fileLines: number[] = [];
  const push = (line: string, isData: boolean): void => {
    lines.push(line);
    if (isData) fileLines.push(lines.length);
  };
  if (g.header) {
    const head = g.names.slice(0, g.columns).map((n, i) => quote(n, g.seed[i][1] % 2 === 0 ? 0 : 2));
    push([...(g.dateColumn ? ['"Month"'] : []), ...head].join(g.delimiter), false);
  }
  if (g.commentAfter.includes(-1)) push('# comment, "quoted", with delimiters;|', false);
  const values: number[][] = [];
  let k = 0;
  for (let r = 0; r < g.rows; r++) {
    const row: WrittenNumber[] = [];
    for (let c = 0; c < g.columns; c++) row.push(g.seed[k++ % g.seed.length][0]);
    const cells = row.map((n, c) => quote(n.text, g.seed[(r * 7 + c) % g.seed.length][1] % 5));
    const date = `${1950 + Math.floor(r / 12)}-${String((r % 12) + 1).padStart(2, '0')}`;
    push([...(g.dateColumn ? [date] : []), ...cells].join(g.delimiter), true);
    values.push(row.map((n) => n.value));
    // Blank lines anywhere after the first data row are skipped (and still counted as lines),
    // except in a one-column series, where one between two values is a missing value.
    if (g.blankAfter.includes(r) && r > 0 && (g.columns > 1 || g.dateColumn || r === g.rows - 1)) push('', false);
    if (g.commentAfter.includes(r)) push('# note', false);
  }
  const text = (g.bom ? '\ufeff' : '') + lines.join(g.newline) + (g.trailingNewline ? g.newline : '');
  return { text, file: g.delimiter === '\t' && g.tsvName ? 'data.tsv' : 'data.csv', values, lines: fileLines, hasDateColumn: g.dateColumn };
});

test('valid CSV: every number round-trips through windowing (window 1, no normalisation)', () => {
  fc.assert(fc.property(csvCase, (c) => {
    const d = parseSequenceText(c.text, c.file, { window: 1, normalize: 'none' });
    const width = c.values[0].length;
    assert.equal(d.inputSize, width);
    assert.equal(d.count, c.values.length - 1);
    const expectedX = c.values.slice(0, -1).flat();
    const expectedY = c.values.slice(1).map((row) => row[width - 1]);
    assert.deepEqual(Array.from(d.x), expectedX);
    assert.deepEqual(Array.from(d.y), expectedY);
  }), RUNS);
});

test('valid CSV with one bad cell: InputError naming its file line and column', () => {
  const withBadCell = csvCase.chain((c) => fc.record({
    c: fc.constant(c),
    row: fc.integer({ min: 1, max: c.values.length - 1 }),
    column: fc.integer({ min: 0, max: c.values[0].length - 1 }),
    bad: fc.constantFrom<string>('abc', 'NaN', '1,5', '--1', '1e', '0x10', 'Infinity', ''),
  }));
  fc.assert(fc.property(withBadCell, ({ c, row, column, bad }) => {
    // Rebuild the line with one cell replaced (lines are split on the generator's own line endings).
    const rows = c.text.replace(/^\ufeff/, '').split(/\r\n|\n|\r/);
    const lineIndex = c.lines[row] - 1;
    const delimiter = ['\t', ';', '|', ','].find((d) => rows[lineIndex].includes(d)) ?? ',';
    const cells = rows[lineIndex].split(delimiter);
    const at = column + (c.hasDateColumn ? 1 : 0);
    if (bad === '1,5' && delimiter === ',') bad = 'x1';
    if (bad === '' && cells.length === 1) bad = 'abc'; // an empty line is a blank line, not a missing value
    cells[at] = bad;
    rows[lineIndex] = cells.join(delimiter);
    const text = rows.join('\n');
    assert.throws(() => parseSequenceText(text, c.file, { window: 1, normalize: 'none' }), (e: unknown) => {
      assert.ok(e instanceof InputError, String(e));
      assert.equal(e.line, c.lines[row], e.message);
      // NaN and an empty cell are missing values: the same line, and a question instead of a complaint.
      if (bad === 'NaN' || bad === '') assert.match(e.detail, /^missing values: 1 cell of "[^"]*" is empty or marked missing/);
      else assert.match(e.detail, /^column "[^"]*": expected a number, found /);
      return true;
    });
  }), RUNS);
});

test('garbage CSV text: a Dataset or a clean InputError, never another exception', () => {
  fc.assert(fc.property(garbageText, fc.constantFrom('g.csv', 'g.tsv'), (text, file) => {
    expectClean(() => parseSequenceText(text, file, { window: 1 }), file, text);
  }), RUNS);
});

test('mutated valid CSV (truncated, cut, spliced): a Dataset or a clean InputError', () => {
  fc.assert(fc.property(mutated(csvCase.map((c) => c.text)), fc.integer({ min: 1, max: 3 }), (text, window) => {
    expectClean(() => parseSequenceText(text, 'm.csv', { window }), 'm.csv', text);
  }), RUNS);
});

test('random bytes as a CSV file: a Dataset or a clean InputError', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
    expectClean(() => parseSequenceBytes(bytes, 'b.csv', { window: 1 }), 'b.csv');
  }), RUNS);
});

test('any options (valid or not) on valid or mutated CSV: a Dataset or a clean InputError', () => {
  const text = fc.oneof(csvCase.map((c) => c.text), mutated(csvCase.map((c) => c.text)));
  fc.assert(fc.property(text, sequenceOptions, fc.constantFrom('o.csv', 'o.tsv'), (t, options, file) => {
    expectClean(() => parseSequenceText(t, file, options), file, t);
  }), RUNS);
});
