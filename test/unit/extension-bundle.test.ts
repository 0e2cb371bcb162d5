// The shipped bundles must be self-contained: the .vsix has no node_modules, so a relative
// require left in dist/*.js (e.g. by a UMD package whose factory calls require('./impl/x'))
// throws "Cannot find module" at run time in the installed extension.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { WEBVIEW_COMMANDS } from '../../src/protocol';

const dist = path.resolve(__dirname, '..', '..', 'dist');
const RELATIVE_REQUIRE = /\b(?:__)?require\d*\(\s*["']\.\.?\/[^"']*["']\s*\)/g;

for (const bundle of ['extension.js', 'worker.js', 'cli.js']) {
  const file = path.join(dist, bundle);
  test(`dist/${bundle} has no relative require() that the packaged extension cannot resolve`, { skip: existsSync(file) ? false : 'not built (npm test builds first)' }, () => {
    const text = readFileSync(file, 'utf8');
    const found = [...new Set(text.match(RELATIVE_REQUIRE) ?? [])];
    assert.deepEqual(found, [], `${bundle} requires files that are not shipped: ${found.join(', ')} (import the package's ESM build, e.g. 'jsonc-parser/lib/esm/main.js')`);
  });
}

test('the manifest points at the bundles the build writes', () => {
  const pkg = JSON.parse(readFileSync(path.resolve(__dirname, '..', '..', 'package.json'), 'utf8')) as {
    main: string; contributes: { commands: { command: string; title: string; category?: string }[] };
  };
  assert.equal(pkg.main, './dist/extension.js');
  const titles = Object.fromEntries(pkg.contributes.commands.map((c) => [c.command, `${c.category}: ${c.title}`]));
  assert.equal(titles['bpttLens.runDiagnosis'], 'BPTT Lens: Run Diagnosis');
  assert.equal(titles['bpttLens.compareClipping'], 'BPTT Lens: Compare Clipping Thresholds');
  assert.equal(titles['bpttLens.compareGates'], 'BPTT Lens: Compare Gate Choices');
  assert.equal(titles['bpttLens.diagnoseFile'], 'BPTT Lens: Diagnose Sequence File');
  assert.equal(titles['bpttLens.openPanel'], 'BPTT Lens: Open Panel');
  assert.equal(titles['bpttLens.saveReport'], 'BPTT Lens: Save Report');
  assert.equal(titles['bpttLens.openReport'], 'BPTT Lens: Open Saved Report');
});

test('settings defaults in package.json match the ones the host falls back to', async () => {
  const { DEFAULT_SETTINGS } = await import('../../src/extension/settings');
  const pkg = JSON.parse(readFileSync(path.resolve(__dirname, '..', '..', 'package.json'), 'utf8')) as {
    contributes: { configuration: { properties: Record<string, { default: unknown }> } };
  };
  const props = pkg.contributes.configuration.properties;
  const d = DEFAULT_SETTINGS;
  const expected: Record<string, unknown> = {
    hiddenSize: d.hiddenSize, sequenceLength: d.length, iterations: d.iterations, learningRate: d.learningRate,
    optimizer: d.optimizer, batchSize: d.batchSize, numLayers: d.numLayers, init: d.init, spectralRadius: d.spectralRadius,
    forgetBias: d.forgetBias, truncation: 0, seeds: d.seeds,
    clipThresholds: d.clipThresholds, clipValue: d.clipValue, cells: d.cells, seed: d.seed, reportFolder: d.reportFolder,
    'diagnosis.vanishEpsilon': d.thresholds.vanishEpsilon, 'diagnosis.rhoDelta': d.thresholds.rhoDelta, 'diagnosis.explodeGrowth': d.thresholds.explodeGrowth,
  };
  for (const [key, value] of Object.entries(expected)) assert.deepEqual(props[`bpttLens.${key}`]?.default, value, key);
  assert.deepEqual(Object.keys(props).sort(), Object.keys(expected).map((k) => `bpttLens.${k}`).sort());
});

test('every command a webview, the walkthrough or a menu names is declared and registered; walkthrough pages exist', () => {
  const root = path.resolve(__dirname, '..', '..');
  type Menu = Record<string, { command: string }[]>;
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    contributes: {
      commands: { command: string }[];
      menus: Menu;
      walkthroughs: { steps: { id: string; description: string; media: { markdown?: string } }[] }[];
    };
  };
  const declared = new Set(pkg.contributes.commands.map((c) => c.command));
  // The handler table in extension.ts: "'bpttLens.x': (...) =>".
  const source = readFileSync(path.join(root, 'src', 'extension', 'extension.ts'), 'utf8');
  const registered = new Set([...source.matchAll(/'(bpttLens\.[\w.]+)':\s*\(/g)].map((m) => m[1]!));
  assert.deepEqual([...declared].sort(), [...registered].sort(), 'package.json commands and the ones extension.ts registers');
  for (const command of WEBVIEW_COMMANDS) assert.ok(declared.has(command), `webview command ${command}`);
  for (const [menu, items] of Object.entries(pkg.contributes.menus)) {
    for (const item of items) assert.ok(declared.has(item.command), `${menu}: ${item.command}`);
  }
  for (const step of pkg.contributes.walkthroughs.flatMap((w) => w.steps)) {
    const links = [...step.description.matchAll(/\(command:([\w.]+)\)/g)].map((m) => m[1]!);
    for (const command of links) assert.ok(declared.has(command), `walkthrough step ${step.id}: ${command}`);
    if (step.media.markdown) assert.ok(existsSync(path.join(root, step.media.markdown)), `walkthrough step ${step.id}: ${step.media.markdown}`);
  }
});
