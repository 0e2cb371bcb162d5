// What the JSON Schemas cannot say about a run record or a report run: sizes that must agree
// with each other. Each check names the first disagreement by JSON path; the reader turns it
// into one InputError line. NaN (a null in the file) passes every numeric bound: it is how
// report.json records a value that was not finite, which is a finding, not a forgery.
import type { LayerRecord } from '../../engine/types';
import type { Diagnosis, Report, ReportRun, RunRecord, TrainingHistory } from '../../study/types';

export class SemanticError {
  constructor(readonly path: string, readonly message: string) {}
}

type Run = RunRecord & Partial<Pick<ReportRun, 'history' | 'initialDiagnosis'>>;

function fail(path: string, message: string): never {
  throw new SemanticError(path, message);
}

/** Every per-timestep series has T values ('optional' ones may also be empty: older records). */
function lengthT(series: readonly unknown[] | null | undefined, T: number, path: string, optional = false): void {
  if (series === null || series === undefined) return;
  if (optional && series.length === 0) return;
  if (series.length !== T) fail(path, `expected ${T} values (one per timestep, timesteps = ${T}), got ${series.length}`);
}

function layersFit(layers: LayerRecord[], run: Run, path: string): void {
  const T = run.timesteps;
  const config = run.config as Record<string, unknown>;
  const numLayers = typeof config.numLayers === 'number' ? config.numLayers : null;
  const bidirectional = typeof config.bidirectional === 'boolean' ? config.bidirectional : null;
  const seen = new Set<string>();
  layers.forEach((l, i) => {
    const at = `${path}[${i}]`;
    if (numLayers !== null && l.layer >= numLayers) fail(`${at}.layer`, `layer ${l.layer} does not exist: config.numLayers is ${numLayers} (layers are numbered from 0)`);
    if (bidirectional === false && l.direction === 'reverse') fail(`${at}.direction`, 'a reverse-direction layer, but config.bidirectional is false');
    const key = `${l.layer}/${l.direction}`;
    if (seen.has(key)) fail(`${at}.layer`, `layer ${l.layer} (${l.direction}) appears twice`);
    seen.add(key);
    lengthT(l.gradNormH, T, `${at}.gradNormH`);
    lengthT(l.gradNormC, T, `${at}.gradNormC`);
    lengthT(l.gradNormState, T, `${at}.gradNormState`);
    lengthT(l.weightGradByStep, T, `${at}.weightGradByStep`, true);
    lengthT(l.jacobianNorm, T, `${at}.jacobianNorm`);
    for (const field of ['gateGradNorm', 'gateMean', 'gateSaturation'] as const) {
      for (const [gate, series] of Object.entries(l[field] ?? {})) lengthT(series, T, `${at}.${field}.${gate}`);
    }
  });
  if (numLayers !== null && bidirectional !== null && layers.length > numLayers * (bidirectional ? 2 : 1)) {
    fail(path, `${layers.length} layer records for ${numLayers} layer${numLayers === 1 ? '' : 's'}${bidirectional ? ' in two directions' : ''}`);
  }
}

function diagnosisFits(d: Diagnosis | null | undefined, T: number, path: string): void {
  if (!d) return;
  if (d.horizon !== null && d.horizon > T) fail(`${path}.horizon`, `horizon ${d.horizon} is longer than the sequence (timesteps = ${T})`);
  if (d.lagProfile.length > T) fail(`${path}.lagProfile`, `expected at most ${T} values (lags 0 to T-1), got ${d.lagProfile.length}`);
}

function historyFits(h: TrainingHistory, run: Run, path: string): void {
  const n = h.loss.length;
  if (h.preClipNorm.length !== n) fail(`${path}.preClipNorm`, `expected ${n} values (one per iteration, as history.loss), got ${h.preClipNorm.length}`);
  if (h.postClipNorm.length !== n) fail(`${path}.postClipNorm`, `expected ${n} values (one per iteration, as history.loss), got ${h.postClipNorm.length}`);
  if (h.stoppedAt !== undefined && h.stoppedAt !== null && h.stoppedAt > n) fail(`${path}.stoppedAt`, `iteration ${h.stoppedAt} is past the ${n} iterations recorded`);
  let previous = -1;
  h.recorded.forEach((r, i) => {
    const at = `${path}.recorded[${i}]`;
    if (r.iteration > n) fail(`${at}.iteration`, `iteration ${r.iteration} is past the ${n} iterations of history.loss`);
    if (r.iteration <= previous) fail(`${at}.iteration`, `iteration ${r.iteration} does not come after ${previous}: recorded iterations must increase`);
    previous = r.iteration;
    layersFit(r.layers, run, `${at}.layers`);
    lengthT(r.inputGradNorm, run.timesteps, `${at}.inputGradNorm`, true);
    if (r.lagProfile.length > run.timesteps) fail(`${at}.lagProfile`, `expected at most ${run.timesteps} values, got ${r.lagProfile.length}`);
  });
}

/** Checks one run (a run@1 record, or a run of a report). Throws SemanticError. */
export function checkRunSemantics(run: Run, path: string): void {
  const T = run.timesteps;
  layersFit(run.layers, run, `${path}.layers`);
  lengthT(run.inputGradNorm, T, `${path}.inputGradNorm`, true);
  if (run.itemized) {
    // RNNbow's itemized matrix: row s holds ‖∂ℓ_s/∂s_k‖ for k = 0..s, at most T rows.
    if (run.itemized.length > T) fail(`${path}.itemized`, `expected at most ${T} rows (timesteps = ${T}), got ${run.itemized.length}`);
    run.itemized.forEach((row, s) => {
      if (row.length !== s + 1) fail(`${path}.itemized[${s}]`, `expected ${s + 1} values (row s of the lower-triangular matrix holds k = 0..s), got ${row.length}`);
    });
  }
  const nf = run.nonFinite;
  if (nf) {
    if (nf.t !== null && nf.t >= T) fail(`${path}.nonFinite.t`, `step ${nf.t} is past the sequence (timesteps = ${T})`);
    const numLayers = (run.config as Record<string, unknown>).numLayers;
    if (nf.layer !== null && typeof numLayers === 'number' && nf.layer >= numLayers) fail(`${path}.nonFinite.layer`, `layer ${nf.layer} does not exist: config.numLayers is ${numLayers}`);
  }
  diagnosisFits(run.diagnosis, T, `${path}.diagnosis`);
  diagnosisFits(run.initialDiagnosis, T, `${path}.initialDiagnosis`);
  if (run.history) historyFits(run.history, run, `${path}.history`);
}

export function checkReportSemantics(report: Report): void {
  report.runs.forEach((run, i) => checkRunSemantics(run, `runs[${i}]`));
}
