import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseSequenceBytes, parseSequenceText } from '../../src/io/sequences';
import type { Dataset } from '../../src/study/types';
import { expectClean, garbageText, mutated, RUNS } from './sequenceFileArbitraries';

const printable = fc.string({
  unit: fc.oneof(fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }), fc.constantFrom('\n', '\r\n', '\t', 'é', 'ß', '€', '🙂')),
  minLength: 2,
  maxLength: 300,
});

/** The characters one example's inputs spell, via the one-hot positions. */
function decode(d: Dataset, data: Float64Array, example: number, vocabulary: string[]): string {
  let s = '';
  for (let t = 0; t < d.steps; t++) {
    const at = (example * d.steps + t) * d.inputSize;
    const hot = data.subarray(at, at + d.inputSize);
    assert.equal(hot.reduce((a, b) => a + b, 0), 1, 'one-hot');
    s += vocabulary[hot.indexOf(1)];
  }
  return s;
}

test('valid text: windows spell the text and targets are the next characters', () => {
  fc.assert(fc.property(printable, fc.integer({ min: 1, max: 12 }), fc.boolean(), (raw, window, bom) => {
    const text = raw.replace(/\r\n?/g, '\n');
    const chars = Array.from(text);
    fc.pre(chars.length > window);
    const d = parseSequenceText((bom ? '\ufeff' : '') + raw, 't.txt', { window });
    const vocabulary = [...new Set(chars)].sort((a, b) => (a.codePointAt(0) as number) - (b.codePointAt(0) as number));
    assert.equal(d.inputSize, vocabulary.length);
    assert.equal(d.outputSize, vocabulary.length);
    assert.equal(d.count, chars.length - window);
    for (const i of [0, d.count - 1]) {
      assert.equal(decode(d, d.x, i, vocabulary), chars.slice(i, i + window).join(''));
      assert.equal(decode(d, d.y, i, vocabulary), chars.slice(i + 1, i + window + 1).join(''));
    }
  }), RUNS);
});

test('garbage text: a Dataset or a clean InputError, never another exception', () => {
  fc.assert(fc.property(garbageText, fc.integer({ min: 1, max: 8 }), (text, window) => {
    expectClean(() => parseSequenceText(text, 'g.txt', { window }), 'g.txt', text);
  }), RUNS);
});

test('mutated text and random bytes: a Dataset or a clean InputError', () => {
  fc.assert(fc.property(mutated(printable), (text) => {
    expectClean(() => parseSequenceText(text, 'm.txt', { window: 2 }), 'm.txt', text);
  }), RUNS);
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
    expectClean(() => parseSequenceBytes(bytes, 'b.txt', { window: 2 }), 'b.txt');
  }), RUNS);
});
