// Losses on the head outputs (design §2), with their gradient.
//   mse : mean over every scored output element (torch.nn.functional.mse_loss).
//   xent: softmax cross-entropy against target probabilities, mean over the scored
//         outputs (B for many-to-one, B*T for many-to-many).
// The loss is returned as per-step terms ℓ_t (L = Σ_t ℓ_t, each already divided by the
// mean's count), which the itemized probe and its tests need.

import type { Batch, LossKind } from './types';

/** Timesteps whose output is scored: only T−1 for many-to-one, all for many-to-many. */
export function isScored(batch: Batch, t: number): boolean {
  return batch.mode === 'many-to-many' || t === batch.steps - 1;
}

/** Index of target (b, t, 0) in batch.y. */
function targetOffset(batch: Batch, b: number, t: number): number {
  return batch.mode === 'many-to-many' ? (b * batch.steps + t) * batch.outputSize : b * batch.outputSize;
}

/**
 * Y: head outputs, time-major [T][B][O]. Writes terms[t] (0 where unscored) and, if dY is
 * given, dL/dY (time-major, zero where unscored). Returns L = Σ_t terms[t]. `scale`
 * multiplies the loss (a checkpointed segment re-normalizes its mean to the whole sequence).
 */
export function computeLoss(kind: LossKind, batch: Batch, Y: Float64Array, terms: Float64Array, dY: Float64Array | null, scale = 1): number {
  const { batchSize: B, steps: T, outputSize: O } = batch;
  const scoredSteps = batch.mode === 'many-to-many' ? T : 1;
  const count = kind === 'mse' ? B * O * scoredSteps : B * scoredSteps;
  const inv = scale / count;
  if (dY) dY.fill(0);
  terms.fill(0);
  let total = 0;
  for (let t = 0; t < T; t++) {
    if (!isScored(batch, t)) continue;
    let term = 0;
    for (let b = 0; b < B; b++) {
      const yo = (t * B + b) * O;
      const to = targetOffset(batch, b, t);
      if (kind === 'mse') {
        for (let o = 0; o < O; o++) {
          const e = Y[yo + o] - batch.y[to + o];
          term += e * e;
          if (dY) dY[yo + o] = 2 * e * inv;
        }
      } else {
        // -Σ_o p_o log softmax(y)_o = Σ_o p_o (lse − y_o), with a max-shifted log-sum-exp.
        let m = -Infinity;
        for (let o = 0; o < O; o++) m = Math.max(m, Y[yo + o]);
        if (!Number.isFinite(m)) m = 0; // keeps NaN/Inf visible downstream instead of NaN from Inf−Inf
        let se = 0;
        for (let o = 0; o < O; o++) se += Math.exp(Y[yo + o] - m);
        const lse = m + Math.log(se);
        let psum = 0;
        for (let o = 0; o < O; o++) {
          const p = batch.y[to + o];
          psum += p;
          term += p * (lse - Y[yo + o]);
        }
        if (dY) {
          // d/dy_o = softmax_o Σp − p_o (= softmax − p for a proper distribution).
          for (let o = 0; o < O; o++) dY[yo + o] = (Math.exp(Y[yo + o] - lse) * psum - batch.y[to + o]) * inv;
        }
      }
    }
    terms[t] = term * inv;
    total += terms[t];
  }
  return total;
}
