import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addColumnSums, blockNorm, gemmAB, gemmABt, gemmAtB, jointNorm, norm2 } from '../../src/engine/linalg';
import { Rng } from '../../src/engine/rng';

function rand(n: number, rng: Rng): Float64Array {
  return Float64Array.from({ length: n }, () => rng.range(-1, 1));
}

/** The three products on one set of operands (A[M×K], Bt[N×K], Bn[K×N], At[K×M]) from the same C0. */
function runProducts(M: number, N: number, K: number, operand: (n: number) => Float64Array, c: (n: number) => Float64Array) {
  const ops = { A: operand(M * K), Bt: operand(N * K), Bn: operand(K * N), At: operand(K * M), C0: c(M * N) };
  const c1 = Float64Array.from(ops.C0);
  const c2 = Float64Array.from(ops.C0);
  const c3 = Float64Array.from(ops.C0);
  gemmABt(M, N, K, ops.A, ops.Bt, c1);
  gemmAB(M, N, K, ops.A, ops.Bn, c2);
  gemmAtB(M, N, K, ops.At, ops.Bn, c3);
  return { ...ops, c1, c2, c3 };
}

/** Element (i, j) by the definitions, in k order: the dot product of gemmABt and the running sums of gemmAB / gemmAtB from C0. */
function byDefinition(r: ReturnType<typeof runProducts>, M: number, N: number, K: number, i: number, j: number) {
  let dot = 0;
  let ab = r.C0[i * N + j];
  let atb = r.C0[i * N + j];
  for (let k = 0; k < K; k++) {
    dot += r.A[i * K + k] * r.Bt[j * K + k];
    ab += r.A[i * K + k] * r.Bn[k * N + j];
    atb += r.At[k * M + i] * r.Bn[k * N + j];
  }
  return { dot, ab, atb };
}

test('gemm kernels accumulate the right products (sizes not multiples of 4)', () => {
  const rng = new Rng(3);
  const operand = (n: number): Float64Array => rand(n, rng);
  for (const [M, N, K] of [
    [1, 1, 1],
    [3, 5, 7],
    [4, 8, 2],
    [6, 9, 5],
  ]) {
    const r = runProducts(M, N, K, operand, operand);
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        const d = byDefinition(r, M, N, K, i, j);
        assert.ok(Math.abs(r.c1[i * N + j] - (r.C0[i * N + j] + d.dot)) < 1e-14);
        assert.ok(Math.abs(r.c2[i * N + j] - d.ab) < 1e-14);
        assert.ok(Math.abs(r.c3[i * N + j] - d.atb) < 1e-14);
      }
    }
  }
});

test('the TypeScript kernels add, bit for bit, the products in k order (the narrow paths included)', () => {
  // gemmABt: C += (0 + a0b0 + a1b1 + ...); gemmAB / gemmAtB: C = ((C + a0b0) + a1b1) + ...
  // The shapes reach the one-column paths (a head's output, an input gradient) with row
  // counts that are and are not multiples of four; -0, ±Infinity and NaN included.
  const rng = new Rng(41);
  const specials = [0, -0, Infinity, -Infinity, NaN, 5e-324];
  const values = (n: number): Float64Array =>
    Float64Array.from({ length: n }, () => (rng.uniform() < 0.1 ? specials[rng.int(specials.length)] : rng.range(-2, 2)));
  // Operands are views at an offset into longer buffers, as the engine passes them.
  const view = (n: number): Float64Array => values(n + 5).subarray(2, 2 + n);
  for (const [M, N, K] of [[1, 1, 5], [7, 1, 9], [8, 1, 64], [13, 2, 11], [9, 3, 4], [6, 1, 1], [5, 4, 1], [4, 6, 3], [6, 1, 0], [5, 2, 0]]) {
    for (let trial = 0; trial < 20; trial++) {
      const r = runProducts(M, N, K, view, values);
      for (let i = 0; i < M; i++) {
        for (let j = 0; j < N; j++) {
          const d = byDefinition(r, M, N, K, i, j);
          const where = `${M}x${N}x${K} element (${i}, ${j})`;
          assert.ok(Object.is(r.c1[i * N + j], r.C0[i * N + j] + d.dot), `gemmABt ${where}`);
          assert.ok(Object.is(r.c2[i * N + j], d.ab), `gemmAB ${where}`);
          assert.ok(Object.is(r.c3[i * N + j], d.atb), `gemmAtB ${where}`);
        }
      }
    }
  }
});

test('norms are scaled: tiny and huge values keep their magnitude; NaN and Inf show', () => {
  const near = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-15 * b;
  assert.ok(near(norm2(Float64Array.from([3e-300, 4e-300])), 5e-300));
  assert.ok(Math.abs(norm2(Float64Array.from([3e-320, 4e-320])) - 5e-320) <= 1e-323); // subnormal
  assert.ok(near(norm2(Float64Array.from([3e200, 4e200])), 5e200));
  assert.equal(norm2(Float64Array.from([3, 4])), 5);
  assert.equal(norm2(new Float64Array(3)), 0);
  assert.ok(Number.isNaN(norm2(Float64Array.from([1, NaN, 2]))));
  assert.equal(norm2(Float64Array.from([1, -Infinity])), Infinity);
  // A 2×2 block out of a 3-wide row-major matrix.
  assert.equal(blockNorm(Float64Array.from([9, 3, 0, 9, 0, 4]), 1, 2, 2, 3), 5);
  assert.ok(near(jointNorm([3e-300, 4e-300]), 5e-300));
});

test('addColumnSums adds the rows in order, as one running sum per column (same bits as row by row), onto what out holds', () => {
  const rng = new Rng(17);
  for (const [M, N] of [[0, 3], [1, 5], [3, 4], [4, 7], [9, 6], [2048, 13]]) {
    const A = Float64Array.from({ length: M * N }, () => rng.range(-1, 1) * 10 ** rng.int(8));
    const start = Float64Array.from({ length: N }, (_, j) => (j % 3 === 0 ? 0 : rng.range(-5, 5)));
    const expected = Float64Array.from(start);
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) expected[j] += A[i * N + j];
    const out = Float64Array.from(start);
    addColumnSums(M, N, A, out);
    for (let j = 0; j < N; j++) assert.ok(Object.is(out[j], expected[j]), `M ${M} N ${N} column ${j}: ${out[j]} vs ${expected[j]}`);
  }
});
