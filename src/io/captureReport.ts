// Captures as a report (design §6, §9): one run per captured training step, in step order,
// each carrying config.step, its diagnosis and the replay check; plus what only a series of
// captures shows: the verdict over training, the first step at which it changed, and the
// timestep × training-step heatmap of the top layer's ‖∂L/∂h_t‖. The CLI (`bptt-lens
// captures`) and the extension's Save Report both write it with these functions.
import { basename } from 'node:path';
import { fmt, resolveThresholds } from '../study/diagnosis';
import { horizonLabel } from '../study/format';
import type { DiagnosisThresholds, Report, ReportRun, Verdict } from '../study/types';
import type { CaptureRunRecord } from './captureRun';
import { heatmapFigure, renderFigures, type Figure } from './report/figures';
import { topLayerOf } from './report/throughTime';
import { renderHtml } from './report/html';
import { serializeReport } from './report/json';
import { renderMarkdown } from './report/markdown';
import type { ReportFiles } from './report/write';

/**
 * A capture's run record as a report run (id `step-<8 digits>`, label `step N`). Its `loss` is
 * the training batch loss when the recorder was given it (what a reader of the report expects
 * in the loss column); the replay's own objective ⟨grad_output, output⟩ + … stays in
 * `injectedObjective`.
 */
export function captureReportRun(record: CaptureRunRecord): ReportRun & { injectedObjective: number } {
  const step = Number(record.config.step);
  const trainingLoss = record.config.trainingLoss;
  return {
    ...record,
    loss: typeof trainingLoss === 'number' ? trainingLoss : record.loss,
    injectedObjective: record.loss,
    id: `step-${String(step).padStart(8, '0')}`,
    label: `step ${step}`,
    history: {
      loss: typeof trainingLoss === 'number' ? [trainingLoss] : [],
      preClipNorm: [record.globalGradNorm],
      postClipNorm: [record.clippedGradNorm],
      clipRate: 0,
      recorded: [],
    },
    recommendations: [],
  };
}

export function capturesReport(records: CaptureRunRecord[], folder: string, options: { thresholds?: Partial<DiagnosisThresholds>; createdAt?: string } = {}): Report {
  const runs = records.slice().sort((a, b) => Number(a.config.step) - Number(b.config.step)).map(captureReportRun);
  const first = records[0];
  const what = first ? `${String(first.config.name ?? '')} (${String(first.config.module ?? first.config.cell)}, ${first.config.numLayers} layer${first.config.numLayers === 1 ? '' : 's'}${first.config.bidirectional ? ', bidirectional' : ''}, H = ${first.config.hiddenSize})` : 'a recurrent module';
  const steps = runs.map((r) => Number(r.config.step));
  return {
    schema: 'bptt-lens/report@1',
    study: {
      kind: 'captures',
      name: `captures-${basename(folder) || 'folder'}`,
      source: folder,
      description: `Training captures of ${what}: ${runs.length} captured step${runs.length === 1 ? '' : 's'}${steps.length > 0 ? ` (${steps[0]} to ${steps[steps.length - 1]})` : ''}, each replayed in float64 with the gradient the rest of the network sent into the module.`,
      task: 'the exact gradient through time inside the module, from its captured weights, input, initial state and upstream gradient',
      createdAt: options.createdAt ?? new Date().toISOString(),
      thresholds: resolveThresholds(options.thresholds),
    },
    runs,
  };
}

/** The first captured step whose verdict differs from the one before it, or null. */
export function firstVerdictChange(runs: { config: Record<string, unknown>; diagnosis: { verdict: Verdict } | null }[]): { step: number; from: Verdict; to: Verdict } | null {
  for (let k = 1; k < runs.length; k++) {
    const a = runs[k - 1]!.diagnosis?.verdict;
    const b = runs[k]!.diagnosis?.verdict;
    if (a && b && a !== b) return { step: Number(runs[k]!.config.step), from: a, to: b };
  }
  return null;
}

function errorText(v: number | null | undefined): string {
  if (v === null || v === undefined) return '—';
  if (!Number.isFinite(v)) return String(v);
  return v === 0 ? '0' : v.toExponential(1);
}

/** Verdict over training: a row per captured step, then the first change. */
export function verdictOverTraining(report: Report): string[] {
  const eps = report.study.thresholds.vanishEpsilon;
  const header = ['step', 'verdict', 'ρ/step', `horizon(${fmt(eps)})`, 'replay error', '∂L/∂x error', 'loss'];
  const rows = report.runs.map((r) => {
    const c = r as unknown as CaptureRunRecord & ReportRun;
    const d = r.diagnosis;
    return [
      String(r.config.step),
      d?.verdict ?? '—',
      fmt(d?.decayPerStep ?? null),
      d ? (d.horizon === null ? horizonLabel(null, r.timesteps) : `${d.horizon}/${r.timesteps}`) : '—',
      errorText(c.replayError),
      errorText(c.inputGradError),
      typeof r.config.trainingLoss === 'number' ? fmt(r.config.trainingLoss) : '—',
    ];
  });
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
  const line = (cells: string[]) => cells.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd();
  const out = [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line), ''];
  const change = firstVerdictChange(report.runs);
  if (report.runs.length === 0) out.push('No captures.');
  else if (change) out.push(`The verdict changed first at step ${change.step}: ${change.from} → ${change.to}.`);
  else out.push(`The verdict stayed ${report.runs[0]!.diagnosis?.verdict ?? '—'} over all ${report.runs.length} captured steps.`);
  return out;
}

/** The heatmap of the top layer's ‖∂L/∂h_t‖: timestep × captured training step. */
export function overTrainingHeatmap(report: Report): Figure | null {
  if (report.runs.length === 0) return null;
  const last = report.runs[report.runs.length - 1]!;
  const series: ReportRun = {
    ...last,
    id: 'over-training',
    label: 'training captures',
    history: {
      ...last.history,
      recorded: report.runs.map((r) => ({ iteration: Number(r.config.step), layers: r.layers, inputGradNorm: r.inputGradNorm, lagProfile: r.diagnosis?.lagProfile ?? [] })),
    },
  };
  const figure = heatmapFigure(series, 0);
  if (!figure) return null;
  return {
    ...figure,
    run: undefined,
    file: 'heatmap-over-training.svg',
    title: 'Gradient over training',
    caption: 'Total gradient norm ‖∂L/∂h_t‖ of the top layer (the injected gradient plus what arrives through the recurrence) at every timestep (x) for each captured training step (y, later steps on top), on a log colour scale.',
  };
}

/**
 * ‖∂L/∂h_t‖ of the top layer's output at each t: the forward state, joined with the reverse one
 * for a bidirectional module (the output concatenates both), so it is comparable with
 * directGradNorm, which spans all D·H output columns.
 */
export function topOutputGradNorm(layers: ReportRun['layers']): number[] | null {
  const top = topLayerOf(layers);
  if (!top) return null;
  const reverse = layers.find((l) => l.layer === top.layer && l.direction === 'reverse');
  return top.gradNormH.map((v, t) => (reverse ? Math.hypot(v, reverse.gradNormH[t]!) : v));
}

/** The share of the top output's ‖∂L/∂h_t‖ that did not arrive directly: 1 − directGradNorm / total, clamped to [0, 1]. */
export function recurrentShare(run: { layers: ReportRun['layers']; directGradNorm?: number[] }): number[] | null {
  const total = topOutputGradNorm(run.layers);
  const direct = run.directGradNorm;
  if (!total || !direct || total.length !== direct.length) return null;
  return total.map((v, t) => (v > 0 ? Math.min(1, Math.max(0, 1 - direct[t]! / v)) : 0));
}

/** Every file of a captures report folder (report.json, report.md with SVGs, report.html). Pure. */
export function renderCapturesReportFiles(report: Report): ReportFiles {
  // Per-run heatmaps would be one row each; the over-training heatmap replaces them.
  const figures = renderFigures(report, 0).filter((f) => f.run === undefined && !/loss/i.test(f.file));
  const heat = overTrainingHeatmap(report);
  const all = heat ? [heat, ...figures] : figures;
  const files: ReportFiles = new Map();
  files.set('report.json', serializeReport(report));
  const markdown = renderMarkdown(report, all).split('\n').filter((l) => !l.startsWith('Heatmaps are drawn for the first')).join('\n');
  const section = ['## Verdict over training', '', '```', ...verdictOverTraining(report), '```', ''];
  files.set('report.md', markdown.replace('## How to read this', `${section.join('\n')}\n## How to read this`));
  files.set('report.html', renderHtml(report, all));
  for (const f of all) files.set(f.file, f.svg);
  return files;
}
