// `bptt-lens diagnose`: build the data, run a diagnosis study (cells × clips), write the
// report folder and print the verdict table. All input is checked before anything runs, so
// bad input is one InputError line (the CLI prints it and exits 2) and nothing is written.

import { existsSync, mkdtempSync, rmdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { readSequenceFile } from '../io/sequences';
import { InputError } from '../io/errors';
import { enableWasmKernels } from '../engine/kernels/wasmGemm';
import { writeReportFolder } from '../io/report/write';
import { fmt } from '../study/diagnosis';
import { horizonLabel } from '../study/format';
import { isSampleName, loadSample, SAMPLE_NAMES } from '../study/samples';
import { defaultRunConfig, isCellChoice, runStudy, type StudySpec } from '../study/study';
import type { CellChoice, ClipSpec, Dataset, Report, RunExecutor } from '../study/types';
import { defaultWorkerPath, WorkerPool } from '../worker/pool';

export interface DiagnoseOptions {
  sample?: string;
  data?: string;
  cells?: string;
  clip?: string;
  iterations?: string | number;
  seed?: string | number;
  outDir?: string;
  /** Re-run each configuration's top recommendation (default true). */
  check?: boolean;
}

export const DEFAULT_CELLS: CellChoice[] = ['rnn-tanh', 'lstm', 'gru'];
export const DEFAULT_CLIPS: ClipSpec[] = [{ kind: 'none' }, { kind: 'norm', threshold: 1 }];
export const DEFAULT_OUT_DIR = 'bptt-reports';

export interface DiagnoseIo {
  out(line: string): void;
  progress?(line: string): void;
}

/** Runs the command; throws InputError for bad input before anything runs or is written. */
export async function diagnoseCommand(options: DiagnoseOptions, io: DiagnoseIo = defaultIo()): Promise<string> {
  const cells = parseCells(options.cells);
  const clips = parseClips(options.clip);
  const iterations = options.iterations === undefined ? undefined : parseInteger('--iterations', options.iterations, 1, 1_000_000);
  const seed = options.seed === undefined ? 1 : parseInteger('--seed', options.seed, 0, 0xffffffff);
  if (options.sample !== undefined && options.data !== undefined) throw new InputError('--data', null, 'give either --sample or --data, not both');
  const outDir = options.outDir ?? DEFAULT_OUT_DIR;
  checkOutDir(outDir);
  const dataset = await loadDataset(options, seed);

  const base = defaultRunConfig(dataset, { seed, ...(iterations !== undefined ? { iterations } : {}) });
  const spec: StudySpec = {
    kind: 'diagnosis',
    name: `diagnose-${dataset.name}`,
    dataset,
    base,
    cells,
    clips,
    checkRecommendations: options.check ?? true,
  };

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

function defaultIo(): DiagnoseIo {
  // `bptt-lens diagnose | head`: a closed pipe ends the output, not the process with a stack.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  return {
    out: (line) => process.stdout.write(line + '\n'),
    progress: process.stderr.isTTY ? (line) => process.stderr.write(`\r\x1b[K${line}`) : undefined,
  };
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

async function loadDataset(options: DiagnoseOptions, seed: number): Promise<Dataset> {
  if (options.data !== undefined) {
    if (options.data.trim() === '') throw new InputError('--data', null, 'expected a file path');
    return readSequenceFile(options.data, {});
  }
  const name = options.sample ?? 'airline';
  if (!isSampleName(name)) throw new InputError('--sample', null, `unknown sample '${name}'; expected one of ${SAMPLE_NAMES.join(', ')}`);
  return loadSample(name, { seed });
}

export function parseCells(list: string | undefined): CellChoice[] {
  if (list === undefined) return DEFAULT_CELLS;
  const items = splitList('--cells', list);
  for (const item of items) {
    if (!isCellChoice(item)) {
      throw new InputError('--cells', null, `unknown cell '${item}'; expected a comma-separated list of rnn-tanh, rnn-relu, gru, lstm, lstm-peephole, lstm-cifg, lstm-nfg, lstm-nig, lstm-nog, lstm-niaf, lstm-noaf`);
    }
  }
  return items as CellChoice[];
}

/** `none`, a number (norm threshold), `norm:X` or `value:X`, comma-separated. */
export function parseClips(list: string | undefined): ClipSpec[] {
  if (list === undefined) return DEFAULT_CLIPS;
  return splitList('--clip', list).map((item): ClipSpec => {
    if (item === 'none') return { kind: 'none' };
    const m = /^(?:(norm|value):)?(.+)$/.exec(item)!;
    const kind = (m[1] ?? 'norm') as 'norm' | 'value';
    const threshold = Number(m[2]);
    if (!/^[0-9.eE+-]+$/.test(m[2]!) || !Number.isFinite(threshold) || !(threshold > 0)) {
      throw new InputError('--clip', null, `bad clip '${item}'; expected none, a positive norm threshold such as 5, norm:5 or value:0.5`);
    }
    return { kind, threshold };
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
      fmt(r.loss),
      `${Math.round(r.history.clipRate * 100)}%`,
    ];
  });
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
  const line = (cells: string[]) => cells.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd();
  const out = [report.study.description, '', line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];

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
    let s = `- ${r.label} (${r.diagnosis?.verdict ?? '—'}): ${top.title}`;
    const c = top.check;
    if (c) {
      s += ` → re-run: ${c.verdict}, ρ ${fmt(r.diagnosis?.decayPerStep ?? null)} → ${fmt(c.decayPerStep ?? null)}` +
        `, horizon ${horizonLabel(r.diagnosis?.horizon ?? null, r.timesteps)} → ${c.horizon === undefined ? '—' : horizonLabel(c.horizon, r.timesteps)}` +
        `, final loss ${fmt(r.loss)} → ${fmt(c.finalLoss)}`;
    }
    advice.push(s);
  }
  if (advice.length > 0) out.push('', 'Recommendations (top one per configuration, checked by re-running):', ...advice);
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
    lines.push(`Lowest final loss: ${best.label} (${fmt(best.loss)}).`);
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
