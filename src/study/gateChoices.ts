// Compare Gate Choices' questions as plain data (no vscode here, so the mapping from the
// user's picks to the study is unit-tested): the cell list grouped by family with the classic
// gate choices preselected, the window length T and its check, and the picks the study takes.
import { CELL_NAMES, cellFamily, type CellFamily } from '../engine/cells';
import { SAMPLES, type SampleName } from './samples';
import { OPTION_LIMITS, type StudyPicks } from './options';
import { GATE_STUDY_CELLS } from './study';
import type { CellChoice } from './types';

/** One line per cell for the pickers (Run Diagnosis and Compare Gate Choices). */
export const CELL_DESCRIPTIONS: Readonly<Record<CellChoice, string>> = {
  'rnn-tanh': 'vanilla RNN, tanh',
  'rnn-relu': 'vanilla RNN, ReLU',
  gru: 'GRU (gates r, z, n)',
  lstm: 'LSTM (PyTorch nn.LSTM)',
  'lstm-peephole': 'LSTM with peepholes',
  'lstm-cifg': 'LSTM, coupled input and forget gate',
  'lstm-nfg': 'LSTM, no forget gate',
  'lstm-nig': 'LSTM, no input gate',
  'lstm-nog': 'LSTM, no output gate',
  'lstm-niaf': 'LSTM, no input activation',
  'lstm-noaf': 'LSTM, no output activation',
  indrnn: 'IndRNN (Li et al. 2018), diagonal recurrence',
  mingru: 'minGRU (Feng et al. 2024), gates read x only',
  minlstm: 'minLSTM (Feng et al. 2024), gates read x only',
  lru: 'LRU (Orvieto et al. 2023), complex diagonal linear',
  rglru: 'RG-LRU (Griffin, De et al. 2024)',
  slstm: 'sLSTM (xLSTM, Beck et al. 2024), exponential gates',
  mlstm: 'mLSTM (xLSTM), matrix memory',
  s6: 'S6, Mamba selective scan (Gu & Dao 2023)',
};

/** The separator titles of the cell picker, in the order the groups appear. */
export const FAMILY_TITLES: Readonly<Record<CellFamily, string>> = {
  classic: 'classic',
  'gated-modern': 'gated modern',
  linear: 'linear recurrences',
};

const FAMILY_ORDER: readonly CellFamily[] = ['classic', 'gated-modern', 'linear'];

export type GateCellRow = { kind: 'separator'; label: string } | { kind: 'cell'; cell: CellChoice; description: string; picked: boolean };

/**
 * Every registry cell under its family's separator, each with its description; `preselected`
 * (default: the classic gate choices of today's study) picked, so Enter keeps the old study.
 */
export function gateCellRows(preselected: readonly CellChoice[] = GATE_STUDY_CELLS): GateCellRow[] {
  const rows: GateCellRow[] = [];
  for (const family of FAMILY_ORDER) {
    const cells = CELL_NAMES.filter((c) => cellFamily(c) === family);
    if (cells.length === 0) continue;
    rows.push({ kind: 'separator', label: FAMILY_TITLES[family] });
    for (const cell of cells) rows.push({ kind: 'cell', cell, description: CELL_DESCRIPTIONS[cell], picked: preselected.includes(cell) });
  }
  return rows;
}

/** The window T the prompt shows first: the user's setting when set, else the sample's own. */
export function defaultWindowLength(sample: SampleName, configured: number): number {
  return configured > 0 ? configured : SAMPLES[sample].defaults.steps;
}

/** null when `text` is an acceptable T, else the message the input box shows. */
export function windowLengthProblem(text: string, max: number = OPTION_LIMITS.length.max): string | null {
  const min = Math.max(1, OPTION_LIMITS.length.min);
  const n = Number(text.trim());
  return /^\s*[0-9]+\s*$/.test(text) && n >= min && n <= max ? null : `A whole number of steps from ${min} to ${max}.`;
}

/**
 * The picks the gates study takes from the answers: the cells in registry order (an empty pick
 * means the preselected defaults, as Enter on an untouched list would), and T.
 */
export function gatePicks(cells: readonly CellChoice[], length: number): { picks: StudyPicks; length: number } {
  const chosen = cells.length > 0 ? CELL_NAMES.filter((c) => cells.includes(c)) : [...GATE_STUDY_CELLS];
  return { picks: { cells: chosen }, length };
}
