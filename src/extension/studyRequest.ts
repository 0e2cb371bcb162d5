// From settings + the user's quick-pick answers to the engine's StudySpec. Pure (no vscode),
// so the mapping is unit-tested; commands.ts only asks the questions.
import { ALL_CELLS, defaultRunConfig, type StudySpec } from '../study/study';
import { SAMPLES, SAMPLE_NAMES, type SampleName } from '../study/samples';
import type { CellChoice, ClipSpec, Dataset, RunConfig, StudyKind } from '../study/types';
import type { LensSettings } from './settings';

export interface StudyPicks {
  kind: StudyKind;
  /** Diagnosis: the cells to compare (default: settings.cells). Clipping: the first one is used. */
  cells?: CellChoice[];
  /** Clipping: the clip settings to compare (default: clipChoices(settings)). */
  clips?: ClipSpec[];
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

/** The sample quick pick's order: the default (airline) first, then the rest. */
export function sampleChoices(): { name: SampleName; description: string; detail: string }[] {
  return SAMPLE_NAMES.map((name) => ({ name, description: SAMPLES[name].description, detail: SAMPLES[name].task }));
}

/** The base run config: the sample's defaults, with every non-zero setting applied. */
export function baseConfig(dataset: Dataset, settings: LensSettings, cell: CellChoice): RunConfig {
  const partial: Partial<RunConfig> = { cellChoice: cell, seed: settings.seed };
  if (settings.hiddenSize > 0) partial.hiddenSize = settings.hiddenSize;
  if (settings.iterations > 0) partial.iterations = settings.iterations;
  if (settings.learningRate > 0) partial.learningRate = settings.learningRate;
  return defaultRunConfig(dataset, partial);
}

export function buildStudySpec(dataset: Dataset, settings: LensSettings, picks: StudyPicks): StudySpec {
  const cells = picks.cells && picks.cells.length > 0 ? dedupe(picks.cells) : settings.cells;
  const spec: StudySpec = {
    kind: picks.kind,
    name: `${picks.kind}-${dataset.name}`,
    dataset,
    base: baseConfig(dataset, settings, cells[0] ?? 'rnn-tanh'),
    seeds: [settings.seed],
    thresholds: { ...settings.thresholds },
  };
  switch (picks.kind) {
    case 'diagnosis':
      spec.cells = cells;
      spec.clips = [{ kind: 'none' }];
      spec.checkRecommendations = true;
      break;
    case 'clipping': {
      const clips = picks.clips && picks.clips.length > 0 ? picks.clips : clipChoices(settings).map((c) => c.clip);
      spec.cells = [cells[0] ?? 'rnn-tanh'];
      spec.clips = clips;
      break;
    }
    case 'gates':
      spec.cells = [...ALL_CELLS];
      spec.clips = [{ kind: 'none' }];
      spec.forgetBiasBoth = true;
      break;
  }
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

function dedupe<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}
