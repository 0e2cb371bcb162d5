// A synthetic report for the preview page and the webview unit tests: four runs shaped
// like the four things the UI must show (vanishing tanh RNN, healthy LSTM and GRU, an
// exploding ReLU RNN whose series turn non-finite), plus a large run for heatmap timing.
// The numbers are made up to have those shapes; they are not engine output.
import type { LayerRecord } from '../src/engine/types';
import type { Report, ReportRun, RunConfig, Verdict } from '../src/study/types';

/** JSON's view of a series: non-finite values are null. */
type Series = (number | null)[];

interface Shape {
  id: string;
  label: string;
  cellChoice: RunConfig['cellChoice'];
  cell: RunConfig['cell'];
  rho: number;
  verdict: Verdict;
  clip: RunConfig['clip'];
  /** Iteration after which everything is non-finite (exploding run). */
  blowUpAt?: number;
  lossFloor: number;
}

function rngFrom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function layer(index: number, gradNormH: Series, lstm: boolean, rho: number): LayerRecord {
  return {
    layer: index,
    direction: 'forward',
    gradNormH: gradNormH as number[],
    gradNormC: lstm ? (gradNormH.map((v) => (v === null ? null : v * 1.3)) as number[]) : null,
    gateGradNorm: {},
    gateMean: {},
    gateSaturation: {},
    weightGradByStep: gradNormH.map((v) => (v === null ? null : v * 0.5)) as number[],
    jacobianNorm: gradNormH.map(() => rho) as number[],
  };
}

/** ‖∂L/∂h_t‖ for many-to-one: the loss sits at T-1, so the norm decays by rho per step back. */
function profileAt(T: number, rho: number, scale: number, noise: () => number, nullFrom = Infinity): Series {
  return Array.from({ length: T }, (_, t) => {
    if (t >= nullFrom) return null;
    const k = T - 1 - t;
    return scale * rho ** k * (1 + 0.15 * (noise() - 0.5));
  });
}

export function fixtureRun(shape: Shape, T: number, iterations: number, recordEvery: number, seed: number, layers = 2): ReportRun {
  const noise = rngFrom(seed);
  const lstm = shape.cell === 'lstm';
  const blow = shape.blowUpAt ?? Infinity;
  const threshold = shape.clip.kind === 'norm' ? shape.clip.threshold : Infinity;
  const loss: Series = [];
  const pre: Series = [];
  const post: Series = [];
  let clipped = 0;
  for (let i = 0; i < iterations; i++) {
    if (i >= blow) {
      loss.push(null);
      pre.push(null);
      post.push(null);
      continue;
    }
    const growth = shape.verdict === 'exploding' ? Math.exp(i / 25) : 1;
    const g = (shape.verdict === 'vanishing' ? 0.05 : 0.8) * growth * (1 + 0.6 * noise()) * (i % 97 === 13 ? 8 : 1);
    pre.push(g);
    if (g > threshold) clipped++;
    post.push(Math.min(g, threshold));
    loss.push(shape.lossFloor + 0.9 * Math.exp(-i / 60) * (1 + 0.1 * noise()) * (shape.verdict === 'exploding' ? growth : 1));
  }
  const recorded = [];
  for (let i = 0; i < Math.min(iterations, blow + recordEvery); i += recordEvery) {
    // The decay sharpens (vanishing) or steepens (exploding) as training goes on.
    const drift = shape.verdict === 'healthy' ? 1 : shape.verdict === 'vanishing' ? 1 - 0.05 * (i / iterations) : 1 + 0.05 * (i / iterations);
    const rho = shape.rho * drift;
    const nullFrom = i >= blow ? Math.floor(T / 2) : Infinity;
    const top = profileAt(T, rho, 0.3, noise, nullFrom);
    recorded.push({
      iteration: i,
      layers: Array.from({ length: layers }, (_, l) => layer(l, l === layers - 1 ? top : top.map((v) => (v === null ? null : v * 0.4)), lstm, rho)),
      inputGradNorm: top.map((v) => (v === null ? null : v * 0.2)) as number[],
      lagProfile: [...top].reverse() as number[],
    });
  }
  const final = recorded[recorded.length - 1]!;
  const lag = final.lagProfile as Series;
  const horizon = shape.verdict === 'vanishing' ? Math.ceil(Math.log(1e-3) / Math.log(shape.rho)) : null;
  const evidence: Record<Verdict, string[]> = {
    vanishing: [
      `Gradient decays by ρ = ${shape.rho.toFixed(3)} per step: p(k) falls below 1e-3 × p(0) at lag ${horizon}, short of the ${T}-step sequence.`,
      'Jacobian norm stays below 1 at every timestep (median 0.79).',
    ],
    healthy: [`ρ = ${shape.rho.toFixed(3)} is within 1 ± 0.02; p(k) stays above 1e-3 × p(0) over all ${T} steps.`],
    exploding: [
      `ρ = ${shape.rho.toFixed(3)} exceeds 1 + 0.02: the gradient grows ${(shape.rho ** (T - 1)).toExponential(1)}× across the sequence.`,
      `Non-finite loss from iteration ${blow}; pre-clip norm grows 10× every ~58 iterations.`,
      'A label with <b>markup</b> & "quotes" must show as text.',
    ],
  };
  const recs: Record<Verdict, ReportRun['recommendations']> = {
    vanishing: [
      { title: 'Use an LSTM with forget bias 1', rationale: `ρ = ${shape.rho.toFixed(2)} leaves almost no gradient beyond ${horizon} steps; the LSTM cell path carries it further.`, change: { cell: 'lstm', cellChoice: 'lstm', forgetBias: true } },
      { title: 'Initialise W_hh orthogonally', rationale: 'Keeps the Jacobian norm near 1 at the start of training.', change: { init: 'orthogonal' }, check: { runId: 'rnn-tanh-orth', verdict: 'vanishing', finalLoss: 0.081 } },
    ],
    healthy: [],
    exploding: [
      { title: 'Clip the global norm at 1.2', rationale: 'Near the median pre-clip norm (1.17) over the first 50 iterations.', change: { clip: { kind: 'norm', threshold: 1.2 } }, check: { runId: 'rnn-relu-clip', verdict: 'healthy', finalLoss: 0.043 } },
      { title: 'Lower the learning rate to 0.003', rationale: 'The loss turned non-finite at iteration 150 with lr 0.03.', change: { learningRate: 0.003 } },
    ],
  };
  return {
    schema: 'bptt-lens/run@1',
    id: shape.id,
    label: shape.label,
    config: { cell: shape.cell, cellChoice: shape.cellChoice, clip: shape.clip, hiddenSize: 16, numLayers: layers, learningRate: 0.03, iterations, seed },
    timesteps: T,
    layers: final.layers,
    inputGradNorm: final.inputGradNorm,
    loss: (loss.filter((v) => v !== null).pop() ?? null) as number,
    globalGradNorm: (pre.filter((v) => v !== null).pop() ?? null) as number,
    clippedGradNorm: (post.filter((v) => v !== null).pop() ?? null) as number,
    nonFinite: Number.isFinite(blow) ? { quantity: 'loss', layer: null, t: null, value: NaN } : null,
    itemized: T <= 120 ? itemized(T, shape.rho, Number.isFinite(blow)) : null,
    diagnosis: { decayPerStep: shape.rho, horizon, verdict: shape.verdict, evidence: evidence[shape.verdict], lagProfile: lag as number[] },
    history: {
      loss: loss as number[], preClipNorm: pre as number[], postClipNorm: post as number[],
      clipRate: clipped / iterations, recorded, stoppedAt: Number.isFinite(blow) ? blow : null,
    },
    recommendations: recs[shape.verdict],
  };
}

function itemized(T: number, rho: number, withNulls: boolean): number[][] {
  return Array.from({ length: T }, (_, s) =>
    Array.from({ length: s + 1 }, (_, k) => (withNulls && s > T - 5 && k < 3 ? null : 0.5 * rho ** (s - k))) as number[],
  );
}

export const FIXTURE_SHAPES: Shape[] = [
  { id: 'rnn-tanh', label: 'rnn-tanh · clip none', cellChoice: 'rnn-tanh', cell: 'rnn', rho: 0.8, verdict: 'vanishing', clip: { kind: 'none' }, lossFloor: 0.08 },
  { id: 'lstm', label: 'lstm · clip norm 1', cellChoice: 'lstm', cell: 'lstm', rho: 0.995, verdict: 'healthy', clip: { kind: 'norm', threshold: 1 }, lossFloor: 0.02 },
  { id: 'gru', label: 'gru · clip norm 1', cellChoice: 'gru', cell: 'gru', rho: 0.985, verdict: 'healthy', clip: { kind: 'norm', threshold: 1 }, lossFloor: 0.025 },
  { id: 'rnn-relu', label: 'rnn-relu · clip value 5 <img src=x>', cellChoice: 'rnn-relu', cell: 'rnn', rho: 1.12, verdict: 'exploding', clip: { kind: 'value', threshold: 5 }, blowUpAt: 150, lossFloor: 0.1 },
];

export function fixtureReport(T = 60, iterations = 300, recordEvery = 10): Report {
  return {
    schema: 'bptt-lens/report@1',
    study: {
      kind: 'gates',
      name: 'Gate comparison on airline passengers',
      source: 'airline (sample)',
      description: 'Four cells trained on the same windows with the same seed.',
      task: "predict next month's passengers from the previous 12 months",
      createdAt: '2026-11-22T10:00:00.000Z',
      thresholds: { explodeGrowth: 10, vanishEpsilon: 1e-3, rhoDelta: 0.02 },
    },
    runs: FIXTURE_SHAPES.map((s, i) => fixtureRun(s, T, iterations, recordEvery, 17 + i)),
  };
}

/** The heatmap timing case: 1000 timesteps x 500 recorded iterations. */
export function bigRun(T = 1000, recorded = 500): ReportRun {
  const run = fixtureRun(
    { id: 'big', label: 'lstm · T = 1000', cellChoice: 'lstm', cell: 'lstm', rho: 0.993, verdict: 'healthy', clip: { kind: 'norm', threshold: 1 }, lossFloor: 0.02 },
    T, recorded, 1, 99, 1,
  );
  // One non-finite timestep over a few iterations: one column in 1000, which the heatmap
  // must not lose when it shrinks 1000 columns into fewer pixels.
  for (let i = 300; i < Math.min(recorded, 320); i++) (run.history.recorded[i]!.layers[0]!.gradNormH as (number | null)[])[Math.min(777, T - 1)] = null;
  return run;
}
