// Recurrent cells as elementwise step functions (design §2, PyTorch conventions).
//
// The time loop (bptt.ts) does every matrix product: gi = W_ih u_t + b_ih and
// gh = W_hh h_{t-1} + b_hh before a step, and dU = dGi W_ih, dh_{t-1} += dGh W_hh,
// dW += ... after it. A cell only does what is elementwise: gates, state update, and
// their derivatives. Each cell provides
//   forward   (gi, gh, states at t-1) -> gate activations, c_t, h_t (in two phases, so a
//             test hook can perturb c_t before h_t is formed)
//   backward  (dL/dh_t, dL/dc_t from the future) -> dL/d(pre-activations), dL/dc_{t-1},
//             the direct part of dL/dh_{t-1}
//   jvp       tangent of the state map (h_{t-1}, c_{t-1}) -> (h_t, c_t), for the Jacobian probe.
// Buffers are [B][·] row-major; gate blocks sit side by side in a row: [B][G*H].

import type { CellKind, LstmVariant, ModelConfig, Nonlinearity } from './types';

export type GateActivation = 'sigmoid' | 'tanh' | 'relu' | 'identity';

export interface GateInfo {
  name: string;
  /** Block index in the stacked weights (i,f,g,o = 0..3; r,z,n = 0..2). */
  block: number;
  activation: GateActivation;
}

/** One timestep's stored forward values (views into the workspace). */
export interface StepState {
  /** W_ih u_t + b_ih, [B][G*H] (a test hook may have added to it). */
  gi: Float64Array;
  /** W_hh h_{t-1} + b_hh, [B][G*H]. */
  gh: Float64Array;
  /** Gate values after their activation, [B][G*H] (RNN: h_t itself). */
  act: Float64Array;
  hPrev: Float64Array;
  h: Float64Array;
  /** LSTM only ([B][H]); empty arrays for other cells. */
  cPrev: Float64Array;
  c: Float64Array;
  /** LSTM: tanh(c_t) (c_t itself for `noaf`). */
  tc: Float64Array;
}

/** Per-layer parameters a cell reads elementwise (peephole diagonals). */
export interface CellParams {
  wci: Float64Array | null;
  wcf: Float64Array | null;
  wco: Float64Array | null;
}

/** Outputs of one backward step. */
export interface StepGrads {
  /** dL/d(gi): gradient of every gate's pre-activation, [B][G*H]. */
  dGi: Float64Array;
  /** dL/d(gh); the same array as dGi except for GRU (whose n gate scales gh_n by r). */
  dGh: Float64Array;
  /** LSTM: total dL/dc_t (incl. the path through h_t), [B][H]. */
  dc: Float64Array;
  /** LSTM: dL/dc_{t-1} through this step, [B][H]. */
  dcPrev: Float64Array;
  /** The part of dL/dh_{t-1} that does not go through W_hh (GRU: z ⊙ dh), [B][H]. */
  dhPrev: Float64Array;
}

export interface Cell {
  readonly kind: CellKind;
  /** Number of stacked gate blocks in W_ih / W_hh. */
  readonly blocks: number;
  /** Gates that exist in this cell/variant (recorded by the gate probes). */
  readonly gates: readonly GateInfo[];
  /** Whether the state carries c (LSTM family). */
  readonly hasCell: boolean;
  /** dGh differs from dGi (GRU). */
  readonly separateHiddenGrad: boolean;
  /** backward/jvp read gh of the step (GRU's gh_n); otherwise gh is dead after the step. */
  readonly readsGhLater: boolean;
  /** Phase 1 (LSTM: gates i, f, g and c_t; no-op for others). */
  forwardC(s: StepState, p: CellParams, B: number, H: number): void;
  /** Phase 2: h_t (and LSTM's o gate, which a peephole lets see c_t). */
  forwardH(s: StepState, p: CellParams, B: number, H: number): void;
  /**
   * dh: total dL/dh_t [B][H]; dcIn: dL/dc_t arriving from step t+1 (LSTM; zeros at the end).
   * Writes g.dGi (and g.dGh), g.dc, g.dcPrev, g.dhPrev (overwrites, never accumulates).
   */
  backward(s: StepState, p: CellParams, B: number, H: number, dh: Float64Array, dcIn: Float64Array, g: StepGrads): void;
  /**
   * Tangent map: given vh, vc (tangents of h_{t-1}, c_{t-1}) and dgh = W_hh vh, write
   * th, tc (tangents of h_t, c_t).
   */
  jvp(
    s: StepState,
    p: CellParams,
    B: number,
    H: number,
    vh: Float64Array,
    vc: Float64Array,
    dgh: Float64Array,
    th: Float64Array,
    tc: Float64Array,
  ): void;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

// ---------------------------------------------------------------- vanilla RNN

class RnnCell implements Cell {
  readonly kind = 'rnn' as const;
  readonly blocks = 1;
  readonly hasCell = false;
  readonly separateHiddenGrad = false;
  readonly readsGhLater = false;
  readonly gates: readonly GateInfo[];
  private readonly relu: boolean;

  constructor(nonlinearity: Nonlinearity) {
    this.relu = nonlinearity === 'relu';
    this.gates = [{ name: 'a', block: 0, activation: this.relu ? 'relu' : 'tanh' }];
  }

  forwardC(): void {}

  forwardH(s: StepState, _p: CellParams, B: number, H: number): void {
    const { gi, gh, act, h } = s;
    const n = B * H;
    if (this.relu) {
      for (let k = 0; k < n; k++) {
        const a = gi[k] + gh[k];
        // a > 0 is false for NaN, so keep NaN visible instead of turning it into 0.
        const v = a > 0 ? a : a !== a ? a : 0;
        act[k] = v;
        h[k] = v;
      }
    } else {
      for (let k = 0; k < n; k++) {
        const v = Math.tanh(gi[k] + gh[k]);
        act[k] = v;
        h[k] = v;
      }
    }
  }

  backward(s: StepState, _p: CellParams, B: number, H: number, dh: Float64Array, _dcIn: Float64Array, g: StepGrads): void {
    const { act } = s;
    const { dGi, dhPrev } = g;
    const n = B * H;
    if (this.relu) {
      // relu'(0) = 0, as in PyTorch.
      for (let k = 0; k < n; k++) dGi[k] = act[k] > 0 ? dh[k] : 0;
    } else {
      for (let k = 0; k < n; k++) dGi[k] = dh[k] * (1 - act[k] * act[k]);
    }
    dhPrev.fill(0, 0, n);
  }

  jvp(s: StepState, _p: CellParams, B: number, H: number, _vh: Float64Array, _vc: Float64Array, dgh: Float64Array, th: Float64Array): void {
    const { act } = s;
    const n = B * H;
    if (this.relu) {
      for (let k = 0; k < n; k++) th[k] = act[k] > 0 ? dgh[k] : 0;
    } else {
      for (let k = 0; k < n; k++) th[k] = dgh[k] * (1 - act[k] * act[k]);
    }
  }
}

// ---------------------------------------------------------------- LSTM family

/**
 * LSTM with Greff et al.'s variants. Pre-activations a = gi + gh (+ peepholes):
 *   i = σ(a_i) [nig: 1]   f = σ(a_f) [cifg: 1 − i, nfg: 1]   g = tanh(a_g) [niaf: a_g]
 *   c = f ⊙ c_prev + i ⊙ g
 *   o = σ(a_o) [nog: 1]   h = o ⊙ tanh(c) [noaf: o ⊙ c]
 * Peephole: a_i += w_ci ⊙ c_prev, a_f += w_cf ⊙ c_prev, a_o += w_co ⊙ c.
 * The weights keep all four row blocks; a fixed gate's rows simply get zero gradient.
 */
class LstmCell implements Cell {
  readonly kind = 'lstm' as const;
  readonly blocks = 4;
  readonly hasCell = true;
  readonly separateHiddenGrad = false;
  readonly readsGhLater = false;
  readonly gates: readonly GateInfo[];
  private readonly fixedI: boolean;
  private readonly fixedF: boolean;
  private readonly coupled: boolean;
  private readonly identityG: boolean;
  private readonly fixedO: boolean;
  private readonly linearOut: boolean;

  constructor(variant: LstmVariant) {
    this.fixedI = variant === 'nig';
    this.fixedF = variant === 'nfg';
    this.coupled = variant === 'cifg';
    this.identityG = variant === 'niaf';
    this.fixedO = variant === 'nog';
    this.linearOut = variant === 'noaf';
    const gates: GateInfo[] = [];
    if (!this.fixedI) gates.push({ name: 'i', block: 0, activation: 'sigmoid' });
    if (!this.fixedF && !this.coupled) gates.push({ name: 'f', block: 1, activation: 'sigmoid' });
    gates.push({ name: 'g', block: 2, activation: this.identityG ? 'identity' : 'tanh' });
    if (!this.fixedO) gates.push({ name: 'o', block: 3, activation: 'sigmoid' });
    this.gates = gates;
  }

  forwardC(s: StepState, p: CellParams, B: number, H: number): void {
    const { gi, gh, act, cPrev, c } = s;
    const { wci, wcf } = p;
    const G = 4 * H;
    for (let b = 0; b < B; b++) {
      const r = b * G;
      const hb = b * H;
      for (let j = 0; j < H; j++) {
        const cp = cPrev[hb + j];
        let ai = gi[r + j] + gh[r + j];
        let af = gi[r + H + j] + gh[r + H + j];
        if (wci !== null && wcf !== null) {
          ai += wci[j] * cp;
          af += wcf[j] * cp;
        }
        const ag = gi[r + 2 * H + j] + gh[r + 2 * H + j];
        const i = this.fixedI ? 1 : sigmoid(ai);
        const f = this.fixedF ? 1 : this.coupled ? 1 - i : sigmoid(af);
        const g = this.identityG ? ag : Math.tanh(ag);
        act[r + j] = i;
        act[r + H + j] = f;
        act[r + 2 * H + j] = g;
        c[hb + j] = f * cp + i * g;
      }
    }
  }

  forwardH(s: StepState, p: CellParams, B: number, H: number): void {
    const { gi, gh, act, c, tc, h } = s;
    const { wco } = p;
    const G = 4 * H;
    for (let b = 0; b < B; b++) {
      const r = b * G + 3 * H;
      const hb = b * H;
      for (let j = 0; j < H; j++) {
        const cj = c[hb + j];
        let ao = gi[r + j] + gh[r + j];
        if (wco !== null) ao += wco[j] * cj;
        const o = this.fixedO ? 1 : sigmoid(ao);
        const t = this.linearOut ? cj : Math.tanh(cj);
        act[r + j] = o;
        tc[hb + j] = t;
        h[hb + j] = o * t;
      }
    }
  }

  backward(s: StepState, p: CellParams, B: number, H: number, dh: Float64Array, dcIn: Float64Array, g: StepGrads): void {
    const { act, cPrev, tc } = s;
    const { wci, wcf, wco } = p;
    const { dGi, dc, dcPrev, dhPrev } = g;
    const G = 4 * H;
    for (let b = 0; b < B; b++) {
      const r = b * G;
      const hb = b * H;
      for (let j = 0; j < H; j++) {
        const i = act[r + j];
        const f = act[r + H + j];
        const gg = act[r + 2 * H + j];
        const o = act[r + 3 * H + j];
        const t = tc[hb + j];
        const dhj = dh[hb + j];
        const dao = this.fixedO ? 0 : dhj * t * o * (1 - o);
        let dcj = dcIn[hb + j] + dhj * o * (this.linearOut ? 1 : 1 - t * t);
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
        dGi[r + j] = dai;
        dGi[r + H + j] = daf;
        dGi[r + 2 * H + j] = dag;
        dGi[r + 3 * H + j] = dao;
        dc[hb + j] = dcj;
        let dcp = dcj * f;
        if (wci !== null && wcf !== null) dcp += dai * wci[j] + daf * wcf[j];
        dcPrev[hb + j] = dcp;
        dhPrev[hb + j] = 0;
      }
    }
  }

  jvp(
    s: StepState,
    p: CellParams,
    B: number,
    H: number,
    _vh: Float64Array,
    vc: Float64Array,
    dgh: Float64Array,
    th: Float64Array,
    tcOut: Float64Array,
  ): void {
    const { act, cPrev, tc } = s;
    const { wci, wcf, wco } = p;
    const G = 4 * H;
    for (let b = 0; b < B; b++) {
      const r = b * G;
      const hb = b * H;
      for (let j = 0; j < H; j++) {
        const i = act[r + j];
        const f = act[r + H + j];
        const gg = act[r + 2 * H + j];
        const o = act[r + 3 * H + j];
        const vcj = vc[hb + j];
        let dai = dgh[r + j];
        let daf = dgh[r + H + j];
        if (wci !== null && wcf !== null) {
          dai += wci[j] * vcj;
          daf += wcf[j] * vcj;
        }
        const di = this.fixedI ? 0 : i * (1 - i) * dai;
        const df = this.fixedF ? 0 : this.coupled ? -di : f * (1 - f) * daf;
        const dag = dgh[r + 2 * H + j];
        const dg = this.identityG ? dag : (1 - gg * gg) * dag;
        const dcj = df * cPrev[hb + j] + f * vcj + di * gg + i * dg;
        let dao = dgh[r + 3 * H + j];
        if (wco !== null) dao += wco[j] * dcj;
        const dO = this.fixedO ? 0 : o * (1 - o) * dao;
        const t = tc[hb + j];
        tcOut[hb + j] = dcj;
        th[hb + j] = dO * t + o * (this.linearOut ? 1 : 1 - t * t) * dcj;
      }
    }
  }
}

// ---------------------------------------------------------------- GRU

/**
 * PyTorch GRU: r = σ(gi_r + gh_r), z = σ(gi_z + gh_z), n = tanh(gi_n + r ⊙ gh_n),
 * h = (1 − z) ⊙ n + z ⊙ h_prev. The n gate's pre-activation is gi_n + r ⊙ gh_n.
 */
class GruCell implements Cell {
  readonly kind = 'gru' as const;
  readonly blocks = 3;
  readonly hasCell = false;
  readonly separateHiddenGrad = true;
  readonly readsGhLater = true;
  readonly gates: readonly GateInfo[] = [
    { name: 'r', block: 0, activation: 'sigmoid' },
    { name: 'z', block: 1, activation: 'sigmoid' },
    { name: 'n', block: 2, activation: 'tanh' },
  ];

  forwardC(): void {}

  forwardH(s: StepState, _p: CellParams, B: number, H: number): void {
    const { gi, gh, act, hPrev, h } = s;
    const G = 3 * H;
    for (let b = 0; b < B; b++) {
      const r0 = b * G;
      const hb = b * H;
      for (let j = 0; j < H; j++) {
        const r = sigmoid(gi[r0 + j] + gh[r0 + j]);
        const z = sigmoid(gi[r0 + H + j] + gh[r0 + H + j]);
        const n = Math.tanh(gi[r0 + 2 * H + j] + r * gh[r0 + 2 * H + j]);
        act[r0 + j] = r;
        act[r0 + H + j] = z;
        act[r0 + 2 * H + j] = n;
        h[hb + j] = (1 - z) * n + z * hPrev[hb + j];
      }
    }
  }

  backward(s: StepState, _p: CellParams, B: number, H: number, dh: Float64Array, _dcIn: Float64Array, g: StepGrads): void {
    const { gh, act, hPrev } = s;
    const { dGi, dGh, dhPrev } = g;
    const G = 3 * H;
    for (let b = 0; b < B; b++) {
      const r0 = b * G;
      const hb = b * H;
      for (let j = 0; j < H; j++) {
        const r = act[r0 + j];
        const z = act[r0 + H + j];
        const n = act[r0 + 2 * H + j];
        const dhj = dh[hb + j];
        const dan = dhj * (1 - z) * (1 - n * n);
        const daz = dhj * (hPrev[hb + j] - n) * z * (1 - z);
        const dar = dan * gh[r0 + 2 * H + j] * r * (1 - r);
        dGi[r0 + j] = dar;
        dGi[r0 + H + j] = daz;
        dGi[r0 + 2 * H + j] = dan;
        dGh[r0 + j] = dar;
        dGh[r0 + H + j] = daz;
        dGh[r0 + 2 * H + j] = dan * r;
        dhPrev[hb + j] = dhj * z;
      }
    }
  }

  jvp(s: StepState, _p: CellParams, B: number, H: number, vh: Float64Array, _vc: Float64Array, dgh: Float64Array, th: Float64Array): void {
    const { gh, act, hPrev } = s;
    const G = 3 * H;
    for (let b = 0; b < B; b++) {
      const r0 = b * G;
      const hb = b * H;
      for (let j = 0; j < H; j++) {
        const r = act[r0 + j];
        const z = act[r0 + H + j];
        const n = act[r0 + 2 * H + j];
        const dr = r * (1 - r) * dgh[r0 + j];
        const dz = z * (1 - z) * dgh[r0 + H + j];
        const dn = (1 - n * n) * (dr * gh[r0 + 2 * H + j] + r * dgh[r0 + 2 * H + j]);
        th[hb + j] = dz * (hPrev[hb + j] - n) + (1 - z) * dn + z * vh[hb + j];
      }
    }
  }
}

/** Peephole diagonals: dw_ci += Σ_b da_i ⊙ c_{t-1}, dw_cf += Σ_b da_f ⊙ c_{t-1}, dw_co += Σ_b da_o ⊙ c_t. */
export function addPeepholeGrads(
  st: StepState,
  dA: Float64Array,
  off: number,
  B: number,
  H: number,
  gci: Float64Array,
  gcf: Float64Array,
  gco: Float64Array,
): void {
  const G = 4 * H;
  for (let b = 0; b < B; b++) {
    const r = off + b * G;
    const hb = b * H;
    for (let j = 0; j < H; j++) {
      gci[j] += dA[r + j] * st.cPrev[hb + j];
      gcf[j] += dA[r + H + j] * st.cPrev[hb + j];
      gco[j] += dA[r + 3 * H + j] * st.c[hb + j];
    }
  }
}

export function makeCell(config: ModelConfig): Cell {
  switch (config.cell) {
    case 'rnn':
      return new RnnCell(config.nonlinearity);
    case 'lstm':
      return new LstmCell(config.variant);
    case 'gru':
      return new GruCell();
  }
}
