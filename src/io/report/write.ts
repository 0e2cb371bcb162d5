// The report folder (design §6): <parent>/<YYYY-MM-DD>-<name>/ holding report.json,
// report.md with its SVG figures, and report.html. Writing is atomic: everything is built
// in a hidden temporary folder inside the parent and renamed into place in one step; on
// any error the temporary folder is removed and nothing is left behind. An existing
// folder is never overwritten: the name gets -2, -3, ... instead. An interrupt (SIGINT,
// SIGTERM, SIGHUP) during the write removes the temporary folder before the process ends;
// one left by a process that died anyway is removed by the next write into the same parent.
import { promises as fs, rmSync } from 'node:fs';
import * as path from 'node:path';
import type { Report } from '../../study/types';
import { MAX_HEATMAPS, MAX_HTML_HEATMAPS, renderFigures } from './figures';
import { isoDate, slugify } from './format';
import { renderHtml } from './html';
import { serializeReport } from './json';
import { renderMarkdown } from './markdown';
import { cleanupOnSignal, sweepStaleTemps, tempName } from '../tempFiles';

export type ReportFiles = Map<string, string | Uint8Array>;

/** Every file of the report folder, by relative path. Pure: no I/O. */
export function renderReportFiles(report: Report): ReportFiles {
  const all = renderFigures(report, MAX_HTML_HEATMAPS);
  const figures = all.filter((f) => f.run === undefined || f.run < MAX_HEATMAPS);
  const files: ReportFiles = new Map();
  files.set('report.json', serializeReport(report));
  files.set('report.md', renderMarkdown(report, figures));
  files.set('report.html', renderHtml(report, all));
  for (const f of figures) files.set(f.file, f.svg);
  return files;
}

export interface WriteReportOptions {
  /** Folder name after the date (slugified); default: the study name. */
  name?: string;
  /** Produces the files (default renderReportFiles); lets callers add files, and tests inject failures. */
  render?: (report: Report) => ReportFiles;
  /** Date used in the folder name (default: the study's createdAt, else today). */
  date?: Date;
}

const MAX_SUFFIX = 1000;

/** Write the report folder under parentDir (created if missing) and return its path. */
export async function writeReportFolder(report: Report, parentDir: string, opts: WriteReportOptions = {}): Promise<string> {
  // Render first: a rendering error leaves the disk untouched.
  const files = (opts.render ?? renderReportFiles)(report);
  for (const rel of files.keys()) checkRelativePath(rel);

  const parent = path.resolve(parentDir);
  await fs.mkdir(parent, { recursive: true });
  const base = `${opts.date ? opts.date.toISOString().slice(0, 10) : isoDate(report.study?.createdAt)}-${slugify(opts.name ?? report.study?.name ?? 'report')}`;
  sweepStaleTemps(parent);
  const temp = path.join(parent, tempName(base));
  // A write still in flight on libuv's thread pool can add a file while the folder is being
  // removed (ENOTEMPTY): retry, as rmSync offers for exactly that.
  const removeTemp = (): void => rmSync(temp, { recursive: true, force: true, maxRetries: 10, retryDelay: 20 });
  return cleanupOnSignal(removeTemp, async (interrupted) => {
    interrupted.throwIfAborted();
    await fs.mkdir(temp);
    try {
      // Subfolders are made one level at a time, never recursively: a recursive mkdir still
      // in flight on libuv's thread pool when the signal handler removes the temporary folder
      // would create it again after the handler, and the process, are gone.
      const made = new Set<string>();
      for (const [rel, content] of files) {
        const parts = path.normalize(rel).split(path.sep).slice(0, -1);
        for (let i = 1; i <= parts.length; i++) {
          const dir = path.join(temp, ...parts.slice(0, i));
          if (made.has(dir)) continue;
          interrupted.throwIfAborted();
          await fs.mkdir(dir).catch((e: unknown) => {
            if (!isCode(e, 'EEXIST')) throw e;
          });
          made.add(dir);
        }
        interrupted.throwIfAborted();
        await fs.writeFile(path.join(temp, rel), content, { flag: 'wx', signal: interrupted });
      }
      for (let n = 1; n <= MAX_SUFFIX; n++) {
        const final = path.join(parent, n === 1 ? base : `${base}-${n}`);
        if (await exists(final)) continue;
        interrupted.throwIfAborted();
        try {
          await fs.rename(temp, final);
          return final;
        } catch (e) {
          // Someone created it between the check and the rename: try the next name.
          if (isCode(e, 'EEXIST', 'ENOTEMPTY', 'EPERM', 'EISDIR') && (await exists(final))) continue;
          throw e;
        }
      }
      throw new Error(`no free report folder name: ${base} through ${base}-${MAX_SUFFIX} all exist in ${parent}`);
    } catch (e) {
      await fs.rm(temp, { recursive: true, force: true }).catch(() => undefined);
      throw e;
    }
  });
}

function checkRelativePath(rel: string): void {
  const normal = path.posix.normalize(rel.replace(/\\/g, '/'));
  if (!rel || path.isAbsolute(rel) || normal.startsWith('../') || normal === '..' || normal === '.' || /^[a-zA-Z]:/.test(rel)) {
    throw new Error(`report file path must stay inside the report folder: ${JSON.stringify(rel)}`);
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.lstat(p);
    return true;
  } catch (e) {
    if (isCode(e, 'ENOENT')) return false;
    throw e;
  }
}

function isCode(e: unknown, ...codes: string[]): boolean {
  return typeof e === 'object' && e !== null && codes.includes(String((e as { code?: unknown }).code));
}
