// What a view needs from the page: posting to the host, the remembered UI state, the
// current theme, and the test hooks (window.__bpttLensState / __bpttLensPerf).
import type { HostToWebview, WebviewKind, WebviewToHost } from '../src/protocol';
import type { Theme } from './theme';
import type { UiState } from './uiState';

export interface App {
  readonly view: WebviewKind;
  post(msg: WebviewToHost): void;
  readonly state: UiState;
  save(patch: Partial<UiState>): void;
  theme(): Theme;
  /** Updates window.__bpttLensState for the end-to-end tests. */
  publish(info: { verdicts: string[]; chartsDrawn: number }): void;
  /** Records a timing in window.__bpttLensPerf and (unless post is false) posts it to the host. */
  perf(name: string, ms: number, post?: boolean): void;
}

export interface View {
  handle(msg: HostToWebview): void;
  /** The theme changed: redraw every chart with the new colours. */
  retheme(): void;
}
