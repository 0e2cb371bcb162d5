// The words the panel and report.html share, so both say the same thing the same way:
// titles that keep what tells runs apart, facts common to every run said once, each run's
// deciding number, recommendations' changes in plain words, and the study's summary.
// Pure (no DOM, no Node): the webview bundle imports it too.
import type { Recommendation, Report, ReportRun } from '../../study/types';
import { changeWords, horizonLabel } from '../../study/format';


/** A label's parts: "lstm +forget bias 1, no clip" -> ["lstm +forget bias 1", "no clip"]. */
function parts(label: string): string[] {
  return label.split(/,\s+/).map((p) => p.trim()).filter(Boolean);
}

/**
 * What each run's title keeps: its label without the parts every run shares ("no clip" in a
 * study without clipping, the cell in a clipping sweep). One run keeps its whole label.
 */
export function distinctLabels(runs: readonly Pick<ReportRun, 'label' | 'id'>[]): string[] {
  const labels = runs.map((r) => r.label || r.id);
  const shared = sharedParts(labels);
  return labels.map((l) => {
    const kept = parts(l).filter((p) => !shared.includes(p));
    return kept.length ? kept.join(', ') : l;
  });
}

/** Label parts present in every run's label (needs two runs or more). */
export function sharedParts(labels: readonly string[]): string[] {
  if (labels.length < 2) return [];
  const [first, ...rest] = labels.map(parts);
  return first!.filter((p) => rest.every((ps) => ps.includes(p)));
}

/** Evidence sentences that every run states word for word: said once for the study. */
export function commonEvidence(runs: readonly ReportRun[]): string[] {
  const lists = runs.map((r) => r.diagnosis?.evidence ?? []);
  if (lists.length < 2 || lists.some((l) => l.length === 0)) return [];
  return lists[0]!.filter((e) => lists.every((l) => l.includes(e)));
}

/** A run's own evidence (without the sentences common to all runs). */
export function ownEvidence(run: ReportRun, common: readonly string[]): string[] {
  return (run.diagnosis?.evidence ?? []).filter((e) => !common.includes(e));
}

/** The number that decided a run's verdict, in a few words: "ρ = 0.81/step · horizon 9 of 12". */
export function decidingNumber(run: ReportRun): string {
  const d = run.diagnosis;
  if (!d) return run.nonFinite ? 'non-finite values' : 'not diagnosed';
  const rho = d.decayPerStep === null ? 'ρ undefined' : `ρ = ${fmt(d.decayPerStep)}/step`;
  const horizon = d.horizon === null ? `horizon ${horizonLabel(null, run.timesteps)}` : `horizon ${d.horizon} of ${run.timesteps}`;
  if (d.verdict === 'exploding') {
    const p = d.lagProfile;
    const p0 = p[0];
    let max = -Infinity;
    for (const v of p) if (Number.isFinite(v) && v > max) max = v;
    const ratio = typeof p0 === 'number' && p0 > 0 && Number.isFinite(max) ? max / p0 : NaN;
    if (p.some((v) => !Number.isFinite(v)) || run.nonFinite) return `non-finite gradient · ${rho}`;
    return Number.isFinite(ratio) && ratio >= 1 ? `max p(k)/p(0) = ${fmt(ratio)} · ${rho}` : `${rho} · ${horizon}`;
  }
  return `${rho} · ${horizon}`;
}

function fmt(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return 'non-finite';
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e4)) return v.toExponential(2).replace('e', 'e');
  return String(Number(v.toPrecision(3)));
}

// ---------------------------------------------------------------- recommendations

/**
 * The plain change when it says something the title does not (null when the title already
 * is the change, so the card does not repeat itself).
 */
export function changeBeyondTitle(rec: Pick<Recommendation, 'title' | 'change'>): string | null {
  const plain = changeWords(rec.change);
  const norm = (s: string) => s.toLowerCase().replace(/[^a-z0-9.]+/g, ' ').trim();
  const t = norm(rec.title);
  const p = norm(plain);
  if (p === t || t.includes(p) || p.includes(t)) return null;
  // Every number of the change already in the title ("Clip ... at 2.3") -> nothing new.
  const numbers = plain.match(/\d+(?:\.\d+)?(?:e[+-]?\d+)?/g) ?? [];
  const sameWords = p.split(' ').filter((w) => w.length > 3 && !/^\d/.test(w));
  if (numbers.length > 0 && numbers.every((n) => t.includes(n)) && sameWords.filter((w) => t.includes(w)).length >= Math.min(2, sameWords.length)) return null;
  return plain;
}

// ---------------------------------------------------------------- the study's summary

/** The study's summary sentences: its own `findings` when the study wrote them, else the CLI's summary. */
export function studySummary(report: Report): string[] {
  const findings = (report.study as { findings?: unknown }).findings;
  if (Array.isArray(findings) && findings.length > 0 && findings.every((f) => typeof f === 'string')) return findings as string[];
  const runs = report.runs.filter((r) => !r.id.startsWith('check-'));
  if (runs.length === 0) return [];
  const T = runs[0]!.timesteps;
  const eps = report.study.thresholds?.vanishEpsilon ?? 1e-3;
  const count = (v: string, init = false) => runs.filter((r) => (init ? r.initialDiagnosis : r.diagnosis)?.verdict === v).length;
  const tally = (init: boolean) =>
    ['healthy', 'vanishing', 'exploding'].map((v) => [count(v, init), v] as const).filter(([n]) => n > 0).map(([n, v]) => `${n} ${v}`).join(', ');
  const labels = distinctLabels(runs);
  const name = (r: ReportRun) => labels[runs.indexOf(r)] ?? r.label;
  const out: string[] = [];
  const one = runs.length === 1;
  const after = tally(false);
  const before = runs.some((r) => r.initialDiagnosis) ? tally(true) : '';
  out.push(one
    ? `${name(runs[0]!)} is ${runs[0]!.diagnosis?.verdict ?? 'not diagnosed'} after training (T = ${T})${before && before !== after ? `; at initialisation it was ${runs[0]!.initialDiagnosis?.verdict}` : ''}.`
    : `${runs.length} configurations, T = ${T}: ${after || 'none diagnosed'} after training${before && before !== after ? ` (at initialisation: ${before})` : ''}.`);
  const finite = runs.filter((r) => Number.isFinite(r.loss));
  if (finite.length > 1) {
    const best = finite.reduce((a, b) => (b.loss < a.loss ? b : a));
    out.push(`Lowest final loss: ${name(best)} (${fmt(best.loss)}).`);
  }
  const decaying = runs.filter((r) => typeof r.diagnosis?.decayPerStep === 'number' && r.diagnosis.decayPerStep < 1 && r.diagnosis.decayPerStep > 0);
  if (decaying.length > 0) {
    const worst = decaying.reduce((a, b) => (b.diagnosis!.decayPerStep! < a.diagnosis!.decayPerStep! ? b : a));
    const rho = worst.diagnosis!.decayPerStep!;
    const steps = Math.ceil(Math.log(eps) / Math.log(rho));
    out.push(`Fastest decay: ${name(worst)}, ρ = ${fmt(rho)} per step — at that rate the gradient from ${steps} steps back is ${fmt(eps)} of the last step's.`);
  }
  return out;
}

/** Facts every run shares, said once: the common label parts. */
export function commonFacts(report: Report): string[] {
  const runs = report.runs;
  const out: string[] = [];
  const shared = sharedParts(runs.map((r) => r.label || r.id));
  if (shared.length) out.push(`Every run: ${shared.join(', ')}.`);
  return out;
}

/** Whether any run of the study clips its gradient (else there is no clipping section). */
export function anyClipping(runs: readonly ReportRun[]): boolean {
  return runs.some((r) => {
    const clip = r.config.clip as { kind?: string } | undefined;
    return !!clip && clip.kind !== undefined && clip.kind !== 'none';
  });
}

/** A cancelled study keeps its finished runs: `study.partial` says how many of how many. */
export interface PartialInfo {
  done: number;
  total: number;
  /** Still running (the panel's live view), rather than cancelled. */
  running?: boolean;
}

export function partialOf(study: object): PartialInfo | null {
  const p = (study as { partial?: unknown }).partial as { done?: unknown; total?: unknown } | undefined;
  if (!p || typeof p !== 'object' || typeof p.done !== 'number' || typeof p.total !== 'number') return null;
  return { done: p.done, total: p.total, ...((p as { running?: unknown }).running === true ? { running: true } : {}) };
}

export function partialText(p: PartialInfo): string {
  return p.running
    ? `Running: ${p.done} of ${p.total} runs finished so far; the others appear as they finish.`
    : `Partial study: cancelled after ${p.done} of ${p.total} runs; these are the runs that finished.`;
}
