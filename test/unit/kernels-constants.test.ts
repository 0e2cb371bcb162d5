// withConstantOperands (linalg.ts): inside the scope the WebAssembly kernels use their own
// copy of the declared arrays instead of copying them per product. Results must stay
// bit-identical to the TypeScript kernels, a whole runPass inside the scope must give the
// same bits as outside it, and nothing stale may survive the scope.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runPass } from '../../src/engine/bptt';
import { runInjectedPass } from '../../src/engine/inject';
import { initializeModel } from '../../src/engine/init';
import { createWasmKernels } from '../../src/engine/kernels/wasmGemm';
import { jsKernels, setKernels, withConstantOperands, gemmAB, gemmABt, gemmAtB } from '../../src/engine/linalg';
import { createModel, HEAD_BIAS, HEAD_WEIGHT } from '../../src/engine/model';
import { Rng } from '../../src/engine/rng';
import type { Batch } from '../../src/engine/types';

const rand = (rng: Rng, n: number): Float64Array => Float64Array.from({ length: n }, () => rng.range(-1, 1));

function sameBits(a: Float64Array, b: Float64Array, what: string): void {
  assert.equal(a.length, b.length);
  for (let k = 0; k < a.length; k++) assert.ok(Object.is(a[k], b[k]), `${what}[${k}]: ${a[k]} vs ${b[k]}`);
}

describe('withConstantOperands', () => {
  const wasm = createWasmKernels({ everything: true });
  after(() => setKernels(jsKernels));

  it('gives the TypeScript kernels\' bits for constant B operands, padded or not', () => {
    assert.ok(wasm);
    const rng = new Rng(5);
    // Batch sizes 1-3 with N·K >= 256 take the one-row kernels (gemmABt on the transposed resident copy).
    for (const [M, N, K] of [[16, 64, 32], [5, 12, 7], [1, 8, 9], [6, 7, 10], [1, 96, 32], [3, 16, 20], [2, 12, 40], [1, 36, 12]]) {
      const A = rand(rng, M * K);
      const At = rand(rng, K * M);
      const Wt = rand(rng, N * K); // B of gemmABt, N × K
      const W = rand(rng, K * N); // B of gemmAB / gemmAtB, K × N
      const C0 = rand(rng, M * N);
      const run = (): Float64Array[] => {
        const c1 = C0.slice();
        const c2 = C0.slice();
        const c3 = C0.slice();
        // Twice, so the second product reads the resident copy after the first used it.
        for (let r = 0; r < 2; r++) {
          gemmABt(M, N, K, A, Wt, c1);
          gemmAB(M, N, K, A, W, c2);
          gemmAtB(M, N, K, At, W, c3);
        }
        return [c1, c2, c3];
      };
      setKernels(jsKernels);
      const want = run();
      setKernels(wasm);
      const got = withConstantOperands([Wt, W], run);
      want.forEach((w, i) => sameBits(got[i], w, `${M}x${N}x${K} product ${i}`));
    }
  });

  it('really uses the copy inside the scope (a write there, against the contract, goes unseen)', () => {
    assert.ok(wasm);
    setKernels(wasm);
    const rng = new Rng(7);
    // M = 8: the tiled kernel; M = 1: the one-row kernel on the transposed copy.
    for (const [M, N, K] of [[8, 16, 12], [1, 32, 16]]) {
      const A = rand(rng, M * K);
      const W = rand(rng, N * K);
      const want = new Float64Array(M * N);
      jsKernels.gemmABt(M, N, K, A, W, want);
      const got = new Float64Array(M * N);
      withConstantOperands([W], () => {
        W[0] += 1;
        gemmABt(M, N, K, A, W, got);
        W[0] -= 1;
      });
      sameBits(got, want, `${M}x${N}x${K} stale on purpose`);
    }
  });

  it('keeps no stale copy once the scope ends', () => {
    assert.ok(wasm);
    setKernels(wasm);
    const rng = new Rng(6);
    const [M, N, K] = [8, 16, 12];
    const A = rand(rng, M * K);
    const W = rand(rng, N * K);
    const first = new Float64Array(M * N);
    withConstantOperands([W], () => gemmABt(M, N, K, A, W, first));
    W[3] += 1; // the optimizer's step between passes
    const second = new Float64Array(M * N);
    withConstantOperands([W], () => gemmABt(M, N, K, A, W, second));
    const want = new Float64Array(M * N);
    jsKernels.gemmABt(M, N, K, A, W, want);
    sameBits(second, want, 'after the update');
    assert.notDeepEqual(first, second);
  });

  it('leaves a whole pass bit-identical (LSTM and GRU, batch 5, 2 and 1, weights declared constant)', () => {
    assert.ok(wasm);
    setKernels(wasm);
    for (const [cell, B] of [['lstm', 5], ['gru', 5], ['gru', 1], ['lstm', 2]] as const) {
      const model = createModel({ cell, nonlinearity: 'tanh', variant: 'vanilla', inputSize: 2, hiddenSize: 24, numLayers: 2, bidirectional: true, outputSize: 1 });
      const rng = new Rng(8);
      initializeModel(model, { scheme: 'pytorch', spectralRadius: null, forgetBias: false }, rng);
      const T = 9;
      const batch: Batch = { batchSize: B, steps: T, inputSize: 2, outputSize: 1, mode: 'many-to-one', x: rand(rng, B * T * 2), y: rand(rng, B) };
      const plain = runPass(model, batch, { loss: 'mse' });
      const weights = [...model.params.values()].map((p) => p.data);
      const scoped = withConstantOperands(weights, () => runPass(model, batch, { loss: 'mse' }));
      assert.ok(Object.is(plain.loss, scoped.loss));
      for (const [name, g] of plain.grads) sameBits(scoped.grads.get(name)!.data, g.data, `${cell} ${name}`);
      assert.deepEqual(scoped.record, plain.record);
    }
  });
  it('leaves the injected (capture) pass bit-identical, itemized rows and Jacobian norms included, inside runInjectedPass\'s own scope', () => {
    assert.ok(wasm);
    for (const [cell, B, H] of [['lstm', 5, 6], ['gru', 4, 8], ['rnn', 1, 12]] as const) {
      const model = createModel({ cell, nonlinearity: 'tanh', variant: 'vanilla', inputSize: 3, hiddenSize: H, numLayers: 2, bidirectional: true, outputSize: 1 });
      const rng = new Rng(11);
      initializeModel(model, { scheme: 'pytorch', spectralRadius: null, forgetBias: false }, rng);
      const params = new Map([...model.params].filter(([name]) => name !== HEAD_WEIGHT && name !== HEAD_BIAS));
      const T = 7;
      const LDBH = 2 * 2 * B * H;
      const input = {
        config: model.config,
        params,
        batchSize: B,
        steps: T,
        input: rand(rng, B * T * 3),
        gradOutput: rand(rng, B * T * 2 * H),
        h0: rand(rng, LDBH),
        c0: cell === 'lstm' ? rand(rng, LDBH) : null,
        gradHn: rand(rng, LDBH),
        gradCn: cell === 'lstm' ? rand(rng, LDBH) : null,
        probes: { itemized: true, jacobian: true, jacobianIterations: 6 },
      };
      setKernels(jsKernels);
      const want = runInjectedPass(input);
      setKernels(wasm);
      const got = runInjectedPass(input);
      assert.ok(Object.is(got.loss, want.loss), `${cell} loss`);
      sameBits(got.output, want.output, `${cell} output`);
      sameBits(got.gradInput, want.gradInput, `${cell} gradInput`);
      for (const [name, g] of want.grads) sameBits(got.grads.get(name)!.data, g.data, `${cell} ${name}`);
      assert.deepEqual(got.record, want.record, `${cell} record`);
    }
  });
});
