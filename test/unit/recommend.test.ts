import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recommend, roundNice } from '../../src/study/recommend';
import { defaultRunConfig } from '../../src/study/study';
import type { Dataset, Diagnosis, RunConfig, TrainingHistory, Verdict } from '../../src/study/types';

const dataset: Dataset = {
  name: 'adding', description: '', task: '', mode: 'many-to-one', loss: 'mse', inputSize: 2, outputSize: 1,
  steps: 100, count: 64, x: new Float64Array(64 * 200), y: new Float64Array(64), source: 'sample:adding', normalization: { kind: 'none' },
};

function diag(verdict: Verdict, rho: number, hz: number | null): Diagnosis {
  const profile = Array.from({ length: 100 }, (_, k) => Math.pow(rho, k));
  return { verdict, decayPerStep: rho, horizon: hz, evidence: ['e'], lagProfile: profile };
}

function history(pre: number[], extra: Partial<TrainingHistory> = {}): TrainingHistory {
  return { loss: pre.map(() => 1), preClipNorm: pre, postClipNorm: pre, clipRate: 0, recorded: [], ...extra };
}

function view(config: Partial<RunConfig>, d: Diagnosis, h: TrainingHistory) {
  return { config: defaultRunConfig(dataset, config), diagnosis: d, history: h, timesteps: 100 };
}

test('vanishing tanh RNN: LSTM with forget bias first, then GRU, then an LRU, then orthogonal init; rationale has the numbers', () => {
  const recs = recommend(view({}, diag('vanishing', 0.81, 33), history([1, 1])));
  assert.deepEqual(recs.map((r) => r.title), [
    'Switch to an LSTM with forget-gate bias 1', 'Switch to a GRU', 'Switch to an LRU (linear recurrence)', 'Initialise the recurrent weights orthogonally', 'Backpropagate only the last 33 steps (truncated BPTT)',
  ]);
  assert.deepEqual(recs[0]!.change, { cell: 'lstm', variant: 'vanilla', cellChoice: 'lstm', forgetBias: true });
  assert.ok(recs[0]!.rationale.includes('ρ = 0.81') && recs[0]!.rationale.includes('33 steps of 100'), recs[0]!.rationale);
});

test('vanishing ReLU RNN gets the identity init (IRNN) instead of orthogonal', () => {
  const recs = recommend(view({ cellChoice: 'rnn-relu' }, diag('vanishing', 0.8, 30), history([1])));
  assert.ok(recs.some((r) => r.change.init === 'identity'));
  assert.ok(!recs.some((r) => r.change.init === 'orthogonal'));
});

test('vanishing LSTM without forget bias: set it; truncation shorter than T comes first', () => {
  const recs = recommend(view({ cellChoice: 'lstm', truncation: { k1: 10, k2: 20 } }, diag('vanishing', 0.9, 60), history([1])));
  assert.equal(recs[0]!.title, 'Backpropagate through the whole sequence (no truncation)');
  assert.deepEqual(recs[1]!.change, { forgetBias: true });
  const withBias = recommend(view({ cellChoice: 'lstm', forgetBias: true, init: 'orthogonal' }, diag('vanishing', 0.9, 60), history([1])));
  assert.ok(!withBias.some((r) => r.change.forgetBias === true));
});

test('exploding without clipping: clip by norm at the median pre-clip norm of the first quarter of training (2 significant digits)', () => {
  // A run that blew up: the median of all its norms would be the blow-up itself (50 here).
  const pre = [3.14159, 2, 3.3, 2.9, 50, 1e6, 1e9, 1e12, 1e15, 1e18, 1e21, 1e24, Number.POSITIVE_INFINITY];
  const recs = recommend(view({ learningRate: 0.1 }, diag('exploding', 1.2, null), history(pre, { stoppedAt: 12 })));
  // first quarter of the 12 finite ones: [3.14159, 2, 3.3] -> median 3.14159
  assert.deepEqual(recs[0]!.change, { clip: { kind: 'norm', threshold: 3.1 } });
  assert.ok(recs[0]!.rationale.includes('iteration 12') && recs[0]!.rationale.includes('3.14'), recs[0]!.rationale);
  assert.ok(recs.some((r) => r.change.learningRate === 0.01));
});

test('exploding with norm clipping above the median: lower it; spectral radius > 1: rescale to 1', () => {
  const recs = recommend(view({ clip: { kind: 'norm', threshold: 100 }, spectralRadius: 3 }, diag('exploding', 1.1, null), history([4, 3.5, 4.5, 4, 4, 5, 8, 9, 6, 7, 9, 12])));
  assert.deepEqual(recs[0]!.change, { clip: { kind: 'norm', threshold: 4 } });
  assert.ok(recs.some((r) => r.change.spectralRadius === 1));
});

test('healthy: norm clip firing on most updates gets raised; nothing to say otherwise', () => {
  const hot = recommend(view({ clip: { kind: 'norm', threshold: 0.1 } }, diag('healthy', 0.99, null), history([1, 2, 3], { clipRate: 1 })));
  assert.deepEqual(hot[0]!.change, { clip: { kind: 'norm', threshold: 2 } });
  const recorded = [0, 10].map((iteration, j) => ({ iteration, layers: [], inputGradNorm: [], lagProfile: [], loss: j === 0 ? 1 : 0.2 }));
  assert.deepEqual(recommend(view({}, diag('healthy', 0.99, null), history([1, 2, 3], { recorded }))), []);
});

test('roundNice keeps two significant digits and survives bad input', () => {
  assert.equal(roundNice(0.012345), 0.012);
  assert.equal(roundNice(1234), 1200);
  assert.equal(roundNice(Number.NaN), 1);
});

test('vanishing CIFG LSTM: no forget-gate bias to set, so the vanilla cell with forget bias 1', () => {
  const recs = recommend(view({ cellChoice: 'lstm-cifg' }, diag('vanishing', 0.6, 12), history([1])));
  assert.ok(!recs.some((r) => r.title === 'Set the forget-gate bias to 1'));
  assert.deepEqual(recs[0]!.change, { variant: 'vanilla', cellChoice: 'lstm', forgetBias: true });
});

test('the rationale names the ε the horizon was measured at', () => {
  const d = diag('vanishing', 0.81, 22);
  assert.ok(recommend(view({}, d, history([1])))[0]!.rationale.includes('horizon(1e-3) = 22 steps of 100'));
  const loose = recommend(view({}, d, history([1])), { steps: 100, vanishEpsilon: 1e-2 })[0]!.rationale;
  assert.ok(loose.includes('horizon(0.01) = 22 steps of 100'), loose);
});

const WHH_INIT = (r: { change: Partial<RunConfig> }) => r.change.init === 'orthogonal' || r.change.init === 'identity' || r.change.spectralRadius !== undefined;

test('no W_hh init (orthogonal, identity, spectral radius) for a cell without a hidden-to-hidden matrix', () => {
  for (const cellChoice of ['mingru', 'minlstm', 'lru', 'rglru', 's6', 'mlstm', 'indrnn'] as const) {
    const vanishing = recommend(view({ cellChoice }, diag('vanishing', 0.8, 30), history([1])));
    assert.ok(vanishing.length > 0, cellChoice);
    assert.ok(!vanishing.some(WHH_INIT), `${cellChoice} vanishing: ${vanishing.map((r) => r.title).join(' | ')}`);
    const exploding = recommend(view({ cellChoice, spectralRadius: 3 }, diag('exploding', 1.2, null), history([4, 3.5, 4.5, 4])));
    assert.ok(!exploding.some(WHH_INIT), `${cellChoice} exploding: ${exploding.map((r) => r.title).join(' | ')}`);
  }
  // The cells that have one still get it (sLSTM's R matrices count).
  for (const cellChoice of ['rnn-tanh', 'lstm', 'gru', 'slstm'] as const) {
    assert.ok(recommend(view({ cellChoice }, diag('vanishing', 0.8, 30), history([1]))).some(WHH_INIT), cellChoice);
  }
});

test('a vanishing classic cell is offered an LRU: first for a GRU and for an LSTM whose own fixes are used up', () => {
  const gru = recommend(view({ cellChoice: 'gru' }, diag('vanishing', 0.8, 30), history([1])));
  assert.equal(gru[0]!.title, 'Switch to an LRU (linear recurrence)');
  assert.deepEqual(gru[0]!.change, { cell: 'lru', nonlinearity: 'tanh', variant: 'vanilla', cellChoice: 'lru', forgetBias: false });
  const usedUp = recommend(view({ cellChoice: 'lstm', forgetBias: true, init: 'orthogonal' }, diag('vanishing', 0.9, 60), history([1])));
  assert.equal(usedUp[0]!.title, 'Switch to an LRU (linear recurrence)');
  const fresh = recommend(view({ cellChoice: 'lstm' }, diag('vanishing', 0.9, 60), history([1])));
  assert.equal(fresh[0]!.title, 'Set the forget-gate bias to 1');
  assert.ok(fresh.some((r) => r.change.cellChoice === 'lru'));
});

function studyView(cellChoice: RunConfig['cellChoice'], verdict: Verdict, loss: number, forgetBias = false) {
  return { ...view({ cellChoice, forgetBias }, diag(verdict, verdict === 'vanishing' ? 0.7 : 0.99, verdict === 'vanishing' ? 20 : null), history([1])), label: cellChoice, loss };
}

test('a healthy modern cell on screen: a vanishing LSTM is told to switch to it, by name, with that run\'s numbers', () => {
  const lstm = studyView('lstm', 'vanishing', 0.17);
  const lru = studyView('lru', 'healthy', 0.01);
  const rnn = studyView('rnn-tanh', 'vanishing', 0.17);
  const recs = recommend(lstm, { steps: 100, others: [lstm, lru, rnn] });
  assert.equal(recs[0]!.title, 'Switch to an LRU (linear recurrence)');
  assert.match(recs[0]!.rationale, /study's run "lru".*healthy.*linear and diagonal/);
  // A better classic run on screen stays first; the modern one follows it.
  const gru = studyView('gru', 'healthy', 0.003);
  const both = recommend(lstm, { steps: 100, others: [lstm, lru, rnn, gru] });
  assert.deepEqual(both.slice(0, 2).map((r) => r.title), ['Switch to a GRU', 'Switch to an LRU (linear recurrence)']);
  // A vanishing modern run is no reason to switch (and the generic LRU offer is dropped: the run shows it does not help).
  const lruBad = studyView('lru', 'vanishing', 0.2);
  const none = recommend(lstm, { steps: 100, others: [lstm, lruBad] });
  assert.ok(!none.some((r) => r.change.cellChoice === 'lru'), none.map((r) => r.title).join(' | '));
});

test('a check names how it was made: a re-run (check-… run) or the study\'s own run of that configuration', async () => {
  const { checkSentence } = await import('../../src/study/format');
  const run = { diagnosis: null, timesteps: 40, loss: 0.18 };
  const check = { runId: 'gru', verdict: 'healthy' as const, finalLoss: 0.0033, outcome: 'confirmed' as const };
  const own = checkSentence(run, check, [{ id: 'gru', label: 'gru' }]);
  assert.match(own, /^Checked against the study's own run \(gru\): verdict healthy, final loss 0\.18 → 0\.0033: confirmed\.$/);
  const rerun = checkSentence(run, { ...check, runId: 'check-rnn-tanh' }, [{ id: 'check-rnn-tanh', label: 'check: rnn-tanh → gru' }]);
  assert.match(rerun, /^Checked by re-running \(check: rnn-tanh → gru\): /);
});
