// Where Save Report writes and where saved reports are looked for; pure path logic (no
// vscode, no file access) so the choice is unit-tested.
import * as path from 'node:path';

export type SaveTarget =
  /** Write under this parent directory without asking. */
  | { kind: 'dir'; parentDir: string }
  /** Several workspace folders: let the user pick one of these parent directories. */
  | { kind: 'pick'; candidates: { folder: string; parentDir: string }[] }
  /** No workspace folder: ask with an open-folder dialog. */
  | { kind: 'ask' };

/**
 * The report folder setting is relative to a workspace folder (absolute paths are taken as
 * they are). A relative setting may not climb out of its workspace folder with '..'.
 */
export function resolveReportDir(workspaceFolder: string, reportFolder: string): string | null {
  if (path.isAbsolute(reportFolder)) return path.normalize(reportFolder);
  const dir = path.resolve(workspaceFolder, reportFolder);
  const rel = path.relative(workspaceFolder, dir);
  if (rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) return null;
  return dir;
}

/**
 * First workspace folder when there is one (or the folder of the active editor, when it
 * belongs to a workspace folder: the user is working there); a choice when there are several
 * and nothing hints which; a dialog when none is open.
 */
export function chooseSaveTarget(workspaceFolders: readonly string[], reportFolder: string, hintFolder?: string): SaveTarget {
  const candidates = workspaceFolders
    .map((folder) => ({ folder, parentDir: resolveReportDir(folder, reportFolder) }))
    .filter((c): c is { folder: string; parentDir: string } => c.parentDir !== null);
  if (candidates.length === 0) return { kind: 'ask' };
  if (path.isAbsolute(reportFolder)) return { kind: 'dir', parentDir: candidates[0]!.parentDir };
  if (hintFolder) {
    const hinted = candidates.find((c) => c.folder === hintFolder);
    if (hinted) return { kind: 'dir', parentDir: hinted.parentDir };
  }
  if (candidates.length === 1) return { kind: 'dir', parentDir: candidates[0]!.parentDir };
  return { kind: 'pick', candidates };
}

/** A short report name from the study: "diagnosis-airline", "clipping-my-data". */
export function reportName(kind: string, source: string): string {
  const base = path.basename(source.replace(/^sample:/, '')).replace(/\.[^.]+$/, '');
  const slug = `${kind}-${base}`.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  return slug.slice(0, 60) || 'report';
}
