// The study's public contract: what a study is asked to do and the report it produces.
// report.json (design §6) is `Report` serialised; the extension redraws every chart from it.
import type { CellName } from '../engine/cells';
import type {
  CellKind, ClipSpec, InitScheme, LayerRecord, LossKind, LstmVariant, Mode, Nonlinearity, OptimizerKind, PassRecord, Truncation,
} from '../engine/types';
export type { ClipSpec, InitScheme, OptimizerKind } from '../engine/types';

export type Verdict = 'vanishing' | 'exploding' | 'healthy';

export interface Diagnosis {
  /** rho = exp(slope of least-squares fit of log p(k) on k); null when the profile has < 2 finite positive points. */
  decayPerStep: number | null;
  /** Smallest lag k with p(k) < epsilon * p(0); null when it never falls that far within the sequence. */
  horizon: number | null;
  verdict: Verdict;
  /** Human-readable sentences, each naming the numbers behind the verdict. */
  evidence: string[];
  /** p(k) for k = 0..T-1 (design §4). */
  lagProfile: number[];
}

export interface DiagnosisThresholds {
  /** Growth factor across the sequence that counts as exploding (default 10). */
  explodeGrowth: number;
  /** Fraction of lag-0 value below which the profile counts as vanished (default 1e-3). */
  vanishEpsilon: number;
  /** Tolerance delta around rho = 1 (default 0.02). */
  rhoDelta: number;
}

/** A cell name of the engine's registry (src/engine/cells/index.ts): the classic ones and the cells of design §8. */
export type CellChoice = CellName;


/** Everything that defines one training run; with the data and the seed it is bit-reproducible. */
export interface RunConfig {
  cell: CellKind;
  nonlinearity: Nonlinearity;
  variant: LstmVariant;
  /** Label such as 'lstm-cifg' or 'rnn-tanh'. */
  cellChoice: CellChoice;
  hiddenSize: number;
  numLayers: number;
  bidirectional: boolean;
  loss: LossKind;
  mode: Mode;
  init: InitScheme;
  /** Rescale W_hh to this spectral radius after init (null: leave as initialised). */
  spectralRadius: number | null;
  forgetBias: boolean;
  optimizer: OptimizerKind;
  learningRate: number;
  clip: ClipSpec;
  truncation: Truncation | null;
  iterations: number;
  batchSize: number;
  seed: number;
}

/** One run record (design §6 `bptt-lens/run@1`): a pass record with its configuration and diagnosis. */
export interface RunRecord extends PassRecord {
  schema: 'bptt-lens/run@1';
  config: Partial<RunConfig> & Record<string, unknown>;
  diagnosis: Diagnosis | null;
}

/** Per-timestep probes at one recorded training iteration (timestep x iteration heatmap). */
export interface RecordedIteration {
  iteration: number;
  layers: LayerRecord[];
  inputGradNorm: number[];
  /** The lag profile at this iteration (design §4). */
  lagProfile: number[];
  /** Loss on the fixed probe batch at this iteration (added by the study; optional for older readers). */
  loss?: number;
}

export interface TrainingHistory {
  /** One entry per iteration. */
  loss: number[];
  preClipNorm: number[];
  postClipNorm: number[];
  /** Fraction of iterations whose update was clipped. */
  clipRate: number;
  recorded: RecordedIteration[];
  /** Iteration at which training stopped on a non-finite loss or gradient (null: ran to the end). */
  stoppedAt?: number | null;
}

export interface Recommendation {
  /** Short imperative, e.g. "Use an LSTM with forget bias 1". */
  title: string;
  /** Why, with the numbers. */
  rationale: string;
  /** The config change that checks it by re-running. */
  change: Partial<RunConfig>;
  /** Filled when the recommendation was re-run: the verdict it gave. */
  check?: RecommendationCheck | null;
}

export interface RecommendationCheck {
  runId: string;
  verdict: Verdict;
  /** The re-run's final loss (src/study/format.ts finalLoss). */
  finalLoss: number;
  decayPerStep?: number | null;
  horizon?: number | null;
  /**
   * confirmed: a better verdict, or the same verdict and a final loss at least 10% lower;
   * worse: a worse verdict, or a final loss at least 10% higher; unchanged otherwise.
   */
  outcome?: 'confirmed' | 'unchanged' | 'worse';
  /** When the check did not confirm it, or left the verdict as it was: the next recommendation to try (its title), if any. */
  next?: string | null;
}

export interface ReportRun extends RunRecord {
  id: string;
  label: string;
  /** Seed spread, when several seeds were asked for. */
  seeds?: number[];
  history: TrainingHistory;
  recommendations: Recommendation[];
  /** Diagnosis of the network at initialisation (history.recorded[0]); `diagnosis` is the trained network's. */
  initialDiagnosis?: Diagnosis | null;
  /** Runs that differ only by seed share a group (the label without the seed). */
  group?: string;
  /** Spread over the seeds of this run's group, when several seeds were asked for. */
  seedSpread?: SeedSpread | null;
  /**
   * The trivial baseline on the same probe batch as the final loss: always predicting the mean
   * target (mse) or the class frequencies (xent). A final loss near it means "not learned yet".
   */
  baseline?: { kind: 'mean' | 'prior'; loss: number };
}

export interface Spread {
  min: number;
  median: number;
  max: number;
}

export interface SeedSpread {
  finalLoss: Spread;
  /** Over the seeds whose decay per step is defined. */
  decayPerStep: Spread | null;
}

/** One run a study plans: what the worker pool receives and `executeRun` executes. */
export interface PlannedRun {
  id: string;
  label: string;
  config: RunConfig;
  /** Group key shared by runs differing only by seed. */
  group?: string;
  /** Verdict thresholds for this run's diagnosis (defaults: DEFAULT_THRESHOLDS). */
  thresholds?: Partial<DiagnosisThresholds>;
  /** Iterations (0 = initialisation .. config.iterations) at which to record per-timestep probes. */
  recordAt?: number[];
}

/** Runs planned runs over one dataset; results in the order of `planned`. */
export type RunExecutor = (
  dataset: Dataset,
  planned: PlannedRun[],
  opts: { signal?: AbortSignal; onProgress?: (done: number, total: number, label: string) => void },
) => Promise<ReportRun[]>;

export type StudyKind = 'diagnosis' | 'clipping' | 'gates';
/**
 * What a report holds: a study BPTT Lens trained, 'captures' (replayed training captures, design §9;
 * one run per captured step), or 'probe' (a user's state dict probed on a sequence file: the
 * `gradients` pass, one run, no training).
 */
export type ReportKind = StudyKind | 'captures' | 'probe';

export interface StudyInfo {
  kind: ReportKind;
  name: string;
  /** Sample name or data file path (relative where possible). */
  source: string;
  description: string;
  task: string;
  createdAt: string;
  thresholds: DiagnosisThresholds;
  /**
   * What the study found, as sentences, most important first (the panel and the reports open
   * with them): e.g. "Norm clipping at 1 kept training finite and reached loss 0.03357; …".
   */
  findings?: string[];
  /** Runs left out because they would be identical by construction to runs made, with why. */
  skipped?: string[];
}

export interface Report {
  schema: 'bptt-lens/report@1';
  study: StudyInfo;
  runs: ReportRun[];
}

/**
 * Training data ready for the engine: one fixed set of examples, batch-first, the same
 * layout as the engine's Batch. Samples and user files both produce this.
 */
export interface Dataset {
  name: string;
  /** One line for pickers and reports. */
  description: string;
  /** What the network is asked to do, e.g. "predict next month's passengers from 12 months". */
  task: string;
  mode: Mode;
  loss: LossKind;
  inputSize: number;
  outputSize: number;
  steps: number;
  /** Number of examples. */
  count: number;
  /** [count][steps][inputSize] flattened. */
  x: Float64Array;
  /** [count][steps][outputSize] or [count][outputSize] flattened. */
  y: Float64Array;
  /** Where the data came from (sample name or file path), and any normalisation applied. */
  source: string;
  normalization: { kind: 'none' } | { kind: 'zscore' | 'minmax'; columns: { name: string; a: number; b: number }[] };
}
