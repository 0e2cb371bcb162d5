// The `bpttLens.*` settings, read through a getter so this module needs no vscode and can be
// unit-tested. They are the StudyOptions of src/study/options.ts (the CLI's flags are the
// same options, with the same defaults and ranges) plus where reports go. Settings are user
// input: every value is checked and a bad one falls back to its default (with a note), so a
// typo in settings.json never breaks a study.
import { ALL_CELLS } from '../study/study';
import { canonicalCellName } from '../engine/cells';
import { DEFAULT_STUDY_OPTIONS, INIT_CHOICES, OPTIMIZER_CHOICES, OPTION_LIMITS, type StudyOptions } from '../study/options';
import type { CellChoice } from '../study/types';

/** Cells offered in pickers and the `bpttLens.cells` setting (the study's cell list). */
export const CELL_CHOICES: readonly CellChoice[] = ALL_CELLS;

/** length (the setting bpttLens.sequenceLength), hiddenSize, iterations, learningRate, batchSize, spectralRadius: 0 means "the sample's default". */
export interface LensSettings extends StudyOptions {
  reportFolder: string;
}

/** Defaults: DEFAULT_STUDY_OPTIONS; package.json's `contributes.configuration` defaults match (tested). */
export const DEFAULT_SETTINGS: LensSettings = {
  ...structuredClone(DEFAULT_STUDY_OPTIONS as StudyOptions),
  reportFolder: 'bptt-reports',
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
  const isCellList = (v: unknown): boolean => Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string' && canonicalCellName(x) !== null);
  const isSeedList = (v: unknown): boolean => Array.isArray(v) && v.length <= 20 && v.every((x) => intIn(x, L.seed.min, L.seed.max));
  const isFolder = (v: unknown): boolean => typeof v === 'string' && v.trim().length > 0 && v.length <= 500 && !v.includes('\0');
  const L = OPTION_LIMITS;
  const length = pick('sequenceLength', (v) => intIn(v, L.length.min, L.length.max), d.length);
  const truncation = pick('truncation', (v) => intIn(v, 0, L.length.max), 0);
  return {
    settings: {
      length,
      hiddenSize: pick('hiddenSize', (v) => intIn(v, L.hiddenSize.min, L.hiddenSize.max), d.hiddenSize),
      numLayers: pick('numLayers', (v) => intIn(v, L.numLayers.min, L.numLayers.max), d.numLayers),
      iterations: pick('iterations', (v) => intIn(v, L.iterations.min, L.iterations.max), d.iterations),
      learningRate: pick('learningRate', (v) => numIn(v, L.learningRate.min, L.learningRate.max), d.learningRate),
      optimizer: pick('optimizer', (v) => (OPTIMIZER_CHOICES as readonly unknown[]).includes(v), d.optimizer),
      batchSize: pick('batchSize', (v) => intIn(v, L.batchSize.min, L.batchSize.max), d.batchSize),
      init: pick('init', (v) => (INIT_CHOICES as readonly unknown[]).includes(v), d.init),
      spectralRadius: pick('spectralRadius', (v) => numIn(v, L.spectralRadius.min, L.spectralRadius.max), d.spectralRadius),
      forgetBias: pick('forgetBias', (v) => typeof v === 'boolean', d.forgetBias),
      truncation: truncation > 0 ? { k1: truncation, k2: truncation } : null,
      clipThresholds: pick('clipThresholds', isThresholdList, d.clipThresholds, (v) => [...new Set(v as number[])].sort((a, b) => a - b)),
      clipValue: pick('clipValue', (v) => numIn(v, 0, 1e6), d.clipValue),
      cells: pick('cells', isCellList, d.cells, (v) => [...new Set((v as string[]).map((x) => canonicalCellName(x)!))]),
      seed: pick('seed', (v) => intIn(v, L.seed.min, L.seed.max), d.seed),
      seeds: pick('seeds', isSeedList, d.seeds, (v) => [...new Set(v as number[])]),
      reportFolder: pick('reportFolder', isFolder, 'bptt-reports', (v) => (v as string).trim()),
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
