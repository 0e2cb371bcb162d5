// Diagnosis of gradient flow through time (design §4): the lag profile, its decay per
// step, the horizon, and a verdict that names the numbers behind it.
//
// Formulas (k = lag, T = timesteps, s_t = recurrent state of the top layer, forward
// direction: h_t, or (h_t, c_t) jointly for the LSTM family so the cell path counts):
//   lag profile, many-to-one:  p(k) = ‖∂L/∂s_{T-1-k}‖ = gradNormState (LSTM) or gradNormH at
//                              t = T-1-k: the same quantity as itemized[T-1][T-1-k]
//   lag profile, many-to-many: p(k) = mean over s ≥ k of itemized[s][s-k] / itemized[s][s]
//                              (RNNbow's itemized gradient; without it we fall back to the
//                              many-to-one formula on the total gradient and say so)
//   decay per step:            ρ = exp(slope of the least-squares line through (k, ln p(k))),
//                              over the finite, positive points
//   horizon(ε):                smallest k from which p stays below ε·p(0) at every larger lag
//                              (p(j) < ε·p(0) for all j ≥ k); null when the last lag is not
//                              below. A profile that dips below and recovers (the LSTM's cell
//                              path, gates that close and reopen) is not cut at the first dip;
//                              the evidence says where it dipped and how far it came back.
//   verdict:  exploding  if any value is non-finite, or max_k p(k)/p(0) ≥ explodeGrowth, or the
//                        pre-clip gradient norm grew ≥ explodeGrowth× over training (median of
//                        the last quarter of iterations / median of the first quarter)
//             vanishing  if horizon(vanishEpsilon) lies within the sequence, or p(0) = 0
//             healthy    otherwise
//   ρ > 1+δ or ρ < 1−δ is reported as supporting evidence (and projected to a horizon).

import type { CellKind, LayerRecord, Mode, PassRecord } from '../engine/types';
import { fmt } from './format';
import type { Diagnosis, DiagnosisThresholds, Verdict } from './types';

export { fmt };

export const DEFAULT_THRESHOLDS: DiagnosisThresholds = {
  explodeGrowth: 10,
  vanishEpsilon: 1e-3,
  rhoDelta: 0.02,
};

export function resolveThresholds(partial?: Partial<DiagnosisThresholds>): DiagnosisThresholds {
  return { ...DEFAULT_THRESHOLDS, ...(partial ?? {}) };
}

export type LagProfileSource = 'state' | 'itemized' | 'state-fallback';

export interface LagProfile {
  profile: number[];
  source: LagProfileSource;
}

/** The top layer's forward-direction record (the one the readout reads from last in time). */
export function topForwardLayer(layers: LayerRecord[]): LayerRecord | null {
  let best: LayerRecord | null = null;
  for (const l of layers) {
    if (l.direction !== 'forward') continue;
    if (best === null || l.layer > best.layer) best = l;
  }
  return best;
}

/**
 * ‖∂L/∂s_t‖ per t for one layer: h alone, or (h, c) jointly for the LSTM family
 * (gradNormState, c taken with h_t held fixed). Records written before gradNormState
 * existed fall back to hypot(gradNormH, gradNormC), which counts the path c_t -> h_t twice.
 */
export function stateGradNorms(layer: LayerRecord): number[] {
  if (layer.gradNormState) return layer.gradNormState.slice();
  const c = layer.gradNormC;
  return layer.gradNormH.map((h, t) => (c ? Math.sqrt(h * h + c[t]! * c[t]!) : Math.abs(h)));
}

/**
 * p(k) for k = 0..T-1. `cell` is accepted for the record's sake: the LSTM's cell path is
 * included whenever the layer carries gradNormC, which is exactly the LSTM family.
 */
export function lagProfile(record: PassRecord, mode: Mode, _cell?: CellKind): LagProfile {
  if (mode === 'many-to-many' && record.itemized && record.itemized.length > 0) {
    return { profile: itemizedLagProfile(record.itemized), source: 'itemized' };
  }
  const top = topForwardLayer(record.layers);
  if (!top) return { profile: [], source: mode === 'many-to-many' ? 'state-fallback' : 'state' };
  const norms = stateGradNorms(top);
  const T = norms.length;
  const profile = new Array<number>(T);
  for (let k = 0; k < T; k++) profile[k] = norms[T - 1 - k]!;
  return { profile, source: mode === 'many-to-many' ? 'state-fallback' : 'state' };
}

/** mean over s of itemized[s][s-k] / itemized[s][s]; rows whose diagonal is 0 carry no information and are skipped. */
export function itemizedLagProfile(itemized: number[][]): number[] {
  const T = itemized.length;
  const profile: number[] = [];
  for (let k = 0; k < T; k++) {
    let sum = 0;
    let n = 0;
    for (let s = k; s < T; s++) {
      const row = itemized[s]!;
      const diag = row[s]!;
      const v = row[s - k]!;
      if (!Number.isFinite(diag) || !Number.isFinite(v)) {
        sum = Number.NaN;
        n = 1;
        break;
      }
      if (diag === 0) continue;
      sum += v / diag;
      n++;
    }
    profile.push(n === 0 ? 0 : sum / n);
  }
  return profile;
}

/** ρ = exp(slope of least squares ln p(k) ~ a + b k) over finite positive points; null with < 2 points. */
export function fitDecay(profile: number[]): number | null {
  let n = 0, sk = 0, sy = 0, skk = 0, sky = 0;
  for (let k = 0; k < profile.length; k++) {
    const p = profile[k]!;
    if (!(p > 0) || !Number.isFinite(p)) continue;
    const y = Math.log(p);
    n++; sk += k; sy += y; skk += k * k; sky += k * y;
  }
  if (n < 2) return null;
  const den = n * skk - sk * sk;
  if (den === 0) return null;
  return Math.exp((n * sky - sk * sy) / den);
}

/**
 * Smallest lag k with p(j) < ε·p(0) for every j ≥ k: the gradient stays vanished from there on.
 * null when p(0) is not a positive finite number or the profile is not below ε·p(0) at its
 * last lag. A non-finite point counts as not below.
 */
export function horizon(profile: number[], epsilon: number): number | null {
  const p0 = profile[0];
  if (p0 === undefined || !(p0 > 0) || !Number.isFinite(p0)) return null;
  const below = (p: number) => p < epsilon * p0; // false for NaN
  let k = profile.length;
  while (k > 1 && below(profile[k - 1]!)) k--;
  return k < profile.length ? k : null;
}

export interface ProfileDip {
  /** First lag with p(k) < ε·p(0). */
  firstBelow: number;
  /** Lag of the largest p(j)/p(0) after the first dip (where the profile came back to). */
  recoveredAt: number;
  /** p(recoveredAt)/p(0), ≥ ε. */
  recoveredRatio: number;
}

/**
 * When the profile falls below ε·p(0) and later comes back above it: where it first fell and
 * the highest point it came back to. null when it never dips, or dips and stays below.
 */
export function profileDip(profile: number[], epsilon: number): ProfileDip | null {
  const p0 = profile[0];
  if (p0 === undefined || !(p0 > 0) || !Number.isFinite(p0)) return null;
  let firstBelow = -1;
  for (let k = 1; k < profile.length; k++) if (profile[k]! < epsilon * p0) { firstBelow = k; break; }
  if (firstBelow < 0) return null;
  let recoveredAt = -1;
  let best = -Infinity;
  for (let k = firstBelow + 1; k < profile.length; k++) {
    const r = profile[k]! / p0;
    if (r >= epsilon && r > best) { best = r; recoveredAt = k; }
  }
  return recoveredAt < 0 ? null : { firstBelow, recoveredAt, recoveredRatio: best };
}

export interface DiagnoseOptions {
  mode: Mode;
  cell: CellKind;
  thresholds?: Partial<DiagnosisThresholds>;
  /** Pre-clip global gradient norm per training iteration, for the "growing over iterations" rule. */
  history?: number[];
  /** Iteration at which training stopped on a non-finite value, if it did. */
  stoppedAt?: number | null;
}

/** Growth of the pre-clip norm over training: median of the last quarter / median of the first quarter. */
export function normGrowth(preClip: number[]): number | null {
  const finite = preClip.filter((v) => Number.isFinite(v));
  if (finite.length < 8) return null;
  const q = Math.max(2, Math.floor(finite.length / 4));
  const first = median(finite.slice(0, q));
  const last = median(finite.slice(finite.length - q));
  if (!(first > 0)) return null;
  return last / first;
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Diagnose one pass (and optionally its training history). */
export function diagnosePass(record: PassRecord, opts: DiagnoseOptions): Diagnosis {
  const th = resolveThresholds(opts.thresholds);
  const { profile, source } = lagProfile(record, opts.mode, opts.cell);
  const T = profile.length;
  const evidence: string[] = [];
  const finitePoints = profile.filter((p) => Number.isFinite(p));
  const rho = fitDecay(profile);
  const eps = th.vanishEpsilon;
  const hz = horizon(profile, eps);

  if (source === 'itemized') {
    evidence.push(`Lag profile from the itemized gradient: mean over scored steps s of ‖∂ℓ_s/∂s_{s−k}‖ / ‖∂ℓ_s/∂s_s‖.`);
  } else if (source === 'state-fallback') {
    evidence.push(`Many-to-many without the itemized matrix (T = ${T}): lag profile falls back to the total gradient ‖∂L/∂s_{T−1−k}‖, which mixes the losses of all later steps.`);
  }

  let verdict: Verdict = 'healthy';

  // Exploding: non-finite values first, they are the loudest finding.
  const nonFiniteProfile = profile.length > finitePoints.length;
  if (opts.stoppedAt !== undefined && opts.stoppedAt !== null) {
    verdict = 'exploding';
    evidence.push(`Training stopped at iteration ${opts.stoppedAt}: ${describeNonFinite(record)}.`);
  } else if (record.nonFinite) {
    verdict = 'exploding';
    evidence.push(`Non-finite value in the pass: ${describeNonFinite(record)}.`);
  } else if (nonFiniteProfile || !Number.isFinite(record.loss)) {
    verdict = 'exploding';
    evidence.push(`The gradient through time is non-finite (${T - finitePoints.length} of ${T} lags are NaN or Infinity).`);
  }

  const p0 = profile[0];
  let maxRatio = Number.NaN;
  let maxAt = 0;
  if (p0 !== undefined && p0 > 0 && Number.isFinite(p0)) {
    maxRatio = 0;
    for (let k = 0; k < T; k++) {
      const r = profile[k]! / p0;
      if (r > maxRatio) { maxRatio = r; maxAt = k; }
    }
    if (maxRatio >= th.explodeGrowth) {
      verdict = 'exploding';
      evidence.push(`max p(k)/p(0) = p(${maxAt})/p(0) = ${fmt(maxRatio)} ≥ ${fmt(th.explodeGrowth)}: the gradient ${maxAt} steps back is ${fmt(maxRatio)}× the gradient at the last step.`);
    }
  } else if (p0 === 0 && verdict !== 'exploding') {
    // Nothing reaches even the scored step's state (dead ReLU units, a zero head): the
    // gradient has vanished entirely. horizon stays null: no lag falls below ε·0.
    verdict = 'vanishing';
    const anyLater = profile.some((p) => p > 0);
    evidence.push(`p(0) = 0: no gradient reaches the recurrent state at the scored step${anyLater ? '' : ' nor at any earlier step'} (dead or saturated units, or a zero readout).`);
  }

  if (opts.history && opts.history.length > 0) {
    const growth = normGrowth(opts.history);
    if (growth !== null && growth >= th.explodeGrowth) {
      verdict = 'exploding';
      evidence.push(`Pre-clip gradient norm grew ${fmt(growth)}× over training (median of the last quarter of iterations / first quarter) ≥ ${fmt(th.explodeGrowth)}.`);
    }
  }

  if (verdict !== 'exploding' && hz !== null) {
    verdict = 'vanishing';
    const last = T - 1;
    evidence.push(`p(${last})/p(0) = ${fmt(profile[last]! / p0!)}${profile[last]! / p0! < eps ? ` < ${fmt(eps)}` : ''}: gradient from step 0 is ${fmt(profile[last]! / p0!)} of the gradient at the last step; horizon(${fmt(eps)}) = ${hz} steps of ${T}.`);
  } else if (hz !== null) {
    evidence.push(`horizon(${fmt(eps)}) = ${hz} steps of ${T}.`);
  } else if (verdict !== 'exploding' && p0 !== undefined && p0 > 0 && T > 0) {
    evidence.push(`p(${T - 1})/p(0) = ${fmt(profile[T - 1]! / p0)} ≥ ${fmt(eps)}: the gradient from step 0 keeps at least ${fmt(eps)} of its size at the last step (horizon(${fmt(eps)}) beyond the ${T}-step sequence).`);
  }

  if (verdict === 'vanishing' && hz !== null && T - hz >= 8) {
    // A flat tail: what little gets past the first steps is carried on unchanged (an additive
    // path such as the LSTM's cell without forget gate); the loss happens where it enters.
    const tail = fitDecay(profile.slice(hz));
    if (tail !== null && tail >= 1 - th.rhoDelta && tail <= 1 + th.rhoDelta) {
      evidence.push(`Beyond the horizon the profile is flat: ρ = ${fmt(tail)} per step over k = ${hz}..${T - 1}, p(k)/p(0) ≈ ${fmt(profile[T - 1]! / p0!)}. ` +
        'The gradient that gets past the first steps is carried back unchanged (an additive path such as the cell state); it is small because little enters it at the scored step (a saturated tanh(c) or a closed output gate).');
    }
  }

  const dip = profileDip(profile, eps);
  if (dip) {
    evidence.push(`The profile dips below ${fmt(eps)}·p(0) at k = ${dip.firstBelow} and recovers: p(${dip.recoveredAt})/p(0) = ${fmt(dip.recoveredRatio)} ≥ ${fmt(eps)}, ` +
      (hz === null ? 'so the gradient from the start of the sequence still arrives; the horizon is beyond the sequence.' : `so the horizon counts from k = ${hz}, where it stays below.`));
  }

  if (rho !== null) {
    let s = `ρ = ${fmt(rho)} per step (least-squares fit of ln p(k) on k)`;
    if (rho < 1 - th.rhoDelta) {
      const projected = Math.log(eps) / Math.log(rho);
      s += `, below 1 − δ = ${fmt(1 - th.rhoDelta)}: decays to ${fmt(eps)} after about ${Math.ceil(projected)} steps`;
      if (verdict === 'healthy') s += ` (longer than this ${T}-step sequence)`;
    } else if (rho > 1 + th.rhoDelta) {
      const projected = Math.log(th.explodeGrowth) / Math.log(rho);
      s += `, above 1 + δ = ${fmt(1 + th.rhoDelta)}: grows ${fmt(th.explodeGrowth)}× in about ${Math.ceil(projected)} steps`;
    } else {
      s += `, within 1 ± ${fmt(th.rhoDelta)}`;
    }
    evidence.push(s + '.');
  } else if (T > 0) {
    evidence.push(`ρ undefined: fewer than 2 finite positive points in the lag profile.`);
  }

  const jac = jacobianSummary(record);
  if (jac) {
    evidence.push(`Largest singular value of the step Jacobian ∂s_t/∂s_{t−1} (top layer, mean over the batch): geometric mean ${fmt(jac.geoMean)} over ${jac.n} steps (min ${fmt(jac.min)}, max ${fmt(jac.max)}). It bounds the growth per step from above; ρ = ${fmt(rho)} is what actually gets through.`);
  }

  return { decayPerStep: rho, horizon: hz, verdict, evidence, lagProfile: profile };
}

/** Geometric mean, min and max of the top forward layer's jacobianNorm over t ≥ 1 (t = 0 has no predecessor state). */
export function jacobianSummary(record: PassRecord): { geoMean: number; min: number; max: number; n: number } | null {
  const top = topForwardLayer(record.layers);
  const series = top?.jacobianNorm;
  if (!series) return null;
  const vals = series.slice(1).filter((v) => Number.isFinite(v) && v > 0);
  if (vals.length === 0) return null;
  const geoMean = Math.exp(vals.reduce((a, v) => a + Math.log(v), 0) / vals.length);
  // A loop, not Math.min(...vals): a spread over T arguments overflows the stack for T ≳ 125,000.
  let min = Infinity;
  let max = -Infinity;
  for (const v of vals) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { geoMean, min, max, n: vals.length };
}

function describeNonFinite(record: PassRecord): string {
  const nf = record.nonFinite;
  if (!nf) return `loss = ${fmt(record.loss)}`;
  const where = [nf.layer !== null ? `layer ${nf.layer}` : '', nf.t !== null ? `t = ${nf.t}` : ''].filter(Boolean).join(', ');
  return `${nf.quantity} = ${fmt(nf.value)}${where ? ` (${where})` : ''}`;
}
