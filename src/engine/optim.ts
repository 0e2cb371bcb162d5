// Optimizers, written to give the same numbers as torch.optim with default flags
// (no weight decay, dampening 0, no Nesterov, no amsgrad):
//   sgd       p <- p - lr g
//   momentum  buf <- mu buf + g (buf starts at 0, so the first buf is g, as in PyTorch);
//             p <- p - lr buf
//   adam      m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;
//             p <- p - (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps)
// The last line is torch.optim.Adam's single-tensor formula verbatim (eps added after
// the bias correction of v), so results match it to rounding.
// State buffers are allocated on the first step, one per parameter name, and reused.

import type { OptimizerKind, ParamSet } from './types';

export interface OptimizerSpec {
  kind: OptimizerKind;
  learningRate: number;
  /** SGD momentum mu (default 0.9); used by 'momentum' only. */
  momentum?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
}

export interface Optimizer {
  /** Update `params` in place from `grads` (same names and shapes). */
  step(params: ParamSet, grads: ParamSet): void;
  /** Number of steps taken so far. */
  readonly steps: number;
}

export function createOptimizer(spec: OptimizerSpec): Optimizer {
  const lr = spec.learningRate;
  if (!(lr >= 0) || !Number.isFinite(lr)) throw new Error(`createOptimizer: learningRate must be finite and >= 0, got ${lr}`);
  const mu = spec.momentum ?? 0.9;
  const beta1 = spec.beta1 ?? 0.9;
  const beta2 = spec.beta2 ?? 0.999;
  const eps = spec.eps ?? 1e-8;
  const first = new Map<string, Float64Array>(); // momentum buffer, or Adam's m
  const second = new Map<string, Float64Array>(); // Adam's v
  let t = 0;

  const buffer = (store: Map<string, Float64Array>, name: string, size: number): Float64Array => {
    let b = store.get(name);
    if (!b) {
      b = new Float64Array(size);
      store.set(name, b);
    } else if (b.length !== size) {
      throw new Error(`optimizer: parameter '${name}' changed size from ${b.length} to ${size}`);
    }
    return b;
  };

  return {
    get steps() {
      return t;
    },
    step(params: ParamSet, grads: ParamSet): void {
      t++;
      const bc1 = 1 - beta1 ** t;
      const bc2Sqrt = Math.sqrt(1 - beta2 ** t);
      for (const [name, p] of params) {
        const g = grads.get(name);
        if (!g) throw new Error(`optimizer: no gradient for parameter '${name}'`);
        if (g.data.length !== p.data.length) throw new Error(`optimizer: gradient of '${name}' has ${g.data.length} entries, parameter has ${p.data.length}`);
        const pd = p.data;
        const gd = g.data;
        const n = pd.length;
        if (spec.kind === 'sgd') {
          for (let k = 0; k < n; k++) pd[k] -= lr * gd[k];
        } else if (spec.kind === 'momentum') {
          const buf = buffer(first, name, n);
          for (let k = 0; k < n; k++) {
            buf[k] = mu * buf[k] + gd[k];
            pd[k] -= lr * buf[k];
          }
        } else {
          const m = buffer(first, name, n);
          const v = buffer(second, name, n);
          const stepSize = lr / bc1;
          for (let k = 0; k < n; k++) {
            const gk = gd[k];
            m[k] = beta1 * m[k] + (1 - beta1) * gk;
            v[k] = beta2 * v[k] + (1 - beta2) * gk * gk;
            pd[k] -= (stepSize * m[k]) / (Math.sqrt(v[k]) / bc2Sqrt + eps);
          }
        }
      }
    },
  };
}
