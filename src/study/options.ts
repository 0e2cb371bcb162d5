// What a user can set about a study — ONE definition for the command line (`bptt-lens
// diagnose --hidden 32 …`) and the extension (`bpttLens.hiddenSize` …): the option names, their
// defaults, their ranges, the cell-name parser, the default data of each study, the built-in
// exploding setting of the clipping comparison, and how options become a StudySpec. The CLI
// and the extension both call studySpec(), so the same answers give the same study.
//
// A numeric option at 0 (and 'default' for the optimizer and init) means "the default of the
// sample and study": each sample has its own sizes (study.ts SAMPLE_DEFAULTS), and the clipping
// comparison starts from the exploding setting below.

import { fmt } from './diagnosis';
import type { SampleName } from './samples';
import { defaultClipSweep, defaultRunConfig, GATE_STUDY_CELLS, hasForgetBias, type StudySpec } from './study';
import type { CellChoice, ClipSpec, Dataset, DiagnosisThresholds, InitScheme, OptimizerKind, RunConfig, StudyKind } from './types';

export interface StudyOptions {
  /** Window / sequence length T; 0: the sample's own (or, for a file, the suggested window). */
  length: number;
  /** Hidden units per layer; 0: the sample's default. */
  hiddenSize: number;
  /** Stacked recurrent layers. */
  numLayers: number;
  /** Training iterations per run; 0: the sample's default. */
  iterations: number;
  /** Learning rate; 0: the sample's default (the exploding setting's for Compare Clipping). */
  learningRate: number;
  optimizer: OptimizerKind | 'default';
  /** Minibatch size; 0: the sample's default. */
  batchSize: number;
  init: InitScheme | 'default';
  /** W_hh rescaled to this spectral radius after init; 0: left as initialised (1.5 in the exploding setting). */
  spectralRadius: number;
  /** LSTM family: forget-gate bias 1 (Jozefowicz et al. 2015) instead of PyTorch's 0. */
  forgetBias: boolean;
  /** Truncated BPTT: backpropagate k2 steps every k1 steps; null: full BPTT. */
  truncation: { k1: number; k2: number } | null;
  seed: number;
  /** Seeds to repeat every run with (min/median/max shown); empty: just `seed`. */
  seeds: number[];
  /** Cells Run Diagnosis trains. */
  cells: CellChoice[];
  /** Global-norm thresholds Compare Clipping Thresholds sweeps (beside no clipping). */
  clipThresholds: number[];
  /** Clip-by-value threshold Compare Clipping adds (0: none). */
  clipValue: number;
  thresholds: DiagnosisThresholds;
}

export const DEFAULT_CELLS: readonly CellChoice[] = ['rnn-tanh', 'lstm', 'gru'];

export const DEFAULT_STUDY_OPTIONS: Readonly<StudyOptions> = Object.freeze({
  length: 0,
  hiddenSize: 0,
  numLayers: 1,
  iterations: 0,
  learningRate: 0,
  optimizer: 'default',
  batchSize: 0,
  init: 'default',
  spectralRadius: 0,
  forgetBias: false,
  truncation: null,
  seed: 1,
  seeds: [],
  cells: [...DEFAULT_CELLS],
  clipThresholds: [0.25, 1, 4],
  clipValue: 0.1,
  thresholds: { explodeGrowth: 10, vanishEpsilon: 1e-3, rhoDelta: 0.02 },
});

/** Ranges shared by the CLI's checks, the settings' checks and package.json's schema. */
export const OPTION_LIMITS = {
  length: { min: 0, max: 10_000 },
  hiddenSize: { min: 0, max: 256 },
  numLayers: { min: 1, max: 4 },
  iterations: { min: 0, max: 100_000 },
  learningRate: { min: 0, max: 10 },
  batchSize: { min: 0, max: 1024 },
  spectralRadius: { min: 0, max: 10 },
  seed: { min: 0, max: 0xffff_ffff },
} as const;

export const OPTIMIZER_CHOICES: readonly (OptimizerKind | 'default')[] = ['default', 'adam', 'sgd', 'momentum'];
export const INIT_CHOICES: readonly (InitScheme | 'default')[] = ['default', 'pytorch', 'xavier', 'orthogonal', 'identity'];
export const STUDY_KINDS: readonly StudyKind[] = ['diagnosis', 'clipping', 'gates'];

/**
 * The data each study uses when nobody picks any (Enter through the prompts, or the CLI
 * without --sample/--data). Run Diagnosis and Compare Gate Choices: the adding problem, where
 * a tanh RNN and an LSTM at forget bias 0 lose the gradient within the window while a GRU
 * learns the task and keeps it; Compare Clipping: the exploding setting on airline.
 */
export const DEFAULT_SAMPLE: Readonly<Record<StudyKind, SampleName>> = { diagnosis: 'adding', clipping: 'airline', gates: 'adding' };

/**
 * Compare Clipping Thresholds' starting point (Pascanu et al. 2013, "On the difficulty of
 * training recurrent neural networks"): a tanh RNN whose W_hh is rescaled to spectral radius
 * 1.5 > 1, trained by plain SGD at a learning rate at which the unclipped run diverges (on
 * airline it overflows within 200 iterations for seeds 1-3) while norm clipping at 1 trains.
 * Any option the user sets explicitly overrides the corresponding field.
 */
export const EXPLODING_SETTING = Object.freeze({
  name: 'exploding tanh RNN (Pascanu et al. 2013)',
  cellChoice: 'rnn-tanh' as CellChoice,
  spectralRadius: 1.5,
  optimizer: 'sgd' as OptimizerKind,
  learningRate: 0.3,
  iterations: 200,
  description: 'tanh RNN, W_hh rescaled to spectral radius 1.5, plain SGD at learning rate 0.3: without clipping the updates overflow',
});

// ---------------------------------------------------------------------------- option text

/** `none`, a number (norm threshold), `norm:X` or `value:X`. null when malformed. */
export function parseClip(item: string): ClipSpec | null {
  const s = item.trim().toLowerCase();
  if (s === 'none') return { kind: 'none' };
  const m = /^(?:(norm|value):)?([0-9.eE+-]+)$/.exec(s);
  if (!m) return null;
  const threshold = Number(m[2]);
  if (!Number.isFinite(threshold) || !(threshold > 0)) return null;
  return { kind: (m[1] ?? 'norm') as 'norm' | 'value', threshold };
}

/** `K` (k1 = k2 = K), `K1:K2`, or `0`/`none`/`full` for full BPTT. undefined when malformed. */
export function parseTruncation(text: string): { k1: number; k2: number } | null | undefined {
  const s = text.trim().toLowerCase();
  if (s === '0' || s === 'none' || s === 'full') return null;
  const m = /^([0-9]+)(?:[:,]([0-9]+))?$/.exec(s);
  if (!m) return undefined;
  const k1 = Number(m[1]);
  const k2 = m[2] === undefined ? k1 : Number(m[2]);
  if (!(k1 >= 1) || !(k2 >= k1) || k2 > OPTION_LIMITS.length.max) return undefined;
  return { k1, k2 };
}

// ---------------------------------------------------------------------------- options -> study

export interface StudyPicks {
  /** Diagnosis: the cells to compare (default: options.cells). Clipping: the first one is used. */
  cells?: CellChoice[];
  /** The clip settings (default: none for diagnosis and gates, clipChoices for clipping). */
  clips?: ClipSpec[];
}

/** What Compare Clipping sweeps: no clipping, each norm threshold, and clip-by-value when set. */
export function clipSweep(options: Pick<StudyOptions, 'clipThresholds' | 'clipValue'>): ClipSpec[] {
  const out: ClipSpec[] = [{ kind: 'none' }];
  for (const t of options.clipThresholds) out.push({ kind: 'norm', threshold: t });
  if (options.clipValue > 0) out.push({ kind: 'value', threshold: options.clipValue });
  return out.length > 1 ? out : defaultClipSweep();
}

/** The base run config: the sample's defaults, then the study's preset, then every option the user set. */
export function baseRunConfig(dataset: Dataset, options: StudyOptions, cell: CellChoice, kind: StudyKind = 'diagnosis'): RunConfig {
  const partial: Partial<RunConfig> = { cellChoice: cell, seed: options.seed };
  if (kind === 'clipping') {
    partial.spectralRadius = EXPLODING_SETTING.spectralRadius;
    partial.optimizer = EXPLODING_SETTING.optimizer;
    partial.learningRate = EXPLODING_SETTING.learningRate;
    partial.iterations = EXPLODING_SETTING.iterations;
  }
  if (options.hiddenSize > 0) partial.hiddenSize = options.hiddenSize;
  if (options.numLayers > 1) partial.numLayers = options.numLayers;
  if (options.iterations > 0) partial.iterations = options.iterations;
  if (options.learningRate > 0) partial.learningRate = options.learningRate;
  if (options.optimizer !== 'default') partial.optimizer = options.optimizer;
  if (options.batchSize > 0) partial.batchSize = Math.min(options.batchSize, dataset.count);
  if (options.init !== 'default') partial.init = options.init;
  if (options.spectralRadius > 0) partial.spectralRadius = options.spectralRadius;
  if (options.truncation) partial.truncation = { ...options.truncation };
  partial.forgetBias = options.forgetBias && hasForgetBias(cell);
  return defaultRunConfig(dataset, partial);
}

/** The study a command runs: the same function for the CLI and the extension. */
export function studySpec(kind: StudyKind, dataset: Dataset, options: StudyOptions, picks: StudyPicks = {}): StudySpec {
  const cells = dedupe(picks.cells && picks.cells.length > 0 ? picks.cells : options.cells.length > 0 ? options.cells : [...DEFAULT_CELLS]);
  const first = kind === 'clipping' ? (picks.cells && picks.cells.length > 0 ? cells[0]! : EXPLODING_SETTING.cellChoice) : cells[0]!;
  const spec: StudySpec = {
    kind,
    name: `${kind}-${dataset.name}`,
    dataset,
    base: baseRunConfig(dataset, options, first, kind),
    seeds: options.seeds.length > 0 ? dedupe(options.seeds) : [options.seed],
    thresholds: { ...options.thresholds },
    checkRecommendations: true,
  };
  switch (kind) {
    case 'diagnosis':
      spec.cells = cells;
      spec.clips = picks.clips && picks.clips.length > 0 ? picks.clips : [spec.base.clip];
      break;
    case 'clipping':
      spec.cells = [first];
      spec.clips = picks.clips && picks.clips.length > 0 ? picks.clips : clipSweep(options);
      spec.checkRecommendations = false; // the sweep is the check
      break;
    case 'gates':
      // The cells picked (Compare Gate Choices' list, the CLI's --cells), else the classic gate choices.
      spec.cells = picks.cells && picks.cells.length > 0 ? cells : [...GATE_STUDY_CELLS];
      spec.clips = picks.clips && picks.clips.length > 0 ? picks.clips : [spec.base.clip];
      // Doubles only the LSTM variants with a forget gate of their own (study.ts plan, hasForgetBias).
      spec.forgetBiasBoth = true;
      spec.checkRecommendations = false; // every gate choice is already a run
      break;
  }
  return spec;
}

/** One line for the study's description: the settings that differ from the sample's plain defaults. */
export function presetNote(kind: StudyKind, options: StudyOptions): string | null {
  if (kind !== 'clipping') return null;
  const overridden = [
    options.learningRate > 0 ? `learning rate ${fmt(options.learningRate)}` : null,
    options.optimizer !== 'default' ? `optimizer ${options.optimizer}` : null,
    options.spectralRadius > 0 ? `spectral radius ${fmt(options.spectralRadius)}` : null,
    options.iterations > 0 ? `${options.iterations} iterations` : null,
  ].filter((s): s is string => s !== null);
  return `Starting point: the ${EXPLODING_SETTING.name}: ${EXPLODING_SETTING.description}` +
    (overridden.length > 0 ? `; your settings override: ${overridden.join(', ')}.` : '.');
}

function dedupe<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}
