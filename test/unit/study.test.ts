import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadSample } from '../../src/study/samples';
import { CELL_NAMES } from '../../src/engine/cells';
import { ALL_CELLS, attachSeedSpread, canonicalJson, defaultRunConfig, GATE_STUDY_CELLS, hasForgetBias, isCellChoice, planRuns, runStudy, sequentialExecutor, skippedRuns } from '../../src/study/study';
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

test('gates: every classic cell choice by default; forget bias on and off only where the variant has a forget-gate bias; no identical runs', () => {
  const base = defaultRunConfig(airline);
  const spec = { kind: 'gates' as const, name: 'g', dataset: airline, base };
  const planned = planRuns(spec);
  const withBias = GATE_STUDY_CELLS.filter((c) => hasForgetBias(c));
  assert.deepEqual(withBias, ['lstm', 'lstm-peephole', 'lstm-nig', 'lstm-nog', 'lstm-niaf', 'lstm-noaf']);
  assert.equal(planned.length, GATE_STUDY_CELLS.length + withBias.length);
  for (const c of GATE_STUDY_CELLS) assert.ok(planned.some((p) => p.config.cellChoice === c), c);
  for (const c of ['lstm-nfg', 'lstm-cifg']) {
    assert.ok(!planned.some((p) => p.config.cellChoice === c && p.config.forgetBias), `${c} with forget bias 1 is the bias-0 run`);
    assert.ok(planned.some((p) => p.config.cellChoice === c && !p.config.forgetBias), c);
  }
  assert.ok(planned.every((p) => p.config.cell === 'lstm' || !p.config.forgetBias));
  // No two planned runs train the same network: their configs differ.
  assert.equal(new Set(planned.map((p) => canonicalJson(p.config))).size, planned.length);
  const skipped = skippedRuns(spec);
  assert.equal(skipped.length, 2);
  assert.match(skipped[0]!, /^lstm-cifg with forget-gate bias 1 \(its forget gate is f = 1 − i/);
  assert.match(skipped[1]!, /^lstm-nfg with forget-gate bias 1 \(it has no forget gate: f = 1/);
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

test('runStudy: deterministic, reports progress, and checks the top recommendation by re-running it', async () => {
  const adding = loadSample('adding', { seed: 2, steps: 60, count: 32 });
  const base = defaultRunConfig(adding, { iterations: 3, hiddenSize: 8, batchSize: 8 });
  const spec = { kind: 'diagnosis' as const, name: 'tiny', dataset: adding, base, cells: ['rnn-tanh' as const], checkRecommendations: true };
  const seen: string[] = [];
  const a = await runStudy(spec, { onProgress: (done, total, label) => seen.push(`${done}/${total} ${label}`) });
  const b = await runStudy(spec, { executor: sequentialExecutor });
  assert.equal(a.schema, 'bptt-lens/report@1');
  assert.deepEqual(a.runs.map((r) => r.loss), b.runs.map((r) => r.loss));
  assert.equal(seen[0], '1/1 rnn-tanh');
  assert.equal(seen[seen.length - 1]!.split(' ')[0], `${a.runs.length}/${a.runs.length}`);
  const rnn = a.runs[0]!;
  assert.equal(rnn.diagnosis!.verdict, 'vanishing');
  const top = rnn.recommendations[0]!;
  assert.equal(top.title, 'Switch to an LSTM with forget-gate bias 1');
  const checked = a.runs.find((r) => r.id === top.check!.runId)!;
  assert.equal(checked.config.cellChoice, 'lstm');
  assert.equal(checked.config.forgetBias, true);
  assert.equal(checked.config.seed, rnn.config.seed);
  assert.equal(top.check!.verdict, checked.diagnosis!.verdict);
  assert.equal(top.check!.decayPerStep, checked.diagnosis!.decayPerStep);
  assert.ok(top.check!.decayPerStep! > rnn.diagnosis!.decayPerStep!, 'the LSTM keeps more gradient per step');
  assert.ok(['confirmed', 'unchanged', 'worse'].includes(top.check!.outcome!));
  if (top.check!.outcome !== 'confirmed') assert.equal(top.check!.next, rnn.recommendations[1]?.title ?? null, 'an unconfirmed check offers the next recommendation');
});

test('gates study: every cell and variant trains on the engine and is diagnosed', async () => {
  const base = defaultRunConfig(airline, { iterations: 2, hiddenSize: 4, batchSize: 8 });
  const report = await runStudy({ kind: 'gates', name: 'g', dataset: airline, base });
  assert.equal(report.runs.length, 17);
  assert.equal(report.study.skipped?.length, 2);
  assert.ok(report.study.findings!.some((f) => f.startsWith('Not run, identical by construction: lstm-cifg with forget-gate bias 1')), report.study.findings!.join('\n'));
  for (const r of report.runs) {
    assert.ok(r.diagnosis && r.diagnosis.lagProfile.length === airline.steps, r.label);
    assert.equal(r.layers[0]!.gradNormC === null, r.config.cell !== 'lstm', r.label);
  }
});

test('runStudy honours an aborted signal', async () => {
  const base = defaultRunConfig(airline, { iterations: 5 });
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(runStudy({ kind: 'diagnosis', name: 'x', dataset: airline, base }, { signal: ac.signal }), (e: Error) => e.name === 'AbortError');
});

test('canonicalJson ignores key order', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: null } }), canonicalJson({ a: { c: null, d: [1, { x: 1, y: 2 }] }, b: 1 }));
  assert.notEqual(canonicalJson({ a: 1 }), canonicalJson({ a: 2 }));
});

test('a study takes every cell name of the engine registry, the cells of design §8 included', () => {
  assert.deepEqual(ALL_CELLS, [...CELL_NAMES]);
  for (const name of ['mingru', 'minlstm', 'indrnn', 'lru', 'rglru', 'slstm', 'mlstm', 's6', 'rnn-relu', 'lstm-cifg']) assert.ok(isCellChoice(name), name);
  assert.ok(!isCellChoice('mamba'));
  const base = defaultRunConfig(airline);
  const planned = planRuns({ kind: 'diagnosis', name: 'd', dataset: airline, base, cells: ['mingru', 's6', 'lstm-cifg'] });
  assert.deepEqual(
    planned.map((p) => [p.config.cellChoice, p.config.cell, p.config.variant]),
    [
      ['mingru', 'mingru', 'vanilla'],
      ['s6', 's6', 'vanilla'],
      ['lstm-cifg', 'lstm', 'cifg'],
    ],
  );
});
