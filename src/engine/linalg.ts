// The engine's only matrix kernels, plus overflow/underflow-safe norms.
// All matrices are dense row-major Float64Array (views). Every product accumulates into C
// (C += ...), which is what both forward (bias pre-filled) and backward (gradient sums) need.
// The kernels sit behind a swappable table so a faster implementation (e.g. WebAssembly
// SIMD) can replace them without touching the engine: see setKernels.

export interface GemmKernels {
  /** C[M×N] += A[M×K] · B[N×K]ᵀ */
  gemmABt(M: number, N: number, K: number, A: Float64Array, B: Float64Array, C: Float64Array): void;
  /** C[M×N] += A[M×K] · B[K×N] */
  gemmAB(M: number, N: number, K: number, A: Float64Array, B: Float64Array, C: Float64Array): void;
  /** C[M×N] += A[K×M]ᵀ · B[K×N] */
  gemmAtB(M: number, N: number, K: number, A: Float64Array, B: Float64Array, C: Float64Array): void;
}

function gemmABtJs(M: number, N: number, K: number, A: Float64Array, B: Float64Array, C: Float64Array): void {
  // Dot products of contiguous rows; four rows of B at a time share each load of A.
  for (let i = 0; i < M; i++) {
    const ai = i * K;
    const ci = i * N;
    let j = 0;
    for (; j + 3 < N; j += 4) {
      const b0 = j * K;
      const b1 = b0 + K;
      const b2 = b1 + K;
      const b3 = b2 + K;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let k = 0; k < K; k++) {
        const a = A[ai + k];
        s0 += a * B[b0 + k];
        s1 += a * B[b1 + k];
        s2 += a * B[b2 + k];
        s3 += a * B[b3 + k];
      }
      C[ci + j] += s0;
      C[ci + j + 1] += s1;
      C[ci + j + 2] += s2;
      C[ci + j + 3] += s3;
    }
    for (; j < N; j++) {
      const b0 = j * K;
      let s = 0;
      for (let k = 0; k < K; k++) s += A[ai + k] * B[b0 + k];
      C[ci + j] += s;
    }
  }
}

function gemmABJs(M: number, N: number, K: number, A: Float64Array, B: Float64Array, C: Float64Array): void {
  // i-k-j order, four k at a time: the inner loop streams four rows of B into one row of C,
  // so each C element is loaded and stored once per four products.
  for (let i = 0; i < M; i++) {
    const ai = i * K;
    const ci = i * N;
    let k = 0;
    for (; k + 3 < K; k += 4) {
      const a0 = A[ai + k];
      const a1 = A[ai + k + 1];
      const a2 = A[ai + k + 2];
      const a3 = A[ai + k + 3];
      const b0 = k * N;
      const b1 = b0 + N;
      const b2 = b1 + N;
      const b3 = b2 + N;
      for (let j = 0; j < N; j++) C[ci + j] += a0 * B[b0 + j] + a1 * B[b1 + j] + a2 * B[b2 + j] + a3 * B[b3 + j];
    }
    for (; k < K; k++) {
      const a = A[ai + k];
      const bk = k * N;
      for (let j = 0; j < N; j++) C[ci + j] += a * B[bk + j];
    }
  }
}

function gemmAtBJs(M: number, N: number, K: number, A: Float64Array, B: Float64Array, C: Float64Array): void {
  // Rank-1 updates C += A[k,:]ᵀ B[k,:], four k at a time for the same reason as gemmAB.
  let k = 0;
  for (; k + 3 < K; k += 4) {
    const a0 = k * M;
    const a1 = a0 + M;
    const a2 = a1 + M;
    const a3 = a2 + M;
    const b0 = k * N;
    const b1 = b0 + N;
    const b2 = b1 + N;
    const b3 = b2 + N;
    for (let i = 0; i < M; i++) {
      const x0 = A[a0 + i];
      const x1 = A[a1 + i];
      const x2 = A[a2 + i];
      const x3 = A[a3 + i];
      const ci = i * N;
      for (let j = 0; j < N; j++) C[ci + j] += x0 * B[b0 + j] + x1 * B[b1 + j] + x2 * B[b2 + j] + x3 * B[b3 + j];
    }
  }
  for (; k < K; k++) {
    const ak = k * M;
    const bk = k * N;
    for (let i = 0; i < M; i++) {
      const a = A[ak + i];
      const ci = i * N;
      for (let j = 0; j < N; j++) C[ci + j] += a * B[bk + j];
    }
  }
}

export const jsKernels: GemmKernels = { gemmABt: gemmABtJs, gemmAB: gemmABJs, gemmAtB: gemmAtBJs };

let kernels: GemmKernels = jsKernels;

/** Swaps in another kernel implementation (pass jsKernels to restore the default). */
export function setKernels(k: GemmKernels): void {
  kernels = k;
}

export function gemmABt(M: number, N: number, K: number, A: Float64Array, B: Float64Array, C: Float64Array): void {
  kernels.gemmABt(M, N, K, A, B, C);
}
export function gemmAB(M: number, N: number, K: number, A: Float64Array, B: Float64Array, C: Float64Array): void {
  kernels.gemmAB(M, N, K, A, B, C);
}
export function gemmAtB(M: number, N: number, K: number, A: Float64Array, B: Float64Array, C: Float64Array): void {
  kernels.gemmAtB(M, N, K, A, B, C);
}

/** Fills each of the M rows of C[M×N] with v[N] (bias broadcast before a product adds in). */
export function fillRows(M: number, N: number, v: Float64Array, C: Float64Array): void {
  for (let i = 0; i < M; i++) C.set(v, i * N);
}

/** dst += src, elementwise (dst.length entries). */
export function addInto(dst: Float64Array, src: Float64Array): void {
  for (let k = 0; k < dst.length; k++) dst[k] += src[k];
}

/** out[N] += Σ_i A[i][·] over the M rows of A[M×N] (bias gradients). */
export function addColumnSums(M: number, N: number, A: Float64Array, out: Float64Array): void {
  for (let i = 0; i < M; i++) {
    const ai = i * N;
    for (let j = 0; j < N; j++) out[j] += A[ai + j];
  }
}

// Sums of squares are safe for values in about [1e-140, 1e140]; outside, a second pass
// scales by the largest magnitude (the dnrm2 idea) so that a gradient of 1e-300 still has
// a norm of about 1e-300 instead of 0, and 1e200 does not overflow to Infinity.
const SAFE_LOW = 1e-280;
const SAFE_HIGH = 1e280;

/**
 * Euclidean norm of a block of x: `rows` rows of `cols` values, row r starting at
 * off + r*stride. NaN if any value is NaN, Infinity if any is infinite.
 */
export function blockNorm(x: Float64Array, off: number, rows: number, cols: number, stride: number): number {
  let ss = 0;
  for (let r = 0; r < rows; r++) {
    const o = off + r * stride;
    for (let c = 0; c < cols; c++) {
      const v = x[o + c];
      ss += v * v;
    }
  }
  if (ss > SAFE_LOW && ss < SAFE_HIGH) return Math.sqrt(ss);
  let scale = 0;
  for (let r = 0; r < rows; r++) {
    const o = off + r * stride;
    for (let c = 0; c < cols; c++) {
      const a = Math.abs(x[o + c]);
      if (a !== a) return NaN;
      if (a > scale) scale = a;
    }
  }
  if (scale === 0 || scale === Infinity) return scale;
  let s = 0;
  for (let r = 0; r < rows; r++) {
    const o = off + r * stride;
    for (let c = 0; c < cols; c++) {
      const q = x[o + c] / scale;
      s += q * q;
    }
  }
  return scale * Math.sqrt(s);
}

/** Euclidean norm of x[off .. off+len) (all of x by default). */
export function norm2(x: Float64Array, off = 0, len = x.length - off): number {
  return blockNorm(x, off, 1, len, len);
}

/** Joint norm of several parts (e.g. (h, c), or all parameter tensors): hypot of their norms. */
export function jointNorm(norms: number[]): number {
  if (norms.length === 1) return Math.abs(norms[0]);
  return Math.hypot(...norms);
}
