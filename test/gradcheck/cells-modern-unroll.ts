// A reference time loop for the modern cells' tests (design §8), written from the cell
// contract (src/engine/cells/cell.ts) and nothing else: the loop's share of the work
// (proj_t = W_in u_t + b_in, rec_t = W_hh s_{t-1}[from] + b_hh, out_t = next[outPart] or
// readout, stacking, the reverse direction, and backwards dU, dW_in, db_in, dW_hh, db_hh and
// d s_{t-1}[from] += dRec W_hh) done plainly, step by step, with test hooks that perturb a
// state part after a step (then out_t is formed again), c_t as a node (nodeC), the initial
// state, or proj_t. It lets every cell be checked against finite differences and PyTorch
// before (and independently of) the engine's generic loop in bptt.ts.

import type { BackwardIO, Cell, CellOptions, JvpIO, StepIO } from '../../src/engine/cells/cell';
import { IndRnnCell } from '../../src/engine/cells/indrnn';
import { LruCell } from '../../src/engine/cells/lru';
import { MinGruCell } from '../../src/engine/cells/mingru';
import { MinLstmCell } from '../../src/engine/cells/minlstm';
import { MLstmCell } from '../../src/engine/cells/mlstm';
import { RgLruCell } from '../../src/engine/cells/rglru';
import { S6Cell } from '../../src/engine/cells/s6';
import { SLstmCell } from '../../src/engine/cells/slstm';
import { Rng } from '../../src/engine/rng';

export const MODERN_CELLS = ['indrnn', 'mingru', 'minlstm', 'lru', 'rglru', 'slstm', 'mlstm', 's6'] as const;
export type ModernCellName = (typeof MODERN_CELLS)[number];

export function makeCell(name: ModernCellName, inputSize: number, hiddenSize: number, options: CellOptions = {}): Cell {
  switch (name) {
    case 'indrnn':
      return new IndRnnCell(inputSize, hiddenSize, options);
    case 'mingru':
      return new MinGruCell(inputSize, hiddenSize, options);
    case 'minlstm':
      return new MinLstmCell(inputSize, hiddenSize, options);
    case 'lru':
      return new LruCell(inputSize, hiddenSize, options);
    case 'rglru':
      return new RgLruCell(inputSize, hiddenSize, options);
    case 'slstm':
      return new SLstmCell(inputSize, hiddenSize, options);
    case 'mlstm':
      return new MLstmCell(inputSize, hiddenSize, options);
    case 's6':
      return new S6Cell(inputSize, hiddenSize, options);
  }
}

export interface NetSpec {
  cell: ModernCellName;
  inputSize: number;
  hiddenSize: number;
  layers: number;
  bidirectional: boolean;
  options: CellOptions;
}

/** One layer/direction ("ld" = l·D + d). */
export interface LayerDir {
  l: number;
  d: number; // 0 forward, 1 reverse
  cell: Cell;
  suffix: string; // `_l{l}` or `_l{l}_reverse`
}

export class Net {
  readonly D: number;
  readonly lds: LayerDir[] = [];
  /** Every parameter by its full name (`weight_ih_l0`, `A_log_l1_reverse`, …). */
  readonly params = new Map<string, Float64Array>();

  constructor(readonly spec: NetSpec) {
    this.D = spec.bidirectional ? 2 : 1;
    let inputSize = spec.inputSize;
    for (let l = 0; l < spec.layers; l++) {
      let outSize = 0;
      for (let d = 0; d < this.D; d++) {
        const cell = makeCell(spec.cell, inputSize, spec.hiddenSize, spec.options);
        const suffix = `_l${l}${d === 1 ? '_reverse' : ''}`;
        this.lds.push({ l, d, cell, suffix });
        for (const p of cell.params) this.params.set(p.name + suffix, new Float64Array(p.shape.reduce((a, b) => a * b, 1)));
        outSize = cell.outSize;
      }
      inputSize = this.D * outSize;
    }
  }

  param(ld: LayerDir, base: string): Float64Array {
    return this.params.get(base + ld.suffix)!;
  }

  /** The cells' own §8 init, then (if `jitter`) U(−jitter, jitter) added everywhere so no parameter sits at a special value. */
  initialize(rng: Rng, jitter = 0): void {
    for (const ld of this.lds) ld.cell.init((name) => this.param(ld, name), rng);
    if (jitter > 0) for (const data of this.params.values()) for (let k = 0; k < data.length; k++) data[k] += rng.range(-jitter, jitter);
  }

  inputSizeOf(ld: LayerDir): number {
    return ld.l === 0 ? this.spec.inputSize : this.D * this.lds[(ld.l - 1) * this.D].cell.outSize;
  }

  topOutSize(): number {
    return this.D * this.lds[this.lds.length - 1].cell.outSize;
  }
}

export interface Hooks {
  /** Added to a state part right after step t's forward (then out_t is formed again). */
  state?: { ld: number; t: number; part: number; delta: Float64Array }[];
  /** Added to nodeC's part after step t, then the parts formed from it are re-formed. */
  node?: { ld: number; t: number; delta: Float64Array }[];
  /** Added to proj_t[at] (a gate pre-activation) before step t. */
  proj?: { ld: number; t: number; at: number; eps: number }[];
  /** Initial state per ld (every part; missing = zeros). */
  initial?: Map<number, Float64Array[]>;
}

/** Everything one layer/direction's forward pass stored, indexed by forward time t. */
export interface LdRecord {
  inputs: Float64Array[]; // u_t [B][In]
  proj: Float64Array[];
  rec: Float64Array[];
  cache: Float64Array[];
  initial: Float64Array[];
  after: Float64Array[][]; // after[t][part]
  out: Float64Array[];
}

export interface ForwardRecord {
  B: number;
  T: number;
  lds: LdRecord[];
  /** Top layer outputs, [T][B][D·outSize]. */
  top: Float64Array[];
}

function zerosParts(cell: Cell, B: number): Float64Array[] {
  return cell.state.map((p) => new Float64Array(B * p.size));
}

/** Order of the steps a direction takes. */
export function stepOrder(T: number, d: number): number[] {
  return Array.from({ length: T }, (_, k) => (d === 0 ? k : T - 1 - k));
}

function prevIndex(T: number, d: number, t: number): number | null {
  const p = d === 0 ? t - 1 : t + 1;
  return p < 0 || p >= T ? null : p;
}

/** y[b][r] = Σ_i W[r][i] x[b][i] (+ bias[r]), added into y at column offset `col` of a row of width `ldY`. */
function gemvRows(y: Float64Array, ldY: number, col: number, W: Float64Array, rows: number, x: Float64Array, In: number, B: number, bias: Float64Array | null): void {
  for (let b = 0; b < B; b++) {
    for (let r = 0; r < rows; r++) {
      let s = bias ? bias[r] : 0;
      for (let i = 0; i < In; i++) s += W[r * In + i] * x[b * In + i];
      y[b * ldY + col + r] += s;
    }
  }
}

function projectionWidth(cell: Cell): number {
  return cell.projection.reduce((a, p) => a + p.rows, 0);
}

export function stepIO(B: number, t: number, first: boolean, proj: Float64Array, rec: Float64Array, prev: Float64Array[], next: Float64Array[], out: Float64Array, cache: Float64Array, own: Float64Array[]): StepIO {
  return { B, t, first, proj, rec, prev, next, out, cache, own };
}

export function ownParams(net: Net, ld: LayerDir): Float64Array[] {
  return ld.cell.params.filter((p) => p.role === 'own').map((p) => net.param(ld, p.name));
}

/** out_t from the state: a copy of next[outPart] or the cell's readout. */
export function formOut(cell: Cell, io: StepIO): void {
  if (cell.outPart === null) cell.readout!(io);
  else io.out.set(io.next[cell.state.findIndex((p) => p.name === cell.outPart)]);
}

export function forward(net: Net, x: Float64Array, B: number, T: number, hooks: Hooks = {}): ForwardRecord {
  const I = net.spec.inputSize;
  let layerIn: Float64Array[] = Array.from({ length: T }, (_, t) => {
    const u = new Float64Array(B * I);
    for (let b = 0; b < B; b++) for (let i = 0; i < I; i++) u[b * I + i] = x[(b * T + t) * I + i];
    return u;
  });
  const lds: LdRecord[] = [];
  for (let l = 0; l < net.spec.layers; l++) {
    const outs: Float64Array[][] = [];
    for (let d = 0; d < net.D; d++) {
      const k = l * net.D + d;
      const ld = net.lds[k];
      const { cell } = ld;
      const In = net.inputSizeOf(ld);
      const P = projectionWidth(cell);
      const own = ownParams(net, ld);
      const initial = hooks.initial?.get(k)?.map((a) => Float64Array.from(a)) ?? zerosParts(cell, B);
      const rec: LdRecord = { inputs: layerIn, proj: [], rec: [], cache: [], initial, after: new Array(T), out: new Array(T) };
      for (let t = 0; t < T; t++) {
        const proj = new Float64Array(B * P);
        let col = 0;
        for (const blk of cell.projection) {
          gemvRows(proj, P, col, net.param(ld, blk.weight), blk.rows, layerIn[t], In, B, blk.bias ? net.param(ld, blk.bias) : null);
          col += blk.rows;
        }
        for (const h of hooks.proj ?? []) if (h.ld === k && h.t === t) proj[h.at] += h.eps;
        rec.proj.push(proj);
      }
      for (const t of stepOrder(T, d)) {
        const p = prevIndex(T, d, t);
        const prev = p === null ? initial : rec.after[p];
        const G = cell.recurrent ? cell.recurrent.rows : 0;
        const recT = new Float64Array(B * G);
        if (cell.recurrent) {
          const from = cell.state.findIndex((s) => s.name === cell.recurrent!.from);
          const H = cell.state[from].size;
          gemvRows(recT, G, 0, net.param(ld, cell.recurrent.weight), G, prev[from], H, B, cell.recurrent.bias ? net.param(ld, cell.recurrent.bias) : null);
        }
        rec.rec[t] = recT;
        const next = zerosParts(cell, B);
        const out = new Float64Array(B * cell.outSize);
        const cache = new Float64Array(B * cell.cacheSize);
        rec.cache[t] = cache;
        const io = stepIO(B, t, p === null, rec.proj[t], recT, prev, next, out, cache, own);
        cell.forward(io);
        for (const h of hooks.node ?? []) {
          if (h.ld !== k || h.t !== t) continue;
          const part = cell.state.findIndex((s) => s.name === cell.nodeC!.part);
          for (let j = 0; j < h.delta.length; j++) next[part][j] += h.delta[j];
          cell.nodeC!.reform(io);
        }
        for (const h of hooks.state ?? []) {
          if (h.ld !== k || h.t !== t) continue;
          for (let j = 0; j < h.delta.length; j++) next[h.part][j] += h.delta[j];
        }
        formOut(cell, io);
        rec.after[t] = next;
        rec.out[t] = out;
      }
      lds.push(rec);
      outs.push(rec.out);
    }
    // Next layer's input: the directions' outputs side by side.
    const width = outs.reduce((a, o) => a + o[0].length / B, 0);
    layerIn = Array.from({ length: T }, (_, t) => {
      const u = new Float64Array(B * width);
      let col = 0;
      for (const o of outs) {
        const w = o[t].length / B;
        for (let b = 0; b < B; b++) for (let j = 0; j < w; j++) u[b * width + col + j] = o[t][b * w + j];
        col += w;
      }
      return u;
    });
  }
  return { B, T, lds, top: layerIn };
}

/** The final state of each ld (after its last step: t = T−1 forward, t = 0 reverse). */
export function finalState(rec: ForwardRecord, k: number, d: number): Float64Array[] {
  return rec.lds[k].after[d === 0 ? rec.T - 1 : 0];
}

export interface BackwardResult {
  grads: Map<string, Float64Array>;
  /** ‖step t's part of the layer/direction's parameter gradient‖ (every parameter of it), [ld][t]. */
  weightGradByStep: number[][];
  dx: Float64Array; // [B][T][I]
  dInitial: Float64Array[][]; // [ld][part] (zero-length for held-constant parts)
  dState: Float64Array[][][]; // [ld][t][part]
  dNodeC: Float64Array[][]; // [ld][t] (cells with nodeC)
  dProj: Float64Array[][]; // [ld][t]
}

/**
 * Backpropagation through the recorded pass. dTop[t] = ∂L/∂(top output at t) [B][D·outSize];
 * dFinal[ld] = ∂L/∂(final state) per part (held-constant parts: ignored).
 */
export function backward(net: Net, rec: ForwardRecord, dTop: Float64Array[], dFinal: Float64Array[][] | null): BackwardResult {
  const { B, T } = rec;
  const grads = new Map<string, Float64Array>();
  for (const [name, p] of net.params) grads.set(name, new Float64Array(p.length));
  const nLd = net.lds.length;
  const dInitial: Float64Array[][] = new Array(nLd);
  const dState: Float64Array[][][] = Array.from({ length: nLd }, () => new Array(T));
  const dNodeC: Float64Array[][] = Array.from({ length: nLd }, () => new Array(T));
  const dProjAll: Float64Array[][] = Array.from({ length: nLd }, () => new Array(T));
  const weightGradByStep: number[][] = Array.from({ length: nLd }, () => new Array<number>(T).fill(0));
  let dOutLayer = dTop; // ∂L/∂(this layer's output), [T][B][D·outSize]
  let dx = new Float64Array(0);
  for (let l = net.spec.layers - 1; l >= 0; l--) {
    const In = net.inputSizeOf(net.lds[l * net.D]);
    const dIn: Float64Array[] = Array.from({ length: T }, () => new Float64Array(B * In));
    let col = 0;
    for (let d = 0; d < net.D; d++) {
      const k = l * net.D + d;
      const ld = net.lds[k];
      const { cell } = ld;
      const r = rec.lds[k];
      const P = projectionWidth(cell);
      const G = cell.recurrent ? cell.recurrent.rows : 0;
      const own = ownParams(net, ld);
      // Each step accumulates into its own zeroed copy (its part), added to the totals after it.
      const stepGrads = new Map(cell.params.map((p) => [p.name + ld.suffix, new Float64Array(grads.get(p.name + ld.suffix)!.length)] as const));
      const dOwn = cell.params.filter((p) => p.role === 'own').map((p) => stepGrads.get(p.name + ld.suffix)!);
      const held = cell.state.map((p) => p.heldConstant === true);
      const sized = (parts: Float64Array[] | null): Float64Array[] =>
        cell.state.map((p, i) => (held[i] ? new Float64Array(0) : parts ? Float64Array.from(parts[i]) : new Float64Array(B * p.size)));
      let dNext = sized(dFinal ? dFinal[k] : null);
      const width = net.D * cell.outSize;
      for (const t of stepOrder(T, d).reverse()) {
        const p = prevIndex(T, d, t);
        const prev = p === null ? r.initial : r.after[p];
        const dOut = new Float64Array(B * cell.outSize);
        for (let b = 0; b < B; b++) for (let j = 0; j < cell.outSize; j++) dOut[b * cell.outSize + j] = dOutLayer[t][b * width + col + j];
        const dProj = new Float64Array(B * P);
        const dRec = cell.recShared ? dProj : new Float64Array(B * G);
        const dStateT = sized(null);
        const dPrev = sized(null);
        const nodeC = new Float64Array(cell.nodeC ? B * cell.state.find((s) => s.name === cell.nodeC!.part)!.size : 0);
        const io: BackwardIO = {
          ...stepIO(B, t, p === null, r.proj[t], r.rec[t], prev, r.after[t], r.out[t], r.cache[t], own),
          dOut,
          dNext,
          dState: dStateT,
          dProj,
          dRec,
          dPrev,
          dOwn,
          wantOwn: true,
          dNodeC: nodeC,
        };
        for (const g of stepGrads.values()) g.fill(0);
        cell.backward(io);
        dState[k][t] = dStateT;
        dNodeC[k][t] = nodeC;
        dProjAll[k][t] = dProj;
        // The loop's share: input projections and the recurrent GEMM.
        let c0 = 0;
        const u = r.inputs[t];
        for (const blk of cell.projection) {
          const W = net.param(ld, blk.weight);
          const dW = stepGrads.get(blk.weight + ld.suffix)!;
          const db = blk.bias ? stepGrads.get(blk.bias + ld.suffix)! : null;
          for (let b = 0; b < B; b++) {
            for (let q = 0; q < blk.rows; q++) {
              const g = dProj[b * P + c0 + q];
              if (db) db[q] += g;
              for (let i = 0; i < In; i++) {
                dW[q * In + i] += g * u[b * In + i];
                dIn[t][b * In + i] += g * W[q * In + i];
              }
            }
          }
          c0 += blk.rows;
        }
        if (cell.recurrent) {
          const from = cell.state.findIndex((s) => s.name === cell.recurrent!.from);
          const Hf = cell.state[from].size;
          const W = net.param(ld, cell.recurrent.weight);
          const dW = stepGrads.get(cell.recurrent.weight + ld.suffix)!;
          const db = cell.recurrent.bias ? stepGrads.get(cell.recurrent.bias + ld.suffix)! : null;
          for (let b = 0; b < B; b++) {
            for (let q = 0; q < G; q++) {
              const g = dRec[b * G + q];
              if (db) db[q] += g;
              for (let i = 0; i < Hf; i++) {
                dW[q * Hf + i] += g * prev[from][b * Hf + i];
                dPrev[from][b * Hf + i] += g * W[q * Hf + i];
              }
            }
          }
        }
        let part = 0;
        for (const [name, g] of stepGrads) {
          const total = grads.get(name)!;
          for (let q = 0; q < g.length; q++) {
            total[q] += g[q];
            part += g[q] * g[q];
          }
        }
        weightGradByStep[k][t] = Math.sqrt(part);
        dNext = dPrev;
      }
      dInitial[k] = dNext;
      col += cell.outSize;
    }
    dOutLayer = dIn;
    if (l === 0) {
      const I = In;
      dx = new Float64Array(B * T * I);
      for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) for (let i = 0; i < I; i++) dx[(b * T + t) * I + i] = dIn[t][b * I + i];
    }
  }
  return { grads, weightGradByStep, dx, dInitial, dState, dNodeC, dProj: dProjAll };
}

/** The JVP of step t of one ld along v (held-constant parts: zero-length), with dRecV = W_hh v[from]. */
export function stepJvp(net: Net, rec: ForwardRecord, k: number, t: number, v: Float64Array[]): Float64Array[] {
  const ld = net.lds[k];
  const { cell } = ld;
  const { B, T } = rec;
  const r = rec.lds[k];
  const p = prevIndex(T, ld.d, t);
  const prev = p === null ? r.initial : r.after[p];
  const G = cell.recurrent ? cell.recurrent.rows : 0;
  const dRecV = new Float64Array(B * G);
  if (cell.recurrent) {
    const from = cell.state.findIndex((s) => s.name === cell.recurrent!.from);
    gemvRows(dRecV, G, 0, net.param(ld, cell.recurrent.weight), G, v[from], cell.state[from].size, B, null);
  }
  const tOut = cell.state.map((s) => new Float64Array(s.heldConstant ? 0 : B * s.size));
  const io: JvpIO = { ...stepIO(B, t, p === null, r.proj[t], r.rec[t], prev, r.after[t], r.out[t], r.cache[t], ownParams(net, ld)), v, dRecV, tOut };
  cell.jvp(io);
  return tOut;
}

/**
 * Step t of one ld run again from prev + eps·v (rec_t recomputed from the perturbed state),
 * returning s_t. Gauge-fixed for xLSTM cells: the stabilised parts are brought back to the
 * unperturbed step's m_t (c, n ← c, n · exp(m_pert − m)), which is the map the JVP
 * differentiates (see slstm.ts).
 */
export function stepMap(net: Net, rec: ForwardRecord, k: number, t: number, v: Float64Array[], eps: number): Float64Array[] {
  const ld = net.lds[k];
  const { cell } = ld;
  const { B, T } = rec;
  const r = rec.lds[k];
  const p = prevIndex(T, ld.d, t);
  const prev0 = p === null ? r.initial : r.after[p];
  const prev = prev0.map((a, i) => {
    const c = Float64Array.from(a);
    if (!cell.state[i].heldConstant) for (let j = 0; j < c.length; j++) c[j] += eps * v[i][j];
    return c;
  });
  const G = cell.recurrent ? cell.recurrent.rows : 0;
  const recT = new Float64Array(B * G);
  if (cell.recurrent) {
    const from = cell.state.findIndex((s) => s.name === cell.recurrent!.from);
    gemvRows(recT, G, 0, net.param(ld, cell.recurrent.weight), G, prev[from], cell.state[from].size, B, cell.recurrent.bias ? net.param(ld, cell.recurrent.bias) : null);
  }
  const next = zerosParts(cell, B);
  const io = stepIO(B, t, p === null, r.proj[t], recT, prev, next, new Float64Array(B * cell.outSize), new Float64Array(B * cell.cacheSize), ownParams(net, ld));
  cell.forward(io);
  gaugeFix(cell, next, r.after[t], B);
  return next;
}

function gaugeFix(cell: Cell, next: Float64Array[], base: Float64Array[], B: number): void {
  const m = cell.state.findIndex((s) => s.heldConstant);
  if (m < 0) return;
  const mSize = cell.state[m].size;
  for (let i = 0; i < cell.state.length; i++) {
    const s = cell.state[i];
    if (s.heldConstant || s.name === 'h') continue; // h = o c/n is gauge-free
    // slstm: m has one entry per unit, like c and n; mlstm: one per example for all of C and n.
    for (let b = 0; b < B; b++) {
      for (let q = 0; q < s.size; q++) {
        const mi = b * mSize + (mSize === 1 ? 0 : q % mSize);
        next[i][b * s.size + q] *= Math.exp(next[m][mi] - base[m][mi]);
      }
    }
  }
}

// ---------------------------------------------------------------- head and losses (design §2)

export interface Head {
  weight: Float64Array; // [O][F]
  bias: Float64Array; // [O]
  O: number;
}

/**
 * Loss of the head on the top outputs and ∂L/∂top per step. mse: mean over every scored
 * output element; xent: softmax cross-entropy against target probabilities, mean over the
 * scored rows. many-to-one scores t = T−1 only (y is [B][O]); many-to-many every t (y [B][T][O]).
 */
export function headLoss(head: Head, top: Float64Array[], B: number, T: number, y: Float64Array, kind: 'mse' | 'xent', mode: 'many-to-one' | 'many-to-many'): { loss: number; dTop: Float64Array[]; dWeight: Float64Array; dBias: Float64Array } {
  const { O } = head;
  const Fw = top[0].length / B;
  const dTop = Array.from({ length: T }, () => new Float64Array(B * Fw));
  const dWeight = new Float64Array(O * Fw);
  const dBias = new Float64Array(O);
  const scored = mode === 'many-to-one' ? [T - 1] : Array.from({ length: T }, (_, t) => t);
  const rows = B * scored.length;
  let loss = 0;
  for (const t of scored) {
    for (let b = 0; b < B; b++) {
      const z = new Float64Array(O);
      for (let o = 0; o < O; o++) {
        let s = head.bias[o];
        for (let f = 0; f < Fw; f++) s += head.weight[o * Fw + f] * top[t][b * Fw + f];
        z[o] = s;
      }
      const target = y.subarray(mode === 'many-to-one' ? b * O : (b * T + t) * O);
      const dz = new Float64Array(O);
      if (kind === 'mse') {
        for (let o = 0; o < O; o++) {
          const e = z[o] - target[o];
          loss += (e * e) / (rows * O);
          dz[o] = (2 * e) / (rows * O);
        }
      } else {
        let mx = -Infinity;
        for (let o = 0; o < O; o++) mx = Math.max(mx, z[o]);
        let se = 0;
        for (let o = 0; o < O; o++) se += Math.exp(z[o] - mx);
        const lse = mx + Math.log(se);
        let tsum = 0;
        for (let o = 0; o < O; o++) tsum += target[o];
        for (let o = 0; o < O; o++) {
          loss -= (target[o] * (z[o] - lse)) / rows;
          dz[o] = (Math.exp(z[o] - lse) * tsum - target[o]) / rows;
        }
      }
      for (let o = 0; o < O; o++) {
        dBias[o] += dz[o];
        for (let f = 0; f < Fw; f++) {
          dWeight[o * Fw + f] += dz[o] * top[t][b * Fw + f];
          dTop[t][b * Fw + f] += dz[o] * head.weight[o * Fw + f];
        }
      }
    }
  }
  return { loss, dTop, dWeight, dBias };
}

/** Largest singular value of an n×n row-major J: √(largest eigenvalue of JᵀJ), by cyclic Jacobi rotations. */
export function sigmaMax(J: Float64Array, n: number): number {
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let r = 0; r < n; r++) a[i * n + j] += J[r * n + i] * J[r * n + j];
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) off += a[i * n + j] * a[i * n + j];
    if (off === 0) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const tt = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(tt * tt + 1);
        const s = tt * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
      }
    }
  }
  let mx = 0;
  for (let i = 0; i < n; i++) mx = Math.max(mx, a[i * n + i]);
  return Math.sqrt(mx);
}

/** jacobianNorm[t] of one ld: mean over the batch of σ_max(∂s_t/∂s_{t-1}) over the non-held parts, from the JVP. */
export function jacobianNorms(net: Net, rec: ForwardRecord, k: number): number[] {
  const { cell } = net.lds[k];
  const { B, T } = rec;
  const parts = cell.state.map((p, i) => ({ i, size: p.size, held: p.heldConstant === true })).filter((p) => !p.held);
  const S = parts.reduce((a, p) => a + p.size, 0);
  const out: number[] = new Array(T).fill(0);
  for (let t = 0; t < T; t++) {
    const J = Array.from({ length: B }, () => new Float64Array(S * S));
    let col = 0;
    for (const p of parts) {
      for (let j = 0; j < p.size; j++, col++) {
        // e_col in every example at once (examples are independent).
        const v = cell.state.map((s, i) => {
          const a = new Float64Array(s.heldConstant ? 0 : B * s.size);
          if (i === p.i) for (let b = 0; b < B; b++) a[b * s.size + j] = 1;
          return a;
        });
        const tv = stepJvp(net, rec, k, t, v);
        for (let b = 0; b < B; b++) {
          let row = 0;
          for (const q of parts) for (let r = 0; r < q.size; r++, row++) J[b][row * S + col] = tv[q.i][b * q.size + r];
        }
      }
    }
    for (let b = 0; b < B; b++) out[t] += sigmaMax(J[b], S) / B;
  }
  return out;
}
