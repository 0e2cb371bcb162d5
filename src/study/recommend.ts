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
//   exploding  no clipping -> clip by global norm at the median pre-clip norm of the first
//              quarter of training (Pascanu et al. 2013: the typical step while training still
//              behaved, so only the spikes are cut);
//              value clipping -> norm clipping (keeps the direction);
//              already norm-clipped -> lower the threshold to the median, lower the learning rate;
//              W_hh rescaled above 1 -> spectral radius 1
//   healthy    norm clipping that fires on most updates -> raise it to the median (it acts as a
//              smaller learning rate); a loss that did not move -> a larger learning rate
//   any        a final loss within a few percent of the trivial baseline -> train longer;
//              still vanishing after all that -> truncated BPTT at the horizon (the gradient
//              beyond it is lost anyway) as the last resort
// With the study's other runs (ctx.others): a change that lands on a configuration a run on
// screen already shows, and that run did no better, is dropped; a run on screen that did
// better with another cell is recommended first ("Switch to a GRU: the study's gru run …").
// Cells without a hidden-to-hidden matrix (minGRU, minLSTM, LRU, RG-LRU, S6, mLSTM, IndRNN's
// diagonal) never get a W_hh init (orthogonal, identity, spectral radius). A vanishing classic
// cell is offered an LRU (a linear diagonal recurrence, Orvieto et al. 2023), which the re-run
// checks; a modern cell on screen that did not vanish with the same settings is recommended by
// name ("Switch to an LRU (linear recurrence)") with that run as its check.
// Titles are plain words a person would say; the change itself is data (`change`).

import { DEFAULT_THRESHOLDS, fmt, median } from './diagnosis';
import { cellPhrase, changeWords, lossText } from './format';
import type { Recommendation, ReportRun, RunConfig } from './types';
import { cellFamily, hasHiddenToHidden, MODERN_KINDS } from '../engine/cells';

export interface RecommendContext {
  /** Recurrent steps in the data (T). */
  steps: number;
  /** The ε the run's horizon was measured at (default DEFAULT_THRESHOLDS.vanishEpsilon). */
  vanishEpsilon?: number;
  /** The study's other runs on the same data: what they already show is not recommended again. */
  others?: RunView[];
}

export type RunView = Pick<ReportRun, 'diagnosis' | 'history' | 'timesteps'> & { config: RunConfig; label?: string; loss?: number; baseline?: ReportRun['baseline'] };

/** A final loss this close to the trivial baseline (relative) counts as "not learned yet". */
export const BASELINE_MARGIN = 0.05;
/** Most iterations a "train longer" recommendation asks for. */
const MAX_ITERATIONS = 100_000;

/** Two significant digits, for thresholds people read and type. */
export function roundNice(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) return 1;
  return Number(x.toPrecision(2));
}

function rec(title: string, rationale: string, change: Partial<RunConfig>): Recommendation {
  return { title, rationale, change, check: null };
}

/** Recommendations for one run, best first, in the light of the study's other runs. */
export function recommend(run: RunView, ctx?: RecommendContext): Recommendation[] {
  const own = ownRecommendations(run, ctx);
  return ctx?.others ? weighAgainstStudy(run, own, ctx.others) : own;
}

/** The change that switches a run to `cellChoice` (a cell without a forget-gate bias of its own). */
function switchTo(cellChoice: 'lru' | 'gru'): Partial<RunConfig> {
  return { cell: cellChoice, nonlinearity: 'tanh', variant: 'vanilla', cellChoice, forgetBias: false };
}

/** Why a cell of the modern families keeps the gradient, for a switch's rationale. */
function modernReason(cellChoice: string): string {
  return cellFamily(cellChoice) === 'linear'
    ? 'Its recurrence is linear and diagonal: the gradient through k steps is a product of k diagonal factors the cell learns directly, with no squashing nonlinearity in the path.'
    : cellFamily(cellChoice) === 'gated-modern'
      ? 'Its gates were designed around gradient flow through time (gates that read the input only, or exponential gating with a normaliser).'
      : 'Its recurrence is diagonal, so each unit keeps or forgets on its own.';
}

function ownRecommendations(run: RunView, ctx?: RecommendContext): Recommendation[] {
  const d = run.diagnosis;
  if (!d) return [];
  const c = run.config;
  // W_hh inits (orthogonal, identity, spectral radius) only for cells that have a W_hh.
  const hasWhh = hasHiddenToHidden(c.cell);
  const lruSwitch = (numbers: string) => rec(
    `Switch to ${cellPhrase('lru')}`,
    `The ${c.cellChoice} gradient fades within the window (${numbers}). An LRU (Orvieto et al. 2023) has step Jacobian diag(λ) with |λ| initialised close to 1, so how far the gradient reaches is a parameter it learns, not a side effect of saturating gates.`,
    switchTo('lru'),
  );
  const T = ctx?.steps ?? run.timesteps;
  const out: Recommendation[] = [];
  const numbers = `horizon(${fmt(ctx?.vanishEpsilon ?? DEFAULT_THRESHOLDS.vanishEpsilon)}) = ${d.horizon ?? 'beyond the sequence'}${d.horizon !== null ? ` steps of ${T}` : ''}, ρ = ${fmt(d.decayPerStep)} per step`;
  const finiteNorms = run.history.preClipNorm.filter((v) => Number.isFinite(v));
  const medianNorm = finiteNorms.length > 0 ? median(finiteNorms) : Number.NaN;

  if (d.verdict === 'vanishing') {
    const lost = d.lagProfile.length > 0 && d.lagProfile[0]! > 0 ? d.lagProfile[T - 1]! / d.lagProfile[0]! : Number.NaN;
    const lostText = Number.isFinite(lost) ? `; the gradient from step 0 is ${fmt(lost)} of the last step's` : '';
    if (c.truncation && c.truncation.k2 < T) {
      out.push(rec('Backpropagate through the whole sequence (no truncation)', `Truncated BPTT keeps only the last ${c.truncation.k2} of ${T} steps, so nothing older can be learned (${numbers}).`, { truncation: null }));
    }
    if (c.cell === 'rnn') {
      out.push(rec(
        'Switch to an LSTM with forget-gate bias 1',
        `The ${c.cellChoice} gradient shrinks by a factor ρ = ${fmt(d.decayPerStep)} per step (${numbers}${lostText}). An LSTM carries gradient along its additive cell path c_t = f ⊙ c_{t−1} + i ⊙ g, scaled only by the forget gate, and forget bias 1 starts f near σ(1) = 0.73 instead of 0.5.`,
        { cell: 'lstm', variant: 'vanilla', cellChoice: 'lstm', forgetBias: true },
      ));
      out.push(rec(
        'Switch to a GRU',
        `The GRU's update h_t = (1 − z) ⊙ n + z ⊙ h_{t−1} passes gradient straight through when z is near 1 (${numbers}).`,
        { cell: 'gru', variant: 'vanilla', cellChoice: 'gru', forgetBias: false },
      ));
      out.push(lruSwitch(numbers));
      if (c.nonlinearity === 'relu' && c.init !== 'identity') {
        out.push(rec('Initialise the recurrent weights to the identity (IRNN)', `With ReLU and W_hh = I the state is copied forward at init, so the gradient neither shrinks nor grows through time (Le et al. 2015; ${numbers}).`, { init: 'identity', spectralRadius: null }));
      } else if (c.init !== 'orthogonal') {
        out.push(rec('Initialise the recurrent weights orthogonally', `An orthogonal W_hh has every singular value 1, so the linear part of each step preserves the gradient norm (Saxe et al. 2014; ${numbers}).`, { init: 'orthogonal', spectralRadius: null }));
      }
    } else if (c.cell === 'lstm') {
      // cifg (f = 1 − i) and nfg (f = 1) have no forget-gate bias to set.
      const hasForgetGate = c.variant !== 'cifg' && c.variant !== 'nfg';
      if (!c.forgetBias && hasForgetGate) {
        out.push(rec('Set the forget-gate bias to 1', `With bias 0 the forget gate starts near 0.5, halving the cell path every step (${numbers}); bias 1 starts it near 0.73 (Jozefowicz et al. 2015).`, { forgetBias: true }));
      }
      if (c.variant !== 'vanilla' && c.variant !== 'peephole') {
        out.push(rec(
          'Switch to the standard LSTM with forget-gate bias 1',
          `The ${c.variant} variant removes part of the gating that Greff et al. 2015 found matters; the vanilla cell with its own forget gate at bias 1 keeps the cell path open (${numbers}).`,
          { variant: 'vanilla', cellChoice: 'lstm', forgetBias: true },
        ));
      }
      // The LSTM's own fixes first; the LRU next (first once they are used up).
      out.push(lruSwitch(numbers));
      if (c.init !== 'orthogonal') {
        out.push(rec('Initialise the recurrent weights orthogonally', `Keeps the recurrent weights' singular values at 1 at the start (${numbers}).`, { init: 'orthogonal', spectralRadius: null }));
      }
      out.push(rec('Switch to a GRU', `The GRU's update h_t = (1 − z) ⊙ n + z ⊙ h_{t−1} passes gradient straight through when z is near 1 (${numbers}).`, switchTo('gru')));
    } else {
      const classic = cellFamily(c.cellChoice) === 'classic';
      // gru and indrnn: the LRU is the one fix of another kind, so it comes first.
      if (classic) out.push(lruSwitch(numbers));
      if (hasWhh && c.init !== 'orthogonal') {
        out.push(rec('Initialise the recurrent weights orthogonally', `Keeps the recurrent weights' singular values at 1 at the start (${numbers}).`, { init: 'orthogonal', spectralRadius: null }));
      }
      out.push(rec('Switch to an LSTM with forget-gate bias 1', `A separate cell state with an additive update keeps gradient over longer lags (${numbers}).`, { cell: 'lstm', variant: 'vanilla', cellChoice: 'lstm', forgetBias: true }));
    }
    const hz = d.horizon;
    if (hz !== null && hz >= 1 && hz < T && !(c.truncation && c.truncation.k2 <= hz)) {
      out.push(rec(
        `Backpropagate only the last ${hz} steps (truncated BPTT)`,
        `Nothing older than ${hz} steps reaches the weights anyway (${numbers}); truncated BPTT (Williams & Peng 1990) says so openly and costs ${Math.round((100 * hz) / T)}% of the backward pass. If the task needs longer memory, a shorter window or a cell that keeps the gradient is the fix.`,
        { truncation: { k1: hz, k2: hz } },
      ));
    }
  }
  if (d.verdict === 'exploding') {
    const stopped = run.history.stoppedAt ?? null;
    const what = stopped !== null ? `training hit a non-finite value at iteration ${stopped}` : d.evidence[0] ?? 'the gradient grows';
    // The typical step while training still behaved (over a run that blew up, the median of all
    // its norms is the blow-up): the median of the norms before the first one 10× the median
    // of the first three, within the first quarter of training.
    const early = behavedPrefix(finiteNorms);
    const typical = early.length > 0 ? median(early) : Number.NaN;
    const theta = roundNice(typical);
    const medianText = Number.isFinite(typical)
      ? `the median pre-clip norm ${early.length < finiteNorms.length ? `over the first ${early.length} updates, before the norms took off, ` : ''}was ${fmt(typical)}`
      : 'no finite pre-clip norm was recorded';
    if (c.clip.kind === 'none') {
      out.push(rec(
        `Clip the gradient's global norm at ${fmt(theta)}`,
        `${capital(what)}; ${medianText}. Rescaling any update whose norm exceeds it keeps the direction and cuts only the spikes (Pascanu et al. 2013).`,
        { clip: { kind: 'norm', threshold: theta } },
      ));
    } else if (c.clip.kind === 'value') {
      out.push(rec(
        `Clip by global norm at ${fmt(theta)} instead of by value`,
        `${capital(what)} despite value clipping at ${fmt(c.clip.threshold)}; ${medianText}. Norm clipping bounds the whole step and keeps its direction.`,
        { clip: { kind: 'norm', threshold: theta } },
      ));
    } else if (Number.isFinite(typical) && theta < c.clip.threshold) {
      out.push(rec(
        `Lower the clip threshold to ${fmt(theta)}`,
        `${capital(what)} with norm clipping at ${fmt(c.clip.threshold)}; ${medianText}.`,
        { clip: { kind: 'norm', threshold: theta } },
      ));
    }
    if (hasWhh && c.spectralRadius !== null && c.spectralRadius > 1) {
      out.push(rec('Rescale the recurrent weights to spectral radius 1', `W_hh was rescaled to spectral radius ${fmt(c.spectralRadius)} > 1, so the linear part of each step amplifies the gradient (ρ = ${fmt(d.decayPerStep)} per step).`, { spectralRadius: 1 }));
    }
    out.push(rec(
      `Lower the learning rate to ${fmt(c.learningRate / 10)}`,
      `${capital(what)} at learning rate ${fmt(c.learningRate)}; a step 10× smaller keeps the weights out of the region where the recurrence amplifies.`,
      { learningRate: c.learningRate / 10 },
    ));
  } else if (d.verdict === 'healthy') {
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
  const learned = notLearned(run);
  if (learned && c.iterations < MAX_ITERATIONS && d.verdict !== 'exploding') {
    const more = Math.min(MAX_ITERATIONS, c.iterations * 4);
    const longer = rec(
      `Train longer (${more} iterations instead of ${c.iterations})`,
      `The final loss ${lossText(learned.loss)} is within ${Math.round(BASELINE_MARGIN * 100)}% of the trivial baseline ${lossText(learned.baseline)} (${learned.what}): the network has not learned the task yet, and the gradient of an untrained network says little about the trained one.`,
      { iterations: more },
    );
    // Healthy but untrained: training longer is the first thing to try.
    if (d.verdict === 'healthy') out.unshift(longer);
    else out.splice(Math.min(out.length, 2), 0, longer);
  }
  return out;
}

/** The pre-clip norms of the first quarter of training up to (not including) the first one 10× the median of the first three. */
export function behavedPrefix(norms: number[]): number[] {
  const quarter = norms.slice(0, Math.max(1, Math.ceil(norms.length / 4)));
  if (quarter.length < 3) return quarter;
  const start = median(quarter.slice(0, 3));
  const jump = quarter.findIndex((v) => v > 10 * start);
  return jump < 0 ? quarter : quarter.slice(0, Math.max(1, jump));
}

/** The run's final loss and baseline when the loss is within BASELINE_MARGIN of the baseline (or above it). */
export function notLearned(run: Pick<RunView, 'loss' | 'baseline'>): { loss: number; baseline: number; what: string } | null {
  const b = run.baseline;
  const loss = run.loss;
  if (!b || loss === undefined || !Number.isFinite(loss) || !(b.loss > 0)) return null;
  if (loss < b.loss * (1 - BASELINE_MARGIN)) return null;
  return { loss, baseline: b.loss, what: b.kind === 'mean' ? 'always predicting the mean target' : 'always predicting the class frequencies' };
}

/** Rank of a verdict for "did better": healthy above the rest. */
function verdictRank(run: RunView): number {
  return run.diagnosis?.verdict === 'healthy' ? 1 : 0;
}

/** `a` did better than `b`: a better verdict, or the same verdict and a final loss at least 10% lower. */
export function didBetter(a: RunView, b: RunView): boolean {
  const ra = verdictRank(a);
  const rb = verdictRank(b);
  if (ra !== rb) return ra > rb;
  const la = a.loss ?? Number.NaN;
  const lb = b.loss ?? Number.NaN;
  if (!Number.isFinite(la)) return false;
  return !Number.isFinite(lb) || la < 0.9 * lb;
}

/** The configuration a change leads to (cell fields follow the cell choice; forget bias only where it applies). */
export function applyChange(config: RunConfig, change: Partial<RunConfig>): RunConfig {
  const next: RunConfig = { ...config, ...change };
  if (next.cell !== 'lstm' || next.variant === 'cifg' || next.variant === 'nfg') next.forgetBias = false;
  return next;
}

function sameConfig(a: RunConfig, b: RunConfig): boolean {
  return canonicalKey(a) === canonicalKey(b);
}

function canonicalKey(c: RunConfig): string {
  const { cell, nonlinearity, variant, cellChoice, hiddenSize, numLayers, bidirectional, init, spectralRadius, forgetBias, optimizer, learningRate, clip, truncation, iterations, batchSize, seed } = c;
  return JSON.stringify([cell, nonlinearity, variant, cellChoice, hiddenSize, numLayers, bidirectional, init, spectralRadius, forgetBias, optimizer, learningRate, clip, truncation, iterations, batchSize, seed]);
}

/** Same configuration apart from the cell (choice, variant, nonlinearity, forget bias). */
function sameButCell(a: RunConfig, b: RunConfig): boolean {
  const strip = (c: RunConfig): RunConfig => ({ ...c, cell: 'rnn', nonlinearity: 'tanh', variant: 'vanilla', cellChoice: 'rnn-tanh', forgetBias: false });
  return sameConfig(strip(a), strip(b)) && a.cellChoice + a.forgetBias !== b.cellChoice + b.forgetBias;
}

/** Same configuration apart from the clipping. */
function sameButClip(a: RunConfig, b: RunConfig): boolean {
  return sameConfig({ ...a, clip: { kind: 'none' } }, { ...b, clip: { kind: 'none' } }) && JSON.stringify(a.clip) !== JSON.stringify(b.clip);
}

function outcomeText(r: RunView): string {
  const d = r.diagnosis;
  const hz = d ? (d.horizon === null ? `the gradient reaches back the whole ${r.timesteps} steps` : `horizon ${d.horizon} of ${r.timesteps} steps`) : 'not diagnosed';
  return `${d?.verdict ?? 'no verdict'}, ${hz}, final loss ${lossText(r.loss)}`;
}

/**
 * Drops what a run on screen already shows to be no better; puts first a switch to the cell of
 * a run on screen that did better (same settings otherwise), with that run's numbers.
 */
function weighAgainstStudy(run: RunView, own: Recommendation[], others: RunView[]): Recommendation[] {
  const peers = others.filter((o) => o !== run && o.diagnosis);
  const kept: Recommendation[] = [];
  for (const r of own) {
    const target = applyChange(run.config, r.change);
    const shown = peers.find((o) => sameConfig(o.config, target));
    if (shown && !didBetter(shown, run)) continue; // a run on screen already shows it does not help
    if (shown) r.rationale += ` The study's run "${shown.label ?? shown.config.cellChoice}" is exactly this configuration: ${outcomeText(shown)}.`;
    kept.push(r);
  }
  const better = peers.filter((o) => (sameButCell(o.config, run.config) || sameButClip(o.config, run.config)) && didBetter(o, run));
  better.sort((a, b) => verdictRank(b) - verdictRank(a) || (a.loss ?? Infinity) - (b.loss ?? Infinity));
  const best = better[0];
  if (best) {
    const byCell = sameButCell(best.config, run.config);
    const change: Partial<RunConfig> = byCell
      ? { cell: best.config.cell, nonlinearity: best.config.nonlinearity, variant: best.config.variant, cellChoice: best.config.cellChoice, forgetBias: best.config.forgetBias }
      : { clip: { ...best.config.clip } };
    const existing = kept.findIndex((r) => sameConfig(applyChange(run.config, r.change), best.config));
    const title = byCell ? `Switch to ${cellPhrase(best.config.cellChoice, best.config.forgetBias)}` : changeWords({ clip: best.config.clip });
    const rationale = `The study's run "${best.label ?? best.config.cellChoice}" has the same settings with ${byCell ? 'that cell' : 'that clipping'}: ${outcomeText(best)}, against ${outcomeText(run)} here.`;
    if (existing >= 0) {
      const [r] = kept.splice(existing, 1);
      kept.unshift({ ...r!, title, rationale: `${rationale} ${r!.rationale.replace(/ The study's run "[^"]*" is exactly this configuration: [^.]*\.$/, '')}` });
    } else {
      kept.unshift(rec(title, rationale, change));
    }
  }
  // A vanishing run, and a modern cell on screen with the same settings that did not vanish and
  // did better: switch to it (first when it is the best run on screen, else right after it).
  if (run.diagnosis?.verdict === 'vanishing') {
    const modern = better.find((o) => MODERN_KINDS.includes(o.config.cell) && o.diagnosis?.verdict === 'healthy' && sameButCell(o.config, run.config));
    if (modern && modern !== best) {
      const at = kept.findIndex((r) => sameConfig(applyChange(run.config, r.change), modern.config));
      const rationale = `The study's run "${modern.label ?? modern.config.cellChoice}" has the same settings with that cell: ${outcomeText(modern)}, against ${outcomeText(run)} here. ${modernReason(modern.config.cellChoice)}`;
      const switchRec = rec(`Switch to ${cellPhrase(modern.config.cellChoice)}`, rationale, { cell: modern.config.cell, nonlinearity: modern.config.nonlinearity, variant: modern.config.variant, cellChoice: modern.config.cellChoice, forgetBias: false });
      if (at >= 0) kept.splice(at, 1);
      kept.splice(best ? 1 : 0, 0, switchRec);
    } else if (modern && modern === best) {
      kept[0] = { ...kept[0]!, rationale: `${kept[0]!.rationale} ${modernReason(modern.config.cellChoice)}` };
    }
  }
  return kept;
}

function capital(s: string): string {
  return s.length === 0 ? s : s[0]!.toUpperCase() + s.slice(1);
}
