// The WebAssembly SIMD kernels (src/engine/kernels) against the TypeScript reference of
// linalg.ts: bit-identical products (so a fortiori within 1e-12 relative), identical
// runPass results and records (with the WebAssembly activations of activations.wat on as
// well), gradients that pass finite differences with the WebAssembly path on, and committed
// modules that match gemm.wat and activations.wat.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { runPass } from '../../src/engine/bptt';
import { createWasmKernels, enableWasmKernels, disableWasmKernels } from '../../src/engine/kernels/wasmGemm';
import { gramMatrix, jsKernels, setKernels, type GemmKernels } from '../../src/engine/linalg';
import { activationKernels, jsActivations, setActivationKernels, type ActivationKernels } from '../../src/engine/activations';
import { createWasmActivations } from '../../src/engine/kernels/wasmActivations';
import { Rng } from '../../src/engine/rng';
import { cellConfigs, fdParam, makeCase, objective, TOLERANCE, worst } from '../gradcheck/fd';

const OPS = ['gemmABt', 'gemmAB', 'gemmAtB'] as const;

/** Every product goes to WebAssembly, however small, so the tests reach the SIMD code. */
function wasmAlways(): GemmKernels {
  const k = createWasmKernels({ everything: true });
  assert.ok(k, 'WebAssembly SIMD is available in Node 20');
  return k;
}

/** The WebAssembly activations (the cells' blocks are in its scratch, so all of them go there). */
function wasmActivationsAlways(): ActivationKernels {
  const k = createWasmActivations();
  assert.ok(k, 'WebAssembly SIMD is available in Node 20');
  return k;
}

function randomMatrix(rng: Rng, n: number, special: boolean): Float64Array {
  const specials = [0, -0, NaN, Infinity, -Infinity, 5e-324, 1e300, -1e-300];
  return Float64Array.from({ length: n }, () => {
    const u = rng.uniform();
    if (special && u < 0.06) return specials[rng.int(specials.length)];
    if (u < 0.12) return 0;
    return rng.range(-2, 2);
  });
}

function assertSameBits(actual: Float64Array, expected: Float64Array, what: string): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < actual.length; i++) {
    if (!Object.is(actual[i], expected[i])) assert.fail(`${what}: element ${i} is ${actual[i]}, TypeScript gives ${expected[i]}`);
  }
}

/** Run `op` on copies of C with both kernels; the results must agree bit for bit. */
function assertAgrees(wasm: GemmKernels, op: (typeof OPS)[number], M: number, N: number, K: number, A: Float64Array, B: Float64Array, C: Float64Array, what: string): void {
  const expected = Float64Array.from(C);
  const actual = Float64Array.from(C);
  jsKernels[op](M, N, K, A, B, expected);
  wasm[op](M, N, K, A, B, actual);
  assertSameBits(actual, expected, `${op} ${M}x${N}x${K} ${what}`);
}

after(() => disableWasmKernels());

describe('WebAssembly GEMM kernels', () => {
  it('assemble.mjs --check: gemmWasm.ts and activationsWasm.ts are the assembled gemm.wat and activations.wat', () => {
    const script = path.join(__dirname, '../../src/engine/kernels/assemble.mjs');
    const r = spawnSync(process.execPath, [script, '--check'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });

  it('gives the TypeScript kernels\' results bit for bit, edge sizes and non-finite values included', () => {
    const wasm = wasmAlways();
    const rng = new Rng(2024);
    for (let trial = 0; trial < 400; trial++) {
      const M = 1 + rng.int(11);
      const N = 1 + rng.int(11);
      const K = rng.int(10);
      const special = trial % 2 === 1;
      for (const op of OPS) {
        const A = randomMatrix(rng, M * K, special);
        const B = randomMatrix(rng, N * K, special);
        const C = randomMatrix(rng, M * N, special);
        assertAgrees(wasm, op, M, N, K, A, B, C, special ? 'with non-finite values' : '');
      }
    }
  });

  it('works on views into larger buffers and at the engine\'s sizes', () => {
    const wasm = wasmAlways();
    const rng = new Rng(5);
    for (const [M, N, K] of [[16, 256, 64], [16, 64, 256], [256, 64, 16], [1, 96, 32], [33, 7, 130], [3, 37, 20], [2, 512, 96], [64, 2, 4000], [48, 3, 1000], [37, 18, 700], [8, 4, 513]]) {
      for (const op of OPS) {
        const pad = 3;
        const bufA = randomMatrix(rng, M * K + 2 * pad, false);
        const bufB = randomMatrix(rng, N * K + 2 * pad, false);
        const bufC = randomMatrix(rng, M * N + 2 * pad, false);
        const A = bufA.subarray(pad, pad + M * K);
        const B = bufB.subarray(pad, pad + N * K);
        const expectedC = Float64Array.from(bufC);
        const actualC = Float64Array.from(bufC);
        jsKernels[op](M, N, K, A, B, expectedC.subarray(pad, pad + M * N));
        wasm[op](M, N, K, A, B, actualC.subarray(pad, pad + M * N));
        assertSameBits(actualC, expectedC, `${op} ${M}x${N}x${K} (with the untouched borders)`);
      }
    }
  });

  it('gives the same bits for a Gram matrix: one array passed as both operands of gemmABt, and gram', () => {
    const wasm = wasmAlways();
    const rng = new Rng(31);
    for (const [M, K] of [[32, 128], [16, 256], [7, 33], [5, 1], [1, 9], [4, 64]]) {
      for (const special of [false, true]) {
        const A = randomMatrix(rng, M * K, special);
        const C = randomMatrix(rng, M * M, special);
        assertAgrees(wasm, 'gemmABt', M, M, K, A, A, C, `A·Aᵀ${special ? ' with non-finite values' : ''}`);
        // gram: the upper tiles, mirrored, overwriting G; the TypeScript path zeroes G and adds A·Aᵀ.
        const expected = new Float64Array(M * M);
        jsKernels.gemmABt(M, M, K, A, A, expected);
        const actual = randomMatrix(rng, M * M, true);
        assert.ok(wasm.gram?.(M, K, A, actual), 'every product goes to WebAssembly');
        assertSameBits(actual, expected, `gram ${M}x${K}${special ? ' with non-finite values' : ''}`);
        // At the default thresholds small Gram matrices stay in TypeScript (gramMatrix's
        // gemmABt route): the same bits.
        const atDefaults = createWasmKernels();
        assert.ok(atDefaults);
        const small = randomMatrix(rng, M * M, true);
        setKernels(atDefaults);
        try {
          gramMatrix(M, K, A, small);
        } finally {
          setKernels(jsKernels);
        }
        assertSameBits(small, expected, `gram ${M}x${K} at the default thresholds`);
      }
    }
  });

  it('reads only the first M·K / N·K values of longer operands and writes only the first M·N of C', () => {
    const wasm = wasmAlways();
    const rng = new Rng(11);
    for (const [M, N, K] of [[5, 6, 7], [8, 8, 8], [3, 9, 1]]) {
      for (const op of OPS) {
        // Whole arrays with a tail (not subarrays of the exact length), as a caller may pass.
        const A = randomMatrix(rng, M * K + 5, false);
        const B = randomMatrix(rng, N * K + 7, false);
        const C = randomMatrix(rng, M * N + 9, false);
        assertAgrees(wasm, op, M, N, K, A, B, C, 'with longer operands');
      }
    }
  });

  it('agrees on zero-size products (K = 0 still adds +0 to C, turning -0 into +0)', () => {
    const wasm = wasmAlways();
    const rng = new Rng(12);
    for (const [M, N, K] of [[0, 5, 3], [4, 0, 3], [0, 0, 0], [4, 5, 0], [0, 4, 0]]) {
      for (const op of OPS) {
        const A = randomMatrix(rng, M * K, true);
        const B = randomMatrix(rng, N * K, true);
        const C = randomMatrix(rng, M * N + 2, true);
        assertAgrees(wasm, op, M, N, K, A, B, C, '(zero size)');
      }
    }
  });

  it('splits products too big for the memory as it is instead of growing it, with the same bits', () => {
    // Growing detaches the memory's buffer, which slows every typed-array access in the
    // process afterwards (wasmModule.ts). 1 MiB holds 131,072 doubles; each product below
    // needs two to three times that.
    const wasm = createWasmKernels({ everything: true, initialBytes: 1 << 20 });
    assert.ok(wasm);
    const grow = WebAssembly.Memory.prototype.grow;
    let grows = 0;
    WebAssembly.Memory.prototype.grow = function (this: WebAssembly.Memory, delta: number) {
      grows++;
      return grow.call(this, delta);
    };
    try {
      const rng = new Rng(29);
      const cases: [(typeof OPS)[number], number, number, number][] = [
        ['gemmABt', 2001, 40, 64], ['gemmAB', 2001, 40, 64], ['gemmAtB', 40, 36, 3001], ['gemmAtB', 41, 1, 6001], ['gemmAtB', 40, 2, 3001],
        // Too wide even for one block of k at a time: split over k down to pieces that fit.
        ['gemmAtB', 300, 300, 1001],
      ];
      for (const [op, M, N, K] of cases) {
        const A = randomMatrix(rng, M * K, false);
        const B = randomMatrix(rng, N * K, false);
        const C = randomMatrix(rng, M * N, false);
        assertAgrees(wasm, op, M, N, K, A, B, C, '(split to fit)');
      }
    } finally {
      WebAssembly.Memory.prototype.grow = grow;
    }
    assert.equal(grows, 0, 'the memory grew');
  });

  it('falls back to the TypeScript kernels when the module memory cannot grow', () => {
    const wasm = createWasmKernels({ everything: true, initialBytes: 65536 }); // one 64 KiB page, too small for 64 x 64 x 64
    assert.ok(wasm);
    const grow = WebAssembly.Memory.prototype.grow;
    WebAssembly.Memory.prototype.grow = () => {
      throw new RangeError('WebAssembly.Memory.grow(): Maximum memory size exceeded');
    };
    try {
      const rng = new Rng(13);
      // 64³, and a weight gradient over 700 k (packed block by block when there is room).
      for (const [M, N, K] of [[64, 64, 64], [64, 64, 700]]) {
        for (const op of OPS) {
          const A = randomMatrix(rng, M * K, false);
          const B = randomMatrix(rng, N * K, false);
          const C = randomMatrix(rng, M * N, false);
          assertAgrees(wasm, op, M, N, K, A, B, C, 'without memory growth');
        }
      }
      const A = randomMatrix(rng, 64 * 300, true);
      const expected = new Float64Array(64 * 64);
      jsKernels.gemmABt(64, 64, 300, A, A, expected);
      const actual = randomMatrix(rng, 64 * 64, true);
      setKernels(wasm);
      try {
        gramMatrix(64, 300, A, actual);
      } finally {
        setKernels(jsKernels);
      }
      assertSameBits(actual, expected, 'gram without memory growth');
    } finally {
      WebAssembly.Memory.prototype.grow = grow;
    }
  });

  it('leaves runPass results and every probe unchanged', () => {
    for (const config of cellConfigs()) {
      const c = makeCase(config, 'mse', 'many-to-many', 11, null, { H: 6, T: 7, B: 3, I: 2, O: 2 });
      const opts = { loss: c.loss, probes: { itemized: true } };
      setKernels(jsKernels);
      setActivationKernels(jsActivations);
      const reference = runPass(c.model, c.batch, opts);
      setKernels(wasmAlways());
      setActivationKernels(wasmActivationsAlways());
      const fast = runPass(c.model, c.batch, opts);
      setKernels(jsKernels);
      setActivationKernels(jsActivations);
      assert.deepStrictEqual(fast, reference, c.name);
    }
  });

  it('passes the finite-difference gradient check with the WebAssembly path on', () => {
    setKernels(wasmAlways());
    setActivationKernels(wasmActivationsAlways());
    try {
      for (const config of cellConfigs()) {
        // The seed A's gradient checks use (relu's kink is not crossed by the FD stencil there).
        const c = makeCase(config, 'xent', 'many-to-many');
        const result = runPass(c.model, c.batch, { loss: c.loss, probes: { jacobian: false } });
        const obj = objective(c);
        for (const name of c.model.params.keys()) {
          const { err, at } = worst(result.grads.get(name)!.data, fdParam(obj, c.model, name));
          assert.ok(err <= TOLERANCE, `${c.name} ${name}[${at}] relErr ${err}`);
        }
      }
    } finally {
      setKernels(jsKernels);
      setActivationKernels(jsActivations);
    }
  });

  it('enableWasmKernels installs the default-threshold kernels and the activations, and disableWasmKernels removes both', () => {
    assert.equal(enableWasmKernels(), true);
    assert.notEqual(activationKernels(), jsActivations);
    disableWasmKernels();
    assert.equal(activationKernels(), jsActivations);
  });
});
