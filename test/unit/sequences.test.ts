import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { InputError } from '../../src/io/errors';
import { parseSequenceBytes, parseSequenceText, readSequenceFile, type SequenceOptions } from '../../src/io/sequences';
import { loadSample } from '../../src/study/samples';
import type { Dataset } from '../../src/study/types';

const raw: SequenceOptions = { normalize: 'none', window: 2 };

/** Asserts an InputError with this file, line and a detail matching `detail`. */
function rejects(run: () => unknown, file: string, line: number | null, detail: RegExp): void {
  try {
    run();
  } catch (e) {
    assert.ok(e instanceof InputError, `expected InputError, got ${String(e)}`);
    assert.equal(e.file, file);
    assert.equal(e.line, line, `line of: ${e.message}`);
    assert.match(e.detail, detail);
    return;
  }
  assert.fail('expected an InputError');
}

function xs(d: Dataset): number[] { return Array.from(d.x); }
function ys(d: Dataset): number[] { return Array.from(d.y); }

test('CSV: header, date column ignored, windowing stride 1, next value as target', () => {
  const d = parseSequenceText('Month,Passengers\n1949-01,1\n1949-02,2\n1949-03,3\n1949-04,4\n', 'air.csv', raw);
  assert.equal(d.inputSize, 1);
  assert.equal(d.count, 2);
  assert.equal(d.mode, 'many-to-one');
  assert.equal(d.loss, 'mse');
  assert.deepEqual(xs(d), [1, 2, 2, 3]);
  assert.deepEqual(ys(d), [3, 4]);
  assert.match(d.task, /"Passengers"/);
  assert.equal(d.source, 'air.csv');
});

test('CSV: delimiters, BOM, CRLF, quotes, blank lines, exponents', () => {
  const variants = [
    'a;b\r\n1;10\r\n2;20\r\n\r\n3;30\r\n',
    '\ufeffa\tb\n1\t10\n2\t2e1\n3\t3e1\n',
    '"a"|"b"\n"1"|"1e1"\n2|+20\n3|30.0\n',
    '1,10\n2,20\n3,30\n',
  ];
  for (const text of variants) {
    const d = parseSequenceText(text, 'v.csv', raw);
    assert.equal(d.inputSize, 2, text);
    assert.deepEqual(xs(d), [1, 10, 2, 20], text);
    assert.deepEqual(ys(d), [30], text);
  }
});

test('CSV: numpy-style # comment lines and a trailing delimiter on every line', () => {
  const text = '# a,b\n# written by numpy.savetxt\n1,10,\n2,20,\n# midway\n3,30,\n';
  const d = parseSequenceText(text, 'np.csv', raw);
  assert.equal(d.inputSize, 2);
  assert.deepEqual(xs(d), [1, 10, 2, 20]);
  assert.deepEqual(ys(d), [30]);
  rejects(() => parseSequenceText('# header\n1,2\n# note\n\n3,x\n', 'np.csv', raw), 'np.csv', 5, /column "column 2": expected a number, found 'x'/);
});

test('CSV: target and feature columns by name or 1-based position', () => {
  const text = 't,a,b,c\nx,1,10,100\ny,2,20,200\nz,3,30,300\n';
  const byName = parseSequenceText(text, 'f.csv', { ...raw, targetColumn: 'a', featureColumns: ['c'] });
  assert.equal(byName.inputSize, 1);
  assert.deepEqual(xs(byName), [100, 200]);
  assert.deepEqual(ys(byName), [3]);
  const byIndex = parseSequenceText(text, 'f.csv', { ...raw, targetColumn: 3 });
  assert.equal(byIndex.inputSize, 3);
  assert.deepEqual(ys(byIndex), [30]);
  rejects(() => parseSequenceText(text, 'f.csv', { ...raw, targetColumn: 'nope' }), 'f.csv', null, /no target column named "nope"; columns: "t", "a"/);
  rejects(() => parseSequenceText(text, 'f.csv', { ...raw, targetColumn: 9 }), 'f.csv', null, /target column 9 does not exist; expected 1 to 4/);
  rejects(() => parseSequenceText(text, 'f.csv', { ...raw, featureColumns: ['t'] }), 'f.csv', 2, /column "t": expected a number, found 'x'/);
});

test('CSV errors name the file line, the column and what was expected', () => {
  rejects(() => parseSequenceText('a,b\n1,2\n\n3,\n', 'e.csv', raw), 'e.csv', 4, /missing values: 1 cell of "b" is empty or marked missing \(NA, n\/a, NaN, null, -\); choose to drop/);
  rejects(() => parseSequenceText('a,b\n1,2\n3,x1\n', 'e.csv', raw), 'e.csv', 3, /column "b": expected a number, found 'x1'/);
  rejects(() => parseSequenceText('a;b\n1;2\n3;4,5\n', 'e.csv', raw), 'e.csv', 3, /decimal comma/);
  rejects(() => parseSequenceText('a,b\r\n1,2\r\n3\r\n', 'e.csv', raw), 'e.csv', 3, /expected 2 comma-separated fields \(as on line 1\), found 1/);
  rejects(() => parseSequenceText('a,b\n"1\n2",3\n4,5\n6,"7\n', 'e.csv', raw), 'e.csv', 5, /quoted field is never closed/);
  rejects(() => parseSequenceText('a,b\n1,1e999\n', 'e.csv', raw), 'e.csv', 2, /out of range/);
  rejects(() => parseSequenceText('', 'e.csv', raw), 'e.csv', null, /no data rows/);
  rejects(() => parseSequenceText('a,b\n', 'e.csv', raw), 'e.csv', null, /only a header row/);
  rejects(() => parseSequenceText('a\n1\n2\n', 'e.csv', { window: 2 }), 'e.csv', null, /2 rows; a window of 2 steps needs at least 3/);
});

test('normalisation: zscore by default with stats that map back; minmax; none', () => {
  const text = 'v\n1\n2\n3\n4\n5\n';
  const z = parseSequenceText(text, 'n.csv', { window: 2 });
  const zn = z.normalization;
  assert.ok(zn.kind === 'zscore');
  assert.equal(zn.columns[0].name, 'v');
  assert.ok(Math.abs(z.y[z.count - 1] * zn.columns[0].b + zn.columns[0].a - 5) < 1e-12);
  const m = parseSequenceText(text, 'n.csv', { window: 2, normalize: 'minmax' });
  assert.deepEqual(ys(m), [0.5, 0.75, 1]);
  assert.deepEqual(m.normalization, { kind: 'minmax', columns: [{ name: 'v', a: 1, b: 4 }] });
  assert.deepEqual(parseSequenceText(text, 'n.csv', raw).normalization, { kind: 'none' });
});

test('JSON: a series, rows of arrays, rows of objects', () => {
  assert.deepEqual(ys(parseSequenceText('[1, 2, 3, -4e-1]', 's.json', raw)), [3, -0.4]);
  const rows = parseSequenceText('[[1, 10], [2, 20], [3, 30]]', 'r.json', raw);
  assert.equal(rows.inputSize, 2);
  assert.deepEqual(ys(rows), [30]);
  const objects = parseSequenceText('[{"m": "a", "v": 1, "w": 5}, {"m": "b", "v": 2, "w": 6}, {"m": "c", "v": 3, "w": 7}]', 'o.json', { ...raw, targetColumn: 'v' });
  assert.equal(objects.inputSize, 2);
  assert.deepEqual(xs(objects), [1, 5, 2, 6]);
  assert.deepEqual(ys(objects), [3]);
});

test('JSON: design §5 examples, many-to-one and many-to-many, used as given', () => {
  const one = parseSequenceText('{"x": [[[1, 2], [3, 4]], [[5, 6], [7, 8]]], "y": [[1], [0]]}', 'e.json');
  assert.equal(one.mode, 'many-to-one');
  assert.deepEqual([one.count, one.steps, one.inputSize, one.outputSize], [2, 2, 2, 1]);
  assert.deepEqual(xs(one), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(one.normalization, { kind: 'none' });
  const many = parseSequenceText('{"x": [[[1], [2], [3]]], "y": [[[0, 1], [1, 0], [0, 1]]]}', 'e.json', { loss: 'xent' });
  assert.equal(many.mode, 'many-to-many');
  assert.equal(many.loss, 'xent');
  assert.deepEqual(ys(many), [0, 1, 1, 0, 0, 1]);
});

test('JSON errors: syntax line, element line with its path, shapes', () => {
  rejects(() => parseSequenceText('[1, 2,\n 3,\n]', 'j.json', raw), 'j.json', 3, /invalid JSON: expected a value/);
  rejects(() => parseSequenceText('{"x": [[[1]]],\n "y": [[1]', 'j.json'), 'j.json', 2, /invalid JSON/);
  rejects(() => parseSequenceText('{"x": [[[1], [2]],\n  [[3], [true]]],\n "y": [[1], [2]]}', 'j.json'), 'j.json', 2, /x\[1\]\[1\]\[0\]: expected a finite number, found boolean true/);
  rejects(() => parseSequenceText('{"x": [[[1], [2]],\n  [[3]]],\n "y": [[1], [2]]}', 'j.json'), 'j.json', 2, /x\[1\]: expected 2 elements/);
  rejects(() => parseSequenceText('{"x": [[[1]]], "y": [[1], [2]]}', 'j.json'), 'j.json', 1, /y has 2 examples but x has 1/);
  rejects(() => parseSequenceText('{"x": [[[1]]]}', 'j.json'), 'j.json', 1, /missing "y"/);
  rejects(() => parseSequenceText('{"a": 1}', 'j.json'), 'j.json', 1, /expected \{"x"/);
  rejects(() => parseSequenceText('[1,\n2,\n"a",\n4]', 'j.json', raw), 'j.json', 3, /column "value": expected a number, found the string 'a'/);
  rejects(() => parseSequenceText('[[1, 2],\n [3]]', 'j.json', raw), 'j.json', 2, /expected 2 values in this row/);
  rejects(() => parseSequenceText('[{"v": 1},\n {"v": 2, "w": 3}]', 'j.json', raw), 'j.json', 2, /unexpected field "w"/);
  rejects(() => parseSequenceText('[]', 'j.json', raw), 'j.json', 1, /empty array/);
});

test('JSON: absurdly deep nesting is a clean InputError (no stack overflow escapes)', () => {
  rejects(() => parseSequenceText('['.repeat(100_000), 'd.json'), 'd.json', null, /invalid JSON/);
  rejects(() => parseSequenceText(`${'['.repeat(100_000)}${']'.repeat(100_000)}`, 'd.json'), 'd.json', null, /expected a number, found an array/);
});

test('text: character-level next-character prediction, one-hot, CRLF as one symbol', () => {
  const d = parseSequenceText('abca\r\nb', 't.txt', { window: 3 });
  assert.equal(d.mode, 'many-to-many');
  assert.equal(d.loss, 'xent');
  assert.equal(d.inputSize, 4); // \n a b c
  assert.equal(d.count, 3); // 6 characters, windows of 3
  const decode = (a: Float64Array, at: number): number => a.subarray(at * 4, at * 4 + 4).indexOf(1);
  const vocab = '\nabc';
  const x0 = [0, 1, 2].map((t) => vocab[decode(d.x, t)]).join('');
  const y0 = [0, 1, 2].map((t) => vocab[decode(d.y, t)]).join('');
  assert.equal(x0, 'abc');
  assert.equal(y0, 'bca');
  rejects(() => parseSequenceText('ab\ncd\u0001', 't.txt'), 't.txt', 2, /control character U\+0001/);
  rejects(() => parseSequenceText('', 't.txt'), 't.txt', null, /empty file/);
  rejects(() => parseSequenceText('abcdef', 't.txt', { maxVocab: 3 }), 't.txt', null, /6 distinct characters; the limit is 3/);
});

test('limits: size, values, window, dataset size; a long series gets a larger stride', () => {
  rejects(() => parseSequenceText('1\n2\n3\n', 'l.csv', { window: 10001 }), 'l.csv', null, /window 10001 is out of range; expected a whole number of steps from 1 to 10000/);
  rejects(() => parseSequenceText('1\n2\n3\n', 'l.csv', { window: 0 }), 'l.csv', null, /window 0/);
  rejects(() => parseSequenceText('1\n2\n3\n4\n', 'l.csv', { maxValues: 3 }), 'l.csv', null, /4 rows x 1 columns = 4 values; the limit is 3/);
  rejects(() => parseSequenceBytes(new Uint8Array(11), 'l.csv', { maxBytes: 10 }), 'l.csv', null, /the limit is/);
  const series = Array.from({ length: 1000 }, (_, i) => String(i)).join('\n');
  const strided = parseSequenceText(series, 'l.csv', { window: 10, normalize: 'none', maxDatasetValues: 1100 });
  assert.ok(strided.count * 11 <= 1100);
  assert.equal(strided.x[10], 10, 'second window starts at the stride');
  assert.match(strided.task, /stride 10/);
  rejects(() => parseSequenceText(series, 'l.csv', { window: 10, stride: 1, maxDatasetValues: 1100 }), 'l.csv', null, /Dataset limit is 1100/);
});

test('bytes: invalid UTF-8 and UTF-16 are refused with a line; unknown extensions too', () => {
  const bad = new Uint8Array([0x31, 0x0a, 0x32, 0x0a, 0xff, 0x33]);
  rejects(() => parseSequenceBytes(bad, 'b.csv'), 'b.csv', 3, /invalid UTF-8/);
  rejects(() => parseSequenceBytes(new Uint8Array([0xff, 0xfe, 0x31, 0]), 'b.csv'), 'b.csv', null, /UTF-16/);
  rejects(() => parseSequenceText('1', 'b.xlsx'), 'b.xlsx', null, /unsupported file type '\.xlsx'/);
  rejects(() => parseSequenceText('1', 'noext'), 'noext', null, /\(no extension\)/);
});

test('readSequenceFile: reads from disk, refuses big files before reading, missing files and folders', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bptt-seq-'));
  try {
    const file = join(dir, 'ok.csv');
    writeFileSync(file, 'v\n1\n2\n3\n');
    const d = await readSequenceFile(file, raw);
    assert.deepEqual(ys(d), [3]);
    await assert.rejects(readSequenceFile(file, { maxBytes: 4 }), (e: unknown) => e instanceof InputError && /file is \d+ bytes; the limit for a \.csv, \.tsv, \.json or \.txt file is 4 bytes/.test(e.message));
    await assert.rejects(readSequenceFile(join(dir, 'missing.csv')), (e: unknown) => e instanceof InputError && /no such file/.test(e.message));
    await assert.rejects(readSequenceFile(join(dir, 'data.xlsx')), (e: unknown) => e instanceof InputError && /unsupported file type/.test(e.message));
    const folder = join(dir, 'folder.csv');
    mkdirSync(folder);
    await assert.rejects(readSequenceFile(folder), (e: unknown) => e instanceof InputError && /not a regular file/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the shared airline CSV reads into the same windows as the built-in airline sample', async (t) => {
  const csv = resolve(__dirname, '../../../shared/data/airline-passengers.csv');
  if (!existsSync(csv)) { t.skip('shared/data not beside the repository'); return; }
  const fromFile = await readSequenceFile(csv);
  const sample = loadSample('airline', { seed: 0 });
  assert.equal(fromFile.count, sample.count);
  assert.deepEqual(fromFile.x, sample.x);
  assert.deepEqual(fromFile.y, sample.y);
  assert.deepEqual(fromFile.normalization, sample.normalization);
});

test('an error message stays one line when the file puts a CR or a newline inside a name (fast-check counterexample; a lone CR counts as a line break, as in VS Code)', () => {
  const text = '"a \rb"\r\n1\r\n2\r\nx\r\n4\r\n';
  try {
    parseSequenceText(text, 'm.csv', raw);
    assert.fail('expected an InputError');
  } catch (e) {
    assert.ok(e instanceof InputError, String(e));
    assert.doesNotMatch(e.message, /[\r\n]/);
    assert.match(e.message, /^m\.csv:5: column "a \\rb": expected a number/);
  }
});
