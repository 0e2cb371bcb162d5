// Small helpers shared by the cells.

import type { Rng } from '../rng';

export const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** U(−bound, bound) on every listed parameter, in the order listed. */
export function uniformFill(get: (name: string) => Float64Array, names: readonly string[], bound: number, rng: Rng): void {
  for (const name of names) {
    const d = get(name);
    for (let k = 0; k < d.length; k++) d[k] = rng.range(-bound, bound);
  }
}

/** U(−1/√H, 1/√H), PyTorch's recurrent-layer default, on every listed parameter. */
export function uniformInit(get: (name: string) => Float64Array, names: readonly string[], H: number, rng: Rng): void {
  uniformFill(get, names, 1 / Math.sqrt(H), rng);
}

export function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

/** The inverse of softplus, for y > 0: log(eʸ − 1), written to stay exact for small and large y. */
export function softplusInverse(y: number): number {
  return y + Math.log(-Math.expm1(-y));
}
