// LRU, the Linear Recurrent Unit (Orvieto et al. 2023, design §8):
//   λ_j = exp(−exp(ν_j) + i·exp(θ_j)),  γ_j = exp(γlog_j),
//   h_t = λ ⊙ h_{t-1} + γ ⊙ ((B_re + i·B_im) x_t),   y_t = Re((C_re + i·C_im) h_t) + D x_t.
// The complex state h ∈ ℂ^H is one state part of 2H reals per example, laid out
// [Re h (H), Im h (H)], and counted that way in every norm. out_t = y_t is read from the
// state, so the output gradient flows into ∂L/∂h_t inside backward (dState = dNext + the
// readout's C-transpose of dOut).
//
// The loop does B_re x, B_im x and D x (role 'input', no biases: proj = [B_re x; B_im x; D x]);
// ν, θ, γ and C (which reads the state) are the cell's own parameters.
// Step Jacobian: the constant diag(λ) (a rotation-and-scaling on each (Re, Im) pair), so
// σ_max = max_j |λ_j| at every step.
//
// Init (Orvieto et al.'s reference code): λ uniform on the ring r_min ≤ |λ| ≤ r_max by area
// (|λ|² uniform in [r_min², r_max²]), phase uniform in (0, max_phase = 2π); γ = √(1 − |λ|²);
// B_re, B_im ~ N(0, 1/(2I)); C_re, C_im ~ N(0, 1/H); D ~ N(0, 1/I) (the reference's D is a
// unit-variance vector, here a matrix, scaled to keep the output's variance).

import type { BackwardIO, Cell, CellOptions, GateSpec, JvpIO, ParamSpec, ProjectionBlock, StatePart, StepIO } from './cell';
import type { Rng } from '../rng';

export interface LruOptions {
  rMin: number;
  rMax: number;
  maxPhase: number;
}

export const LRU_DEFAULTS: LruOptions = { rMin: 0.9, rMax: 0.999, maxPhase: 2 * Math.PI };

export class LruCell implements Cell {
  readonly name = 'lru';
  readonly params: readonly ParamSpec[];
  readonly projection: readonly ProjectionBlock[];
  readonly recurrent = null;
  readonly recShared = false;
  readonly nodeC = null;
  readonly state: readonly StatePart[];
  readonly outPart = null;
  readonly outSize: number;
  readonly cacheSize = 0;
  readonly gates: readonly GateSpec[] = [];
  readonly options: LruOptions;
  // λ (Re, Im) and γ of the current parameters, and per-step accumulators for dλ, dγ.
  private readonly lam: Float64Array;
  private readonly acc: Float64Array;

  constructor(
    readonly inputSize: number,
    readonly hiddenSize: number,
    options: CellOptions = {},
  ) {
    const H = hiddenSize;
    const I = inputSize;
    this.options = { ...LRU_DEFAULTS, rMin: options.rMin ?? LRU_DEFAULTS.rMin, rMax: options.rMax ?? LRU_DEFAULTS.rMax };
    const { rMin, rMax } = this.options;
    if (!(rMin >= 0 && rMin <= rMax && rMax < 1)) throw new Error(`lru: need 0 ≤ rMin ≤ rMax < 1, got rMin ${rMin}, rMax ${rMax}`);
    this.params = [
      { name: 'nu_log', shape: [H], role: 'own' },
      { name: 'theta_log', shape: [H], role: 'own' },
      { name: 'gamma_log', shape: [H], role: 'own' },
      { name: 'B_re', shape: [H, I], role: 'input' },
      { name: 'B_im', shape: [H, I], role: 'input' },
      { name: 'C_re', shape: [H, H], role: 'own' },
      { name: 'C_im', shape: [H, H], role: 'own' },
      { name: 'D', shape: [H, I], role: 'input' },
    ];
    this.projection = [
      { weight: 'B_re', bias: null, rows: H },
      { weight: 'B_im', bias: null, rows: H },
      { weight: 'D', bias: null, rows: H },
    ];
    this.state = [{ name: 'h', size: 2 * H }];
    this.outSize = H;
    this.lam = new Float64Array(3 * H);
    this.acc = new Float64Array(3 * H);
  }

  init(get: (name: string) => Float64Array, rng: Rng): void {
    const H = this.hiddenSize;
    const I = this.inputSize;
    const { rMin, rMax, maxPhase } = this.options;
    const nu = get('nu_log');
    const theta = get('theta_log');
    const gamma = get('gamma_log');
    for (let j = 0; j < H; j++) {
      const r2 = rMin * rMin + rng.uniform() * (rMax * rMax - rMin * rMin); // |λ|²
      nu[j] = Math.log(-0.5 * Math.log(r2));
      let phase = 0;
      while (phase === 0) phase = maxPhase * rng.uniform(); // log(0) would be −∞
      theta[j] = Math.log(phase);
      gamma[j] = 0.5 * Math.log(1 - r2);
    }
    const normal = (name: string, std: number): void => {
      const d = get(name);
      for (let k = 0; k < d.length; k++) d[k] = std * rng.normal();
    };
    normal('B_re', 1 / Math.sqrt(2 * I));
    normal('B_im', 1 / Math.sqrt(2 * I));
    normal('C_re', 1 / Math.sqrt(H));
    normal('C_im', 1 / Math.sqrt(H));
    normal('D', 1 / Math.sqrt(I));
  }

  /** λ = (Re, Im) and γ from the own parameters [ν, θ, γlog, ...] into this.lam. */
  private lambda(own: Float64Array[]): Float64Array {
    const H = this.hiddenSize;
    const [nu, theta, gammaLog] = own;
    const lam = this.lam;
    for (let j = 0; j < H; j++) {
      const r = Math.exp(-Math.exp(nu[j]));
      const phi = Math.exp(theta[j]);
      lam[j] = r * Math.cos(phi);
      lam[H + j] = r * Math.sin(phi);
      lam[2 * H + j] = Math.exp(gammaLog[j]);
    }
    return lam;
  }

  forward(io: StepIO): void {
    const H = this.hiddenSize;
    const { B, proj } = io;
    const prev = io.prev[0];
    const next = io.next[0];
    const lam = this.lambda(io.own);
    for (let b = 0; b < B; b++) {
      const s = b * 2 * H;
      const p = b * 3 * H;
      for (let j = 0; j < H; j++) {
        const re = prev[s + j];
        const im = prev[s + H + j];
        const lr = lam[j];
        const li = lam[H + j];
        const g = lam[2 * H + j];
        next[s + j] = lr * re - li * im + g * proj[p + j];
        next[s + H + j] = lr * im + li * re + g * proj[p + H + j];
      }
    }
  }

  /** y_t = C_re Re h_t − C_im Im h_t + D x_t, from the state part (so a test can perturb h_t). */
  readout(io: StepIO): void {
    const H = this.hiddenSize;
    const { B, proj, out } = io;
    const h = io.next[0];
    const cRe = io.own[3];
    const cIm = io.own[4];
    for (let b = 0; b < B; b++) {
      const s = b * 2 * H;
      for (let a = 0; a < H; a++) {
        let y = proj[b * 3 * H + 2 * H + a];
        for (let j = 0; j < H; j++) y += cRe[a * H + j] * h[s + j] - cIm[a * H + j] * h[s + H + j];
        out[b * H + a] = y;
      }
    }
  }

  backward(io: BackwardIO): void {
    const H = this.hiddenSize;
    const { B, proj, dOut, dProj } = io;
    const prev = io.prev[0];
    const h = io.next[0];
    const dNext = io.dNext[0];
    const dState = io.dState[0];
    const dPrev = io.dPrev[0];
    const [nu, theta, , cRe, cIm] = io.own;
    const [dNu, dTheta, dGammaLog, dCRe, dCIm] = io.dOwn;
    const lam = this.lambda(io.own);
    const acc = this.acc; // [dλ_re (H), dλ_im (H), dγ (H)] summed over the batch
    acc.fill(0);
    for (let b = 0; b < B; b++) {
      const s = b * 2 * H;
      const p = b * 3 * H;
      const dy = b * H;
      // Readout: dState = dNext + (C_re, −C_im)ᵀ dy; dC += dy hᵀ; dD x through dProj.
      // One pass over the rows of C (row-major access).
      for (let j = 0; j < 2 * H; j++) dState[s + j] = dNext[s + j];
      for (let a = 0; a < H; a++) {
        const g = dOut[dy + a];
        dProj[p + 2 * H + a] = g;
        if (g === 0) continue;
        const row = a * H;
        for (let j = 0; j < H; j++) {
          dState[s + j] += cRe[row + j] * g;
          dState[s + H + j] -= cIm[row + j] * g;
        }
        if (!io.wantOwn) continue;
        for (let j = 0; j < H; j++) {
          dCRe[row + j] += g * h[s + j];
          dCIm[row + j] -= g * h[s + H + j];
        }
      }
      // Recurrence h = λ h_prev + γ u (complex).
      for (let j = 0; j < H; j++) {
        const dre = dState[s + j];
        const dim = dState[s + H + j];
        const re = prev[s + j];
        const im = prev[s + H + j];
        const lr = lam[j];
        const li = lam[H + j];
        const g = lam[2 * H + j];
        acc[j] += dre * re + dim * im;
        acc[H + j] += -dre * im + dim * re;
        acc[2 * H + j] += dre * proj[p + j] + dim * proj[p + H + j];
        dProj[p + j] = g * dre;
        dProj[p + H + j] = g * dim;
        dPrev[s + j] = lr * dre + li * dim;
        dPrev[s + H + j] = -li * dre + lr * dim;
      }
    }
    // λ = r (cos φ + i sin φ), r = exp(−exp ν), φ = exp θ: ∂λ/∂ν = −exp(ν) λ, ∂λ/∂θ = i φ λ.
    if (!io.wantOwn) return;
    for (let j = 0; j < H; j++) {
      const lr = lam[j];
      const li = lam[H + j];
      dNu[j] += -Math.exp(nu[j]) * (acc[j] * lr + acc[H + j] * li);
      dTheta[j] += Math.exp(theta[j]) * (-acc[j] * li + acc[H + j] * lr);
      dGammaLog[j] += acc[2 * H + j] * lam[2 * H + j];
    }
  }

  jvp(io: JvpIO): void {
    const H = this.hiddenSize;
    const { B } = io;
    const v = io.v[0];
    const t = io.tOut[0];
    const lam = this.lambda(io.own);
    for (let b = 0; b < B; b++) {
      const s = b * 2 * H;
      for (let j = 0; j < H; j++) {
        const re = v[s + j];
        const im = v[s + H + j];
        t[s + j] = lam[j] * re - lam[H + j] * im;
        t[s + H + j] = lam[j] * im + lam[H + j] * re;
      }
    }
  }
}
