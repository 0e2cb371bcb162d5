// From settings + the user's quick-pick answers to the engine's StudySpec, through the same
// studySpec() the CLI calls (src/study/options.ts). Pure (no vscode), so the mapping is
// unit-tested; lens.ts only asks the questions.
import { baseRunConfig, DEFAULT_SAMPLE, presetNote, studySpec, type StudyPicks as OptionPicks } from '../study/options';
import { defaultRunConfig, type StudySpec } from '../study/study';
import { SAMPLES, SAMPLE_NAMES, type SampleName } from '../study/samples';
import type { CellChoice, ClipSpec, Dataset, RunConfig, StudyKind } from '../study/types';
import { CELL_CHOICES, type LensSettings } from './settings';

export interface StudyPicks extends OptionPicks {
  kind: StudyKind;
}

export interface ClipChoice {
  label: string;
  description: string;
  clip: ClipSpec;
}

/** What Compare Clipping offers: no clipping, every norm threshold, and clip-by-value when set. */
export function clipChoices(settings: LensSettings): ClipChoice[] {
  const out: ClipChoice[] = [{ label: 'No clipping', description: 'the reference run', clip: { kind: 'none' } }];
  for (const t of settings.clipThresholds) {
    out.push({ label: `Clip global norm at ${t}`, description: 'rescale the whole gradient when its L2 norm exceeds this (Pascanu et al. 2013)', clip: { kind: 'norm', threshold: t } });
  }
  if (settings.clipValue > 0) {
    out.push({ label: `Clip each value at ±${settings.clipValue}`, description: 'element-wise, changes the gradient direction', clip: { kind: 'value', threshold: settings.clipValue } });
  }
  return out;
}

/** The sample quick pick's order: the study's default sample first (what Enter takes), then the rest. */
export function sampleChoices(kind: StudyKind = 'diagnosis'): { name: SampleName; description: string; detail: string }[] {
  const first = DEFAULT_SAMPLE[kind];
  const names = [first, ...SAMPLE_NAMES.filter((n) => n !== first)];
  return names.map((name) => ({ name, description: SAMPLES[name].description, detail: SAMPLES[name].task }));
}

/** The base run config: the sample's defaults, with every non-default setting applied. */
export function baseConfig(dataset: Dataset, settings: LensSettings, cell: CellChoice): RunConfig {
  return baseRunConfig(dataset, settings, cell);
}

export function buildStudySpec(dataset: Dataset, settings: LensSettings, picks: StudyPicks): StudySpec {
  const spec = studySpec(picks.kind, dataset, settings, picks);
  const note = presetNote(picks.kind, settings);
  if (note) spec.note = note;
  return spec;
}

/** A one-run study that re-runs `config` (a recommendation applied to a run). */
export function buildCheckSpec(dataset: Dataset, settings: LensSettings, config: RunConfig): StudySpec {
  return {
    kind: 'diagnosis',
    name: `diagnosis-${dataset.name}-${config.cellChoice}`,
    dataset,
    base: config,
    cells: [config.cellChoice],
    clips: [config.clip],
    seeds: [config.seed],
    thresholds: { ...settings.thresholds },
  };
}

/** The config of `run` with recommendation `index` applied, or null when there is none. */
export function applyRecommendation(config: Partial<RunConfig>, change: Partial<RunConfig>, dataset: Dataset, settings: LensSettings): RunConfig {
  const cellChoice = change.cellChoice ?? config.cellChoice ?? 'rnn-tanh';
  const merged: RunConfig = { ...baseConfig(dataset, settings, cellChoice), ...stripUndefined(config), ...stripUndefined(change) };
  // A cell change brings its own cell/variant/nonlinearity (defaultRunConfig derives them).
  const cellFields = defaultRunConfig(dataset, { cellChoice });
  merged.cell = cellFields.cell;
  merged.variant = cellFields.variant;
  merged.nonlinearity = cellFields.nonlinearity;
  if (merged.cell !== 'lstm') merged.forgetBias = false;
  return merged;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Largest sizes a re-run accepts. A re-run may start from a report.json read from disk, which
 * is untrusted: its config decides the memory and time of the training, and the engine only
 * checks that sizes are positive. Generous next to what the extension and the CLI produce
 * (hidden <= 256 from the settings, iterations <= 1e6 from the CLI, batch <= 32).
 */
export const RERUN_LIMITS = { hiddenSize: 1024, numLayers: 8, iterations: 1_000_000, batchSize: 4096, spectralRadius: 100 } as const;

const INITS: readonly unknown[] = ['pytorch', 'xavier', 'orthogonal', 'identity'];
const OPTIMIZERS: readonly unknown[] = ['sgd', 'momentum', 'adam'];

/** Why `config` must not be trained (one sentence naming the field), or null when it may. */
export function rerunConfigProblem(config: RunConfig): string | null {
  const c = config as unknown as Record<string, unknown>;
  const show = (v: unknown): string => {
    const s = typeof v === 'string' ? JSON.stringify(v) : typeof v === 'object' && v !== null ? 'an object' : String(v);
    return s.length > 40 ? `${s.slice(0, 39)}…` : s;
  };
  const isInt = (v: unknown, min: number, max: number): boolean => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
  const isPositive = (v: unknown, max = Number.MAX_VALUE): boolean => typeof v === 'number' && Number.isFinite(v) && v > 0 && v <= max;
  const ints: [keyof typeof RERUN_LIMITS | 'seed', number, number][] = [
    ['hiddenSize', 1, RERUN_LIMITS.hiddenSize],
    ['numLayers', 1, RERUN_LIMITS.numLayers],
    ['iterations', 0, RERUN_LIMITS.iterations],
    ['batchSize', 1, RERUN_LIMITS.batchSize],
    ['seed', 0, 0xffff_ffff],
  ];
  for (const [key, min, max] of ints) {
    if (!isInt(c[key], min, max)) return `${key} = ${show(c[key])} (expected a whole number from ${min} to ${max})`;
  }
  if (!(CELL_CHOICES as readonly unknown[]).includes(c.cellChoice)) return `cellChoice = ${show(c.cellChoice)} (expected one of ${CELL_CHOICES.join(', ')})`;
  if (!isPositive(c.learningRate, 10)) return `learningRate = ${show(c.learningRate)} (expected a number above 0, at most 10)`;
  if (!INITS.includes(c.init)) return `init = ${show(c.init)} (expected one of ${INITS.join(', ')})`;
  if (!OPTIMIZERS.includes(c.optimizer)) return `optimizer = ${show(c.optimizer)} (expected one of ${OPTIMIZERS.join(', ')})`;
  if (typeof c.bidirectional !== 'boolean') return `bidirectional = ${show(c.bidirectional)} (expected true or false)`;
  if (typeof c.forgetBias !== 'boolean') return `forgetBias = ${show(c.forgetBias)} (expected true or false)`;
  if (c.spectralRadius !== null && !isPositive(c.spectralRadius, RERUN_LIMITS.spectralRadius)) {
    return `spectralRadius = ${show(c.spectralRadius)} (expected null or a number above 0, at most ${RERUN_LIMITS.spectralRadius})`;
  }
  const clip = c.clip as Record<string, unknown> | null | undefined;
  const clipOk = typeof clip === 'object' && clip !== null && (clip.kind === 'none' || ((clip.kind === 'norm' || clip.kind === 'value') && isPositive(clip.threshold)));
  if (!clipOk) return `clip = ${show(clip)} (expected none, or norm/value with a threshold above 0)`;
  const tr = c.truncation as Record<string, unknown> | null | undefined;
  if (tr !== null && !(typeof tr === 'object' && isInt(tr.k1, 1, Number.MAX_SAFE_INTEGER) && isInt(tr.k2, tr.k1 as number, Number.MAX_SAFE_INTEGER))) {
    return `truncation = ${show(tr)} (expected null or whole numbers 1 <= k1 <= k2)`;
  }
  return null;
}
