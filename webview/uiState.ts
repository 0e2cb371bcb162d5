// What the webview remembers across hide/show (vscode.setState): UI choices only. The
// report itself is re-sent by the host after 'ready'. Restored state is checked like any
// other input, since an older build may have saved a different shape.
import { HEATMAP_KINDS, HEATMAP_QUANTITIES, PROFILE_METRICS, type HeatmapKind, type HeatmapQuantity, type ProfileMetric } from './viewModel';

export interface UiState {
  selectedRunId: string | null;
  metric: ProfileMetric;
  lossLog: boolean;
  /** Loss curves drawn as an exponential moving average. */
  lossSmooth: boolean;
  scrollY: number;
  heatmapKind: HeatmapKind | null;
  heatmapQuantity: HeatmapQuantity | null;
  cursor: { row: number; col: number } | null;
}

export const DEFAULT_STATE: UiState = {
  selectedRunId: null,
  metric: 'normalised',
  lossLog: true,
  lossSmooth: false,
  scrollY: 0,
  heatmapKind: null,
  heatmapQuantity: null,
  cursor: null,
};

const isCount = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;

export function restoreState(saved: unknown): UiState {
  const s: UiState = { ...DEFAULT_STATE };
  if (typeof saved !== 'object' || saved === null) return s;
  const o = saved as Record<string, unknown>;
  if (typeof o.selectedRunId === 'string' && o.selectedRunId.length <= 200) s.selectedRunId = o.selectedRunId;
  if (PROFILE_METRICS.some((m) => m.value === o.metric)) s.metric = o.metric as ProfileMetric;
  if (typeof o.lossLog === 'boolean') s.lossLog = o.lossLog;
  if (typeof o.lossSmooth === 'boolean') s.lossSmooth = o.lossSmooth;
  if (typeof o.scrollY === 'number' && Number.isFinite(o.scrollY) && o.scrollY >= 0) s.scrollY = o.scrollY;
  if (HEATMAP_KINDS.some((k) => k.value === o.heatmapKind)) s.heatmapKind = o.heatmapKind as HeatmapKind;
  if (HEATMAP_QUANTITIES.some((q) => q.value === o.heatmapQuantity)) s.heatmapQuantity = o.heatmapQuantity as HeatmapQuantity;
  const c = o.cursor as Record<string, unknown> | null | undefined;
  if (c && typeof c === 'object' && isCount(c.row) && isCount(c.col)) s.cursor = { row: c.row, col: c.col };
  return s;
}
