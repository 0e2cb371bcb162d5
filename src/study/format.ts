// Display text shared by every view — the CLI table, the report files (md, html, SVG), the
// Runs tree and the webview panel — so one number reads the same everywhere. No imports with
// code: the webview bundles this module.
import type { Diagnosis, RecommendationCheck, RunConfig } from './types';

/**
 * A horizon in steps. `null` means p(k) never fell below ε·p(0) within the T steps of the
 * sequence, so the horizon is at least T.
 */
export function horizonLabel(horizon: number | null, timesteps: number): string {
  return horizon === null ? `≥ ${timesteps}` : String(horizon);
}

/**
 * THE final loss of a run: the loss on the run's fixed probe batch after the last update (the
 * run record's `loss`). It does not depend on which minibatch came last, and it is the number
 * that seed spreads, recommendation checks and baselines are compared with. Every view shows
 * this number, through lossText.
 */
export function finalLoss(run: { loss: number }): number {
  return run.loss;
}

/** A loss as every view writes it: 4 significant digits, exponent form below 1e-3 or from 1e4. */
export function lossText(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return 'non-finite';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a < 1e-3 || a >= 1e4) {
    const [mant, exp] = x.toExponential(3).split('e');
    return `${trimZeros(mant!)}e${Number(exp)}`;
  }
  return trimZeros(x.toPrecision(4));
}

function trimZeros(s: string): string {
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

/** The before → after sentence of a recommendation's re-run, the same in every view. */
export function checkSentence(
  run: { diagnosis: Diagnosis | null; timesteps: number; loss: number },
  check: RecommendationCheck,
  runs: readonly { id: string; label: string }[] = [],
): string {
  const d = run.diagnosis;
  const target = runs.find((r) => r.id === check.runId);
  const parts = [`verdict ${d ? `${d.verdict} → ` : ''}${check.verdict}`];
  if (check.decayPerStep !== undefined) parts.push(`ρ ${d ? `${fmt(d.decayPerStep)} → ` : ''}${fmt(check.decayPerStep)}`);
  if (check.horizon !== undefined) parts.push(`horizon ${d ? `${horizonLabel(d.horizon, run.timesteps)} → ` : ''}${horizonLabel(check.horizon, run.timesteps)}`);
  parts.push(`final loss ${lossText(finalLoss(run))} → ${lossText(check.finalLoss)}`);
  // Re-runs are the `check-…` runs; any other target is one of the study's own runs (a gates
  // study checks a switch of cell with the run of that cell already on screen).
  const how = target && !target.id.startsWith('check-') ? "Checked against the study's own run" : 'Checked by re-running';
  let s = `${how} (${target ? target.label || target.id : check.runId}): ${parts.join(', ')}`;
  if (check.outcome === 'confirmed') s += `: confirmed${check.next && d && check.verdict === d.verdict ? ` (loss), verdict still ${check.verdict}; next to try: ${check.next}` : ''}.`;
  else if (check.outcome) s += `: ${check.outcome === 'worse' ? 'worse' : 'no better'}${check.next ? `; next to try: ${check.next}` : ''}.`;
  else s += '.';
  return s;
}

const CELL_PHRASES: Record<string, string> = {
  'rnn-tanh': 'a tanh RNN', 'rnn-relu': 'a ReLU RNN', gru: 'a GRU', lstm: 'an LSTM',
  'lstm-peephole': 'an LSTM with peepholes', 'lstm-cifg': 'an LSTM with coupled input and forget gates',
  'lstm-nfg': 'an LSTM without forget gate', 'lstm-nig': 'an LSTM without input gate', 'lstm-nog': 'an LSTM without output gate',
  'lstm-niaf': 'an LSTM without input activation', 'lstm-noaf': 'an LSTM without output activation',
  indrnn: 'an IndRNN (diagonal recurrence)', mingru: 'a minGRU', minlstm: 'a minLSTM',
  lru: 'an LRU (linear recurrence)', rglru: 'an RG-LRU (Griffin)', s6: 'an S6 selective scan (Mamba)',
  slstm: 'an sLSTM (xLSTM)', mlstm: 'an mLSTM (xLSTM)',
};

/** Plain name of a cell choice with its forget bias, in every title and change line: "an LSTM with forget-gate bias 1", "a GRU". */
export function cellPhrase(cellChoice: string, forgetBias = false): string {
  const name = Object.hasOwn(CELL_PHRASES, cellChoice) ? CELL_PHRASES[cellChoice]! : `a ${cellChoice} cell`;
  return forgetBias ? `${name} with forget-gate bias 1` : name;
}

/**
 * A recommendation's config change in plain words, e.g. "Switch to an LSTM with forget-gate
 * bias 1": the one wording of a change in the panel, report.md/html, the CLI and check texts.
 */
export function changeWords(change: Partial<RunConfig> | Record<string, unknown>): string {
  const c = change as Partial<RunConfig>;
  const out: string[] = [];
  const cell = c.cellChoice ?? (c.cell === 'rnn' ? undefined : c.cell);
  if (cell !== undefined) out.push(`switch to ${cellPhrase(cell, c.forgetBias === true)}`);
  else if (c.variant === 'vanilla') out.push(`switch to the vanilla LSTM${c.forgetBias ? ' with forget-gate bias 1' : ''}`);
  else if (c.forgetBias === true) out.push('set the forget-gate bias to 1');
  else if (c.forgetBias === false) out.push('set the forget-gate bias to 0');
  if (c.init === 'orthogonal') out.push('initialise W_hh orthogonal');
  else if (c.init === 'identity') out.push('initialise W_hh to the identity (IRNN)');
  else if (c.init === 'xavier') out.push('use Xavier/Glorot initialisation');
  else if (c.init === 'pytorch') out.push("use PyTorch's default initialisation");
  if (typeof c.spectralRadius === 'number') out.push(`rescale W_hh to spectral radius ${fmt(c.spectralRadius)}`);
  if (c.clip) {
    if (c.clip.kind === 'none') out.push('turn clipping off');
    else if (c.clip.kind === 'norm') out.push(`clip the gradient's global norm at ${fmt(c.clip.threshold)}`);
    else out.push(`clip each gradient value to ±${fmt(c.clip.threshold)}`);
  }
  if (typeof c.learningRate === 'number') out.push(`set the learning rate to ${fmt(c.learningRate)}`);
  if ('truncation' in c && c.truncation === null) out.push('backpropagate through the whole sequence');
  else if (c.truncation) out.push(`truncate BPTT to ${c.truncation.k2} steps every ${c.truncation.k1}`);
  if (typeof c.hiddenSize === 'number') out.push(`use hidden size ${c.hiddenSize}`);
  if (typeof c.iterations === 'number') out.push(`train for ${c.iterations} iterations`);
  if (out.length === 0) return 'no configuration change';
  const s = out.join(', ');
  return s[0]!.toUpperCase() + s.slice(1);
}

/** Compact number for evidence sentences: 3 significant digits, exponent form outside [1e-2, 1e4). */
export function fmt(x: number | null | undefined): string {
  if (x === null || x === undefined) return 'n/a';
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'Infinity' : '-Infinity';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e4 || a < 1e-2) return x.toExponential(1).replace('.0e', 'e').replace('e+', 'e');
  return Number(x.toPrecision(3)).toString();
}
