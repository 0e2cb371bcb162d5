// A probe's result as a report (kind 'probe'): the `gradients` run record of a state dict on a
// sequence file, as one run, with findings written for one pass with given weights (not a
// training run), and its report folder (no loss over training; a timestep × layer heatmap).
// No engine here: the extension host builds and saves these without loading the engine.
import { basename } from 'node:path';
import { AUTO_ITEMIZED_MAX_STEPS } from '../engine/types';
import { fmt, resolveThresholds } from '../study/diagnosis';
import type { DiagnosisThresholds, Report, ReportRun, RunRecord } from '../study/types';
import { heatmapFigure, lagProfileFigure, type Figure } from './report/figures';
import { renderHtml } from './report/html';
import { serializeReport } from './report/json';
import { renderMarkdown } from './report/markdown';
import type { ReportFiles } from './report/write';

/** The probe's run record as a one-run report (kind 'probe'): the study panel draws it, Save Report writes it. */
export function probeReport(record: RunRecord, options: { weights: string; input: string; thresholds?: Partial<DiagnosisThresholds>; createdAt?: string }): Report {
  const c = record.config;
  const weightsName = basename(options.weights);
  const inputName = basename(options.input);
  const what = `${String(c.cellChoice ?? c.cell)}, ${String(c.numLayers)} layer${c.numLayers === 1 ? '' : 's'}${c.bidirectional ? ', bidirectional' : ''}, H = ${String(c.hiddenSize)}`;
  const run: ReportRun = {
    ...record,
    id: 'probe',
    label: `${String(c.cellChoice ?? c.cell)} · ${inputName}`,
    history: {
      loss: [record.loss],
      preClipNorm: [record.globalGradNorm],
      postClipNorm: [record.clippedGradNorm],
      clipRate: 0,
      recorded: [],
    },
    recommendations: [],
  };
  const thresholds = resolveThresholds(options.thresholds);
  return {
    schema: 'bptt-lens/report@1',
    study: {
      findings: probeFindings(run, weightsName, inputName, thresholds.vanishEpsilon),
      kind: 'probe',
      name: `probe-${stem(weightsName)}-${stem(inputName)}`,
      source: options.input,
      description: `The state dict ${weightsName} (${what}) probed on ${inputName}: one forward and backward pass with its weights (${String(c.mode)}, ${String(c.loss)} loss, ${String(c.batchSize)} sequence${c.batchSize === 1 ? '' : 's'} of ${record.timesteps} steps), no training: what bptt-lens gradients computes.`,
      task: `the gradient through time of ${weightsName} on ${inputName}`,
      createdAt: options.createdAt ?? new Date().toISOString(),
      thresholds,
    },
    runs: [run],
  };
}

/** The summary sentences (the panel and report.md open with them): one pass with given weights, not a training run. */
function probeFindings(run: ReportRun, weightsName: string, inputName: string, eps: number): string[] {
  const T = run.timesteps;
  const d = run.diagnosis;
  const out = [`With the weights of ${weightsName}, the gradient through time on ${inputName} is ${d?.verdict ?? 'not diagnosed'} (T = ${T}; one forward and backward pass, no training).`];
  if (d && d.decayPerStep !== null) {
    const horizon = d.horizon === null ? `the gradient keeps at least ${fmt(eps)} of its size over the whole ${T}-step sequence` : `the gradient falls below ${fmt(eps)} of its size ${d.horizon} steps back`;
    out.push(`Decay per step ρ = ${fmt(d.decayPerStep)}; ${horizon}.`);
  }
  out.push(`Loss ${fmt(run.loss)} (${String(run.config.loss)}, ${String(run.config.mode)}), global gradient norm ${fmt(run.globalGradNorm)}.`);
  if (run.config.mode === 'many-to-many' && run.itemized === null) {
    out.push(`No itemized matrix: it costs one backward pass per scored step and is computed up to T = ${AUTO_ITEMIZED_MAX_STEPS}; the lag profile comes from the state gradients (see the evidence).`);
  }
  return out;
}

function stem(name: string): string {
  const s = name.replace(/\.(safetensors|json)$/i, '').replace(/[^A-Za-z0-9._-]+/g, '-');
  return s.slice(0, 40) || 'file';
}

/**
 * Every file of a probe's report folder: report.json, and report.md/html with the gradient
 * through time (normalised and absolute) and ‖∂L/∂h_t‖ by timestep and layer — no loss over
 * training (there was none) and no heatmap over iterations. Pure.
 */
export function renderProbeReportFiles(report: Report): ReportFiles {
  const figures: Figure[] = [lagProfileFigure(report, 'normalised'), lagProfileFigure(report, 'absolute')];
  const run = report.runs[0];
  if (run) {
    // One heatmap row per layer and direction: the figure's rows are "recorded" passes, one per layer.
    const rows = run.layers.map((l, i) => ({ iteration: i, layers: [l], inputGradNorm: run.inputGradNorm, lagProfile: [] }));
    const labels = run.layers.map((l) => `${l.layer}${l.direction === 'reverse' ? ' rev' : ''}`);
    const heat = heatmapFigure({ ...run, history: { ...run.history, recorded: rows } }, 0, { title: 'layer', noun: 'layers', labels });
    if (heat) {
      figures.push({
        ...heat,
        file: 'heatmap-layers.svg',
        title: 'Gradient by timestep and layer',
        caption: 'Gradient norm ‖∂L/∂h_t‖ of every layer (y, the top layer on top; "rev": the reverse direction) at every timestep (x), on a log colour scale: where the gradient fades, and in which layer.',
      });
    }
  }
  const files: ReportFiles = new Map();
  files.set('report.json', serializeReport(report));
  files.set('report.md', renderMarkdown(report, figures).split('\n').filter((l) => !l.startsWith('Heatmaps are drawn for the first')).join('\n'));
  files.set('report.html', renderHtml(report, figures));
  for (const f of figures) files.set(f.file, f.svg);
  return files;
}
