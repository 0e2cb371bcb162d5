// Messages between the extension host and the "Probe State Dict" editor (a custom editor for
// a PyTorch state dict, drawn by the main webview bundle as data-view="probe"). The editor's
// lower half is the study panel's ReportView, so the panel's own messages (selectRun,
// saveReport, openHeatmap, perf, ...) pass through `validateWebviewMessage`; the editor's own
// ones are checked here. Types and one validator only: the webview bundle imports this file
// (the state dict's summary type is a type-only import, erased from that bundle).
import type { StateDictSummary } from '../io/stateDictProbe';
import { validateWebviewMessage, type WebviewToHost } from '../protocol';

export type ProbeLoss = 'mse' | 'xent';

/** What the header shows of the worker's StateDictSummary (not the file's path, tensor count or metadata). */
export type ProbeSummary = Pick<
  StateDictSummary,
  'cell' | 'cells' | 'numLayers' | 'bidirectional' | 'hiddenSize' | 'inputSize' | 'outputSize' | 'parameterCount' | 'bytes'
>;
export const PROBE_LOSSES: readonly ProbeLoss[] = ['mse', 'xent'];

/** What the editor's header shows (host → webview, the whole state on every change). */
export interface ProbeState {
  type: 'probeState';
  /** The state dict's base name and its folder (shown, never parsed). */
  weights: string;
  folder: string;
  /** Null while the file is read, or when it could not be read as a state dict. */
  summary: ProbeSummary | null;
  /** The sequence file of the result on show (base name), if any. */
  input: string | null;
  loss: ProbeLoss;
  /** Work in the worker pool: what it is doing and since when (ms since the epoch). */
  busy: { label: string; since: number } | null;
  /** The last failure as one line naming the file (and line); what was shown before stays. */
  error: string | null;
  /** A short note (e.g. "Cancelled."), not an error. */
  note: string | null;
  hasResult: boolean;
}

/** The editor's own requests (webview → host). */
export type ProbeRequest =
  | { type: 'chooseSequence' }
  | { type: 'rerun' }
  | { type: 'cancel' }
  | { type: 'setCell'; cell: string }
  | { type: 'setLoss'; loss: ProbeLoss };

export type ProbeFromWebview = ProbeRequest | WebviewToHost;

const CELL_TEXT = /^[a-z0-9][a-z0-9-]{0,31}$/;

/**
 * The one gate for the editor's messages: exactly one of ProbeFromWebview (known type, the
 * right fields and nothing else, plain data), else null. A cell name is only checked for its
 * form here; the session accepts it only when the weights fit it.
 */
export function validateProbeMessage(raw: unknown): ProbeFromWebview | null {
  try {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return null;
    const proto = Object.getPrototypeOf(raw);
    if (proto !== Object.prototype && proto !== null) return null;
    const keys = Reflect.ownKeys(raw);
    const field = (key: string): unknown => {
      const d = Object.getOwnPropertyDescriptor(raw, key);
      return d && 'value' in d ? (d.value as unknown) : undefined;
    };
    const type = field('type');
    switch (type) {
      case 'chooseSequence':
      case 'rerun':
      case 'cancel':
        return keys.length === 1 ? { type } : null;
      case 'setCell': {
        const cell = field('cell');
        return keys.length === 2 && keys.includes('cell') && typeof cell === 'string' && CELL_TEXT.test(cell) ? { type, cell } : null;
      }
      case 'setLoss': {
        const loss = field('loss');
        return keys.length === 2 && keys.includes('loss') && (PROBE_LOSSES as readonly unknown[]).includes(loss) ? { type, loss: loss as ProbeLoss } : null;
      }
      default:
        return validateWebviewMessage(raw);
    }
  } catch {
    return null;
  }
}
