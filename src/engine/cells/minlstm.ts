// minLSTM (Feng et al. 2024, design §8):
//   f_t = σ(W_f x_t + b_f), i_t = σ(W_i x_t + b_i), h̃_t = g(W_h x_t + b_h),
//   f'_t = f_t / (f_t + i_t), i'_t = i_t / (f_t + i_t) = 1 − f'_t,
//   h_t = f'_t ⊙ h_{t-1} + i'_t ⊙ h̃_t.
// No hidden-to-hidden weight; step Jacobian diag(f'_t). State h; out_t = h_t.
// Gates `f` and `i` record the normalised f'_t and i'_t (what actually weighs h_{t-1} and h̃_t;
// both lie in (0, 1), so the sigmoid saturation thresholds apply); their gradients are those
// of the pre-activations W_f x + b_f and W_i x + b_i. Gate `h` records h̃_t (see mingru.ts).
//
// Derivatives: ∂f'/∂p_f = f' i' (1 − f), ∂f'/∂p_i = −f' i' (1 − i) (and i' = 1 − f').
// Init: weight_ih [3H, I], bias_ih [3H] (blocks f, i, h) ~ U(−1/√H, 1/√H).

import type { BackwardIO, Cell, CellOptions, GateSpec, JvpIO, ParamSpec, ProjectionBlock, StatePart, StepIO } from './cell';
import type { Rng } from '../rng';
import { sigmoid, uniformInit } from './common';
import { gPositive, gSlope } from './mingru';

export class MinLstmCell implements Cell {
  readonly name = 'minlstm';
  readonly params: readonly ParamSpec[];
  readonly projection: readonly ProjectionBlock[];
  readonly recurrent = null;
  readonly recShared = false;
  readonly nodeC = null;
  readonly state: readonly StatePart[];
  readonly outPart = 'h';
  readonly outSize: number;
  readonly cacheSize: number; // [f' (H), i' (H), h̃ (H), 1 − f (H), 1 − i (H)]
  readonly gates: readonly GateSpec[];

  constructor(
    readonly inputSize: number,
    readonly hiddenSize: number,
    _options: CellOptions = {},
  ) {
    const H = hiddenSize;
    this.params = [
      { name: 'weight_ih', shape: [3 * H, inputSize], role: 'input' },
      { name: 'bias_ih', shape: [3 * H], role: 'inputBias' },
    ];
    this.projection = [{ weight: 'weight_ih', bias: 'bias_ih', rows: 3 * H }];
    this.state = [{ name: 'h', size: H }];
    this.outSize = H;
    this.cacheSize = 5 * H;
    this.gates = [
      { name: 'f', offset: 0, width: H, activation: 'sigmoid', gradOffset: 0 },
      { name: 'i', offset: H, width: H, activation: 'sigmoid', gradOffset: H },
      { name: 'h', offset: 2 * H, width: H, activation: 'identity', gradOffset: 2 * H },
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
      const p = b * 3 * H;
      const c = b * 5 * H;
      for (let j = 0; j < H; j++) {
        const f = sigmoid(proj[p + j]);
        const i = sigmoid(proj[p + H + j]);
        const ht = gPositive(proj[p + 2 * H + j]);
        const fn = f / (f + i);
        const inn = i / (f + i);
        cache[c + j] = fn;
        cache[c + H + j] = inn;
        cache[c + 2 * H + j] = ht;
        cache[c + 3 * H + j] = sigmoid(-proj[p + j]); // 1 − f without cancellation
        cache[c + 4 * H + j] = sigmoid(-proj[p + H + j]);
        next[b * H + j] = fn * prev[b * H + j] + inn * ht;
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
      const p = b * 3 * H;
      const c = b * 5 * H;
      for (let j = 0; j < H; j++) {
        const k = b * H + j;
        const fn = cache[c + j];
        const inn = cache[c + H + j];
        const ht = cache[c + 2 * H + j];
        const dh = dNext[k] + dOut[k];
        dState[k] = dh;
        // h = f' h_prev + (1 − f') h̃, so ∂h/∂f' = h_prev − h̃.
        const dfn = dh * (prev[k] - ht) * fn * inn;
        dProj[p + j] = dfn * cache[c + 3 * H + j];
        dProj[p + H + j] = -dfn * cache[c + 4 * H + j];
        dProj[p + 2 * H + j] = dh * inn * gSlope(ht);
        dPrev[k] = dh * fn;
      }
    }
  }

  jvp(io: JvpIO): void {
    const H = this.hiddenSize;
    const { B, cache } = io;
    const v = io.v[0];
    const t = io.tOut[0];
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < H; j++) t[b * H + j] = cache[b * 5 * H + j] * v[b * H + j];
    }
  }
}
