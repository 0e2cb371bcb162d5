// "Gradient through time": the one picture the panel, report.html and the SVGs all draw.
//
// Chosen convention (README "Reading the charts"): the x axis is the timestep t = 0 … T−1, left
// to right, as in an unrolled network, so the scored (last) step is on the right and the
// gradient travels leftwards; the lag k = T−1−t is how far back a point is. The default y is
// normalised: p(k)/p(0), the diagnosis's lag profile over its value at the scored step, so a
// panel's right end sits at 1 and every configuration shares one log axis whatever its scale.
// The switch shows the absolute ‖∂L/∂h_t‖ of the top layer on the same axes.
// Heatmaps use the same x (timestep, left to right) with later iterations on top.
import type { LayerRecord } from '../../engine/types';
import type { ReportRun } from '../../study/types';

export type GradientScale = 'normalised' | 'absolute';

export const GRADIENT_SCALES: { value: GradientScale; label: string; yTitle: string }[] = [
  { value: 'normalised', label: 'normalised p(k)/p(0)', yTitle: 'p(k) / p(0)' },
  { value: 'absolute', label: 'absolute ‖∂L/∂h_t‖', yTitle: '‖∂L/∂h_t‖' },
];

/**
 * The top layer's forward direction (what per-timestep figures show), else the last layer
 * record: study/diagnosis.ts's topForwardLayer with that fallback, written here because the
 * webview bundles this module and must not bundle the diagnosis.
 */
export function topLayerOf(layers: readonly LayerRecord[]): LayerRecord | null {
  let best: LayerRecord | null = null;
  for (const l of layers) if (l.direction === 'forward' && (!best || l.layer > best.layer)) best = l;
  return best ?? layers[layers.length - 1] ?? null;
}

/** p(k) indexed by k -> p(T−1−t)/p(0) indexed by t. Non-finite values stay null (gaps). */
export function normalisedByTimestep(profile: readonly (number | null)[]): (number | null)[] {
  const ref = profile.find((v): v is number => typeof v === 'number' && v > 0 && Number.isFinite(v));
  const n = profile.length;
  const out: (number | null)[] = new Array(n);
  for (let t = 0; t < n; t++) {
    const v = profile[n - 1 - t];
    out[t] = typeof v === 'number' && Number.isFinite(v) ? (ref === undefined ? v : v / ref) : null;
  }
  return out;
}

function absoluteOf(layers: readonly LayerRecord[] | undefined): (number | null)[] | null {
  const top = layers ? topLayerOf(layers) : null;
  const s = top?.gradNormH as (number | null)[] | undefined;
  if (!s || s.length === 0) return null;
  return s.map((v) => (typeof v === 'number' && Number.isFinite(v) ? v : null));
}

function initialProfile(run: ReportRun): (number | null)[] | null {
  const rec = run.history.recorded.find((r) => r.iteration === 0);
  const p = run.initialDiagnosis?.lagProfile ?? rec?.lagProfile;
  return p && p.length > 0 ? p : null;
}

/** The trained network's series by timestep (index t), or null when the run lacks it. */
export function throughTime(run: ReportRun, scale: GradientScale): (number | null)[] | null {
  if (scale === 'absolute') return absoluteOf(run.layers);
  const p = run.diagnosis?.lagProfile;
  if (p && p.length > 0) return normalisedByTimestep(p);
  // No diagnosis: the top layer's gradient over its value at the last step.
  const abs = absoluteOf(run.layers);
  return abs ? normalisedByTimestep([...abs].reverse()) : null;
}

/** The same network at initialisation (recorded iteration 0), or null. */
export function throughTimeAtInit(run: ReportRun, scale: GradientScale): (number | null)[] | null {
  if (scale === 'absolute') return absoluteOf(run.history.recorded.find((r) => r.iteration === 0)?.layers);
  const p = initialProfile(run);
  return p ? normalisedByTimestep(p) : null;
}

/** Timestep at which the horizon is drawn (t = T−1−horizon), or null when beyond the sequence. */
export function horizonTimestep(run: ReportRun): number | null {
  const h = run.diagnosis?.horizon;
  const n = run.diagnosis?.lagProfile.length ?? run.timesteps;
  return typeof h === 'number' && h >= 0 && h <= n - 1 ? n - 1 - h : null;
}
