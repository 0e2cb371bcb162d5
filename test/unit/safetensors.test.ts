import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors, writeSafetensors } from '../../src/io/safetensors';
import { InputError } from '../../src/io/errors';

const FIXTURES = join(__dirname, '..', 'fixtures', 'torch');

function tensors(): Map<string, { shape: number[]; data: Float64Array }> {
  return new Map([
    ['a.weight', { shape: [2, 3], data: Float64Array.from([1, -2.5, 3.25, 1e-300, -0, Math.PI]) }],
    ['a.bias', { shape: [2], data: Float64Array.from([0.1, -7]) }],
    ['scalar', { shape: [], data: Float64Array.from([42]) }],
    ['empty', { shape: [0, 4], data: new Float64Array(0) }],
  ]);
}

/** Build a file from a raw header object and data bytes. */
function rawFile(header: unknown, data: Uint8Array, headerTextOverride?: string): Uint8Array {
  const text = new TextEncoder().encode(headerTextOverride ?? JSON.stringify(header));
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  return out;
}

function rejects(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(
    () => readSafetensors(bytes, 'w.safetensors'),
    (e: unknown) => e instanceof InputError && e.file === 'w.safetensors' && pattern.test(e.detail) && e.message.startsWith('w.safetensors: '),
    `expected InputError matching ${pattern}`,
  );
}

test('F64 round trip is exact, order, shapes and metadata kept', () => {
  const bytes = writeSafetensors(tensors(), { dtype: 'F64', metadata: { format: 'pt' } });
  assert.equal((bytes.length - 8 - Number(new DataView(bytes.buffer).getBigUint64(0, true))) % 8, 0);
  const back = readSafetensors(bytes, 'x');
  assert.deepEqual([...back.tensors.keys()], ['a.weight', 'a.bias', 'scalar', 'empty']);
  for (const [name, t] of tensors()) {
    const r = back.tensors.get(name)!;
    assert.equal(r.dtype, 'F64');
    assert.deepEqual(r.shape, t.shape);
    assert.deepEqual(r.data, t.data);
  }
  assert.deepEqual(back.metadata, { format: 'pt' });
});

test('F32 round trip equals Math.fround of each value', () => {
  const back = readSafetensors(writeSafetensors(tensors(), { dtype: 'F32' }), 'x');
  for (const [name, t] of tensors()) {
    const r = back.tensors.get(name)!;
    assert.equal(r.dtype, 'F32');
    assert.deepEqual(Array.from(r.data), Array.from(t.data, Math.fround));
  }
  assert.equal(back.metadata, null);
});

test('reads the files written by the PyTorch fixture script (F64 and F32)', () => {
  const f64 = readSafetensors(readFileSync(join(FIXTURES, 'lstm_2layer.safetensors')), 'lstm_2layer.safetensors');
  assert.deepEqual(f64.tensors.get('lstm.weight_ih_l0')!.shape, [16, 3]);
  assert.deepEqual(f64.tensors.get('lstm.weight_ih_l1')!.shape, [16, 4]);
  assert.deepEqual(f64.tensors.get('linear.weight')!.shape, [3, 4]);
  assert.equal(f64.metadata!.format, 'pt');
  const f32 = readSafetensors(readFileSync(join(FIXTURES, 'lstm_f32.safetensors')), 'lstm_f32.safetensors');
  const w = f32.tensors.get('rnn.weight_hh_l0')!;
  assert.equal(w.dtype, 'F32');
  assert.ok(w.data.every((v) => Math.fround(v) === v && v !== 0 && Math.abs(v) <= 0.5));
});

test('reads F16 and BF16', () => {
  // 1.0, -2.0, 65504 (max half), 2^-24 (smallest subnormal) in F16; 1.0 and -3.0 in BF16.
  const half = new Uint8Array(new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x0001]).buffer);
  const bf = new Uint8Array(new Uint16Array([0x3f80, 0xc040]).buffer);
  const data = new Uint8Array(12);
  data.set(half, 0);
  data.set(bf, 8);
  const file = rawFile({ h: { dtype: 'F16', shape: [4], data_offsets: [0, 8] }, b: { dtype: 'BF16', shape: [2], data_offsets: [8, 12] } }, data);
  const r = readSafetensors(file, 'x');
  assert.deepEqual(Array.from(r.tensors.get('h')!.data), [1, -2, 65504, 2 ** -24]);
  assert.deepEqual(Array.from(r.tensors.get('b')!.data), [1, -3]);
});

test('rejects every malformed file with an InputError naming the file and the problem', () => {
  const good = writeSafetensors(tensors());
  const eight = new Uint8Array(8);
  const ok = { a: { dtype: 'F64', shape: [2], data_offsets: [0, 16] } };
  rejects(new Uint8Array(3), /shorter than the 8-byte/);
  rejects(good.subarray(0, 40), /runs past the end of the file/);
  rejects(good.subarray(0, good.length - 8), /truncated|cover/);
  const huge = good.slice();
  new DataView(huge.buffer).setBigUint64(0, 2n ** 63n, true);
  rejects(huge, /runs past the end/);
  rejects(rawFile(null, new Uint8Array(16), '{"a": {"dtype": "F64", '), /not valid JSON/);
  rejects(rawFile(null, new Uint8Array(0), '[1, 2, 3]'), /not a JSON object/);
  rejects(rawFile({ a: { dtype: 'I32', shape: [2], data_offsets: [0, 8] } }, eight), /unsupported dtype 'I32'/);
  rejects(rawFile({ a: { shape: [2], data_offsets: [0, 8] } }, eight), /missing dtype/);
  rejects(rawFile({ a: { dtype: 'F64', shape: [2, -1], data_offsets: [0, 8] } }, eight), /shape must be/);
  rejects(rawFile({ a: { dtype: 'F64', shape: [3], data_offsets: [0, 16] } }, new Uint8Array(16)), /needs 24 bytes/);
  rejects(rawFile({ a: { dtype: 'F64', shape: [2], data_offsets: [0, 24] } }, new Uint8Array(16)), /run past/);
  rejects(rawFile({ a: { dtype: 'F64', shape: [1], data_offsets: [8, 0] } }, new Uint8Array(16)), /end before/);
  rejects(rawFile({ a: { dtype: 'F64', shape: [2], data_offsets: [0, 16] }, b: { dtype: 'F64', shape: [1], data_offsets: [8, 16] } }, new Uint8Array(16)), /overlap/);
  rejects(rawFile({ a: { dtype: 'F64', shape: [1], data_offsets: [8, 16] } }, new Uint8Array(16)), /belong to no tensor/);
  rejects(rawFile(ok, new Uint8Array(24)), /trailing bytes/);
  rejects(rawFile({ a: { dtype: 'F64', shape: [2], data_offsets: [0] } }, new Uint8Array(16)), /data_offsets must be/);
  rejects(rawFile({ ...ok, __metadata__: { n: 3 } }, new Uint8Array(16)), /__metadata__/);
  rejects(rawFile({ a: 5 }, new Uint8Array(0)), /not an object/);
  rejects(rawFile({ a: { dtype: 'F64', shape: [2], data_offsets: [0, 16], extra: 1 } }, new Uint8Array(16)), /unexpected header field/);
  // A valid file still parses after all that.
  assert.equal(readSafetensors(rawFile(ok, new Uint8Array(16)), 'x').tensors.size, 1);
});

test('fuzz: truncations and byte mutations of a valid file either parse or throw InputError, never anything else', async () => {
  const fc = (await import('fast-check')).default;
  const good = writeSafetensors(tensors(), { metadata: { format: 'pt' } });
  fc.assert(
    fc.property(fc.nat(good.length), fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), (cut, edits) => {
      const bytes = good.slice(0, cut);
      for (const [at, v] of edits) if (at < bytes.length) bytes[at] = v;
      try {
        const r = readSafetensors(bytes, 'f');
        for (const t of r.tensors.values()) assert.equal(t.data.length, t.shape.reduce((a, b) => a * b, 1));
      } catch (e) {
        if (!(e instanceof InputError)) throw e;
      }
    }),
    { numRuns: 2000, seed: 42 },
  );
});
