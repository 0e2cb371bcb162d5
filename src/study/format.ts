// Display text shared by every view — the CLI table, the report files (md, html, SVG), the
// Runs tree and the webview panel — so one number reads the same everywhere.

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
