// minGRU (Feng et al. 2024, "Were RNNs All We Needed?", design §8):
//   z_t = σ(W_z x_t + b_z),  h̃_t = g(W_h x_t + b_h),  h_t = (1 − z_t) ⊙ h_{t-1} + z_t ⊙ h̃_t,
// g(x) = x + ½ for x ≥ 0 and σ(x) for x < 0 (continuous at 0; its slope jumps from ¼ to 1).
// No hidden-to-hidden weight: every gate reads x_t only, so the step Jacobian is exactly
// diag(1 − z_t). State h; out_t = h_t. Gates `z` (sigmoid) and `h` (the value h̃ = g(·);
// recorded as 'identity', i.e. never counted as saturated: g has no upper bound).
//
// Init: weight_ih [2H, I] and bias_ih [2H] (blocks z, h) ~ U(−1/√H, 1/√H), PyTorch's
// recurrent-layer default (the paper's code uses nn.Linear's U(±1/√I), the same when I = H).

import type { BackwardIO, Cell, CellOptions, GateSpec, JvpIO, ParamSpec, ProjectionBlock, StatePart, StepIO } from './cell';
import type { Rng } from '../rng';
import { sigmoid, uniformInit } from './common';

/** g(x) of minGRU/minLSTM: x + ½ for x ≥ 0, σ(x) below. */
export function gPositive(x: number): number {
  return x >= 0 ? x + 0.5 : sigmoid(x);
}

/** g'(x) from y = g(x): 1 where x ≥ 0 (y ≥ ½), σ'(x) = y(1 − y) where x < 0 (y < ½). */
export function gSlope(y: number): number {
  return y >= 0.5 ? 1 : y * (1 - y);
}

export class MinGruCell implements Cell {
  readonly name = 'mingru';
  readonly params: readonly ParamSpec[];
  readonly projection: readonly ProjectionBlock[];
  readonly recurrent = null;
  readonly recShared = false;
  readonly nodeC = null;
  readonly state: readonly StatePart[];
  readonly outPart = 'h';
  readonly outSize: number;
  readonly cacheSize: number; // [z (H), h̃ (H)]
  readonly gates: readonly GateSpec[];

  constructor(
    readonly inputSize: number,
    readonly hiddenSize: number,
    _options: CellOptions = {},
  ) {
    const H = hiddenSize;
    this.params = [
      { name: 'weight_ih', shape: [2 * H, inputSize], role: 'input' },
      { name: 'bias_ih', shape: [2 * H], role: 'inputBias' },
    ];
    this.projection = [{ weight: 'weight_ih', bias: 'bias_ih', rows: 2 * H }];
    this.state = [{ name: 'h', size: H }];
    this.outSize = H;
    this.cacheSize = 2 * H;
    this.gates = [
      { name: 'z', offset: 0, width: H, activation: 'sigmoid', gradOffset: 0 },
      { name: 'h', offset: H, width: H, activation: 'identity', gradOffset: H },
    ];
  }

  init(get: (name: string) => Float64Array, rng: Rng): void {
    uniformInit(get, ['weight_ih', 'bias_ih'], this.hiddenSize, rng);
  }

  forward(io: StepIO): void {
    const H = this.hiddenSize;
    const { B, proj, cache } = io;
    const prev = io.prev[0];
    const next = io.next[0];
    for (let b = 0; b < B; b++) {
      const p = b * 2 * H;
      for (let j = 0; j < H; j++) {
        const z = sigmoid(proj[p + j]);
        const ht = gPositive(proj[p + H + j]);
        cache[p + j] = z;
        cache[p + H + j] = ht;
        next[b * H + j] = (1 - z) * prev[b * H + j] + z * ht;
      }
    }
  }

  backward(io: BackwardIO): void {
    const H = this.hiddenSize;
    const { B, cache, dOut, dProj } = io;
    const prev = io.prev[0];
    const dNext = io.dNext[0];
    const dState = io.dState[0];
    const dPrev = io.dPrev[0];
    for (let b = 0; b < B; b++) {
      const p = b * 2 * H;
      for (let j = 0; j < H; j++) {
        const k = b * H + j;
        const z = cache[p + j];
        const ht = cache[p + H + j];
        const dh = dNext[k] + dOut[k];
        dState[k] = dh;
        dProj[p + j] = dh * (ht - prev[k]) * z * (1 - z);
        dProj[p + H + j] = dh * z * gSlope(ht);
        dPrev[k] = dh * (1 - z);
      }
    }
  }

  jvp(io: JvpIO): void {
    const H = this.hiddenSize;
    const { B, cache } = io;
    const v = io.v[0];
    const t = io.tOut[0];
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < H; j++) t[b * H + j] = (1 - cache[b * 2 * H + j]) * v[b * H + j];
    }
  }
}
