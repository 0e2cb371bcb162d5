// The Runs tree: this session's studies (newest first), then the reports saved in the
// workspace's report folder. Each study expands to its runs with a verdict icon, ρ and
// horizon; clicking a run shows it in the Heatmaps view and the report in the panel.
// The items themselves come from viewModel.ts (no vscode there).
import * as vscode from 'vscode';
import * as path from 'node:path';
import type { Report } from '../study/types';
import type { ReportStore } from './store';
import { buildStudyItem, buildUnreadSavedItem, type IconSpec, type RunItem, type StudyItem, type TreeItemModel } from './viewModel';

/** Reads a saved report.json (parseReport behind it); throws an Error with a one-line message. */
export type ReportReader = (file: string) => Promise<Report>;
/** Lists report.json files of the workspace's report folders. */
export type SavedReportFinder = () => Promise<string[]>;

export const SAVED_KEY_PREFIX = 'saved:';

function themeIcon(icon: IconSpec): vscode.ThemeIcon {
  return new vscode.ThemeIcon(icon.id, icon.color ? new vscode.ThemeColor(icon.color) : undefined);
}

function plainTooltip(lines: string[]): vscode.MarkdownString {
  // appendText escapes Markdown: labels may come from file names and saved reports.
  const md = new vscode.MarkdownString();
  lines.forEach((line, i) => {
    md.appendText(line);
    if (i < lines.length - 1) md.appendMarkdown('  \n');
  });
  return md;
}

export class RunsTreeProvider implements vscode.TreeDataProvider<TreeItemModel>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<TreeItemModel | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private savedFiles: string[] = [];
  /** Saved reports read so far (or the error reading them gave). */
  private readonly savedCache = new Map<string, { report: Report } | { error: string }>();
  private readonly subscription: { dispose(): void };

  constructor(
    private readonly store: ReportStore,
    private readonly readReport: ReportReader,
    private readonly findSaved: SavedReportFinder,
  ) {
    this.subscription = this.store.onChange((change) => {
      if (change !== 'selection') this.changed.fire(undefined);
    });
  }

  /** Re-lists saved reports (after saving, on a settings change, on request). */
  async refresh(): Promise<void> {
    try {
      this.savedFiles = (await this.findSaved()).sort().reverse();
    } catch {
      this.savedFiles = [];
    }
    for (const file of [...this.savedCache.keys()]) if (!this.savedFiles.includes(file)) this.savedCache.delete(file);
    this.changed.fire(undefined);
  }

  /** A saved report read earlier (key `saved:<file>`). */
  savedReport(key: string): { report: Report; file: string } | undefined {
    if (!key.startsWith(SAVED_KEY_PREFIX)) return undefined;
    const file = key.slice(SAVED_KEY_PREFIX.length);
    const hit = this.savedCache.get(file);
    return hit && 'report' in hit ? { report: hit.report, file } : undefined;
  }

  getChildren(element?: TreeItemModel): vscode.ProviderResult<TreeItemModel[]> {
    if (!element) return this.roots();
    if (element.kind === 'run') return [];
    if (element.runs) return element.runs;
    return this.readSaved(element);
  }

  getParent(element: TreeItemModel): vscode.ProviderResult<TreeItemModel> {
    if (element.kind === 'study') return undefined;
    return this.roots().find((s) => s.key === element.studyKey);
  }

  getTreeItem(element: TreeItemModel): vscode.TreeItem {
    if (element.kind === 'study') return this.studyTreeItem(element);
    return this.runTreeItem(element);
  }

  /** The tree item of a run of a session study (for TreeView.reveal). */
  runItem(studyKey: string, runId: string): RunItem | undefined {
    const study = this.roots().find((s) => s.key === studyKey);
    return study?.runs?.find((r) => r.runId === runId);
  }

  private roots(): StudyItem[] {
    const session = this.store.list();
    const current = this.store.current()?.key;
    const items: StudyItem[] = session.map((s) => {
      const item = buildStudyItem(s.key, s.report, 'session', s.file);
      return s.key === current ? { ...item, description: `${item.description} · shown` } : item;
    });
    const inSession = new Set(session.map((s) => s.file).filter(Boolean));
    for (const file of this.savedFiles) {
      if (inSession.has(file)) continue;
      const key = SAVED_KEY_PREFIX + file;
      const cached = this.savedCache.get(file);
      if (cached && 'report' in cached) items.push(buildStudyItem(key, cached.report, 'saved', file));
      else items.push(buildUnreadSavedItem(key, file, path.basename(path.dirname(file))));
    }
    return items;
  }

  private async readSaved(item: StudyItem): Promise<TreeItemModel[]> {
    if (!item.file) return [];
    const file = item.file;
    try {
      const report = await this.readReport(file);
      this.savedCache.set(file, { report });
      this.changed.fire(undefined); // the study's own label and summary now come from the report
      return buildStudyItem(item.key, report, 'saved', file).runs ?? [];
    } catch (err) {
      this.savedCache.set(file, { error: (err as Error).message });
      return [];
    }
  }

  private studyTreeItem(s: StudyItem): vscode.TreeItem {
    const expanded = s.key === this.store.current()?.key || (s.origin === 'session' && s.key === this.store.list()[0]?.key);
    const item = new vscode.TreeItem(s.label, expanded ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed);
    item.id = s.key;
    const cached = s.file ? this.savedCache.get(s.file) : undefined;
    if (cached && 'error' in cached) {
      item.description = 'unreadable';
      item.tooltip = plainTooltip([cached.error]);
      item.iconPath = new vscode.ThemeIcon('warning', new vscode.ThemeColor('problemsWarningIcon.foreground'));
      item.collapsibleState = vscode.TreeItemCollapsibleState.None;
      return item;
    }
    item.description = s.description;
    item.tooltip = plainTooltip(s.tooltip);
    item.iconPath = themeIcon(s.icon);
    item.contextValue = s.key === this.store.current()?.key ? 'study.current' : `study.${s.origin}`;
    return item;
  }

  private runTreeItem(r: RunItem): vscode.TreeItem {
    const item = new vscode.TreeItem(r.label, vscode.TreeItemCollapsibleState.None);
    item.id = `${r.studyKey}/${r.runId}`;
    item.description = r.description;
    item.tooltip = plainTooltip(r.tooltip);
    item.iconPath = themeIcon(r.icon);
    item.contextValue = 'run';
    item.command = { command: 'bpttLens.showRun', title: 'Show Run', arguments: [r.studyKey, r.runId] };
    return item;
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}
