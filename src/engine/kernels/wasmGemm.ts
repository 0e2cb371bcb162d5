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
import { growTo, instantiateBase64, reservedMemory } from './wasmModule';
import { disableWasmActivations, enableWasmActivations } from './wasmActivations';

interface GemmExports {
  gemm_acc(M: number, N: number, K: number, kt: number, a: number, b: number, c: number, ldc: number): void;
  gemm_dot(M: number, N: number, K: number, a: number, b: number, c: number, upper: number): void;
  pack_rows4(src: number, R: number, C: number, ld: number, dst: number): void;
  pack_cols4(src: number, R: number, C: number, ld: number, dst: number): void;
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

/** The module memory reserved up front (see reservedMemory): an H = 512 LSTM pass fits. */
const INITIAL_BYTES = 256 * 2 ** 20;

/** gemm_acc's cache blocks: k (a multiple of 4: whole groups of four products) and rows of A. */
const ACC_KC = 256;
const ACC_MC = 128;

const up4 = (n: number): number => (n + 3) & ~3;
/** Element offsets rounded up to an even count keep every operand 16-byte aligned. */
const even = (n: number): number => (n + 1) & ~1;

/**
 * WebAssembly SIMD kernels, or null where WebAssembly SIMD is unavailable. `everything`
 * sends every product to WebAssembly, however small (for tests); products with M < 4 then
 * take the one-row kernel (gemv_acc) for gemmAB / gemmAtB.
 */
export function createWasmKernels(options: { minWork?: number; everything?: boolean; initialBytes?: number } = {}): GemmKernels | null {
  const memory = reservedMemory(options.initialBytes ?? INITIAL_BYTES);
  const wasm = memory && instantiateBase64<GemmExports>(GEMM_WASM_BASE64, memory);
  if (!memory || !wasm) return null;
  const minWork = options.minWork ?? DEFAULT_MIN_WORK;
  const useWasm = options.everything ? () => true : (M: number, N: number, K: number) => worthIt(M, N, K, minWork);
  let mem = new Float64Array(memory.buffer);
  /**
   * Operands declared constant (linalg.ts's withConstantOperands): copied once to the start of
   * the module's memory, then used in place instead of copied in by every product. The
   * scratch for each product's copies starts at `base`, after them.
   */
  const resident = new Map<Float64Array, number>();
  /** Transposed resident copies (K × N), made on first use as gemmABt's B at batch sizes 1-3. */
  const residentT = new Map<Float64Array, number>();
  /**
   * Packed resident copies (gemm.wat's panels), made on first use as the B operand of the
   * tiled kernels: the row panel for gemmABt, the column panel for gemmAB / gemmAtB. Keyed by
   * the array; the shape it was packed for is kept so a different use packs per product.
   */
  const residentRows = new Map<Float64Array, { off: number; rows: number; cols: number }>();
  const residentCols = new Map<Float64Array, { off: number; rows: number; cols: number }>();
  let base = 0;

  /**
   * Make room for `elements` doubles. False when the memory cannot grow that far: the caller
   * then uses the TypeScript kernel, which gives the same bits, instead of failing the run.
   */
  const reserve = (elements: number): boolean => {
    if (!growTo(memory, elements * 8)) return false;
    if (mem.buffer !== memory.buffer) mem = new Float64Array(memory.buffer);
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
   * Pack X (rows × cols, row-major, the first rows·cols values of src) as a row panel
   * (`byRows`) or a column panel into mem at `off`, padded to whole groups of four:
   * the raw copy goes to `scratch` first (one memcpy), the module packs it from there.
   */
  const pack = (src: Float64Array, rows: number, cols: number, byRows: boolean, off: number, scratch: number): void => {
    mem.set(src.length === rows * cols ? src : src.subarray(0, rows * cols), scratch);
    packFrom(scratch, rows, cols, byRows, off);
  };
  /** The same, from a row-major copy already in mem at `from`. */
  const packFrom = (from: number, rows: number, cols: number, byRows: boolean, off: number): void => {
    // The padding lanes only reach C's discarded rows/columns; zeroing the last group (a
    // contiguous tail of the panel) keeps stale scratch, possibly subnormal, out of the SIMD lanes.
    if (byRows && rows % 4 !== 0) mem.fill(0, off + (rows & ~3) * cols, off + up4(rows) * cols);
    if (!byRows && cols % 4 !== 0) mem.fill(0, off + (cols & ~3) * rows, off + rows * up4(cols));
    if (byRows) wasm.pack_rows4(from * 8, rows, cols, cols, off * 8);
    else wasm.pack_cols4(from * 8, rows, cols, cols, off * 8);
  };

  /**
   * The packed resident copy of a constant operand (made on first use, kept for the scope),
   * or -1 when `src` is not declared constant or there is no room: the caller packs it per
   * product.
   */
  const residentPanel = (src: Float64Array, rows: number, cols: number, byRows: boolean): number => {
    const from = resident.size === 0 ? undefined : resident.get(src);
    if (from === undefined || src.length < rows * cols) return -1;
    const cache = byRows ? residentRows : residentCols;
    const have = cache.get(src);
    if (have) return have.rows === rows && have.cols === cols ? have.off : -1;
    const off = even(base);
    const length = byRows ? up4(rows) * cols : rows * up4(cols);
    if (!reserve(off + length)) return -1;
    // From the resident copy made when the scope began, like every other use of it.
    packFrom(from, rows, cols, byRows, off);
    cache.set(src, { off, rows, cols });
    base = off + length;
    return off;
  };

  /**
   * C[M×N] += A · B[K×N] with A = A[M×K] (gemmAB) or, `aTransposed`, A[K×M]ᵀ (gemmAtB).
   * A goes into a row panel (Mp × K: from A[M×K] by rows, from A[K×M] by columns, the same
   * layout) and B into a column panel (K × Np), then gemm_acc runs on cache blocks: k in
   * blocks of KC (in increasing order, so every element's sum is unchanged) and rows in
   * blocks of MC, so the block of A (≤ 256 KiB) stays in L2 while the module walks the
   * column strips, each of which stays in L1 for all the row tiles. gemmAtB over more than KC
   * values of k with B copied packs one block at a time instead (accumulateByBlocks).
   */
  const accumulate = (M: number, N: number, K: number, A: Float64Array, B: Float64Array, C: Float64Array, aTransposed: boolean): boolean => {
    const Mp = up4(M);
    const Np = up4(N);
    const residentB = residentPanel(B, K, N, false);
    if (aTransposed && residentB < 0 && K > ACC_KC) return accumulateByBlocks(M, N, K, A, B, C);
    const offA = even(base);
    const offB = residentB >= 0 ? residentB : even(offA + Mp * K);
    const offC = even(residentB >= 0 ? offA + Mp * K : offB + K * Np);
    const scratch = even(offC + Mp * Np);
    if (!reserve(scratch + Math.max(M * K, residentB >= 0 ? 0 : K * N))) return false;
    if (aTransposed) pack(A, K, M, false, offA, scratch);
    else pack(A, M, K, true, offA, scratch);
    if (residentB < 0) pack(B, K, N, false, offB, scratch);
    place(C, M, N, offC, Mp, Np);
    for (let k0 = 0; k0 < K; k0 += ACC_KC) {
      const kc = Math.min(ACC_KC, K - k0);
      for (let i0 = 0; i0 < Mp; i0 += ACC_MC) {
        const mc = Math.min(ACC_MC, Mp - i0);
        wasm.gemm_acc(mc, Np, kc, K, (offA + i0 * K + k0 * 4) * 8, (offB + k0 * 4) * 8, (offC + i0 * Np) * 8, Np);
      }
    }
    copyOut(C, M, N, offC, Np);
    return true;
  };

  /**
   * gemmAtB over many k (a weight gradient summed over every step and example) with both
   * operands copied: each block of KC rows of A and B is packed just before the module uses
   * it, so the panels are still in cache, instead of packing all of A and B (megabytes each)
   * first and reading them back from memory. The blocks of k go in increasing order, as in
   * accumulate: the same running sums, the same bits.
   */
  const accumulateByBlocks = (M: number, N: number, K: number, A: Float64Array, B: Float64Array, C: Float64Array): boolean => {
    const Mp = up4(M);
    const Np = up4(N);
    const offA = even(base);
    const offB = even(offA + Mp * ACC_KC);
    const offC = even(offB + ACC_KC * Np);
    const scratch = even(offC + Mp * Np);
    if (!reserve(scratch + ACC_KC * Math.max(M, N))) return false;
    place(C, M, N, offC, Mp, Np);
    for (let k0 = 0; k0 < K; k0 += ACC_KC) {
      const kc = Math.min(ACC_KC, K - k0);
      pack(A.subarray(k0 * M, (k0 + kc) * M), kc, M, false, offA, scratch);
      pack(B.subarray(k0 * N, (k0 + kc) * N), kc, N, false, offB, scratch);
      for (let i0 = 0; i0 < Mp; i0 += ACC_MC) {
        const mc = Math.min(ACC_MC, Mp - i0);
        wasm.gemm_acc(mc, Np, kc, kc, (offA + i0 * kc) * 8, offB * 8, (offC + i0 * Np) * 8, Np);
      }
    }
    copyOut(C, M, N, offC, Np);
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
    const offA = even(base);
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
    const offB = even(base);
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
    const offA = even(base);
    const offC = even(offA + M * K);
    if (!reserve(offC + M * N)) return false;
    mem.set(A.length === M * K ? A : A.subarray(0, M * K), offA);
    mem.set(C.length === M * N ? C : C.subarray(0, M * N), offC);
    for (let i = 0; i < M; i++) wasm.gemv_dot(N, K, (offA + i * K) * 8, 1, bt * 8, N, (offC + i * N) * 8);
    copyOut(C, M, N, offC, N);
    return true;
  };

  /**
   * gemmAtB with N = 2 or 3 (a weight gradient with input size 2-3, summed over every step):
   * C[M×N] += A[K×M]ᵀ B[K×N] is Cᵀ[N×M] += B[K×N]ᵀ A[K×M], each element the same running sum
   * of the same products (a·b = b·a exactly), which the one-row kernel does one row of Cᵀ at
   * a time. False when not worth it: the caller uses TypeScript.
   */
  const gemvSwapped = (M: number, N: number, K: number, A: Float64Array, B: Float64Array, C: Float64Array): boolean => {
    if (!options.everything && (M < 4 || M * K < GEMV_MIN_WORK_COPIED)) return false;
    const Ct = new Float64Array(N * M);
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) Ct[j * M + i] = C[i * N + j]!;
    if (!gemvRows(N, M, K, B, A, Ct, true)) return false;
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) C[i * N + j] = Ct[j * M + i]!;
    return true;
  };

  /** gemmAB / gemmAtB in WebAssembly if worth it; false: the caller uses TypeScript (same bits). */
  const product = (M: number, N: number, K: number, A: Float64Array, B: Float64Array, C: Float64Array, aTransposed: boolean): boolean =>
    (M < 4 && gemvRows(M, N, K, A, B, C, aTransposed)) ||
    (N === 1 && aTransposed && gemvColumn(M, K, A, B, C)) ||
    (N < 4 && aTransposed && gemvSwapped(M, N, K, A, B, C)) ||
    (useWasm(M, N, K) && accumulate(M, N, K, A, B, C, aTransposed));

  /**
   * Whether a product's operands (an upper bound of what gemmABt / accumulate reserve) fit the
   * memory as it is. A product that does not is split into products that do, instead of
   * growing the memory (growing detaches its buffer: see wasmModule.ts's reservedMemory):
   * by rows of A and C for gemmABt and gemmAB (rows are independent), by consecutive blocks of
   * k for gemmAtB (each element's running sum goes on from one block to the next, as with the
   * cache blocking). The same bits either way. Pieces of four rows or k that still do not fit
   * go on as before (grow, or TypeScript).
   */
  const fits = (M: number, N: number, K: number): boolean =>
    even(base) + (up4(M) + up4(N)) * K + up4(M) * up4(N) + Math.max(M, N) * K + 8 <= memory.buffer.byteLength / 8;
  /** gemmAtB over many k with B copied (accumulateByBlocks) needs room for one block of k at a time. */
  const fitsByBlocks = (M: number, N: number, K: number): boolean => M >= 4 && N >= 4 && K > ACC_KC && fits(M, N, ACC_KC);
  const half = (n: number): number => up4(Math.ceil(n / 2));

  const kernels: GemmKernels = {
    // C[M×N] += A[M×K] · B[N×K]ᵀ: both operands as row panels (lanes hold two rows of A);
    // per-element dot products started at zero and then added to C, as linalg.ts sums them.
    gemmABt(M, N, K, A, B, C) {
      if (M < 4 && gemvDotRows(M, N, K, A, B, C)) return;
      if (M > 4 && !fits(M, N, K)) {
        const h = half(M);
        kernels.gemmABt(h, N, K, A, B, C);
        kernels.gemmABt(M - h, N, K, A.subarray(h * K), B, C.subarray(h * N));
        return;
      }
      if (!useWasm(M, N, K)) return jsKernels.gemmABt(M, N, K, A, B, C);
      const Mp = up4(M);
      const Np = up4(N);
      const residentB = residentPanel(B, N, K, true);
      const offA = even(base);
      const offB = residentB >= 0 ? residentB : even(offA + Mp * K);
      const offC = even(residentB >= 0 ? offA + Mp * K : offB + Np * K);
      const scratch = even(offC + Mp * Np);
      if (!reserve(scratch + Math.max(M * K, residentB >= 0 ? 0 : N * K))) return jsKernels.gemmABt(M, N, K, A, B, C);
      pack(A, M, K, true, offA, scratch);
      if (residentB < 0) pack(B, N, K, true, offB, scratch);
      place(C, M, N, offC, Mp, Np);
      wasm.gemm_dot(Mp, Np, K, offA * 8, offB * 8, offC * 8, 0);
      copyOut(C, M, N, offC, Np);
    },
    // C[M×N] += A[M×K] · B[K×N]
    gemmAB(M, N, K, A, B, C) {
      if (M > 4 && !fits(M, N, K)) {
        const h = half(M);
        kernels.gemmAB(h, N, K, A, B, C);
        kernels.gemmAB(M - h, N, K, A.subarray(h * K), B, C.subarray(h * N));
        return;
      }
      if (!product(M, N, K, A, B, C, false)) jsKernels.gemmAB(M, N, K, A, B, C);
    },
    // C[M×N] += A[K×M]ᵀ · B[K×N]
    gemmAtB(M, N, K, A, B, C) {
      if (K > 4 && !fits(M, N, K) && !fitsByBlocks(M, N, K)) {
        const h = half(K);
        kernels.gemmAtB(M, N, h, A, B, C);
        kernels.gemmAtB(M, N, K - h, A.subarray(h * M), B.subarray(h * N), C);
        return;
      }
      if (!product(M, N, K, A, B, C, true)) jsKernels.gemmAtB(M, N, K, A, B, C);
    },
    // G = A·Aᵀ: A packed once, only the tiles on or above the diagonal, then mirrored (see
    // GemmKernels.gram). False (too small, or no room): linalg's gramMatrix takes gemmABt.
    gram(M, K, A, G) {
      const Mp = up4(M);
      const offA = even(base);
      const offC = even(offA + Mp * K);
      const scratch = even(offC + Mp * Mp);
      if (!useWasm(M, M, K) || !reserve(scratch + M * K)) return false;
      pack(A, M, K, true, offA, scratch);
      mem.fill(0, offC, offC + Mp * Mp);
      wasm.gemm_dot(Mp, Mp, K, offA * 8, offA * 8, offC * 8, 1);
      for (let r = 0; r < M; r++) {
        for (let c = r; c < M; c++) {
          const v = mem[offC + r * Mp + c];
          G[r * M + c] = v;
          G[c * M + r] = v;
        }
      }
      return true;
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
      residentRows.clear();
      residentCols.clear();
      base = 0;
    },
  };
  return kernels;
}

let installed: GemmKernels | null = null;

/**
 * Route the engine's matrix products and the cells' batched tanh / sigmoid
 * (wasmActivations.ts) through WebAssembly. Returns false (and leaves the TypeScript
 * kernels in place) where WebAssembly SIMD is unavailable. Safe to call more than once;
 * results are bit-identical either way.
 */
export function enableWasmKernels(): boolean {
  installed ??= createWasmKernels();
  if (!installed) return false;
  setKernels(installed);
  enableWasmActivations();
  return true;
}

/** Back to the TypeScript kernels. */
export function disableWasmKernels(): void {
  setKernels(jsKernels);
  disableWasmActivations();
}
