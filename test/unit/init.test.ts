import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initializeModel, orthogonalMatrix, spectralRadius } from '../../src/engine/init';
import { Rng } from '../../src/engine/rng';
import type { CellKind, Model, ModelConfig, ParamSet } from '../../src/engine/types';

// Builds the parameter set by the PyTorch naming contract of types.ts, independently of
// model.ts, so these tests pin init's behaviour on the contract itself.
function makeModel(cell: CellKind, H: number, I: number, layers = 1, bidirectional = false, O = 2): Model {
  const G = cell === 'lstm' ? 4 : cell === 'gru' ? 3 : 1;
  const D = bidirectional ? 2 : 1;
  const params: ParamSet = new Map();
  const add = (name: string, shape: number[]) => params.set(name, { shape, data: new Float64Array(shape.reduce((a, b) => a * b, 1)) });
  for (let l = 0; l < layers; l++) {
    for (const suffix of bidirectional ? ['', '_reverse'] : ['']) {
      add(`weight_ih_l${l}${suffix}`, [G * H, l === 0 ? I : D * H]);
      add(`weight_hh_l${l}${suffix}`, [G * H, H]);
      add(`bias_ih_l${l}${suffix}`, [G * H]);
      add(`bias_hh_l${l}${suffix}`, [G * H]);
    }
  }
  add('head.weight', [O, D * H]);
  add('head.bias', [O]);
  const config: ModelConfig = { cell, nonlinearity: 'tanh', variant: 'vanilla', inputSize: I, hiddenSize: H, numLayers: layers, bidirectional, outputSize: O };
  return { config, params };
}

function block(model: Model, name: string, g: number): Float64Array {
  const t = model.params.get(name)!;
  const H = model.config.hiddenSize;
  const cols = t.shape[1];
  return t.data.slice(g * H * cols, (g + 1) * H * cols);
}

test('pytorch scheme: every recurrent entry within 1/sqrt(H), head within 1/sqrt(D*H), spread fills the range', () => {
  const m = makeModel('lstm', 16, 3, 2, true);
  initializeModel(m, { scheme: 'pytorch', spectralRadius: null, forgetBias: false }, new Rng(1));
  for (const [name, t] of m.params) {
    const bound = name.startsWith('head.') ? 1 / Math.sqrt(32) : 1 / 4;
    const max = Math.max(...t.data.map(Math.abs));
    assert.ok(max <= bound, `${name} max ${max} > ${bound}`);
    if (t.data.length >= 64) assert.ok(max > 0.8 * bound, `${name} max ${max} does not fill the range`);
  }
});

test('deterministic: same seed, same weights; other seed, other weights', () => {
  const a = makeModel('gru', 5, 2);
  const b = makeModel('gru', 5, 2);
  const c = makeModel('gru', 5, 2);
  for (const [m, s] of [[a, 7], [b, 7], [c, 8]] as const) initializeModel(m, { scheme: 'orthogonal', spectralRadius: 0.9, forgetBias: false }, new Rng(s));
  assert.deepEqual(a.params.get('weight_hh_l0')!.data, b.params.get('weight_hh_l0')!.data);
  assert.notDeepEqual(a.params.get('weight_hh_l0')!.data, c.params.get('weight_hh_l0')!.data);
});

test('xavier: gate blocks within the Glorot bound, biases zero', () => {
  const m = makeModel('lstm', 8, 3);
  initializeModel(m, { scheme: 'xavier', spectralRadius: null, forgetBias: false }, new Rng(2));
  const ih = m.params.get('weight_ih_l0')!.data;
  assert.ok(Math.max(...ih.map(Math.abs)) <= Math.sqrt(6 / (3 + 8)));
  const hh = m.params.get('weight_hh_l0')!.data;
  assert.ok(Math.max(...hh.map(Math.abs)) <= Math.sqrt(6 / 16));
  assert.ok(m.params.get('bias_ih_l0')!.data.every((v) => v === 0));
  assert.ok(m.params.get('head.bias')!.data.every((v) => v === 0));
});

test('orthogonal: each W_hh gate block satisfies Q^T Q = I', () => {
  const H = 6;
  const m = makeModel('gru', H, 2);
  initializeModel(m, { scheme: 'orthogonal', spectralRadius: null, forgetBias: false }, new Rng(3));
  for (let g = 0; g < 3; g++) {
    const q = block(m, 'weight_hh_l0', g);
    for (let i = 0; i < H; i++) {
      for (let j = 0; j < H; j++) {
        let dot = 0;
        for (let k = 0; k < H; k++) dot += q[k * H + i] * q[k * H + j];
        assert.ok(Math.abs(dot - (i === j ? 1 : 0)) < 1e-12, `block ${g} (${i},${j}) = ${dot}`);
      }
    }
  }
});

test('identity (IRNN): W_hh = I per gate block, biases 0', () => {
  const m = makeModel('rnn', 4, 2);
  initializeModel(m, { scheme: 'identity', spectralRadius: null, forgetBias: false }, new Rng(4));
  assert.deepEqual(Array.from(m.params.get('weight_hh_l0')!.data), [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
  assert.ok(m.params.get('bias_hh_l0')!.data.every((v) => v === 0));
  const lstm = makeModel('lstm', 3, 2);
  initializeModel(lstm, { scheme: 'identity', spectralRadius: null, forgetBias: false }, new Rng(4));
  for (let g = 0; g < 4; g++) assert.deepEqual(Array.from(block(lstm, 'weight_hh_l0', g)), [1, 0, 0, 0, 1, 0, 0, 0, 1]);
});

test('spectralRadius: diagonal, triangular, rotation (complex pair), Jordan block, nilpotent, similarity transform', () => {
  const close = (a: number, b: number, tol = 1e-10) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);
  close(spectralRadius(Float64Array.from([0.5, 0, 0, -2]), 2), 2);
  close(spectralRadius(Float64Array.from([0.3, 5, 7, 0, -0.9, 11, 0, 0, 0.2]), 3), 0.9);
  // Rotation by 0.3 rad scaled by 1.7: eigenvalues 1.7 e^{+-0.3i}, where power iteration oscillates.
  const c = 1.7 * Math.cos(0.3);
  const s = 1.7 * Math.sin(0.3);
  close(spectralRadius(Float64Array.from([c, -s, s, c]), 2), 1.7);
  // Defective: Jordan block with eigenvalue 0.8 (||A^k||^(1/k) converges only like k^(1/k)).
  close(spectralRadius(Float64Array.from([0.8, 1, 0, 0, 0.8, 1, 0, 0, 0.8]), 3), 0.8, 1e-9);
  assert.equal(spectralRadius(Float64Array.from([0, 1, 0, 0]), 2), 0);
  // A = P diag(1.2, -1.2, 0.5) P^-1 with P non-orthogonal: two dominant eigenvalues of equal modulus.
  const P = [1, 2, 0, 0, 1, 3, 1, 0, 1];
  const Pinv = invert3(P);
  const D = [1.2, -1.2, 0.5];
  const A = new Float64Array(9);
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 3; k++) A[i * 3 + j] += P[i * 3 + k] * D[k] * Pinv[k * 3 + j];
  close(spectralRadius(A, 3), 1.2);
});

function invert3(m: number[]): number[] {
  const [a, b, c, d, e, f, g, h, i] = m;
  const A = e * i - f * h, B = -(d * i - f * g), C = d * h - e * g;
  const det = a * A + b * B + c * C;
  return [A, -(b * i - c * h), b * f - c * e, B, a * i - c * g, -(a * f - c * d), C, -(a * h - b * g), a * e - b * d].map((v) => v / det);
}

test('spectral radius rescale: every W_hh gate block ends at the target radius', () => {
  const H = 10;
  for (const scheme of ['pytorch', 'xavier', 'orthogonal', 'identity'] as const) {
    const m = makeModel('lstm', H, 3, 2);
    initializeModel(m, { scheme, spectralRadius: 1.3, forgetBias: false }, new Rng(5));
    for (const name of ['weight_hh_l0', 'weight_hh_l1']) {
      for (let g = 0; g < 4; g++) {
        const r = spectralRadius(block(m, name, g), H);
        assert.ok(Math.abs(r - 1.3) < 1e-9, `${scheme} ${name} block ${g}: ${r}`);
      }
    }
  }
});

test('forgetBias: b_ih f-block 1, b_hh f-block 0, other gates untouched; ignored for GRU', () => {
  const H = 3;
  const m = makeModel('lstm', H, 2);
  initializeModel(m, { scheme: 'pytorch', spectralRadius: null, forgetBias: true }, new Rng(6));
  const bih = m.params.get('bias_ih_l0')!.data;
  const bhh = m.params.get('bias_hh_l0')!.data;
  for (let k = H; k < 2 * H; k++) {
    assert.equal(bih[k], 1);
    assert.equal(bhh[k], 0);
  }
  assert.ok(bih.slice(0, H).every((v) => v !== 0 && Math.abs(v) < 1));
  const ref = makeModel('lstm', H, 2);
  initializeModel(ref, { scheme: 'pytorch', spectralRadius: null, forgetBias: false }, new Rng(6));
  assert.deepEqual(bih.slice(2 * H), ref.params.get('bias_ih_l0')!.data.slice(2 * H));
  const gru = makeModel('gru', H, 2);
  const gruRef = makeModel('gru', H, 2);
  initializeModel(gru, { scheme: 'pytorch', spectralRadius: null, forgetBias: true }, new Rng(6));
  initializeModel(gruRef, { scheme: 'pytorch', spectralRadius: null, forgetBias: false }, new Rng(6));
  assert.deepEqual(gru.params.get('bias_ih_l0')!.data, gruRef.params.get('bias_ih_l0')!.data);
});

test('orthogonalMatrix is orthogonal for n = 1..12', () => {
  const rng = new Rng(9);
  for (let n = 1; n <= 12; n++) {
    const q = orthogonalMatrix(n, rng);
    for (let i = 0; i < n; i++) {
      let row = 0;
      for (let k = 0; k < n; k++) row += q[i * n + k] ** 2;
      assert.ok(Math.abs(row - 1) < 1e-12);
    }
  }
});
