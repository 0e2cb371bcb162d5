// Preallocated buffers for one (model shape, batch shape): the time loop allocates
// nothing per step. Layouts are time-major inside the engine ([T][B][·]), so the rows of
// one timestep are contiguous and a whole sequence is one matrix for the big products.
//
// Every state part of a cell (cells/cell.ts) lives in T+2 slots per layer/direction: slot
// t+1 holds the part after step t; slot 0 is the initial state of the forward direction,
// slot T+1 that of the reverse direction. So the previous state of step t is slot t
// (forward) or slot t+2 (reverse), and the previous states of all steps form one contiguous
// [T][B][size] block (the W_hh gradient is one product over it).

import type { BackwardIO, Cell, JvpIO, StepIO } from './cells/cell';
import { directions, layerCells, layerInputSize, layerSuffix } from './model';
import { Rng } from './rng';
import type { ModelConfig } from './types';

export interface PartBuffers {
  name: string;
  size: number;
  held: boolean;
  /** (T+2) slots of [B][size]. */
  slots: Float64Array;
  slotViews: Float64Array[];
}

/** A projection block with its full parameter names and its row offset in proj. */
export interface BoundBlock {
  weight: string;
  bias: string | null;
  rows: number;
  offset: number;
}

/** Weights of one layer/direction as bound for one pass (views of the model's tensors, or packed copies). */
export interface LayerWeights {
  /** W_in [P × In] (the block's tensor itself when there is one block, else a packed copy). */
  win: Float64Array;
  /** b_in [P] (zeros where a block has no bias). */
  bin: Float64Array;
  whh: Float64Array;
  bhh: Float64Array;
  own: Float64Array[];
}

export interface LayerDir {
  layer: number;
  reverse: boolean;
  /** 0 forward, 1 reverse: column offset d*H in the layer output. */
  d: number;
  inSize: number;
  cell: Cell;
  /** Base name -> full name (`weight_ih` -> `weight_ih_l0_reverse`). */
  names: Map<string, string>;
  blocks: BoundBlock[];
  /** Rows of proj (P) and of rec (G, 0 without a recurrent weight). */
  P: number;
  G: number;
  /** Index (in cell.state) of the part W_hh reads, and of the output part (-1: readout). */
  fromIdx: number;
  outIdx: number;
  /** Full names of the own parameters, in cell order. */
  ownNames: string[];
  /** Packing buffers when the projection has several blocks (null with one block). */
  packedW: Float64Array | null;
  packedB: Float64Array;
  w: LayerWeights;
  // ---- forward storage
  proj: Float64Array;
  projT: Float64Array[];
  rec: Float64Array;
  cache: Float64Array;
  cacheT: Float64Array[];
  parts: PartBuffers[];
  /** Per step t: the views of every part before and after it (what a step IO's prev/next hold). */
  prevAt: Float64Array[][];
  nextAt: Float64Array[][];
  /** Readout target for one step ([B][outSize]) when the output is not a contiguous view. */
  outStep: Float64Array;
  /** Per-step views of the layer input u_t. */
  inT: Float64Array[];
  /** One direction only: per-step views of the layer output and of its gradient, [B][H] (empty with two directions). */
  outT: Float64Array[];
  dOutT: Float64Array[];
  /** One reusable IO object per kind; fields are set per step (stepIO/backwardIO). */
  io: StepIO;
  bio: BackwardIO;
  /** The probes' IO (Jacobian, itemized): backward and jvp on other buffers than the pass's. */
  jio: BackwardIO & JvpIO;
  // ---- backward: totals over all backward passes, and one pass (the same arrays without truncation)
  dProj: Float64Array;
  dRec: Float64Array;
  pProj: Float64Array;
  pRec: Float64Array;
  dProjT: Float64Array[];
  dRecT: Float64Array[];
  pProjT: Float64Array[];
  pRecT: Float64Array[];
  /** Ping-pong state-gradient buffers, per part [B][size] (zero-length for held parts). */
  dNext: Float64Array[];
  dPrev: Float64Array[];
  dStateStep: Float64Array[];
  dNodeCStep: Float64Array;
  dOutStep: Float64Array;
  /** Summed state gradients per part [T][B][size] (truncated BPTT only; null otherwise). */
  dStateTotal: Float64Array[] | null;
  dNodeCTotal: Float64Array | null;
  /** Per-step norms (filled by the backward pass, or from the totals after it). */
  stateNorms: Float64Array[];
  nodeCNorms: Float64Array;
  /** Gradient carried across checkpointed segments / injected final-state gradient, per part [B][size]. */
  carry: Float64Array[];
  /** Own-parameter gradients of this pass (the ParamSet's arrays), bound per pass. */
  gradOwn: Float64Array[];
  /** One step's own-parameter gradient (weightGradByStep), and its per-step record. */
  ownStep: Float64Array[];
  ownStepSq: Float64Array;
  /** Truncated BPTT with weightGradByStep: the own parts of every step, summed over passes, [T][Σ own sizes]. */
  ownSteps: Float64Array | null;
  /** Test hooks: copies of each step's own parts (set when a hook asks for them). */
  ownPartsByStep: Float64Array[][] | null;
}

export interface Workspace {
  key: string;
  config: ModelConfig;
  B: number;
  T: number;
  H: number;
  /** D*H: width of a layer output. */
  DH: number;
  layers: LayerDir[];
  /** Inputs, time-major [T][B][I]. */
  xT: Float64Array;
  /** Layer outputs [T][B][D*H] (layer l+1 reads outs[l]). */
  outs: Float64Array[];
  /** External gradient into each layer's output in one backward pass, [T][B][D*H]. */
  dOuts: Float64Array[];
  /** Head outputs and dL/dY, [T][B][O]. */
  Y: Float64Array;
  dY: Float64Array;
  terms: Float64Array;
  /** dL/dx total, and of one backward pass, [T][B][I]. */
  dX: Float64Array;
  pX: Float64Array;
  /** Whether pass buffers are separate from the totals (truncated BPTT). */
  separatePass: boolean;
  /** Set by the forward: the initial states continue a longer sequence (no step is the first). */
  continues: boolean;
  /** Scratch for probes. */
  probe: ProbeScratch;
}

export interface ProbeScratch {
  /** Per layer-cell-shaped scratch for the Jacobian and itemized probes (per part [B][size]). */
  v: Float64Array[];
  tOut: Float64Array[];
  u: Float64Array[];
  dState: Float64Array[];
  dNext: Float64Array[];
  dPrev: Float64Array[];
  dRecV: Float64Array;
  dProj: Float64Array;
  dRec: Float64Array;
  dNodeC: Float64Array;
  zeroOut: Float64Array;
  dOut: Float64Array;
  /** Fixed start vectors of the power iteration, [B][stride] (same every pass: determinism). */
  start: Float64Array;
  startStride: number;
  /** Per-batch-element σ estimates of the power iteration. */
  sigma: Float64Array;
  /** ∂ℓ_s/∂(top layer output at s), [B][D*H]; per direction and part, the seeds of the state. */
  seed: Float64Array;
  seedState: Float64Array[][];
  /** Per-step weight-gradient parts. */
  partWin: Float64Array;
  partBin: Float64Array;
  partWhh: Float64Array;
  partBhh: Float64Array;
  /** Packed-gradient scratch for multi-block projections (P × In and P). */
  packedGrad: Float64Array;
  packedGradB: Float64Array;
}

function workspaceKey(config: ModelConfig, B: number, T: number, separatePass: boolean): string {
  const c = config;
  return [c.cell, c.nonlinearity, c.variant, c.inputSize, c.hiddenSize, c.numLayers, c.bidirectional, c.outputSize, JSON.stringify(c.cellOptions ?? {}), B, T, separatePass].join('|');
}

function views(buf: Float64Array, count: number, size: number, first = 0): Float64Array[] {
  const out: Float64Array[] = [];
  for (let i = 0; i < count; i++) out.push(buf.subarray((first + i) * size, (first + i + 1) * size));
  return out;
}

const EMPTY = new Float64Array(0);

function emptyIO(cell: Cell, B: number): BackwardIO & JvpIO {
  const n = cell.state.length;
  return {
    B,
    t: 0,
    first: false,
    proj: EMPTY,
    rec: EMPTY,
    prev: new Array<Float64Array>(n).fill(EMPTY),
    next: new Array<Float64Array>(n).fill(EMPTY),
    out: EMPTY,
    cache: EMPTY,
    own: [],
    dOut: EMPTY,
    dNext: [],
    dState: [],
    dProj: EMPTY,
    dRec: EMPTY,
    dPrev: [],
    dOwn: [],
    wantOwn: false,
    dNodeC: EMPTY,
    v: [],
    dRecV: EMPTY,
    tOut: [],
  };
}

function buildLayer(
  config: ModelConfig,
  cell: Cell,
  layer: number,
  d: number,
  B: number,
  T: number,
  separatePass: boolean,
  xT: Float64Array,
  outs: Float64Array[],
  dOuts: Float64Array[],
): LayerDir {
  const H = config.hiddenSize;
  const inSize = layerInputSize(config, layer);
  const suffix = layerSuffix(layer, d === 1);
  const names = new Map(cell.params.map((p) => [p.name, p.name + suffix]));
  const full = (base: string): string => names.get(base) ?? base + suffix;
  let offset = 0;
  const blocks: BoundBlock[] = cell.projection.map((b) => {
    const bound = { weight: full(b.weight), bias: b.bias === null ? null : full(b.bias), rows: b.rows, offset };
    offset += b.rows;
    return bound;
  });
  const P = offset;
  const G = cell.recurrent ? cell.recurrent.rows : 0;
  const fromIdx = cell.recurrent ? cell.state.findIndex((s) => s.name === cell.recurrent!.from) : -1;
  if (cell.recurrent && fromIdx < 0) throw new Error(`cell ${cell.name}: recurrent.from '${cell.recurrent.from}' is not a state part`);
  const outIdx = cell.outPart === null ? -1 : cell.state.findIndex((s) => s.name === cell.outPart);
  if (cell.outPart !== null && outIdx < 0) throw new Error(`cell ${cell.name}: outPart '${cell.outPart}' is not a state part`);
  if (cell.outPart === null && !cell.readout) throw new Error(`cell ${cell.name}: no outPart and no readout`);
  const ownNames = cell.params.filter((p) => p.role === 'own').map((p) => full(p.name));
  const ownSizes = cell.params.filter((p) => p.role === 'own').map((p) => p.shape.reduce((a, b) => a * b, 1));
  const cs = cell.cacheSize;
  const proj = new Float64Array(T * B * P);
  const cache = new Float64Array(T * B * cs);
  const parts: PartBuffers[] = cell.state.map((s) => {
    const slots = new Float64Array((T + 2) * B * s.size);
    return { name: s.name, size: s.size, held: s.heldConstant === true, slots, slotViews: views(slots, T + 2, B * s.size) };
  });
  const dProj = new Float64Array(T * B * P);
  const dRec = cell.recShared ? dProj : new Float64Array(T * B * G);
  const pProj = separatePass ? new Float64Array(T * B * P) : dProj;
  const pRec = cell.recShared ? pProj : separatePass ? new Float64Array(T * B * G) : dRec;
  const gradSized = (): Float64Array[] => parts.map((p) => (p.held ? EMPTY : new Float64Array(B * p.size)));
  const io = emptyIO(cell, B);
  const hasNodeC = cell.nodeC !== null;
  return {
    layer,
    reverse: d === 1,
    d,
    inSize,
    cell,
    names,
    blocks,
    P,
    G,
    fromIdx,
    outIdx,
    ownNames,
    packedW: blocks.length > 1 ? new Float64Array(P * inSize) : null,
    packedB: new Float64Array(P),
    w: { win: EMPTY, bin: EMPTY, whh: EMPTY, bhh: EMPTY, own: [] },
    proj,
    projT: views(proj, T, B * P),
    rec: new Float64Array(B * G),
    cache,
    cacheT: views(cache, T, B * cs),
    parts,
    prevAt: Array.from({ length: T }, (_, t) => parts.map((p) => p.slotViews[d === 1 ? t + 2 : t])),
    nextAt: Array.from({ length: T }, (_, t) => parts.map((p) => p.slotViews[t + 1])),
    outStep: new Float64Array(B * H),
    inT: views(layer === 0 ? xT : outs[layer - 1], T, B * inSize),
    outT: config.bidirectional ? [] : views(outs[layer], T, B * H),
    dOutT: config.bidirectional ? [] : views(dOuts[layer], T, B * H),
    io,
    bio: io,
    jio: emptyIO(cell, B),
    dProj,
    dRec,
    pProj,
    pRec,
    dProjT: views(dProj, T, B * P),
    dRecT: views(dRec, T, B * G),
    pProjT: views(pProj, T, B * P),
    pRecT: views(pRec, T, B * G),
    dNext: gradSized(),
    dPrev: gradSized(),
    dStateStep: gradSized(),
    dNodeCStep: new Float64Array(hasNodeC ? B * H : 0),
    dOutStep: new Float64Array(B * H),
    dStateTotal: separatePass ? parts.map((p) => (p.held ? EMPTY : new Float64Array(T * B * p.size))) : null,
    dNodeCTotal: separatePass && hasNodeC ? new Float64Array(T * B * H) : null,
    stateNorms: parts.map(() => new Float64Array(T)),
    nodeCNorms: new Float64Array(hasNodeC ? T : 0),
    carry: gradSized(),
    gradOwn: [],
    ownStep: ownSizes.map((n) => new Float64Array(n)),
    ownStepSq: new Float64Array(T),
    ownSteps: null,
    ownPartsByStep: null,
  };
}

function buildWorkspace(config: ModelConfig, B: number, T: number, separatePass: boolean): Workspace {
  const cells = layerCells(config);
  const H = config.hiddenSize;
  const D = directions(config);
  const DH = D * H;
  const O = config.outputSize;
  const I = config.inputSize;
  const xT = new Float64Array(T * B * I);
  const outs = Array.from({ length: config.numLayers }, () => new Float64Array(T * B * DH));
  const dOuts = Array.from({ length: config.numLayers }, () => new Float64Array(T * B * DH));
  const layers: LayerDir[] = [];
  for (let layer = 0; layer < config.numLayers; layer++) {
    for (let d = 0; d < D; d++) layers.push(buildLayer(config, cells[layer], layer, d, B, T, separatePass, xT, outs, dOuts));
  }
  // Probe scratch sized for the largest layer (layers differ only in their input size).
  const top = layers[layers.length - 1];
  const cell = top.cell;
  const gradSized = (): Float64Array[] => cell.state.map((s) => (s.heldConstant ? EMPTY : new Float64Array(B * s.size)));
  let S = 0;
  for (const s of cell.state) if (!s.heldConstant) S += s.size;
  // The start vectors keep the layout of the engine before the cell redesign ([B][2H] for
  // rnn/gru/lstm), so jacobianNorm starts from the same vectors as it always did.
  const stride = Math.max(S, 2 * H);
  const rng = new Rng(0x6a09e667);
  const start = new Float64Array(B * stride);
  for (let k = 0; k < start.length; k++) start[k] = rng.normal();
  const maxP = Math.max(...layers.map((l) => l.P));
  const maxIn = Math.max(...layers.map((l) => l.inSize));
  const G = top.G;
  const dX = new Float64Array(T * B * I);
  return {
    key: workspaceKey(config, B, T, separatePass),
    config: { ...config },
    B,
    T,
    H,
    DH,
    layers,
    xT,
    outs,
    dOuts,
    Y: new Float64Array(T * B * O),
    dY: new Float64Array(T * B * O),
    terms: new Float64Array(T),
    dX,
    pX: separatePass ? new Float64Array(T * B * I) : dX,
    separatePass,
    continues: false,
    probe: {
      v: gradSized(),
      tOut: gradSized(),
      u: gradSized(),
      dState: gradSized(),
      dNext: gradSized(),
      dPrev: gradSized(),
      dRecV: new Float64Array(B * G),
      dProj: new Float64Array(B * maxP),
      dRec: new Float64Array(B * G),
      dNodeC: new Float64Array(cell.nodeC ? B * H : 0),
      zeroOut: new Float64Array(B * H),
      dOut: new Float64Array(B * H),
      start,
      startStride: stride,
      sigma: new Float64Array(B),
      seed: new Float64Array(B * DH),
      seedState: Array.from({ length: D }, () => gradSized()),
      partWin: new Float64Array(maxP * maxIn),
      partBin: new Float64Array(maxP),
      partWhh: new Float64Array(G * (top.fromIdx >= 0 ? top.parts[top.fromIdx].size : 0)),
      partBhh: new Float64Array(G),
      packedGrad: new Float64Array(layers.some((l) => l.packedW) ? maxP * maxIn : 0),
      packedGradB: new Float64Array(maxP),
    },
  };
}

// A few recent shapes stay cached (a study alternates a handful of models and batch sizes).
const CACHE_SIZE = 4;
const cache = new Map<string, Workspace>();

export function getWorkspace(config: ModelConfig, B: number, T: number, separatePass: boolean): Workspace {
  const key = workspaceKey(config, B, T, separatePass);
  let ws = cache.get(key);
  if (ws) {
    cache.delete(key);
  } else {
    ws = buildWorkspace(config, B, T, separatePass);
    if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  }
  cache.set(key, ws);
  return ws;
}

/** Drops cached workspaces (frees memory after a study). */
export function clearWorkspaceCache(): void {
  cache.clear();
}
