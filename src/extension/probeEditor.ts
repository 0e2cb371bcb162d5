// BPTT Lens: Probe State Dict — a read-only custom editor for a plain nn.RNN/LSTM/GRU + Linear
// state dict (`.safetensors`, offered in "Open With…", never the default), and the palette
// command that picks one. The editor reads the weights in the worker pool, shows what they
// hold, and runs `bptt-lens gradients` (the same function, in a worker) on a sequence file the
// user picks; the result is a one-run report drawn by the study panel's own view below the
// header, and Save Report writes it like a study. State: probeSession.ts; messages:
// probeProtocol.ts (every incoming one validated before anything acts on it).
import * as vscode from 'vscode';
import * as path from 'node:path';
import type { WebviewKind, WebviewToHost } from '../protocol';
import type { WorkerPool } from '../worker/pool';
import { validateProbeMessage } from './probeProtocol';
import { ProbeSession } from './probeSession';
import type { ReportStore } from './store';
import { boundReportForView } from './viewBounds';
import { renderShell } from './webviewHtml';
import { webviewOptions } from './webviews';

export interface ProbeHost {
  extensionUri: vscode.Uri;
  workers: WorkerPool;
  store: ReportStore;
  log(line: string): void;
  saveReport(): Promise<void>;
  /** The study panel's handling of its messages (openHeatmap, runCommand), on the current study. */
  onMessage(message: WebviewToHost, view: WebviewKind): void;
}

/** One open editor: its webview, its session, and the report it put in the store (if any). */
class ProbeEditor implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private ready = false;
  private refused = 0;
  private storeKey: string | null = null;
  /** The report last posted, so a re-render after 'ready' or a rerun posts it again only when needed. */
  private postedReport: unknown = null;

  constructor(
    private readonly panel: vscode.WebviewPanel,
    private readonly session: ProbeSession,
    private readonly host: ProbeHost,
  ) {
    const webview = panel.webview;
    webview.options = webviewOptions(host.extensionUri);
    const uri = (...parts: string[]): string => webview.asWebviewUri(vscode.Uri.joinPath(host.extensionUri, ...parts)).toString();
    webview.html = renderShell({ view: 'probe', title: panel.title, cspSource: webview.cspSource, scriptUri: uri('dist', 'webview.js'), styleUri: uri('media', 'webview.css') });
    const sub = session.onChange(() => this.post());
    this.disposables.push(
      { dispose: () => sub.dispose() },
      webview.onDidReceiveMessage((raw: unknown) => this.receive(raw)),
      panel.onDidDispose(() => this.dispose()),
    );
    void session.open();
  }

  private receive(raw: unknown): void {
    const msg = validateProbeMessage(raw);
    if (!msg) {
      // Counted, never echoed: the content is untrusted.
      if (++this.refused <= 5) this.host.log('probe editor: refused a malformed message');
      return;
    }
    switch (msg.type) {
      case 'ready':
        this.ready = true;
        this.postedReport = null;
        this.post();
        break;
      case 'chooseSequence':
        void this.chooseSequence();
        break;
      case 'rerun':
        void this.session.rerun();
        break;
      case 'cancel':
        this.session.cancel();
        break;
      case 'setCell':
        void this.session.setCell(msg.cell);
        break;
      case 'setLoss':
        void this.session.setLoss(msg.loss);
        break;
      case 'saveReport':
        if (this.makeCurrent()) void this.host.saveReport();
        break;
      case 'openHeatmap':
        if (this.makeCurrent()) this.host.onMessage(msg, 'report');
        break;
      case 'runCommand':
        this.host.onMessage(msg, 'report');
        break;
      case 'perf':
        this.host.log(`probe editor: ${msg.name} ${msg.ms} ms`);
        break;
      default:
        break; // selectRun, applyRecommendation: one run, no recommendations
    }
  }

  /** The sequence file: the host's open dialog, starting in the workspace (or beside the weights). */
  private async chooseSequence(): Promise<void> {
    if (this.session.isBusy) return;
    const weightsUri = vscode.Uri.file(this.session.weights);
    const folder = vscode.workspace.getWorkspaceFolder(weightsUri)?.uri ?? vscode.workspace.workspaceFolders?.[0]?.uri ?? vscode.Uri.file(path.dirname(this.session.weights));
    const picked = await vscode.window.showOpenDialog({
      canSelectFiles: true,
      canSelectFolders: false,
      canSelectMany: false,
      defaultUri: folder,
      openLabel: 'Probe on This File',
      title: `BPTT Lens: sequence file for ${path.basename(this.session.weights)} ({"x": [batch][steps][inputs], "y": ...})`,
      filters: { 'Input JSON': ['json'], 'All files': ['*'] },
    });
    const file = picked?.[0];
    if (!file) return;
    if (file.scheme !== 'file') {
      void vscode.window.showErrorMessage(`BPTT Lens: ${file.toString()} is not a local file.`);
      return;
    }
    await this.session.chooseInput(file.fsPath);
  }

  /** Puts the result in the store as the current study (replacing this editor's earlier one). */
  private makeCurrent(): boolean {
    const report = this.session.report();
    if (!report) return false;
    const store = this.host.store;
    if (this.storeKey !== null && store.get(this.storeKey)) store.replace(this.storeKey, report);
    else this.storeKey = store.add(report);
    return true;
  }

  private post(): void {
    if (!this.ready) return;
    const webview = this.panel.webview;
    const send = (m: unknown): void => void webview.postMessage(m).then(undefined, () => undefined);
    send(this.session.state());
    const report = this.session.report();
    if (report && report !== this.postedReport) {
      this.postedReport = report;
      // Bounded like the study panel's (long sequences, big itemized matrices).
      send({ type: 'report', report: boundReportForView(report).report });
    }
  }

  dispose(): void {
    this.session.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

/** The custom editor provider and the palette command. */
export class ProbeEditorProvider implements vscode.CustomReadonlyEditorProvider {
  static readonly viewType = 'bpttLens.stateDict';

  constructor(private readonly host: ProbeHost) {}

  openCustomDocument(uri: vscode.Uri): vscode.CustomDocument {
    return { uri, dispose: () => undefined };
  }

  resolveCustomEditor(document: vscode.CustomDocument, panel: vscode.WebviewPanel): void {
    const file = document.uri.fsPath;
    const session = new ProbeSession(file, {
      inspect: (f, cell, signal) => this.host.workers.inspectStateDict(f, cell, { signal }),
      probe: (options, signal, onStage) => this.host.workers.probeStateDict(options, { signal, onProgress: onStage }),
    });
    new ProbeEditor(panel, session, this.host);
  }

  /** BPTT Lens: Probe a State Dict… [file]: opens it in this editor (picked when not given). */
  async pickAndOpen(arg?: unknown): Promise<void> {
    let uri = arg instanceof vscode.Uri ? arg : undefined;
    if (!uri) {
      const picked = await vscode.window.showOpenDialog({
        canSelectFiles: true,
        canSelectFolders: false,
        canSelectMany: false,
        defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
        openLabel: 'Probe State Dict',
        title: 'BPTT Lens: Probe a State Dict (nn.RNN/LSTM/GRU + Linear, .safetensors)',
        filters: { 'PyTorch state dict': ['safetensors'] },
      });
      uri = picked?.[0];
    }
    if (!uri) return;
    await vscode.commands.executeCommand('vscode.openWith', uri, ProbeEditorProvider.viewType);
  }
}
