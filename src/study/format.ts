// Display text shared by every view — the CLI table, the report files (md, html, SVG), the
// Runs tree and the webview panel — so one number reads the same everywhere. No imports with
// code: the webview bundles this module.
import type { Diagnosis, RecommendationCheck, RunConfig } from './types';

/**
 * A horizon in steps. `null` means p(k) never fell below ε·p(0) within the T steps of the
 * sequence, so the horizon is at least T.
 */
export function horizonLabel(horizon: number | null, timesteps: number): string {
  return horizon === null ? `≥ ${timesteps}` : String(horizon);
}

/**
 * THE final loss of a run: the loss on the run's fixed probe batch after the last update (the
 * run record's `loss`). It does not depend on which minibatch came last, and it is the number
 * that seed spreads, recommendation checks and baselines are compared with. Every view shows
 * this number, through lossText.
 */
export function finalLoss(run: { loss: number }): number {
  return run.loss;
}

/** A loss as every view writes it: 4 significant digits, exponent form below 1e-3 or from 1e4. */
export function lossText(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return 'non-finite';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a < 1e-3 || a >= 1e4) {
    const [mant, exp] = x.toExponential(3).split('e');
    return `${trimZeros(mant!)}e${Number(exp)}`;
  }
  return trimZeros(x.toPrecision(4));
}

function trimZeros(s: string): string {
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

/** The before → after sentence of a recommendation's re-run, the same in every view. */
export function checkSentence(
  run: { diagnosis: Diagnosis | null; timesteps: number; loss: number },
  check: RecommendationCheck,
  runs: readonly { id: string; label: string }[] = [],
): string {
  const d = run.diagnosis;
  const target = runs.find((r) => r.id === check.runId);
  const parts = [`verdict ${d ? `${d.verdict} → ` : ''}${check.verdict}`];
  if (check.decayPerStep !== undefined) parts.push(`ρ ${d ? `${fmt(d.decayPerStep)} → ` : ''}${fmt(check.decayPerStep)}`);
  if (check.horizon !== undefined) parts.push(`horizon ${d ? `${horizonLabel(d.horizon, run.timesteps)} → ` : ''}${horizonLabel(check.horizon, run.timesteps)}`);
  parts.push(`final loss ${lossText(finalLoss(run))} → ${lossText(check.finalLoss)}`);
  let s = `Checked by re-running (${target ? target.label || target.id : check.runId}): ${parts.join(', ')}`;
  if (check.outcome === 'confirmed') s += `: confirmed${check.next && d && check.verdict === d.verdict ? ` (loss), verdict still ${check.verdict}; next to try: ${check.next}` : ''}.`;
  else if (check.outcome) s += `: ${check.outcome === 'worse' ? 'worse' : 'no better'}${check.next ? `; next to try: ${check.next}` : ''}.`;
  else s += '.';
  return s;
}

/** A config change in plain words, e.g. "cell gru", "forget-gate bias 1", "clip by global norm at 1". */
export function changeWords(change: Record<string, unknown>): string {
  const parts: string[] = [];
  const c = change as Partial<RunConfig>;
  if (c.cellChoice !== undefined) parts.push(`cell ${c.cellChoice}`);
  if (c.forgetBias !== undefined && (c.cellChoice === undefined || c.forgetBias)) parts.push(`forget-gate bias ${c.forgetBias ? 1 : 0}`);
  if (c.init !== undefined) parts.push(`${c.init} init`);
  if ('spectralRadius' in c) parts.push(c.spectralRadius === null ? (c.init === undefined ? 'no spectral-radius rescaling' : '') : `spectral radius ${fmt(c.spectralRadius)}`);
  if (c.clip !== undefined) parts.push(c.clip.kind === 'none' ? 'no clipping' : c.clip.kind === 'norm' ? `clip by global norm at ${fmt(c.clip.threshold)}` : `clip each value at ±${fmt(c.clip.threshold)}`);
  if (c.learningRate !== undefined) parts.push(`learning rate ${fmt(c.learningRate)}`);
  if (c.iterations !== undefined) parts.push(`${c.iterations} iterations`);
  if ('truncation' in c) parts.push(c.truncation ? `truncated BPTT, ${c.truncation.k2} steps back every ${c.truncation.k1}` : 'full BPTT');
  if (c.optimizer !== undefined) parts.push(`optimizer ${c.optimizer}`);
  if (c.hiddenSize !== undefined) parts.push(`hidden size ${c.hiddenSize}`);
  const known = new Set(['cell', 'nonlinearity', 'variant', 'cellChoice', 'forgetBias', 'init', 'spectralRadius', 'clip', 'learningRate', 'iterations', 'truncation', 'optimizer', 'hiddenSize']);
  for (const [k, v] of Object.entries(change)) if (!known.has(k)) parts.push(`${k} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  const words = parts.filter(Boolean);
  return words.length > 0 ? words.join(', ') : 'no change';
}

/** Compact number for evidence sentences: 3 significant digits, exponent form outside [1e-2, 1e4). */
export function fmt(x: number | null | undefined): string {
  if (x === null || x === undefined) return 'n/a';
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'Infinity' : '-Infinity';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e4 || a < 1e-2) return x.toExponential(1).replace('.0e', 'e').replace('e+', 'e');
  return Number(x.toPrecision(3)).toString();
}
