// The engine's own tanh and sigmoid (src/engine/activations.ts) and their WebAssembly SIMD
// version (kernels/activations.wat): the same bits from both on ordinary, edge and
// non-finite values, on blocks of any shape (odd widths, strides, offsets, holes left
// alone); accuracy against Math.tanh and 1 / (1 + Math.exp(−x)); and the values at the
// ends of the range.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { jsActivations, sigmoid, tanh, type ActivationKernels } from '../../src/engine/activations';
import { createWasmActivations } from '../../src/engine/kernels/wasmActivations';
import { Rng } from '../../src/engine/rng';

const KINDS = ['tanhRows', 'sigmoidRows'] as const;

const EDGES = [
  0, -0, 5e-324, -5e-324, 1e-300, -1e-300, 1e-8, -1e-8, 0.55, -0.55, 0.5499999999999999, -0.5499999999999999,
  0.34657359027997264, 0.3465735902799727, 20, -20, 20.000000000000004, 36.7, -36.7, 40, -40, 40.00000000000001,
  708, -708, 708.0000000000001, -708.0000000000001, 709, -709, 745, -745, 1e300, -1e300, Infinity, -Infinity, NaN,
];

/** Edge values first, then values of every scale the cells meet. */
function values(n: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  const scales = [1e-6, 0.01, 0.3, 0.6, 1, 3, 10, 30, 800];
  return Float64Array.from({ length: n }, (_, i) => (i < EDGES.length ? EDGES[i] : rng.range(-1, 1) * scales[i % scales.length]));
}

function bitsOf(x: number): bigint {
  const f = new Float64Array([x]);
  return new BigUint64Array(f.buffer)[0];
}

/** Same bits; any NaN matches any NaN (a payload is not a result). */
function assertSameBits(actual: Float64Array, expected: Float64Array, input: Float64Array, what: string): void {
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(a) && Number.isNaN(e)) continue;
    if (bitsOf(a) !== bitsOf(e)) assert.fail(`${what}: at ${i} (x = ${input[i]}) WebAssembly gives ${a}, TypeScript ${e}`);
  }
}

/** Distance in units in the last place (same-sign finite values). */
function ulps(a: number, b: number): number {
  if (a === b) return 0;
  return Math.abs(Number(BigInt.asIntN(64, bitsOf(a)) - BigInt.asIntN(64, bitsOf(b))));
}

function wasm(): ActivationKernels {
  const k = createWasmActivations();
  assert.ok(k, 'WebAssembly SIMD is available in Node 20');
  return k;
}

/** `x` after `act` on a copy of it in w's scratch (the module's memory: where WebAssembly acts). */
function inScratch(w: ActivationKernels, x: Float64Array, act: (a: Float64Array) => void): Float64Array {
  const s = w.scratch(x.length);
  s.set(x);
  act(s);
  return s.slice(0, x.length);
}

describe('activations: tanh and sigmoid', () => {
  it('WebAssembly and TypeScript give the same bits on 200,000 values, edges and non-finite values included', () => {
    const w = wasm();
    const x = values(200_001, 1); // odd: the last value goes through the one-lane path
    for (const kind of KINDS) {
      const ts = Float64Array.from(x);
      jsActivations[kind](ts, 0, 1, x.length, x.length);
      const wa = inScratch(w, x, (a) => w[kind](a, 0, 1, x.length, x.length));
      assertSameBits(wa, ts, x, kind);
    }
  });

  it('acts on exactly the block: offsets, strides, odd widths; values between rows and outside the block are untouched', () => {
    const w = wasm();
    const shapes: [offset: number, rows: number, width: number, stride: number][] = [
      [0, 1, 1, 1], [3, 1, 5, 5], [2, 4, 3, 7], [5, 16, 64, 320], [1, 7, 33, 40], [0, 3, 0, 4], [0, 0, 4, 4], [6, 2, 2, 2],
    ];
    for (const [offset, rows, width, stride] of shapes) {
      const n = offset + Math.max(0, rows - 1) * stride + width + 3;
      const x = values(n, 7 + offset);
      for (const kind of KINDS) {
        const ts = Float64Array.from(x);
        jsActivations[kind](ts, offset, rows, width, stride);
        const wa = inScratch(w, x, (a) => w[kind](a, offset, rows, width, stride));
        const what = `${kind} offset ${offset} rows ${rows} width ${width} stride ${stride}`;
        assertSameBits(wa, ts, x, what);
        for (let i = 0; i < n; i++) {
          const inBlock = i >= offset && rows > 0 && (i - offset) % stride < width && Math.floor((i - offset) / stride) < rows;
          if (!inBlock) assert.ok(Object.is(ts[i], x[i]), `${what}: value ${i} outside the block changed`);
          else if (Number.isFinite(x[i]) && Math.abs(x[i]) > 1e-4) assert.notEqual(ts[i], x[i], `${what}: value ${i} in the block unchanged`);
        }
      }
    }
  });

  it('works in place on its scratch (WebAssembly memory) and falls back to TypeScript, same bits, on other arrays and when the scratch does not fit its memory', () => {
    const w = createWasmActivations({ initialBytes: 65536 })!;
    const x = values(4001, 11);
    const expected = Float64Array.from(x);
    jsActivations.tanhRows(expected, 0, 1, x.length, x.length);
    const s = w.scratch(x.length); // 32 KiB: fits the module's one 64 KiB page
    assert.equal(s.buffer.byteLength, 65536, 'the scratch is the module memory');
    s.set(x);
    w.tanhRows(s, 0, 1, x.length, x.length);
    assertSameBits(s.subarray(0, x.length), expected, x, 'scratch');
    const big = values(20_001, 12); // 160 KiB: more than the memory holds (it is never grown)
    const bigExpected = Float64Array.from(big);
    jsActivations.sigmoidRows(bigExpected, 0, 1, big.length, big.length);
    const copied = Float64Array.from(big);
    w.sigmoidRows(copied, 0, 1, big.length, big.length);
    assertSameBits(copied, bigExpected, big, 'copied, no room');
    const bigScratch = w.scratch(big.length);
    assert.ok(bigScratch.length >= big.length);
    bigScratch.set(big);
    w.sigmoidRows(bigScratch, 0, 1, big.length, big.length);
    assertSameBits(bigScratch.subarray(0, big.length), bigExpected, big, 'scratch, no room');
    assert.equal(s.buffer.byteLength, 65536, 'the memory did not grow');
  });

  it('is within 4 ulp of Math.tanh and 2 ulp of 1 / (1 + Math.exp(−x)) (both are themselves within about 2 ulp of the exact values)', () => {
    const x = values(400_000, 3);
    let worstTanh = 0;
    let worstSigmoid = 0;
    for (const v of x) {
      if (!Number.isFinite(v)) continue;
      worstTanh = Math.max(worstTanh, ulps(tanh(v), Math.tanh(v)));
      // Below −708 the engine's sigmoid is 0 (the exact value is below 3.3e−308; tested below).
      if (v > -708) worstSigmoid = Math.max(worstSigmoid, ulps(sigmoid(v), 1 / (1 + Math.exp(-v))));
    }
    assert.ok(worstTanh <= 4, `tanh: ${worstTanh} ulp from Math.tanh`);
    assert.ok(worstSigmoid <= 2, `sigmoid: ${worstSigmoid} ulp`);
  });

  it('has the right values at the ends of the range and keeps NaN visible', () => {
    assert.ok(Object.is(tanh(0), 0));
    assert.ok(Object.is(tanh(-0), -0));
    assert.equal(tanh(5e-324), 5e-324);
    assert.equal(tanh(1e-300), 1e-300);
    assert.equal(tanh(Infinity), 1);
    assert.equal(tanh(-Infinity), -1);
    assert.equal(tanh(19.5), 1);
    assert.equal(tanh(20), 1);
    assert.ok(tanh(18) < 1);
    assert.ok(Number.isNaN(tanh(NaN)));
    assert.equal(sigmoid(0), 0.5);
    assert.equal(sigmoid(Infinity), 1);
    assert.equal(sigmoid(40), 1);
    assert.equal(sigmoid(-Infinity), 0);
    assert.equal(sigmoid(-709), 0);
    assert.ok(sigmoid(-708) > 0 && sigmoid(-708) < 3.4e-308);
    assert.ok(Number.isNaN(sigmoid(NaN)));
    // Odd and complementary as the exact functions are, to the last bit or two.
    const rng = new Rng(5);
    for (let k = 0; k < 1000; k++) {
      const v = rng.range(-6, 6);
      assert.ok(Object.is(tanh(-v), -tanh(v)));
      assert.ok(Math.abs(sigmoid(v) + sigmoid(-v) - 1) <= 2 * Number.EPSILON);
    }
  });
});
