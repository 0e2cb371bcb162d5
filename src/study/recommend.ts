// What to change, per verdict and setting (design §4). Each recommendation carries the
// config change that tests it, so a study can re-run it and show whether it helped.
// The rules, in priority order:
//   vanishing  truncated BPTT shorter than the sequence -> full BPTT
//              RNN  -> LSTM with forget bias 1 (additive cell path, Hochreiter & Schmidhuber
//                      1997; Jozefowicz et al. 2015), GRU, orthogonal W_hh (Saxe et al. 2014)
//                      or identity W_hh with ReLU (IRNN, Le et al. 2015)
//              LSTM -> forget bias 1 (variants with a forget gate), the vanilla cell with
//                      forget bias 1 (for the other variants), orthogonal W_hh
//              GRU  -> orthogonal W_hh, LSTM with forget bias 1
//   exploding  no clipping -> clip by global norm at the median pre-clip norm (Pascanu et al.
//              2013: the median is the typical step, so only the spikes are cut);
//              value clipping -> norm clipping (keeps the direction);
//              already norm-clipped -> lower the threshold to the median, lower the learning rate;
//              W_hh rescaled above 1 -> spectral radius 1
//   healthy    norm clipping that fires on most updates -> raise it to the median (it acts as a
//              smaller learning rate); a loss that did not move -> a larger learning rate

import { DEFAULT_THRESHOLDS, fmt, median } from './diagnosis';
import type { Recommendation, ReportRun, RunConfig } from './types';

export interface RecommendContext {
  /** Recurrent steps in the data (T). */
  steps: number;
  /** The ε the run's horizon was measured at (default DEFAULT_THRESHOLDS.vanishEpsilon). */
  vanishEpsilon?: number;
}

type RunView = Pick<ReportRun, 'diagnosis' | 'history' | 'timesteps'> & { config: RunConfig };

/** Two significant digits, for thresholds people read and type. */
export function roundNice(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) return 1;
  return Number(x.toPrecision(2));
}

function rec(title: string, rationale: string, change: Partial<RunConfig>): Recommendation {
  return { title, rationale, change, check: null };
}

/** Recommendations for one run, best first. */
export function recommend(run: RunView, ctx?: RecommendContext): Recommendation[] {
  const d = run.diagnosis;
  if (!d) return [];
  const c = run.config;
  const T = ctx?.steps ?? run.timesteps;
  const out: Recommendation[] = [];
  const numbers = `horizon(${fmt(ctx?.vanishEpsilon ?? DEFAULT_THRESHOLDS.vanishEpsilon)}) = ${d.horizon ?? 'beyond the sequence'}${d.horizon !== null ? ` steps of ${T}` : ''}, ρ = ${fmt(d.decayPerStep)} per step`;
  const finiteNorms = run.history.preClipNorm.filter((v) => Number.isFinite(v));
  const medianNorm = finiteNorms.length > 0 ? median(finiteNorms) : Number.NaN;

  if (d.verdict === 'vanishing') {
    const lost = d.lagProfile.length > 0 && d.lagProfile[0]! > 0 ? d.lagProfile[T - 1]! / d.lagProfile[0]! : Number.NaN;
    const lostText = Number.isFinite(lost) ? `; the gradient from step 0 is ${fmt(lost)} of the last step's` : '';
    if (c.truncation && c.truncation.k2 < T) {
      out.push(rec('Backpropagate through the whole sequence', `Truncated BPTT keeps only the last ${c.truncation.k2} of ${T} steps, so nothing older can be learned (${numbers}).`, { truncation: null }));
    }
    if (c.cell === 'rnn') {
      out.push(rec(
        'Use an LSTM with forget bias 1',
        `The ${c.cellChoice} gradient shrinks by a factor ρ = ${fmt(d.decayPerStep)} per step (${numbers}${lostText}). An LSTM carries gradient along its additive cell path c_t = f ⊙ c_{t−1} + i ⊙ g, scaled only by the forget gate, and forget bias 1 starts f near σ(1) = 0.73 instead of 0.5.`,
        { cell: 'lstm', variant: 'vanilla', cellChoice: 'lstm', forgetBias: true },
      ));
      out.push(rec(
        'Use a GRU',
        `The GRU's update h_t = (1 − z) ⊙ n + z ⊙ h_{t−1} passes gradient straight through when z is near 1 (${numbers}).`,
        { cell: 'gru', cellChoice: 'gru' },
      ));
      if (c.nonlinearity === 'relu' && c.init !== 'identity') {
        out.push(rec('Initialise W_hh to the identity (IRNN)', `With ReLU and W_hh = I the state is copied forward at init, so the gradient neither shrinks nor grows through time (Le et al. 2015; ${numbers}).`, { init: 'identity', spectralRadius: null }));
      } else if (c.init !== 'orthogonal') {
        out.push(rec('Initialise W_hh orthogonal', `An orthogonal W_hh has every singular value 1, so the linear part of each step preserves the gradient norm (Saxe et al. 2014; ${numbers}).`, { init: 'orthogonal', spectralRadius: null }));
      }
    } else if (c.cell === 'lstm') {
      // cifg (f = 1 − i) and nfg (f = 1) have no forget-gate bias to set.
      const hasForgetGate = c.variant !== 'cifg' && c.variant !== 'nfg';
      if (!c.forgetBias && hasForgetGate) {
        out.push(rec('Set the forget-gate bias to 1', `With bias 0 the forget gate starts near 0.5, halving the cell path every step (${numbers}); bias 1 starts it near 0.73 (Jozefowicz et al. 2015).`, { forgetBias: true }));
      }
      if (c.variant !== 'vanilla' && c.variant !== 'peephole') {
        out.push(rec(
          'Use the vanilla LSTM with forget bias 1',
          `The ${c.variant} variant removes part of the gating that Greff et al. 2015 found matters; the vanilla cell with its own forget gate at bias 1 keeps the cell path open (${numbers}).`,
          { variant: 'vanilla', cellChoice: 'lstm', forgetBias: true },
        ));
      }
      if (c.init !== 'orthogonal') {
        out.push(rec('Initialise W_hh orthogonal', `Keeps the recurrent weights' singular values at 1 at the start (${numbers}).`, { init: 'orthogonal', spectralRadius: null }));
      }
    } else {
      if (c.init !== 'orthogonal') {
        out.push(rec('Initialise W_hh orthogonal', `Keeps the recurrent weights' singular values at 1 at the start (${numbers}).`, { init: 'orthogonal', spectralRadius: null }));
      }
      out.push(rec('Use an LSTM with forget bias 1', `A separate cell state with an additive update keeps gradient over longer lags (${numbers}).`, { cell: 'lstm', variant: 'vanilla', cellChoice: 'lstm', forgetBias: true }));
    }
  } else if (d.verdict === 'exploding') {
    const stopped = run.history.stoppedAt ?? null;
    const what = stopped !== null ? `training hit a non-finite value at iteration ${stopped}` : d.evidence[0] ?? 'the gradient grows';
    const theta = roundNice(medianNorm);
    const medianText = Number.isFinite(medianNorm) ? `the median pre-clip norm was ${fmt(medianNorm)}` : 'no finite pre-clip norm was recorded';
    if (c.clip.kind === 'none') {
      out.push(rec(
        `Clip the gradient by global norm at ${fmt(theta)}`,
        `${capital(what)}; ${medianText}. Rescaling any update whose norm exceeds it keeps the direction and cuts only the spikes (Pascanu et al. 2013).`,
        { clip: { kind: 'norm', threshold: theta } },
      ));
    } else if (c.clip.kind === 'value') {
      out.push(rec(
        `Clip by global norm at ${fmt(theta)} instead of by value`,
        `${capital(what)} despite value clipping at ${fmt(c.clip.threshold)}; ${medianText}. Norm clipping bounds the whole step and keeps its direction.`,
        { clip: { kind: 'norm', threshold: theta } },
      ));
    } else if (Number.isFinite(medianNorm) && theta < c.clip.threshold) {
      out.push(rec(
        `Lower the clip threshold to ${fmt(theta)}`,
        `${capital(what)} with norm clipping at ${fmt(c.clip.threshold)}; ${medianText}.`,
        { clip: { kind: 'norm', threshold: theta } },
      ));
    }
    if (c.spectralRadius !== null && c.spectralRadius > 1) {
      out.push(rec('Rescale W_hh to spectral radius 1', `W_hh was rescaled to spectral radius ${fmt(c.spectralRadius)} > 1, so the linear part of each step amplifies the gradient (ρ = ${fmt(d.decayPerStep)} per step).`, { spectralRadius: 1 }));
    }
    out.push(rec(
      `Lower the learning rate to ${fmt(c.learningRate / 10)}`,
      `${capital(what)} at learning rate ${fmt(c.learningRate)}; a step 10× smaller keeps the weights out of the region where the recurrence amplifies.`,
      { learningRate: c.learningRate / 10 },
    ));
  } else {
    if (c.clip.kind === 'norm' && run.history.clipRate > 0.5 && Number.isFinite(medianNorm) && medianNorm > c.clip.threshold) {
      const theta = roundNice(medianNorm);
      out.push(rec(
        `Raise the clip threshold to ${fmt(theta)}`,
        `Clipping at ${fmt(c.clip.threshold)} rescaled ${Math.round(run.history.clipRate * 100)}% of the updates (median pre-clip norm ${fmt(medianNorm)}), which acts as a smaller learning rate rather than a guard against spikes.`,
        { clip: { kind: 'norm', threshold: theta } },
      ));
    }
    const first = run.history.recorded[0]?.loss;
    const last = run.history.recorded[run.history.recorded.length - 1]?.loss;
    if (first !== undefined && last !== undefined && Number.isFinite(first) && Number.isFinite(last) && first > 0 && last > 0.9 * first) {
      out.push(rec(
        `Raise the learning rate to ${fmt(c.learningRate * 3)}`,
        `The gradient reaches back through the sequence (${numbers}) but the probe loss only went from ${fmt(first)} to ${fmt(last)}.`,
        { learningRate: c.learningRate * 3 },
      ));
    }
  }
  return out;
}

function capital(s: string): string {
  return s.length === 0 ? s : s[0]!.toUpperCase() + s.slice(1);
}
