// IndRNN (Li et al. 2018, design §8): h_t = act(W x_t + b + u ⊙ h_{t-1}), act relu (default)
// or tanh. The recurrence is diagonal (u is a vector), so it is the cell's own parameter and
// not a hidden-to-hidden GEMM of the loop. State h; out_t = h_t. Gate `a` = h_t itself.
//
// Init: W and b ~ U(−1/√H, 1/√H) (PyTorch's nn.RNN default); u ~ U(0, 1), the paper's
// default for the recurrent weights (|u| ≤ 1 keeps a relu IndRNN from exploding).
//
// Step Jacobian: diag(act'(a_t) ⊙ u). act'(0) = 0 for relu (PyTorch's convention).

import type { BackwardIO, Cell, CellOptions, GateSpec, JvpIO, ParamSpec, ProjectionBlock, StatePart, StepIO } from './cell';
import type { Rng } from '../rng';

export type IndRnnActivation = 'relu' | 'tanh';

export class IndRnnCell implements Cell {
  readonly name = 'indrnn';
  readonly params: readonly ParamSpec[];
  readonly projection: readonly ProjectionBlock[];
  readonly recurrent = null;
  readonly recShared = false;
  readonly nodeC = null;
  readonly state: readonly StatePart[];
  readonly outPart = 'h';
  readonly outSize: number;
  readonly cacheSize: number; // h_t (the gate's value, which also gives act')
  readonly gates: readonly GateSpec[];
  readonly activation: IndRnnActivation;

  constructor(
    readonly inputSize: number,
    readonly hiddenSize: number,
    options: CellOptions = {},
  ) {
    const H = hiddenSize;
    const activation = options.activation ?? 'relu';
    if (activation !== 'relu' && activation !== 'tanh') throw new Error(`indrnn: activation must be 'relu' or 'tanh', got '${String(activation)}'`);
    this.activation = activation;
    this.params = [
      { name: 'weight_ih', shape: [H, inputSize], role: 'input' },
      { name: 'bias_ih', shape: [H], role: 'inputBias' },
      { name: 'weight_hh', shape: [H], role: 'own' },
    ];
    this.projection = [{ weight: 'weight_ih', bias: 'bias_ih', rows: H }];
    this.state = [{ name: 'h', size: H }];
    this.outSize = H;
    this.cacheSize = H;
    this.gates = [{ name: 'a', offset: 0, width: H, activation: activation, gradOffset: 0 }];
  }

  init(get: (name: string) => Float64Array, rng: Rng): void {
    const bound = 1 / Math.sqrt(this.hiddenSize);
    for (const name of ['weight_ih', 'bias_ih']) {
      const d = get(name);
      for (let k = 0; k < d.length; k++) d[k] = rng.range(-bound, bound);
    }
    const u = get('weight_hh');
    for (let k = 0; k < u.length; k++) u[k] = rng.uniform();
  }

  forward(io: StepIO): void {
    const H = this.hiddenSize;
    const { B, proj, cache } = io;
    const prev = io.prev[0];
    const next = io.next[0];
    const u = io.own[0];
    const relu = this.activation === 'relu';
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < H; j++) {
        const k = b * H + j;
        const a = proj[k] + u[j] * prev[k];
        const h = relu ? (a > 0 ? a : 0) : Math.tanh(a);
        next[k] = h;
        cache[k] = h;
      }
    }
  }

  /** act'(a) from the cached h = act(a). */
  private slope(h: number): number {
    return this.activation === 'relu' ? (h > 0 ? 1 : 0) : 1 - h * h;
  }

  backward(io: BackwardIO): void {
    const H = this.hiddenSize;
    const { B, cache, dOut, dProj } = io;
    const prev = io.prev[0];
    const dNext = io.dNext[0];
    const dState = io.dState[0];
    const dPrev = io.dPrev[0];
    const u = io.own[0];
    const du = io.wantOwn ? io.dOwn[0] : null;
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < H; j++) {
        const k = b * H + j;
        const dh = dNext[k] + dOut[k];
        dState[k] = dh;
        const da = dh * this.slope(cache[k]);
        dProj[k] = da;
        if (du) du[j] += da * prev[k];
        dPrev[k] = da * u[j];
      }
    }
  }

  jvp(io: JvpIO): void {
    const H = this.hiddenSize;
    const { B, cache } = io;
    const v = io.v[0];
    const t = io.tOut[0];
    const u = io.own[0];
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < H; j++) {
        const k = b * H + j;
        t[k] = this.slope(cache[k]) * u[j] * v[k];
      }
    }
  }
}
