// Preallocated buffers for one (model shape, batch shape): the time loop allocates
// nothing per step. Layouts are time-major inside the engine ([T][B][·]), so the rows of
// one timestep are contiguous and a whole sequence is one matrix for the big products.
//
// Recurrent states live in T+2 slots per layer/direction: slot t+1 holds h_t; slot 0 is
// the initial state of the forward direction, slot T+1 that of the reverse direction.
// So the previous state of step t is slot t (forward) or slot t+2 (reverse), and the
// previous states of all steps form one contiguous [T][B][H] block.

import type { Cell, CellParams, StepGrads, StepState } from './cells';
import { makeCell } from './cells';
import { directions, gateBlocks, layerInputSize, layerParamNames, type LayerParamNames } from './model';
import { Rng } from './rng';
import type { ModelConfig } from './types';

export interface LayerDir {
  layer: number;
  reverse: boolean;
  /** 0 forward, 1 reverse: column offset d*H in the layer output. */
  d: number;
  inSize: number;
  names: LayerParamNames;
  cellParams: CellParams;
  // forward storage
  gi: Float64Array;
  gh: Float64Array;
  act: Float64Array;
  hs: Float64Array;
  cs: Float64Array;
  tc: Float64Array;
  steps: StepState[];
  // backward totals over all backward passes, [T][B][·]
  dGi: Float64Array;
  dGh: Float64Array;
  dH: Float64Array;
  dC: Float64Array;
  /** LSTM: dL/dc_t with h_t held fixed (the state-space partial: only the path through c_{t+1}). */
  dCs: Float64Array;
  // one backward pass (the same arrays as the totals when there is a single pass)
  pGi: Float64Array;
  pGh: Float64Array;
  pH: Float64Array;
  pC: Float64Array;
  pCs: Float64Array;
  /** Per-timestep views of the pass buffers. */
  pGiT: Float64Array[];
  pGhT: Float64Array[];
  pHT: Float64Array[];
  pCT: Float64Array[];
  pCsT: Float64Array[];
  /** Per-timestep views of the totals and of the layer input u_t. */
  dGiT: Float64Array[];
  dGhT: Float64Array[];
  inT: Float64Array[];
  // scratch [B][H] / [B][G*H]
  dhRec: Float64Array;
  dcRec: Float64Array;
  dcNext: Float64Array;
  grads: StepGrads;
  zeros: Float64Array;
  /** Recurrent gradient carried across checkpointed segments (dL/dh, dL/dc), [B][H]. */
  carryH: Float64Array;
  carryC: Float64Array;
}

export interface Workspace {
  key: string;
  config: ModelConfig;
  cell: Cell;
  B: number;
  T: number;
  H: number;
  /** G*H: width of the stacked gate rows. */
  GH: number;
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
  /** Scratch for probes. */
  probe: ProbeScratch;
}

export interface ProbeScratch {
  vh: Float64Array;
  vc: Float64Array;
  th: Float64Array;
  tc: Float64Array;
  uh: Float64Array;
  uc: Float64Array;
  dgh: Float64Array;
  grads: StepGrads;
  /** Fixed start vector of the power iteration, [B][2H] (same every pass: determinism). */
  start: Float64Array;
  /** Per-batch-element σ estimates of the power iteration. */
  sigma: Float64Array;
  /** ∂ℓ_s/∂(top layer's h_s, c_s) for the itemized probe, [B][D*H] each. */
  seed: Float64Array;
  seedC: Float64Array;
  partWih: Float64Array[];
  partWhh: Float64Array;
  partBih: Float64Array;
  partBhh: Float64Array;
  partPeep: Float64Array;
}

function workspaceKey(config: ModelConfig, B: number, T: number, separatePass: boolean): string {
  const c = config;
  return [c.cell, c.nonlinearity, c.variant, c.inputSize, c.hiddenSize, c.numLayers, c.bidirectional, c.outputSize, B, T, separatePass].join('|');
}

function views(buf: Float64Array, count: number, size: number, first = 0): Float64Array[] {
  const out: Float64Array[] = [];
  for (let i = 0; i < count; i++) out.push(buf.subarray((first + i) * size, (first + i + 1) * size));
  return out;
}

function buildWorkspace(config: ModelConfig, B: number, T: number, separatePass: boolean): Workspace {
  const cell = makeCell(config);
  const H = config.hiddenSize;
  const GH = gateBlocks(config.cell) * H;
  const D = directions(config);
  const DH = D * H;
  const O = config.outputSize;
  const I = config.inputSize;
  const BH = B * H;
  const lstm = cell.hasCell;
  const xT = new Float64Array(T * B * I);
  const outs = Array.from({ length: config.numLayers }, () => new Float64Array(T * B * DH));
  const layers: LayerDir[] = [];
  for (let layer = 0; layer < config.numLayers; layer++) {
    for (let d = 0; d < D; d++) {
      const gi = new Float64Array(T * B * GH);
      // Only a cell that reads gh after the step needs it kept for every step.
      const gh = new Float64Array((cell.readsGhLater ? T : 1) * B * GH);
      const act = new Float64Array(T * B * GH);
      const hs = new Float64Array((T + 2) * BH);
      const cs = new Float64Array(lstm ? (T + 2) * BH : 0);
      const tc = new Float64Array(lstm ? T * BH : 0);
      const empty = new Float64Array(0);
      const hSlots = views(hs, T + 2, BH);
      const cSlots = lstm ? views(cs, T + 2, BH) : [];
      const steps: StepState[] = [];
      for (let t = 0; t < T; t++) {
        const prev = d === 0 ? t : t + 2;
        steps.push({
          gi: gi.subarray(t * B * GH, (t + 1) * B * GH),
          gh: cell.readsGhLater ? gh.subarray(t * B * GH, (t + 1) * B * GH) : gh,
          act: act.subarray(t * B * GH, (t + 1) * B * GH),
          hPrev: hSlots[prev],
          h: hSlots[t + 1],
          cPrev: lstm ? cSlots[prev] : empty,
          c: lstm ? cSlots[t + 1] : empty,
          tc: lstm ? tc.subarray(t * BH, (t + 1) * BH) : empty,
        });
      }
      const dGi = new Float64Array(T * B * GH);
      const dGh = cell.separateHiddenGrad ? new Float64Array(T * B * GH) : dGi;
      const dH = new Float64Array(T * BH);
      const dC = new Float64Array(lstm ? T * BH : 0);
      const pGi = separatePass ? new Float64Array(T * B * GH) : dGi;
      const pGh = cell.separateHiddenGrad ? (separatePass ? new Float64Array(T * B * GH) : dGh) : pGi;
      const pH = separatePass ? new Float64Array(T * BH) : dH;
      const pC = separatePass && lstm ? new Float64Array(T * BH) : dC;
      const dCs = new Float64Array(lstm ? T * BH : 0);
      const pCs = separatePass && lstm ? new Float64Array(T * BH) : dCs;
      layers.push({
        layer,
        reverse: d === 1,
        d,
        inSize: layerInputSize(config, layer),
        names: layerParamNames(config, layer, d === 1),
        cellParams: { wci: null, wcf: null, wco: null },
        gi,
        gh,
        act,
        hs,
        cs,
        tc,
        steps,
        dGi,
        dGh,
        dH,
        dC,
        dCs,
        pGi,
        pGh,
        pH,
        pC,
        pCs,
        pGiT: views(pGi, T, B * GH),
        pGhT: views(pGh, T, B * GH),
        pHT: views(pH, T, BH),
        pCT: lstm ? views(pC, T, BH) : [],
        pCsT: lstm ? views(pCs, T, BH) : [],
        dGiT: views(dGi, T, B * GH),
        dGhT: views(dGh, T, B * GH),
        inT: views(layer === 0 ? xT : outs[layer - 1], T, B * layerInputSize(config, layer)),
        dhRec: new Float64Array(BH),
        dcRec: new Float64Array(BH),
        dcNext: new Float64Array(BH),
        grads: { dGi: empty, dGh: empty, dc: new Float64Array(BH), dcPrev: empty, dhPrev: empty },
        zeros: new Float64Array(BH),
        carryH: new Float64Array(BH),
        carryC: new Float64Array(BH),
      });
    }
  }
  const pjGi = new Float64Array(B * GH);
  const rng = new Rng(0x6a09e667);
  const start = new Float64Array(B * 2 * H);
  for (let k = 0; k < start.length; k++) start[k] = rng.normal();
  const dX = new Float64Array(T * B * I);
  return {
    key: workspaceKey(config, B, T, separatePass),
    config: { ...config },
    cell,
    B,
    T,
    H,
    GH,
    DH,
    layers,
    xT,
    outs,
    dOuts: Array.from({ length: config.numLayers }, () => new Float64Array(T * B * DH)),
    Y: new Float64Array(T * B * O),
    dY: new Float64Array(T * B * O),
    terms: new Float64Array(T),
    dX,
    pX: separatePass ? new Float64Array(T * B * I) : dX,
    separatePass,
    probe: {
      vh: new Float64Array(BH),
      vc: new Float64Array(BH),
      th: new Float64Array(BH),
      tc: new Float64Array(BH),
      uh: new Float64Array(BH),
      uc: new Float64Array(BH),
      dgh: new Float64Array(B * GH),
      grads: {
        dGi: pjGi,
        dGh: cell.separateHiddenGrad ? new Float64Array(B * GH) : pjGi,
        dc: new Float64Array(BH),
        dcPrev: new Float64Array(BH),
        dhPrev: new Float64Array(BH),
      },
      start,
      sigma: new Float64Array(B),
      seed: new Float64Array(B * DH),
      seedC: new Float64Array(B * DH),
      partWih: Array.from({ length: config.numLayers }, (_, l) => new Float64Array(GH * layerInputSize(config, l))),
      partWhh: new Float64Array(GH * H),
      partBih: new Float64Array(GH),
      partBhh: new Float64Array(GH),
      partPeep: new Float64Array(3 * H),
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
