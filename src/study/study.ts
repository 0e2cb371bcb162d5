// Studies: which runs to make (planRuns), running them (runStudy, with a pluggable executor
// so the worker pool can run them in parallel), seed spread, recommendations, and the
// re-runs that check them.
//
//   diagnosis  cells × clips (defaults: the base config's), each diagnosed
//   clipping   one cell, same data/init/seed, clip none + norm thresholds + by value
//   gates      rnn-tanh, rnn-relu, lstm, every LSTM variant, gru; forget bias on and off for
//              the variants that have a forget-gate bias (cifg and nfg do not: their runs
//              with bias 1 would repeat the bias-0 runs, so they are skipped and named)
// Every kind: each run repeated per seed; runs differing only by seed share a `group`
// and carry the group's min/median/max of final loss and ρ.

import { CELL_NAMES, isCellName, parseCellName } from '../engine/cells';
import { median, resolveThresholds, fmt } from './diagnosis';
import { finalLoss } from './format';
import { studyFindings } from './findings';
import { applyChange, didBetter, recommend } from './recommend';
import { executeRun } from './train';
import type {
  CellChoice, ClipSpec, Dataset, DiagnosisThresholds, PlannedRun, RecommendationCheck, Report, ReportRun, RunConfig, RunExecutor, SeedSpread, Spread, StudyKind,
} from './types';

export interface StudySpec {
  kind: StudyKind;
  name: string;
  dataset: Dataset;
  base: RunConfig;
  clips?: ClipSpec[];
  cells?: CellChoice[];
  /** LSTM family: run both forget bias 0 and 1 (default: true for 'gates', else false). */
  forgetBiasBoth?: boolean;
  seeds?: number[];
  /** Record per-timestep probes every this many iterations (default: 20 points over the run). */
  recordEvery?: number;
  thresholds?: Partial<DiagnosisThresholds>;
  /** Re-run each group's top recommendation and record whether it helped (default false). */
  checkRecommendations?: boolean;
  /** Free text for the report; generated when absent. */
  description?: string;
  /** A sentence appended to the description (e.g. the clipping comparison's starting point). */
  note?: string;
}

export interface RunStudyOptions {
  signal?: AbortSignal;
  onProgress?(done: number, total: number, label: string): void;
  executor?: RunExecutor;
}

/** Every cell name a study accepts: the engine registry's (classic cells, then those of design §8). */
export const ALL_CELLS: CellChoice[] = [...CELL_NAMES];

/** The default cells of a 'gates' study: the classic gate choices (rnn, every LSTM variant, gru). */
export const GATE_STUDY_CELLS: CellChoice[] = [
  'rnn-tanh', 'rnn-relu', 'lstm', 'lstm-peephole', 'lstm-cifg', 'lstm-nfg', 'lstm-nig', 'lstm-nog', 'lstm-niaf', 'lstm-noaf', 'gru',
];

export function isCellChoice(s: string): s is CellChoice {
  return isCellName(s);
}

/** Forget-gate bias applies to the LSTM variants that have a forget gate of their own (not cifg: f = 1 − i, not nfg: f = 1). */
export function hasForgetBias(choice: CellChoice): boolean {
  const s = cellSettings(choice);
  return s.cell === 'lstm' && s.variant !== 'cifg' && s.variant !== 'nfg';
}

/** The RunConfig fields a cell choice sets (through the engine's one cell-name parser). */
export function cellSettings(choice: CellChoice): Pick<RunConfig, 'cell' | 'nonlinearity' | 'variant' | 'cellChoice'> {
  return { ...parseCellName(choice), cellChoice: choice };
}

export function clipLabel(clip: ClipSpec): string {
  return clip.kind === 'none' ? 'no clip' : `${clip.kind} clip ${fmt(clip.threshold)}`;
}

function clipSlug(clip: ClipSpec): string {
  return clip.kind === 'none' ? 'noclip' : `${clip.kind}${String(clip.threshold).replace(/[^0-9a-z]+/gi, '_')}`;
}

/** Default clipping sweep: none, by norm at 0.25×/1×/4× a base threshold, and by value. */
export function defaultClipSweep(normThreshold = 1): ClipSpec[] {
  return [
    { kind: 'none' },
    { kind: 'norm', threshold: normThreshold / 4 },
    { kind: 'norm', threshold: normThreshold },
    { kind: 'norm', threshold: normThreshold * 4 },
    { kind: 'value', threshold: normThreshold / 10 },
  ];
}

interface Defaults {
  hiddenSize: number;
  learningRate: number;
  iterations: number;
  batchSize: number;
}

// Sized so the default 3-cell × 2-clip study finishes in seconds on one core; the claim is
// about gradient flow, which shows long before the loss converges.
const SAMPLE_DEFAULTS: Record<string, Defaults> = {
  airline: { hiddenSize: 16, learningRate: 0.01, iterations: 150, batchSize: 16 },
  // 300 iterations: at T = 40 a GRU learns the task (loss 0.003 against the 0.17 of predicting
  // the mean) while a tanh RNN and an LSTM at forget bias 0 lose the gradient within the window.
  adding: { hiddenSize: 16, learningRate: 0.01, iterations: 300, batchSize: 32 },
  copy: { hiddenSize: 32, learningRate: 0.01, iterations: 100, batchSize: 32 },
  'binary-addition': { hiddenSize: 16, learningRate: 0.01, iterations: 150, batchSize: 32 },
  sine: { hiddenSize: 16, learningRate: 0.01, iterations: 100, batchSize: 32 },
  text: { hiddenSize: 32, learningRate: 0.01, iterations: 60, batchSize: 32 },
};
const FILE_DEFAULTS: Defaults = { hiddenSize: 16, learningRate: 0.005, iterations: 150, batchSize: 16 };

/** A complete RunConfig for `dataset`: sensible defaults per sample, overridden by `partial`. */
export function defaultRunConfig(dataset: Dataset, partial: Partial<RunConfig> = {}): RunConfig {
  const d = SAMPLE_DEFAULTS[dataset.name] ?? FILE_DEFAULTS;
  const cell = cellSettings(partial.cellChoice ?? 'rnn-tanh');
  return {
    ...cell,
    hiddenSize: d.hiddenSize,
    numLayers: 1,
    bidirectional: false,
    loss: dataset.loss,
    mode: dataset.mode,
    init: 'pytorch',
    spectralRadius: null,
    forgetBias: false,
    optimizer: 'adam',
    learningRate: d.learningRate,
    clip: { kind: 'none' },
    truncation: null,
    iterations: d.iterations,
    batchSize: Math.min(d.batchSize, dataset.count),
    seed: 1,
    ...partial,
  };
}

/** The runs a study makes, in report order. */
export function planRuns(spec: StudySpec): PlannedRun[] {
  return plan(spec).runs;
}

/**
 * Runs the study leaves out because they are identical by construction to one it makes, each
 * with the reason (the gates comparison's forget bias 1 on cifg and nfg).
 */
export function skippedRuns(spec: StudySpec): string[] {
  return plan(spec).skipped;
}

function plan(spec: StudySpec): { runs: PlannedRun[]; skipped: string[] } {
  const base = spec.base;
  const cells = spec.cells ?? (spec.kind === 'gates' ? GATE_STUDY_CELLS : [base.cellChoice]);
  const clips = spec.clips ?? (spec.kind === 'clipping' ? defaultClipSweep() : [base.clip]);
  const seeds = spec.seeds && spec.seeds.length > 0 ? spec.seeds : [base.seed];
  const bothForget = spec.forgetBiasBoth ?? spec.kind === 'gates';
  const recordAt = spec.recordEvery ? everyN(base.iterations, spec.recordEvery) : undefined;
  const out: PlannedRun[] = [];
  const skipped: string[] = [];
  const seen = new Set<string>();
  for (const cellChoice of cells) {
    const cell = cellSettings(cellChoice);
    const biasApplies = hasForgetBias(cellChoice);
    if (cell.cell === 'lstm' && bothForget && !biasApplies) {
      skipped.push(`${cellChoice} with forget-gate bias 1 (${cell.variant === 'cifg' ? 'its forget gate is f = 1 − i, with no bias of its own' : 'it has no forget gate: f = 1'}; the run would repeat the bias-0 run)`);
    }
    const forgetOptions = biasApplies && bothForget ? [false, true] : [biasApplies && base.forgetBias];
    for (const forgetBias of forgetOptions) {
      for (const clip of clips) {
        // The clip setting is part of the label only where the study varies it.
        const cellLabel = cellChoice + (forgetBias ? ' +forget bias 1' : '');
        const group = clips.length > 1 || spec.kind === 'clipping' ? `${cellLabel}, ${clipLabel(clip)}` : clip.kind === 'none' ? cellLabel : `${cellLabel}, ${clipLabel(clip)}`;
        const groupSlug = `${cellChoice}${forgetBias ? '-fb1' : ''}-${clipSlug(clip)}`;
        for (const seed of seeds) {
          const id = seeds.length > 1 ? `${groupSlug}-s${seed}` : groupSlug;
          if (seen.has(id)) continue; // duplicates in the user's lists
          seen.add(id);
          const config: RunConfig = { ...base, ...cell, forgetBias, clip, seed };
          out.push({
            id,
            label: seeds.length > 1 ? `${group}, seed ${seed}` : group,
            config,
            group,
            ...(spec.thresholds ? { thresholds: spec.thresholds } : {}),
            ...(recordAt ? { recordAt } : {}),
          });
        }
      }
    }
  }
  return { runs: out, skipped };
}

function everyN(iterations: number, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i <= iterations; i += Math.max(1, Math.floor(n))) out.push(i);
  if (out[out.length - 1] !== iterations) out.push(iterations);
  return out;
}

/** Runs planned runs one after another in this thread. */
export const sequentialExecutor: RunExecutor = async (dataset, planned, opts) => {
  const out: ReportRun[] = [];
  for (const p of planned) {
    if (opts.signal?.aborted) throw abortError();
    out.push(executeRun(dataset, p, { signal: opts.signal }));
    opts.onProgress?.(out.length, planned.length, p.label);
    // Let the event loop breathe (progress messages, cancellation) between runs.
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return out;
};

function abortError(): Error {
  const e = new Error('The study was cancelled.');
  e.name = 'AbortError';
  return e;
}

function spread(values: number[]): Spread | null {
  if (values.length === 0) return null;
  return { min: Math.min(...values), median: median(values), max: Math.max(...values) };
}

/** min/median/max of final loss and ρ per group, attached to every run of a multi-seed group. */
export function attachSeedSpread(runs: ReportRun[]): void {
  const groups = new Map<string, ReportRun[]>();
  for (const r of runs) {
    const key = r.group ?? r.id;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  for (const members of groups.values()) {
    if (members.length < 2) continue;
    const seeds = members.map((r) => r.config.seed as number);
    const s: SeedSpread = {
      finalLoss: spread(members.map((r) => r.loss))!,
      decayPerStep: spread(members.map((r) => r.diagnosis?.decayPerStep).filter((v): v is number => v !== null && v !== undefined)),
    };
    for (const r of members) {
      r.seeds = seeds;
      r.seedSpread = s;
    }
  }
}

export function describeStudy(spec: StudySpec, planned: PlannedRun[]): string {
  const d = spec.dataset;
  const what = spec.kind === 'clipping' ? 'Clipping sweep' : spec.kind === 'gates' ? 'Gate-choice comparison' : 'Diagnosis of gradient flow through time';
  const b = spec.base;
  return `${what} on ${d.name} (T = ${d.steps}, ${d.count} examples, ${d.mode}, ${d.loss}): ${planned.length} runs, ` +
    `hidden size ${b.hiddenSize}, ${b.optimizer} at learning rate ${fmt(b.learningRate)}, ${b.iterations} iterations of batch ${b.batchSize}, ${b.init} init.`;
}

/** Plan, run, diagnose, recommend (and optionally check the recommendations by re-running). */
export async function runStudy(spec: StudySpec, opts: RunStudyOptions = {}): Promise<Report> {
  const executor = opts.executor ?? sequentialExecutor;
  const planned = planRuns(spec);
  if (planned.length === 0) throw new Error('the study plans no runs (empty cell or clip list)');
  const thresholds = resolveThresholds(spec.thresholds);
  let total = planned.length;
  let doneBefore = 0;
  const progress = (done: number, _total: number, label: string) => opts.onProgress?.(doneBefore + done, total, label);

  const runs = await executor(spec.dataset, planned, { signal: opts.signal, onProgress: progress });
  doneBefore = runs.length;
  attachSeedSpread(runs);
  const context = (all: ReportRun[]) => ({ steps: spec.dataset.steps, vanishEpsilon: thresholds.vanishEpsilon, others: all as (ReportRun & { config: RunConfig })[] });
  for (const r of runs) r.recommendations = recommend(r as ReportRun & { config: RunConfig }, context(runs));

  if (spec.checkRecommendations) {
    const checks = planChecks(runs, spec);
    total += checks.fresh.length;
    const checkRuns = checks.fresh.length > 0 ? await executor(spec.dataset, checks.fresh, { signal: opts.signal, onProgress: progress }) : [];
    const all = [...runs, ...checkRuns];
    for (const r of checkRuns) r.recommendations = recommend(r as ReportRun & { config: RunConfig }, context(all));
    const byId = new Map(all.map((r) => [r.id, r]));
    for (const { run, runId } of checks.links) {
      const checked = byId.get(runId);
      const top = run.recommendations[0];
      if (checked && top) top.check = checkOf(checked, runId, run, run.recommendations[1]?.title ?? null);
    }
    runs.push(...checkRuns);
  } else if (spec.kind === 'gates') {
    // Every gate choice is already a run: a top recommendation that lands on one of them (a
    // switch to a cell on screen) is checked by that run, with no training added.
    for (const { run, runId } of planChecks(runs, spec).links) {
      const checked = runs.find((r) => r.id === runId);
      const top = run.recommendations[0];
      if (checked && top && checked !== run) top.check = checkOf(checked, runId, run, run.recommendations[1]?.title ?? null);
    }
  }

  const description = spec.description ?? describeStudy(spec, planned);
  const skipped = skippedRuns(spec);
  return {
    schema: 'bptt-lens/report@1',
    study: {
      kind: spec.kind,
      name: spec.name,
      source: spec.dataset.source,
      description: spec.note ? `${description} ${spec.note}` : description,
      task: spec.dataset.task,
      createdAt: new Date().toISOString(),
      thresholds,
      findings: studyFindings(spec.kind, runs, { steps: spec.dataset.steps, skipped }),
      ...(skipped.length > 0 ? { skipped } : {}),
    },
    runs,
  };
}

/**
 * What a recommendation's re-run found: the re-run's verdict, ρ, horizon and final loss, and —
 * given the run it was recommended for — whether it confirmed the recommendation, with the
 * next recommendation to try when it did not.
 */
export function checkOf(checked: ReportRun, runId = checked.id, original?: ReportRun, next: string | null = null): RecommendationCheck {
  const check: RecommendationCheck = {
    runId,
    verdict: checked.diagnosis?.verdict ?? 'healthy',
    finalLoss: finalLoss(checked),
    decayPerStep: checked.diagnosis?.decayPerStep ?? null,
    horizon: checked.diagnosis?.horizon ?? null,
  };
  if (original) {
    const view = (r: ReportRun) => ({ ...r, config: r.config as RunConfig, loss: finalLoss(r) });
    check.outcome = didBetter(view(checked), view(original)) ? 'confirmed' : didBetter(view(original), view(checked)) ? 'worse' : 'unchanged';
    // Not confirmed, or the verdict did not move: say what to try next.
    if (check.outcome !== 'confirmed' || check.verdict === original.diagnosis?.verdict) check.next = next;
  }
  return check;
}

/**
 * One check per group (its first seed): the top recommendation applied to that run's config.
 * A change that lands on a configuration the study already ran reuses that run.
 */
function planChecks(runs: ReportRun[], spec: StudySpec): { fresh: PlannedRun[]; links: { run: ReportRun; runId: string }[] } {
  const key = (c: RunConfig) => canonicalJson(c);
  const existing = new Map(runs.map((r) => [key(r.config as RunConfig), r.id]));
  const fresh: PlannedRun[] = [];
  const links: { run: ReportRun; runId: string }[] = [];
  const seenGroups = new Set<string>();
  for (const run of runs) {
    const group = run.group ?? run.id;
    if (seenGroups.has(group)) continue;
    seenGroups.add(group);
    const top = run.recommendations[0];
    if (!top) continue;
    const config = applyChange(run.config as RunConfig, top.change);
    const k = key(config);
    let runId = existing.get(k);
    if (runId === undefined) {
      runId = `check-${run.id}`;
      const label = `check: ${run.label} → ${top.title}`;
      fresh.push({ id: runId, label, config, group: label, ...(spec.thresholds ? { thresholds: spec.thresholds } : {}) });
      existing.set(k, runId);
    }
    links.push({ run, runId });
  }
  return { fresh, links };
}

/** JSON with object keys sorted, so equal configs give equal keys whatever order they were built in. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
