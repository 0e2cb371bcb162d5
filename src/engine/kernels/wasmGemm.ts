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
  gemm_acc(M: number, N: number, K: number, a: number, ars: number, aks: number, b: number, c: number): void;
  gemm_dot(M: number, N: number, K: number, at: number, b: number, c: number): void;
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

const PAGE_BYTES = 65536;

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
 * sends every product to WebAssembly, however small (for tests).
 */
export function createWasmKernels(options: { minWork?: number; everything?: boolean } = {}): GemmKernels | null {
  const wasm = instantiate();
  if (!wasm) return null;
  const minWork = options.minWork ?? DEFAULT_MIN_WORK;
  const useWasm = options.everything ? () => true : (M: number, N: number, K: number) => worthIt(M, N, K, minWork);
  let mem = new Float64Array(wasm.memory.buffer);

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
   * (gemmAtB): one module function, told A's row and k strides.
   */
  const accumulate = (M: number, N: number, K: number, A: Float64Array, B: Float64Array, C: Float64Array, aTransposed: boolean): boolean => {
    const Mp = up4(M);
    const Np = up4(N);
    const offA = 0;
    const offB = even(offA + Mp * K);
    const offC = even(offB + K * Np);
    if (!reserve(offC + Mp * Np)) return false;
    if (aTransposed) place(A, K, M, offA, K, Mp);
    else place(A, M, K, offA, Mp, K);
    place(B, K, N, offB, K, Np);
    place(C, M, N, offC, Mp, Np);
    const rowStride = aTransposed ? 1 : K;
    const kStride = aTransposed ? Mp : 1;
    wasm.gemm_acc(Mp, Np, K, offA * 8, rowStride, kStride, offB * 8, offC * 8);
    copyOut(C, M, N, offC, Np);
    return true;
  };

  return {
    // C[M×N] += A[M×K] · B[N×K]ᵀ: A is transposed in the module (lanes hold two rows of A),
    // B is used as given; per-element dot products.
    gemmABt(M, N, K, A, B, C) {
      if (!useWasm(M, N, K)) return jsKernels.gemmABt(M, N, K, A, B, C);
      const Mp = up4(M);
      const Np = up4(N);
      const offA = 0;
      const offAt = even(offA + M * K);
      const offB = even(offAt + K * Mp);
      const offC = even(offB + Np * K);
      if (!reserve(offC + Mp * Np)) return jsKernels.gemmABt(M, N, K, A, B, C);
      mem.set(A.length === M * K ? A : A.subarray(0, M * K), offA);
      if (Mp > M) mem.fill(0, offAt, offAt + K * Mp);
      wasm.transpose(offA * 8, M, K, offAt * 8, Mp);
      place(B, N, K, offB, Np, K);
      place(C, M, N, offC, Mp, Np);
      wasm.gemm_dot(Mp, Np, K, offAt * 8, offB * 8, offC * 8);
      copyOut(C, M, N, offC, Np);
    },
    // C[M×N] += A[M×K] · B[K×N]
    gemmAB(M, N, K, A, B, C) {
      if (!useWasm(M, N, K) || !accumulate(M, N, K, A, B, C, false)) jsKernels.gemmAB(M, N, K, A, B, C);
    },
    // C[M×N] += A[K×M]ᵀ · B[K×N]
    gemmAtB(M, N, K, A, B, C) {
      if (!useWasm(M, N, K) || !accumulate(M, N, K, A, B, C, true)) jsKernels.gemmAtB(M, N, K, A, B, C);
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
