// The engine's cell registry: every cell name of design §8, its family, the mapping between a
// name and the ModelConfig fields (cell, nonlinearity, variant), and makeCell. Everything
// above the engine that takes a cell name (CLI --cells / --cell, studies, settings) goes
// through parseCellName / cellName here, so a name means the same thing everywhere.
//
// Families (how views group them):
//   classic       nonlinear recurrences through a hidden-to-hidden map: rnn-tanh, rnn-relu,
//                 lstm and its Greff variants, gru, and indrnn (a diagonal one, 2018)
//   gated-modern  gated recurrences of 2024 built for gradient flow: mingru, minlstm (gates
//                 read the input only), slstm, mlstm (xLSTM's exponential gating)
//   linear        linear diagonal recurrences (state-space style): lru, rglru, s6

import type { Cell, CellOptions } from './cell';
import { GruCell } from './gru';
import { IndRnnCell } from './indrnn';
import { LruCell } from './lru';
import { LstmCell } from './lstm';
import { MinGruCell } from './mingru';
import { MinLstmCell } from './minlstm';
import { MLstmCell } from './mlstm';
import { RgLruCell } from './rglru';
import { RnnCell } from './rnn';
import { S6Cell } from './s6';
import { SLstmCell } from './slstm';
import type { CellKind, LstmVariant, ModelConfig, Nonlinearity } from '../types';

export type CellFamily = 'classic' | 'gated-modern' | 'linear';

export const LSTM_VARIANT_NAMES: readonly LstmVariant[] = ['vanilla', 'peephole', 'cifg', 'nfg', 'nig', 'nog', 'niaf', 'noaf'];

/** Every cell name, in the order design §8 lists them (classic first). */
export const CELL_NAMES = [
  'rnn-tanh',
  'rnn-relu',
  'lstm',
  'lstm-peephole',
  'lstm-cifg',
  'lstm-nfg',
  'lstm-nig',
  'lstm-nog',
  'lstm-niaf',
  'lstm-noaf',
  'gru',
  'indrnn',
  'mingru',
  'minlstm',
  'lru',
  'rglru',
  'slstm',
  'mlstm',
  's6',
] as const;

export type CellName = (typeof CELL_NAMES)[number];

/** Accepted on input beside CELL_NAMES: `rnn` means `rnn-tanh`, `lstm-vanilla` means `lstm`. */
const ALIASES: Record<string, CellName> = { rnn: 'rnn-tanh', 'lstm-vanilla': 'lstm' };

/** The cell kinds beyond rnn/lstm/gru (one name each). */
export const MODERN_KINDS: readonly CellKind[] = ['indrnn', 'mingru', 'minlstm', 'lru', 'rglru', 'slstm', 'mlstm', 's6'];

const FAMILY: Record<CellKind, CellFamily> = {
  rnn: 'classic',
  lstm: 'classic',
  gru: 'classic',
  indrnn: 'classic',
  mingru: 'gated-modern',
  minlstm: 'gated-modern',
  slstm: 'gated-modern',
  mlstm: 'gated-modern',
  lru: 'linear',
  rglru: 'linear',
  s6: 'linear',
};

/** The ModelConfig fields a cell name sets. */
export interface CellSettings {
  cell: CellKind;
  nonlinearity: Nonlinearity;
  variant: LstmVariant;
}

export function isCellName(s: string): s is CellName {
  return (CELL_NAMES as readonly string[]).includes(s);
}

/** The canonical name of `s` (an alias resolved), or null when it names no cell. */
export function canonicalCellName(s: string): CellName | null {
  const t = s.trim().toLowerCase();
  if (isCellName(t)) return t;
  return ALIASES[t] ?? null;
}

/** Cell name -> config fields; throws a message listing the valid names. */
export function parseCellName(s: string): CellSettings {
  const name = canonicalCellName(s);
  if (name === null) throw new Error(`unknown cell '${s}': expected one of ${CELL_NAMES.join(', ')} (or rnn = rnn-tanh)`);
  if (name === 'rnn-tanh' || name === 'rnn-relu') return { cell: 'rnn', nonlinearity: name === 'rnn-relu' ? 'relu' : 'tanh', variant: 'vanilla' };
  if (name === 'lstm') return { cell: 'lstm', nonlinearity: 'tanh', variant: 'vanilla' };
  if (name.startsWith('lstm-')) return { cell: 'lstm', nonlinearity: 'tanh', variant: name.slice(5) as LstmVariant };
  return { cell: name as CellKind, nonlinearity: 'tanh', variant: 'vanilla' };
}

/** Config fields -> cell name (nonlinearity matters for rnn only, variant for lstm only). */
export function cellName(config: Pick<ModelConfig, 'cell' | 'nonlinearity' | 'variant'>): CellName {
  switch (config.cell) {
    case 'rnn':
      return config.nonlinearity === 'relu' ? 'rnn-relu' : 'rnn-tanh';
    case 'lstm':
      return config.variant === 'vanilla' ? 'lstm' : (`lstm-${config.variant}` as CellName);
    default:
      return config.cell;
  }
}

export function cellFamily(nameOrKind: string): CellFamily {
  const kind = parseCellName(nameOrKind).cell;
  return FAMILY[kind];
}

export function isKnownKind(kind: string): kind is CellKind {
  return Object.prototype.hasOwnProperty.call(FAMILY, kind);
}

/** The cell of one layer of `config` (its input size: I for layer 0, D·outSize above). */
export function makeCell(config: ModelConfig, inputSize: number): Cell {
  const H = config.hiddenSize;
  const options: CellOptions = config.cellOptions ?? {};
  switch (config.cell) {
    case 'rnn':
      return new RnnCell(inputSize, H, config.nonlinearity);
    case 'lstm':
      return new LstmCell(inputSize, H, config.variant);
    case 'gru':
      return new GruCell(inputSize, H);
    case 'indrnn':
      return new IndRnnCell(inputSize, H, options);
    case 'mingru':
      return new MinGruCell(inputSize, H, options);
    case 'minlstm':
      return new MinLstmCell(inputSize, H, options);
    case 'lru':
      return new LruCell(inputSize, H, options);
    case 'rglru':
      return new RgLruCell(inputSize, H, options);
    case 'slstm':
      return new SLstmCell(inputSize, H, options);
    case 'mlstm':
      return new MLstmCell(inputSize, H, options);
    case 's6':
      return new S6Cell(inputSize, H, options);
  }
}

/**
 * Whether the cell has a full hidden-to-hidden matrix (W_hh: rnn, lstm, gru, slstm): what
 * W_hh init schemes and spectral-radius rescales act on. mingru, minlstm, mlstm, lru, s6 have
 * none; indrnn's and rglru's recurrences are diagonal vectors.
 */
export function hasHiddenToHidden(kind: CellKind): boolean {
  return kind === 'rnn' || kind === 'lstm' || kind === 'gru' || kind === 'slstm';
}
