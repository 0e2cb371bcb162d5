// Webview entry (dist/webview.js). The host's HTML shell says which view this page is with
// <body data-view="report|heatmaps">; we build that view, tell the host we are ready, and
// from then on draw whatever well-formed message it posts.
import type { WebviewKind, WebviewToHost } from '../src/protocol';
import type { App, View } from './app';
import { clear, el } from './dom';
import { HeatmapsView } from './heatmapsView';
import { checkProbeState } from './probeState';
import { ProbeView } from './probeView';
import { checkHostMessage, isHostMessageType } from './messages';
import { ReportView } from './reportView';
import { readTheme, watchTheme, type Theme } from './theme';
import { restoreState, type UiState } from './uiState';

interface VsCodeApi {
  postMessage(msg: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare global {
  function acquireVsCodeApi(): VsCodeApi;
  interface Window {
    __bpttLensState?: { view: WebviewKind; verdicts: string[]; chartsDrawn: number };
    __bpttLensPerf?: Record<string, number>;
  }
}

function start(): void {
  const vscode = acquireVsCodeApi();
  const named = document.body.dataset.view;
  // The state dict editor ('probe') hosts a report view and a heatmaps view of its result.
  const probe = named === 'probe';
  const kind: WebviewKind = named === 'heatmaps' || named === 'heatmapEditor' ? named : 'report';
  const state: UiState = restoreState(vscode.getState());
  let theme: Theme = readTheme();
  window.__bpttLensPerf = {};
  window.__bpttLensState = { view: kind, verdicts: [], chartsDrawn: 0 };

  const app: App = {
    view: kind,
    state,
    post: (msg: WebviewToHost) => vscode.postMessage(msg),
    save(patch) {
      Object.assign(state, patch);
      vscode.setState(state);
    },
    theme: () => theme,
    publish(info) {
      window.__bpttLensState = { view: kind, verdicts: info.verdicts, chartsDrawn: info.chartsDrawn };
    },
    perf(name, ms, post = true) {
      const rounded = Math.round(ms * 100) / 100;
      window.__bpttLensPerf![name] = rounded;
      if (post) vscode.postMessage({ type: 'perf', name, ms: rounded } satisfies WebviewToHost);
    },
  };

  // The host shell has <div id="app" role="main" aria-busy="true"> with a loading line.
  const shell = document.getElementById('app') ?? document.body.appendChild(el('div', { attrs: { id: 'app', role: 'main' } }));
  clear(shell);
  shell.removeAttribute('aria-busy');
  const root = el('div', { class: probe ? 'view view-probe view-report' : `view view-${kind}` });
  shell.append(root);
  const probeView = probe ? new ProbeView(root, app, (msg) => vscode.postMessage(msg)) : null;
  const view: View = probeView ?? (kind === 'report' ? new ReportView(root, app) : new HeatmapsView(root, app));

  window.addEventListener('message', (event: MessageEvent) => {
    if (probeView && (event.data as { type?: unknown } | null)?.type === 'probeState') {
      const state = checkProbeState(event.data);
      if (state) probeView.setState(state);
      return;
    }
    // Anything that is not one of ours (another frame's traffic) is ignored quietly; one of
    // ours with a bad shape is refused visibly, since it means a broken or edited report.
    if (!isHostMessageType(event.data)) return;
    const checked = checkHostMessage(event.data);
    if (!checked.ok) {
      // Drawn as text: the error names a field path, never content from the message.
      view.handle({ type: 'error', message: `Ignored a malformed message from the extension (${checked.error.slice(0, 300)}).` });
      return;
    }
    view.handle(checked.value);
  });

  watchTheme(() => {
    theme = readTheme();
    view.retheme();
  });

  vscode.postMessage({ type: 'ready' } satisfies WebviewToHost);
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
