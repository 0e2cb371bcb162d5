// Messages between the extension host and the Training Captures view (its own webview bundle,
// dist/captures.js). Host → webview messages are ours; webview → host messages are checked by
// validateCapturesMessage before the host acts. Types and one validator only: the webview
// bundle imports this file too.

export interface CaptureSummary {
  step: number;
  file: string;
  timesteps: number;
  verdict: 'vanishing' | 'exploding' | 'healthy' | null;
  decayPerStep: number | null;
  horizon: number | null;
  replayError: number | null;
  inputGradError: number | null;
  trainingLoss: number | null;
  /** ‖∂L/∂h_t‖ of the top layer's output per t (both directions when bidirectional): the total. */
  total: (number | null)[];
  /** ‖grad_output_t‖: what arrived directly at step t. */
  direct: (number | null)[];
  /** 1 − direct/total per t: the share that arrived through the recurrence. */
  recurrentShare: (number | null)[];
  layers: { label: string; gradNormH: (number | null)[] }[];
  evidence: string[];
  itemizedRows: string;
}

/** The whole state of a captures view (sent on every change; a few hundred KB at most). */
export interface CapturesState {
  type: 'captures';
  folder: string;
  captures: CaptureSummary[];
  errors: { file: string; message: string }[];
  pending: number;
  firstChange: { step: number; from: string; to: string } | null;
}

export type CapturesToWebview = CapturesState;

export type CapturesFromWebview = { type: 'ready' } | { type: 'saveReport' } | { type: 'perf'; name: string; ms: number };

/** The one gate for messages from the captures webview; anything else is null. */
export function validateCapturesMessage(raw: unknown): CapturesFromWebview | null {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return null;
  const m = raw as Record<string, unknown>;
  const keys = Object.keys(m);
  switch (m.type) {
    case 'ready':
    case 'saveReport':
      return keys.length === 1 ? { type: m.type } : null;
    case 'perf':
      if (keys.length !== 3 || typeof m.name !== 'string' || !/^[a-zA-Z][\w.-]{0,39}$/.test(m.name)) return null;
      if (typeof m.ms !== 'number' || !Number.isFinite(m.ms) || m.ms < 0 || m.ms > 3_600_000) return null;
      return { type: 'perf', name: m.name, ms: m.ms };
    default:
      return null;
  }
}
