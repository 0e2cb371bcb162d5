// sLSTM (Beck et al. 2024, xLSTM), design §8, one head:
//   (ĩ, f̃, z̃, õ) = W x_t + b_ih + R h_{t-1} + b_hh     (blocks i, f, z, o, PyTorch's LSTM layout)
//   m_t = max(log σ(f̃_t) + m_{t-1}, ĩ_t)                (m_t = ĩ_t on the first step)
//   i_t = exp(ĩ_t − m_t),  f_t = exp(log σ(f̃_t) + m_{t-1} − m_t),  o_t = σ(õ_t),
//   c_t = f_t ⊙ c_{t-1} + i_t ⊙ tanh(z̃_t),  n_t = f_t ⊙ n_{t-1} + i_t,  h_t = o_t ⊙ c_t / n_t.
// State (h, c, n), out_t = h_t. Gates `i`, `f` (after the exponential), `z` (tanh), `o`.
//
// The stabiliser m. c_t and n_t are the unstabilised c̄_t, n̄_t (the recurrences with
// exp(ĩ) and σ(f̃)) times exp(−m_t), for ANY sequence m; h = o c/n = o c̄/n̄ does not depend
// on m. Hence:
//  - m is carried from step to step as a fourth state part (a pass must be able to resume
//    from a saved state: checkpoint segments, truncation windows), but it is not a coordinate
//    of the state: it is `heldConstant` (cell.ts): no gradient, no tangent (the loop passes
//    zero-length arrays for it), in no norm, and FD checks do not perturb it.
//  - m is held constant in backward: the parameter gradients are exact (L does not depend
//    on m), and so are the state gradients ∂L/∂(h_t, c_t, n_t) with m_t held — perturbing
//    h_t changes m_{t+1}, m_{t+2}, … but L is invariant to them.
//  - the JVP holds m_t constant too, so it is the transpose of backward (the Jacobian probe
//    multiplies both) and the chain of step Jacobians is what carries the gradient back.
//    This is the Jacobian of the gauge-fixed step map (m_t held at its forward value); the
//    map that recomputes m_t from a perturbed h_{t-1} differs from it only in the c and n
//    rows, by −(c_t, n_t) ⊗ ∂m_t/∂h_{t-1} (the same state expressed in a shifted gauge).
//    An FD check of the JVP must therefore rescale the perturbed (c_t, n_t) by
//    exp(m_t(perturbed) − m_t) — or hold m_t fixed — before differencing.
//
// Params (PyTorch LSTM names): weight_ih [4H, I], weight_hh [4H, H], bias_ih, bias_hh [4H],
// all ~ U(−1/√H, 1/√H) (nn.LSTM's default; xLSTM's own init differs per block and head).

import type { BackwardIO, Cell, CellOptions, GateSpec, JvpIO, ParamSpec, ProjectionBlock, StatePart, StepIO } from './cell';
import type { Rng } from '../rng';
import { sigmoid, uniformInit } from './common';

/** log σ(x) = −softplus(−x), without overflow. */
export function logSigmoid(x: number): number {
  return x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x));
}

export class SLstmCell implements Cell {
  readonly name = 'slstm';
  readonly params: readonly ParamSpec[];
  readonly projection: readonly ProjectionBlock[];
  readonly recurrent: { weight: string; bias: string | null; rows: number; from: string };
  readonly recShared = true;
  readonly nodeC: { part: string; reform(io: StepIO): void };
  readonly state: readonly StatePart[];
  readonly outPart = 'h';
  readonly outSize: number;
  readonly cacheSize: number; // [i, f, tanh z̃, o, σ(−f̃)], H each
  readonly gates: readonly GateSpec[];

  constructor(
    readonly inputSize: number,
    readonly hiddenSize: number,
    _options: CellOptions = {},
  ) {
    const H = hiddenSize;
    this.params = [
      { name: 'weight_ih', shape: [4 * H, inputSize], role: 'input' },
      { name: 'weight_hh', shape: [4 * H, H], role: 'recurrent' },
      { name: 'bias_ih', shape: [4 * H], role: 'inputBias' },
      { name: 'bias_hh', shape: [4 * H], role: 'recurrentBias' },
    ];
    this.projection = [{ weight: 'weight_ih', bias: 'bias_ih', rows: 4 * H }];
    this.recurrent = { weight: 'weight_hh', bias: 'bias_hh', rows: 4 * H, from: 'h' };
    this.nodeC = { part: 'c', reform: (io) => this.reformH(io) };
    this.state = [
      { name: 'h', size: H },
      { name: 'c', size: H },
      { name: 'n', size: H },
      { name: 'm', size: H, heldConstant: true },
    ];
    this.outSize = H;
    this.cacheSize = 5 * H;
    this.gates = [
      { name: 'i', offset: 0, width: H, activation: 'exp', gradOffset: 0 },
      { name: 'f', offset: H, width: H, activation: 'exp', gradOffset: H },
      { name: 'z', offset: 2 * H, width: H, activation: 'tanh', gradOffset: 2 * H },
      { name: 'o', offset: 3 * H, width: H, activation: 'sigmoid', gradOffset: 3 * H },
    ];
  }

  init(get: (name: string) => Float64Array, rng: Rng): void {
    uniformInit(get, ['weight_ih', 'weight_hh', 'bias_ih', 'bias_hh'], this.hiddenSize, rng);
  }

  forward(io: StepIO): void {
    const H = this.hiddenSize;
    const { B, proj, rec, cache, first } = io;
    const [, cPrev, nPrev, mPrev] = io.prev;
    const [h, c, n, m] = io.next;
    for (let b = 0; b < B; b++) {
      const p = b * 4 * H;
      const q = b * 5 * H;
      for (let j = 0; j < H; j++) {
        const k = b * H + j;
        const pi = proj[p + j] + rec[p + j];
        const pf = proj[p + H + j] + rec[p + H + j];
        const pz = proj[p + 2 * H + j] + rec[p + 2 * H + j];
        const po = proj[p + 3 * H + j] + rec[p + 3 * H + j];
        const lfm = logSigmoid(pf) + mPrev[k];
        const mt = first ? pi : Math.max(lfm, pi);
        const i = Math.exp(pi - mt);
        const f = Math.exp(lfm - mt);
        const z = Math.tanh(pz);
        const o = sigmoid(po);
        const ct = f * cPrev[k] + i * z;
        const nt = f * nPrev[k] + i;
        m[k] = mt;
        c[k] = ct;
        n[k] = nt;
        h[k] = (o * ct) / nt;
        cache[q + j] = i;
        cache[q + H + j] = f;
        cache[q + 2 * H + j] = z;
        cache[q + 3 * H + j] = o;
        cache[q + 4 * H + j] = sigmoid(-pf);
      }
    }
  }

  /** h_t = o_t c_t / n_t again from next[c] as it stands (a test perturbs c_t as a node). */
  private reformH(io: StepIO): void {
    const H = this.hiddenSize;
    const [h, c, n] = io.next;
    for (let b = 0; b < io.B; b++) {
      for (let j = 0; j < H; j++) h[b * H + j] = (io.cache[b * 5 * H + 3 * H + j] * c[b * H + j]) / n[b * H + j];
    }
  }

  backward(io: BackwardIO): void {
    const H = this.hiddenSize;
    const { B, cache, dOut, dProj, dNodeC } = io;
    const [, cPrev, nPrev] = io.prev;
    const [, c, n] = io.next;
    const [dhNext, dcNext, dnNext] = io.dNext;
    const [dhState, dcState, dnState] = io.dState;
    const [dhPrev, dcPrev, dnPrev] = io.dPrev;
    for (let b = 0; b < B; b++) {
      const p = b * 4 * H;
      const q = b * 5 * H;
      for (let j = 0; j < H; j++) {
        const k = b * H + j;
        const i = cache[q + j];
        const f = cache[q + H + j];
        const z = cache[q + 2 * H + j];
        const o = cache[q + 3 * H + j];
        const sf = cache[q + 4 * H + j];
        const ct = c[k];
        const nt = n[k];
        // The state coordinates' gradients: h gets the output, c and n only step t+1's paths.
        const dh = dhNext[k] + dOut[k];
        const dcCoord = dcNext[k];
        const dnCoord = dnNext[k];
        dhState[k] = dh;
        dcState[k] = dcCoord;
        dnState[k] = dnCoord;
        // Inside the step, h_t = o c_t / n_t adds to c_t's and n_t's gradients.
        const dc = dcCoord + (dh * o) / nt;
        const dn = dnCoord - (dh * o * ct) / (nt * nt);
        const dpo = ((dh * ct) / nt) * o * (1 - o);
        const dpz = dc * i * (1 - z * z);
        const dpi = (dc * z + dn) * i;
        const dpf = (dc * cPrev[k] + dn * nPrev[k]) * f * sf;
        dNodeC[k] = dc; // ∂L/∂c_t as a node (incl. the path through h_t): gradNormC
        // recShared: rec_t adds 1:1 to proj_t, so dRec is dProj.
        dProj[p + j] = dpi;
        dProj[p + H + j] = dpf;
        dProj[p + 2 * H + j] = dpz;
        dProj[p + 3 * H + j] = dpo;
        dhPrev[k] = 0; // h_{t-1} enters only through R h_{t-1}: the loop adds dRec R
        dcPrev[k] = dc * f;
        dnPrev[k] = dn * f;
      }
    }
  }

  jvp(io: JvpIO): void {
    const H = this.hiddenSize;
    const { B, cache, dRecV } = io;
    const [, cPrev, nPrev] = io.prev;
    const [, c, n] = io.next;
    const [, vc, vn] = io.v;
    const [th, tc, tn] = io.tOut;
    for (let b = 0; b < B; b++) {
      const p = b * 4 * H;
      const q = b * 5 * H;
      for (let j = 0; j < H; j++) {
        const k = b * H + j;
        const i = cache[q + j];
        const f = cache[q + H + j];
        const z = cache[q + 2 * H + j];
        const o = cache[q + 3 * H + j];
        const sf = cache[q + 4 * H + j];
        const ti = i * dRecV[p + j];
        const tf = f * sf * dRecV[p + H + j];
        const tz = (1 - z * z) * dRecV[p + 2 * H + j];
        const to = o * (1 - o) * dRecV[p + 3 * H + j];
        const ct = c[k];
        const nt = n[k];
        const dct = tf * cPrev[k] + f * vc[k] + ti * z + i * tz;
        const dnt = tf * nPrev[k] + f * vn[k] + ti;
        tc[k] = dct;
        tn[k] = dnt;
        th[k] = (to * ct) / nt + (o * dct) / nt - (o * ct * dnt) / (nt * nt);
      }
    }
  }
}
