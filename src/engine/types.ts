// The engine's public contract. Everything above the engine (study, io, cli, worker,
// extension) codes against these types; names of recorded quantities are the JSON field
// names of design §3 and must not change.

import type { CellOptions } from './cells/cell';

/**
 * rnn, lstm, gru (design §2) and the modern cells of design §8. A cell NAME (`rnn-tanh`,
 * `lstm-cifg`, `mingru`, …: cells/index.ts) is a kind plus nonlinearity (rnn) or variant (lstm).
 */
export type CellKind = 'rnn' | 'lstm' | 'gru' | 'indrnn' | 'mingru' | 'minlstm' | 'lru' | 'rglru' | 'slstm' | 'mlstm' | 's6';
export type { CellOptions };
export type Nonlinearity = 'tanh' | 'relu';
/** Greff et al. 2015 variants; 'vanilla' is the PyTorch nn.LSTM cell. */
export type LstmVariant = 'vanilla' | 'peephole' | 'cifg' | 'nfg' | 'nig' | 'nog' | 'niaf' | 'noaf';
export type LossKind = 'mse' | 'xent';
export type Mode = 'many-to-one' | 'many-to-many';

export interface ModelConfig {
  cell: CellKind;
  /** RNN only. */
  nonlinearity: Nonlinearity;
  /** LSTM only. */
  variant: LstmVariant;
  inputSize: number;
  hiddenSize: number;
  numLayers: number;
  bidirectional: boolean;
  /** Size of the linear readout head y_t = W_y h_t + b_y. */
  outputSize: number;
  /** Options of the modern cells (s6's N, lru's ring, indrnn's activation); absent: their defaults. */
  cellOptions?: CellOptions;
}

/** Row-major tensor on float64. */
export interface Tensor {
  shape: number[];
  data: Float64Array;
}

/**
 * Parameters under PyTorch state_dict names: `weight_ih_l{k}[_reverse]`, `weight_hh_l{k}`,
 * `bias_ih_l{k}`, `bias_hh_l{k}`; peephole weights `weight_ci_l{k}`, `weight_cf_l{k}`,
 * `weight_co_l{k}` (shape [H], our own names: PyTorch has no peepholes); the head
 * `head.weight` [O, D*H] and `head.bias` [O]. Insertion order is stable and is the order
 * in which optimizers and clipping visit parameters.
 */
export type ParamSet = Map<string, Tensor>;

export interface Model {
  config: ModelConfig;
  params: ParamSet;
}

/**
 * A batch, batch-first like the CLI's JSON: x is [B][T][I] flattened row-major; y is
 * [B][T][O] (many-to-many) or [B][O] (many-to-one). For `xent`, y holds target class
 * probabilities (one-hot for hard labels) over the O outputs.
 */
export interface Batch {
  batchSize: number;
  steps: number;
  inputSize: number;
  outputSize: number;
  mode: Mode;
  x: Float64Array;
  y: Float64Array;
}

export interface ProbeOptions {
  /** Per-timestep gate statistics and gate gradient norms (default true). */
  gates?: boolean;
  /** weightGradByStep (default true). */
  weightGradByStep?: boolean;
  /** jacobianNorm by power iteration (default true). */
  jacobian?: boolean;
  /** Power iterations per Jacobian (default 20). */
  jacobianIterations?: number;
  /** RNNbow's itemized T x T matrix (default false); refused above `itemizedMaxSteps`. */
  itemized?: boolean;
  /** Cap on T for the itemized matrix (default ITEMIZED_MAX_STEPS). */
  itemizedMaxSteps?: number;
  /**
   * Compute only these rows s of the itemized matrix (one backward pass each; the other rows
   * are zero and the many-to-many lag profile skips them). Default: every row. Used to bound
   * the cost of big captures (O(T²) otherwise).
   */
  itemizedRows?: readonly number[];
}

export interface Truncation {
  /** Run a backward pass every k1 steps ... */
  k1: number;
  /** ... through the last k2 steps (k2 >= k1). Full BPTT when absent. */
  k2: number;
}

export interface PassOptions {
  loss: LossKind;
  probes?: ProbeOptions;
  truncation?: Truncation | null;
  /**
   * Gradient checkpointing for long sequences: keep the recurrent state only every N steps
   * (true: N = ⌈√T⌉) and recompute each segment during the backward pass, so memory grows
   * with N instead of T. Same gradients and records; unidirectional, full BPTT, no itemized.
   */
  checkpoint?: boolean | number;
}

/** One layer and direction of a pass; series are indexed by timestep t = 0..T-1. */
export interface LayerRecord {
  layer: number;
  direction: 'forward' | 'reverse';
  /**
   * ‖∂L/∂h_t‖, the total derivative (all paths). For cells whose output is a state part h
   * (rnn, lstm, gru, indrnn, mingru, minlstm, rglru, slstm) that part's gradient; for cells
   * whose output is read from the state (lru, mlstm, s6) the gradient of the whole recurrent
   * state, i.e. gradNormState (what reached step t through time, not only ∂L/∂y_t).
   */
  gradNormH: number[];
  /** ‖∂L/∂c_t‖ as a node (incl. the path through h_t): cells with a c from which h is formed (LSTM family, slstm); null otherwise. */
  gradNormC: number[] | null;
  /**
   * ‖∂L/∂s_t‖ for the cell's whole recurrent state s_t (LSTM (h_t, c_t), slstm (h, c, n),
   * mlstm (C, n), s6 h ∈ ℝ^{H×N}, …) with its parts as independent coordinates: e.g. for the
   * LSTM hypot(gradNormH, ‖∂L/∂c_t with h_t held fixed‖). The c part counts only the path
   * through c_{t+1}; gradNormC also counts the path through h_t, so hypot(gradNormH,
   * gradNormC) would count that path twice. This is the quantity of the many-to-one lag
   * profile (design §4) and the one itemized and jacobianNorm are about. Every cell has it
   * (rnn, gru: equal to gradNormH); optional because records written before it existed lack it.
   */
  gradNormState?: number[] | null;
  /** Keys are gate names: LSTM i f g o, GRU r z n, RNN a (the pre-activation), the modern cells' gates of design §8. */
  gateGradNorm: Record<string, number[]>;
  gateMean: Record<string, number[]>;
  gateSaturation: Record<string, number[]>;
  weightGradByStep: number[];
  jacobianNorm: number[] | null;
}

export interface NonFinite {
  /** Field name of the first non-finite quantity met, e.g. `gradNormH`, `loss`, `params`. */
  quantity: string;
  layer: number | null;
  t: number | null;
  value: number;
}

/** What one forward/backward pass records (design §3). */
export interface PassRecord {
  timesteps: number;
  layers: LayerRecord[];
  inputGradNorm: number[];
  loss: number;
  /** Global L2 norm of the whole gradient before clipping (filled by the caller that clips; equals the raw norm otherwise). */
  globalGradNorm: number;
  clippedGradNorm: number;
  nonFinite: NonFinite | null;
  /** itemized[s][k] = ||dl_s/ds_k|| for k <= s (null entries for k > s are omitted: rows have length s+1). */
  itemized: number[][] | null;
  /**
   * Injected-gradient passes only (design §9, inject.ts): directGradNorm[t] = ‖grad_output_t‖,
   * the gradient that arrives at step t from outside the module (the top layer's output),
   * beside gradNormH[t], which also counts what arrives through the recurrence.
   */
  directGradNorm?: number[];
}

export interface PassResult {
  loss: number;
  grads: ParamSet;
  record: PassRecord;
}

export const ITEMIZED_MAX_STEPS = 512;
/** Where the itemized matrix is computed without being asked (`gradients --itemized` 'auto', the probe editor): as studies do. */
export const AUTO_ITEMIZED_MAX_STEPS = 128;

/** Gradient clipping: by global L2 norm (Pascanu et al. 2013) or elementwise by value. */
export type ClipSpec = { kind: 'none' } | { kind: 'norm'; threshold: number } | { kind: 'value'; threshold: number };
/** 'pytorch' is PyTorch's default U(-1/sqrt(H), 1/sqrt(H)). */
export type InitScheme = 'pytorch' | 'xavier' | 'orthogonal' | 'identity';
export type OptimizerKind = 'sgd' | 'momentum' | 'adam';
