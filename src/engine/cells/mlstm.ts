// mLSTM (Beck et al. 2024, xLSTM), design §8, one head, d = H:
//   q_t = W_q x_t + b_q,  k_t = (W_k x_t + b_k)/√H,  v_t = W_v x_t + b_v,
//   ĩ_t = w_i·x_t + b_i,  f̃_t = w_f·x_t + b_f (scalars),  o_t = σ(W_o x_t + b_o),
//   m_t = max(log σ(f̃_t) + m_{t-1}, ĩ_t) (m_t = ĩ_t on the first step),
//   i_t = exp(ĩ_t − m_t),  f_t = exp(log σ(f̃_t) + m_{t-1} − m_t),
//   C_t = f_t C_{t-1} + i_t v_t k_tᵀ (H×H),  n_t = f_t n_{t-1} + i_t k_t,
//   h_t = o_t ⊙ (C_t q_t) / max(|n_tᵀ q_t|, exp(−m_t)).
// State (C, n): H² + H reals per example, C row-major (C[a][b] = Σ v_a k_b). out_t = h_t is
// read from the state, so dOut flows into ∂L/∂(C_t, n_t) inside backward. Gates `i`, `f`
// (scalars, after the exponential) and `o`. No hidden-to-hidden weight: the step Jacobian
// is f_t·I, and m_t does not depend on the state at all.
//
// The stabiliser m (see slstm.ts): (C_t, n_t) = (C̄_t, n̄_t)·exp(−m_t) for any sequence m, and
// h_t = o ⊙ C̄q / max(|n̄ᵀq|, 1) whatever m is — but only because exp(−m_t) inside the max
// scales with the state. So m is held constant EVERYWHERE in backward, including that
// exp(−m_t): where the max picks exp(−m_t), h_t = o ⊙ C̄q (no denominator to differentiate),
// and differentiating exp(−m_t) there while holding m in f_t, i_t would give wrong parameter
// gradients. Held consistently, every parameter gradient is exact (L does not depend on m),
// and so are ∂L/∂(C_t, n_t): perturbing C_t or n_t changes no later m. m is carried as a
// third state part of one real per example, `heldConstant` (no gradient, no tangent, in no
// norm, never perturbed by FD checks; the loop passes zero-length arrays for it).
// (Differentiating m everywhere is exact too: scripts/make-torch-fixtures.py asserts both
// give the same parameter gradients, to 1e-15.) Unlike xLSTM's code, §8 adds no eps to the
// denominator, and its first step takes m_0 = ĩ_0 where xLSTM starts from m = 0 and takes
// the max: h is the same either way; the stabilised C, n (so gradNormState and
// jacobianNorm, which are about them) are expressed in that gauge.
//
// Params: weight_q, weight_k, weight_v, weight_o [H, I], bias_q, bias_k, bias_v, bias_o [H];
// weight_if [2, I], bias_if [2] (rows i, f). Init: weights and the q, k, v, o biases
// ~ U(−1/√H, 1/√H); bias_if = (0, 3): xLSTM starts the forget gate open (its mLSTM layer
// spreads the forget biases over 3…6 across heads; one head takes 3, σ(3) ≈ 0.95) and the
// input-gate bias near 0.

import type { BackwardIO, Cell, CellOptions, GateSpec, JvpIO, ParamSpec, ProjectionBlock, StatePart, StepIO } from './cell';
import type { Rng } from '../rng';
import { sigmoid, uniformInit } from './common';
import { logSigmoid } from './slstm';

export class MLstmCell implements Cell {
  readonly name = 'mlstm';
  readonly params: readonly ParamSpec[];
  readonly projection: readonly ProjectionBlock[];
  readonly recurrent = null;
  readonly recShared = false;
  readonly nodeC = null;
  readonly state: readonly StatePart[];
  readonly outPart = null;
  readonly outSize: number;
  /** Per example: [o (H), i, f, σ(−f̃), s = nᵀq, den, Cq (H)]. */
  readonly cacheSize: number;
  readonly gates: readonly GateSpec[];
  private readonly scale: number;

  constructor(
    readonly inputSize: number,
    readonly hiddenSize: number,
    _options: CellOptions = {},
  ) {
    const H = hiddenSize;
    const I = inputSize;
    this.params = [
      { name: 'weight_q', shape: [H, I], role: 'input' },
      { name: 'bias_q', shape: [H], role: 'inputBias' },
      { name: 'weight_k', shape: [H, I], role: 'input' },
      { name: 'bias_k', shape: [H], role: 'inputBias' },
      { name: 'weight_v', shape: [H, I], role: 'input' },
      { name: 'bias_v', shape: [H], role: 'inputBias' },
      { name: 'weight_o', shape: [H, I], role: 'input' },
      { name: 'bias_o', shape: [H], role: 'inputBias' },
      { name: 'weight_if', shape: [2, I], role: 'input' },
      { name: 'bias_if', shape: [2], role: 'inputBias' },
    ];
    this.projection = [
      { weight: 'weight_q', bias: 'bias_q', rows: H },
      { weight: 'weight_k', bias: 'bias_k', rows: H },
      { weight: 'weight_v', bias: 'bias_v', rows: H },
      { weight: 'weight_o', bias: 'bias_o', rows: H },
      { weight: 'weight_if', bias: 'bias_if', rows: 2 },
    ];
    this.state = [
      { name: 'C', size: H * H },
      { name: 'n', size: H },
      { name: 'm', size: 1, heldConstant: true },
    ];
    this.outSize = H;
    this.cacheSize = 2 * H + 5;
    this.gates = [
      { name: 'i', offset: H, width: 1, activation: 'exp', gradOffset: 4 * H },
      { name: 'f', offset: H + 1, width: 1, activation: 'exp', gradOffset: 4 * H + 1 },
      { name: 'o', offset: 0, width: H, activation: 'sigmoid', gradOffset: 3 * H },
    ];
    this.scale = 1 / Math.sqrt(H);
  }

  init(get: (name: string) => Float64Array, rng: Rng): void {
    uniformInit(get, ['weight_q', 'bias_q', 'weight_k', 'bias_k', 'weight_v', 'bias_v', 'weight_o', 'bias_o', 'weight_if'], this.hiddenSize, rng);
    get('bias_if').set([0, 3]);
  }

  forward(io: StepIO): void {
    const H = this.hiddenSize;
    const P = 4 * H + 2;
    const X = this.cacheSize;
    const { B, proj, cache, first } = io;
    const [CPrev, nPrev, mPrev] = io.prev;
    const [C, n, m] = io.next;
    for (let b = 0; b < B; b++) {
      const p = b * P;
      const x = b * X;
      const pi = proj[p + 4 * H];
      const pf = proj[p + 4 * H + 1];
      const lfm = logSigmoid(pf) + mPrev[b];
      const mt = first ? pi : Math.max(lfm, pi);
      const i = Math.exp(pi - mt);
      const f = Math.exp(lfm - mt);
      m[b] = mt;
      cache[x + H] = i;
      cache[x + H + 1] = f;
      cache[x + H + 2] = sigmoid(-pf);
      for (let a = 0; a < H; a++) cache[x + a] = sigmoid(proj[p + 3 * H + a]);
      const cb = b * H * H;
      for (let a = 0; a < H; a++) {
        const iv = i * proj[p + 2 * H + a];
        for (let c = 0; c < H; c++) C[cb + a * H + c] = f * CPrev[cb + a * H + c] + iv * proj[p + H + c] * this.scale;
      }
      for (let c = 0; c < H; c++) n[b * H + c] = f * nPrev[b * H + c] + i * proj[p + H + c] * this.scale;
    }
  }

  /** h_t = o ⊙ C_t q / max(|n_tᵀq|, exp(−m_t)) from the state (so a test can perturb C_t, n_t). */
  readout(io: StepIO): void {
    const H = this.hiddenSize;
    const P = 4 * H + 2;
    const X = this.cacheSize;
    const { B, proj, cache, out } = io;
    const [C, n, m] = io.next;
    for (let b = 0; b < B; b++) {
      const p = b * P;
      const x = b * X;
      let s = 0;
      for (let c = 0; c < H; c++) s += n[b * H + c] * proj[p + c];
      const den = Math.max(Math.abs(s), Math.exp(-m[b]));
      cache[x + H + 3] = s;
      cache[x + H + 4] = den;
      const cb = b * H * H;
      for (let a = 0; a < H; a++) {
        let cq = 0;
        for (let c = 0; c < H; c++) cq += C[cb + a * H + c] * proj[p + c];
        cache[x + H + 5 + a] = cq;
        out[b * H + a] = (cache[x + a] * cq) / den;
      }
    }
  }

  backward(io: BackwardIO): void {
    const H = this.hiddenSize;
    const P = 4 * H + 2;
    const X = this.cacheSize;
    const { B, proj, cache, dOut, dProj } = io;
    const [CPrev, nPrev] = io.prev;
    const [C, n, m] = io.next;
    const [dCNext, dnNext] = io.dNext;
    const [dC, dn] = io.dState;
    const [dCPrev, dnPrev] = io.dPrev;
    const sc = this.scale;
    for (let b = 0; b < B; b++) {
      const p = b * P;
      const x = b * X;
      const cb = b * H * H;
      const i = cache[x + H];
      const f = cache[x + H + 1];
      const sf = cache[x + H + 2];
      const s = cache[x + H + 3];
      const den = cache[x + H + 4];
      // Readout h = o ⊙ Cq / den, den = max(|s|, exp(−m)) with m held.
      let dDen = 0;
      for (let a = 0; a < H; a++) {
        const o = cache[x + a];
        const cq = cache[x + H + 5 + a];
        const g = dOut[b * H + a];
        dProj[p + 3 * H + a] = ((g * cq) / den) * o * (1 - o);
        dDen -= (g * o * cq) / (den * den);
      }
      const ds = Math.abs(s) >= Math.exp(-m[b]) ? dDen * Math.sign(s) : 0;
      // dq = Cᵀ dCq + ds n, where dCq_a = dOut_a o_a / den.
      for (let c = 0; c < H; c++) dProj[p + c] = ds * n[b * H + c];
      for (let a = 0; a < H; a++) {
        const dcq = (dOut[b * H + a] * cache[x + a]) / den;
        for (let c = 0; c < H; c++) {
          const k = cb + a * H + c;
          dProj[p + c] += C[k] * dcq;
          dC[k] = dCNext[k] + dcq * proj[p + c];
        }
      }
      for (let c = 0; c < H; c++) dn[b * H + c] = dnNext[b * H + c] + ds * proj[p + c];
      // Update C = f C' + i v kᵀ, n = f n' + i k (k = scaled projection).
      let df = 0;
      let di = 0;
      for (let c = 0; c < H; c++) {
        dProj[p + H + c] = 0; // dk, accumulated below
      }
      for (let a = 0; a < H; a++) {
        const va = proj[p + 2 * H + a];
        let dv = 0;
        for (let c = 0; c < H; c++) {
          const k = cb + a * H + c;
          const g = dC[k];
          const kc = proj[p + H + c] * sc;
          df += g * CPrev[k];
          di += g * va * kc;
          dv += g * kc;
          dProj[p + H + c] += g * va;
          dCPrev[k] = f * g;
        }
        dProj[p + 2 * H + a] = i * dv;
      }
      for (let c = 0; c < H; c++) {
        const g = dn[b * H + c];
        df += g * nPrev[b * H + c];
        di += g * proj[p + H + c] * sc;
        dProj[p + H + c] = (i * (dProj[p + H + c] + g)) * sc;
        dnPrev[b * H + c] = f * g;
      }
      dProj[p + 4 * H] = di * i;
      dProj[p + 4 * H + 1] = df * f * sf;
    }
  }

  jvp(io: JvpIO): void {
    const H = this.hiddenSize;
    const X = this.cacheSize;
    const { B, cache } = io;
    const [vC, vn] = io.v;
    const [tC, tn] = io.tOut;
    for (let b = 0; b < B; b++) {
      const f = cache[b * X + H + 1];
      for (let k = b * H * H; k < (b + 1) * H * H; k++) tC[k] = f * vC[k];
      for (let k = b * H; k < (b + 1) * H; k++) tn[k] = f * vn[k];
    }
  }
}
