// RG-LRU, the Real-Gated Linear Recurrent Unit of Griffin (De et al. 2024; RecurrentGemma),
// design §8:
//   u_t = W_u x_t + b_u,  r_t = σ(W_a x_t + b_a),  i_t = σ(W_x x_t + b_x),
//   log a_t = −8 · r_t ⊙ softplus(Λ),  a_t = exp(log a_t),
//   h_t = a_t ⊙ h_{t-1} + m_t ⊙ (i_t ⊙ u_t),  m_t = √(1 − a_t²), except m = 1 on the first step.
// "First step" is the first one the direction takes (io.first: t = 0 forward, t = T−1 for the
// reverse direction), i.e. where the scan starts from a fresh state: RecurrentGemma's reset
// at segment position 0, which a reverse scan meets at its own start. The loop must not set
// `first` where it resumes a sequence from a carried state (checkpoint segments, truncation
// windows), since there the multiplier is √(1 − a²).
//
// State h; out_t = h_t. Gates `a` (the recurrence gate r_t) and `x` (the input gate i_t),
// both sigmoid; their gradients are those of W_a x + b_a and W_x x + b_x.
// Step Jacobian: diag(a_t).
//
// The true derivative of √(1 − a²) is used: dm/d(log a) = −a²/m, unbounded as a → 1 (the
// reference implementation clips the derivative of the square root at 1000, i.e. where
// 1 − a² < 2.5e-7: a > 0.99999987, reached only when r_t·softplus(Λ) < 1.6e-8; our numbers
// and the reference's differ only there). 1 − a² is computed as −expm1(2 log a), exact
// near a = 1.
//
// Params: weight_ih [3H, I] and bias_ih [3H] (blocks a, x, u) ~ U(−1/√H, 1/√H);
// a_param [H] (Λ) such that softplus(Λ) = −ln ρ with ρ² ~ U(0.9², 0.999²), so a_t = ρ^(8 r_t).

import type { BackwardIO, Cell, CellOptions, GateSpec, JvpIO, ParamSpec, ProjectionBlock, StatePart, StepIO } from './cell';
import type { Rng } from '../rng';
import { sigmoid, softplus, softplusInverse, uniformInit } from './common';

/** ρ's range at init: ρ² ~ U(RHO_MIN², RHO_MAX²). */
export const RHO_MIN = 0.9;
export const RHO_MAX = 0.999;

export class RgLruCell implements Cell {
  readonly name = 'rglru';
  readonly params: readonly ParamSpec[];
  readonly projection: readonly ProjectionBlock[];
  readonly recurrent = null;
  readonly recShared = false;
  readonly nodeC = null;
  readonly state: readonly StatePart[];
  readonly outPart = 'h';
  readonly outSize: number;
  readonly cacheSize: number; // [r (H), i (H), a (H), m (H)]
  readonly gates: readonly GateSpec[];
  private readonly sp: Float64Array; // softplus(Λ)

  constructor(
    readonly inputSize: number,
    readonly hiddenSize: number,
    _options: CellOptions = {},
  ) {
    const H = hiddenSize;
    this.params = [
      { name: 'weight_ih', shape: [3 * H, inputSize], role: 'input' },
      { name: 'bias_ih', shape: [3 * H], role: 'inputBias' },
      { name: 'a_param', shape: [H], role: 'own' },
    ];
    this.projection = [{ weight: 'weight_ih', bias: 'bias_ih', rows: 3 * H }];
    this.state = [{ name: 'h', size: H }];
    this.outSize = H;
    this.cacheSize = 4 * H;
    this.gates = [
      { name: 'a', offset: 0, width: H, activation: 'sigmoid', gradOffset: 0 },
      { name: 'x', offset: H, width: H, activation: 'sigmoid', gradOffset: H },
    ];
    this.sp = new Float64Array(H);
  }

  init(get: (name: string) => Float64Array, rng: Rng): void {
    uniformInit(get, ['weight_ih', 'bias_ih'], this.hiddenSize, rng);
    const lambda = get('a_param');
    for (let j = 0; j < lambda.length; j++) {
      const rho2 = RHO_MIN * RHO_MIN + rng.uniform() * (RHO_MAX * RHO_MAX - RHO_MIN * RHO_MIN);
      lambda[j] = softplusInverse(-0.5 * Math.log(rho2)); // softplus(Λ) = −ln ρ
    }
  }

  private softplusLambda(own: Float64Array[]): Float64Array {
    const lambda = own[0];
    for (let j = 0; j < this.hiddenSize; j++) this.sp[j] = softplus(lambda[j]);
    return this.sp;
  }

  forward(io: StepIO): void {
    const H = this.hiddenSize;
    const { B, proj, cache, first } = io;
    const prev = io.prev[0];
    const next = io.next[0];
    const sp = this.softplusLambda(io.own);
    for (let b = 0; b < B; b++) {
      const p = b * 3 * H;
      const c = b * 4 * H;
      for (let j = 0; j < H; j++) {
        const r = sigmoid(proj[p + j]);
        const i = sigmoid(proj[p + H + j]);
        const logA = -8 * r * sp[j];
        const a = Math.exp(logA);
        const m = first ? 1 : Math.sqrt(-Math.expm1(2 * logA));
        cache[c + j] = r;
        cache[c + H + j] = i;
        cache[c + 2 * H + j] = a;
        cache[c + 3 * H + j] = m;
        next[b * H + j] = a * prev[b * H + j] + m * i * proj[p + 2 * H + j];
      }
    }
  }

  backward(io: BackwardIO): void {
    const H = this.hiddenSize;
    const { B, proj, cache, dOut, dProj, first } = io;
    const prev = io.prev[0];
    const dNext = io.dNext[0];
    const dState = io.dState[0];
    const dPrev = io.dPrev[0];
    const lambda = io.own[0];
    const dLambda = io.wantOwn ? io.dOwn[0] : null;
    const sp = this.softplusLambda(io.own);
    for (let b = 0; b < B; b++) {
      const p = b * 3 * H;
      const c = b * 4 * H;
      for (let j = 0; j < H; j++) {
        const k = b * H + j;
        const r = cache[c + j];
        const i = cache[c + H + j];
        const a = cache[c + 2 * H + j];
        const m = cache[c + 3 * H + j];
        const u = proj[p + 2 * H + j];
        const dh = dNext[k] + dOut[k];
        dState[k] = dh;
        // ∂h/∂log a = a h_prev + (∂m/∂log a) i u, with ∂m/∂log a = −a²/m after the first step.
        let dLogA = dh * a * prev[k];
        const dM = dh * i * u;
        // m = 0 only where a = 1 exactly (r·softplus(Λ) below 1e-17): the derivative is then
        // unbounded (±Infinity, which the pass reports as non-finite), or 0 if nothing flows.
        if (!first && dM !== 0) dLogA -= (dM * a * a) / m;
        const dr = dLogA * -8 * sp[j];
        if (dLambda) dLambda[j] += dLogA * -8 * r * sigmoid(lambda[j]);
        const dIu = dh * m;
        dProj[p + j] = dr * r * (1 - r);
        dProj[p + H + j] = dIu * u * i * (1 - i);
        dProj[p + 2 * H + j] = dIu * i;
        dPrev[k] = dh * a;
      }
    }
  }

  jvp(io: JvpIO): void {
    const H = this.hiddenSize;
    const { B, cache } = io;
    const v = io.v[0];
    const t = io.tOut[0];
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < H; j++) t[b * H + j] = cache[b * 4 * H + 2 * H + j] * v[b * H + j];
    }
  }
}
