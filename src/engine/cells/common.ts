// Small helpers shared by the classic cells (rnn.ts, lstm.ts, gru.ts).

import type { Rng } from '../rng';

export const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** U(−bound, bound) on every listed parameter, in the order listed. */
export function uniformFill(get: (name: string) => Float64Array, names: readonly string[], bound: number, rng: Rng): void {
  for (const name of names) {
    const d = get(name);
    for (let k = 0; k < d.length; k++) d[k] = rng.range(-bound, bound);
  }
}
