// Plain facts about a run that report.md and report.html both show, so the two agree.
import type { Diagnosis, Recommendation, ReportRun, Spread } from '../../study/types';
import { checkSentence, finalLoss, horizonLabel, lossText } from '../../study/format';
import { fmtNum, fmtPercent } from './format';


export interface SummaryRow {
  configuration: string;
  verdict: string;
  rho: string;
  horizon: string;
  finalLoss: string;
  clipRate: string;
}

export const SUMMARY_HEADERS: Record<keyof SummaryRow, string> = {
  configuration: 'Configuration',
  verdict: 'Verdict',
  rho: 'Decay per step ρ',
  horizon: 'Horizon (steps)',
  finalLoss: 'Final loss',
  clipRate: 'Clip rate',
};

export function summaryRow(run: ReportRun): SummaryRow {
  const d = run.diagnosis;
  const spread = run.seedSpread;
  const n = run.seeds?.length ?? 0;
  const range = (s: Spread | null | undefined) =>
    (s && n > 1 && Number.isFinite(s.min) && Number.isFinite(s.max) && s.max > s.min ? ` (${fmtNum(s.min, 3)}–${fmtNum(s.max, 3)} over ${n} seeds)` : '');
  return {
    configuration: run.label || run.id,
    verdict: d?.verdict ?? 'not diagnosed',
    rho: fmtNum(d?.decayPerStep ?? null) + range(spread?.decayPerStep),
    horizon: horizonText(d, run.timesteps),
    finalLoss: lossText(finalLoss(run)) + lossRange(spread?.finalLoss, n),
    clipRate: clipText(run),
  };
}

function lossRange(s: Spread | null | undefined, n: number): string {
  return s && n > 1 && Number.isFinite(s.min) && Number.isFinite(s.max) && s.max > s.min ? ` (${lossText(s.min)}–${lossText(s.max)} over ${n} seeds)` : '';
}

/** "26", "≥ 48" when the profile never falls that far, "—" without a diagnosis. */
export function horizonText(d: Diagnosis | null | undefined, timesteps: number): string {
  return d ? horizonLabel(d.horizon, timesteps) : '—';
}

/** Facts about the run beyond its verdict: diagnosis at initialisation, an early stop. */
export function runNotes(run: ReportRun): string[] {
  const notes: string[] = [];
  const init = run.initialDiagnosis;
  if (init) notes.push(`At initialisation (before training): ${init.verdict}, ρ = ${fmtNum(init.decayPerStep)}, horizon ${horizonText(init, run.timesteps)}.`);
  const stop = run.history.stoppedAt;
  if (stop !== undefined && stop !== null) notes.push(`Training stopped at iteration ${stop} on a non-finite loss or gradient.`);
  return notes;
}

function clipText(run: ReportRun): string {
  const clip = run.config.clip as { kind?: unknown } | undefined;
  if (!clip || clip.kind === 'none') return 'no clipping';
  return fmtPercent(run.history.clipRate);
}

/** One line describing the configuration: cell, sizes, init, optimiser, clipping, seed. */
export function configLine(run: ReportRun): string {
  const c = run.config;
  const parts: string[] = [];
  const str = (v: unknown) => (v === undefined || v === null ? null : typeof v === 'object' ? JSON.stringify(v) : String(v));
  const add = (label: string, v: unknown) => { const s = str(v); if (s !== null) parts.push(`${label} ${s}`); };
  add('cell', c.cellChoice ?? c.cell);
  add('hidden', c.hiddenSize);
  add('layers', c.numLayers);
  if (c.bidirectional) parts.push('bidirectional');
  add('init', c.init);
  if (c.spectralRadius !== undefined && c.spectralRadius !== null) add('spectral radius', c.spectralRadius);
  if (c.forgetBias) parts.push('forget bias 1');
  add('optimizer', c.optimizer);
  add('lr', c.learningRate);
  const clip = c.clip as { kind?: string; threshold?: number } | undefined;
  if (clip && typeof clip === 'object') parts.push(clip.kind === 'none' || !clip.kind ? 'no clipping' : `clip ${clip.kind} ${fmtNum(clip.threshold ?? null)}`);
  const tr = c.truncation as { k1?: number; k2?: number } | null | undefined;
  if (tr && typeof tr === 'object') parts.push(`truncated BPTT k1=${tr.k1} k2=${tr.k2}`);
  add('iterations', c.iterations);
  add('batch', c.batchSize);
  add('seed', c.seed);
  if (run.seeds && run.seeds.length > 1) parts.push(`seeds ${run.seeds.join(', ')}`);
  parts.push(`T = ${run.timesteps}`);
  return parts.join(' · ');
}

/** Text on the run the recommendation was checked with, or null when it was not re-run (the sentence every view shows). */
export function checkText(check: Recommendation['check'], runs: ReportRun[], run?: ReportRun): string | null {
  if (!check) return null;
  const owner = run ?? runs.find((r) => r.recommendations.some((rec) => rec.check === check));
  if (!owner) return checkSentence({ diagnosis: null, timesteps: 0, loss: Number.NaN }, check, runs);
  return checkSentence(owner, check, runs);
}

/** The "how to read this" text, shared by report.md and report.html. */
export function howToRead(eps: number | undefined, delta: number | undefined, growth: number | undefined): string[] {
  return [
    'The lag profile p(k) is how much gradient reaches the recurrent state k steps before a scored step (k = 0 is the scored step itself). It is what lets a network learn that an input k steps ago mattered.',
    'The decay per step ρ is the ratio p(k+1)/p(k) of a straight-line fit of log p(k) on k: ρ = 0.9 means each step back keeps 90% of the gradient, so 50 steps back keep 0.9^50 ≈ 0.5%. ρ well below 1 is vanishing, above 1 is exploding.',
    `The horizon is the lag from which p(k) stays below ε × p(0) (ε = ${fmtNum(eps ?? null)}) at every larger lag; a profile that dips below and comes back is not cut at the dip. "≥ T" means the profile is not below it at the start of the T-step sequence.`,
    `Verdicts: exploding when any recorded value is non-finite, when p(k) climbs to ${fmtNum(growth ?? null)}× p(0) or more, or when the pre-clip gradient norm grows ${fmtNum(growth ?? null)}× or more over training; vanishing when the horizon lies within the sequence; otherwise healthy. ρ outside 1 ± δ (δ = ${fmtNum(delta ?? null)}) is reported as supporting evidence. Each verdict lists the numbers that decided it.`,
  ];
}
