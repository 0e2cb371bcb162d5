// Real training runs (small sizes: the claims are about gradient flow, which shows at init
// and within a few updates). The numbers these tests measure are printed for the README.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadSample } from '../../src/study/samples';
import { defaultRunConfig, runStudy } from '../../src/study/study';
import { defaultRecordAt, executeRun, minibatchOrder, needsCheckpointing, probeIndices } from '../../src/study/train';
import { Rng } from '../../src/engine/rng';
import type { Batch } from '../../src/engine/types';
import type { PlannedRun, ReportRun, RunConfig } from '../../src/study/types';

const adding = loadSample('adding', { seed: 3, steps: 100, count: 128 });

function plan(id: string, config: RunConfig): PlannedRun {
  return { id, label: id, config };
}

test('defaultRecordAt: ~20 points, first and last included, no duplicates', () => {
  assert.deepEqual(defaultRecordAt(3), [0, 1, 2, 3]);
  const r = defaultRecordAt(1000);
  assert.equal(r.length, 20);
  assert.equal(r[0], 0);
  assert.equal(r[19], 1000);
  assert.deepEqual(defaultRecordAt(0), [0]);
});

test('minibatch order is a seeded permutation per epoch; probe batch is fixed and spread out', () => {
  const next = minibatchOrder(10, 4, new Rng(5));
  const epoch = [...next(), ...next()];
  assert.equal(new Set(epoch).size, 8);
  const again = minibatchOrder(10, 4, new Rng(5));
  assert.deepEqual([...again(), ...again()], epoch);
  assert.deepEqual(probeIndices(100, 4), [0, 25, 50, 75]);
  assert.deepEqual(probeIndices(3, 32), [0, 1, 2]);
});

test('adding problem, T = 100: tanh RNN vanishes, LSTM with forget bias keeps a much longer horizon', () => {
  const common = { hiddenSize: 16, iterations: 8, batchSize: 16, seed: 11 };
  const rnn = executeRun(adding, plan('rnn', defaultRunConfig(adding, { ...common, cellChoice: 'rnn-tanh' })));
  const lstm = executeRun(adding, plan('lstm', defaultRunConfig(adding, { ...common, cellChoice: 'lstm', forgetBias: true })));
  const r = rnn.diagnosis!;
  const l = lstm.diagnosis!;
  const r0 = rnn.initialDiagnosis!;
  const l0 = lstm.initialDiagnosis!;
  console.log(`# adding T=100 H=16: rnn-tanh init rho=${r0.decayPerStep} horizon=${r0.horizon}; after ${common.iterations} it rho=${r.decayPerStep} horizon=${r.horizon} verdict=${r.verdict}`);
  console.log(`# adding T=100 H=16: lstm+fb init rho=${l0.decayPerStep} horizon=${l0.horizon}; after ${common.iterations} it rho=${l.decayPerStep} horizon=${l.horizon} verdict=${l.verdict}`);
  assert.equal(r.verdict, 'vanishing');
  assert.equal(r0.verdict, 'vanishing');
  assert.ok(r.horizon! < 30 && r.decayPerStep! < 0.8, `rnn horizon ${r.horizon}, rho ${r.decayPerStep}`);
  for (const [a, b] of [[r, l], [r0, l0]] as const) {
    assert.ok(b.horizon === null || b.horizon >= 2 * a.horizon!, `lstm horizon ${b.horizon} vs rnn ${a.horizon}`);
    assert.ok(b.decayPerStep! > a.decayPerStep! + 0.1, `lstm rho ${b.decayPerStep} vs rnn ${a.decayPerStep}`);
  }
  assert.ok(r.evidence.some((e) => e.includes(`horizon(1e-3) = ${r.horizon} steps of 100`)), r.evidence.join('\n'));
});

test('a run is bit-reproducible from its seed and records like-for-like probes', () => {
  const config = defaultRunConfig(adding, { hiddenSize: 8, iterations: 6, batchSize: 8, seed: 4, cellChoice: 'gru' });
  const a = executeRun(adding, plan('a', config), { recordAt: [0, 3, 6] });
  const b = executeRun(adding, plan('b', config), { recordAt: [0, 6] });
  assert.deepEqual(a.history.loss, b.history.loss);
  assert.equal(a.loss, b.loss);
  assert.deepEqual(a.history.recorded.map((r) => r.iteration), [0, 3, 6]);
  // recorded[0] is the network at initialisation, on the same probe batch each time
  assert.deepEqual(a.history.recorded[0], b.history.recorded[0]);
  assert.equal(a.history.recorded[2]!.loss, a.loss);
  assert.equal(a.history.loss.length, 6);
  assert.equal(a.timesteps, 100);
  assert.equal(a.layers[0]!.gradNormH.length, 100);
  const other = executeRun(adding, plan('c', { ...config, seed: 5 }), { recordAt: [0] });
  assert.notDeepEqual(other.history.loss, a.history.loss);
});

// Pascanu et al. 2013 style: a tanh RNN whose W_hh is rescaled to spectral radius 2 on the
// T = 100 adding problem, trained with plain SGD at learning rate 0.2 (Adam would normalise
// the step and hide the effect). Without clipping the first large gradients throw the
// weights far away and the loss blows up; clipping by global norm keeps every step bounded.
const PASCANU = { cellChoice: 'rnn-tanh' as const, hiddenSize: 16, spectralRadius: 2, optimizer: 'sgd' as const, learningRate: 0.2, iterations: 40, batchSize: 16, seed: 2 };

test('clipping sweep: the unclipped run diverges, the norm-clipped run trains', async () => {
  const data = loadSample('adding', { seed: 3, steps: 100, count: 128 });
  const report = await runStudy({
    kind: 'clipping', name: 'pascanu', dataset: data, base: defaultRunConfig(data, PASCANU),
    clips: [{ kind: 'none' }, { kind: 'norm', threshold: 1 }, { kind: 'norm', threshold: 0.25 }, { kind: 'value', threshold: 0.1 }],
  });
  const byClip = new Map(report.runs.map((r) => [r.label, r]));
  const first = (r: ReportRun) => r.history.recorded[0]!.loss!;
  for (const r of report.runs) {
    console.log(`# clipping sweep (tanh RNN, W_hh radius 2, SGD lr 0.2, adding T=100, 40 it): ${r.label}: probe loss ${first(r).toPrecision(3)} -> ${r.loss.toPrecision(3)}, max pre-clip norm ${Math.max(...r.history.preClipNorm).toExponential(1)}, clip rate ${r.history.clipRate}, stoppedAt ${r.history.stoppedAt}, verdict ${r.diagnosis!.verdict}`);
  }
  const none = byClip.get('rnn-tanh, no clip')!;
  const norm = byClip.get('rnn-tanh, norm clip 1')!;
  const diverged = none.history.stoppedAt !== null || !Number.isFinite(none.loss) || none.loss > 1e3 * first(none);
  assert.ok(diverged, `unclipped: ${first(none)} -> ${none.loss}`);
  assert.equal(none.diagnosis!.verdict, 'exploding');
  assert.equal(none.recommendations[0]!.change.clip?.kind, 'norm');
  assert.ok(Number.isFinite(norm.loss) && norm.loss < 0.5 * first(norm), `clipped: ${first(norm)} -> ${norm.loss}`);
  assert.ok(norm.history.clipRate > 0);
  assert.equal(first(norm), first(none), 'same data, init and seed');
});

test('non-finite training is a finding, not a crash', () => {
  const data = loadSample('adding', { seed: 3, steps: 50, count: 32 });
  const run = executeRun(data, plan('boom', defaultRunConfig(data, { cellChoice: 'rnn-relu', hiddenSize: 8, spectralRadius: 1.5, optimizer: 'sgd', learningRate: 1, iterations: 30, batchSize: 8 })));
  assert.notEqual(run.history.stoppedAt, null);
  assert.ok(run.nonFinite);
  assert.equal(run.diagnosis!.verdict, 'exploding');
  assert.ok(run.diagnosis!.evidence[0]!.includes(`iteration ${run.history.stoppedAt}`), run.diagnosis!.evidence[0]);
  assert.equal(run.history.loss.length, run.history.stoppedAt! + 1);
});

test('many-to-many uses the itemized gradient for the lag profile', () => {
  const data = loadSample('binary-addition', { seed: 1 });
  const run = executeRun(data, plan('bin', defaultRunConfig(data, { hiddenSize: 8, iterations: 3 })));
  assert.ok(run.itemized && run.itemized.length === data.steps);
  assert.ok(run.diagnosis!.evidence[0]!.includes('itemized'));
  assert.equal(run.diagnosis!.lagProfile[0], 1);
});

test('an aborted signal stops the run with an AbortError', () => {
  const ac = new AbortController();
  ac.abort();
  const config = defaultRunConfig(adding, { hiddenSize: 4, iterations: 5 });
  assert.throws(() => executeRun(adding, plan('x', config), { signal: ac.signal }), (e: Error) => e.name === 'AbortError');
});

test('long passes are checkpointed when the engine can (unidirectional, full BPTT, no itemized)', () => {
  const cfg = (over: Partial<RunConfig>): RunConfig => ({ ...defaultRunConfig(loadSample('sine', { seed: 1 }), { cellChoice: 'lstm' }), hiddenSize: 64, ...over });
  const batch = (steps: number, batchSize: number) => ({ steps, batchSize }) as Batch;
  // 10,000 steps x 8 sequences x 64 units: ~900 MB of stored states without it (measured), ~100 MB with.
  assert.equal(needsCheckpointing(batch(10_000, 8), cfg({}), false), true);
  assert.equal(needsCheckpointing(batch(128, 16), cfg({}), false), false);
  assert.equal(needsCheckpointing(batch(10_000, 8), cfg({ bidirectional: true }), false), false);
  assert.equal(needsCheckpointing(batch(10_000, 8), cfg({ truncation: { k1: 50, k2: 100 } }), false), false);
  assert.equal(needsCheckpointing(batch(10_000, 8), cfg({}), true), false);
});
