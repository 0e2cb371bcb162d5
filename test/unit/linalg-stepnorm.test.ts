// The per-step weight-gradient norm without materialising the step's part (linalg.ts,
// stepWeightGradNorm: two B×B Gram matrices per operand pair) against the materialised part
// (weightGradPartNorm, what the weightGradByStep probe computed so far) and against a
// plain reference; its fallbacks (cancellation, overflow/underflow, NaN); identical bits
// with the WebAssembly and the TypeScript kernels.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createWasmKernels } from '../../src/engine/kernels/wasmGemm';
import {
  gramRoutePays, gramScratch, jsKernels, setKernels, stepWeightGradNorm, stepWeightGradNormByGram, weightGradPartNorm,
  type StepGradOperands, type WeightGradParts,
} from '../../src/engine/linalg';
import { Rng } from '../../src/engine/rng';

function rand(rng: Rng, n: number, scale = 1): Float64Array {
  return Float64Array.from({ length: n }, () => scale * rng.range(-1, 1));
}

function operands(rng: Rng, B: number, GH: number, inSize: number, H: number, shared: boolean): StepGradOperands {
  const dGi = rand(rng, B * GH);
  return { B, GH, inSize, H, dGi, dGh: shared ? dGi : rand(rng, B * GH), input: rand(rng, B * inSize), hPrev: rand(rng, B * H) };
}

function parts(s: StepGradOperands): WeightGradParts {
  return { wih: new Float64Array(s.GH * s.inSize), whh: new Float64Array(s.GH * s.H), bih: new Float64Array(s.GH), bhh: new Float64Array(s.GH) };
}

/** ‖P_t‖ by definition, element by element, in long loops (independent of the kernels). */
function reference(s: StepGradOperands): number {
  const { B, GH, inSize, H } = s;
  let ss = 0;
  for (let g = 0; g < GH; g++) {
    for (let j = 0; j < inSize; j++) {
      let v = 0;
      for (let b = 0; b < B; b++) v += s.dGi[b * GH + g] * s.input[b * inSize + j];
      ss += v * v;
    }
    for (let j = 0; j < H; j++) {
      let v = 0;
      for (let b = 0; b < B; b++) v += s.dGh[b * GH + g] * s.hPrev[b * H + j];
      ss += v * v;
    }
    let bi = 0;
    let bh = 0;
    for (let b = 0; b < B; b++) {
      bi += s.dGi[b * GH + g];
      bh += s.dGh[b * GH + g];
    }
    ss += bi * bi + bh * bh;
  }
  return Math.sqrt(ss);
}

const rel = (a: number, b: number): number => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);

const SHAPES: [number, number, number, number][] = [
  // B, GH, inSize, H
  [1, 96, 1, 32],
  [3, 20, 2, 5],
  [16, 256, 1, 64],
  [8, 12, 7, 4],
  [32, 128, 3, 128],
];

describe('stepWeightGradNorm', () => {
  after(() => setKernels(jsKernels));

  for (const [label, kernels] of [['TypeScript kernels', jsKernels], ['WebAssembly kernels', createWasmKernels({ everything: true })!]] as const) {
    it(`agrees with the materialised part and the reference (${label})`, () => {
      setKernels(kernels);
      const rng = new Rng(41);
      for (const [B, GH, In, H] of SHAPES) {
        for (const shared of [true, false]) {
          const s = operands(rng, B, GH, In, H, shared);
          const viaGram = stepWeightGradNormByGram(s, gramScratch(B));
          assert.ok(viaGram >= 0, `B=${B} GH=${GH}: random samples must not trigger the fallback`);
          const exact = weightGradPartNorm(s, parts(s));
          const ref = reference(s);
          assert.ok(rel(viaGram, ref) < 1e-12, `B=${B} GH=${GH} In=${In} H=${H} shared=${shared}: ${viaGram} vs reference ${ref}`);
          assert.ok(rel(exact, ref) < 1e-12, `materialised ${exact} vs reference ${ref}`);
          assert.equal(stepWeightGradNorm(s, gramScratch(B), parts(s)), viaGram);
        }
      }
    });
  }

  it('gives the same bits with the WebAssembly and the TypeScript kernels', () => {
    const wasm = createWasmKernels({ everything: true });
    assert.ok(wasm);
    const rng = new Rng(7);
    for (const [B, GH, In, H] of SHAPES) {
      const s = operands(rng, B, GH, In, H, false);
      setKernels(jsKernels);
      const a = stepWeightGradNorm(s, gramScratch(B), parts(s));
      setKernels(wasm);
      const b = stepWeightGradNorm(s, gramScratch(B), parts(s));
      assert.ok(Object.is(a, b), `B=${B}: ${a} vs ${b}`);
    }
    setKernels(jsKernels);
  });

  it('falls back to the materialised part when the samples cancel', () => {
    const rng = new Rng(9);
    const B = 2;
    const GH = 8;
    const H = 4;
    const dg = rand(rng, GH);
    const h = rand(rng, H);
    // Sample 2 undoes sample 1 up to 1e-6: P_t is about 1e-6 of R, whose Gram route would lose ~12 digits.
    const dGi = new Float64Array(B * GH);
    dGi.set(dg, 0);
    dGi.set(dg.map((v) => -v), GH);
    const hPrev = new Float64Array(B * H);
    hPrev.set(h, 0);
    hPrev.set(h.map((v, j) => v + (j === 0 ? 1e-6 : 0)), H);
    const input = Float64Array.from([0.5, 0.5]);
    const s: StepGradOperands = { B, GH, inSize: 1, H, dGi, dGh: dGi, input, hPrev };
    assert.equal(stepWeightGradNormByGram(s, gramScratch(B)), -1);
    const got = stepWeightGradNorm(s, gramScratch(B), parts(s));
    assert.equal(got, weightGradPartNorm(s, parts(s)));
    assert.ok(rel(got, reference(s)) < 1e-9, `${got} vs ${reference(s)}`);
    assert.ok(got > 0);
  });

  it('handles tiny, huge, zero and non-finite values like the materialised part', () => {
    const rng = new Rng(11);
    const B = 4;
    const GH = 12;
    const H = 3;
    for (const scale of [1e-200, 1e200]) {
      const s = operands(rng, B, GH, 1, H, false);
      s.dGi = s.dGi.map((v) => v * scale);
      s.dGh = s.dGh.map((v) => v * scale);
      assert.equal(stepWeightGradNormByGram(s, gramScratch(B)), -1, `scale ${scale} must fall back`);
      const got = stepWeightGradNorm(s, gramScratch(B), parts(s));
      assert.ok(Number.isFinite(got) && got > 0, `scale ${scale}: ${got}`);
      assert.ok(rel(got / scale, reference({ ...s, dGi: s.dGi.map((v) => v / scale), dGh: s.dGh.map((v) => v / scale) })) < 1e-12);
    }
    const zero = operands(rng, B, GH, 1, H, true);
    zero.dGi.fill(0);
    assert.equal(stepWeightGradNorm(zero, gramScratch(B), parts(zero)), 0);
    const nan = operands(rng, B, GH, 1, H, false);
    nan.hPrev[2] = NaN;
    assert.ok(Number.isNaN(stepWeightGradNorm(nan, gramScratch(B), parts(nan))));
    const inf = operands(rng, B, GH, 1, H, false);
    inf.dGh[5] = Infinity;
    assert.equal(stepWeightGradNorm(inf, gramScratch(B), parts(inf)), weightGradPartNorm(inf, parts(inf)));
  });

  it('gramRoutePays picks the Gram route where it measured faster', () => {
    assert.equal(gramRoutePays(16, 256, 1, 64), true); // lstm-h64-b16
    assert.equal(gramRoutePays(1, 96, 1, 32), true); // gru-h32-b1
    assert.equal(gramRoutePays(16, 2048, 1, 512), true); // lstm-h512-b16
    assert.equal(gramRoutePays(32, 128, 1, 128), false); // rnn-h128-b32: a wash, keep the parts
    assert.equal(gramRoutePays(256, 256, 1, 64), false); // batch far above the hidden size
  });
});
