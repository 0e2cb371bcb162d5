// What a study found, in sentences, most important first: the report panel, report.md/html
// and the CLI open with them (report.json: study.findings). Each sentence names the runs and
// the numbers behind it; nothing is said that the runs do not show.
//
//   diagnosis  which configurations lose the gradient within the window and which keep it;
//              the lowest final loss against the trivial baseline; the checked recommendations
//   clipping   whether the unclipped run diverged, what the best clipped run reached, and
//              whether clipping changed the horizon (it bounds the step; it does not make a
//              vanishing gradient reach further back)
//   gates      the best gate choice, which choices keep the gradient over the whole window,
//              and the runs skipped because they would be identical by construction

import { fmt } from './diagnosis';
import { finalLoss, horizonLabel, lossText } from './format';
import { clipLabel } from './study';
import type { ReportRun, StudyKind } from './types';

export interface FindingsContext {
  steps: number;
  skipped: string[];
}

export function studyFindings(kind: StudyKind, runs: ReportRun[], ctx: FindingsContext): string[] {
  const studied = runs.filter((r) => !r.id.startsWith('check-'));
  if (studied.length === 0) return [];
  const out = kind === 'clipping' ? clippingFindings(studied) : kind === 'gates' ? gateFindings(studied, ctx) : diagnosisFindings(studied, runs, ctx);
  if (ctx.skipped.length > 0) out.push(`Not run, identical by construction: ${ctx.skipped.join('; ')}.`);
  return out;
}

function diverged(r: ReportRun): boolean {
  const stopped = r.history.stoppedAt;
  return (stopped !== undefined && stopped !== null) || !Number.isFinite(finalLoss(r)) || r.diagnosis?.verdict === 'exploding';
}

function divergedText(r: ReportRun): string {
  const stopped = r.history.stoppedAt;
  if (stopped !== undefined && stopped !== null) return `diverged: the loss or gradient overflowed at iteration ${stopped}`;
  if (!Number.isFinite(finalLoss(r))) return 'diverged to a non-finite loss';
  return `exploded (final loss ${lossText(finalLoss(r))})`;
}

function horizonOf(r: ReportRun): string {
  return horizonLabel(r.diagnosis?.horizon ?? null, r.timesteps);
}

function names(rs: ReportRun[]): string {
  const labels = rs.map((r) => r.label);
  return labels.length <= 1 ? labels.join('') : `${labels.slice(0, -1).join('; ')} and ${labels[labels.length - 1]}`;
}

function lowest(rs: ReportRun[]): ReportRun | null {
  const finite = rs.filter((r) => Number.isFinite(finalLoss(r)));
  return finite.length === 0 ? null : finite.reduce((a, b) => (finalLoss(b) < finalLoss(a) ? b : a));
}

function baselineNote(r: ReportRun): string {
  return r.baseline ? ` (trivial baseline ${lossText(r.baseline.loss)})` : '';
}

/** Runs whose final loss is still at the baseline (within 5%) or above it. */
function atBaseline(rs: ReportRun[]): ReportRun[] {
  return rs.filter((r) => r.baseline && Number.isFinite(finalLoss(r)) && finalLoss(r) >= 0.95 * r.baseline.loss);
}

function verdictSplit(rs: ReportRun[], T: number): string[] {
  const vanishing = rs.filter((r) => r.diagnosis?.verdict === 'vanishing');
  const exploding = rs.filter((r) => r.diagnosis?.verdict === 'exploding');
  const healthy = rs.filter((r) => r.diagnosis?.verdict === 'healthy');
  const out: string[] = [];
  if (vanishing.length > 0) {
    out.push(`The gradient vanishes within the ${T}-step window in ${vanishing.map((r) => `${r.label} (horizon ${horizonOf(r)}, ρ = ${fmt(r.diagnosis!.decayPerStep)})`).join('; ')}.`);
  }
  if (healthy.length > 0) {
    out.push(`It reaches back the whole window in ${healthy.map((r) => `${r.label} (ρ = ${fmt(r.diagnosis!.decayPerStep)})`).join('; ')}.`);
  }
  if (exploding.length > 0) out.push(`It explodes in ${names(exploding)}.`);
  return out;
}

function diagnosisFindings(studied: ReportRun[], all: ReportRun[], ctx: FindingsContext): string[] {
  const out = verdictSplit(studied, ctx.steps);
  const best = lowest(studied);
  if (best) {
    const stuck = atBaseline(studied).filter((r) => r !== best);
    out.push(`Lowest final loss: ${best.label}, ${lossText(finalLoss(best))}${baselineNote(best)}` +
      (stuck.length > 0 ? `; ${names(stuck)} ${stuck.length === 1 ? 'is' : 'are'} still at the baseline: not learned yet.` : '.'));
  }
  for (const r of studied) {
    const top = r.recommendations[0];
    const c = top?.check;
    if (!top || !c || !c.outcome) continue;
    const target = all.find((x) => x.id === c.runId);
    const result = `${c.verdict}, horizon ${horizonLabel(c.horizon ?? null, r.timesteps)}, final loss ${lossText(c.finalLoss)}`;
    const same = c.verdict === r.diagnosis?.verdict;
    if (c.outcome === 'confirmed') {
      out.push(`Confirmed${same ? ' by the loss' : ''} for ${r.label}: "${top.title}" gives ${result}${target && !target.id.startsWith('check-') ? ` (the study's ${target.label} run)` : ''}` +
        (same ? `; still ${c.verdict}${c.next ? `, next to try: ${c.next}` : ''}.` : '.'));
    }
    else out.push(`Not confirmed for ${r.label}: "${top.title}" gives ${result} (${c.outcome === 'worse' ? 'worse' : 'no better'})${c.next ? `; next to try: ${c.next}` : ''}.`);
  }
  return out;
}

function clippingFindings(studied: ReportRun[]): string[] {
  const out: string[] = [];
  const none = studied.filter((r) => (r.config.clip as { kind?: string } | undefined)?.kind === 'none');
  const clipped = studied.filter((r) => (r.config.clip as { kind?: string } | undefined)?.kind !== 'none');
  const finiteClipped = clipped.filter((r) => !diverged(r));
  const best = lowest(finiteClipped);
  const unclipped = none[0];
  const clipOf = (r: ReportRun) => clipLabel(r.config.clip as Parameters<typeof clipLabel>[0]).replace('norm clip', 'norm clipping at').replace('value clip', 'value clipping at');
  let opening = '';
  if (unclipped && diverged(unclipped)) {
    opening = `Without clipping, training ${divergedText(unclipped)}`;
    if (best) opening += `; ${clipOf(best)} kept training finite and reached loss ${lossText(finalLoss(best))}${baselineNote(best)}`;
    else if (clipped.length > 0) opening += '; no clipped run stayed finite either';
  } else if (unclipped) {
    opening = `Without clipping, training stayed finite (final loss ${lossText(finalLoss(unclipped))})`;
    if (best) {
      opening += finalLoss(best) < 0.9 * finalLoss(unclipped)
        ? `; ${clipOf(best)} did better, loss ${lossText(finalLoss(best))}`
        : `; no clipping setting did clearly better (best: ${clipOf(best)}, loss ${lossText(finalLoss(best))}): nothing here needed clipping`;
    }
  } else if (best) {
    opening = `Best clipping setting: ${clipOf(best)}, loss ${lossText(finalLoss(best))}`;
  }
  const finite = studied.filter((r) => !diverged(r) && r.diagnosis);
  const horizons = [...new Set(finite.map(horizonOf))];
  if (finite.length >= 2) {
    opening += horizons.length === 1
      ? `; clipping did not change the horizon (${horizons[0]} steps in every run that stayed finite): vanishing is not what clipping fixes.`
      : `; the horizon ranged over ${horizons.join(', ')} steps across the finite runs (clipping changes the path training takes, not how far the gradient reaches by itself).`;
  } else opening += '.';
  if (opening.length > 1) out.push(opening.charAt(0).toUpperCase() + opening.slice(1));
  const tooTight = finiteClipped.filter((r) => r.history.clipRate > 0.9);
  if (tooTight.length > 0) out.push(`${names(tooTight)} clipped more than 90% of the updates: at that rate clipping acts as a smaller learning rate.`);
  const lostDiverged = clipped.filter(diverged);
  if (lostDiverged.length > 0) out.push(`Diverged despite clipping: ${lostDiverged.map((r) => `${r.label} (${divergedText(r)})`).join(', ')}.`);
  return out;
}

function gateFindings(studied: ReportRun[], ctx: FindingsContext): string[] {
  const out: string[] = [];
  const best = lowest(studied.filter((r) => !diverged(r)));
  if (best) out.push(`Lowest final loss: ${best.label}, ${lossText(finalLoss(best))}${baselineNote(best)}, ${best.diagnosis?.verdict ?? 'not diagnosed'} with horizon ${horizonOf(best)}.`);
  out.push(...verdictSplit(studied, ctx.steps));
  const stuck = atBaseline(studied);
  if (stuck.length > 0 && stuck.length < studied.length) out.push(`Still at the trivial baseline (not learned): ${names(stuck)}.`);
  else if (stuck.length === studied.length) out.push('Every run is still at the trivial baseline: train longer before reading the gradients as the trained networks\'.');
  out.push(`${studied.length} runs.`);
  return out;
}
