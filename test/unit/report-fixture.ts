// A realistic Report built by hand for the report-writer tests (and to look at the
// figures): a tanh RNN whose gradient decays geometrically (vanishing), a healthy LSTM,
// a ReLU RNN that explodes into Infinity/NaN under norm clipping, a long GRU run
// (1000 timesteps, with underflow to 0) and a one-iteration run whose label is hostile.
import type { LayerRecord } from '../../src/engine/types';
import type { Diagnosis, RecordedIteration, Report, ReportRun, RunConfig, Verdict } from '../../src/study/types';

/** Deterministic noise in [-1, 1). */
function noise(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return (s / 2 ** 32) * 2 - 1;
  };
}

function layer(gradNormH: number[], lstm: boolean): LayerRecord {
  const T = gradNormH.length;
  const gates = lstm ? ['i', 'f', 'g', 'o'] : ['a'];
  const rec = (f: (t: number) => number) => Object.fromEntries(gates.map((g) => [g, Array.from({ length: T }, (_, t) => f(t))]));
  return {
    layer: 0,
    direction: 'forward',
    gradNormH,
    gradNormC: lstm ? gradNormH.map((v) => v * 1.3) : null,
    gateGradNorm: rec((t) => gradNormH[t]! * 0.5),
    gateMean: rec(() => 0.5),
    gateSaturation: rec(() => 0.1),
    weightGradByStep: gradNormH.map((v) => v * 0.7),
    jacobianNorm: gradNormH.map(() => 0.9),
  };
}

interface RunSpec {
  id: string;
  label: string;
  cellChoice: RunConfig['cellChoice'];
  T: number;
  iterations: number;
  /** p(k) at iteration it (fraction of training done in [0, 1]). */
  profile: (k: number, frac: number) => number;
  loss: (it: number) => number;
  norm: (it: number) => number;
  clip: RunConfig['clip'];
  verdict: Verdict;
  rho: number | null;
  horizon: number | null;
  evidence: string[];
  nonFinite?: ReportRun['nonFinite'];
}

function buildRun(spec: RunSpec, tiny = false): ReportRun {
  // A tiny run keeps its numbers possible: its horizon fits its shorter sequence.
  const s = tiny
    ? { ...spec, T: Math.min(spec.T, 6), iterations: Math.min(spec.iterations, 12), horizon: spec.horizon === null ? null : Math.min(spec.horizon, Math.min(spec.T, 6) - 1),
      ...(spec.nonFinite && spec.nonFinite.t !== null ? { nonFinite: { ...spec.nonFinite, t: Math.min(spec.nonFinite.t, Math.min(spec.T, 6) - 1) } } : {}) }
    : spec;
  const recordEvery = Math.max(1, Math.floor(s.iterations / 20));
  const recorded: RecordedIteration[] = [];
  for (let it = 0; it < s.iterations; it += recordEvery) {
    const frac = s.iterations > 1 ? it / (s.iterations - 1) : 1;
    const lag = Array.from({ length: s.T }, (_, k) => s.profile(k, frac));
    const gradNormH = Array.from({ length: s.T }, (_, t) => lag[s.T - 1 - t]!);
    recorded.push({ iteration: it, layers: [layer(gradNormH, s.cellChoice.startsWith('lstm'))], inputGradNorm: gradNormH.map((v) => v * 0.2), lagProfile: lag });
  }
  const final = recorded[recorded.length - 1]!;
  const loss = Array.from({ length: s.iterations }, (_, it) => s.loss(it));
  const pre = Array.from({ length: s.iterations }, (_, it) => s.norm(it));
  const threshold = s.clip.kind === 'norm' ? s.clip.threshold : Infinity;
  const post = pre.map((v) => (Number.isFinite(v) ? Math.min(v, threshold) : v));
  const clipped = pre.filter((v) => v > threshold).length;
  const diagnosis: Diagnosis = { decayPerStep: s.rho, horizon: s.horizon, verdict: s.verdict, evidence: s.evidence, lagProfile: final.lagProfile };
  const cell = s.cellChoice.startsWith('lstm') ? 'lstm' : s.cellChoice === 'gru' ? 'gru' : 'rnn';
  return {
    schema: 'bptt-lens/run@1',
    id: s.id,
    label: s.label,
    config: {
      cell, nonlinearity: s.cellChoice === 'rnn-relu' ? 'relu' : 'tanh', variant: 'vanilla', cellChoice: s.cellChoice,
      hiddenSize: 16, numLayers: 1, bidirectional: false, loss: 'mse', mode: 'many-to-one', init: 'pytorch', spectralRadius: null,
      forgetBias: false, optimizer: 'adam', learningRate: 0.01, clip: s.clip, truncation: null, iterations: s.iterations, batchSize: 16, seed: 1,
    },
    timesteps: s.T,
    layers: final.layers,
    inputGradNorm: final.inputGradNorm,
    loss: loss[loss.length - 1]!,
    globalGradNorm: pre[pre.length - 1]!,
    clippedGradNorm: post[post.length - 1]!,
    nonFinite: s.nonFinite ?? null,
    itemized: null,
    diagnosis,
    history: { loss, preClipNorm: pre, postClipNorm: post, clipRate: s.iterations ? clipped / s.iterations : 0, recorded },
    recommendations: [],
  };
}

export interface FixtureOptions {
  /** Include the 1000-timestep GRU run (default true). */
  long?: boolean;
  /** Label of the last run (default a hostile one). */
  hostileLabel?: string;
  /** At most 6 timesteps and 12 iterations per run (fast fuzzing). */
  tiny?: boolean;
}

export function fixtureReport(opts: FixtureOptions = {}): Report {
  const rand = noise(7);
  const runs: ReportRun[] = [];
  runs.push(buildRun({
    id: 'run-1', label: 'rnn-tanh', cellChoice: 'rnn-tanh', T: 48, iterations: 200,
    profile: (k, f) => 0.8 * Math.exp(k * Math.log(0.78 - 0.05 * f)) * (1 + 0.15 * rand()),
    loss: (it) => 0.9 * Math.exp(-it / 400) + 0.3 + 0.02 * rand(),
    norm: (it) => 0.5 * (1 + 0.3 * rand()) * Math.exp(-it / 600),
    clip: { kind: 'none' }, verdict: 'vanishing', rho: 0.76, horizon: 26,
    evidence: ['p(k) falls below 1e-3 × p(0) at lag 26 of 47 (horizon 26).', 'Decay per step ρ = 0.76 < 1 − δ = 0.98.'],
  }, opts.tiny));
  runs.push(buildRun({
    id: 'run-2', label: 'lstm (forget bias 1)', cellChoice: 'lstm', T: 48, iterations: 200,
    profile: (k) => 0.4 * Math.exp(-0.012 * k) * (1 + 0.1 * rand()),
    loss: (it) => 0.9 * Math.exp(-it / 40) + 0.02 + 0.005 * rand(),
    norm: (it) => 0.8 * Math.exp(-it / 100) + 0.05 + 0.02 * rand(),
    clip: { kind: 'norm', threshold: 1 }, verdict: 'healthy', rho: 0.988, horizon: null,
    evidence: ['p(k) stays above 1e-3 × p(0) over all 48 steps (lowest ratio 0.55).'],
  }, opts.tiny));
  runs.push(buildRun({
    id: 'run-3', label: 'rnn-relu, clip 1', cellChoice: 'rnn-relu', T: 48, iterations: 120,
    profile: (k, f) => (f > 0.8 && k > 40 ? NaN : f > 0.6 && k > 30 ? Infinity : 0.3 * Math.exp(k * 0.12 * (0.5 + f)) * (1 + 0.1 * rand())),
    loss: (it) => (it > 100 ? NaN : it > 95 ? Infinity : 0.8 + 0.004 * it + 0.05 * rand()),
    norm: (it) => (it > 100 ? NaN : it === 98 ? Infinity : 0.5 * Math.exp(it * 0.06) * (1 + 0.2 * rand())),
    clip: { kind: 'norm', threshold: 1 }, verdict: 'exploding', rho: 1.13, horizon: null,
    evidence: ['The gradient norm became non-finite (Infinity) at iteration 96.', 'Decay per step ρ = 1.13 > 1 + δ = 1.02.'],
    nonFinite: { quantity: 'gradNormH', layer: 0, t: 7, value: Infinity },
  }, opts.tiny));
  if (opts.long !== false) {
    runs.push(buildRun({
      id: 'run-4', label: 'gru, T = 1000', cellChoice: 'gru', T: 1000, iterations: 60,
      profile: (k) => (k > 700 ? 0 : Math.exp(-1 - k * 1.02) * (1 + 0.2 * rand())),
      loss: (it) => 0.5 * Math.exp(-it / 30) + 0.1,
      norm: (it) => 0.3 + 0.1 * Math.sin(it),
      clip: { kind: 'none' }, verdict: 'vanishing', rho: 0.36, horizon: 7,
      evidence: ['p(k) falls below 1e-3 × p(0) at lag 7 of 999.'],
    }, opts.tiny));
  }
  runs.push(buildRun({
    id: 'run-5', label: opts.hostileLabel ?? '<script>alert("x")</script> & \'quotes\' | *md* [link](http://x)', cellChoice: 'lstm-cifg', T: 1, iterations: 1,
    profile: () => 0.25, loss: () => 0.7, norm: () => 0.9,
    clip: { kind: 'value', threshold: 0.5 }, verdict: 'healthy', rho: null, horizon: null,
    evidence: ['Only one timestep: nothing to decay.'],
  }, opts.tiny));
  runs[0]!.recommendations.push(
    { title: 'Use an LSTM with forget bias 1', rationale: 'The tanh RNN keeps 76% of the gradient per step; an LSTM carries it through the cell state.', change: { cellChoice: 'lstm', cell: 'lstm', forgetBias: true }, check: { runId: 'run-2', verdict: 'healthy', finalLoss: 0.021 } },
    { title: 'Initialise W_hh orthogonally', rationale: 'An orthogonal W_hh has all singular values 1.', change: { init: 'orthogonal' }, check: null },
  );
  runs[2]!.recommendations.push({ title: 'Lower the learning rate to 0.001', rationale: 'Clipping at 1 fired on 60% of the updates.', change: { learningRate: 0.001 } });
  return {
    schema: 'bptt-lens/report@1',
    study: {
      kind: 'diagnosis', name: 'Airline passengers: gradient flow', source: 'airline', description: 'Fixture report for the writer tests.',
      task: "predict next month's passengers from 12 months", createdAt: '2026-11-22T10:00:00.000Z',
      thresholds: { explodeGrowth: 10, vanishEpsilon: 1e-3, rhoDelta: 0.02 },
    },
    runs,
  };
}
