// The engine's matrix products alone, at the shapes the bench workloads run, WebAssembly vs
// TypeScript kernels: time per call (minimum of 7 samples) and GFLOP/s (2·M·N·K per call).
// "B pinned" times the per-step products whose B is the recurrent weight matrix as a pass runs
// them: pinned (withConstantOperands), so it is copied and packed once, not per call.
//   node --import tsx bench/kernelBench.ts [--only SUBSTRING]

import { createWasmKernels } from '../src/engine/kernels/wasmGemm';
import { gramMatrix, jsKernels, setKernels, type GemmKernels } from '../src/engine/linalg';
import { Rng } from '../src/engine/rng';

/** gram: G = A·Aᵀ as the weight-gradient norms take it (linalg's gramMatrix on the kernels timed). */
type Op = 'gemmABt' | 'gemmAB' | 'gemmAtB' | 'gram';
/** weight: B is the recurrent weight matrix, which a pass pins (withConstantOperands): timed pinned too. */
const SHAPES: { label: string; op: Op; M: number; N: number; K: number; weight?: boolean }[] = [
  { label: 'lstm-h64 forward step', op: 'gemmABt', M: 16, N: 256, K: 64, weight: true },
  { label: 'lstm-h64 backward dh', op: 'gemmAB', M: 16, N: 64, K: 256, weight: true },
  { label: 'lstm-h64 weight part (per step)', op: 'gemmAtB', M: 256, N: 64, K: 16 },
  { label: 'lstm-h64 weight grad (all steps)', op: 'gemmAtB', M: 256, N: 64, K: 2048 },
  { label: 'lstm-h64 Gram of dG', op: 'gram', M: 16, N: 16, K: 256 },
  { label: 'lstm-h64 input projection (I = 1)', op: 'gemmABt', M: 2048, N: 256, K: 1 },
  { label: 'lstm-h64 input gradient (I = 1)', op: 'gemmAB', M: 2048, N: 1, K: 256 },
  { label: 'lstm-h64 input weight grad (I = 1)', op: 'gemmAtB', M: 256, N: 1, K: 2048 },
  { label: 'lstm-h64 head output (O = 1)', op: 'gemmABt', M: 2048, N: 1, K: 64 },
  { label: 'lstm-h64 head gradient (O = 1)', op: 'gemmAB', M: 2048, N: 64, K: 1 },
  { label: 'rnn-h128 forward step', op: 'gemmABt', M: 32, N: 128, K: 128, weight: true },
  { label: 'rnn-h128 backward dh', op: 'gemmAB', M: 32, N: 128, K: 128, weight: true },
  { label: 'rnn-h128 weight part (per step)', op: 'gemmAtB', M: 128, N: 128, K: 32 },
  { label: 'rnn-h128 weight grad (all steps)', op: 'gemmAtB', M: 128, N: 128, K: 8192 },
  { label: 'rnn-h128 Gram of dG (Gram route)', op: 'gram', M: 32, N: 32, K: 128 },
  { label: 'rnn-h128 input projection (I = 1)', op: 'gemmABt', M: 8192, N: 128, K: 1 },
  { label: 'rnn-h128 input gradient (I = 1)', op: 'gemmAB', M: 8192, N: 1, K: 128 },
  { label: 'rnn-h128 head gradient (O = 1)', op: 'gemmAB', M: 8192, N: 128, K: 1 },
  { label: 'gru-b1 forward step', op: 'gemmABt', M: 1, N: 96, K: 32, weight: true },
  { label: 'gru-b1 backward dh', op: 'gemmAB', M: 1, N: 32, K: 96, weight: true },
  { label: 'gru-b1 weight part (per step)', op: 'gemmAtB', M: 96, N: 32, K: 1 },
  { label: 'lstm-h512 forward step', op: 'gemmABt', M: 16, N: 2048, K: 512, weight: true },
  { label: 'lstm-h512 backward dh', op: 'gemmAB', M: 16, N: 512, K: 2048, weight: true },
  { label: 'lstm-h512 weight part (per step)', op: 'gemmAtB', M: 2048, N: 512, K: 16 },
  { label: 'lstm-h512 weight grad (all steps)', op: 'gemmAtB', M: 2048, N: 512, K: 2048 },
];

function operands(M: number, N: number, K: number, rng: Rng): [Float64Array, Float64Array, Float64Array] {
  const r = (n: number): Float64Array => Float64Array.from({ length: n }, () => rng.range(-1, 1));
  const A = r(M * K);
  const B = r(K * N);
  return [A, B, r(M * N)];
}

function timePerCall(k: GemmKernels, op: Op, M: number, N: number, K: number, A: Float64Array, B: Float64Array, C: Float64Array): number {
  const flops = 2 * M * N * K;
  const calls = Math.max(1, Math.round(2e7 / flops));
  const samples: number[] = [];
  setKernels(k); // gramMatrix runs on the kernels in use
  for (let r = 0; r < 7; r++) {
    const t0 = performance.now();
    if (op === 'gram') for (let c = 0; c < calls; c++) gramMatrix(M, K, A, C);
    else for (let c = 0; c < calls; c++) k[op](M, N, K, A, B, C);
    samples.push((performance.now() - t0) / calls);
  }
  samples.sort((a, b) => a - b);
  return samples[0]; // the minimum: the sample least disturbed by other processes
}

const only = process.argv.indexOf('--only') >= 0 ? process.argv[process.argv.indexOf('--only') + 1] : null;
const wasm = createWasmKernels();
if (!wasm) throw new Error('WebAssembly SIMD unavailable');
const rng = new Rng(1);
console.log('shape'.padEnd(36), 'op'.padEnd(8), 'M×N×K'.padEnd(16), 'wasm µs'.padStart(9), 'GFLOP/s'.padStart(8), 'B pinned'.padStart(9), 'GFLOP/s'.padStart(8), 'TS µs'.padStart(9), 'GFLOP/s'.padStart(8));
for (const s of SHAPES) {
  if (only && !s.label.includes(only)) continue;
  const [A, B, C] = operands(s.M, s.N, s.K, rng);
  const flops = 2 * s.M * s.N * s.K;
  const w = timePerCall(wasm, s.op, s.M, s.N, s.K, A, B, C);
  let pinned = NaN;
  if (s.weight) {
    wasm.pinConstants!([B]);
    pinned = timePerCall(wasm, s.op, s.M, s.N, s.K, A, B, C);
    wasm.unpinConstants!();
  }
  const t = timePerCall(jsKernels, s.op, s.M, s.N, s.K, A, B, C);
  const us = (x: number): string => (Number.isNaN(x) ? '—' : (x * 1000).toFixed(1)).padStart(9);
  const rate = (x: number): string => (Number.isNaN(x) ? '—' : (flops / x / 1e6).toFixed(1)).padStart(8);
  console.log(s.label.padEnd(36), s.op.padEnd(8), `${s.M}×${s.N}×${s.K}`.padEnd(16), us(w), rate(w), us(pinned), rate(pinned), us(t), rate(t));
}
