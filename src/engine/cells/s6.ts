// S6, Mamba's selective scan (Gu & Dao 2023) without the convolution and gating around it,
// design §8:
//   u_t = W_u x_t + b_u ∈ ℝ^H,  Δ_t = softplus(W_Δ x_t + b_Δ) ∈ ℝ^H,  B_t = W_B x_t,  C_t = W_C x_t ∈ ℝ^N,
//   A = −exp(A_log) ∈ ℝ^{H×N},
//   h_t[d,n] = exp(Δ_t[d] A[d,n]) h_{t-1}[d,n] + Δ_t[d] B_t[n] u_t[d],
//   y_t[d] = Σ_n C_t[n] h_t[d,n] + D[d] u_t[d].
// State h ∈ ℝ^{H×N} row-major ([d][n]), H·N reals per example; out_t = y_t is read from the
// state, so dOut flows into ∂L/∂h_t inside backward. Gate `dt` (Δ, softplus). The step
// Jacobian is diag(exp(Δ_t A)) (zero-order-hold discretisation of A, Euler for B as in Mamba).
//
// The loop does the four input projections (proj = [u; W_Δx + b_Δ; B_t; C_t], 2H + 2N rows);
// A_log and D are the cell's own. exp(Δ A) is not kept per step (H·N per example per step:
// that would double a T = 1,000 pass's memory); one step's worth is memoised instead, keyed
// by the exact Δ_t and A_log it came from, so the Jacobian probe's repeated JVPs and
// backward steps at one t (20 power iterations by default) reuse it instead of redoing
// B·H·N exponentials each time.
//
// Init: A_log[d,n] = ln(n+1) (Mamba's S4D-real), D = 1; b_Δ = softplus⁻¹(Δ₀) with
// Δ₀ = exp(U(ln 0.001, ln 0.1)) floored at 1e-4 (Mamba's dt init); weight_u, bias_u, weight_dt,
// weight_B, weight_C ~ U(−1/√H, 1/√H).

import type { BackwardIO, Cell, CellOptions, GateSpec, JvpIO, ParamSpec, ProjectionBlock, StatePart, StepIO } from './cell';
import type { Rng } from '../rng';
import { sigmoid, softplus, softplusInverse, uniformInit } from './common';

export const S6_DEFAULT_STATE_SIZE = 16;

export class S6Cell implements Cell {
  readonly name = 's6';
  readonly params: readonly ParamSpec[];
  readonly projection: readonly ProjectionBlock[];
  readonly recurrent = null;
  readonly recShared = false;
  readonly nodeC = null;
  readonly state: readonly StatePart[];
  readonly outPart = null;
  readonly outSize: number;
  readonly cacheSize: number; // [Δ (H), σ(W_Δ x + b_Δ) (H)]
  readonly gates: readonly GateSpec[];
  readonly stateSize: number;
  private readonly A: Float64Array; // −exp(A_log) of the current parameters
  // The memo of exp(Δ_t A) for the last (Δ_t, A_log) seen, [B][H][N]; grown, never per step.
  private decay = new Float64Array(0);
  private decayDt = new Float64Array(0);
  private readonly decayALog: Float64Array;
  private decayB = -1;

  constructor(
    readonly inputSize: number,
    readonly hiddenSize: number,
    options: CellOptions = {},
  ) {
    const H = hiddenSize;
    const I = inputSize;
    const N = options.stateSize ?? S6_DEFAULT_STATE_SIZE;
    this.stateSize = N;
    if (!(Number.isInteger(N) && N >= 1)) throw new Error(`s6: the state size N must be a positive integer, got ${N}`);
    this.params = [
      { name: 'weight_u', shape: [H, I], role: 'input' },
      { name: 'bias_u', shape: [H], role: 'inputBias' },
      { name: 'weight_dt', shape: [H, I], role: 'input' },
      { name: 'bias_dt', shape: [H], role: 'inputBias' },
      { name: 'weight_B', shape: [N, I], role: 'input' },
      { name: 'weight_C', shape: [N, I], role: 'input' },
      { name: 'A_log', shape: [H, N], role: 'own' },
      { name: 'D', shape: [H], role: 'own' },
    ];
    this.projection = [
      { weight: 'weight_u', bias: 'bias_u', rows: H },
      { weight: 'weight_dt', bias: 'bias_dt', rows: H },
      { weight: 'weight_B', bias: null, rows: N },
      { weight: 'weight_C', bias: null, rows: N },
    ];
    this.state = [{ name: 'h', size: H * N }];
    this.outSize = H;
    this.cacheSize = 2 * H;
    this.gates = [{ name: 'dt', offset: 0, width: H, activation: 'softplus', gradOffset: H }];
    this.A = new Float64Array(H * N);
    this.decayALog = new Float64Array(H * N);
  }

  init(get: (name: string) => Float64Array, rng: Rng): void {
    const H = this.hiddenSize;
    const N = this.stateSize;
    uniformInit(get, ['weight_u', 'bias_u', 'weight_dt', 'weight_B', 'weight_C'], H, rng);
    const bias = get('bias_dt');
    for (let d = 0; d < H; d++) {
      const dt = Math.max(1e-4, Math.exp(Math.log(1e-3) + rng.uniform() * (Math.log(0.1) - Math.log(1e-3))));
      bias[d] = softplusInverse(dt);
    }
    const aLog = get('A_log');
    for (let d = 0; d < H; d++) for (let n = 0; n < N; n++) aLog[d * N + n] = Math.log(n + 1);
    get('D').fill(1);
  }

  private negExpA(own: Float64Array[]): Float64Array {
    const aLog = own[0];
    for (let k = 0; k < this.A.length; k++) this.A[k] = -Math.exp(aLog[k]);
    return this.A;
  }

  /** exp(Δ_t[d] A[d,n]) for the step whose Δ_t is in io.cache, recomputed only if Δ_t or A_log differ from the memo's. */
  private stepDecay(io: StepIO): Float64Array {
    const H = this.hiddenSize;
    const N = this.stateSize;
    const { B, cache } = io;
    const aLog = io.own[0];
    if (this.decay.length < B * H * N) {
      this.decay = new Float64Array(B * H * N);
      this.decayDt = new Float64Array(B * H);
      this.decayB = -1;
    }
    let same = this.decayB === B;
    for (let k = 0; same && k < H * N; k++) same = this.decayALog[k] === aLog[k];
    for (let b = 0; same && b < B; b++) for (let d = 0; same && d < H; d++) same = this.decayDt[b * H + d] === cache[b * 2 * H + d];
    if (same) return this.decay;
    const A = this.negExpA(io.own);
    this.decayALog.set(aLog);
    for (let b = 0; b < B; b++) {
      for (let d = 0; d < H; d++) {
        const dt = cache[b * 2 * H + d];
        this.decayDt[b * H + d] = dt;
        for (let n = 0; n < N; n++) this.decay[(b * H + d) * N + n] = Math.exp(dt * A[d * N + n]);
      }
    }
    this.decayB = B;
    return this.decay;
  }

  forward(io: StepIO): void {
    const H = this.hiddenSize;
    const N = this.stateSize;
    const P = 2 * H + 2 * N;
    const { B, proj, cache } = io;
    const prev = io.prev[0];
    const next = io.next[0];
    for (let b = 0; b < B; b++) {
      for (let d = 0; d < H; d++) {
        const pdt = proj[b * P + H + d];
        cache[b * 2 * H + d] = softplus(pdt);
        cache[b * 2 * H + H + d] = sigmoid(pdt);
      }
    }
    const e = this.stepDecay(io);
    for (let b = 0; b < B; b++) {
      const p = b * P;
      const s = b * H * N;
      for (let d = 0; d < H; d++) {
        const du = cache[b * 2 * H + d] * proj[p + d];
        for (let n = 0; n < N; n++) {
          const k = s + d * N + n;
          next[k] = e[k] * prev[k] + du * proj[p + 2 * H + n];
        }
      }
    }
  }

  /** y_t[d] = Σ_n C_t[n] h_t[d,n] + D[d] u_t[d], from the state part (so a test can perturb h_t). */
  readout(io: StepIO): void {
    const H = this.hiddenSize;
    const N = this.stateSize;
    const P = 2 * H + 2 * N;
    const { B, proj, out } = io;
    const h = io.next[0];
    const D = io.own[1];
    for (let b = 0; b < B; b++) {
      const p = b * P;
      for (let d = 0; d < H; d++) {
        let y = D[d] * proj[p + d];
        for (let n = 0; n < N; n++) y += proj[p + 2 * H + N + n] * h[b * H * N + d * N + n];
        out[b * H + d] = y;
      }
    }
  }

  backward(io: BackwardIO): void {
    const H = this.hiddenSize;
    const N = this.stateSize;
    const P = 2 * H + 2 * N;
    const { B, proj, cache, dOut, dProj } = io;
    const prev = io.prev[0];
    const h = io.next[0];
    const dNext = io.dNext[0];
    const dState = io.dState[0];
    const dPrev = io.dPrev[0];
    const D = io.own[1];
    const [dALog, dD] = io.dOwn;
    const own = io.wantOwn;
    const E = this.stepDecay(io);
    const A = this.A; // set by stepDecay (from a recomputation or an earlier one with the same A_log)
    for (let b = 0; b < B; b++) {
      const p = b * P;
      const s = b * H * N;
      for (let n = 0; n < N; n++) {
        dProj[p + 2 * H + n] = 0; // dB_t
        dProj[p + 2 * H + N + n] = 0; // dC_t
      }
      for (let d = 0; d < H; d++) {
        const dy = dOut[b * H + d];
        const u = proj[p + d];
        const dt = cache[b * 2 * H + d];
        if (own) dD[d] += dy * u;
        let du = dy * D[d];
        let ddt = 0;
        for (let n = 0; n < N; n++) {
          const k = s + d * N + n;
          const Bn = proj[p + 2 * H + n];
          dProj[p + 2 * H + N + n] += dy * h[k];
          const g = dNext[k] + dy * proj[p + 2 * H + N + n];
          dState[k] = g;
          const a = A[d * N + n];
          const e = E[k];
          const ge = g * e * prev[k]; // ∂L/∂(Δ A) through exp
          ddt += ge * a + g * Bn * u;
          if (own) dALog[d * N + n] += ge * dt * a; // ∂A/∂A_log = A
          dProj[p + 2 * H + n] += g * dt * u;
          du += g * dt * Bn;
          dPrev[k] = g * e;
        }
        dProj[p + d] = du;
        dProj[p + H + d] = ddt * cache[b * 2 * H + H + d];
      }
    }
  }

  jvp(io: JvpIO): void {
    const H = this.hiddenSize;
    const N = this.stateSize;
    const v = io.v[0];
    const t = io.tOut[0];
    const e = this.stepDecay(io);
    for (let k = 0; k < io.B * H * N; k++) t[k] = e[k] * v[k];
  }
}
