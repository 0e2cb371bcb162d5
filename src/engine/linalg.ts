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
  /**
   * Optional: G[M×M] = A·Aᵀ for A[M×K] (overwrites G), the same bits as zeroing G and adding
   * gemmABt(M, M, K, A, A, G). A kernel may compute one triangle and mirror it: the matrix is
   * exactly symmetric, as a_i·a_j and a_j·a_i are the same products added in the same order.
   * False: not done (G untouched), and gramMatrix takes that gemmABt route.
   */
  gram?(M: number, K: number, A: Float64Array, G: Float64Array): boolean;
  /** Optional: keep copies of arrays that will not change until unpinConstants (see withConstantOperands). */
  pinConstants?(arrays: readonly Float64Array[]): void;
  unpinConstants?(): void;
}

function gemmABtJs(M: number, N: number, K: number, A: Float64Array, B: Float64Array, C: Float64Array): void {
  // One column (a head with one output): C[M×1] and Cᵀ[1×M] are the same array, and each
  // element's dot product has the same products (a·b = b·a) in the same order, so the roles
  // swap and the loop below runs four rows' dot products side by side instead of one chain.
  if (N === 1 && M >= 4) return gemmABtJs(1, M, K, B, A, C);
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

/**
 * gemmAB with N = 1 (an input gradient for size-1 inputs): C[i] = ((C[i] + A[i][0]b[0]) +
 * A[i][1]b[1]) + ..., the general loop's running sum, four rows side by side: four
 * independent chains of additions, which the CPU overlaps.
 */
function columnAB(M: number, K: number, A: Float64Array, B: Float64Array, C: Float64Array): void {
  let i = 0;
  for (; i + 3 < M; i += 4) {
    const a0 = i * K;
    const a1 = a0 + K;
    const a2 = a1 + K;
    const a3 = a2 + K;
    let c0 = C[i];
    let c1 = C[i + 1];
    let c2 = C[i + 2];
    let c3 = C[i + 3];
    for (let k = 0; k < K; k++) {
      const b = B[k];
      c0 += A[a0 + k] * b;
      c1 += A[a1 + k] * b;
      c2 += A[a2 + k] * b;
      c3 += A[a3 + k] * b;
    }
    C[i] = c0;
    C[i + 1] = c1;
    C[i + 2] = c2;
    C[i + 3] = c3;
  }
  for (; i < M; i++) {
    const ai = i * K;
    let c = C[i];
    for (let k = 0; k < K; k++) c += A[ai + k] * B[k];
    C[i] = c;
  }
}

function gemmABJs(M: number, N: number, K: number, A: Float64Array, B: Float64Array, C: Float64Array): void {
  if (N === 1) return columnAB(M, K, A, B, C);
  // Each element is one running sum in k order, C[i][j] = ((C[i][j] + p_0) + p_1) + ...,
  // as the WebAssembly kernel keeps it in a register. i-k-j order, four k at a time: JS's
  // left-to-right + keeps that order while each C element is loaded and stored once per
  // four products (no parentheses: c + p0 + p1 is (c + p0) + p1).
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
      for (let j = 0; j < N; j++) C[ci + j] = C[ci + j] + a0 * B[b0 + j] + a1 * B[b1 + j] + a2 * B[b2 + j] + a3 * B[b3 + j];
    }
    for (; k < K; k++) {
      const a = A[ai + k];
      const bk = k * N;
      for (let j = 0; j < N; j++) C[ci + j] += a * B[bk + j];
    }
  }
}

function gemmAtBJs(M: number, N: number, K: number, A: Float64Array, B: Float64Array, C: Float64Array): void {
  // The same running sums as gemmABJs, A read down its columns (A(i,k) = A[k·M + i]).
  for (let i = 0; i < M; i++) {
    const ci = i * N;
    let k = 0;
    for (; k + 3 < K; k += 4) {
      const a0 = A[k * M + i];
      const a1 = A[(k + 1) * M + i];
      const a2 = A[(k + 2) * M + i];
      const a3 = A[(k + 3) * M + i];
      const b0 = k * N;
      const b1 = b0 + N;
      const b2 = b1 + N;
      const b3 = b2 + N;
      for (let j = 0; j < N; j++) C[ci + j] = C[ci + j] + a0 * B[b0 + j] + a1 * B[b1 + j] + a2 * B[b2 + j] + a3 * B[b3 + j];
    }
    for (; k < K; k++) {
      const a = A[k * M + i];
      const bk = k * N;
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

let constantDepth = 0;

/**
 * Runs fn with `constants` (typically a model's weight matrices during one pass) declared
 * unchanging: kernels that copy operands (the WebAssembly ones copy into their memory) may
 * copy these once and use the copy in every product of fn instead of copying them per
 * product. The arrays must not be written to before fn returns (results would use the
 * stale copy); identity decides (the same Float64Array object, read from index 0). Nested
 * calls add to the set; the outermost one releases it. Results are bit-identical either way.
 */
export function withConstantOperands<T>(constants: readonly Float64Array[], fn: () => T): T {
  const k = kernels;
  if (constantDepth === 0) k.unpinConstants?.();
  constantDepth++;
  try {
    k.pinConstants?.(constants);
    return fn();
  } finally {
    constantDepth--;
    if (constantDepth === 0) k.unpinConstants?.();
  }
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

/**
 * out[N] += Σ_i A[i][·] over the M rows of A[M×N] (bias gradients), row by row in order:
 * out[j] = ((out[j] + A[0][j]) + A[1][j]) + ... Four rows per sweep keep the running sum in
 * a register instead of loading and storing out[j] for every row (same sums, same bits).
 */
export function addColumnSums(M: number, N: number, A: Float64Array, out: Float64Array): void {
  let i = 0;
  for (; i + 4 <= M; i += 4) {
    const a0 = i * N;
    const a1 = a0 + N;
    const a2 = a1 + N;
    const a3 = a2 + N;
    for (let j = 0; j < N; j++) out[j] = out[j] + A[a0 + j] + A[a1 + j] + A[a2 + j] + A[a3 + j];
  }
  for (; i < M; i++) {
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
  // Four partial sums per row (summed as (s0 + s1) + (s2 + s3) at the end): one running sum
  // waits on each addition's latency; four independent ones let the additions overlap.
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  for (let r = 0; r < rows; r++) {
    const o = off + r * stride;
    const end = o + cols;
    let c = o;
    for (; c + 3 < end; c += 4) {
      const v0 = x[c];
      const v1 = x[c + 1];
      const v2 = x[c + 2];
      const v3 = x[c + 3];
      s0 += v0 * v0;
      s1 += v1 * v1;
      s2 += v2 * v2;
      s3 += v3 * v3;
    }
    for (; c < end; c++) {
      const v = x[c];
      s0 += v * v;
    }
  }
  const ss = s0 + s1 + (s2 + s3);
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

// ---------------------------------------------------------------- per-step weight-gradient norms
//
// The weightGradByStep probe needs, for each step t, ‖P_t‖ where P_t is the part of the layer's
// weight gradient contributed at step t:
//   P_t = (dGi_tᵀ U_t, dGh_tᵀ H_t, Σ_b dGi_t[b], Σ_b dGh_t[b])   (W_ih, W_hh, b_ih, b_hh)
// with dGi_t, dGh_t [B×GH] the step's pre-activation gradients, U_t [B×In] its input and
// H_t [B×H] the previous hidden state. Materialising P_t costs B·GH·(In+H) multiply-adds and
// streams GH·(In+H) values through memory four times per step (fill, product, add, norm). Its
// squared norm follows from B×B Gram matrices instead (trace identity,
// ‖Σ_b a_b u_bᵀ‖² = Σ_{b,b'} (a_b·a_b')(u_b·u_b') and ‖Σ_b a_b‖² = Σ_{b,b'} a_b·a_b'):
//   ‖P_t‖² = Σ_{b,b'} Gi[b,b']·(Gu[b,b'] + 1) + Σ_{b,b'} Gh[b,b']·(Gp[b,b'] + 1)
// with Gi = dGi_t dGi_tᵀ, Gh = dGh_t dGh_tᵀ, Gu = U_t U_tᵀ, Gp = H_t H_tᵀ: B²·(GH+In+H) work,
// nothing of size GH·H touched (at B = 1 it is ‖dg‖²(‖u‖²+1) + ...). The layer's gradient is
// then one product over all steps (gemmAtB with K = T·B) instead of T products with K = B.
//
// Accuracy: the Gram route's rounding error is bounded by about (GH + B²)·ε·R with
// R = (Σ_b ‖dGi_b‖·√(‖u_b‖²+1))² + (Σ_b ‖dGh_b‖·√(‖h_b‖²+1))² ≥ ‖P_t‖². When the samples'
// parts cancel (‖P_t‖² < GRAM_CANCELLATION·R), when R leaves the range where squares neither
// overflow nor underflow, or when anything is not finite, stepWeightGradNorm materialises P_t
// exactly as before (weightGradPartNorm). With GRAM_CANCELLATION = 1e-3 the relative error of a
// norm taken by the Gram route stays below about (GH + B²)·1e-13 (e.g. 4e-10 at GH = 2048,
// B = 16); typical samples give R/‖P_t‖² ≈ B, far from the threshold.

/** Below this ratio ‖P_t‖² / R the Gram route could lose digits: materialise instead. */
const GRAM_CANCELLATION = 1e-3;

/** One step's operands for the weight-gradient part (row-major views of that step's rows). */
export interface StepGradOperands {
  B: number;
  /** Gate rows: G·H. */
  GH: number;
  inSize: number;
  H: number;
  /** dGi_t [B×GH] and dGh_t [B×GH]; the same array when the cell has one pre-activation gradient (RNN, LSTM). */
  dGi: Float64Array;
  dGh: Float64Array;
  /** U_t [B×inSize] and H_t (the hidden state step t read) [B×H]. */
  input: Float64Array;
  hPrev: Float64Array;
}

/** Scratch for stepWeightGradNorm: the four B×B Gram matrices (allocate once per workspace). */
export interface GramScratch {
  gi: Float64Array;
  gh: Float64Array;
  gu: Float64Array;
  gp: Float64Array;
}

export function gramScratch(B: number): GramScratch {
  const n = B * B;
  return { gi: new Float64Array(n), gh: new Float64Array(n), gu: new Float64Array(n), gp: new Float64Array(n) };
}

/**
 * G[B×B] = A·Aᵀ for A[B×P] (overwrites G). Exactly symmetric: both kernels add the same
 * products in the same order. B = 1 is the dot product done here (0 + a₀a₀ + a₁a₁ + ...,
 * the kernels' order), without a trip through the kernel table for one value.
 */
export function gramMatrix(B: number, P: number, A: Float64Array, G: Float64Array): void {
  if (B === 1) {
    let s = 0;
    for (let p = 0; p < P; p++) s += A[p] * A[p];
    G[0] = s;
    return;
  }
  if (kernels.gram?.(B, P, A, G)) return;
  G.fill(0, 0, B * B);
  gemmABt(B, B, P, A, A, G);
}

/**
 * ‖P_t‖ by the Gram route, or -1 when that route is not safe for these values (see above):
 * the caller then materialises (weightGradPartNorm).
 */
export function stepWeightGradNormByGram(s: StepGradOperands, scratch: GramScratch): number {
  const { B, GH, inSize, H } = s;
  const { gi, gu, gp } = scratch;
  const gh = s.dGh === s.dGi ? gi : scratch.gh;
  gramMatrix(B, GH, s.dGi, gi);
  if (gh !== gi) gramMatrix(B, GH, s.dGh, gh);
  gramMatrix(B, inSize, s.input, gu);
  gramMatrix(B, H, s.hPrev, gp);
  let total = 0;
  let boundI = 0;
  let boundH = 0;
  for (let b = 0; b < B; b++) {
    const d = b * B + b;
    boundI += Math.sqrt(gi[d] * (gu[d] + 1));
    boundH += Math.sqrt(gh[d] * (gp[d] + 1));
    // Diagonal once, each off-diagonal pair twice (the matrices are exactly symmetric).
    let row = gi[d] * (gu[d] + 1) + gh[d] * (gp[d] + 1);
    let off = 0;
    for (let c = b + 1; c < B; c++) {
      const e = b * B + c;
      off += gi[e] * (gu[e] + 1) + gh[e] * (gp[e] + 1);
    }
    row += 2 * off;
    total += row;
  }
  const bound = boundI * boundI + boundH * boundH;
  // A zero bound means all-zero gradients (P_t = 0) or squares that underflowed: look.
  if (bound === 0 && allZero(s.dGi, B * GH) && allZero(s.dGh, B * GH)) return 0;
  // Rejects NaN and ±Infinity too (every comparison with NaN is false).
  if (!(bound > SAFE_LOW && bound < SAFE_HIGH) || !(total >= GRAM_CANCELLATION * bound)) return -1;
  return Math.sqrt(total);
}

function allZero(x: Float64Array, n: number): boolean {
  for (let k = 0; k < n; k++) if (x[k] !== 0) return false;
  return true;
}

/** Buffers for the materialised part P_t: W_ih [GH×inSize], W_hh [GH×H], b_ih, b_hh [GH]. */
export interface WeightGradParts {
  wih: Float64Array;
  whh: Float64Array;
  bih: Float64Array;
  bhh: Float64Array;
}

/**
 * ‖P_t‖ with P_t materialised into `parts` (overwritten): what the weightGradByStep probe has
 * always computed, and the fallback of stepWeightGradNorm. Overflow/underflow-safe norms.
 */
export function weightGradPartNorm(s: StepGradOperands, parts: WeightGradParts): number {
  const { B, GH, inSize, H } = s;
  const { wih, whh, bih, bhh } = parts;
  wih.fill(0, 0, GH * inSize);
  whh.fill(0, 0, GH * H);
  bih.fill(0, 0, GH);
  bhh.fill(0, 0, GH);
  gemmAtB(GH, inSize, B, s.dGi, s.input, wih);
  gemmAtB(GH, H, B, s.dGh, s.hPrev, whh);
  addColumnSums(B, GH, s.dGi, bih);
  addColumnSums(B, GH, s.dGh, bhh);
  return Math.hypot(norm2(wih, 0, GH * inSize), norm2(whh, 0, GH * H), norm2(bih, 0, GH), norm2(bhh, 0, GH));
}

/**
 * Whether the Gram route (plus one all-steps product for the gradient) beats materialising
 * each step's part, for a layer: its multiply-adds B²·(GH + In + H) per step against the
 * part's B·GH·(In + H), whose real cost is higher (GH·(In + H) values streamed through memory
 * four times per step). Measured (CPU-time minima, one process): LSTM H = 64, B = 16 (ratio
 * 0.31) 45.6 -> 40.6 ms; RNN H = 128, B = 32 (ratio 0.50) 115.6 vs 118.9 ms, a wash; GRU
 * B = 1 27.8 -> 16.8 ms; LSTM H = 512, B = 16 2341 -> 1361 ms. Hence the 0.4 threshold.
 * Rechecked once the Gram matrices took half the work (GemmKernels.gram), medians of 9 wall
 * ms, materialised / Gram: ratio 0.50 (RNN H = 128, B = 32) 87 / 84-99, 0.75 (B = 48) 60 / 61,
 * a wash; 1.0-2.4 (RNN, LSTM B = 64) the materialised part 5-15 % faster. It stays at 0.4.
 */
export function gramRoutePays(B: number, GH: number, inSize: number, H: number): boolean {
  return B * B * (GH + inSize + H) <= 0.4 * B * GH * (inSize + H);
}

/**
 * ‖P_t‖, the per-step weight-gradient norm without materialising P_t when that is safe (Gram
 * route), else materialised into `parts`. Agrees with weightGradPartNorm to ~1e-10 relative
 * (see the accuracy note above); deterministic for given inputs.
 */
export function stepWeightGradNorm(s: StepGradOperands, scratch: GramScratch, parts: WeightGradParts): number {
  const viaGram = stepWeightGradNormByGram(s, scratch);
  return viaGram >= 0 ? viaGram : weightGradPartNorm(s, parts);
}
