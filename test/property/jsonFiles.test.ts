import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { InputError } from '../../src/io/errors';
import { parseSequenceBytes, parseSequenceText } from '../../src/io/sequences';
import { expectClean, garbageText, mutated, RUNS, sequenceOptions, writtenNumber, type WrittenNumber } from './sequenceFileArbitraries';

const layout = fc.record({ indent: fc.integer({ min: 0, max: 4 }), crlf: fc.boolean(), bom: fc.boolean() });
type Layout = { indent: number; crlf: boolean; bom: boolean };

/** A JSON value whose numbers are written as given (the texts are valid JSON numbers). */
type Doc = WrittenNumber | Doc[] | { [key: string]: Doc };

function render(doc: Doc, l: Layout, depth = 0): string {
  const nl = l.indent === 0 ? '' : l.crlf ? '\r\n' : '\n';
  const pad = (d: number): string => ' '.repeat(l.indent * d);
  if (Array.isArray(doc)) {
    if (doc.length === 0) return '[]';
    return `[${nl}${doc.map((d) => pad(depth + 1) + render(d, l, depth + 1)).join(`,${nl}`)}${nl}${pad(depth)}]`;
  }
  if ('text' in doc && typeof doc.text === 'string') return doc.text;
  const entries = Object.entries(doc as Record<string, Doc>);
  return `{${nl}${entries.map(([k, v]) => `${pad(depth + 1)}${JSON.stringify(k)}: ${render(v, l, depth + 1)}`).join(`,${nl}`)}${nl}${pad(depth)}}`;
}

function file(doc: Doc, l: Layout): string {
  return (l.bom ? '\ufeff' : '') + render(doc, l);
}

const num = writtenNumber(true);
const value = (n: WrittenNumber): number => n.value;

test('valid JSON series: values round-trip (window 1, no normalisation)', () => {
  fc.assert(fc.property(fc.array(num, { minLength: 2, maxLength: 40 }), layout, (series, l) => {
    const d = parseSequenceText(file(series, l), 's.json', { window: 1, normalize: 'none' });
    assert.deepEqual(Array.from(d.x), series.slice(0, -1).map(value));
    assert.deepEqual(Array.from(d.y), series.slice(1).map(value));
  }), RUNS);
});

test('valid JSON rows (arrays or objects): values round-trip, last column is the target', () => {
  const rowsCase = fc.integer({ min: 1, max: 4 }).chain((width) => fc.record({
    rows: fc.array(fc.array(num, { minLength: width, maxLength: width }), { minLength: 2, maxLength: 20 }),
    keys: fc.uniqueArray(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 6 }), { minLength: width, maxLength: width }),
    objects: fc.boolean(),
    l: layout,
  }));
  fc.assert(fc.property(rowsCase, ({ rows, keys, objects, l }) => {
    // Keys that look like array indices are ordered first by JS objects: keep ours non-numeric.
    const names = keys.map((k) => `k${k}`);
    const doc: Doc = objects ? rows.map((r) => Object.fromEntries(r.map((n, i) => [names[i], n]))) : rows;
    const d = parseSequenceText(file(doc, l), 'r.json', { window: 1, normalize: 'none' });
    const width = rows[0].length;
    assert.equal(d.inputSize, width);
    assert.deepEqual(Array.from(d.x), rows.slice(0, -1).flat().map(value));
    assert.deepEqual(Array.from(d.y), rows.slice(1).map((r) => r[width - 1].value));
  }), RUNS);
});

test('valid design §5 examples: x and y round-trip with their shapes and mode', () => {
  const dims = fc.record({ B: fc.integer({ min: 1, max: 4 }), T: fc.integer({ min: 1, max: 5 }), I: fc.integer({ min: 1, max: 3 }), O: fc.integer({ min: 1, max: 3 }), many: fc.boolean() });
  const examples = dims.chain((s) => fc.record({
    s: fc.constant(s),
    x: fc.array(fc.array(fc.array(num, { minLength: s.I, maxLength: s.I }), { minLength: s.T, maxLength: s.T }), { minLength: s.B, maxLength: s.B }),
    y: s.many
      ? fc.array(fc.array(fc.array(num, { minLength: s.O, maxLength: s.O }), { minLength: s.T, maxLength: s.T }), { minLength: s.B, maxLength: s.B })
      : fc.array(fc.array(num, { minLength: s.O, maxLength: s.O }), { minLength: s.B, maxLength: s.B }),
    l: layout,
  }));
  fc.assert(fc.property(examples, ({ s, x, y, l }) => {
    const d = parseSequenceText(file({ x, y } as Doc, l), 'e.json');
    assert.deepEqual([d.count, d.steps, d.inputSize, d.outputSize], [s.B, s.T, s.I, s.O]);
    assert.equal(d.mode, s.many ? 'many-to-many' : 'many-to-one');
    assert.deepEqual(Array.from(d.x), x.flat(2).map(value));
    assert.deepEqual(Array.from(d.y), (y as WrittenNumber[][]).flat(2).map(value));
  }), RUNS);
});

test('a series with one bad element: InputError on that element\'s line', () => {
  const badCase = fc.record({
    series: fc.array(num, { minLength: 3, maxLength: 30 }),
    at: fc.nat(),
    bad: fc.constantFrom('"x"', 'null', 'true', '{}', '[1]', '"1"'),
    l: layout,
  });
  fc.assert(fc.property(badCase, ({ series, at, bad, l }) => {
    // The first element decides the kind of file (series, rows of arrays, rows of objects).
    const i = bad === '[1]' || bad === '{}' ? 1 + (at % (series.length - 1)) : at % series.length;
    const doc = series.map((n, k) => (k === i ? { text: bad, value: NaN } : n));
    assert.throws(() => parseSequenceText(file(doc, l), 'b.json', { window: 1 }), (e: unknown) => {
      assert.ok(e instanceof InputError, String(e));
      assert.equal(e.line, l.indent === 0 ? 1 : i + 2, e.message);
      return true;
    });
  }), RUNS);
});

test('garbage JSON text: a Dataset or a clean InputError, never another exception', () => {
  fc.assert(fc.property(garbageText, (text) => {
    expectClean(() => parseSequenceText(text, 'g.json', { window: 1 }), 'g.json', text);
  }), RUNS);
});

test('random JSON values (wrong shapes and types): a Dataset or a clean InputError', () => {
  const shapes = fc.oneof(
    fc.jsonValue(),
    fc.record({ x: fc.jsonValue(), y: fc.jsonValue() }),
    fc.array(fc.oneof(fc.double(), fc.integer(), fc.constant(null), fc.string()), { maxLength: 20 }),
    fc.array(fc.array(fc.oneof(fc.integer(), fc.double({ noNaN: true })), { maxLength: 3 }), { maxLength: 20 }),
  );
  fc.assert(fc.property(shapes, fc.integer({ min: 1, max: 3 }), (v, window) => {
    const text = JSON.stringify(v, null, 1) ?? 'undefined';
    expectClean(() => parseSequenceText(text, 'v.json', { window }), 'v.json', text);
  }), RUNS);
});

test('mutated valid JSON (truncated, cut, spliced): a Dataset or a clean InputError', () => {
  const valid = fc.tuple(fc.array(fc.array(num, { minLength: 2, maxLength: 2 }), { minLength: 2, maxLength: 10 }), layout).map(([rows, l]) => file(rows, l));
  fc.assert(fc.property(mutated(valid), (text) => {
    expectClean(() => parseSequenceText(text, 'm.json', { window: 1 }), 'm.json', text);
  }), RUNS);
});

test('random bytes as a JSON file: a Dataset or a clean InputError', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
    expectClean(() => parseSequenceBytes(bytes, 'b.json', { window: 1 }), 'b.json');
  }), RUNS);
});

test('any options (valid or not) on JSON rows and series: a Dataset or a clean InputError', () => {
  const doc = fc.oneof(
    fc.array(num, { minLength: 1, maxLength: 20 }),
    fc.array(fc.array(num, { minLength: 2, maxLength: 2 }), { minLength: 1, maxLength: 12 }),
    fc.array(fc.record({ value: num, w: num }), { minLength: 1, maxLength: 12 }),
  );
  fc.assert(fc.property(doc, layout, sequenceOptions, (d, l, options) => {
    const text = file(d as Doc, l);
    expectClean(() => parseSequenceText(text, 'o.json', options), 'o.json', text);
  }), RUNS);
});
