// Entry point of the extension host side: builds the controller (lens.ts), registers the
// views and commands. This folder is the only code that imports 'vscode'.
import * as vscode from 'vscode';
import { CapturesController } from './captures';
import { Lens } from './lens';
import { ProbeEditorProvider } from './probeEditor';
import { HeatmapsViewProvider, ReportPanel } from './webviews';

let lens: Lens | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const l = (lens = new Lens(context));
  context.subscriptions.push(l);
  context.subscriptions.push(
    vscode.window.registerWebviewViewProvider(HeatmapsViewProvider.viewId, l.heatmaps),
    vscode.window.registerWebviewPanelSerializer(ReportPanel.viewType, { deserializeWebviewPanel: (panel) => l.restorePanel(panel) }),
  );
  const captures = new CapturesController(l);
  context.subscriptions.push(
    captures,
    vscode.window.registerCustomEditorProvider(CapturesController.editorViewType, captures, { webviewOptions: { retainContextWhenHidden: true } }),
  );
  // Any .safetensors can be opened as a state dict to probe, but only when asked ("Open With…", priority option).
  const probe = new ProbeEditorProvider(l);
  context.subscriptions.push(vscode.window.registerCustomEditorProvider(ProbeEditorProvider.viewType, probe, { webviewOptions: { retainContextWhenHidden: true } }));
  const runsView = vscode.window.createTreeView('bpttLens.runs', { treeDataProvider: l.tree, showCollapseAll: true });
  context.subscriptions.push(runsView);
  // A run picked in a webview is highlighted in the tree too (when the tree is showing).
  context.subscriptions.push(
    l.store.onChange((change) => {
      const current = l.store.current();
      const run = l.store.selectedRun();
      if (change === 'studies' || !runsView.visible || !current || !run) return;
      const item = l.tree.runItem(current.key, run.id);
      if (item) runsView.reveal(item, { select: true, focus: false }).then(undefined, () => undefined);
    }),
  );
  const commands: Record<string, (...args: unknown[]) => unknown> = {
    'bpttLens.runDiagnosis': () => l.runDiagnosis(),
    'bpttLens.compareClipping': () => l.compareClipping(),
    'bpttLens.compareGates': () => l.compareGates(),
    'bpttLens.diagnoseFile': (uri) => l.diagnoseFile(uri),
    'bpttLens.openPanel': () => l.showPanel(),
    'bpttLens.saveReport': () => l.saveReport(),
    'bpttLens.openReport': (uri) => l.openReport(uri),
    'bpttLens.openCaptures': (uri) => captures.open(uri),
    'bpttLens.probeStateDict': (uri) => probe.pickAndOpen(uri),
    'bpttLens.refreshRuns': () => l.tree.refresh(),
    'bpttLens.showRun': (studyKey, runId) => l.showRun(studyKey, runId),
    'bpttLens.internal.lastRunStats': () => l.lastRunStats(),
  };
  for (const [id, handler] of Object.entries(commands)) context.subscriptions.push(vscode.commands.registerCommand(id, handler));

  // Saved reports appear in the tree as they are written (by us, the CLI or a colleague).
  const refresh = (): void => void l.tree.refresh();
  const watcher = vscode.workspace.createFileSystemWatcher('**/report.json');
  context.subscriptions.push(
    watcher,
    watcher.onDidCreate(refresh),
    watcher.onDidDelete(refresh),
    vscode.workspace.onDidChangeWorkspaceFolders(refresh),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('bpttLens.reportFolder')) refresh();
    }),
  );
  refresh();
}

export function deactivate(): void {
  lens?.dispose();
  lens = undefined;
}
