// Messages between the extension host and its two webviews (the Report panel and the
// Heatmaps view). Host -> webview messages are trusted (we build them); webview -> host
// messages are not: every one goes through `validateWebviewMessage` before the host acts.
// Types only plus one validator: no vscode, no engine, so the webview bundle can import it.
import type { Report, ReportRun, StudyInfo } from './study/types';

/** Which webview a page is; the HTML shell carries it as `<body data-view="...">`. */
export type WebviewKind = 'report' | 'heatmaps' | 'heatmapEditor';

/** Heatmap kinds and quantities a webview may name (webview/viewModel.ts draws them). */
export const HEATMAP_KIND_NAMES = ['timestepIteration', 'timestepLayer', 'itemized'] as const;
export const HEATMAP_QUANTITY_NAMES = ['gradNormH', 'gradNormC', 'weightGradByStep', 'inputGradNorm'] as const;

// ---------------------------------------------------------------- host -> webview

/** Report panel: show this report (and highlight `selectedRunId` when given). */
export interface ReportMessage {
  type: 'report';
  report: Report;
  selectedRunId?: string;
}

/** Heatmaps view: show the heatmaps of one run of a study. */
export interface RunMessage {
  type: 'run';
  run: ReportRun;
  study: StudyInfo;
  /** Which heatmap to show first (the editor opens the one the side bar showed). */
  heatmap?: { kind: string; quantity: string };
}

/** Report panel: highlight a run without resending the report (the Runs tree was clicked). */
export interface SelectMessage {
  type: 'select';
  runId: string;
}

/** A study is running: `fraction` in [0, 1], or null when unknown. */
export interface BusyMessage {
  type: 'busy';
  label: string;
  fraction: number | null;
}

/** Something failed; show the message as plain text (never as HTML). */
export interface ErrorMessage {
  type: 'error';
  message: string;
}

/** Forget what is shown (e.g. the study was cancelled before any report existed). */
export interface ClearMessage {
  type: 'clear';
}

/** Not busy any more (finished, cancelled or failed); keep what is shown. */
export interface IdleMessage {
  type: 'idle';
}

export type HostToWebview = ReportMessage | RunMessage | SelectMessage | BusyMessage | ErrorMessage | ClearMessage | IdleMessage;

// ---------------------------------------------------------------- webview -> host

/** Commands a webview may ask the host to run; nothing outside this list is accepted. */
export const WEBVIEW_COMMANDS = [
  'bpttLens.runDiagnosis',
  'bpttLens.compareClipping',
  'bpttLens.compareGates',
  'bpttLens.diagnoseFile',
  'bpttLens.openPanel',
  'bpttLens.saveReport',
  'bpttLens.openReport',
] as const;
export type WebviewCommand = (typeof WEBVIEW_COMMANDS)[number];

/** The page has loaded its script and wants the current state (sent after every reload). */
export interface ReadyMessage {
  type: 'ready';
}

/** The user picked a run in the webview: the host shows it in the other view and the tree. */
export interface SelectRunMessage {
  type: 'selectRun';
  runId: string;
}

export interface SaveReportMessage {
  type: 'saveReport';
}

export interface RunCommandMessage {
  type: 'runCommand';
  command: WebviewCommand;
}

/** Re-run run `runId` with its recommendation number `index` applied. */
export interface ApplyRecommendationMessage {
  type: 'applyRecommendation';
  runId: string;
  index: number;
}

/** Open this run's heatmap (kind, quantity: '' for the kind's own) full size in an editor tab. */
export interface OpenHeatmapMessage {
  type: 'openHeatmap';
  runId: string;
  kind: string;
  quantity: string;
}

/** A render timing measured in the webview (ms), logged by the host. */
export interface PerfMessage {
  type: 'perf';
  name: string;
  ms: number;
}

export type WebviewToHost =
  | ReadyMessage
  | SelectRunMessage
  | SaveReportMessage
  | RunCommandMessage
  | ApplyRecommendationMessage
  | OpenHeatmapMessage
  | PerfMessage;

// ---------------------------------------------------------------- validation

/** Longest run id accepted from a webview. */
export const MAX_ID_LENGTH = 200;
/** Longest perf label accepted from a webview. */
export const MAX_NAME_LENGTH = 100;
/** Largest recommendation index accepted. */
export const MAX_RECOMMENDATION_INDEX = 1000;
/** Largest timing accepted (ms): one hour. */
export const MAX_PERF_MS = 3_600_000;

type Fields = Record<string, (v: unknown) => boolean>;

const isId = (v: unknown): boolean => typeof v === 'string' && v.length > 0 && v.length <= MAX_ID_LENGTH;
const isName = (v: unknown): boolean =>
  typeof v === 'string' && v.length > 0 && v.length <= MAX_NAME_LENGTH && !/[\u0000-\u001f\u007f]/.test(v);
const isIndex = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 0 && (v as number) < MAX_RECOMMENDATION_INDEX;
const isMs = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= MAX_PERF_MS;
const isHeatmapKind = (v: unknown): boolean => typeof v === 'string' && (HEATMAP_KIND_NAMES as readonly string[]).includes(v);
const isHeatmapQuantity = (v: unknown): boolean => v === '' || (typeof v === 'string' && (HEATMAP_QUANTITY_NAMES as readonly string[]).includes(v));
const isCommand = (v: unknown): boolean => typeof v === 'string' && (WEBVIEW_COMMANDS as readonly string[]).includes(v);

/** The exact fields (besides `type`) each message must have; all are required. */
const SCHEMAS: Record<WebviewToHost['type'], Fields> = {
  ready: {},
  selectRun: { runId: isId },
  saveReport: {},
  runCommand: { command: isCommand },
  applyRecommendation: { runId: isId, index: isIndex },
  openHeatmap: { runId: isId, kind: isHeatmapKind, quantity: isHeatmapQuantity },
  perf: { name: isName, ms: isMs },
};

/**
 * Returns the message when it is exactly one of `WebviewToHost` (known `type`, every
 * field present with the right type and in range, no other own property), else null.
 * Never throws, whatever it is given (getters, proxies, prototypes included).
 */
export function validateWebviewMessage(value: unknown): WebviewToHost | null {
  try {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return null;
    const typeDesc = Object.getOwnPropertyDescriptor(value, 'type');
    const type = typeDesc && 'value' in typeDesc ? (typeDesc.value as unknown) : undefined;
    if (typeof type !== 'string' || !Object.prototype.hasOwnProperty.call(SCHEMAS, type)) return null;
    const fields = SCHEMAS[type as WebviewToHost['type']];
    const keys = Reflect.ownKeys(value);
    if (keys.length !== Object.keys(fields).length + 1) return null;
    const out: Record<string, unknown> = { type };
    for (const key of keys) {
      if (typeof key !== 'string') return null;
      if (key === 'type') continue;
      if (!Object.prototype.hasOwnProperty.call(fields, key)) return null;
      const desc = Object.getOwnPropertyDescriptor(value, key);
      if (!desc || !('value' in desc)) return null; // accessors are not data
      if (!fields[key]!(desc.value)) return null;
      out[key] = desc.value;
    }
    // A fresh object: later code never sees the sender's object (no prototype or getter tricks).
    return out as unknown as WebviewToHost;
  } catch {
    return null;
  }
}
