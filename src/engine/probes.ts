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

import type { GateSpec } from './cells/cell';
import { addColumnSums, addInto, blockNorm, gemmAB, gemmABt, gemmAtB, gramRoutePays, gramScratch, norm2, stepWeightGradNorm, type GramScratch } from './linalg';
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
import { setStep, type EngineHooks } from './bptt';
import type { LayerDir, Workspace } from './workspace';

export const DEFAULT_JACOBIAN_ITERATIONS = 20;
/** Share of the fixed start vector mixed into the warm start of the power iteration (see jacobianNorms). */
const WARM_MIX = 1e-3;

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
    layerRecord(ws, ld, p.gates ?? true, stepNorms ? stepNorms[k] : [], p.jacobian ?? true, p.jacobianIterations ?? DEFAULT_JACOBIAN_ITERATIONS),
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
    itemized: p.itemized ? itemized(ws, onlyRows(injection ? injection.seed : headSeed(ws, model, batch), p.itemizedRows)) : null,
  };
  if (injection) record.directGradNorm = injection.directGradNorm;
  record.nonFinite = findNonFinite(ws, model, batch, record, grads, injection === null);
  return record;
}

/** Restricts the itemized matrix to the given rows s (the others stay zero rows, which the lag profile skips). */
function onlyRows(seed: ItemizedSeed, rows: readonly number[] | undefined): ItemizedSeed {
  if (!rows) return seed;
  const keep = new Set(rows);
  return (s, seedOut, seedState) => keep.has(s) && seed(s, seedOut, seedState);
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
 * seedOut [B][D*H] is ∂ℓ_s/∂(top layer output at s) (forward columns, then reverse);
 * seedState[d][p] [B][size] is ∂ℓ_s/∂(state part p of direction d at s) with the other
 * coordinates held (e.g. an injected final-state gradient; zero-length for held parts).
 * All arrive zeroed. Returns false when ℓ_s does not depend on the network (an unscored step).
 */
export type ItemizedSeed = (s: number, seedOut: Float64Array, seedState: Float64Array[][]) => boolean;

/** ℓ_s = the head's loss term of step s: ∂ℓ_s/∂out_s = dL/dy_s · W_y, nothing into the state. */
function headSeed(ws: Workspace, model: Model, batch: Batch): ItemizedSeed {
  const { B, DH } = ws;
  const O = batch.outputSize;
  const wy = param(model.params, HEAD_WEIGHT).data;
  return (s, seedOut) => {
    if (!isScored(batch, s)) return false;
    gemmAB(B, DH, O, ws.dY.subarray(s * B * O, (s + 1) * B * O), wy, seedOut);
    return true;
  };
}

// ---------------------------------------------------------------- per layer

function layerRecord(ws: Workspace, ld: LayerDir, gates: boolean, weightGradByStep: number[], jacobian: boolean, iterations: number): LayerRecord {
  const { B, T } = ws;
  const cell = ld.cell;
  const gradNormH: number[] = [];
  const gradNormC: number[] | null = cell.nodeC ? [] : null;
  const gradNormState: number[] = [];
  for (let t = 0; t < T; t++) {
    let state = 0;
    for (let p = 0; p < ld.parts.length; p++) if (!ld.parts[p].held) state = state === 0 ? ld.stateNorms[p][t] : Math.hypot(state, ld.stateNorms[p][t]);
    gradNormState.push(state);
    gradNormH.push(ld.outIdx >= 0 ? ld.stateNorms[ld.outIdx][t] : state);
    if (gradNormC) gradNormC.push(ld.nodeCNorms[t]);
  }
  const gateGradNorm: Record<string, number[]> = {};
  const gateMean: Record<string, number[]> = {};
  const gateSaturation: Record<string, number[]> = {};
  if (gates) {
    const cs = cell.cacheSize;
    const stats = { mean: 0, saturation: 0 };
    for (const gate of cell.gates) {
      const norms: number[] = [];
      const means: number[] = [];
      const sats: number[] = [];
      for (let t = 0; t < T; t++) {
        norms.push(blockNorm(ld.dProj, t * B * ld.P + gate.gradOffset, B, gate.width, ld.P));
        gateStatsAt(ld.cache, t * B * cs + gate.offset, B, gate.width, cs, gate.activation, stats);
        means.push(stats.mean);
        sats.push(stats.saturation);
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
    jacobianNorm: jacobian ? jacobianNorms(ws, ld, iterations) : null,
  };
}

/**
 * One gate's mean activation and saturated fraction at one step (B rows of `width` values,
 * rows `stride` apart), in one sweep. The mean adds the values in row order, one running sum.
 * The count adds comparisons as numbers (+(v < lo)) instead of branching on them: whether a
 * value is saturated is data-dependent, and the mispredicted branches made the sweep about
 * 2.7× slower. NaN counts as not saturated, as every comparison with it is false.
 */
export function gateStatsAt(cache: Float64Array, off: number, B: number, width: number, stride: number, activation: GateSpec['activation'], out: { mean: number; saturation: number }): void {
  let sum = 0;
  let saturated = 0;
  for (let b = 0; b < B; b++) {
    const o = off + b * stride;
    const end = o + width;
    if (activation === 'sigmoid') {
      for (let k = o; k < end; k++) {
        const v = cache[k];
        sum += v;
        saturated += +(v < 0.05) + +(v > 0.95);
      }
    } else if (activation === 'tanh') {
      for (let k = o; k < end; k++) {
        const v = cache[k];
        sum += v;
        saturated += +(Math.abs(v) > 0.9);
      }
    } else if (activation === 'relu') {
      for (let k = o; k < end; k++) {
        const v = cache[k];
        sum += v;
        saturated += +(v <= 0);
      }
    } else {
      // No saturation band for this activation: the fraction stays 0.
      for (let k = o; k < end; k++) sum += cache[k];
    }
  }
  out.mean = sum / (B * width);
  out.saturation = saturated === 0 ? 0 : saturated / (B * width); // 0, not NaN, for an empty block
}

/**
 * ‖part of ∂L/∂(W_in, b_in, W_hh, b_hh, own parameters) contributed at step t‖: the gradient
 * with respect to the copy of the weights that step t uses. The parts are added into
 * `grads` (the own parts were, step by step, by the backward pass), so the layer's gradient
 * is by construction their sum over t.
 */
export function weightGradByStep(ws: Workspace, ld: LayerDir, grads: ParamSet, hooks: EngineHooks | null): number[] {
  const { B, T } = ws;
  const sc = ws.probe;
  const cell = ld.cell;
  const { P, G, inSize: In } = ld;
  const win = sc.partWin.subarray(0, P * In);
  const bin = sc.partBin.subarray(0, P);
  const rec = cell.recurrent;
  const fromSize = rec ? ld.parts[ld.fromIdx].size : 0;
  const whh = sc.partWhh.subarray(0, G * fromSize);
  const bhh = sc.partBhh.subarray(0, G);
  const gWhh = rec ? param(grads, ld.names.get(rec.weight)!).data : null;
  const gBhh = rec && rec.bias !== null ? param(grads, ld.names.get(rec.bias)!).data : null;
  const biasRows = ld.blocks.every((b) => b.bias !== null);
  // Where each step's projection parts go: the block tensors' gradients (views per block).
  const targets = ld.blocks.map((b) => ({
    gw: param(grads, b.weight).data,
    gb: b.bias === null ? null : param(grads, b.bias).data,
    w: win.subarray(b.offset * In, (b.offset + b.rows) * In),
    b: bin.subarray(b.offset, b.offset + b.rows),
  }));
  const out: number[] = [];
  for (let t = 0; t < T; t++) {
    win.fill(0);
    bin.fill(0);
    gemmAtB(P, In, B, ld.dProjT[t], ld.inT[t], win);
    addColumnSums(B, P, ld.dProjT[t], bin);
    // Bias columns of blocks without a bias are not parameters: leave them out of the norm.
    let binNorm: number;
    if (biasRows) binNorm = norm2(bin);
    else {
      binNorm = 0;
      for (const b of ld.blocks) if (b.bias !== null) binNorm = Math.hypot(binNorm, norm2(bin, b.offset, b.rows));
    }
    let whhNorm = 0;
    let bhhNorm = 0;
    if (rec) {
      whh.fill(0);
      bhh.fill(0);
      const prev = ld.parts[ld.fromIdx].slotViews[ld.reverse ? t + 2 : t];
      gemmAtB(G, fromSize, B, ld.dRecT[t], prev, whh);
      addColumnSums(B, G, ld.dRecT[t], bhh);
      whhNorm = norm2(whh);
      if (gBhh) bhhNorm = norm2(bhh);
      addInto(gWhh!, whh);
      if (gBhh) addInto(gBhh, bhh);
    }
    let norm = Math.hypot(norm2(win), whhNorm, binNorm, bhhNorm);
    if (ld.ownNames.length > 0) norm = Math.hypot(norm, Math.sqrt(ld.ownStepSq[t]));
    for (const x of targets) {
      addInto(x.gw, x.w);
      if (x.gb) addInto(x.gb, x.b);
    }
    out.push(norm);
    if (hooks?.onWeightGradPart) reportWeightGradParts(ld, t, win, bin, whh, bhh, hooks.onWeightGradPart);
  }
  return out;
}

/**
 * weightGradByStep's norms without materialising each step's part, for layers whose step
 * part is [dW_ih | db_ih | dW_hh | db_hh] = [dProj_tᵀ U_t | Σ_b dProj_t | dRec_tᵀ h_{t−1} |
 * Σ_b dRec_t]: its squared norm comes from B×B Gram matrices (at B = 1, ‖dg‖·‖u‖), falling
 * back to the materialised part where that would lose digits (linalg.stepWeightGradNorm).
 * Returns null when the layer does not have that shape, when a test hook wants the parts, or
 * when the Gram route does not pay; the caller then builds the gradient from the parts
 * (weightGradByStep) instead of with one product over all steps.
 */
export function weightGradByStepNormsOnly(ws: Workspace, ld: LayerDir, hooks: EngineHooks | null): number[] | null {
  const { B, T } = ws;
  const rec = ld.cell.recurrent;
  if (hooks?.onWeightGradPart || rec === null || rec.bias === null || ld.P !== ld.G) return null;
  if (!ld.blocks.every((b) => b.bias !== null)) return null;
  const H = ld.parts[ld.fromIdx].size;
  const { P, inSize: In } = ld;
  if (!gramRoutePays(B, P, In, H)) return null;
  const sc = ws.probe as typeof ws.probe & { gram?: GramScratch };
  if (!sc.gram || sc.gram.gi.length !== B * B) sc.gram = gramScratch(B);
  const parts = { wih: sc.partWin.subarray(0, P * In), whh: sc.partWhh.subarray(0, P * H), bih: sc.partBin.subarray(0, P), bhh: sc.partBhh.subarray(0, P) };
  const slots = ld.parts[ld.fromIdx].slotViews;
  const shared = ld.dRec === ld.dProj;
  const out: number[] = [];
  for (let t = 0; t < T; t++) {
    const dGi = ld.dProjT[t];
    let norm = stepWeightGradNorm({ B, GH: P, inSize: In, H, dGi, dGh: shared ? dGi : ld.dRecT[t], input: ld.inT[t], hPrev: slots[ld.reverse ? t + 2 : t] }, sc.gram, parts);
    if (ld.ownNames.length > 0) norm = Math.hypot(norm, Math.sqrt(ld.ownStepSq[t]));
    out.push(norm);
  }
  return out;
}

/** Test hook: copies of step t's parts under their parameter names. */
function reportWeightGradParts(
  ld: LayerDir,
  t: number,
  win: Float64Array,
  bin: Float64Array,
  whh: Float64Array,
  bhh: Float64Array,
  report: NonNullable<EngineHooks['onWeightGradPart']>,
): void {
  const In = ld.inSize;
  const rec = ld.cell.recurrent;
  const parts = new Map<string, Float64Array>();
  for (const b of ld.blocks) {
    parts.set(b.weight, win.slice(b.offset * In, (b.offset + b.rows) * In));
    if (b.bias !== null) parts.set(b.bias, bin.slice(b.offset, b.offset + b.rows));
  }
  if (rec) {
    parts.set(ld.names.get(rec.weight)!, whh.slice());
    if (rec.bias !== null) parts.set(ld.names.get(rec.bias)!, bhh.slice());
  }
  ld.ownNames.forEach((name, i) => parts.set(name, ld.ownPartsByStep?.[t]?.[i] ?? new Float64Array(0)));
  report(ld.layer, ld.reverse ? 'reverse' : 'forward', t, parts);
}

// ---------------------------------------------------------------- state-gradient steps

/** ‖row b of the state (every part not held constant)‖. */
function rowNorm(ld: LayerDir, parts: Float64Array[], b: number): number {
  let n = 0;
  for (let p = 0; p < ld.parts.length; p++) {
    const part = ld.parts[p];
    if (part.held) continue;
    const r = norm2(parts[p], b * part.size, part.size);
    n = n === 0 ? r : Math.hypot(n, r);
  }
  return n;
}

/** ‖the whole state gradient (every part not held constant)‖. */
function stateNorm(ld: LayerDir, parts: Float64Array[]): number {
  let n = 0;
  for (let p = 0; p < ld.parts.length; p++) {
    if (ld.parts[p].held) continue;
    const r = norm2(parts[p]);
    n = n === 0 ? r : Math.hypot(n, r);
  }
  return n;
}

/**
 * One backward step at t for the probes: dState (written) and dPrev (written: the whole
 * ∂/∂s_{t-1}, incl. the W_hh path) from dOut and dNext; no parameter gradients.
 */
function stateBackward(ws: Workspace, ld: LayerDir, t: number, dOut: Float64Array, dNext: Float64Array[], dState: Float64Array[], dPrev: Float64Array[]): void {
  const sc = ws.probe;
  const io = ld.jio;
  const cell = ld.cell;
  setStep(ws, ld, t, io);
  io.dOut = dOut;
  io.dNext = dNext;
  io.dState = dState;
  io.dPrev = dPrev;
  io.dProj = sc.dProj.subarray(0, ws.B * ld.P);
  io.dRec = cell.recShared ? io.dProj : sc.dRec;
  io.dOwn = [];
  io.wantOwn = false;
  io.dNodeC = sc.dNodeC;
  cell.backward(io);
  if (cell.recurrent) gemmAB(ws.B, ld.parts[ld.fromIdx].size, ld.G, io.dRec, ld.w.whh, dPrev[ld.fromIdx]);
}

// ---------------------------------------------------------------- Jacobian

/**
 * jacobianNorm[t] = mean over the batch of σ_max(∂s_t/∂s_{t-1}) over the cell's whole state
 * (every part not held constant), by power iteration on JᵀJ with Jacobian-vector products
 * (the cell's jvp) and vector-Jacobian products (its backward step), one independent vector
 * per batch element. The estimate ‖J v‖ with ‖v‖ = 1 approaches σ_max from below. Each step
 * starts from the previous step's vector (Jacobians of neighbouring steps are alike, so few
 * iterations are needed) and stops after `iterations` rounds or once every estimate has
 * stopped moving (relative change ≤ 1e-13).
 */
function jacobianNorms(ws: Workspace, ld: LayerDir, iterations: number): number[] {
  const { B, T } = ws;
  const sc = ws.probe;
  const cell = ld.cell;
  const { v, tOut, u, dState, sigma } = sc;
  const io = ld.jio;
  const from = ld.fromIdx;
  const out: number[] = [];
  const jvp = (t: number): void => {
    setStep(ws, ld, t, io);
    io.v = v;
    io.tOut = tOut;
    if (cell.recurrent) {
      io.dRecV = sc.dRecV;
      sc.dRecV.fill(0);
      gemmABt(B, ld.G, ld.parts[from].size, v[from], ld.w.whh, sc.dRecV);
    } else io.dRecV = sc.dRecV.subarray(0, 0);
    cell.jvp(io);
  };
  const zeroOut = sc.zeroOut;
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) {
      const n = rowNorm(ld, v, b);
      // Warm start from step t-1's unit vector, with a little of the fixed start vector mixed
      // in: a diagonal Jacobian (mingru, lru, s6, indrnn, …) drives every other coordinate of
      // the converged vector to exactly 0 (underflow), and power iteration could then never
      // find a new top direction at step t (or would stay at 0 where a relu unit died).
      const warm = t > 0 && n > 0 && Number.isFinite(n);
      let off = 0;
      ld.parts.forEach((part, p) => {
        if (part.held) return;
        for (let j = 0; j < part.size; j++) {
          const fresh = sc.start[b * sc.startStride + off + j];
          const k = b * part.size + j;
          v[p][k] = warm ? v[p][k] / n + WARM_MIX * fresh : fresh;
        }
        off += part.size;
      });
    }
    normalizeRows(ld, v, v, B);
    sigma.fill(-1);
    for (let k = 0; ; k++) {
      jvp(t);
      let settled = true;
      for (let b = 0; b < B; b++) {
        const est = rowNorm(ld, tOut, b);
        if (!(Math.abs(est - sigma[b]) <= 1e-13 * est)) settled = false;
        sigma[b] = est;
      }
      if (settled || k === iterations) break;
      // u = Jᵀ (J v): the backward step with dL/ds_t = J v and nothing from the output.
      stateBackward(ws, ld, t, zeroOut, tOut, dState, u);
      normalizeRows(ld, u, v, B);
    }
    let sum = 0;
    for (let b = 0; b < B; b++) sum += sigma[b];
    out.push(sum / B);
  }
  return out;
}

/** Rows of `src` (all parts) scaled to unit norm into `dst`; a zero or non-finite row becomes zero. */
function normalizeRows(ld: LayerDir, src: Float64Array[], dst: Float64Array[], B: number): void {
  for (let b = 0; b < B; b++) {
    const n = rowNorm(ld, src, b);
    const ok = n > 0 && Number.isFinite(n);
    ld.parts.forEach((part, p) => {
      if (part.held) return;
      const o = b * part.size;
      // Dividing (not multiplying by 1/n) stays exact-ish even when 1/n would overflow.
      for (let j = 0; j < part.size; j++) dst[p][o + j] = ok ? src[p][o + j] / n : 0;
    });
  }
}

// ---------------------------------------------------------------- itemized

/**
 * itemized[s][k] = ‖∂ℓ_s/∂s_k‖ for k ≤ s, s_k the top layer's whole state. Each step's ℓ_s
 * (see ItemizedSeed) is backpropagated alone through the top layer (O(T²) steps); rows whose
 * ℓ_s does not depend on the network are 0. For a bidirectional top layer s_k is the pair
 * (forward state, reverse state); the reverse state at k < s is formed after the one at s and
 * does not influence ℓ_s, so only k = s gets the reverse part.
 */
function itemized(ws: Workspace, seedAt: ItemizedSeed): number[][] {
  const { B, T, H, DH } = ws;
  const L = ws.config.numLayers;
  const D = ws.config.bidirectional ? 2 : 1;
  const fwd = ws.layers[(L - 1) * D];
  const sc = ws.probe;
  const rows: number[][] = [];
  const dOut = sc.dOut;
  const seedDir = (d: number): void => {
    for (let b = 0; b < B; b++) for (let j = 0; j < H; j++) dOut[b * H + j] = sc.seed[b * DH + d * H + j];
  };
  let dNext = sc.dNext;
  let dPrev = sc.dPrev;
  for (let s = 0; s < T; s++) {
    const row = new Array<number>(s + 1).fill(0);
    rows.push(row);
    sc.seed.fill(0);
    for (const dir of sc.seedState) for (const g of dir) g.fill(0);
    if (!seedAt(s, sc.seed, sc.seedState)) continue;
    let reversePart = 0;
    if (D === 2) {
      const rev = ws.layers[(L - 1) * D + 1];
      seedDir(1);
      stateBackward(ws, rev, s, dOut, sc.seedState[1], sc.dState, sc.u);
      reversePart = stateNorm(rev, sc.dState);
    }
    seedDir(0);
    sc.seedState[0].forEach((g, p) => dNext[p].set(g));
    for (let k = s; k >= 0; k--) {
      stateBackward(ws, fwd, k, k === s ? dOut : sc.zeroOut, dNext, sc.dState, dPrev);
      const here = stateNorm(fwd, sc.dState);
      row[k] = k === s && D === 2 ? Math.hypot(here, reversePart) : here;
      [dNext, dPrev] = [dPrev, dNext];
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
  const { B, T } = ws;
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
    for (const part of ld.parts) {
      const n = B * part.size;
      const k = firstNonFinite(part.slots.subarray(n, (T + 1) * n));
      if (k >= 0) return { quantity: part.name, layer: ld.layer, t: Math.floor(k / n), value: part.slots[n + k] };
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
      ['gradNormState', lr.gradNormState ?? null],
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
