// The report writers on a real study (engine + study), not just the hand-built fixture:
// seeds with spread, recommendation checks, and a run that overflows to non-finite values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseReport } from '../../src/io/report/read';
import { serializeReport } from '../../src/io/report/json';
import { writeReportFolder } from '../../src/io/report/write';
import { loadSample } from '../../src/study/samples';
import { defaultRunConfig, runStudy } from '../../src/study/study';
import { checkWellFormed } from './report-xml';

test('a real study with an overflowing run: folder, round trip, well-formed figures, notes in report.md', async () => {
  const adding = loadSample('adding', { seed: 2, steps: 200, count: 8 });
  // W_hh at spectral radius 20 with ReLU: the forward pass overflows for some seeds.
  const base = defaultRunConfig(adding, { iterations: 4, hiddenSize: 4, batchSize: 8, spectralRadius: 20, learningRate: 0.5 });
  const report = await runStudy({ kind: 'diagnosis', name: 'Overflow <study>', dataset: adding, base, cells: ['rnn-relu', 'lstm'], seeds: [1, 2], checkRecommendations: true });
  assert.ok(report.runs.some((r) => r.nonFinite !== null), 'the study has a non-finite run to show');

  const parent = mkdtempSync(path.join(tmpdir(), 'bptt-report-study-'));
  try {
    const dir = await writeReportFolder(report, parent);
    assert.match(path.basename(dir), /^\d{4}-\d{2}-\d{2}-overflow-study$/);
    const json = readFileSync(path.join(dir, 'report.json'), 'utf8');
    assert.equal(serializeReport(parseReport(json, 'report.json')), json, 'report.json reads back and re-saves byte for byte');
    for (const name of readdirSync(dir).filter((n) => n.endsWith('.svg'))) checkWellFormed(readFileSync(path.join(dir, name), 'utf8'));
    const md = readFileSync(path.join(dir, 'report.md'), 'utf8');
    assert.match(md, /# BPTT Lens report: Overflow &lt;study&gt;/);
    assert.match(md, /Training stopped at iteration \d+ on a non-finite loss or gradient\./);
    assert.match(md, /First non-finite value: /);
    assert.match(md, /At initialisation \(before training\): /);
    assert.match(md, /over 2 seeds\)/, 'seed spread in the summary');
    assert.match(md, /Checked (by re-running|against the study's own run)/);
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
});
