// LSTM (design §2, nn.LSTM) with Greff et al.'s variants (`lstm-<variant>`). Pre-activations
// a = proj + rec (+ peepholes), gate blocks i, f, g, o:
//   i = σ(a_i) [nig: 1]   f = σ(a_f) [cifg: 1 − i, nfg: 1]   g = tanh(a_g) [niaf: a_g]
//   c = f ⊙ c_prev + i ⊙ g
//   o = σ(a_o) [nog: 1]   h = o ⊙ tanh(c) [noaf: o ⊙ c]
// Peephole: a_i += w_ci ⊙ c_prev, a_f += w_cf ⊙ c_prev, a_o += w_co ⊙ c (own parameters
// weight_ci/cf/co [H], our names: PyTorch has no peepholes). The weights keep all four row
// blocks whatever the variant; a fixed gate's rows simply get zero gradient.
// State (h, c), out = h. gradNormC records ∂L/∂c_t as a node (incl. the path through h_t):
// `nodeC` lets a test perturb c_t before h_t is formed from it.

import type { BackwardIO, Cell, GateSpec, JvpIO, ParamSpec, ProjectionBlock, StatePart, StepIO } from './cell';
import type { Rng } from '../rng';
import type { LstmVariant } from '../types';
import { uniformFill } from './common';
import { activationScratch, sigmoidRows, tanhRows } from '../activations';

/** Per example, the cache holds [i, f, g, o (4H), tanh(c_t) (H; c_t itself for noaf)]. */
const TC = 4;

export class LstmCell implements Cell {
  readonly name: string;
  readonly params: readonly ParamSpec[];
  readonly projection: readonly ProjectionBlock[];
  readonly recurrent: Cell['recurrent'];
  readonly recShared = true;
  readonly state: readonly StatePart[];
  readonly outPart = 'h';
  readonly outSize: number;
  readonly cacheSize: number;
  readonly gates: readonly GateSpec[];
  readonly nodeC: Cell['nodeC'];
  private readonly peephole: boolean;
  private readonly fixedI: boolean;
  private readonly fixedF: boolean;
  private readonly coupled: boolean;
  private readonly identityG: boolean;
  private readonly fixedO: boolean;
  private readonly linearOut: boolean;

  constructor(
    readonly inputSize: number,
    readonly hiddenSize: number,
    readonly variant: LstmVariant,
  ) {
    const H = hiddenSize;
    this.name = variant === 'vanilla' ? 'lstm' : `lstm-${variant}`;
    this.peephole = variant === 'peephole';
    this.fixedI = variant === 'nig';
    this.fixedF = variant === 'nfg';
    this.coupled = variant === 'cifg';
    this.identityG = variant === 'niaf';
    this.fixedO = variant === 'nog';
    this.linearOut = variant === 'noaf';
    const params: ParamSpec[] = [
      { name: 'weight_ih', shape: [4 * H, inputSize], role: 'input' },
      { name: 'weight_hh', shape: [4 * H, H], role: 'recurrent' },
      { name: 'bias_ih', shape: [4 * H], role: 'inputBias' },
      { name: 'bias_hh', shape: [4 * H], role: 'recurrentBias' },
    ];
    if (this.peephole) {
      params.push({ name: 'weight_ci', shape: [H], role: 'own' }, { name: 'weight_cf', shape: [H], role: 'own' }, { name: 'weight_co', shape: [H], role: 'own' });
    }
    this.params = params;
    this.projection = [{ weight: 'weight_ih', bias: 'bias_ih', rows: 4 * H }];
    this.recurrent = { weight: 'weight_hh', bias: 'bias_hh', rows: 4 * H, from: 'h' };
    this.state = [
      { name: 'h', size: H },
      { name: 'c', size: H },
    ];
    this.outSize = H;
    this.cacheSize = 5 * H;
    const gates: GateSpec[] = [];
    const gate = (name: string, block: number, activation: GateSpec['activation']): GateSpec => ({ name, offset: block * H, width: H, activation, gradOffset: block * H });
    if (!this.fixedI) gates.push(gate('i', 0, 'sigmoid'));
    if (!this.fixedF && !this.coupled) gates.push(gate('f', 1, 'sigmoid'));
    gates.push(gate('g', 2, this.identityG ? 'identity' : 'tanh'));
    if (!this.fixedO) gates.push(gate('o', 3, 'sigmoid'));
    this.gates = gates;
    this.nodeC = { part: 'c', reform: (io) => this.formH(io) };
  }

  init(get: (name: string) => Float64Array, rng: Rng): void {
    uniformFill(get, this.params.map((p) => p.name), 1 / Math.sqrt(this.hiddenSize), rng);
  }

  forward(io: StepIO): void {
    this.formC(io);
    this.formH(io);
  }

  /**
   * Gates i, f, g and c_t. The pre-activations of all examples go into the activations'
   * scratch ([B][3H]) and are activated there in place (activations.ts: batched, vectorised).
   */
  private formC(io: StepIO): void {
    const { B, proj, rec, cache } = io;
    const H = this.hiddenSize;
    const cPrev = io.prev[1];
    const c = io.next[1];
    const wci = this.peephole ? io.own[0] : null;
    const wcf = this.peephole ? io.own[1] : null;
    const G = 4 * H;
    const S = 5 * H;
    const A = 3 * H;
    const a = activationScratch(B * A);
    for (let b = 0; b < B; b++) {
      const r = b * G;
      const p = b * A;
      const hb = b * H;
      for (let j = 0; j < A; j++) a[p + j] = proj[r + j] + rec[r + j];
      if (wci !== null && wcf !== null) {
        for (let j = 0; j < H; j++) {
          const cp = cPrev[hb + j];
          a[p + j] += wci[j] * cp;
          a[p + H + j] += wcf[j] * cp;
        }
      }
    }
    const sigmoidF = !this.fixedF && !this.coupled;
    if (!this.fixedI) sigmoidRows(a, 0, B, sigmoidF ? 2 * H : H, A);
    else if (sigmoidF) sigmoidRows(a, H, B, H, A);
    if (!this.identityG) tanhRows(a, 2 * H, B, H, A);
    for (let b = 0; b < B; b++) {
      const p = b * A;
      const q = b * S;
      const hb = b * H;
      for (let j = 0; j < H; j++) {
        const i = this.fixedI ? 1 : a[p + j];
        const f = sigmoidF ? a[p + H + j] : this.fixedF ? 1 : 1 - i;
        const g = a[p + 2 * H + j];
        cache[q + j] = i;
        cache[q + H + j] = f;
        cache[q + 2 * H + j] = g;
        c[hb + j] = f * cPrev[hb + j] + i * g;
      }
    }
  }

  /** Gate o, tanh(c_t) and h_t from c_t as it stands in next (also after a test perturbed it). */
  private formH(io: StepIO): void {
    const { B, proj, rec, cache } = io;
    const H = this.hiddenSize;
    const c = io.next[1];
    const h = io.next[0];
    const wco = this.peephole ? io.own[2] : null;
    const G = 4 * H;
    const S = 5 * H;
    const A = 2 * H; // scratch rows: [o pre-activation, c_t]
    const a = activationScratch(B * A);
    for (let b = 0; b < B; b++) {
      const r = b * G + 3 * H;
      const p = b * A;
      const hb = b * H;
      for (let j = 0; j < H; j++) {
        const cj = c[hb + j];
        // rec is valid during forward only; reform runs inside the forward step (test hooks).
        let ao = proj[r + j] + rec[r + j];
        if (wco !== null) ao += wco[j] * cj;
        a[p + j] = this.fixedO ? 1 : ao;
        a[p + H + j] = cj;
      }
    }
    if (!this.fixedO) sigmoidRows(a, 0, B, H, A);
    if (!this.linearOut) tanhRows(a, H, B, H, A);
    for (let b = 0; b < B; b++) {
      const p = b * A;
      const q = b * S;
      const hb = b * H;
      for (let j = 0; j < H; j++) {
        const o = a[p + j];
        const t = a[p + H + j];
        cache[q + 3 * H + j] = o;
        cache[q + TC * H + j] = t;
        h[hb + j] = o * t;
      }
    }
  }

  backward(io: BackwardIO): void {
    const { B, cache, dOut, dProj, dNodeC } = io;
    const H = this.hiddenSize;
    const cPrev = io.prev[1];
    const dNextH = io.dNext[0];
    const dcIn = io.dNext[1];
    const dStateH = io.dState[0];
    const dStateC = io.dState[1];
    const dPrevH = io.dPrev[0];
    const dPrevC = io.dPrev[1];
    const c = io.next[1];
    const wci = this.peephole ? io.own[0] : null;
    const wcf = this.peephole ? io.own[1] : null;
    const wco = this.peephole ? io.own[2] : null;
    const own = this.peephole && io.wantOwn;
    const gci = own ? io.dOwn[0] : null;
    const gcf = own ? io.dOwn[1] : null;
    const gco = own ? io.dOwn[2] : null;
    const G = 4 * H;
    const S = 5 * H;
    for (let b = 0; b < B; b++) {
      const r = b * G;
      const q = b * S;
      const hb = b * H;
      for (let j = 0; j < H; j++) {
        const i = cache[q + j];
        const f = cache[q + H + j];
        const gg = cache[q + 2 * H + j];
        const o = cache[q + 3 * H + j];
        const t = cache[q + TC * H + j];
        const dhj = dOut[hb + j] + dNextH[hb + j];
        const dci = dcIn[hb + j];
        dStateH[hb + j] = dhj;
        // What arrives from step t+1 is ∂L/∂c_t with h_t held fixed: the c part of the state
        // gradient (gradNormState), as opposed to the node gradient dcj (gradNormC).
        dStateC[hb + j] = dci;
        const dao = this.fixedO ? 0 : dhj * t * o * (1 - o);
        let dcj = dci + dhj * o * (this.linearOut ? 1 : 1 - t * t);
        if (wco !== null) dcj += dao * wco[j];
        const cp = cPrev[hb + j];
        const di = dcj * gg;
        const df = dcj * cp;
        const dgv = dcj * i;
        let dai: number;
        let daf: number;
        if (this.fixedI) dai = 0;
        else if (this.coupled) dai = (di - df) * i * (1 - i); // f = 1 − i
        else dai = di * i * (1 - i);
        if (this.fixedF || this.coupled) daf = 0;
        else daf = df * f * (1 - f);
        const dag = this.identityG ? dgv : dgv * (1 - gg * gg);
        dProj[r + j] = dai;
        dProj[r + H + j] = daf;
        dProj[r + 2 * H + j] = dag;
        dProj[r + 3 * H + j] = dao;
        dNodeC[hb + j] = dcj;
        let dcp = dcj * f;
        if (wci !== null && wcf !== null) dcp += dai * wci[j] + daf * wcf[j];
        dPrevC[hb + j] = dcp;
        dPrevH[hb + j] = 0;
        if (gci !== null && gcf !== null && gco !== null) {
          gci[j] += dai * cp;
          gcf[j] += daf * cp;
          gco[j] += dao * c[hb + j];
        }
      }
    }
  }

  jvp(io: JvpIO): void {
    const { B, cache, dRecV } = io;
    const H = this.hiddenSize;
    const cPrev = io.prev[1];
    const vc = io.v[1];
    const th = io.tOut[0];
    const tcOut = io.tOut[1];
    const wci = this.peephole ? io.own[0] : null;
    const wcf = this.peephole ? io.own[1] : null;
    const wco = this.peephole ? io.own[2] : null;
    const G = 4 * H;
    const S = 5 * H;
    for (let b = 0; b < B; b++) {
      const r = b * G;
      const q = b * S;
      const hb = b * H;
      for (let j = 0; j < H; j++) {
        const i = cache[q + j];
        const f = cache[q + H + j];
        const gg = cache[q + 2 * H + j];
        const o = cache[q + 3 * H + j];
        const vcj = vc[hb + j];
        let dai = dRecV[r + j];
        let daf = dRecV[r + H + j];
        if (wci !== null && wcf !== null) {
          dai += wci[j] * vcj;
          daf += wcf[j] * vcj;
        }
        const di = this.fixedI ? 0 : i * (1 - i) * dai;
        const df = this.fixedF ? 0 : this.coupled ? -di : f * (1 - f) * daf;
        const dag = dRecV[r + 2 * H + j];
        const dg = this.identityG ? dag : (1 - gg * gg) * dag;
        const dcj = df * cPrev[hb + j] + f * vcj + di * gg + i * dg;
        let dao = dRecV[r + 3 * H + j];
        if (wco !== null) dao += wco[j] * dcj;
        const dO = this.fixedO ? 0 : o * (1 - o) * dao;
        const t = cache[q + TC * H + j];
        tcOut[hb + j] = dcj;
        th[hb + j] = dO * t + o * (this.linearOut ? 1 : 1 - t * t) * dcj;
      }
    }
  }
}
