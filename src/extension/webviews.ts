// The two webviews: the Report panel (an editor tab beside the active editor, one instance)
// and the Heatmaps view (a WebviewView in the BPTT Lens side bar). Both load the same shell
// (webviewHtml.ts) and talk through `WebviewChannel`, which validates every incoming message
// and replays the current state whenever the page (re)loads and says 'ready'.
import * as vscode from 'vscode';
import { validateWebviewMessage, type HostToWebview, type WebviewKind, type WebviewToHost } from '../protocol';
import { renderShell } from './webviewHtml';

export interface WebviewHost {
  extensionUri: vscode.Uri;
  /** Messages to send when a page says 'ready' (its whole state: it may have been reloaded). */
  snapshot(view: WebviewKind): HostToWebview[];
  /** A validated message from a page ('ready' is handled here). */
  onMessage(message: WebviewToHost, view: WebviewKind): void;
  /** Refused messages are logged (never executed). */
  log(line: string): void;
}

export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
  return {
    enableScripts: true,
    enableCommandUris: false,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist'), vscode.Uri.joinPath(extensionUri, 'media')],
  };
}

/** One page: its HTML, its incoming messages, and posting only once it listens. */
class WebviewChannel implements vscode.Disposable {
  private ready = false;
  private refused = 0;
  private readonly subscription: vscode.Disposable;

  constructor(
    private readonly webview: vscode.Webview,
    private readonly view: WebviewKind,
    private readonly host: WebviewHost,
    title: string,
  ) {
    webview.options = webviewOptions(host.extensionUri);
    this.subscription = webview.onDidReceiveMessage((raw: unknown) => this.receive(raw));
    webview.html = renderShell({
      view,
      title,
      cspSource: webview.cspSource,
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(host.extensionUri, 'dist', 'webview.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(host.extensionUri, 'media', 'webview.css')).toString(),
    });
  }

  post(message: HostToWebview): void {
    // Before 'ready' the page is not listening; it gets the whole state on 'ready' instead.
    if (!this.ready) return;
    this.webview.postMessage(message).then(undefined, () => undefined);
  }

  private receive(raw: unknown): void {
    const message = validateWebviewMessage(raw);
    if (!message) {
      // Count, do not echo: the content is untrusted.
      this.refused++;
      if (this.refused <= 5) this.host.log(`refused a malformed message from the ${this.view} webview`);
      return;
    }
    if (message.type === 'ready') {
      this.ready = true;
      for (const m of this.host.snapshot(this.view)) this.post(m);
      return;
    }
    this.host.onMessage(message, this.view);
  }

  dispose(): void {
    this.ready = false;
    this.subscription.dispose();
  }
}

/** The report panel: one instance, opened beside the editor, recreated after it is closed. */
export class ReportPanel implements vscode.Disposable {
  static readonly viewType = 'bpttLens.report';
  private static instance: ReportPanel | undefined;

  static createOrShow(host: WebviewHost, preserveFocus = false): ReportPanel {
    const column = vscode.window.activeTextEditor ? vscode.ViewColumn.Beside : vscode.ViewColumn.Active;
    if (ReportPanel.instance) {
      ReportPanel.instance.panel.reveal(ReportPanel.instance.panel.viewColumn ?? column, preserveFocus);
      return ReportPanel.instance;
    }
    const panel = vscode.window.createWebviewPanel(ReportPanel.viewType, 'BPTT Lens Report', { viewColumn: column, preserveFocus }, {
      ...webviewOptions(host.extensionUri),
      retainContextWhenHidden: false,
    });
    ReportPanel.instance = new ReportPanel(panel, host);
    return ReportPanel.instance;
  }

  /** Adopts a panel VS Code restored after a reload (WebviewPanelSerializer). */
  static revive(panel: vscode.WebviewPanel, host: WebviewHost): ReportPanel {
    ReportPanel.instance?.dispose();
    ReportPanel.instance = new ReportPanel(panel, host);
    return ReportPanel.instance;
  }

  /** The open panel, if any (not created by asking). */
  static get current(): ReportPanel | undefined {
    return ReportPanel.instance;
  }

  private readonly channel: WebviewChannel;
  private readonly disposables: vscode.Disposable[] = [];

  private constructor(
    readonly panel: vscode.WebviewPanel,
    host: WebviewHost,
  ) {
    panel.iconPath = vscode.Uri.joinPath(host.extensionUri, 'media', 'bptt-lens.svg');
    this.channel = new WebviewChannel(panel.webview, 'report', host, 'BPTT Lens Report');
    this.disposables.push(this.channel);
    panel.onDidDispose(() => this.dispose(), undefined, this.disposables);
  }

  setTitle(title: string): void {
    this.panel.title = title;
  }

  post(message: HostToWebview): void {
    this.channel.post(message);
  }

  dispose(): void {
    if (ReportPanel.instance === this) ReportPanel.instance = undefined;
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
  }
}

/**
 * A heatmap full size in an editor tab ("Open in editor" in the Heatmaps view): the same view,
 * readout and keyboard cursor, as wide as the editor. One tab, reused for the next heatmap.
 */
export class HeatmapEditor implements vscode.Disposable {
  static readonly viewType = 'bpttLens.heatmapEditor';
  private static instance: HeatmapEditor | undefined;

  static show(host: WebviewHost, title: string, message: HostToWebview): HeatmapEditor {
    const existing = HeatmapEditor.instance;
    if (existing) {
      existing.message = message;
      existing.panel.title = title;
      existing.channel.post(message);
      existing.panel.reveal(existing.panel.viewColumn ?? vscode.ViewColumn.Active);
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(HeatmapEditor.viewType, title, vscode.ViewColumn.Active, {
      ...webviewOptions(host.extensionUri),
      retainContextWhenHidden: false,
    });
    HeatmapEditor.instance = new HeatmapEditor(panel, host, message);
    return HeatmapEditor.instance;
  }

  static close(): void {
    HeatmapEditor.instance?.dispose();
  }

  /** What the tab shows (replayed when its page reloads). */
  static get message(): HostToWebview | undefined {
    return HeatmapEditor.instance?.message;
  }

  private readonly channel: WebviewChannel;
  private readonly disposables: vscode.Disposable[] = [];

  private constructor(readonly panel: vscode.WebviewPanel, host: WebviewHost, private message: HostToWebview) {
    panel.iconPath = vscode.Uri.joinPath(host.extensionUri, 'media', 'bptt-lens.svg');
    this.channel = new WebviewChannel(panel.webview, 'heatmapEditor', host, 'BPTT Lens Heatmap');
    this.disposables.push(this.channel);
    panel.onDidDispose(() => this.dispose(), undefined, this.disposables);
  }

  dispose(): void {
    if (HeatmapEditor.instance === this) HeatmapEditor.instance = undefined;
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
  }
}

/** The Heatmaps view in the side bar: the selected run's timestep x iteration heatmaps. */
export class HeatmapsViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  static readonly viewId = 'bpttLens.heatmaps';
  private channel: WebviewChannel | undefined;
  private view: vscode.WebviewView | undefined;

  constructor(private readonly host: WebviewHost) {}

  resolveWebviewView(view: vscode.WebviewView): void {
    this.channel?.dispose();
    this.view = view;
    this.channel = new WebviewChannel(view.webview, 'heatmaps', this.host, 'BPTT Lens Heatmaps');
    view.onDidDispose(() => {
      if (this.view === view) {
        this.channel?.dispose();
        this.channel = undefined;
        this.view = undefined;
      }
    });
  }

  setDescription(text: string | undefined): void {
    if (this.view) this.view.description = text;
  }

  post(message: HostToWebview): void {
    this.channel?.post(message);
  }

  dispose(): void {
    this.channel?.dispose();
    this.channel = undefined;
  }
}
