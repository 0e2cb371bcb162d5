// The questions the commands ask, each a QuickPick whose default is what Enter takes: the
// study's default sample (adding; airline with the exploding setting for Compare Clipping),
// the cells and clip settings from the settings preselected. So a
// user (or the e2e test) pressing Enter through every prompt gets a useful study.
import * as vscode from 'vscode';
import type { SampleName } from '../study/samples';
import { EXPLODING_SETTING } from '../study/options';
import type { CellChoice, ClipSpec, StudyKind } from '../study/types';
import type { WindowSuggestion } from '../study/window';
import type { ColumnChoice } from '../io/columns';
import { CELL_CHOICES } from './settings';
import { clipChoices, sampleChoices } from './studyRequest';
import type { LensSettings } from './settings';
import { plainLabel } from './viewModel';
import { CELL_DESCRIPTIONS, gateCellRows, windowLengthProblem } from '../study/gateChoices';
import { GATE_STUDY_CELLS } from '../study/study';

export type DataChoice = { kind: 'sample'; name: SampleName } | { kind: 'file' };

/** Step `step` of `total` in a title, e.g. "BPTT Lens: Run Diagnosis (1/2)". */
function title(command: string, step: number, total: number): string {
  return total > 1 ? `BPTT Lens: ${command} (${step}/${total})` : `BPTT Lens: ${command}`;
}

export async function pickData(command: string, step: number, total: number, kind: StudyKind): Promise<DataChoice | undefined> {
  type Item = vscode.QuickPickItem & { choice: DataChoice };
  const choices = sampleChoices(kind);
  const items: Item[] = choices.map((s, i) => ({
    label: s.name,
    description: i === 0 ? `(default) ${s.description}` : s.description,
    detail: i === 0 && kind === 'clipping' ? `${EXPLODING_SETTING.description}; ${s.detail}` : s.detail,
    choice: { kind: 'sample', name: s.name },
  }));
  {
    items.push({ label: 'Sequence file…', description: 'a .csv, .tsv, .json or .txt file of your own', kind: vscode.QuickPickItemKind.Default, choice: { kind: 'file' } });
  }
  const picked = await vscode.window.showQuickPick(items, {
    title: title(command, step, total),
    placeHolder: `Data to train on (Enter: ${choices[0]!.name})`,
    matchOnDescription: true,
    ignoreFocusOut: true,
  });
  return picked?.choice;
}

export async function pickCells(command: string, step: number, total: number, settings: LensSettings): Promise<CellChoice[] | undefined> {
  type Item = vscode.QuickPickItem & { cell: CellChoice };
  const items: Item[] = CELL_CHOICES.map((cell) => ({ label: cell, description: CELL_DESCRIPTIONS[cell], picked: settings.cells.includes(cell), cell }));
  const picked = await vscode.window.showQuickPick(items, {
    title: title(command, step, total),
    placeHolder: `Cells to compare (Enter: ${settings.cells.join(', ')})`,
    canPickMany: true,
    ignoreFocusOut: true,
  });
  if (!picked) return undefined;
  return picked.length > 0 ? picked.map((p) => p.cell) : settings.cells;
}

export async function pickClips(command: string, step: number, total: number, settings: LensSettings): Promise<ClipSpec[] | undefined> {
  type Item = vscode.QuickPickItem & { clip: ClipSpec };
  const items: Item[] = clipChoices(settings).map((c) => ({ label: c.label, description: c.description, picked: true, clip: c.clip }));
  const picked = await vscode.window.showQuickPick(items, {
    title: title(command, step, total),
    placeHolder: 'Clipping settings to compare (Enter: all of them; thresholds come from bpttLens.clipThresholds)',
    canPickMany: true,
    ignoreFocusOut: true,
  });
  if (!picked) return undefined;
  return picked.length > 0 ? picked.map((p) => p.clip) : items.map((i) => i.clip);
}

/**
 * Compare Gate Choices' cells: every registry cell under its family (classic, gated modern,
 * linear recurrences), the classic gate choices preselected so Enter runs today's study.
 */
export async function pickGateCells(command: string, step: number, total: number): Promise<CellChoice[] | undefined> {
  type Item = vscode.QuickPickItem & { cell?: CellChoice };
  const items: Item[] = gateCellRows().map((row) =>
    row.kind === 'separator'
      ? { label: row.label, kind: vscode.QuickPickItemKind.Separator }
      : { label: row.cell, description: row.description, picked: row.picked, cell: row.cell },
  );
  const picked = await vscode.window.showQuickPick(items, {
    title: title(command, step, total),
    placeHolder: `Cells to compare side by side (Enter: the ${GATE_STUDY_CELLS.length} classic gate choices)`,
    canPickMany: true,
    matchOnDescription: true,
    ignoreFocusOut: true,
  });
  if (!picked) return undefined;
  const cells = picked.flatMap((p) => (p.cell ? [p.cell] : []));
  return cells.length > 0 ? cells : [...GATE_STUDY_CELLS];
}

/** The window length T of a sample, prefilled with `initial` (the setting or the sample's own). */
export async function pickWindowLength(command: string, step: number, total: number, sample: string, initial: number): Promise<number | undefined> {
  const answer = await vscode.window.showInputBox({
    title: `${title(command, step, total)}: window T`,
    prompt: `Steps each ${sample} sequence has (the gradient travels back through all of them). Enter keeps ${initial}.`,
    value: String(initial),
    ignoreFocusOut: true,
    validateInput: windowLengthProblem,
  });
  return answer === undefined ? undefined : Number(answer.trim());
}

/** The column to predict; the file's last numeric column (readSequenceFile's default) first. */
export async function pickTargetColumn(fileName: string, columns: ColumnChoice[]): Promise<ColumnChoice | undefined> {
  type Item = vscode.QuickPickItem & { column: ColumnChoice };
  const ordered = [...columns].reverse();
  const items: Item[] = ordered.map((c, i) => ({
    label: plainLabel(c.name),
    description: i === 0 ? `column ${c.position} (default: the last numeric column)` : `column ${c.position}`,
    column: c,
  }));
  const picked = await vscode.window.showQuickPick(items, {
    title: `BPTT Lens: Diagnose ${plainLabel(fileName, 60)}`,
    placeHolder: 'Column to predict (the other numeric columns are inputs)',
    ignoreFocusOut: true,
  });
  return picked?.column;
}

export async function pickFile(): Promise<vscode.Uri | undefined> {
  const uris = await vscode.window.showOpenDialog({
    canSelectMany: false,
    openLabel: 'Diagnose',
    title: 'BPTT Lens: Diagnose Sequence File',
    filters: { 'Sequence files': ['csv', 'tsv', 'json', 'txt'] },
    defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
  });
  return uris?.[0];
}

/**
 * The window T for a series file: an input box prefilled with the suggestion computed from the
 * series, its reason shown. undefined when dismissed.
 */
export async function pickWindow(fileName: string, suggestion: WindowSuggestion, values: number, maxWindow: number): Promise<number | undefined> {
  const limit = Math.min(maxWindow, Math.max(1, values - 2));
  const answer = await vscode.window.showInputBox({
    title: `BPTT Lens: Diagnose ${plainLabel(fileName, 60)}: window T`,
    prompt: `Steps each example reads before predicting the next value (1 to ${limit}). Suggested ${suggestion.window}: ${suggestion.reason}.`,
    value: String(suggestion.window),
    ignoreFocusOut: true,
    validateInput: (text) => windowLengthProblem(text, limit),
  });
  return answer === undefined ? undefined : Number(answer.trim());
}
