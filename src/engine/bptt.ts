// The one time loop: runs any cell forward through time (stacked layers, optional
// reverse-time twin per layer), the linear head and the loss, then backpropagates through
// time and records the probes (probes.ts).
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

import { addPeepholeGrads, type CellParams, type StepState } from './cells';
import { addColumnSums, addInto, fillRows, gemmAB, gemmABt, gemmAtB, jointNorm, norm2 } from './linalg';
import { computeLoss } from './loss';
import { HEAD_BIAS, HEAD_WEIGHT, param, validateConfig, zerosLike } from './model';
import { buildRecord, checkItemizedCap, weightGradByStep } from './probes';
import type { Batch, LossKind, Model, NonFinite, ParamSet, PassOptions, PassRecord, PassResult } from './types';
import { getWorkspace, type LayerDir, type Workspace } from './workspace';

type Direction = 'forward' | 'reverse';

// ---------------------------------------------------------------- test hooks
// Finite-difference tests perturb internal quantities of the forward pass and read back
// what the backward pass claims are their gradients. Not used by the product.

/** Adds delta ([B][H], or [B][G*H] for 'gi') to a quantity of one layer/direction at step t. */
export interface Perturbation {
  layer: number;
  direction: Direction;
  t: number;
  /**
   * 'gi': the gate pre-activations (added to W_ih u_t + b_ih);
   * 'c' : c_t before h_t is formed from it (so dL/dc_t is the total derivative);
   * 'h' : h_t after it is formed; 'cAfterH': c_t after h_t is formed (state-space partial).
   */
  target: 'gi' | 'c' | 'h' | 'cAfterH';
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

/** Initial state of a layer/direction ([B][H]); zero when absent. */
export interface InitialState {
  layer: number;
  direction: Direction;
  h: Float64Array;
  c?: Float64Array;
}

export interface EngineHooks {
  perturb?: Perturbation[];
  stepParams?: StepParamPerturbation[];
  initialState?: InitialState[];
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

// ---------------------------------------------------------------- forward

export interface LayerWeights {
  wih: Float64Array;
  whh: Float64Array;
  bih: Float64Array;
  bhh: Float64Array;
}

export function bindLayer(params: ParamSet, ld: LayerDir): LayerWeights {
  const n = ld.names;
  const cp = ld.cellParams;
  cp.wci = n.peepholes ? param(params, n.peepholes.ci).data : null;
  cp.wcf = n.peepholes ? param(params, n.peepholes.cf).data : null;
  cp.wco = n.peepholes ? param(params, n.peepholes.co).data : null;
  return {
    wih: param(params, n.weightIh).data,
    whh: param(params, n.weightHh).data,
    bih: param(params, n.biasIh).data,
    bhh: param(params, n.biasHh).data,
  };
}

function layerInput(ws: Workspace, layer: number): Float64Array {
  return layer === 0 ? ws.xT : ws.outs[layer - 1];
}

function dirName(ld: LayerDir): Direction {
  return ld.reverse ? 'reverse' : 'forward';
}

function forward(ws: Workspace, model: Model, batch: Batch, hooks: EngineHooks | null, initial: readonly InitialState[] = hooks?.initialState ?? []): void {
  forwardLayers(ws, model.params, batch.x, hooks, initial);
  const { T, B, DH } = ws;
  const top = ws.outs[ws.config.numLayers - 1];
  fillRows(T * B, batch.outputSize, param(model.params, HEAD_BIAS).data, ws.Y);
  gemmABt(T * B, batch.outputSize, DH, top, param(model.params, HEAD_WEIGHT).data, ws.Y);
}

/** The recurrent layers only (no head): x is batch-first [B][T][I]; fills ws.outs and the states. */
export function forwardLayers(ws: Workspace, params: ParamSet, x: Float64Array, hooks: EngineHooks | null, initial: readonly InitialState[]): void {
  const { B, T, H, GH, DH, cell } = ws;
  const stepHooks = hooks && (hooks.perturb?.length || hooks.stepParams?.length) ? hooks : null;
  const I = ws.config.inputSize;
  const BH = B * H;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const src = (b * T + t) * I;
      const dst = (t * B + b) * I;
      for (let i = 0; i < I; i++) ws.xT[dst + i] = x[src + i];
    }
  }
  for (const ld of ws.layers) {
    const w = bindLayer(params, ld);
    const U = layerInput(ws, ld.layer);
    const out = ws.outs[ld.layer];
    const In = ld.inSize;
    fillRows(T * B, GH, w.bih, ld.gi);
    gemmABt(T * B, GH, In, U, w.wih, ld.gi);
    // The initial state: zero unless given (a checkpoint, a captured h_0, or a test hook).
    const slot = ld.reverse ? T + 1 : 0;
    const init = initial.find((s) => s.layer === ld.layer && s.direction === dirName(ld));
    ld.hs.fill(0, slot * BH, (slot + 1) * BH);
    if (init) ld.hs.set(init.h, slot * BH);
    if (cell.hasCell) {
      ld.cs.fill(0, slot * BH, (slot + 1) * BH);
      if (init?.c) ld.cs.set(init.c, slot * BH);
    }
    for (let p = 0; p < T; p++) {
      const t = ld.reverse ? T - 1 - p : p;
      const st = ld.steps[t];
      fillRows(B, GH, w.bhh, st.gh);
      gemmABt(B, GH, H, st.hPrev, w.whh, st.gh);
      if (stepHooks) stepWithHooks(ws, ld, st, t, U, stepHooks);
      else {
        cell.forwardC(st, ld.cellParams, B, H);
        cell.forwardH(st, ld.cellParams, B, H);
      }
      const h = st.h;
      const col = ld.d * H;
      for (let b = 0; b < B; b++) {
        const o = (t * B + b) * DH + col;
        const hb = b * H;
        for (let j = 0; j < H; j++) out[o + j] = h[hb + j];
      }
    }
  }
}

/** One forward step with test perturbations applied (not on the product's path). */
function stepWithHooks(ws: Workspace, ld: LayerDir, st: StepState, t: number, U: Float64Array, hooks: EngineHooks): void {
  const { B, H, GH, cell } = ws;
  const dir = dirName(ld);
  const mine = <X extends { layer: number; direction: Direction; t: number }>(list: X[] | undefined): X[] =>
    (list ?? []).filter((p) => p.layer === ld.layer && p.direction === dir && p.t === t);
  const perturb = mine(hooks.perturb);
  const add = (target: Perturbation['target'], dst: Float64Array): void => {
    for (const p of perturb) if (p.target === target) addInto(dst, p.delta);
  };
  add('gi', st.gi);
  let cp: CellParams = ld.cellParams;
  for (const sp of mine(hooks.stepParams)) {
    const n = ld.names;
    const In = ld.inSize;
    if (sp.name === n.weightIh) gemmABt(B, GH, In, U.subarray(t * B * In, (t + 1) * B * In), sp.delta, st.gi);
    else if (sp.name === n.weightHh) gemmABt(B, GH, H, st.hPrev, sp.delta, st.gh);
    else if (sp.name === n.biasIh) for (let b = 0; b < B; b++) for (let k = 0; k < GH; k++) st.gi[b * GH + k] += sp.delta[k];
    else if (sp.name === n.biasHh) for (let b = 0; b < B; b++) for (let k = 0; k < GH; k++) st.gh[b * GH + k] += sp.delta[k];
    else if (n.peepholes && [n.peepholes.ci, n.peepholes.cf, n.peepholes.co].includes(sp.name)) {
      const plus = (w: Float64Array | null, name: string): Float64Array | null => {
        if (w === null || name !== sp.name) return w;
        const v = Float64Array.from(w);
        addInto(v, sp.delta);
        return v;
      };
      cp = { wci: plus(cp.wci, n.peepholes.ci), wcf: plus(cp.wcf, n.peepholes.cf), wco: plus(cp.wco, n.peepholes.co) };
    } else throw new Error(`stepParams: '${sp.name}' is not a parameter of layer ${ld.layer} ${dir}`);
  }
  cell.forwardC(st, cp, B, H);
  if (cell.hasCell) add('c', st.c);
  cell.forwardH(st, cp, B, H);
  add('h', st.h);
  if (cell.hasCell) add('cAfterH', st.c);
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

/**
 * Backward through steps [from, to] of one layer/direction. The recurrent gradient entering
 * the last step is zero, or ld.carryH/carryC when `carry` is set (a checkpointed segment: the
 * gradient of the following segment with respect to this one's final state); with `carry`,
 * the gradient with respect to the state before `from` is written back to carryH/carryC.
 */
function backwardLayerWindow(ws: Workspace, ld: LayerDir, whh: Float64Array, dOut: Float64Array, from: number, to: number, carry: boolean): void {
  const { B, H, GH, DH, cell } = ws;
  const g = ld.grads;
  const dhRec = ld.dhRec;
  let dcIn = ld.dcRec;
  let dcOut = ld.dcNext;
  if (carry) {
    dhRec.set(ld.carryH);
    dcIn.set(ld.carryC);
  } else {
    dhRec.fill(0);
    dcIn.fill(0);
  }
  const col = ld.d * H;
  for (let k = 0; k <= to - from; k++) {
    // Backward visits steps in the reverse of the order the forward pass made them.
    const t = ld.reverse ? from + k : to - k;
    const st = ld.steps[t];
    const dh = ld.pHT[t];
    for (let b = 0; b < B; b++) {
      const o = (t * B + b) * DH + col;
      const hb = b * H;
      for (let j = 0; j < H; j++) dh[hb + j] = dOut[o + j] + dhRec[hb + j];
    }
    g.dGi = ld.pGiT[t];
    g.dGh = ld.pGhT[t];
    if (cell.hasCell) {
      g.dc = ld.pCT[t];
      // What arrives from step t+1 is dL/dc_t with h_t held fixed: the c part of the
      // state gradient (gradNormState), as opposed to the node gradient g.dc.
      ld.pCsT[t].set(dcIn);
    }
    g.dcPrev = dcOut;
    g.dhPrev = dhRec;
    cell.backward(st, ld.cellParams, B, H, dh, dcIn, g);
    gemmAB(B, H, GH, g.dGh, whh, dhRec);
    const swap = dcIn;
    dcIn = dcOut;
    dcOut = swap;
  }
  if (carry) {
    ld.carryH.set(dhRec);
    ld.carryC.set(dcIn);
  }
}

function backwardPass(ws: Workspace, model: Model, win: BackwardWindow, weights: LayerWeights[], carry = false): void {
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
  backwardLayers(ws, win, weights, carry);
}

/** Backward through the layers of one window, from the external gradient already in ws.dOuts[top]. */
export function backwardLayers(ws: Workspace, win: BackwardWindow, weights: LayerWeights[], carry: boolean): void {
  const { B, GH, DH } = ws;
  const I = ws.config.inputSize;
  const L = ws.config.numLayers;
  const { from, to } = win;
  const D = ws.config.bidirectional ? 2 : 1;
  const H = ws.H;
  const rows = (to - from + 1) * B;
  // Top layer first: each layer's input gradient is the external gradient of the one below.
  for (let l = L - 1; l >= 0; l--) {
    for (let d = 0; d < D; d++) backwardLayerWindow(ws, ws.layers[l * D + d], weights[l * D + d].whh, ws.dOuts[l], from, to, carry);
    const In = l > 0 ? DH : I;
    const dIn = l > 0 ? ws.dOuts[l - 1] : ws.pX;
    dIn.fill(0, from * B * In, (to + 1) * B * In);
    for (let d = 0; d < D; d++) {
      const ld = ws.layers[l * D + d];
      gemmAB(rows, In, GH, ld.pGi.subarray(from * B * GH, (to + 1) * B * GH), weights[l * D + d].wih, dIn.subarray(from * B * In, (to + 1) * B * In));
      if (ws.separatePass) {
        accumulateRows(ld.dGi, ld.pGi, from * B * GH, (to + 1) * B * GH);
        if (ld.dGh !== ld.dGi) accumulateRows(ld.dGh, ld.pGh, from * B * GH, (to + 1) * B * GH);
        accumulateRows(ld.dH, ld.pH, from * B * H, (to + 1) * B * H);
        if (ws.cell.hasCell) {
          accumulateRows(ld.dC, ld.pC, from * B * H, (to + 1) * B * H);
          accumulateRows(ld.dCs, ld.pCs, from * B * H, (to + 1) * B * H);
        }
      }
    }
  }
  if (ws.separatePass) accumulateRows(ws.dX, ws.pX, from * B * I, (to + 1) * B * I);
}

function accumulateRows(dst: Float64Array, src: Float64Array, lo: number, hi: number): void {
  for (let k = lo; k < hi; k++) dst[k] += src[k];
}

/**
 * Parameter gradients from the summed pre-activation gradients (all linear in them). With
 * the weightGradByStep probe on, each layer's gradient is built as the sum of its per-step
 * parts (which the probe measures anyway); otherwise as one product over all steps.
 * Returns the per-step part norms per layer/direction (null when the probe is off).
 */
export function parameterGradients(ws: Workspace, grads: ParamSet, byStep: boolean, hooks: EngineHooks | null, head = true): number[][] | null {
  const { B, T, H, GH, DH } = ws;
  const BH = B * H;
  const stepNorms: number[][] = [];
  for (const ld of ws.layers) {
    if (byStep) {
      stepNorms.push(weightGradByStep(ws, ld, grads, hooks));
      continue;
    }
    const n = ld.names;
    const U = layerInput(ws, ld.layer);
    gemmAtB(GH, ld.inSize, T * B, ld.dGi, U, param(grads, n.weightIh).data);
    const hPrev = ld.hs.subarray(ld.reverse ? 2 * BH : 0, (ld.reverse ? 2 : 0) * BH + T * BH);
    gemmAtB(GH, H, T * B, ld.dGh, hPrev, param(grads, n.weightHh).data);
    addColumnSums(T * B, GH, ld.dGi, param(grads, n.biasIh).data);
    addColumnSums(T * B, GH, ld.dGh, param(grads, n.biasHh).data);
    if (n.peepholes) {
      const gci = param(grads, n.peepholes.ci).data;
      const gcf = param(grads, n.peepholes.cf).data;
      const gco = param(grads, n.peepholes.co).data;
      for (let t = 0; t < T; t++) addPeepholeGrads(ld.steps[t], ld.dGi, t * B * GH, B, H, gci, gcf, gco);
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
  /** Per layer: in, dL/d(final state) from the next segment; out, dL/d(initial state). */
  carryH: Float64Array[];
  carryC: Float64Array[];
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
  forward(ws, model, batch, hooks, segment ? segment.initial : undefined);
  const loss = computeLoss(options.loss, batch, ws.Y, ws.terms, ws.dY, segment ? segment.lossScale : 1);
  const weights = ws.layers.map((ld) => bindLayer(model.params, ld));
  if (ws.separatePass) {
    for (const ld of ws.layers) {
      ld.dGi.fill(0);
      ld.dGh.fill(0);
      ld.dH.fill(0);
      ld.dC.fill(0);
      ld.dCs.fill(0);
    }
    ws.dX.fill(0);
  }
  if (segment) ws.layers.forEach((ld, l) => (ld.carryH.set(segment.carryH[l]), ld.carryC.set(segment.carryC[l])));
  for (const win of windows) backwardPass(ws, model, win, weights, segment !== null);
  if (segment) ws.layers.forEach((ld, l) => (segment.carryH[l].set(ld.carryH), segment.carryC[l].set(ld.carryC)));
  const stepNorms = parameterGradients(ws, grads, options.probes?.weightGradByStep ?? true, hooks);
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
  const H = config.hiddenSize;
  const L = config.numLayers;
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
  // Forward sweep: the state entering every segment.
  const zeros = (): Float64Array[] => Array.from({ length: L }, () => new Float64Array(B * H));
  const checkpoints: InitialState[][] = [];
  let state: InitialState[] = [];
  for (const a of starts) {
    checkpoints.push(state);
    const part = sub(a);
    const ws = prepare(model, part, false);
    forward(ws, model, part, null, state);
    const last = part.steps * B * H; // slot n holds h_{n-1}
    state = ws.layers.map((ld) => ({
      layer: ld.layer,
      direction: 'forward' as const,
      h: ld.hs.slice(last, last + B * H),
      c: ws.cell.hasCell ? ld.cs.slice(last, last + B * H) : undefined,
    }));
  }
  // Backward sweep, last segment first.
  const grads = zerosLike(model.params);
  const carryH = zeros();
  const carryC = zeros();
  const records: PassRecord[] = [];
  let loss = 0;
  for (let k = starts.length - 1; k >= 0; k--) {
    const part = sub(starts[k]);
    // many-to-many: the segment's mean over n steps is n/T of the sequence's; many-to-one:
    // only the last segment holds the scored step.
    const lossScale = batch.mode === 'many-to-many' ? part.steps / T : k === starts.length - 1 ? 1 : 0;
    const res = passCore(model, part, options, null, grads, { initial: checkpoints[k], carryH, carryC, lossScale });
    loss += res.loss;
    records[k] = buildRecord(res.ws, model, part, options, res.loss, 0, grads, res.stepNorms);
  }
  const globalNorm = jointNorm([...grads.values()].map((g) => norm2(g.data)));
  return { loss, grads, record: mergeRecords(records, starts, loss, globalNorm) };
}

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
  const FORWARD = ['params', 'x', 'h', 'c', 'y'];
  let nonFinite: NonFinite | null = null;
  for (let k = 0; k < records.length && !nonFinite; k++) {
    const nf = shifted(k);
    if (nf && FORWARD.includes(nf.quantity)) nonFinite = nf;
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
  /** States per layer/direction, time-major [T][B][H] (c: LSTM only). */
  states: Array<{ layer: number; direction: Direction; h: Float64Array; c: Float64Array | null }>;
}

/** Forward pass with test hooks, returning copies of everything a check needs. */
export function forwardDetailed(model: Model, batch: Batch, loss: LossKind, hooks: EngineHooks | null = null): ForwardDetail {
  const ws = prepare(model, batch, false);
  forward(ws, model, batch, hooks);
  const value = computeLoss(loss, batch, ws.Y, ws.terms, null);
  const BH = ws.B * ws.H;
  const T = ws.T;
  return {
    loss: value,
    terms: Float64Array.from(ws.terms),
    y: Float64Array.from(ws.Y),
    states: ws.layers.map((ld) => ({
      layer: ld.layer,
      direction: dirName(ld),
      h: ld.hs.slice(BH, (T + 1) * BH),
      c: ws.cell.hasCell ? ld.cs.slice(BH, (T + 1) * BH) : null,
    })),
  };
}
