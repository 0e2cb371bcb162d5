// Probes (design §3). They hook the time loop's stored values, not the cells: everything
// here reads the workspace after the forward and backward passes of bptt.ts.
//
// Conventions:
// - Norms are Euclidean over the whole batch tensor, computed with scaling (linalg.ts) so
//   that tiny (1e-300) and huge gradients are reported, not flushed to 0 or Infinity.
// - gateSaturation: sigmoid gates count units with σ < .05 or σ > .95; tanh gates count
//   |tanh| > .9 (the same thing: tanh(x) = 2σ(2x) − 1); a relu RNN counts dead units
//   (pre-activation ≤ 0, zero gradient); an identity gate (LSTM `niaf`) never saturates.
// - Gates recorded are the ones the variant has: e.g. `cifg` has no f (f = 1 − i), `nog` no o.
// - State s = h, or (h, c) jointly for the LSTM family, as independent coordinates:
//   jacobianNorm and itemized are about the state map (h_{t-1}, c_{t-1}) -> (h_t, c_t),
//   so ∂ℓ/∂c_k there holds h_k fixed. (gradNormC is the node gradient: it includes the
//   path through h_t = o ⊙ tanh(c_t).) gradNormState is ‖∂L/∂s_t‖ in the same sense.
// - itemized has T rows (row s of length s+1); an unscored step has ℓ_s = 0 and a zero row
//   (many-to-one: every row but the last). It is the exact derivative even under truncated
//   BPTT: it describes how far the dependence reaches, not what the truncation keeps.
//   For a bidirectional top layer s_k is the pair (forward state, reverse state); the
//   reverse state at k < s does not influence ℓ_s, so only k = s gets its part.
// - jacobianIterations is an upper bound: the power iteration stops early once converged.

import { addPeepholeGrads, type GateInfo } from './cells';
import { addColumnSums, addInto, blockNorm, gemmAB, gemmABt, gemmAtB, norm2 } from './linalg';
import { isScored } from './loss';
import { HEAD_WEIGHT, param } from './model';
import {
  ITEMIZED_MAX_STEPS,
  type Batch,
  type LayerRecord,
  type Model,
  type NonFinite,
  type ParamSet,
  type PassOptions,
  type PassRecord,
} from './types';
import type { EngineHooks } from './bptt';
import type { LayerDir, Workspace } from './workspace';

export const DEFAULT_JACOBIAN_ITERATIONS = 20;

/** Throws before any work when the itemized matrix is requested for too long a sequence. */
export function checkItemizedCap(options: PassOptions, T: number): void {
  const p = options.probes;
  if (!p?.itemized) return;
  const cap = p.itemizedMaxSteps ?? ITEMIZED_MAX_STEPS;
  if (T > cap) {
    throw new Error(
      `itemized gradient is O(T²) and capped at itemizedMaxSteps = ${cap} steps (ITEMIZED_MAX_STEPS = ${ITEMIZED_MAX_STEPS}); this batch has T = ${T}. Turn itemized off or raise the cap.`,
    );
  }
}

export function buildRecord(
  ws: Workspace,
  model: Model,
  batch: Batch,
  options: PassOptions,
  loss: number,
  globalNorm: number,
  grads: ParamSet,
  stepNorms: number[][] | null,
  injection: RecordInjection | null = null,
): PassRecord {
  const p = options.probes ?? {};
  const layers = ws.layers.map((ld, k) =>
    layerRecord(ws, model, ld, p.gates ?? true, stepNorms ? stepNorms[k] : [], p.jacobian ?? true, p.jacobianIterations ?? DEFAULT_JACOBIAN_ITERATIONS),
  );
  const I = batch.inputSize;
  const BI = ws.B * I;
  const inputGradNorm: number[] = [];
  for (let t = 0; t < ws.T; t++) inputGradNorm.push(norm2(ws.dX, t * BI, BI));
  const record: PassRecord = {
    timesteps: ws.T,
    layers,
    inputGradNorm,
    loss,
    globalGradNorm: globalNorm,
    clippedGradNorm: globalNorm,
    nonFinite: null,
    itemized: p.itemized ? itemized(ws, model, onlyRows(injection ? injection.seed : headSeed(ws, model, batch), p.itemizedRows)) : null,
  };
  if (injection) record.directGradNorm = injection.directGradNorm;
  record.nonFinite = findNonFinite(ws, model, batch, record, grads, injection === null);
  return record;
}

/** Restricts the itemized matrix to the given rows s (the others stay zero rows, which the lag profile skips). */
function onlyRows(seed: ItemizedSeed, rows: readonly number[] | undefined): ItemizedSeed {
  if (!rows) return seed;
  const keep = new Set(rows);
  return (s, seedH, seedC) => keep.has(s) && seed(s, seedH, seedC);
}

/**
 * What the injected-gradient pass (inject.ts) adds to a record: ℓ_s for the itemized
 * matrix (its `seed`) and directGradNorm. Without it, ℓ_s is the head's loss term.
 */
export interface RecordInjection {
  seed: ItemizedSeed;
  directGradNorm: number[];
}

/**
 * The gradient that ℓ_s sends into the top layer at step s, as if it were the only loss:
 * seedH [B][D*H] is ∂ℓ_s/∂(top output at s) (forward columns, then reverse), seedC [B][D*H]
 * the same for the cell states (LSTM; ∂ℓ_s/∂c_s with h_s held fixed). Both arrive zeroed.
 * Returns false when ℓ_s does not depend on the network (an unscored step).
 */
export type ItemizedSeed = (s: number, seedH: Float64Array, seedC: Float64Array) => boolean;

/** ℓ_s = the head's loss term of step s: ∂ℓ_s/∂h_s = dL/dy_s · W_y, nothing into c. */
function headSeed(ws: Workspace, model: Model, batch: Batch): ItemizedSeed {
  const { B, DH } = ws;
  const O = batch.outputSize;
  const wy = param(model.params, HEAD_WEIGHT).data;
  return (s, seedH) => {
    if (!isScored(batch, s)) return false;
    gemmAB(B, DH, O, ws.dY.subarray(s * B * O, (s + 1) * B * O), wy, seedH);
    return true;
  };
}

// ---------------------------------------------------------------- per layer

function layerRecord(
  ws: Workspace,
  model: Model,
  ld: LayerDir,
  gates: boolean,
  weightGradByStep: number[],
  jacobian: boolean,
  iterations: number,
): LayerRecord {
  const { B, T, H, GH, cell } = ws;
  const BH = B * H;
  const gradNormH: number[] = [];
  const gradNormC: number[] | null = cell.hasCell ? [] : null;
  const gradNormState: number[] | null = cell.hasCell ? [] : null;
  for (let t = 0; t < T; t++) {
    const nh = norm2(ld.dH, t * BH, BH);
    gradNormH.push(nh);
    if (gradNormC) gradNormC.push(norm2(ld.dC, t * BH, BH));
    if (gradNormState) gradNormState.push(Math.hypot(nh, norm2(ld.dCs, t * BH, BH)));
  }
  const gateGradNorm: Record<string, number[]> = {};
  const gateMean: Record<string, number[]> = {};
  const gateSaturation: Record<string, number[]> = {};
  if (gates) {
    for (const gate of cell.gates) {
      const norms: number[] = [];
      const means: number[] = [];
      const sats: number[] = [];
      for (let t = 0; t < T; t++) {
        const off = t * B * GH + gate.block * H;
        norms.push(blockNorm(ld.dGi, off, B, H, GH));
        means.push(gateMeanAt(ld.act, off, B, H, GH));
        sats.push(gateSaturationAt(ld.act, off, B, H, GH, gate));
      }
      gateGradNorm[gate.name] = norms;
      gateMean[gate.name] = means;
      gateSaturation[gate.name] = sats;
    }
  }
  return {
    layer: ld.layer,
    direction: ld.reverse ? 'reverse' : 'forward',
    gradNormH,
    gradNormC,
    gradNormState,
    gateGradNorm,
    gateMean,
    gateSaturation,
    weightGradByStep,
    jacobianNorm: jacobian ? jacobianNorms(ws, model, ld, iterations) : null,
  };
}

function gateMeanAt(act: Float64Array, off: number, B: number, H: number, stride: number): number {
  let sum = 0;
  for (let b = 0; b < B; b++) for (let j = 0; j < H; j++) sum += act[off + b * stride + j];
  return sum / (B * H);
}

function gateSaturationAt(act: Float64Array, off: number, B: number, H: number, stride: number, gate: GateInfo): number {
  if (gate.activation === 'identity') return 0;
  let saturated = 0;
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < H; j++) {
      const v = act[off + b * stride + j];
      if (gate.activation === 'sigmoid' ? v < 0.05 || v > 0.95 : gate.activation === 'tanh' ? Math.abs(v) > 0.9 : v <= 0) saturated++;
    }
  }
  return saturated / (B * H);
}

/**
 * ‖part of ∂L/∂(W_ih, W_hh, b_ih, b_hh[, peepholes]) contributed at step t‖: the gradient
 * with respect to the copy of the weights that step t uses. The parts are added into
 * `grads`, so the layer's gradient is by construction their sum over t.
 */
export function weightGradByStep(ws: Workspace, ld: LayerDir, grads: ParamSet, hooks: EngineHooks | null): number[] {
  const { B, T, H, GH } = ws;
  const sc = ws.probe;
  const In = ld.inSize;
  const n = ld.names;
  const peep = n.peepholes;
  const wih = sc.partWih[ld.layer];
  const { partWhh: whh, partBih: bih, partBhh: bhh, partPeep } = sc;
  const ci = partPeep.subarray(0, H);
  const cf = partPeep.subarray(H, 2 * H);
  const co = partPeep.subarray(2 * H, 3 * H);
  const gWih = param(grads, n.weightIh).data;
  const gWhh = param(grads, n.weightHh).data;
  const gBih = param(grads, n.biasIh).data;
  const gBhh = param(grads, n.biasHh).data;
  const gPeep = peep ? [param(grads, peep.ci).data, param(grads, peep.cf).data, param(grads, peep.co).data] : [];
  const out: number[] = [];
  for (let t = 0; t < T; t++) {
    const st = ld.steps[t];
    wih.fill(0);
    whh.fill(0);
    bih.fill(0);
    bhh.fill(0);
    gemmAtB(GH, In, B, ld.dGiT[t], ld.inT[t], wih);
    gemmAtB(GH, H, B, ld.dGhT[t], st.hPrev, whh);
    addColumnSums(B, GH, ld.dGiT[t], bih);
    addColumnSums(B, GH, ld.dGhT[t], bhh);
    let norm = Math.hypot(norm2(wih), norm2(whh), norm2(bih), norm2(bhh));
    addInto(gWih, wih);
    addInto(gWhh, whh);
    addInto(gBih, bih);
    addInto(gBhh, bhh);
    if (peep) {
      partPeep.fill(0);
      addPeepholeGrads(st, ld.dGi, t * B * GH, B, H, ci, cf, co);
      norm = Math.hypot(norm, norm2(partPeep));
      addInto(gPeep[0], ci);
      addInto(gPeep[1], cf);
      addInto(gPeep[2], co);
    }
    out.push(norm);
    if (hooks?.onWeightGradPart) {
      const parts = new Map<string, Float64Array>([
        [n.weightIh, wih.slice()],
        [n.weightHh, whh.slice()],
        [n.biasIh, bih.slice()],
        [n.biasHh, bhh.slice()],
      ]);
      if (peep) {
        parts.set(peep.ci, ci.slice());
        parts.set(peep.cf, cf.slice());
        parts.set(peep.co, co.slice());
      }
      hooks.onWeightGradPart(ld.layer, ld.reverse ? 'reverse' : 'forward', t, parts);
    }
  }
  return out;
}

// ---------------------------------------------------------------- Jacobian

/** Norm of row b of the state (h, and c when the cell has one). */
function stateNorm(h: Float64Array, c: Float64Array, b: number, H: number, hasCell: boolean): number {
  const nh = norm2(h, b * H, H);
  return hasCell ? Math.hypot(nh, norm2(c, b * H, H)) : nh;
}

/**
 * jacobianNorm[t] = mean over the batch of σ_max(∂s_t/∂s_{t-1}), by power iteration on
 * JᵀJ with Jacobian-vector products (jvp) and vector-Jacobian products (the cell's
 * backward step), one independent vector per batch element. The estimate ‖J v‖ with ‖v‖ = 1
 * approaches σ_max from below. Each step starts from the previous step's vector (Jacobians
 * of neighbouring steps are alike, so few iterations are needed) and stops after
 * `iterations` rounds or once every estimate has stopped moving (relative change ≤ 1e-13).
 */
function jacobianNorms(ws: Workspace, model: Model, ld: LayerDir, iterations: number): number[] {
  const { B, T, H, GH, cell } = ws;
  const sc = ws.probe;
  const whh = param(model.params, ld.names.weightHh).data;
  const { vh, vc, th, tc, uh, uc, dgh, grads, sigma } = sc;
  grads.dcPrev = uc;
  grads.dhPrev = uh;
  const lstm = cell.hasCell;
  const out: number[] = [];
  const jvp = (t: number): void => {
    dgh.fill(0);
    gemmABt(B, GH, H, vh, whh, dgh);
    cell.jvp(ld.steps[t], ld.cellParams, B, H, vh, vc, dgh, th, tc);
  };
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) {
      const n = stateNorm(vh, vc, b, H, lstm);
      if (t > 0 && n > 0 && Number.isFinite(n)) continue; // warm start from step t-1
      for (let j = 0; j < H; j++) {
        vh[b * H + j] = sc.start[b * 2 * H + j];
        vc[b * H + j] = lstm ? sc.start[b * 2 * H + H + j] : 0;
      }
    }
    normalizeRows(vh, vc, vh, vc, B, H, lstm);
    sigma.fill(-1);
    for (let k = 0; ; k++) {
      jvp(t);
      let settled = true;
      for (let b = 0; b < B; b++) {
        const est = stateNorm(th, tc, b, H, lstm);
        if (!(Math.abs(est - sigma[b]) <= 1e-13 * est)) settled = false;
        sigma[b] = est;
      }
      if (settled || k === iterations) break;
      // u = Jᵀ (J v): the backward step with dL/dh_t = th, dL/dc_t = tc.
      cell.backward(ld.steps[t], ld.cellParams, B, H, th, tc, grads);
      gemmAB(B, H, GH, grads.dGh, whh, uh);
      normalizeRows(uh, uc, vh, vc, B, H, lstm);
    }
    let sum = 0;
    for (let b = 0; b < B; b++) sum += sigma[b];
    out.push(sum / B);
  }
  return out;
}

/** (dh, dc) rows scaled to unit norm into (vh, vc); a zero or non-finite row becomes zero. */
function normalizeRows(uh: Float64Array, uc: Float64Array, vh: Float64Array, vc: Float64Array, B: number, H: number, lstm: boolean): void {
  for (let b = 0; b < B; b++) {
    const n = stateNorm(uh, uc, b, H, lstm);
    const ok = n > 0 && Number.isFinite(n);
    // Dividing (not multiplying by 1/n) stays exact-ish even when 1/n would overflow.
    for (let j = 0; j < H; j++) {
      vh[b * H + j] = ok ? uh[b * H + j] / n : 0;
      vc[b * H + j] = ok && lstm ? uc[b * H + j] / n : 0;
    }
  }
}

// ---------------------------------------------------------------- itemized

/**
 * itemized[s][k] = ‖∂ℓ_s/∂s_k‖ for k ≤ s, s_k the top layer's state. Each step's ℓ_s (see
 * ItemizedSeed) is backpropagated alone through the top layer (O(T²) steps); rows whose ℓ_s
 * does not depend on the network are 0.
 */
function itemized(ws: Workspace, model: Model, seedAt: ItemizedSeed): number[][] {
  const { B, T, H, GH, DH, cell } = ws;
  const L = ws.config.numLayers;
  const D = ws.config.bidirectional ? 2 : 1;
  const fwd = ws.layers[(L - 1) * D];
  const whh = param(model.params, fwd.names.weightHh).data;
  const sc = ws.probe;
  const { grads } = sc;
  const lstm = cell.hasCell;
  const rows: number[][] = [];
  // Ping-pong buffers for (dh, dc) going back in time.
  let dh = sc.vh;
  let dc = sc.vc;
  let dhNext = sc.uh;
  let dcNext = sc.uc;
  for (let s = 0; s < T; s++) {
    const row = new Array<number>(s + 1).fill(0);
    rows.push(row);
    sc.seed.fill(0);
    sc.seedC.fill(0);
    if (!seedAt(s, sc.seed, sc.seedC)) continue;
    const reversePart = D === 2 ? Math.hypot(blockNorm(sc.seed, H, B, H, DH), lstm ? blockNorm(sc.seedC, H, B, H, DH) : 0) : 0;
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < H; j++) {
        dh[b * H + j] = sc.seed[b * DH + j];
        dc[b * H + j] = sc.seedC[b * DH + j];
      }
    }
    for (let k = s; k >= 0; k--) {
      const nh = norm2(dh);
      const here = lstm ? Math.hypot(nh, norm2(dc)) : nh;
      row[k] = k === s && D === 2 ? Math.hypot(here, reversePart) : here;
      if (k === 0) break;
      grads.dhPrev = dhNext;
      grads.dcPrev = dcNext;
      cell.backward(fwd.steps[k], fwd.cellParams, B, H, dh, dc, grads);
      gemmAB(B, H, GH, grads.dGh, whh, dhNext);
      [dh, dhNext] = [dhNext, dh];
      [dc, dcNext] = [dcNext, dc];
    }
  }
  return rows;
}

// ---------------------------------------------------------------- non-finite values

function firstNonFinite(x: ArrayLike<number>): number {
  for (let k = 0; k < x.length; k++) if (!Number.isFinite(x[k])) return k;
  return -1;
}

/**
 * The first non-finite quantity met, in the order the pass computes them: params, x, the
 * states h/c (layer by layer, in time order), the head output y, loss, then the recorded
 * gradient series and the parameter gradients (`grads`). Never throws.
 */
function findNonFinite(ws: Workspace, model: Model, batch: Batch, record: PassRecord, grads: ParamSet, head: boolean): NonFinite | null {
  const { B, T, H } = ws;
  const BH = B * H;
  for (const [name, tensor] of model.params) {
    const k = firstNonFinite(tensor.data);
    if (k >= 0) {
      const m = /_l(\d+)/.exec(name);
      return { quantity: 'params', layer: m ? Number(m[1]) : null, t: null, value: tensor.data[k] };
    }
  }
  const I = batch.inputSize;
  const kx = firstNonFinite(batch.x);
  if (kx >= 0) return { quantity: 'x', layer: null, t: Math.floor(kx / I) % T, value: batch.x[kx] };
  for (const ld of ws.layers) {
    for (const [quantity, buf] of [['h', ld.hs], ['c', ld.cs]] as const) {
      if (buf.length === 0) continue;
      const k = firstNonFinite(buf.subarray(BH, (T + 1) * BH));
      if (k >= 0) return { quantity, layer: ld.layer, t: Math.floor(k / BH), value: buf[BH + k] };
    }
  }
  const O = batch.outputSize;
  const ky = head ? firstNonFinite(ws.Y) : -1;
  if (ky >= 0) return { quantity: 'y', layer: null, t: Math.floor(ky / (B * O)), value: ws.Y[ky] };
  if (!Number.isFinite(record.loss)) return { quantity: 'loss', layer: null, t: null, value: record.loss };
  for (const lr of record.layers) {
    const series: Array<[string, number[] | null]> = [
      ['gradNormH', lr.gradNormH],
      ['gradNormC', lr.gradNormC],
      ...Object.values(lr.gateGradNorm).map((v): [string, number[]] => ['gateGradNorm', v]),
      ['weightGradByStep', lr.weightGradByStep],
      ['jacobianNorm', lr.jacobianNorm],
    ];
    for (const [quantity, values] of series) {
      if (!values) continue;
      // Gradients flow backward in time: the first one met is the latest step.
      for (let t = values.length - 1; t >= 0; t--) {
        if (!Number.isFinite(values[t])) return { quantity, layer: lr.layer, t, value: values[t] };
      }
    }
  }
  for (let t = record.inputGradNorm.length - 1; t >= 0; t--) {
    const v = record.inputGradNorm[t];
    if (!Number.isFinite(v)) return { quantity: 'inputGradNorm', layer: null, t, value: v };
  }
  for (const [name, tensor] of grads) {
    const k = firstNonFinite(tensor.data);
    if (k >= 0) {
      const m = /_l(\d+)/.exec(name);
      return { quantity: 'grads', layer: m ? Number(m[1]) : null, t: null, value: tensor.data[k] };
    }
  }
  if (!Number.isFinite(record.globalGradNorm)) return { quantity: 'globalGradNorm', layer: null, t: null, value: record.globalGradNorm };
  return null;
}
