// Gradient norm and clipping.
//   norm   g <- g * theta / ||g|| when ||g|| > theta, ||g|| the global L2 norm over every
//          tensor (Pascanu et al. 2013; torch.nn.utils.clip_grad_norm_ minus its 1e-6 eps)
//   value  clamp every element to [-theta, theta] (torch.nn.utils.clip_grad_value_)
// A non-finite gradient is a finding, not an error: its norm is reported (NaN or
// Infinity) and norm clipping leaves the gradient untouched (scaling by theta/Inf or
// theta/NaN would only turn the finite entries into 0 or NaN and hide where it came from).

import type { ClipSpec, ParamSet } from './types';

export interface ClipResult {
  /** Global L2 norm before clipping. */
  before: number;
  /** Global L2 norm after clipping (= before when nothing was clipped). */
  after: number;
  clipped: boolean;
}

/**
 * Global L2 norm over all tensors, computed as scale * sqrt(sum((g/scale)^2)) with
 * scale = max |g| so that neither 1e200 gradients overflow nor 1e-300 ones underflow to 0.
 * NaN if any entry is NaN, Infinity if any is infinite (and none NaN).
 */
export function gradNorm(grads: ParamSet): number {
  let scale = 0;
  let sawNaN = false;
  for (const g of grads.values()) {
    const d = g.data;
    for (let k = 0; k < d.length; k++) {
      const a = Math.abs(d[k]);
      if (a > scale) scale = a;
      else if (a !== a) sawNaN = true;
    }
  }
  if (sawNaN) return Number.NaN;
  if (scale === 0 || scale === Infinity) return scale;
  let sum = 0;
  for (const g of grads.values()) {
    const d = g.data;
    for (let k = 0; k < d.length; k++) {
      const v = d[k] / scale;
      sum += v * v;
    }
  }
  return scale * Math.sqrt(sum);
}

/** Clip `grads` in place according to `clip`. */
export function clipGradients(grads: ParamSet, clip: ClipSpec): ClipResult {
  const before = gradNorm(grads);
  if (clip.kind === 'none') return { before, after: before, clipped: false };
  const theta = clip.threshold;
  if (!(theta > 0) || !Number.isFinite(theta)) throw new Error(`clipGradients: threshold must be finite and > 0, got ${theta}`);

  if (clip.kind === 'norm') {
    if (!Number.isFinite(before) || before <= theta) return { before, after: before, clipped: false };
    const factor = theta / before;
    for (const g of grads.values()) {
      const d = g.data;
      for (let k = 0; k < d.length; k++) d[k] *= factor;
    }
    return { before, after: gradNorm(grads), clipped: true };
  }

  let clipped = false;
  for (const g of grads.values()) {
    const d = g.data;
    for (let k = 0; k < d.length; k++) {
      // NaN compares false both ways and stays NaN, as with torch.clamp.
      if (d[k] > theta) {
        d[k] = theta;
        clipped = true;
      } else if (d[k] < -theta) {
        d[k] = -theta;
        clipped = true;
      }
    }
  }
  return { before, after: clipped ? gradNorm(grads) : before, clipped };
}
