// The one time loop: runs any cell (cells/cell.ts) forward through time (stacked layers,
// optional reverse-time twin per layer), the linear head and the loss, then backpropagates
// through time and records the probes (probes.ts). The cell does what is elementwise or its
// own; the loop does the products with W_in (one over all steps) and W_hh (one per step).
//
// Truncated BPTT (Williams & Peng 1990, BPTT(k1, k2)): a backward pass starts every k1
// steps, at e = k1−1, 2k1−1, ... and at T−1 if T is not a multiple of k1. The pass at e
// backpropagates the losses of the steps since the previous backward point (e−k1, e]
// through the last k2 steps [e−k2+1, e] only: the state at step e−k2 is held fixed (no
// gradient flows past it), in every layer. The pass gradient is the SUM of the gradients of
// these backward passes. With many-to-one only step T−1 is scored, so only the last pass
// carries a loss. Full BPTT is the single pass e = T−1 with k2 = T. Truncation is defined
// for unidirectional models (a reverse-time layer has no online "last k2 steps").
// Recorded per-step gradients under truncation are those of the summed gradient: e.g.
// gradNormH[t] = ‖Σ_passes ∂L_pass/∂h_t‖.

import { addColumnSums, addInto, fillRows, gemmAB, gemmABt, gemmAtB, jointNorm, norm2, withConstantOperands } from './linalg';
import { computeLoss } from './loss';
import { HEAD_BIAS, HEAD_WEIGHT, param, validateConfig, zerosLike } from './model';
import { buildRecord, checkItemizedCap, weightGradByStep, weightGradByStepNormsOnly } from './probes';
import type { Batch, LossKind, Model, NonFinite, ParamSet, PassOptions, PassRecord, PassResult } from './types';
import type { StepIO } from './cells/cell';
import { getWorkspace, type LayerDir, type LayerWeights, type Workspace } from './workspace';

export type { LayerWeights };

type Direction = 'forward' | 'reverse';

// ---------------------------------------------------------------- test hooks
// Finite-difference tests perturb internal quantities of the forward pass and read back
// what the backward pass claims are their gradients. Not used by the product.

/** Adds delta to a quantity of one layer/direction at step t. */
export interface Perturbation {
  layer: number;
  direction: Direction;
  t: number;
  /**
   * 'proj' : proj_t = W_in u_t + b_in, [B][P] (the gate pre-activations' input part);
   * 'state': state part `part` after the step ([B][size]; the output is formed after it);
   * 'node' : the cell's nodeC part (LSTM's c) before the parts formed from it, so dL/dc_t
   *          is the total derivative (gradNormC).
   * Older names: 'gi' = proj, 'h' = state h, 'cAfterH' = state c, 'c' = node c.
   */
  target: 'proj' | 'state' | 'node' | 'gi' | 'h' | 'c' | 'cAfterH';
  part?: string;
  delta: Float64Array;
}

/** Perturbs the copy of a parameter used at step t only (weightGradByStep's FD check). */
export interface StepParamPerturbation {
  layer: number;
  direction: Direction;
  t: number;
  name: string;
  delta: Float64Array;
}

/**
 * Initial state of a layer/direction; zero where absent. `parts` holds any state part by
 * name ([B][size]); `h` and `c` are shorthands for the parts named h and c.
 */
export interface InitialState {
  layer: number;
  direction: Direction;
  h?: Float64Array;
  c?: Float64Array;
  parts?: Record<string, Float64Array>;
}

export interface EngineHooks {
  perturb?: Perturbation[];
  stepParams?: StepParamPerturbation[];
  initialState?: InitialState[];
  /** The initial states continue a longer sequence: no step is the first (cells/cell.ts StepIO.first). */
  continues?: boolean;
  /** Receives the per-step parts of a layer's weight gradient (what weightGradByStep measures). */
  onWeightGradPart?: (layer: number, direction: Direction, t: number, parts: Map<string, Float64Array>) => void;
}

// ---------------------------------------------------------------- checks

/** Throws a clear Error when the batch does not fit the model (targets unchecked for `predict`). */
export function validateBatch(model: Model, batch: Batch, checkTargets = true): void {
  const c = model.config;
  const { batchSize: B, steps: T, inputSize: I, outputSize: O } = batch;
  const fail = (detail: string): never => {
    throw new Error(`batch does not fit the model: ${detail}`);
  };
  if (batch.mode !== 'many-to-one' && batch.mode !== 'many-to-many') fail(`mode must be many-to-one or many-to-many, got '${batch.mode}'`);
  if (!Number.isInteger(B) || B < 1) fail(`batchSize must be a positive integer, got ${B}`);
  if (!Number.isInteger(T) || T < 1) fail(`steps must be a positive integer, got ${T}`);
  if (I !== c.inputSize) fail(`inputSize ${I}, model expects ${c.inputSize}`);
  if (O !== c.outputSize) fail(`outputSize ${O}, model expects ${c.outputSize}`);
  if (batch.x.length !== B * T * I) fail(`x has ${batch.x.length} values, expected B*T*I = ${B * T * I}`);
  const yLen = batch.mode === 'many-to-many' ? B * T * O : B * O;
  if (checkTargets && batch.y.length !== yLen) fail(`y has ${batch.y.length} values, expected ${yLen} for ${batch.mode}`);
}

// ---------------------------------------------------------------- binding

const NO_BIAS = new Float64Array(0);

/** Binds a layer/direction's weights for one pass (packing a multi-block projection). */
export function bindLayer(params: ParamSet, ld: LayerDir): LayerWeights {
  const cell = ld.cell;
  const w = ld.w;
  if (ld.packedW === null) {
    const b = ld.blocks[0];
    w.win = param(params, b.weight).data;
    if (b.bias !== null) w.bin = param(params, b.bias).data;
    else {
      ld.packedB.fill(0);
      w.bin = ld.packedB;
    }
  } else {
    const In = ld.inSize;
    ld.packedB.fill(0);
    for (const b of ld.blocks) {
      ld.packedW.set(param(params, b.weight).data, b.offset * In);
      if (b.bias !== null) ld.packedB.set(param(params, b.bias).data, b.offset);
    }
    w.win = ld.packedW;
    w.bin = ld.packedB;
  }
  if (cell.recurrent) {
    w.whh = param(params, ld.names.get(cell.recurrent.weight)!).data;
    w.bhh = cell.recurrent.bias === null ? NO_BIAS : param(params, ld.names.get(cell.recurrent.bias)!).data;
  }
  w.own = ld.ownNames.map((n) => param(params, n).data);
  return w;
}

function layerInput(ws: Workspace, layer: number): Float64Array {
  return layer === 0 ? ws.xT : ws.outs[layer - 1];
}

function dirName(ld: LayerDir): Direction {
  return ld.reverse ? 'reverse' : 'forward';
}

/** Points a step IO of the layer (its own by default) at step t (views into the workspace). */
export function setStep(ws: Workspace, ld: LayerDir, t: number, io: StepIO = ld.io): void {
  io.t = t;
  io.first = !ws.continues && t === (ld.reverse ? ws.T - 1 : 0);
  io.proj = ld.projT[t];
  io.rec = ld.rec;
  io.cache = ld.cacheT[t];
  io.prev = ld.prevAt[t];
  io.next = ld.nextAt[t];
  io.own = ld.w.own;
}

/** Finds the initial value of a part in an InitialState. */
function initialPart(init: InitialState | undefined, name: string): Float64Array | undefined {
  if (!init) return undefined;
  return init.parts?.[name] ?? (name === 'h' ? init.h : name === 'c' ? init.c : undefined);
}

// ---------------------------------------------------------------- forward

function forward(ws: Workspace, model: Model, batch: Batch, hooks: EngineHooks | null, initial: readonly InitialState[] = hooks?.initialState ?? [], continues = hooks?.continues ?? false): void {
  forwardLayers(ws, model.params, batch.x, hooks, initial, continues);
  const { T, B, DH } = ws;
  const top = ws.outs[ws.config.numLayers - 1];
  fillRows(T * B, batch.outputSize, param(model.params, HEAD_BIAS).data, ws.Y);
  gemmABt(T * B, batch.outputSize, DH, top, param(model.params, HEAD_WEIGHT).data, ws.Y);
}

/** The recurrent layers only (no head): x is batch-first [B][T][I]; fills ws.outs and the states. */
export function forwardLayers(
  ws: Workspace,
  params: ParamSet,
  x: Float64Array,
  hooks: EngineHooks | null,
  initial: readonly InitialState[],
  continues = false,
): void {
  const { B, T } = ws;
  const stepHooks = hooks && (hooks.perturb?.length || hooks.stepParams?.length) ? hooks : null;
  const I = ws.config.inputSize;
  ws.continues = continues;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const src = (b * T + t) * I;
      const dst = (t * B + b) * I;
      for (let i = 0; i < I; i++) ws.xT[dst + i] = x[src + i];
    }
  }
  for (const ld of ws.layers) {
    const w = bindLayer(params, ld);
    const cell = ld.cell;
    const U = layerInput(ws, ld.layer);
    const { P, G } = ld;
    fillRows(T * B, P, w.bin, ld.proj);
    gemmABt(T * B, P, ld.inSize, U, w.win, ld.proj);
    // The initial state: zero unless given (a checkpoint, a captured h_0, or a test hook).
    const slot = ld.reverse ? T + 1 : 0;
    const init = initial.find((s) => s.layer === ld.layer && s.direction === dirName(ld));
    for (const part of ld.parts) {
      const view = part.slotViews[slot];
      const given = initialPart(init, part.name);
      if (given) view.set(given);
      else view.fill(0);
    }
    const from = ld.fromIdx;
    const fromSize = from >= 0 ? ld.parts[from].size : 0;
    for (let p = 0; p < T; p++) {
      const t = ld.reverse ? T - 1 - p : p;
      setStep(ws, ld, t);
      const io = ld.io;
      if (cell.recurrent) {
        if (w.bhh.length > 0) fillRows(B, G, w.bhh, ld.rec);
        else ld.rec.fill(0);
        gemmABt(B, G, fromSize, io.prev[from], w.whh, ld.rec);
      }
      if (stepHooks) stepWithHooks(ws, ld, t, U, stepHooks);
      else {
        cell.forward(io);
        emitOutput(ws, ld, t);
      }
    }
  }
}

/** out_t into the layer output: a copy of the output part, or the cell's readout. */
function emitOutput(ws: Workspace, ld: LayerDir, t: number): void {
  const { B, H, DH } = ws;
  const out = ws.outs[ld.layer];
  const io = ld.io;
  let src: Float64Array;
  if (ld.outIdx >= 0) src = io.next[ld.outIdx];
  else if (DH === H) {
    // One direction: the step's rows of the layer output are contiguous; read out in place.
    io.out = ld.outT[t];
    ld.cell.readout!(io);
    return;
  } else {
    io.out = ld.outStep;
    ld.cell.readout!(io);
    src = ld.outStep;
  }
  if (DH === H) {
    const o = t * B * H;
    const n = B * H;
    for (let k = 0; k < n; k++) out[o + k] = src[k];
    return;
  }
  const col = ld.d * H;
  for (let b = 0; b < B; b++) {
    const o = (t * B + b) * DH + col;
    const hb = b * H;
    for (let j = 0; j < H; j++) out[o + j] = src[hb + j];
  }
}

/** One forward step with test perturbations applied (not on the product's path). */
function stepWithHooks(ws: Workspace, ld: LayerDir, t: number, U: Float64Array, hooks: EngineHooks): void {
  const { B } = ws;
  const cell = ld.cell;
  const io = ld.io;
  const dir = dirName(ld);
  const mine = <X extends { layer: number; direction: Direction; t: number }>(list: X[] | undefined): X[] =>
    (list ?? []).filter((p) => p.layer === ld.layer && p.direction === dir && p.t === t);
  const perturb = mine(hooks.perturb);
  const partIndex = (name: string): number => {
    const k = ld.parts.findIndex((p) => p.name === name);
    if (k < 0) throw new Error(`perturbation: cell ${cell.name} has no state part '${name}'`);
    return k;
  };
  for (const p of perturb) if (p.target === 'proj' || p.target === 'gi') addInto(io.proj, p.delta);
  const In = ld.inSize;
  const u = U.subarray(t * B * In, (t + 1) * B * In);
  const ownSaved = io.own;
  for (const sp of mine(hooks.stepParams)) {
    const block = ld.blocks.find((b) => b.weight === sp.name);
    const biasBlock = ld.blocks.find((b) => b.bias === sp.name);
    const rec = cell.recurrent;
    const ownAt = ld.ownNames.indexOf(sp.name);
    if (block) {
      const tmp = new Float64Array(B * block.rows);
      gemmABt(B, block.rows, In, u, sp.delta, tmp);
      for (let b = 0; b < B; b++) for (let k = 0; k < block.rows; k++) io.proj[b * ld.P + block.offset + k] += tmp[b * block.rows + k];
    } else if (biasBlock) {
      for (let b = 0; b < B; b++) for (let k = 0; k < biasBlock.rows; k++) io.proj[b * ld.P + biasBlock.offset + k] += sp.delta[k];
    } else if (rec && sp.name === ld.names.get(rec.weight)) {
      gemmABt(B, ld.G, ld.parts[ld.fromIdx].size, io.prev[ld.fromIdx], sp.delta, io.rec);
    } else if (rec && rec.bias !== null && sp.name === ld.names.get(rec.bias)) {
      for (let b = 0; b < B; b++) for (let k = 0; k < ld.G; k++) io.rec[b * ld.G + k] += sp.delta[k];
    } else if (ownAt >= 0) {
      const own = io.own.slice();
      own[ownAt] = Float64Array.from(own[ownAt]);
      addInto(own[ownAt], sp.delta);
      io.own = own;
    } else throw new Error(`stepParams: '${sp.name}' is not a parameter of layer ${ld.layer} ${dir}`);
  }
  cell.forward(io);
  for (const p of perturb) {
    if (p.target !== 'node' && p.target !== 'c') continue;
    if (!cell.nodeC) throw new Error(`perturbation: cell ${cell.name} has no node part`);
    addInto(io.next[partIndex(cell.nodeC.part)], p.delta);
    cell.nodeC.reform(io);
  }
  for (const p of perturb) {
    if (p.target === 'state') addInto(io.next[partIndex(p.part ?? 'h')], p.delta);
    else if (p.target === 'h') addInto(io.next[partIndex('h')], p.delta);
    else if (p.target === 'cAfterH') addInto(io.next[partIndex('c')], p.delta);
  }
  // The output is formed from the (perturbed) state, with step t's (perturbed) parameters:
  // a readout reads own parameters too (lru's C, s6's D).
  emitOutput(ws, ld, t);
  io.own = ownSaved;
}

// ---------------------------------------------------------------- backward

/** One backward pass of (truncated) BPTT. */
export interface BackwardWindow {
  /** Scored steps whose loss this pass backpropagates. */
  lossFrom: number;
  lossTo: number;
  /** Steps the pass goes through (state before `from` held fixed). */
  from: number;
  to: number;
}

export function backwardWindows(T: number, truncation: PassOptions['truncation']): BackwardWindow[] {
  if (!truncation) return [{ lossFrom: 0, lossTo: T - 1, from: 0, to: T - 1 }];
  const { k1, k2 } = truncation;
  if (!Number.isInteger(k1) || !Number.isInteger(k2) || k1 < 1 || k2 < k1) {
    throw new Error(`truncated BPTT needs integers 1 <= k1 <= k2, got k1=${k1}, k2=${k2}`);
  }
  const out: BackwardWindow[] = [];
  let prevEnd = -1;
  for (let e = k1 - 1; prevEnd < T - 1; e += k1) {
    const end = Math.min(e, T - 1);
    out.push({ lossFrom: prevEnd + 1, lossTo: end, from: Math.max(0, end - k2 + 1), to: end });
    prevEnd = end;
  }
  return out;
}

/** What the backward pass records per step besides the state gradients. */
interface BackwardRecording {
  /** weightGradByStep is on: own-parameter gradients go step by step through ld.ownStep. */
  byStep: boolean;
  /** A test hook wants copies of the per-step own parts. */
  keepOwnParts: boolean;
}

/**
 * Backward through steps [from, to] of one layer/direction. The state gradient entering the
 * last step is zero, or ld.carry when `carry` is set (a checkpointed segment: the gradient
 * of the following segment with respect to this one's final state; or the injected final-
 * state gradient); with `carry`, the gradient with respect to the state before `from` is
 * written back to ld.carry.
 */
function backwardLayerWindow(ws: Workspace, ld: LayerDir, dOuts: Float64Array, from: number, to: number, carry: boolean, rec: BackwardRecording): void {
  const { B, H, DH } = ws;
  const cell = ld.cell;
  const nParts = ld.parts.length;
  for (let p = 0; p < nParts; p++) {
    if (ld.parts[p].held) continue;
    if (carry) ld.dNext[p].set(ld.carry[p]);
    else ld.dNext[p].fill(0);
  }
  const io = ld.bio;
  io.dState = ld.dStateStep;
  io.dNodeC = ld.dNodeCStep;
  io.wantOwn = true;
  io.dOwn = rec.byStep ? ld.ownStep : ld.gradOwn;
  const ownByStep = rec.byStep && ld.ownStep.length > 0;
  const from_ = ld.fromIdx;
  const fromSize = from_ >= 0 ? ld.parts[from_].size : 0;
  const col = ld.d * H;
  const separate = ld.dStateTotal !== null;
  for (let k = 0; k <= to - from; k++) {
    // Backward visits steps in the reverse of the order the forward pass made them.
    const t = ld.reverse ? from + k : to - k;
    setStep(ws, ld, t);
    if (DH === H) io.dOut = ld.dOutT[t];
    else {
      const dOut = ld.dOutStep;
      for (let b = 0; b < B; b++) {
        const o = (t * B + b) * DH + col;
        const hb = b * H;
        for (let j = 0; j < H; j++) dOut[hb + j] = dOuts[o + j];
      }
      io.dOut = dOut;
    }
    io.dNext = ld.dNext;
    io.dPrev = ld.dPrev;
    io.dProj = ld.pProjT[t];
    io.dRec = cell.recShared ? io.dProj : ld.pRecT[t];
    if (ownByStep) for (const g of ld.ownStep) g.fill(0);
    cell.backward(io);
    if (cell.recurrent) gemmAB(B, fromSize, ld.G, io.dRec, ld.w.whh, ld.dPrev[from_]);
    // Record what this step's state gradients are.
    for (let p = 0; p < nParts; p++) {
      if (ld.parts[p].held) continue;
      const g = ld.dStateStep[p];
      if (separate) addAt(ld.dStateTotal![p], t * g.length, g);
      else ld.stateNorms[p][t] = norm2(g);
    }
    if (cell.nodeC) {
      if (separate) addAt(ld.dNodeCTotal!, t * ld.dNodeCStep.length, ld.dNodeCStep);
      else ld.nodeCNorms[t] = norm2(ld.dNodeCStep);
    }
    if (ownByStep) recordOwnStep(ld, t, separate, rec.keepOwnParts);
    const swap = ld.dNext;
    ld.dNext = ld.dPrev;
    ld.dPrev = swap;
  }
  if (carry) for (let p = 0; p < nParts; p++) if (!ld.parts[p].held) ld.carry[p].set(ld.dNext[p]);
}

function addAt(dst: Float64Array, off: number, src: Float64Array): void {
  for (let k = 0; k < src.length; k++) dst[off + k] += src[k];
}

/** One step's own-parameter gradient: into the totals, and its size into weightGradByStep. */
function recordOwnStep(ld: LayerDir, t: number, separate: boolean, keep: boolean): void {
  let sq = 0;
  let off = 0;
  for (let i = 0; i < ld.ownStep.length; i++) {
    const g = ld.ownStep[i];
    addInto(ld.gradOwn[i], g);
    if (separate) addAt(ld.ownSteps!, t * ownTotal(ld) + off, g);
    else {
      const n = norm2(g);
      sq += n * n;
    }
    off += g.length;
  }
  if (!separate) ld.ownStepSq[t] = sq;
  if (keep && ld.ownPartsByStep) {
    if (separate) return; // read from ownSteps once every pass is done
    ld.ownPartsByStep[t] = ld.ownStep.map((g) => Float64Array.from(g));
  }
}

export function ownTotal(ld: LayerDir): number {
  let n = 0;
  for (const g of ld.ownStep) n += g.length;
  return n;
}

function backwardPass(ws: Workspace, model: Model, win: BackwardWindow, carry: boolean, rec: BackwardRecording): void {
  const { B, DH } = ws;
  const O = ws.config.outputSize;
  const L = ws.config.numLayers;
  const { from, to, lossFrom, lossTo } = win;
  const top = ws.dOuts[L - 1];
  top.fill(0, from * B * DH, (to + 1) * B * DH);
  gemmAB(
    (lossTo - lossFrom + 1) * B,
    DH,
    O,
    ws.dY.subarray(lossFrom * B * O, (lossTo + 1) * B * O),
    param(model.params, HEAD_WEIGHT).data,
    top.subarray(lossFrom * B * DH, (lossTo + 1) * B * DH),
  );
  backwardLayers(ws, win, carry, rec);
}

/** Backward through the layers of one window, from the external gradient already in ws.dOuts[top]. */
export function backwardLayers(ws: Workspace, win: BackwardWindow, carry: boolean, rec: BackwardRecording): void {
  const { B, DH } = ws;
  const I = ws.config.inputSize;
  const L = ws.config.numLayers;
  const { from, to } = win;
  const D = ws.config.bidirectional ? 2 : 1;
  const rows = (to - from + 1) * B;
  // Top layer first: each layer's input gradient is the external gradient of the one below.
  for (let l = L - 1; l >= 0; l--) {
    for (let d = 0; d < D; d++) backwardLayerWindow(ws, ws.layers[l * D + d], ws.dOuts[l], from, to, carry, rec);
    const In = l > 0 ? DH : I;
    const dIn = l > 0 ? ws.dOuts[l - 1] : ws.pX;
    dIn.fill(0, from * B * In, (to + 1) * B * In);
    for (let d = 0; d < D; d++) {
      const ld = ws.layers[l * D + d];
      const P = ld.P;
      gemmAB(rows, In, P, ld.pProj.subarray(from * B * P, (to + 1) * B * P), ld.w.win, dIn.subarray(from * B * In, (to + 1) * B * In));
      if (ws.separatePass) {
        accumulateRows(ld.dProj, ld.pProj, from * B * P, (to + 1) * B * P);
        if (!ld.cell.recShared) accumulateRows(ld.dRec, ld.pRec, from * B * ld.G, (to + 1) * B * ld.G);
      }
    }
  }
  if (ws.separatePass) accumulateRows(ws.dX, ws.pX, from * B * I, (to + 1) * B * I);
}

function accumulateRows(dst: Float64Array, src: Float64Array, lo: number, hi: number): void {
  for (let k = lo; k < hi; k++) dst[k] += src[k];
}

/** Zeroes what the backward passes accumulate into, and binds the own-parameter gradients. */
export function prepareBackward(ws: Workspace, grads: ParamSet, byStep: boolean, keepOwnParts: boolean): BackwardRecording {
  for (const ld of ws.layers) {
    ld.gradOwn = ld.ownNames.map((n) => param(grads, n).data);
    if (ws.separatePass) {
      ld.dProj.fill(0);
      ld.dRec.fill(0);
      for (const g of ld.dStateTotal!) g.fill(0);
      ld.dNodeCTotal?.fill(0);
      if (byStep && ld.ownNames.length > 0) {
        const n = ws.T * ownTotal(ld);
        if (!ld.ownSteps || ld.ownSteps.length !== n) ld.ownSteps = new Float64Array(n);
        else ld.ownSteps.fill(0);
      }
    }
    ld.ownPartsByStep = keepOwnParts && ld.ownNames.length > 0 ? new Array<Float64Array[]>(ws.T) : null;
  }
  if (ws.separatePass) ws.dX.fill(0);
  return { byStep, keepOwnParts };
}

/** After every backward pass: the per-step norms from the summed gradients (truncated BPTT). */
export function finishBackward(ws: Workspace): void {
  if (!ws.separatePass) return;
  const { B, T } = ws;
  for (const ld of ws.layers) {
    ld.parts.forEach((part, p) => {
      if (part.held) return;
      const n = B * part.size;
      for (let t = 0; t < T; t++) ld.stateNorms[p][t] = norm2(ld.dStateTotal![p], t * n, n);
    });
    if (ld.dNodeCTotal) {
      const n = B * ws.H;
      for (let t = 0; t < T; t++) ld.nodeCNorms[t] = norm2(ld.dNodeCTotal, t * n, n);
    }
    if (ld.ownSteps) {
      const n = ownTotal(ld);
      for (let t = 0; t < T; t++) {
        ld.ownStepSq[t] = norm2(ld.ownSteps, t * n, n) ** 2;
        if (ld.ownPartsByStep) {
          let off = 0;
          ld.ownPartsByStep[t] = ld.ownStep.map((g) => {
            const part = ld.ownSteps!.slice(t * n + off, t * n + off + g.length);
            off += g.length;
            return part;
          });
        }
      }
    }
  }
}

/**
 * Parameter gradients from the summed pre-activation gradients (all linear in them). With
 * the weightGradByStep probe on, each layer's gradient is built as the sum of its per-step
 * parts (which the probe measures anyway); otherwise as one product over all steps.
 * Own-parameter gradients were accumulated by the backward pass. Returns the per-step part
 * norms per layer/direction (null when the probe is off).
 */
export function parameterGradients(ws: Workspace, grads: ParamSet, byStep: boolean, hooks: EngineHooks | null, head = true): number[][] | null {
  const { B, T, DH } = ws;
  const stepNorms: number[][] = [];
  for (const ld of ws.layers) {
    if (byStep) {
      // The Gram route measures each step's part without building it; the gradient itself
      // is then one product over all steps (below). Otherwise the parts are built and summed.
      const norms = weightGradByStepNormsOnly(ws, ld, hooks);
      if (norms === null) {
        stepNorms.push(weightGradByStep(ws, ld, grads, hooks));
        continue;
      }
      stepNorms.push(norms);
    }
    const U = layerInput(ws, ld.layer);
    addProjectionGrads(ws, ld, grads, T * B, ld.dProj, U);
    const cell = ld.cell;
    if (cell.recurrent) {
      const part = ld.parts[ld.fromIdx];
      const n = B * part.size;
      const prev = part.slots.subarray((ld.reverse ? 2 : 0) * n, (ld.reverse ? 2 : 0) * n + T * n);
      gemmAtB(ld.G, part.size, T * B, ld.dRec, prev, param(grads, ld.names.get(cell.recurrent.weight)!).data);
      if (cell.recurrent.bias !== null) addColumnSums(T * B, ld.G, ld.dRec, param(grads, ld.names.get(cell.recurrent.bias)!).data);
    }
  }
  if (head) {
    const O = ws.config.outputSize;
    const top = ws.outs[ws.config.numLayers - 1];
    gemmAtB(O, DH, T * B, ws.dY, top, param(grads, HEAD_WEIGHT).data);
    addColumnSums(T * B, O, ws.dY, param(grads, HEAD_BIAS).data);
  }
  return byStep ? stepNorms : null;
}

/**
 * dW_in += dProjᵀ U and db_in += Σ dProj over `rows` rows, into each projection block's
 * gradient (`into` maps a full name to its target; the ParamSet's arrays by default).
 */
export function addProjectionGrads(
  ws: Workspace,
  ld: LayerDir,
  grads: ParamSet,
  rows: number,
  dProj: Float64Array,
  U: Float64Array,
  into: (name: string) => Float64Array = (name) => param(grads, name).data,
): void {
  const { P, inSize: In } = ld;
  if (ld.packedW === null) {
    const b = ld.blocks[0];
    gemmAtB(P, In, rows, dProj, U, into(b.weight));
    if (b.bias !== null) addColumnSums(rows, P, dProj, into(b.bias));
    return;
  }
  const gw = ws.probe.packedGrad.subarray(0, P * In);
  const gb = ws.probe.packedGradB.subarray(0, P);
  gw.fill(0);
  gb.fill(0);
  gemmAtB(P, In, rows, dProj, U, gw);
  addColumnSums(rows, P, dProj, gb);
  for (const b of ld.blocks) {
    addInto(into(b.weight), gw.subarray(b.offset * In, (b.offset + b.rows) * In));
    if (b.bias !== null) addInto(into(b.bias), gb.subarray(b.offset, b.offset + b.rows));
  }
}

// ---------------------------------------------------------------- public API

function prepare(model: Model, batch: Batch, separatePass: boolean, checkTargets = true): Workspace {
  validateConfig(model.config);
  validateBatch(model, batch, checkTargets);
  return getWorkspace(model.config, batch.batchSize, batch.steps, separatePass);
}

/** Forward, loss, backward through time, and the probes of design §3. */
export function runPass(model: Model, batch: Batch, options: PassOptions): PassResult {
  return runPassWithHooks(model, batch, options, null);
}

/** runPass with test hooks (see EngineHooks). */
export function runPassWithHooks(model: Model, batch: Batch, options: PassOptions, hooks: EngineHooks | null): PassResult {
  // The weights do not change during a pass (the optimizer steps between passes): kernels
  // that copy operands keep one copy of them for the whole pass instead of one per product.
  return withConstantOperands(paramArrays(model.params), () => passWithHooks(model, batch, options, hooks));
}

/** The arrays of a parameter set, for withConstantOperands. */
export function paramArrays(params: ParamSet): Float64Array[] {
  return [...params.values()].map((p) => p.data);
}

function passWithHooks(model: Model, batch: Batch, options: PassOptions, hooks: EngineHooks | null): PassResult {
  checkLossKind(options.loss);
  if (options.checkpoint) return runCheckpointed(model, batch, options);
  if (options.truncation && model.config.bidirectional) {
    throw new Error('truncated BPTT is defined for unidirectional models only (bidirectional: true was given)');
  }
  checkItemizedCap(options, batch.steps);
  const grads = zerosLike(model.params);
  const { ws, loss, stepNorms } = passCore(model, batch, options, hooks, grads, null);
  const globalNorm = jointNorm([...grads.values()].map((g) => norm2(g.data)));
  const record = buildRecord(ws, model, batch, options, loss, globalNorm, grads, stepNorms);
  return { loss, grads, record };
}

/** A checkpointed segment: where it starts from, and the gradient carried across its ends. */
interface Segment {
  initial: InitialState[];
  /** Whether the segment continues the sequence (every segment but the first). */
  continues: boolean;
  /** Per layer and part: in, dL/d(final state) from the next segment; out, dL/d(initial state). */
  carry: Float64Array[][];
  /** Loss scale that makes the segment's mean a share of the whole sequence's mean. */
  lossScale: number;
}

/** Forward, loss, backward; parameter gradients are ADDED into grads. */
function passCore(
  model: Model,
  batch: Batch,
  options: PassOptions,
  hooks: EngineHooks | null,
  grads: ParamSet,
  segment: Segment | null,
): { ws: Workspace; loss: number; stepNorms: number[][] | null } {
  const windows = backwardWindows(batch.steps, options.truncation ?? null);
  const ws = prepare(model, batch, windows.length > 1);
  if (segment) forward(ws, model, batch, hooks, segment.initial, segment.continues);
  else forward(ws, model, batch, hooks);
  const loss = computeLoss(options.loss, batch, ws.Y, ws.terms, ws.dY, segment ? segment.lossScale : 1);
  const byStep = options.probes?.weightGradByStep ?? true;
  const rec = prepareBackward(ws, grads, byStep, hooks?.onWeightGradPart !== undefined);
  if (segment) ws.layers.forEach((ld, l) => ld.carry.forEach((c, p) => c.set(segment.carry[l][p])));
  for (const win of windows) backwardPass(ws, model, win, segment !== null, rec);
  finishBackward(ws);
  if (segment) ws.layers.forEach((ld, l) => ld.carry.forEach((c, p) => segment.carry[l][p].set(c)));
  const stepNorms = parameterGradients(ws, grads, byStep, hooks);
  return { ws, loss, stepNorms };
}

/**
 * Gradient checkpointing (Chen et al. 2016, "Training Deep Nets with Sublinear Memory
 * Cost"): a forward sweep over segments of N steps keeps only the states at segment starts;
 * the backward sweep then takes the segments last to first, recomputes each one's forward
 * from its checkpoint, and backpropagates through it with the recurrent gradient carried
 * in from the segment after it. Workspaces are segment-sized, so memory is O(N) per layer
 * (plus the per-step records) instead of O(T), for one extra forward pass.
 */
function runCheckpointed(model: Model, batch: Batch, options: PassOptions): PassResult {
  const { config } = model;
  const T = batch.steps;
  const fail = (why: string): never => {
    throw new Error(`checkpointing ${why}`);
  };
  if (config.bidirectional) fail('is defined for unidirectional models only (bidirectional: true was given)');
  if (options.truncation) fail('and truncated BPTT cannot be combined');
  if (options.probes?.itemized) fail('cannot record the itemized matrix (it needs every step at once)');
  const N = options.checkpoint === true ? Math.ceil(Math.sqrt(T)) : Number(options.checkpoint);
  if (!Number.isInteger(N) || N < 1) fail(`needs true or a positive integer number of steps per segment, got ${options.checkpoint}`);
  validateConfig(config);
  validateBatch(model, batch);
  const { batchSize: B, inputSize: I, outputSize: O } = batch;
  const starts: number[] = [];
  for (let a = 0; a < T; a += N) starts.push(a);
  const sub = (a: number): Batch => {
    const n = Math.min(N, T - a);
    const x = new Float64Array(B * n * I);
    for (let b = 0; b < B; b++) x.set(batch.x.subarray((b * T + a) * I, (b * T + a + n) * I), b * n * I);
    let y = batch.y;
    if (batch.mode === 'many-to-many') {
      y = new Float64Array(B * n * O);
      for (let b = 0; b < B; b++) y.set(batch.y.subarray((b * T + a) * O, (b * T + a + n) * O), b * n * O);
    }
    return { ...batch, steps: n, x, y };
  };
  // Forward sweep: the state entering every segment (every part, held-constant ones too).
  const checkpoints: InitialState[][] = [];
  let state: InitialState[] = [];
  let carry: Float64Array[][] = [];
  for (const a of starts) {
    checkpoints.push(state);
    const part = sub(a);
    const ws = prepare(model, part, false);
    forward(ws, model, part, null, state, a > 0);
    const last = part.steps; // slot n holds the state after step n-1
    state = ws.layers.map((ld) => ({
      layer: ld.layer,
      direction: 'forward' as const,
      parts: Object.fromEntries(ld.parts.map((p) => [p.name, p.slotViews[last].slice()])),
    }));
    if (carry.length === 0) carry = ws.layers.map((ld) => ld.parts.map((p) => new Float64Array(p.held ? 0 : B * p.size)));
  }
  // Backward sweep, last segment first.
  const grads = zerosLike(model.params);
  const records: PassRecord[] = [];
  let loss = 0;
  for (let k = starts.length - 1; k >= 0; k--) {
    const part = sub(starts[k]);
    // many-to-many: the segment's mean over n steps is n/T of the sequence's; many-to-one:
    // only the last segment holds the scored step.
    const lossScale = batch.mode === 'many-to-many' ? part.steps / T : k === starts.length - 1 ? 1 : 0;
    const res = passCore(model, part, options, null, grads, { initial: checkpoints[k], continues: k > 0, carry, lossScale });
    loss += res.loss;
    records[k] = buildRecord(res.ws, model, part, options, res.loss, 0, grads, res.stepNorms);
  }
  const globalNorm = jointNorm([...grads.values()].map((g) => norm2(g.data)));
  return { loss, grads, record: mergeRecords(records, starts, loss, globalNorm) };
}

/** Quantities that are gradients (met in the backward pass); everything else is forward. */
const GRADIENT_QUANTITIES = new Set(['gradNormH', 'gradNormC', 'gradNormState', 'gateGradNorm', 'weightGradByStep', 'jacobianNorm', 'inputGradNorm', 'grads', 'globalGradNorm']);

/** Concatenates segment records (in time order) into the record of the whole sequence. */
function mergeRecords(records: PassRecord[], starts: number[], loss: number, globalNorm: number): PassRecord {
  const cat = (pick: (r: PassRecord) => number[]): number[] => records.flatMap(pick);
  const first = records[0];
  const layers = first.layers.map((lr, i) => ({
    ...lr,
    gradNormH: cat((r) => r.layers[i].gradNormH),
    gradNormC: lr.gradNormC ? cat((r) => r.layers[i].gradNormC!) : null,
    gradNormState: lr.gradNormState ? cat((r) => r.layers[i].gradNormState!) : null,
    gateGradNorm: Object.fromEntries(Object.keys(lr.gateGradNorm).map((g) => [g, cat((r) => r.layers[i].gateGradNorm[g])])),
    gateMean: Object.fromEntries(Object.keys(lr.gateMean).map((g) => [g, cat((r) => r.layers[i].gateMean[g])])),
    gateSaturation: Object.fromEntries(Object.keys(lr.gateSaturation).map((g) => [g, cat((r) => r.layers[i].gateSaturation[g])])),
    weightGradByStep: cat((r) => r.layers[i].weightGradByStep),
    jacobianNorm: lr.jacobianNorm ? cat((r) => r.layers[i].jacobianNorm!) : null,
  }));
  // The first non-finite value in the order the unsegmented pass meets them: forward
  // quantities in time order, then the loss, then gradients (latest segment first).
  const shifted = (k: number): NonFinite | null => {
    const nf = records[k].nonFinite;
    return nf && { ...nf, t: nf.t === null ? null : nf.t + starts[k] };
  };
  let nonFinite: NonFinite | null = null;
  for (let k = 0; k < records.length && !nonFinite; k++) {
    const nf = shifted(k);
    if (nf && nf.quantity !== 'loss' && !GRADIENT_QUANTITIES.has(nf.quantity)) nonFinite = nf;
  }
  if (!nonFinite && !Number.isFinite(loss)) nonFinite = { quantity: 'loss', layer: null, t: null, value: loss };
  for (let k = records.length - 1; k >= 0 && !nonFinite; k--) nonFinite = shifted(k);
  if (!nonFinite && !Number.isFinite(globalNorm)) nonFinite = { quantity: 'globalGradNorm', layer: null, t: null, value: globalNorm };
  return {
    timesteps: records.reduce((n, r) => n + r.timesteps, 0),
    layers,
    inputGradNorm: cat((r) => r.inputGradNorm),
    loss,
    globalGradNorm: globalNorm,
    clippedGradNorm: globalNorm,
    nonFinite,
    itemized: null,
  };
}

function checkLossKind(loss: LossKind): void {
  if (loss !== 'mse' && loss !== 'xent') throw new Error(`loss must be mse or xent, got '${loss}'`);
}

/** The loss of a batch, forward only. */
export function evaluateLoss(model: Model, batch: Batch, loss: LossKind): number {
  checkLossKind(loss);
  const ws = prepare(model, batch, false);
  forward(ws, model, batch, null);
  return computeLoss(loss, batch, ws.Y, ws.terms, null);
}

/** Head outputs y_t for every step, batch-first [B][T][O] (batch.y is not read). */
export function predict(model: Model, batch: Batch): Float64Array {
  const ws = prepare(model, batch, false, false);
  forward(ws, model, batch, null);
  const { B, T } = ws;
  const O = batch.outputSize;
  const out = new Float64Array(B * T * O);
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) {
      for (let o = 0; o < O; o++) out[(b * T + t) * O + o] = ws.Y[(t * B + b) * O + o];
    }
  }
  return out;
}

export interface ForwardDetail {
  loss: number;
  /** Per-step loss terms ℓ_t, L = Σ_t ℓ_t. */
  terms: Float64Array;
  /** Head outputs, time-major [T][B][O]. */
  y: Float64Array;
  /**
   * States per layer/direction, time-major [T][B][size] per part (`parts`, every part of the
   * cell incl. held-constant ones); h and c repeat the parts so named (null when absent);
   * proj = W_in u_t + b_in, [T][B][P].
   */
  states: Array<{ layer: number; direction: Direction; h: Float64Array | null; c: Float64Array | null; parts: Record<string, Float64Array>; proj: Float64Array }>;
}

/** Forward pass with test hooks, returning copies of everything a check needs. */
export function forwardDetailed(model: Model, batch: Batch, loss: LossKind, hooks: EngineHooks | null = null): ForwardDetail {
  const ws = prepare(model, batch, false);
  forward(ws, model, batch, hooks);
  const value = computeLoss(loss, batch, ws.Y, ws.terms, null);
  return { loss: value, terms: Float64Array.from(ws.terms), y: Float64Array.from(ws.Y), states: layerStates(ws) };
}

/** Copies of every layer's states after a forward, [T][B][size] per part. */
export function layerStates(ws: Workspace): ForwardDetail['states'] {
  const { B, T } = ws;
  return ws.layers.map((ld) => {
    const parts: Record<string, Float64Array> = {};
    for (const p of ld.parts) parts[p.name] = p.slots.slice(B * p.size, (T + 1) * B * p.size);
    return { layer: ld.layer, direction: dirName(ld), h: parts.h ?? null, c: parts.c ?? null, parts, proj: Float64Array.from(ld.proj) };
  });
}
