// The study worker bundled from the current source into a temporary folder, with the node
// options of scripts/build.mjs: pool tests exercise this source, not whatever dist/ holds,
// and do not depend on the other bundles building at this moment.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as esbuild from 'esbuild';

export interface WorkerBundle {
  /** The temporary folder (remove it with `remove`); tests may write their own files there. */
  dir: string;
  workerPath: string;
  remove(): void;
}

export async function bundleWorker(prefix: string): Promise<WorkerBundle> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const workerPath = path.join(dir, 'worker.js');
  await esbuild.build({
    entryPoints: [path.join(__dirname, '../../src/worker/studyWorker.ts')],
    outfile: workerPath,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    mainFields: ['module', 'main'],
    logLevel: 'warning',
  });
  return { dir, workerPath, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
