// BPTT Lens: Open Training Captures, and the read-only editor for `.capture.safetensors`.
// A captures panel follows one folder live: a file-system watcher (plus a cheap periodic
// listing, since watchers miss events on some remote and network file systems) offers every
// new or rewritten capture to the session, which replays it in the worker pool — never on
// this thread. The panel (its own webview bundle, dist/captures.js) gets the whole state,
// throttled; the Runs tree lists the folder as a study (one run per captured step), and Save
// Report writes it like any study.
import * as vscode from 'vscode';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { WorkerPool } from '../worker/pool';
import type { ReportStore } from './store';
import { CapturesSession } from './capturesSession';
import { validateCapturesMessage, type CapturesToWebview } from './capturesProtocol';
import { renderShell } from './webviewHtml';
import { webviewOptions } from './webviews';

export const DEFAULT_CAPTURE_FOLDER = 'bptt-captures';
const POST_THROTTLE_MS = 250;
const TREE_THROTTLE_MS = 1500;
const POLL_MS = 2000;

export interface CapturesHost {
  extensionUri: vscode.Uri;
  workers: WorkerPool;
  store: ReportStore;
  log(line: string): void;
  saveReport(): Promise<void>;
}

/** One panel (or custom editor) showing one session. */
class CapturesPanel implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private ready = false;
  private postTimer: NodeJS.Timeout | undefined;
  private treeTimer: NodeJS.Timeout | undefined;
  private storeKey: string | null = null;
  private pollTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    readonly panel: vscode.WebviewPanel,
    readonly session: CapturesSession,
    private readonly host: CapturesHost,
    private readonly follow: boolean,
    onClose: () => void,
  ) {
    const webview = panel.webview;
    webview.options = webviewOptions(host.extensionUri);
    webview.html = capturesHtml(webview, host.extensionUri, panel.title);
    this.disposables.push(
      webview.onDidReceiveMessage((raw: unknown) => this.receive(raw)),
      panel.onDidDispose(() => {
        this.dispose();
        onClose();
      }),
    );
    const sub = session.onChange(() => this.changed());
    this.disposables.push({ dispose: () => sub.dispose() });
    if (follow) this.watch();
  }

  private watch(): void {
    const folder = this.session.folder;
    const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(folder), '*.capture.safetensors'));
    const offer = (uri: vscode.Uri) => void this.offer(uri.fsPath);
    this.disposables.push(watcher, watcher.onDidCreate(offer), watcher.onDidChange(offer), watcher.onDidDelete((uri) => this.session.forget(uri.fsPath)));
    void this.scan();
  }

  /** Lists the folder (async) and offers every capture; schedules the next listing. */
  private async scan(): Promise<void> {
    if (this.closed) return;
    try {
      const names = await fs.readdir(this.session.folder);
      const seen = new Set<string>();
      for (const name of names) {
        const file = path.join(this.session.folder, name);
        if (!CapturesSession.isCaptureFile(file)) continue;
        seen.add(file);
        await this.offer(file);
      }
      for (const s of this.session.sortedRecords()) {
        const file = String(s.config.capture);
        if (!seen.has(file)) this.session.forget(file);
      }
    } catch {
      // The folder does not exist (yet): the training has not written its first capture.
    }
    if (!this.closed) this.pollTimer = setTimeout(() => void this.scan(), POLL_MS);
  }

  private async offer(file: string): Promise<void> {
    try {
      const st = await fs.stat(file);
      this.session.offer(file, `${st.mtimeMs}:${st.size}`);
    } catch {
      this.session.forget(file);
    }
  }

  private receive(raw: unknown): void {
    const msg = validateCapturesMessage(raw);
    if (!msg) {
      this.host.log('captures view: refused a malformed message');
      return;
    }
    switch (msg.type) {
      case 'ready':
        this.ready = true;
        this.post();
        break;
      case 'saveReport':
        this.updateStore(true);
        void this.host.saveReport();
        break;
      case 'perf':
        this.host.log(`captures view: ${msg.name} ${msg.ms} ms`);
        break;
    }
  }

  private changed(): void {
    if (!this.postTimer) this.postTimer = setTimeout(() => this.post(), POST_THROTTLE_MS);
    // A followed folder is listed in the Runs tree; a single file opened in the editor only when saved.
    if (this.follow && !this.treeTimer) this.treeTimer = setTimeout(() => this.updateStore(false), TREE_THROTTLE_MS);
  }

  private post(): void {
    clearTimeout(this.postTimer);
    this.postTimer = undefined;
    if (!this.ready || this.closed) return;
    const state: CapturesToWebview = this.session.state();
    this.panel.webview.postMessage(state).then(undefined, () => undefined);
  }

  /** The Runs tree lists the folder as a study; `current` also makes it the study Save Report saves. */
  updateStore(current: boolean): void {
    clearTimeout(this.treeTimer);
    this.treeTimer = undefined;
    if (this.closed || this.session.recordCount === 0) return;
    const report = this.session.report();
    const store = this.host.store;
    if (this.storeKey === null || !store.get(this.storeKey)) {
      this.storeKey = store.add(report);
      return;
    }
    const wasCurrent = store.current()?.key === this.storeKey;
    // Not the study on show: refresh its runs without taking the views away from the user's.
    if (wasCurrent || current) store.replace(this.storeKey, report, wasCurrent ? store.selectedRun()?.id : undefined);
    else store.update(this.storeKey, report);
  }

  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.postTimer);
    clearTimeout(this.treeTimer);
    clearTimeout(this.pollTimer);
    this.session.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

function capturesHtml(webview: vscode.Webview, extensionUri: vscode.Uri, title: string): string {
  const uri = (...parts: string[]): string => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, ...parts)).toString();
  return renderShell({ view: 'captures', title, cspSource: webview.cspSource, scriptUri: uri('dist', 'captures.js'), styleUri: uri('media', 'captures.css') });
}

/** Opens folders and capture files; owns their panels. */
export class CapturesController implements vscode.Disposable, vscode.CustomReadonlyEditorProvider {
  static readonly viewType = 'bpttLens.captures';
  static readonly editorViewType = 'bpttLens.captureFile';
  private readonly panels = new Map<string, CapturesPanel>();

  constructor(private readonly host: CapturesHost) {}

  private session(folder: string): CapturesSession {
    return new CapturesSession(folder, (file, signal) => this.host.workers.analyzeCapture(file, {}, { signal }));
  }

  /** BPTT Lens: Open Training Captures [folder]. */
  async open(uri?: unknown): Promise<void> {
    let folder = uri instanceof vscode.Uri ? uri.fsPath : undefined;
    if (folder && CapturesSession.isCaptureFile(folder)) folder = path.dirname(folder);
    if (!folder) folder = await this.pickFolder();
    if (!folder) return;
    const existing = this.panels.get(folder);
    if (existing) {
      existing.panel.reveal();
      return;
    }
    const panel = vscode.window.createWebviewPanel(CapturesController.viewType, `Captures · ${path.basename(folder)}`, vscode.ViewColumn.Active, { retainContextWhenHidden: true });
    panel.iconPath = vscode.Uri.joinPath(this.host.extensionUri, 'media', 'bptt-lens.svg');
    const view = new CapturesPanel(panel, this.session(folder), this.host, true, () => this.panels.delete(folder!));
    this.panels.set(folder, view);
  }

  private async pickFolder(): Promise<string | undefined> {
    const defaults: string[] = [];
    for (const f of vscode.workspace.workspaceFolders ?? []) {
      const candidate = path.join(f.uri.fsPath, DEFAULT_CAPTURE_FOLDER);
      try {
        if ((await fs.stat(candidate)).isDirectory()) defaults.push(candidate);
      } catch {
        // none there
      }
    }
    const other = '$(folder-opened) Choose a folder…';
    const items = [...defaults.map((d) => ({ label: vscode.workspace.asRelativePath(d), folder: d })), { label: other, folder: '' }];
    const picked = items.length === 1 ? items[0] : await vscode.window.showQuickPick(items, { title: 'BPTT Lens: Open Training Captures', placeHolder: 'Capture folder (written by the bptt_lens recorder)' });
    if (!picked) return undefined;
    if (picked.folder) return picked.folder;
    const chosen = await vscode.window.showOpenDialog({ canSelectFiles: false, canSelectFolders: true, canSelectMany: false, openLabel: 'Open Captures', title: 'BPTT Lens: Open Training Captures' });
    return chosen?.[0]?.fsPath;
  }

  // ----- read-only custom editor for one .capture.safetensors file

  openCustomDocument(uri: vscode.Uri): vscode.CustomDocument {
    return { uri, dispose: () => undefined };
  }

  resolveCustomEditor(document: vscode.CustomDocument, panel: vscode.WebviewPanel): void {
    const file = document.uri.fsPath;
    const view = new CapturesPanel(panel, this.session(path.dirname(file)), this.host, false, () => undefined);
    view.session.offer(file, 'opened');
  }

  dispose(): void {
    for (const p of [...this.panels.values()]) p.panel.dispose();
    this.panels.clear();
  }
}
