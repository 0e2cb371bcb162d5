// GRU (design §2, nn.GRU), gate blocks r, z, n:
//   r = σ(p_r + rec_r), z = σ(p_z + rec_z), n = tanh(p_n + r ⊙ rec_n),
//   h = (1 − z) ⊙ n + z ⊙ h_prev,
// with p = W_ih x + b_ih and rec = W_hh h_prev + b_hh. The n gate's pre-activation is
// p_n + r ⊙ rec_n, so ∂L/∂rec differs from ∂L/∂proj in the n block (recShared false), and
// rec_n is kept in the cache for the backward step and the JVP. State h = out.

import type { BackwardIO, Cell, GateSpec, JvpIO, ParamSpec, ProjectionBlock, StatePart, StepIO } from './cell';
import type { Rng } from '../rng';
import { uniformFill } from './common';
import { activationScratch, sigmoidRows, tanhRows } from '../activations';

/** Per example, the cache holds [r, z, n (3H), rec_n (H)]. */
export class GruCell implements Cell {
  readonly name = 'gru';
  readonly params: readonly ParamSpec[];
  readonly projection: readonly ProjectionBlock[];
  readonly recurrent: Cell['recurrent'];
  readonly recShared = false;
  readonly state: readonly StatePart[];
  readonly outPart = 'h';
  readonly outSize: number;
  readonly cacheSize: number;
  readonly gates: readonly GateSpec[];
  readonly nodeC = null;

  constructor(
    readonly inputSize: number,
    readonly hiddenSize: number,
  ) {
    const H = hiddenSize;
    this.params = [
      { name: 'weight_ih', shape: [3 * H, inputSize], role: 'input' },
      { name: 'weight_hh', shape: [3 * H, H], role: 'recurrent' },
      { name: 'bias_ih', shape: [3 * H], role: 'inputBias' },
      { name: 'bias_hh', shape: [3 * H], role: 'recurrentBias' },
    ];
    this.projection = [{ weight: 'weight_ih', bias: 'bias_ih', rows: 3 * H }];
    this.recurrent = { weight: 'weight_hh', bias: 'bias_hh', rows: 3 * H, from: 'h' };
    this.state = [{ name: 'h', size: H }];
    this.outSize = H;
    this.cacheSize = 4 * H;
    this.gates = [
      { name: 'r', offset: 0, width: H, activation: 'sigmoid', gradOffset: 0 },
      { name: 'z', offset: H, width: H, activation: 'sigmoid', gradOffset: H },
      { name: 'n', offset: 2 * H, width: H, activation: 'tanh', gradOffset: 2 * H },
    ];
  }

  init(get: (name: string) => Float64Array, rng: Rng): void {
    uniformFill(get, ['weight_ih', 'weight_hh', 'bias_ih', 'bias_hh'], 1 / Math.sqrt(this.hiddenSize), rng);
  }

  /** The gates of all examples are activated in place in the activations' scratch ([B][3H]; activations.ts: batched, vectorised). */
  forward(io: StepIO): void {
    const { B, proj, rec, cache } = io;
    const H = this.hiddenSize;
    const hPrev = io.prev[0];
    const h = io.next[0];
    const G = 3 * H;
    const S = 4 * H;
    const a = activationScratch(B * G);
    for (let b = 0; b < B; b++) {
      const r0 = b * G;
      for (let j = 0; j < 2 * H; j++) a[r0 + j] = proj[r0 + j] + rec[r0 + j];
    }
    sigmoidRows(a, 0, B, 2 * H, G);
    for (let b = 0; b < B; b++) {
      const r0 = b * G;
      for (let j = 0; j < H; j++) a[r0 + 2 * H + j] = proj[r0 + 2 * H + j] + a[r0 + j] * rec[r0 + 2 * H + j];
    }
    tanhRows(a, 2 * H, B, H, G);
    for (let b = 0; b < B; b++) {
      const r0 = b * G;
      const q = b * S;
      const hb = b * H;
      for (let j = 0; j < H; j++) {
        const r = a[r0 + j];
        const z = a[r0 + H + j];
        const n = a[r0 + 2 * H + j];
        cache[q + j] = r;
        cache[q + H + j] = z;
        cache[q + 2 * H + j] = n;
        cache[q + 3 * H + j] = rec[r0 + 2 * H + j];
        h[hb + j] = (1 - z) * n + z * hPrev[hb + j];
      }
    }
  }

  backward(io: BackwardIO): void {
    const { B, cache, dOut, dProj, dRec } = io;
    const H = this.hiddenSize;
    const hPrev = io.prev[0];
    const dNext = io.dNext[0];
    const dState = io.dState[0];
    const dPrev = io.dPrev[0];
    const G = 3 * H;
    const S = 4 * H;
    for (let b = 0; b < B; b++) {
      const r0 = b * G;
      const q = b * S;
      const hb = b * H;
      for (let j = 0; j < H; j++) {
        const r = cache[q + j];
        const z = cache[q + H + j];
        const n = cache[q + 2 * H + j];
        const dhj = dOut[hb + j] + dNext[hb + j];
        dState[hb + j] = dhj;
        const dan = dhj * (1 - z) * (1 - n * n);
        const daz = dhj * (hPrev[hb + j] - n) * z * (1 - z);
        const dar = dan * cache[q + 3 * H + j] * r * (1 - r);
        dProj[r0 + j] = dar;
        dProj[r0 + H + j] = daz;
        dProj[r0 + 2 * H + j] = dan;
        dRec[r0 + j] = dar;
        dRec[r0 + H + j] = daz;
        dRec[r0 + 2 * H + j] = dan * r;
        dPrev[hb + j] = dhj * z;
      }
    }
  }

  jvp(io: JvpIO): void {
    const { B, cache, dRecV } = io;
    const H = this.hiddenSize;
    const hPrev = io.prev[0];
    const vh = io.v[0];
    const th = io.tOut[0];
    const G = 3 * H;
    const S = 4 * H;
    for (let b = 0; b < B; b++) {
      const r0 = b * G;
      const q = b * S;
      const hb = b * H;
      for (let j = 0; j < H; j++) {
        const r = cache[q + j];
        const z = cache[q + H + j];
        const n = cache[q + 2 * H + j];
        const dr = r * (1 - r) * dRecV[r0 + j];
        const dz = z * (1 - z) * dRecV[r0 + H + j];
        const dn = (1 - n * n) * (dr * cache[q + 3 * H + j] + r * dRecV[r0 + 2 * H + j]);
        th[hb + j] = dz * (hPrev[hb + j] - n) + (1 - z) * dn + z * vh[hb + j];
      }
    }
  }
}
