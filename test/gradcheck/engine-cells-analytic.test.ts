// Analytic cases of design §8 / issue 9, exact to 1e-12 (relative): cells whose step Jacobian
// is diagonal and known in closed form, so jacobianNorm (power iteration through the cell's
// jvp and backward step) must equal σ_max of that diagonal, computed here from the weights
// and the input alone.
//   lru     ∂h_t/∂h_{t-1} = diag(λ) (complex; each (Re, Im) pair a scaled rotation):
//           jacobianNorm[t] = max_j |λ_j| = max_j exp(−exp(ν_j)) at every step
//   mingru  diag(1 − z_t), z_t = σ(W_z x_t + b_z): the mean over the batch of max_j (1 − z_t,j)
//   s6      diag(exp(Δ_t A)), Δ_t = softplus(W_Δ x_t + b_Δ), A = −exp(A_log): the mean over the
//           batch of max_{d,n} exp(Δ_t[d] A[d,n])
// Power iteration converges geometrically in the ratio of the two largest singular values;
// the weights below keep that ratio ≤ 0.9, and the iteration cap is high enough to reach
// machine precision (it stops itself once the estimate no longer moves).

import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { runPass } from '../../src/engine/bptt';
import { initializeModel } from '../../src/engine/init';
import { createModel, defaultModelConfig } from '../../src/engine/model';
import { Rng } from '../../src/engine/rng';
import type { Batch, Model, ModelConfig } from '../../src/engine/types';

const EXACT = 1e-12;
const B = 3;
const T = 6;
const I = 2;

function setup(partial: Partial<ModelConfig>, seed: number): { model: Model; batch: Batch } {
  const model = createModel(defaultModelConfig({ inputSize: I, hiddenSize: 4, outputSize: 1, ...partial }));
  const rng = new Rng(seed);
  initializeModel(model, { scheme: 'pytorch', spectralRadius: null, forgetBias: false }, rng);
  const x = Float64Array.from({ length: B * T * I }, () => rng.range(-1, 1));
  const y = Float64Array.from({ length: B * T }, () => rng.range(-1, 1));
  return { model, batch: { batchSize: B, steps: T, inputSize: I, outputSize: 1, mode: 'many-to-many', x, y } };
}

function jacobianNorm(model: Model, batch: Batch): number[] {
  const { record } = runPass(model, batch, { loss: 'mse', probes: { jacobianIterations: 100000, weightGradByStep: false, gates: false } });
  return record.layers[0].jacobianNorm!;
}

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));
const softplus = (v: number): number => (v > 0 ? v + Math.log1p(Math.exp(-v)) : Math.log1p(Math.exp(v)));
const xAt = (batch: Batch, b: number, t: number, i: number): number => batch.x[(b * T + t) * I + i];

const worst = { err: 0, checks: 0 };
after(() => console.log(`# analytic jacobianNorm: ${worst.checks} values compared, max relative error ${worst.err.toExponential(2)} (tolerance ${EXACT})`));

function assertExact(actual: number, expected: number, what: string): void {
  const e = Math.abs(actual - expected) / Math.abs(expected);
  worst.checks++;
  worst.err = Math.max(worst.err, e);
  assert.ok(e <= EXACT, `${what}: ${actual} vs ${expected} (relErr ${e.toExponential(2)})`);
}

test('lru: jacobianNorm[t] = max_j |λ_j| at every step, exactly', () => {
  const { model, batch } = setup({ cell: 'lru' }, 3);
  // |λ| = 0.5, 0.95, 0.7, 0.85 (ratio of the two largest ≈ 0.89), random phases from init.
  const radii = [0.5, 0.95, 0.7, 0.85];
  const nu = model.params.get('nu_log_l0')!.data;
  radii.forEach((r, j) => (nu[j] = Math.log(-Math.log(r))));
  const expected = Math.max(...Array.from(nu, (v) => Math.exp(-Math.exp(v))));
  assertExact(expected, 0.95, 'max |λ| from ν');
  const got = jacobianNorm(model, batch);
  got.forEach((v, t) => assertExact(v, expected, `jacobianNorm[${t}]`));
});

test('mingru: jacobianNorm[t] = mean over the batch of max_j (1 − z_t,j), exactly', () => {
  const { model, batch } = setup({ cell: 'mingru' }, 5);
  const H = 4;
  const w = model.params.get('weight_ih_l0')!.data; // [2H, I], rows 0..H-1 are z
  const bias = model.params.get('bias_ih_l0')!.data;
  // Spread the z biases so that max_j (1 − z_j) is well separated from the runner-up.
  [-2.5, 0, 1, 2].forEach((v, j) => (bias[j] = v));
  const got = jacobianNorm(model, batch);
  for (let t = 0; t < T; t++) {
    let mean = 0;
    for (let b = 0; b < B; b++) {
      let best = 0;
      for (let j = 0; j < H; j++) {
        let a = bias[j];
        for (let i = 0; i < I; i++) a += w[j * I + i] * xAt(batch, b, t, i);
        best = Math.max(best, 1 - sigmoid(a));
      }
      mean += best / B;
    }
    assertExact(got[t], mean, `jacobianNorm[${t}]`);
  }
});

test('s6: jacobianNorm[t] = mean over the batch of max_{d,n} exp(Δ_t[d] A[d,n]), exactly', () => {
  const N = 3;
  const { model, batch } = setup({ cell: 's6', cellOptions: { stateSize: N } }, 7);
  const H = 4;
  const wdt = model.params.get('weight_dt_l0')!.data; // [H, I]
  const bdt = model.params.get('bias_dt_l0')!.data;
  const aLog = model.params.get('A_log_l0')!.data; // [H, N]
  // Δ biases spread (Δ ≈ 0.05 … 1.3), so the largest exp(Δ A) stands apart.
  [-3, -1, 0, 1].forEach((v, d) => (bdt[d] = v));
  const got = jacobianNorm(model, batch);
  for (let t = 0; t < T; t++) {
    let mean = 0;
    for (let b = 0; b < B; b++) {
      let best = 0;
      for (let d = 0; d < H; d++) {
        let a = bdt[d];
        for (let i = 0; i < I; i++) a += wdt[d * I + i] * xAt(batch, b, t, i);
        const delta = softplus(a);
        for (let n = 0; n < N; n++) best = Math.max(best, Math.exp(delta * -Math.exp(aLog[d * N + n])));
      }
      mean += best / B;
    }
    assertExact(got[t], mean, `jacobianNorm[${t}]`);
  }
});
