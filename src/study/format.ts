// Display text shared by the CLI table and the report files (md, html, SVG), so one number
// reads the same in both. The webview (which imports only types from src) writes horizons
// the same way: webview/viewModel.ts horizonText.

/**
 * A horizon in steps. `null` means p(k) never fell below ε·p(0) within the T steps of the
 * sequence, so the horizon is at least T.
 */
export function horizonLabel(horizon: number | null, timesteps: number): string {
  return horizon === null ? `≥ ${timesteps}` : String(horizon);
}
