// One esbuild run for every bundle the project ships or runs.
//   dist/extension.js  extension host (node, cjs, 'vscode' external)
//   dist/worker.js     engine worker thread started by the extension host and the CLI
//   dist/cli.js        `bptt-lens` command line
//   dist/webview.js    the webview UI (browser, iife)
//   dist/captures.js   the Training Captures view (browser, iife)
//   dist/bench.js      the benchmark against TensorFlow.js (not shipped)
import * as esbuild from 'esbuild';
import { existsSync, mkdirSync } from 'node:fs';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

const node = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  external: ['vscode'],
  // Prefer ES module builds: some packages' UMD "main" (jsonc-parser) requires its own files
  // at run time, which a bundle cannot resolve.
  mainFields: ['module', 'main'],
};

const browser = {
  bundle: true,
  platform: 'browser',
  format: 'iife',
  target: 'es2022',
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
};

const builds = [
  { ...node, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js' },
  { ...node, entryPoints: ['src/worker/studyWorker.ts'], outfile: 'dist/worker.js' },
  { ...node, entryPoints: ['src/cli.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } },
  { ...browser, entryPoints: ['webview/main.ts'], outfile: 'dist/webview.js' },
  // The Training Captures view: its own small bundle (no Chart.js).
  { ...browser, entryPoints: ['webview/captures/main.ts'], outfile: 'dist/captures.js' },
];
if (!production) {
  builds.push({
    ...node,
    entryPoints: ['bench/bench.ts'],
    outfile: 'dist/bench.js',
    // TF.js is loaded from node_modules at run time: its wasm backend locates its .wasm files there.
    external: ['vscode', '@tensorflow/*'],
  });
}

mkdirSync('dist', { recursive: true });
const present = builds.filter((b) => existsSync(b.entryPoints[0]));
if (watch) {
  for (const b of present) (await esbuild.context(b)).watch();
} else {
  await Promise.all(present.map((b) => esbuild.build(b)));
}
