import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadSample } from '../../src/study/samples';
import { ALL_CELLS, attachSeedSpread, defaultRunConfig, planRuns, runStudy, sequentialExecutor } from '../../src/study/study';
import type { ReportRun } from '../../src/study/types';

const airline = loadSample('airline', { seed: 1 });

test('defaultRunConfig follows the data and lets the caller override', () => {
  const c = defaultRunConfig(airline, { hiddenSize: 7, cellChoice: 'lstm-cifg' });
  assert.equal(c.mode, airline.mode);
  assert.equal(c.loss, airline.loss);
  assert.equal(c.hiddenSize, 7);
  assert.equal(c.cell, 'lstm');
  assert.equal(c.variant, 'cifg');
  assert.ok(c.batchSize <= airline.count);
});

test('clipping sweep: same cell, data, init and seed; none, norm and value clipping', () => {
  const base = defaultRunConfig(airline, { seed: 7 });
  const planned = planRuns({ kind: 'clipping', name: 'c', dataset: airline, base });
  const kinds = new Set(planned.map((p) => p.config.clip.kind));
  assert.deepEqual([...kinds].sort(), ['none', 'norm', 'value']);
  for (const p of planned) {
    assert.deepEqual({ ...p.config, clip: null }, { ...base, clip: null });
  }
  assert.equal(new Set(planned.map((p) => p.id)).size, planned.length);
});

test('gates: every cell choice, LSTM family with forget bias on and off', () => {
  const base = defaultRunConfig(airline);
  const planned = planRuns({ kind: 'gates', name: 'g', dataset: airline, base });
  const lstmFamily = ALL_CELLS.filter((c) => c.startsWith('lstm'));
  assert.equal(planned.length, ALL_CELLS.length + lstmFamily.length);
  for (const c of ALL_CELLS) assert.ok(planned.some((p) => p.config.cellChoice === c), c);
  assert.ok(planned.some((p) => p.config.cellChoice === 'lstm-nfg' && p.config.forgetBias));
  assert.ok(planned.some((p) => p.config.cellChoice === 'lstm-nfg' && !p.config.forgetBias));
  assert.ok(planned.every((p) => p.config.cell === 'lstm' || !p.config.forgetBias));
});

test('seeds: every run per seed, grouped, and the spread is min/median/max', () => {
  const base = defaultRunConfig(airline);
  const planned = planRuns({ kind: 'diagnosis', name: 'd', dataset: airline, base, cells: ['rnn-tanh', 'gru'], seeds: [1, 2, 3] });
  assert.equal(planned.length, 6);
  assert.equal(new Set(planned.map((p) => p.group)).size, 2);
  const fake = planned.map((p, i) => ({
    id: p.id, group: p.group, config: p.config, loss: [3, 1, 2, 10, 30, 20][i]!,
    diagnosis: { decayPerStep: [0.5, 0.7, 0.6, 0.9, 0.95, null][i] ?? null },
  })) as unknown as ReportRun[];
  attachSeedSpread(fake);
  assert.deepEqual(fake[0]!.seedSpread!.finalLoss, { min: 1, median: 2, max: 3 });
  assert.deepEqual(fake[0]!.seedSpread!.decayPerStep, { min: 0.5, median: 0.6, max: 0.7 });
  assert.deepEqual(fake[3]!.seedSpread!.decayPerStep, { min: 0.9, median: 0.925, max: 0.95 });
  assert.deepEqual(fake[4]!.seeds, [1, 2, 3]);
});

test('runStudy: a small real study is deterministic, reports progress and checks recommendations', async () => {
  const base = defaultRunConfig(airline, { iterations: 20, hiddenSize: 8 });
  const spec = { kind: 'diagnosis' as const, name: 'tiny', dataset: airline, base, cells: ['rnn-tanh' as const, 'lstm' as const], checkRecommendations: true };
  const seen: string[] = [];
  const a = await runStudy(spec, { onProgress: (done, total, label) => seen.push(`${done}/${total} ${label}`) });
  const b = await runStudy(spec, { executor: sequentialExecutor });
  assert.equal(a.schema, 'bptt-lens/report@1');
  assert.ok(a.runs.length >= 2);
  assert.ok(seen.length >= 2 && seen[0]!.startsWith('1/'), seen.join(', '));
  assert.deepEqual(a.runs.map((r) => r.loss), b.runs.map((r) => r.loss));
  for (const r of a.runs) {
    assert.ok(r.diagnosis && ['vanishing', 'exploding', 'healthy'].includes(r.diagnosis.verdict));
    for (const rec of r.recommendations) {
      if (rec.check) assert.ok(a.runs.some((x) => x.id === rec.check!.runId), rec.check.runId);
    }
  }
});

test('runStudy honours an aborted signal', async () => {
  const base = defaultRunConfig(airline, { iterations: 5 });
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(runStudy({ kind: 'diagnosis', name: 'x', dataset: airline, base }, { signal: ac.signal }), (e: Error) => e.name === 'AbortError');
});
