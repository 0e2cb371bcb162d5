// Vanilla RNN (design §2, nn.RNN): h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), act tanh
// (`rnn-tanh`, the default) or relu (`rnn-relu`). The loop does both products; the cell is the
// activation (activations.ts's tanh, batched). State h = out. Gate `a` = h_t itself (the
// activation's value). Init: the classic schemes of init.ts (PyTorch's U(±1/√H) by default).

import type { BackwardIO, Cell, GateSpec, JvpIO, ParamSpec, ProjectionBlock, StatePart, StepIO } from './cell';
import type { Rng } from '../rng';
import type { Nonlinearity } from '../types';
import { uniformFill } from './common';
import { activationScratch, tanhRows } from '../activations';

export class RnnCell implements Cell {
  readonly name: string;
  readonly params: readonly ParamSpec[];
  readonly projection: readonly ProjectionBlock[];
  readonly recurrent: Cell['recurrent'];
  readonly recShared = true;
  readonly state: readonly StatePart[];
  readonly outPart = 'h';
  readonly outSize: number;
  readonly cacheSize: number; // [h (H)]: act'(a) is read from the value
  readonly gates: readonly GateSpec[];
  readonly nodeC = null;
  private readonly relu: boolean;

  constructor(
    readonly inputSize: number,
    readonly hiddenSize: number,
    nonlinearity: Nonlinearity,
  ) {
    const H = hiddenSize;
    this.relu = nonlinearity === 'relu';
    this.name = this.relu ? 'rnn-relu' : 'rnn-tanh';
    this.params = [
      { name: 'weight_ih', shape: [H, inputSize], role: 'input' },
      { name: 'weight_hh', shape: [H, H], role: 'recurrent' },
      { name: 'bias_ih', shape: [H], role: 'inputBias' },
      { name: 'bias_hh', shape: [H], role: 'recurrentBias' },
    ];
    this.projection = [{ weight: 'weight_ih', bias: 'bias_ih', rows: H }];
    this.recurrent = { weight: 'weight_hh', bias: 'bias_hh', rows: H, from: 'h' };
    this.state = [{ name: 'h', size: H }];
    this.outSize = H;
    this.cacheSize = H;
    this.gates = [{ name: 'a', offset: 0, width: H, activation: this.relu ? 'relu' : 'tanh', gradOffset: 0 }];
  }

  init(get: (name: string) => Float64Array, rng: Rng): void {
    uniformFill(get, ['weight_ih', 'weight_hh', 'bias_ih', 'bias_hh'], 1 / Math.sqrt(this.hiddenSize), rng);
  }

  forward(io: StepIO): void {
    const { proj, rec, cache } = io;
    const h = io.next[0];
    const n = io.B * this.hiddenSize;
    if (this.relu) {
      for (let k = 0; k < n; k++) {
        const a = proj[k] + rec[k];
        // a > 0 is false for NaN, so keep NaN visible instead of turning it into 0.
        const v = a > 0 ? a : a !== a ? a : 0;
        cache[k] = v;
        h[k] = v;
      }
    } else {
      const a = activationScratch(n);
      for (let k = 0; k < n; k++) a[k] = proj[k] + rec[k];
      tanhRows(a, 0, 1, n, n);
      for (let k = 0; k < n; k++) {
        const v = a[k];
        cache[k] = v;
        h[k] = v;
      }
    }
  }

  backward(io: BackwardIO): void {
    const { cache, dOut, dProj } = io;
    const dNext = io.dNext[0];
    const dState = io.dState[0];
    const dPrev = io.dPrev[0];
    const n = io.B * this.hiddenSize;
    if (this.relu) {
      // relu'(0) = 0, as in PyTorch.
      for (let k = 0; k < n; k++) {
        const dh = dOut[k] + dNext[k];
        dState[k] = dh;
        dProj[k] = cache[k] > 0 ? dh : 0;
      }
    } else {
      for (let k = 0; k < n; k++) {
        const dh = dOut[k] + dNext[k];
        const a = cache[k];
        dState[k] = dh;
        dProj[k] = dh * (1 - a * a);
      }
    }
    dPrev.fill(0, 0, n);
  }

  jvp(io: JvpIO): void {
    const { cache, dRecV } = io;
    const th = io.tOut[0];
    const n = io.B * this.hiddenSize;
    if (this.relu) {
      for (let k = 0; k < n; k++) th[k] = cache[k] > 0 ? dRecV[k] : 0;
    } else {
      for (let k = 0; k < n; k++) th[k] = dRecV[k] * (1 - cache[k] * cache[k]);
    }
  }
}
