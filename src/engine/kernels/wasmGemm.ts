// A faster implementation of linalg.ts's GemmKernels: WebAssembly SIMD (f64x2) with 4 x 4
// register tiles (gemm.wat). It is bit-identical to the TypeScript kernels — each output
// element gets the same products added in the same order — so switching kernels never
// changes a result: runs in a worker, in the CLI or in a test agree exactly whichever
// path each one uses.
//
// Operands are copied into the module's memory with M and N padded to multiples of 4 (zero
// rows and columns whose results are dropped), the product runs there, and C is copied
// back. Products too small to repay the copies, and any the module's memory cannot grow to
// hold (wasm32 stops at 4 GiB), go to the TypeScript kernels.
//
//   import { enableWasmKernels } from './kernels/wasmGemm';
//   enableWasmKernels();   // true when WebAssembly SIMD is available; otherwise nothing changes
//
// Pure ECMAScript (WebAssembly and atob are globals in Node and browsers): no Node APIs.

import { jsKernels, setKernels, type GemmKernels } from '../linalg';
import { GEMM_WASM_BASE64 } from './gemmWasm';

interface GemmExports {
  memory: WebAssembly.Memory;
  gemm_acc(M: number, N: number, K: number, a: number, ars: number, aks: number, b: number, ldb: number, c: number, ldc: number): void;
  gemm_dot(M: number, N: number, K: number, at: number, b: number, c: number): void;
  gemv_acc(N: number, K: number, a: number, aks: number, b: number, ldb: number, c: number): void;
  gemv_dot(N: number, K: number, a: number, aks: number, bt: number, ldb: number, c: number): void;
  transpose(src: number, R: number, C: number, dst: number, ldd: number): void;
}

/** Below this many multiply-adds (M·N·K) the copies cost more than the SIMD saves. */
const DEFAULT_MIN_WORK = 2048;

/**
 * Whether a product goes to WebAssembly: enough work to repay the copies, and M, N of at
 * least 4, since padding a single row (batch size 1) to a 4-row tile would quadruple the work.
 */
function worthIt(M: number, N: number, K: number, minWork: number): boolean {
  return M * N * K >= minWork && M >= 4 && N >= 4;
}

/**
 * Batch sizes 1-3 (M < 4) in gemmAB / gemmAtB go to the one-row kernel when B is resident
 * (withConstantOperands: only the short vectors are copied) or when B is large enough that
 * the SIMD product repays copying it.
 */
const GEMV_MIN_WORK_RESIDENT = 256;
const GEMV_MIN_WORK_COPIED = 16384;

const PAGE_BYTES = 65536;

/** gemm_acc's cache blocks: k (a multiple of 4: whole groups of four products) and rows of A. */
const ACC_KC = 256;
const ACC_MC = 128;

function decodeBase64(b64: string): Uint8Array<ArrayBuffer> {
  const bin = atob(b64);
  const out = new Uint8Array(new ArrayBuffer(bin.length));
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

const up4 = (n: number): number => (n + 3) & ~3;
/** Element offsets rounded up to an even count keep every operand 16-byte aligned. */
const even = (n: number): number => (n + 1) & ~1;

function instantiate(): GemmExports | null {
  if (typeof WebAssembly !== 'object' || typeof atob !== 'function') return null;
  try {
    const module = new WebAssembly.Module(decodeBase64(GEMM_WASM_BASE64));
    return new WebAssembly.Instance(module, {}).exports as unknown as GemmExports;
  } catch {
    return null; // no SIMD support (old runtime): keep the TypeScript kernels
  }
}

/**
 * WebAssembly SIMD kernels, or null where WebAssembly SIMD is unavailable. `everything`
 * sends every product to WebAssembly, however small (for tests); products with M < 4 then
 * take the one-row kernel (gemv_acc) for gemmAB / gemmAtB.
 */
export function createWasmKernels(options: { minWork?: number; everything?: boolean } = {}): GemmKernels | null {
  const wasm = instantiate();
  if (!wasm) return null;
  const minWork = options.minWork ?? DEFAULT_MIN_WORK;
  const useWasm = options.everything ? () => true : (M: number, N: number, K: number) => worthIt(M, N, K, minWork);
  let mem = new Float64Array(wasm.memory.buffer);
  /**
   * Operands declared constant (linalg.ts's withConstantOperands): copied once to the start of
   * the module's memory, then used in place instead of copied in by every product. The
   * scratch for each product's copies starts at `base`, after them.
   */
  const resident = new Map<Float64Array, number>();
  /** Transposed resident copies (K × N), made on first use as gemmABt's B at batch sizes 1-3. */
  const residentT = new Map<Float64Array, number>();
  let base = 0;

  /**
   * Make room for `elements` doubles (growing memory detaches the old view). False when the
   * memory cannot grow that far (wasm32 stops at 4 GiB, or the allocation fails): the caller
   * then uses the TypeScript kernel, which gives the same bits, instead of failing the run.
   */
  const reserve = (elements: number): boolean => {
    const bytes = elements * 8;
    const have = wasm.memory.buffer.byteLength;
    if (bytes > have) {
      try {
        wasm.memory.grow(Math.ceil((bytes - have) / PAGE_BYTES));
      } catch {
        return false;
      }
    }
    if (mem.buffer !== wasm.memory.buffer) mem = new Float64Array(wasm.memory.buffer);
    return true;
  };

  /** Copy src (rows × cols, row-major) to mem at `off` with rows `ld` apart, zero-padded to `rowsPadded` × `ld`. */
  const place = (src: Float64Array, rows: number, cols: number, off: number, rowsPadded: number, ld: number): void => {
    if (ld === cols) {
      mem.set(src.length === rows * cols ? src : src.subarray(0, rows * cols), off);
      if (rowsPadded > rows) mem.fill(0, off + rows * cols, off + rowsPadded * ld);
      return;
    }
    mem.fill(0, off, off + rowsPadded * ld);
    for (let r = 0; r < rows; r++) mem.set(src.subarray(r * cols, r * cols + cols), off + r * ld);
  };

  /**
   * The resident copy of `src` when it can serve as a rows × cols operand with no padding
   * (rows a multiple of 4 where the product pads rows, cols a multiple of 4 where it pads
   * columns), else -1 and the caller copies as usual.
   */
  const residentAt = (src: Float64Array, rows: number, cols: number, rowsPadded: number, ld: number): number => {
    if (resident.size === 0 || rowsPadded !== rows || ld !== cols || src.length < rows * cols) return -1;
    return resident.get(src) ?? -1;
  };

  /** Copy the top-left rows × cols of the padded matrix at `off` back into dst. */
  const copyOut = (dst: Float64Array, rows: number, cols: number, off: number, ld: number): void => {
    if (ld === cols) {
      dst.set(mem.subarray(off, off + rows * cols));
      return;
    }
    for (let r = 0; r < rows; r++) dst.set(mem.subarray(off + r * ld, off + r * ld + cols), r * cols);
  };

  /**
   * C[M×N] += A · B[K×N] with A(i,k) = A[i·K + k] (gemmAB) or, `aTransposed`, A[k·M + i]
   * (gemmAtB): one module function, told A's row and k strides, called on cache blocks:
   * k in blocks of KC (a multiple of 4, in increasing order, so every element's sum is
   * unchanged) and rows in blocks of MC, so the block of A (≤ 256 KiB) stays in L2 while the
   * module walks the column tiles, each reading a strip of B that stays in L1 for all the row
   * tiles. (Padding the leading dimensions off powers of two, against cache-set aliasing,
   * cost more in row-by-row copies than it saved at these sizes.)
   */
  const accumulate = (M: number, N: number, K: number, A: Float64Array, B: Float64Array, C: Float64Array, aTransposed: boolean): boolean => {
    const Mp = up4(M);
    const Np = up4(N);
    const lda = aTransposed ? Mp : K;
    const ldb = Np;
    const residentB = residentAt(B, K, N, K, ldb);
    const offA = base;
    const offB = residentB >= 0 ? residentB : even(offA + (aTransposed ? K : Mp) * lda);
    const offC = even(residentB >= 0 ? offA + (aTransposed ? K : Mp) * lda : offB + K * ldb);
    if (!reserve(offC + Mp * ldb)) return false;
    if (aTransposed) place(A, K, M, offA, K, lda);
    else place(A, M, K, offA, Mp, lda);
    if (residentB < 0) place(B, K, N, offB, K, ldb);
    place(C, M, N, offC, Mp, ldb);
    const rowStride = aTransposed ? 1 : lda;
    const kStride = aTransposed ? lda : 1;
    for (let k0 = 0; k0 < K; k0 += ACC_KC) {
      const kc = Math.min(ACC_KC, K - k0);
      for (let i0 = 0; i0 < Mp; i0 += ACC_MC) {
        const mc = Math.min(ACC_MC, Mp - i0);
        const a = offA + i0 * rowStride + k0 * kStride;
        wasm.gemm_acc(mc, Np, kc, a * 8, rowStride, kStride, (offB + k0 * ldb) * 8, ldb, (offC + i0 * ldb) * 8, ldb);
      }
    }
    copyOut(C, M, N, offC, ldb);
    return true;
  };

  /**
   * gemmAB / gemmAtB for M = 1..3, one row at a time (gemv_acc: the same running sums as
   * gemm_acc, without padding a single row to a four-row tile). False when not worth it
   * (N < 4, or too little work for the copies) or no room: the caller uses TypeScript.
   */
  const gemvRows = (M: number, N: number, K: number, A: Float64Array, B: Float64Array, C: Float64Array, aTransposed: boolean): boolean => {
    const Np = up4(N);
    const residentB = residentAt(B, K, N, K, Np);
    if (!options.everything && (N < 4 || N * K < (residentB >= 0 ? GEMV_MIN_WORK_RESIDENT : GEMV_MIN_WORK_COPIED))) return false;
    const offA = base;
    const offB = residentB >= 0 ? residentB : even(offA + M * K);
    const offC = even(residentB >= 0 ? offA + M * K : offB + K * Np);
    if (!reserve(offC + M * Np)) return false;
    mem.set(A.length === M * K ? A : A.subarray(0, M * K), offA);
    if (residentB < 0) place(B, K, N, offB, K, Np);
    place(C, M, N, offC, M, Np);
    for (let i = 0; i < M; i++) {
      const a = aTransposed ? offA + i : offA + i * K;
      wasm.gemv_acc(Np, K, a * 8, aTransposed ? M : 1, offB * 8, Np, (offC + i * Np) * 8);
    }
    copyOut(C, M, N, offC, Np);
    return true;
  };

  /**
   * gemmAtB with N = 1 (a weight gradient with input size 1: C[M] += A[K×M]ᵀ b[K]) is the
   * one-row kernel with the roles swapped: b is the row whose values are splatted, A the
   * matrix whose rows hold M lanes. Same running sums, C[i] + A[0][i]b[0] + A[1][i]b[1] + ...
   */
  const gemvColumn = (M: number, K: number, A: Float64Array, B: Float64Array, C: Float64Array): boolean => {
    if (!options.everything && (M < 4 || M * K < GEMV_MIN_WORK_COPIED)) return false;
    const Mp = up4(M);
    const offB = base;
    const offA = even(offB + K);
    const offC = even(offA + K * Mp);
    if (!reserve(offC + Mp)) return false;
    mem.set(B.length === K ? B : B.subarray(0, K), offB);
    place(A, K, M, offA, K, Mp);
    place(C, 1, M, offC, 1, Mp);
    wasm.gemv_acc(Mp, K, offB * 8, 1, offA * 8, Mp, offC * 8);
    copyOut(C, 1, M, offC, Mp);
    return true;
  };

  /**
   * gemmABt for M = 1..3 when B is resident (a weight matrix during a pass): lanes hold
   * columns of C, so B is used transposed; the transposed copy is made once per scope and kept
   * beside the resident one. Without residency transposing per product would cost as much as
   * the product: false, and the caller uses TypeScript.
   */
  const gemvDotRows = (M: number, N: number, K: number, A: Float64Array, B: Float64Array, C: Float64Array): boolean => {
    const src = residentAt(B, N, K, N, K);
    if (src < 0 || N % 4 !== 0 || N * K < GEMV_MIN_WORK_RESIDENT) return false;
    let bt = residentT.get(B);
    if (bt === undefined) {
      const off = even(base);
      if (!reserve(off + K * N)) return false;
      wasm.transpose(src * 8, N, K, off * 8, N);
      residentT.set(B, off);
      bt = off;
      base = off + K * N;
    }
    const offA = base;
    const offC = even(offA + M * K);
    if (!reserve(offC + M * N)) return false;
    mem.set(A.length === M * K ? A : A.subarray(0, M * K), offA);
    mem.set(C.length === M * N ? C : C.subarray(0, M * N), offC);
    for (let i = 0; i < M; i++) wasm.gemv_dot(N, K, (offA + i * K) * 8, 1, bt * 8, N, (offC + i * N) * 8);
    copyOut(C, M, N, offC, N);
    return true;
  };

  /** gemmAB / gemmAtB in WebAssembly if worth it; false: the caller uses TypeScript (same bits). */
  const product = (M: number, N: number, K: number, A: Float64Array, B: Float64Array, C: Float64Array, aTransposed: boolean): boolean =>
    (M < 4 && gemvRows(M, N, K, A, B, C, aTransposed)) ||
    (N === 1 && aTransposed && gemvColumn(M, K, A, B, C)) ||
    (useWasm(M, N, K) && accumulate(M, N, K, A, B, C, aTransposed));

  return {
    // C[M×N] += A[M×K] · B[N×K]ᵀ: A is transposed in the module (lanes hold two rows of A),
    // B is used as given; per-element dot products.
    gemmABt(M, N, K, A, B, C) {
      if (M < 4 && gemvDotRows(M, N, K, A, B, C)) return;
      if (!useWasm(M, N, K)) return jsKernels.gemmABt(M, N, K, A, B, C);
      const Mp = up4(M);
      const Np = up4(N);
      const residentB = residentAt(B, N, K, Np, K);
      const offA = base;
      const offAt = even(offA + M * K);
      const offB = residentB >= 0 ? residentB : even(offAt + K * Mp);
      const offC = even(residentB >= 0 ? offAt + K * Mp : offB + Np * K);
      if (!reserve(offC + Mp * Np)) return jsKernels.gemmABt(M, N, K, A, B, C);
      mem.set(A.length === M * K ? A : A.subarray(0, M * K), offA);
      if (Mp > M) mem.fill(0, offAt, offAt + K * Mp);
      wasm.transpose(offA * 8, M, K, offAt * 8, Mp);
      if (residentB < 0) place(B, N, K, offB, Np, K);
      place(C, M, N, offC, Mp, Np);
      wasm.gemm_dot(Mp, Np, K, offAt * 8, offB * 8, offC * 8);
      copyOut(C, M, N, offC, Np);
    },
    // C[M×N] += A[M×K] · B[K×N]
    gemmAB(M, N, K, A, B, C) {
      if (!product(M, N, K, A, B, C, false)) jsKernels.gemmAB(M, N, K, A, B, C);
    },
    // C[M×N] += A[K×M]ᵀ · B[K×N]
    gemmAtB(M, N, K, A, B, C) {
      if (!product(M, N, K, A, B, C, true)) jsKernels.gemmAtB(M, N, K, A, B, C);
    },
    pinConstants(arrays) {
      for (const a of arrays) {
        if (resident.has(a)) continue;
        const off = even(base);
        if (!reserve(off + a.length)) return; // no room: the rest are copied per product as before
        mem.set(a, off);
        resident.set(a, off);
        base = off + a.length;
      }
    },
    unpinConstants() {
      resident.clear();
      residentT.clear();
      base = 0;
    },
  };
}

let installed: GemmKernels | null = null;

/**
 * Route the engine's matrix products through the WebAssembly kernels. Returns false (and
 * leaves the TypeScript kernels in place) where WebAssembly SIMD is unavailable. Safe to
 * call more than once; results are bit-identical either way.
 */
export function enableWasmKernels(): boolean {
  installed ??= createWasmKernels();
  if (!installed) return false;
  setKernels(installed);
  return true;
}

/** Back to the TypeScript kernels. */
export function disableWasmKernels(): void {
  setKernels(jsKernels);
}
