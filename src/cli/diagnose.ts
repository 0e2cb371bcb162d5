// `bptt-lens diagnose`: the three studies of the extension's palette (--study diagnosis |
// clipping | gates) from the same definition (src/study/options.ts studySpec) with a flag for
// every setting, same defaults. Builds the data, runs the study, writes the report folder and
// prints what the study found and the verdict table. All input is checked before anything
// runs, so bad input is one InputError line (the CLI prints it and exits 2) and nothing is written.

import { existsSync, mkdtempSync, rmdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { isMissingValuesError, readSequenceFile, type MissingPolicy } from '../io/sequences';
import { InputError } from '../io/errors';
import { enableWasmKernels } from '../engine/kernels/wasmGemm';
import { writeReportFolder } from '../io/report/write';
import { fmt } from '../study/diagnosis';
import { checkSentence, finalLoss, horizonLabel, lossText } from '../study/format';
import {
  DEFAULT_SAMPLE, DEFAULT_STUDY_OPTIONS, OPTION_LIMITS, parseClip, parseTruncation, presetNote, studySpec,
  type StudyOptions,
} from '../study/options';
import { isSampleName, loadSample, SAMPLE_NAMES, SAMPLES } from '../study/samples';
import { ALL_CELLS, runStudy, type StudySpec } from '../study/study';
import { canonicalCellName } from '../engine/cells';
import type { CellChoice, ClipSpec, Dataset, InitScheme, OptimizerKind, Report, RunExecutor, StudyKind } from '../study/types';
import { isWindowedSeries, suggestWindow, targetSeries, type WindowSuggestion } from '../study/window';
import { defaultWorkerPath, WorkerPool } from '../worker/pool';
import { consoleIo } from './output';

/** The flags as commander hands them over (strings, or booleans for switches). */
export interface DiagnoseOptions {
  study?: string;
  sample?: string;
  data?: string;
  target?: string;
  missing?: string;
  length?: string | number;
  cells?: string;
  clip?: string;
  hidden?: string | number;
  layers?: string | number;
  iterations?: string | number;
  lr?: string | number;
  optimizer?: string;
  batch?: string | number;
  init?: string;
  spectralRadius?: string | number;
  forgetBias?: boolean;
  truncation?: string;
  seed?: string | number;
  seeds?: string;
  epsilon?: string | number;
  rhoDelta?: string | number;
  explodeGrowth?: string | number;
  outDir?: string;
  /** Re-run each configuration's top recommendation (default true). */
  check?: boolean;
}

export const DEFAULT_OUT_DIR = 'bptt-reports';

export interface DiagnoseIo {
  out(line: string): void;
  progress?(line: string): void;
}

/** The flags as StudyOptions (the extension builds the same from its settings), plus the explicit lists. */
export function optionsFromFlags(flags: DiagnoseOptions): { kind: StudyKind; options: StudyOptions; cells?: CellChoice[]; clips?: ClipSpec[] } {
  const kind = (flags.study ?? 'diagnosis') as StudyKind;
  if (!['diagnosis', 'clipping', 'gates'].includes(kind)) throw new InputError('--study', null, `unknown study '${kind}'; expected diagnosis, clipping or gates`);
  const d = DEFAULT_STUDY_OPTIONS;
  const L = OPTION_LIMITS;
  const int = (flag: string, v: string | number | undefined, lim: { min: number; max: number }, min = lim.min): number | undefined =>
    v === undefined ? undefined : parseInteger(flag, v, min, lim.max);
  const num = (flag: string, v: string | number | undefined, min: number, max: number, exclusiveMin = true): number | undefined =>
    v === undefined ? undefined : parseNumber(flag, v, min, max, exclusiveMin);
  const seed = int('--seed', flags.seed, L.seed) ?? d.seed;
  const cells = flags.cells === undefined ? undefined : parseCells(flags.cells);
  const clips = flags.clip === undefined ? undefined : parseClips(flags.clip);
  let truncation = d.truncation;
  if (flags.truncation !== undefined) {
    const t = parseTruncation(String(flags.truncation));
    if (t === undefined) throw new InputError('--truncation', null, `bad truncation '${flags.truncation}'; expected K (K steps every K steps), K1:K2 with 1 <= K1 <= K2 <= ${L.length.max}, or none`);
    truncation = t;
  }
  const options: StudyOptions = {
    ...d,
    length: int('--length', flags.length, L.length, 1) ?? d.length,
    hiddenSize: int('--hidden', flags.hidden, L.hiddenSize, 1) ?? d.hiddenSize,
    numLayers: int('--layers', flags.layers, L.numLayers) ?? d.numLayers,
    iterations: int('--iterations', flags.iterations, L.iterations, 1) ?? d.iterations,
    learningRate: num('--lr', flags.lr, 0, L.learningRate.max) ?? d.learningRate,
    optimizer: (flags.optimizer as OptimizerKind | undefined) ?? d.optimizer,
    batchSize: int('--batch', flags.batch, L.batchSize, 1) ?? d.batchSize,
    init: (flags.init as InitScheme | undefined) ?? d.init,
    spectralRadius: num('--spectral-radius', flags.spectralRadius, 0, L.spectralRadius.max) ?? d.spectralRadius,
    forgetBias: flags.forgetBias ?? d.forgetBias,
    truncation,
    seed,
    seeds: flags.seeds === undefined ? [] : splitList('--seeds', flags.seeds).map((s) => parseInteger('--seeds', s, L.seed.min, L.seed.max)),
    cells: cells ?? [...d.cells],
    thresholds: {
      vanishEpsilon: num('--epsilon', flags.epsilon, 0, 1) ?? d.thresholds.vanishEpsilon,
      rhoDelta: num('--rho-delta', flags.rhoDelta, 0, 1, false) ?? d.thresholds.rhoDelta,
      explodeGrowth: num('--explode-growth', flags.explodeGrowth, 1, 1e12) ?? d.thresholds.explodeGrowth,
    },
  };
  if (options.thresholds.vanishEpsilon >= 1) throw new InputError('--epsilon', null, `expected a number above 0 and below 1, got '${flags.epsilon}'`);
  return { kind, options, ...(cells ? { cells } : {}), ...(clips ? { clips } : {}) };
}

/** Runs the command; throws InputError for bad input before anything runs or is written. */
export async function diagnoseCommand(flags: DiagnoseOptions, io: DiagnoseIo = consoleIo()): Promise<string> {
  const { kind, options, cells, clips } = optionsFromFlags(flags);
  if (flags.sample !== undefined && flags.data !== undefined) throw new InputError('--data', null, 'give either --sample or --data, not both');
  if (flags.target !== undefined && flags.data === undefined) throw new InputError('--target', null, 'a target column needs a --data file');
  if (flags.missing !== undefined && flags.data === undefined) throw new InputError('--missing', null, 'a missing-value policy needs a --data file');
  const outDir = flags.outDir ?? DEFAULT_OUT_DIR;
  checkOutDir(outDir);
  const { dataset, window } = await loadDataset(flags, kind, options);
  if (window) io.out(`Window T = ${window.window}: ${window.reason} (--length to choose another).`);

  const spec: StudySpec = studySpec(kind, dataset, options, { cells, clips });
  if (flags.check === false) spec.checkRecommendations = false;
  const note = presetNote(kind, options);
  if (note) spec.note = note;

  const { executor, close } = makeExecutor();
  let report: Report;
  try {
    report = await runStudy(spec, {
      executor,
      onProgress: (done, total, label) => io.progress?.(`[${done}/${total}] ${label}`),
    });
  } finally {
    await close();
    io.progress?.('');
  }
  const folder = await writeReportFolder(report, outDir, { name: spec.name }).catch((e: NodeJS.ErrnoException) => {
    // The destination failed after the check above (disk full, permissions changed meanwhile):
    // still one line and exit 2; the writer leaves no partial report folder behind.
    if (typeof e.code === 'string') throw new InputError('--out-dir', null, `cannot write the report (${e.code}: ${e.message})`);
    throw e;
  });
  for (const line of verdictTable(report)) io.out(line);
  io.out('');
  io.out(`Report: ${folder}`);
  return folder;
}


/** The worker pool when its bundle is beside us (dist/), else in-process runs. */
function makeExecutor(): { executor?: RunExecutor; close(): Promise<void> } {
  if (!existsSync(defaultWorkerPath())) {
    // In-process, with the workers' WebAssembly kernels: the same bits as the TypeScript ones, faster.
    enableWasmKernels();
    return { close: async () => {} };
  }
  const pool = new WorkerPool();
  return { executor: pool.executor, close: () => pool.close() };
}

/**
 * The report's parent folder may not exist yet, but its nearest existing ancestor must be a
 * folder we can create folders in. That is tried for real (an empty folder made and removed
 * at once), because permission bits do not tell: root passes every access() check, and
 * read-only or virtual file systems (/proc, /sys) refuse anyway. Without this, a study of
 * many minutes would end in a failed write.
 */
export function checkOutDir(dir: string): void {
  if (dir.trim() === '') throw new InputError('--out-dir', null, 'expected a folder path');
  let p = resolve(dir);
  for (;;) {
    if (existsSync(p)) {
      if (!statSync(p).isDirectory()) throw new InputError('--out-dir', null, `'${p}' is a file; expected a folder for the report folders`);
      break;
    }
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  try {
    rmdirSync(mkdtempSync(join(p, '.bptt-lens-write-check-')));
  } catch (e) {
    throw new InputError('--out-dir', null, `cannot create the report folder under '${p}' (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

async function loadDataset(flags: DiagnoseOptions, kind: StudyKind, options: StudyOptions): Promise<{ dataset: Dataset; window: WindowSuggestion | null }> {
  if (flags.data !== undefined) {
    if (flags.data.trim() === '') throw new InputError('--data', null, 'expected a file path');
    const target = flags.target === undefined ? undefined : /^\s*[0-9]+\s*$/.test(flags.target) ? Number(flags.target) : flags.target;
    const missing: MissingPolicy | undefined = flags.missing === 'drop' || flags.missing === 'interpolate' ? flags.missing : undefined;
    const base = { ...(target !== undefined ? { targetColumn: target } : {}), ...(missing ? { missing } : {}) };
    try {
      if (options.length > 0) return { dataset: await readSequenceFile(flags.data, { ...base, window: options.length }), window: null };
      const window = await suggestFileWindow(flags.data, base);
      if (!window) return { dataset: await readSequenceFile(flags.data, base), window: null };
      return { dataset: await readSequenceFile(flags.data, { ...base, window: window.window }), window };
    } catch (e) {
      // The reader asks for a choice; on the command line the choice is a flag.
      if (isMissingValuesError(e)) throw new InputError(e.file, e.line, `${e.detail} (--missing drop or --missing interpolate)`);
      throw e;
    }
  }
  const name = flags.sample ?? DEFAULT_SAMPLE[kind];
  if (!isSampleName(name)) throw new InputError('--sample', null, `unknown sample '${name}'; expected one of ${SAMPLE_NAMES.join(', ')}`);
  try {
    return { dataset: loadSample(name, { seed: options.seed, ...(options.length > 0 ? { steps: options.length } : {}) }), window: null };
  } catch (e) {
    if (e instanceof RangeError) throw new InputError('--length', null, e.message);
    throw e;
  }
}

/**
 * For a windowed series (CSV/TSV, JSON numbers or rows): the window suggested from its target
 * column's autocorrelation. null for files that bring their own sequences (a {"x","y"} batch,
 * character-level text). Reads the file once with a window of 1, whose targets are the series.
 */
export async function suggestFileWindow(file: string, base: { targetColumn?: string | number; missing?: MissingPolicy }): Promise<WindowSuggestion | null> {
  const series = await readSequenceFile(file, { ...base, window: 1 });
  if (!isWindowedSeries(series)) return null;
  return suggestWindow(targetSeries(series), { maxWindow: OPTION_LIMITS.length.max, fallback: SAMPLES.airline.defaults.steps });
}

export function parseCells(list: string): CellChoice[] {
  const out: CellChoice[] = [];
  for (const item of splitList('--cells', list)) {
    const cell = canonicalCellName(item);
    if (!cell) throw new InputError('--cells', null, `unknown cell '${item}'; expected a comma-separated list of ${ALL_CELLS.join(', ')} (rnn = rnn-tanh)`);
    if (!out.includes(cell)) out.push(cell);
  }
  return out;
}

/** `none`, a number (norm threshold), `norm:X` or `value:X`, comma-separated. */
export function parseClips(list: string): ClipSpec[] {
  return splitList('--clip', list).map((item): ClipSpec => {
    const clip = parseClip(item);
    if (!clip) throw new InputError('--clip', null, `bad clip '${item}'; expected none, a positive norm threshold such as 5, norm:5 or value:0.5`);
    return clip;
  });
}

function splitList(flag: string, list: string): string[] {
  const items = list.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (items.length === 0) throw new InputError(flag, null, 'expected a non-empty comma-separated list');
  return [...new Set(items)];
}

function parseInteger(flag: string, value: string | number, min: number, max: number): number {
  const n = typeof value === 'number' ? value : /^\s*[0-9]+\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw new InputError(flag, null, `expected a whole number from ${min} to ${max}, got '${value}'`);
  return n;
}

function parseNumber(flag: string, value: string | number, min: number, max: number, exclusiveMin: boolean): number {
  const n = typeof value === 'number' ? value : /^\s*[0-9.eE+-]+\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isFinite(n) || (exclusiveMin ? n <= min : n < min) || n > max) {
    throw new InputError(flag, null, `expected a number ${exclusiveMin ? 'above' : 'from'} ${min}${exclusiveMin ? ',' : ''} ${exclusiveMin ? 'at most' : 'to'} ${max}, got '${value}'`);
  }
  return n;
}

/** Steps until a decay of ρ per step reaches ε: ln ε / ln ρ (for ρ < 1). */
function projectedSteps(rho: number | null | undefined, epsilon: number): string {
  if (rho === null || rho === undefined || !(rho > 0) || rho >= 1) return '—';
  return `~${Math.ceil(Math.log(epsilon) / Math.log(rho))}`;
}

/**
 * configuration → verdict (now and at init), ρ, horizon, the projected lag at which ρ^k
 * reaches ε, final loss, clip rate; then a summary and each configuration's top
 * recommendation with the result of its check run.
 */
export function verdictTable(report: Report): string[] {
  const eps = report.study.thresholds.vanishEpsilon;
  const header = ['configuration', 'verdict', 'at init', 'ρ/step', 'horizon', `${fmt(eps)} after`, 'final loss', 'clip rate'];
  const rows = report.runs.map((r) => {
    const d = r.diagnosis;
    const stopped = r.history.stoppedAt;
    return [
      r.label,
      (d?.verdict ?? '—') + (stopped !== null && stopped !== undefined ? ` (stopped at ${stopped})` : ''),
      r.initialDiagnosis?.verdict ?? '—',
      fmt(d?.decayPerStep ?? null),
      d ? (d.horizon === null ? horizonLabel(null, r.timesteps) : `${d.horizon}/${r.timesteps}`) : '—',
      projectedSteps(d?.decayPerStep, eps),
      lossText(finalLoss(r)),
      `${Math.round(r.history.clipRate * 100)}%`,
    ];
  });
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
  const line = (cells: string[]) => cells.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd();
  const out = [report.study.description, ''];
  const findings = report.study.findings ?? [];
  if (findings.length > 0) out.push('Findings:', ...findings.map((f) => `- ${f}`), '');
  out.push(line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line));

  const studied = report.runs.filter((r) => !r.id.startsWith('check-'));
  out.push('', ...summary(studied, eps));
  const why = studied.filter((r) => r.diagnosis && r.diagnosis.evidence.length > 0);
  if (why.length > 0) {
    out.push('', 'Why (the deciding evidence per configuration; all of it is in report.md):');
    for (const r of why) out.push(`- ${r.label}: ${r.diagnosis!.evidence[0]}`);
  }
  const advice: string[] = [];
  for (const r of studied) {
    const top = r.recommendations[0];
    if (!top) continue;
    advice.push(`- ${r.label} (${r.diagnosis?.verdict ?? '—'}): ${top.title}.` + (top.check ? ` ${checkSentence(r, top.check, report.runs)}` : ''));
  }
  if (advice.length > 0) out.push('', 'Recommendations (top one per configuration, checked by re-running it or by the study\'s run of that configuration):', ...advice);
  return out;
}

function summary(runs: Report['runs'], eps: number): string[] {
  if (runs.length === 0) return [];
  const T = runs[0]!.timesteps;
  const count = (v: string) => runs.filter((r) => r.diagnosis?.verdict === v).length;
  const countInit = (v: string) => runs.filter((r) => r.initialDiagnosis?.verdict === v).length;
  const lines = [
    `Summary: ${count('healthy')} healthy, ${count('vanishing')} vanishing, ${count('exploding')} exploding of ${runs.length} configurations (T = ${T}) after training;` +
      ` at initialisation ${countInit('healthy')} healthy, ${countInit('vanishing')} vanishing, ${countInit('exploding')} exploding.`,
  ];
  const finite = runs.filter((r) => Number.isFinite(r.loss));
  if (finite.length > 0) {
    const best = finite.reduce((a, b) => (b.loss < a.loss ? b : a));
    lines.push(`Lowest final loss: ${best.label} (${lossText(finalLoss(best))}).`);
  }
  const decaying = runs.filter((r) => (r.diagnosis?.decayPerStep ?? 1) < 1);
  if (decaying.length > 0) {
    const worst = decaying.reduce((a, b) => (b.diagnosis!.decayPerStep! < a.diagnosis!.decayPerStep! ? b : a));
    const rho = worst.diagnosis!.decayPerStep!;
    lines.push(`Fastest decay: ${worst.label}, ρ = ${fmt(rho)} per step: at that rate the gradient from ${projectedSteps(rho, eps).slice(1)} steps back is ${fmt(eps)} of the last step's` +
      (worst.diagnosis!.horizon === null ? ` (within these ${T} steps the profile stays above it; longer windows would vanish).` : '.'));
  }
  return lines;
}
