// The `bpttLens.*` settings, read through a getter so this module needs no vscode and can be
// unit-tested. Settings are user input: every value is checked and a bad one falls back to
// its default (with a note), so a typo in settings.json never breaks a study.
import type { CellChoice, DiagnosisThresholds } from '../study/types';

export const CELL_CHOICES: readonly CellChoice[] = [
  'rnn-tanh', 'rnn-relu', 'gru', 'lstm', 'lstm-peephole', 'lstm-cifg', 'lstm-nfg', 'lstm-nig', 'lstm-nog', 'lstm-niaf', 'lstm-noaf',
];

/** hiddenSize, sequenceLength, iterations and learningRate: 0 means "the sample's default". */
export interface LensSettings {
  hiddenSize: number;
  sequenceLength: number;
  iterations: number;
  learningRate: number;
  /** Global-norm clipping thresholds offered by Compare Clipping. */
  clipThresholds: number[];
  /** Clip-by-value threshold added to Compare Clipping (0: none). */
  clipValue: number;
  cells: CellChoice[];
  seed: number;
  reportFolder: string;
  thresholds: DiagnosisThresholds;
}

/** Defaults; they match the `contributes.configuration` defaults in package.json. */
export const DEFAULT_SETTINGS: LensSettings = {
  hiddenSize: 0,
  sequenceLength: 0,
  iterations: 0,
  learningRate: 0,
  clipThresholds: [0.25, 1, 4],
  clipValue: 0.1,
  cells: ['rnn-tanh', 'lstm', 'gru'],
  seed: 1,
  reportFolder: 'bptt-reports',
  thresholds: { explodeGrowth: 10, vanishEpsilon: 1e-3, rhoDelta: 0.02 },
};

/** Reads one setting (key without the `bpttLens.` prefix); undefined when unset. */
export type SettingGetter = (key: string) => unknown;

export interface SettingsResult {
  settings: LensSettings;
  /** One line per value that was refused and replaced by its default. */
  warnings: string[];
}

function intIn(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

function numIn(v: unknown, min: number, max: number, exclusiveMin = false): v is number {
  return typeof v === 'number' && Number.isFinite(v) && (exclusiveMin ? v > min : v >= min) && v <= max;
}

export function readSettings(get: SettingGetter): SettingsResult {
  const warnings: string[] = [];
  const d = DEFAULT_SETTINGS;
  function pick<T>(key: string, ok: (v: unknown) => boolean, fallback: T, map: (v: unknown) => T = (v) => v as T): T {
    const v = get(key);
    if (v === undefined || v === null) return fallback;
    if (ok(v)) return map(v);
    warnings.push(`Setting bpttLens.${key} = ${safeJson(v)} is out of range; using ${safeJson(fallback)}.`);
    return fallback;
  }
  const isThresholdList = (v: unknown): boolean => Array.isArray(v) && v.length <= 20 && v.every((x) => numIn(x, 0, 1e6, true));
  const isCellList = (v: unknown): boolean =>
    Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string' && (CELL_CHOICES as readonly string[]).includes(x));
  const isFolder = (v: unknown): boolean => typeof v === 'string' && v.trim().length > 0 && v.length <= 500 && !v.includes('\0');
  return {
    settings: {
      hiddenSize: pick('hiddenSize', (v) => intIn(v, 0, 256), d.hiddenSize),
      sequenceLength: pick('sequenceLength', (v) => intIn(v, 0, 1000), d.sequenceLength),
      iterations: pick('iterations', (v) => intIn(v, 0, 100_000), d.iterations),
      learningRate: pick('learningRate', (v) => numIn(v, 0, 10), d.learningRate),
      clipThresholds: pick('clipThresholds', isThresholdList, d.clipThresholds, (v) => [...new Set(v as number[])].sort((a, b) => a - b)),
      clipValue: pick('clipValue', (v) => numIn(v, 0, 1e6), d.clipValue),
      cells: pick('cells', isCellList, d.cells, (v) => [...new Set(v as CellChoice[])]),
      seed: pick('seed', (v) => intIn(v, 0, 0xffff_ffff), d.seed),
      reportFolder: pick('reportFolder', isFolder, d.reportFolder, (v) => (v as string).trim()),
      thresholds: {
        explodeGrowth: pick('diagnosis.explodeGrowth', (v) => numIn(v, 1, 1e12, true), d.thresholds.explodeGrowth),
        vanishEpsilon: pick('diagnosis.vanishEpsilon', (v) => numIn(v, 0, 1, true) && (v as number) < 1, d.thresholds.vanishEpsilon),
        rhoDelta: pick('diagnosis.rhoDelta', (v) => numIn(v, 0, 1), d.thresholds.rhoDelta),
      },
    },
    warnings,
  };
}

function safeJson(v: unknown): string {
  try {
    const s = JSON.stringify(v) ?? String(v);
    return s.length > 80 ? `${s.slice(0, 77)}...` : s;
  } catch {
    return String(v);
  }
}
