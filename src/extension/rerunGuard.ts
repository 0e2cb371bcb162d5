// "Apply & re-run" on a report read from disk: the report is untrusted input. Its
// study.source decides which file the extension reads and its run config decides how long
// the workers train, so (pure logic, no vscode, unit-tested):
//   - the data source resolves only to a built-in sample or to a file inside the workspace
//     folder that holds the report (symlinks resolved); anything else is shown to the user,
//     full path included, who decides;
//   - the config is clamped to the limits the settings themselves allow;
//   - the workload is described in one line, for the user to confirm before it starts.
import * as path from 'node:path';
import type { RunConfig } from '../study/types';

export type RerunSource =
  | { kind: 'sample'; name: string }
  /** Inside the workspace folder holding the report: read it without asking. */
  | { kind: 'inside'; file: string }
  /** Anywhere else: ask, showing `file` (absolute) and why. */
  | { kind: 'ask'; file: string; reason: string };

/** Largest values an untrusted config keeps: the settings' own maxima (package.json), and the shapes the extension itself trains. */
export const UNTRUSTED_LIMITS = { hiddenSize: 256, numLayers: 4, iterations: 100_000, batchSize: 256, steps: 1000 } as const;

export function isInside(folder: string, file: string): boolean {
  const rel = path.relative(folder, file);
  return rel !== '' && !rel.startsWith(`..${path.sep}`) && rel !== '..' && !path.isAbsolute(rel);
}

/**
 * Where a saved report's data would be read from. `realpath` resolves symlinks (it is
 * fs.promises.realpath in the extension; identity in tests); a file that does not exist
 * resolves to itself and then fails to read.
 */
export async function resolveRerunSource(
  source: string,
  reportFile: string | undefined,
  workspaceFolders: readonly string[],
  sampleOf: (source: string) => string | null,
  realpath: (p: string) => Promise<string>,
): Promise<RerunSource> {
  const sample = sampleOf(source);
  if (sample !== null) return { kind: 'sample', name: sample };
  const real = (p: string): Promise<string> => realpath(p).catch(() => p);
  const home = reportFile ? workspaceFolders.find((f) => isInside(f, reportFile)) : undefined;
  if (!home) {
    const file = path.resolve(reportFile ? path.dirname(reportFile) : workspaceFolders[0] ?? '.', source);
    return { kind: 'ask', file, reason: reportFile ? 'the report is not inside a workspace folder' : 'the report has no folder' };
  }
  const file = path.resolve(home, source);
  const [realHome, realFile] = await Promise.all([real(home), real(file)]);
  if (!isInside(realHome, realFile)) {
    return { kind: 'ask', file: realFile, reason: realFile === file ? `it is outside the workspace folder ${home}` : `it leads (through a symbolic link) outside the workspace folder ${home}` };
  }
  return { kind: 'inside', file };
}

/** The config with every size above UNTRUSTED_LIMITS lowered to it, and one note per change. */
export function clampUntrustedConfig(config: RunConfig): { config: RunConfig; changes: string[] } {
  const out = { ...config };
  const changes: string[] = [];
  for (const key of ['hiddenSize', 'numLayers', 'iterations', 'batchSize'] as const) {
    const limit = UNTRUSTED_LIMITS[key];
    if (typeof out[key] === 'number' && out[key] > limit) {
      changes.push(`${key} ${out[key].toLocaleString('en-US')} → ${limit.toLocaleString('en-US')}`);
      out[key] = limit;
    }
  }
  return { config: out, changes };
}

/** Steps per sequence for re-reading a saved report's data: its timesteps, within the settings' limit. */
export function clampSteps(timesteps: number): number {
  return Math.max(1, Math.min(UNTRUSTED_LIMITS.steps, Math.floor(Number.isFinite(timesteps) ? timesteps : 1)));
}

/** "lstm, 2 layers of 64 units, 3,000 iterations of batch 32 on 12 steps (≈ 1.2e9 multiply-adds)". */
export function workloadText(config: RunConfig, steps: number, inputSize: number): string {
  const gates = config.cell === 'lstm' ? 4 : config.cell === 'gru' ? 3 : 1;
  const H = config.hiddenSize;
  const directions = config.bidirectional ? 2 : 1;
  // Forward + backward ≈ 3 × the forward products, per layer, step and example.
  const perStep = gates * H * (H + Math.max(inputSize, H * directions)) * directions * config.numLayers;
  const madds = 3 * perStep * steps * config.batchSize * config.iterations;
  return `${config.cellChoice}, ${config.numLayers} layer${config.numLayers === 1 ? '' : 's'} of ${H} units${config.bidirectional ? ' (bidirectional)' : ''}, `
    + `${config.iterations.toLocaleString('en-US')} iterations of batch ${config.batchSize} on ${steps} steps (about ${madds.toExponential(1)} multiply-adds)`;
}
