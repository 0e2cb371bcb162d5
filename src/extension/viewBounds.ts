// What the webviews are asked to draw is bounded, whatever a saved report holds: a report
// with 2,000 runs took 182 s to render and a 3000×3000 itemized matrix blocked the panel
// for 54 s. The store keeps the whole report (Save Report writes it all); the views get
// the first MAX_VIEW_RUNS runs (and the selected one), itemized matrices of at most
// MAX_VIEW_ITEMIZED_ROWS rows, and at most MAX_VIEW_RECORDED recorded iterations per run
// (evenly spaced, first and last kept), with one sentence per thing left out. Pure, no vscode.
import type { Report, ReportRun } from '../study/types';

export const MAX_VIEW_RUNS = 50;
/** The engine's own cap on itemized (ITEMIZED_MAX_STEPS): 512 × 513 / 2 cells. */
export const MAX_VIEW_ITEMIZED_ROWS = 512;
export const MAX_VIEW_RECORDED = 1000;

export interface BoundedRun {
  run: ReportRun;
  notes: string[];
}

export function boundRunForView(run: ReportRun): BoundedRun {
  const notes: string[] = [];
  let out = run;
  if (run.itemized && run.itemized.length > MAX_VIEW_ITEMIZED_ROWS) {
    notes.push(`The itemized matrix of "${run.label}" (${run.itemized.length} × ${run.itemized.length}) is not drawn: the views draw at most ${MAX_VIEW_ITEMIZED_ROWS} rows.`);
    out = { ...out, itemized: null };
  }
  const recorded = run.history?.recorded ?? [];
  if (recorded.length > MAX_VIEW_RECORDED) {
    const keep: typeof recorded = [];
    for (let i = 0; i < MAX_VIEW_RECORDED; i++) keep.push(recorded[Math.round((i * (recorded.length - 1)) / (MAX_VIEW_RECORDED - 1))]!);
    notes.push(`"${run.label}" recorded ${recorded.length} iterations; the heatmaps draw ${MAX_VIEW_RECORDED} of them, evenly spaced.`);
    out = { ...out, history: { ...out.history, recorded: keep } };
  }
  return { run: out, notes };
}

export interface BoundedReport {
  report: Report;
  notes: string[];
}

/** The report as the panel draws it. Returns the same object when nothing is left out. */
export function boundReportForView(report: Report, selectedRunId?: string): BoundedReport {
  const notes: string[] = [];
  let runs = report.runs;
  if (runs.length > MAX_VIEW_RUNS) {
    const first = runs.slice(0, MAX_VIEW_RUNS);
    const selected = selectedRunId !== undefined ? runs.find((r) => r.id === selectedRunId) : undefined;
    if (selected && !first.includes(selected)) first[first.length - 1] = selected;
    notes.push(`This report has ${runs.length} runs; the panel draws ${MAX_VIEW_RUNS} of them (the first ones${selected ? ' and the selected one' : ''}). Every run stays in report.json and in the Runs tree.`);
    runs = first;
  }
  let changed = runs !== report.runs;
  const bounded = runs.map((r) => {
    const b = boundRunForView(r);
    notes.push(...b.notes);
    if (b.run !== r) changed = true;
    return b.run;
  });
  return { report: changed ? { ...report, runs: bounded } : report, notes };
}
