// The engine's own tanh and sigmoid (issue 13). Math.tanh costs about 22 ns a call in V8
// and 1 / (1 + Math.exp(−x)) about 11 ns; the cells call them for every gate of every
// example at every step. These are written so that a vectorised WebAssembly version
// (kernels/activations.wat, two lanes at a time) gives the SAME bits: both do the same
// float64 operations in the same order (no fused multiply-add), so a run's result never
// depends on whether WebAssembly is available. test/unit/activations.test.ts checks the
// bits, and the accuracy against exact values.
//
//   eʸ − 1 in parts, y in [−40, 708]: k = round(y / ln 2) (the 1.5·2⁵² shifter: round to
//     nearest, ties to even), r = (y − k·ln2_hi) − k·ln2_lo with |r| ≤ ln 2 / 2 (Cody–Waite:
//     k·ln2_hi is exact), q = eʳ − 1 = r + r²·Q(r) with Q the Taylor series of (eʳ − 1 − r)/r²
//     to r¹¹ (the next term is below 0.05 ulp; r itself is added exactly last, so Q's rounding
//     counts only in proportion to r), Q by Estrin's scheme (short dependency chains, so the
//     vector version is not latency-bound); then eʸ = 2ᵏ(1 + q) and
//     eʸ − 1 = 2ᵏq + (2ᵏ − 1), both without cancellation (2ᵏ is exact).
//   tanh(x), a = min(|x|, 20) (tanh(20) rounds to 1), t = e²ᵃ − 1:
//     a < 0.55: 0 + t / (t + 2)        a ≥ 0.55: 1 + (−2) / (t + 2)
//     with the sign of x; tanh(±0) = ±0, tanh(NaN) = NaN.
//   sigmoid(x) = 1 / (1 + eʸ), y = −x clamped to [−40, 708]; 0 for x < −708 (the true value
//     is below 3.3e−308); for x > 40 the clamp changes nothing (both round to 1).

const SHIFTER = 6755399441055744; // 1.5 · 2⁵²: (v + SHIFTER) − SHIFTER rounds v to an integer, ties to even
const LOG2E = 1.4426950408889634;
const LN2_HI = 0.6931471803691238; // 0x3FE62E42FEE00000: 32 significant bits, so k·LN2_HI is exact
const LN2_LO = 1.9082149292705877e-10; // ln 2 − LN2_HI
/** cₙ = 1/(n+1)!, n = 0..12: (eʳ − 1)/r = Σ cₙ rⁿ. */
const EXPM1_COEFFS = [1, 1 / 2, 1 / 6, 1 / 24, 1 / 120, 1 / 720, 1 / 5040, 1 / 40320, 1 / 362880, 1 / 3628800, 1 / 39916800, 1 / 479001600, 1 / 6227020800];
const EXP_MIN = -40;
const EXP_MAX = 708;
const TANH_SMALL = 0.55;
const TANH_CLAMP = 20;

/** 2ᵏ for k = EXP_MIN_K .. 1023, built by exact doublings and halvings. */
const EXP_MIN_K = -64;
const POW2 = (() => {
  const t = new Float64Array(1023 - EXP_MIN_K + 1);
  let v = 1;
  for (let k = 0; k <= 1023; k++, v *= 2) t[k - EXP_MIN_K] = v;
  v = 1;
  for (let k = 0; k >= EXP_MIN_K; k--, v /= 2) t[k - EXP_MIN_K] = v;
  return t;
})();

const [, C1, C2, C3, C4, C5, C6, C7, C8, C9, C10, C11, C12] = EXPM1_COEFFS;

// expParts' two results (module-level so the hot path allocates nothing).
let partScale = 1; // 2ᵏ
let partQ = 0; // eʳ − 1

/** eʸ = partScale·(1 + partQ) for y in [EXP_MIN, EXP_MAX] (callers clamp); NaN parts for NaN. */
function expParts(y: number): void {
  const kf = y * LOG2E + SHIFTER - SHIFTER;
  const r = y - kf * LN2_HI - kf * LN2_LO;
  const r2 = r * r;
  const r4 = r2 * r2;
  const r8 = r4 * r4;
  const b0 = C1 + C2 * r + (C3 + C4 * r) * r2;
  const b1 = C5 + C6 * r + (C7 + C8 * r) * r2;
  const b2 = C9 + C10 * r + (C11 + C12 * r) * r2;
  partQ = r + r2 * (b0 + b1 * r4 + b2 * r8);
  partScale = POW2[(kf | 0) - EXP_MIN_K]; // kf is NaN only when y is, and then partQ is NaN too
}

export function tanh(x: number): number {
  if (x === 0) return x; // ±0
  let a = x < 0 ? -x : x;
  if (a > TANH_CLAMP) a = TANH_CLAMP;
  expParts(a + a);
  const t = partScale * partQ + (partScale - 1);
  const r = a < TANH_SMALL ? 0 + t / (t + 2) : 1 + -2 / (t + 2);
  return x < 0 ? -r : r;
}

export function sigmoid(x: number): number {
  let y = -x;
  if (y > EXP_MAX) return 0;
  if (y < EXP_MIN) y = EXP_MIN;
  expParts(y);
  return 1 / (1 + partScale * (1 + partQ));
}

/**
 * The batched forms act in place on rows of a matrix: `rows` rows of `width` values, `stride`
 * apart, from `offset`. A cell writes its pre-activations into `scratch(n)` (WebAssembly memory
 * for the WebAssembly implementation), activates them there and reads them back; on any other
 * array the WebAssembly implementation falls back to the TypeScript one (the same bits).
 */
export interface ActivationKernels {
  /** A buffer of at least n values, valid until the next scratch call (values not kept). */
  scratch(n: number): Float64Array;
  tanhRows(a: Float64Array, offset: number, rows: number, width: number, stride: number): void;
  sigmoidRows(a: Float64Array, offset: number, rows: number, width: number, stride: number): void;
}

let jsScratch = new Float64Array(0);

export const jsActivations: ActivationKernels = {
  scratch(n) {
    if (jsScratch.length < n) jsScratch = new Float64Array(n);
    return jsScratch;
  },
  tanhRows(a, offset, rows, width, stride) {
    for (let b = 0; b < rows; b++) {
      const o = offset + b * stride;
      for (let j = o; j < o + width; j++) a[j] = tanh(a[j]);
    }
  },
  sigmoidRows(a, offset, rows, width, stride) {
    for (let b = 0; b < rows; b++) {
      const o = offset + b * stride;
      for (let j = o; j < o + width; j++) a[j] = sigmoid(a[j]);
    }
  },
};

let kernels: ActivationKernels = jsActivations;

/** Swaps in another implementation (pass jsActivations to restore the default); results are the same bits. */
export function setActivationKernels(k: ActivationKernels): void {
  kernels = k;
}

/** The implementation in use (tests). */
export function activationKernels(): ActivationKernels {
  return kernels;
}

export function activationScratch(n: number): Float64Array {
  return kernels.scratch(n);
}

export function tanhRows(a: Float64Array, offset: number, rows: number, width: number, stride: number): void {
  kernels.tanhRows(a, offset, rows, width, stride);
}

export function sigmoidRows(a: Float64Array, offset: number, rows: number, width: number, stride: number): void {
  kernels.sigmoidRows(a, offset, rows, width, stride);
}
