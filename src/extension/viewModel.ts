// What the Runs tree shows, built from Reports without vscode so it can be unit-tested:
// studies (this session's and saved ones) -> runs with a verdict icon, ρ and horizon, and
// the evidence as tooltip. runsTree.ts only maps these items onto vscode.TreeItem.
import { partialOf, partialText } from '../io/report/words';
import { finalLoss, lossText } from '../study/format';
import type { Report, ReportRun, Verdict } from '../study/types';

export interface IconSpec {
  /** Codicon id for vscode.ThemeIcon. */
  id: string;
  /** Theme color id for vscode.ThemeColor (undefined: default foreground). */
  color?: string;
}

export interface RunItem {
  kind: 'run';
  studyKey: string;
  runId: string;
  label: string;
  description: string;
  /** Plain-text lines (never HTML/Markdown): the verdict and its evidence. */
  tooltip: string[];
  icon: IconSpec;
}

export interface StudyItem {
  kind: 'study';
  key: string;
  label: string;
  description: string;
  tooltip: string[];
  icon: IconSpec;
  origin: 'session' | 'saved';
  /** The report.json of a saved report. */
  file?: string;
  /** null: a saved report not read yet (read when expanded). */
  runs: RunItem[] | null;
}

export type TreeItemModel = StudyItem | RunItem;

const VERDICT_ICONS: Record<Verdict, IconSpec> = {
  vanishing: { id: 'arrow-down', color: 'charts.blue' },
  exploding: { id: 'flame', color: 'charts.red' },
  healthy: { id: 'pass', color: 'charts.green' },
};

export function verdictIcon(verdict: Verdict | null | undefined): IconSpec {
  return verdict ? VERDICT_ICONS[verdict] : { id: 'circle-outline' };
}

/** A number for a one-line label: 3 significant digits, exponent form when tiny or huge. */
export function formatNumber(x: number | null | undefined): string {
  if (x === null || x === undefined) return '—';
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? '∞' : '−∞';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e4 || a < 1e-3) return x.toExponential(2);
  return String(Number(x.toPrecision(3)));
}

export function describeRun(run: ReportRun): string {
  const d = run.diagnosis;
  if (!d) return run.nonFinite ? 'non-finite' : 'no diagnosis';
  const horizon = d.horizon === null ? `horizon ≥ ${run.timesteps}` : `horizon ${d.horizon}/${run.timesteps}`;
  return `ρ ${formatNumber(d.decayPerStep)} · ${horizon}`;
}

export function runTooltip(run: ReportRun): string[] {
  const d = run.diagnosis;
  const lines = [`${run.label}: ${d ? d.verdict : 'no diagnosis'}`];
  if (d) {
    lines.push(`decay per step ρ = ${formatNumber(d.decayPerStep)}`);
    lines.push(d.horizon === null ? `horizon: the gradient never fell below ε within ${run.timesteps} steps` : `horizon = ${d.horizon} of ${run.timesteps} steps`);
    for (const e of d.evidence) lines.push(`• ${e}`);
  }
  lines.push(`final loss ${lossText(finalLoss(run))} (on the probe batch after training)`);
  if (run.nonFinite) lines.push(`non-finite ${run.nonFinite.quantity}${run.nonFinite.t === null ? '' : ` at t = ${run.nonFinite.t}`}`);
  const rec = run.recommendations?.[0];
  if (rec) lines.push(`Recommendation: ${rec.title}`);
  return lines;
}

export function buildRunItem(studyKey: string, run: ReportRun): RunItem {
  return {
    kind: 'run',
    studyKey,
    runId: run.id,
    label: run.label,
    description: describeRun(run),
    tooltip: runTooltip(run),
    icon: verdictIcon(run.diagnosis?.verdict),
  };
}

/** "2 vanishing, 1 healthy" in a fixed order. */
export function verdictSummary(report: Report): string {
  const counts: Record<string, number> = {};
  for (const r of report.runs) {
    const v = r.diagnosis?.verdict ?? 'undiagnosed';
    counts[v] = (counts[v] ?? 0) + 1;
  }
  return ['exploding', 'vanishing', 'healthy', 'undiagnosed'].filter((v) => counts[v]).map((v) => `${counts[v]} ${v}`).join(', ');
}

const KIND_LABELS: Record<string, string> = { diagnosis: 'Diagnosis', clipping: 'Clipping', gates: 'Gates', captures: 'Captures', probe: 'Probe' };

/** A report kind in words ("Diagnosis", "Captures", …); `fallback` for a kind this version does not know. */
export function kindLabel(kind: string, fallback = kind): string {
  return Object.hasOwn(KIND_LABELS, kind) ? KIND_LABELS[kind]! : fallback;
}

/** 'sample:airline' -> 'airline'; a file path -> its file name. */
export function displaySource(source: string): string {
  if (source.startsWith(SAMPLE_PREFIX)) return source.slice(SAMPLE_PREFIX.length);
  return source.split(/[\\/]/).pop() || source;
}

/** The built-in sample a study source names, if it is one ('sample:airline' or 'airline'). */
export function sampleOfSource(source: string): string | null {
  if (source.startsWith(SAMPLE_PREFIX)) return source.slice(SAMPLE_PREFIX.length);
  return /^[a-z-]+$/.test(source) ? source : null;
}

const SAMPLE_PREFIX = 'sample:';

/** The target column a file study predicts, from its task ('predict the next "temp_c" from ...'). */
export function targetColumnOf(report: Report): string | null {
  const m = /next "([^"]+)"/.exec(report.study.task ?? '');
  return m ? m[1]! : null;
}

/** "Diagnosis: daily_weather.csv → temp_c, T = 24": kind, data, target column (files) and T. */
export function studyLabel(report: Report): string {
  const kind = kindLabel(report.study.kind);
  const target = targetColumnOf(report);
  const T = report.runs[0]?.timesteps;
  return `${kind}: ${displaySource(report.study.source || report.study.name)}${target ? ` → ${target}` : ''}${T !== undefined ? `, T = ${T}` : ''}`;
}

/** Local time HH:MM for a session study, the date for a saved one. */
export function studyTime(createdAt: string, origin: 'session' | 'saved'): string {
  const t = new Date(createdAt);
  if (Number.isNaN(t.getTime())) return '';
  const pad = (n: number): string => String(n).padStart(2, '0');
  return origin === 'session'
    ? `${pad(t.getHours())}:${pad(t.getMinutes())}`
    : `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())}`;
}

export function buildStudyItem(key: string, report: Report, origin: 'session' | 'saved', file?: string): StudyItem {
  const time = studyTime(report.study.createdAt, origin);
  const summary = verdictSummary(report);
  const partial = partialOf(report.study);
  // A saved report says so (and when); a session study that was saved too says "saved".
  const where = origin === 'saved' ? `saved ${time}` : file ? `${time} · saved` : time;
  return {
    kind: 'study',
    key,
    label: studyLabel(report),
    description: [partial ? `partial ${partial.done}/${partial.total}` : '', summary, where].filter(Boolean).join(' · '),
    tooltip: [report.study.name, report.study.description, `task: ${report.study.task}`, ...(partial ? [partialText(partial)] : []), ...(file ? [`saved in ${file}`] : ['not saved yet'])].filter(Boolean),
    icon: origin === 'saved' ? { id: 'save' } : file ? { id: 'beaker', color: 'charts.green' } : { id: 'beaker' },
    origin,
    ...(file ? { file } : {}),
    runs: report.runs.map((r) => buildRunItem(key, r)),
  };
}

/** A saved report listed by its folder name before it is read. */
export function buildUnreadSavedItem(key: string, file: string, folderName: string): StudyItem {
  return {
    kind: 'study',
    key,
    label: folderName,
    description: 'saved report',
    tooltip: [`saved in ${file}`],
    icon: { id: 'save' },
    origin: 'saved',
    file,
    runs: null,
  };
}

export function findRun(report: Report, runId: string): ReportRun | undefined {
  return report.runs.find((r) => r.id === runId);
}

/**
 * Text from files (column names, file names) for QuickPick labels and descriptions: those
 * render `$(name)` as an icon, so escape it; drop control characters; cap the length.
 */
export function plainLabel(text: string, max = 80): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, ' ');
  const cut = clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
  return cut.replace(/(\\)?\$\(([\w-]+)\)/g, (match, escaped: string | undefined) => (escaped ? match : `\\${match}`));
}
