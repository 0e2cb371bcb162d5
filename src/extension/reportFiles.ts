// Saved reports on disk: finding them under the report folders and writing one
// (writeReportFolder: atomic, never overwrites); reading one back is io/report/read.ts's
// readReportFile, which runs in the worker. No vscode here.
import { readdir, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { renderCapturesReportFiles } from '../io/captureReport';
import { renderProbeReportFiles } from '../io/probeReport';
import { writeReportFolder } from '../io/report/write';
import type { Report } from '../study/types';
import { reportName } from './reportPaths';
import { isInside } from './rerunGuard';

/** `<dir>/<folder>/report.json` for every report folder directly under each dir, newest name first. */
export async function findSavedReports(dirs: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const dir of dirs) {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      continue; // no report folder yet
    }
    for (const e of entries) {
      if (!e.isDirectory() || e.name.startsWith('.')) continue; // .tmp-* folders are writes in progress
      const file = path.join(dir, e.name, 'report.json');
      try {
        if ((await stat(file)).isFile()) out.push(file);
      } catch {
        // a folder without report.json is not a report
      }
    }
  }
  return out.sort((a, b) => path.basename(path.dirname(b)).localeCompare(path.basename(path.dirname(a))));
}

/**
 * Writes the report folder under parentDir; returns the folder's path. A data file inside the
 * workspace folder that will hold the report is recorded relative to it, so the report can be
 * re-run there (and on another machine) without asking.
 */
export async function saveReportFolder(report: Report, parentDir: string, workspaceFolders: readonly string[] = []): Promise<string> {
  const home = workspaceFolders.find((f) => isInside(f, path.resolve(parentDir)));
  const source = report.study.source;
  const relative = home && path.isAbsolute(source) && isInside(home, source) ? path.relative(home, source).split(path.sep).join('/') : null;
  const saved = relative ? { ...report, study: { ...report.study, source: relative } } : report;
  return writeReportFolder(saved, parentDir, {
    name: reportName(report.study.kind, report.study.source || report.study.name),
    // Captures get the verdict over training and the timestep × training-step heatmap.
    ...(report.study.kind === 'captures' ? { render: renderCapturesReportFiles } : {}),
    // A probe is one pass: no loss over training, a timestep × layer heatmap instead.
    ...(report.study.kind === 'probe' ? { render: renderProbeReportFiles } : {}),
  });
}
