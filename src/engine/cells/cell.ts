// The cell contract (issue 9): one interface that every recurrent cell implements, so that
// one generic time loop (bptt.ts) runs any cell through time, stacked and bidirectional,
// with the head or an injected upstream gradient, probes, checkpointing and training
// unchanged. A cell is a step function with its backward step and its JVP; it declares its
// parameters, its state layout and its output. The loop does what is shared by all cells:
//
//   proj_t = W_in u_t + b_in      one GEMM over all T steps (W_in = the cell's `projection`
//                                  blocks stacked row-wise in the order listed; P = Σ rows)
//   rec_t  = W_hh s_{t-1} + b_hh   one GEMM per step, only for cells with `recurrent`
//                                  (s_{t-1} is the state part named by `recurrent.from`)
//   forward (proj_t, rec_t, s_{t-1}, own params) -> s_t, cache_t
//   out_t  = s_t[outPart]          copied by the loop, or `readout` when outPart is null
//
// and, backwards, dU = dProj W_in, dW_in += dProjᵀ U, db_in += Σ dProj,
// d s_{t-1}[from] += dRec W_hh, dW_hh += dRecᵀ s_{t-1}[from], db_hh += Σ dRec.
// Everything else (elementwise gates, diagonal or complex recurrences, per-example matrix
// memories, a readout from the state) is the cell's own, including the gradients of its
// own parameters (role 'own').
//
// Buffers are row-major and batch-major inside one step: a state part of size n is
// [B][n]; proj is [B][P]; rec is [B][G]; out is [B][outSize]; cache is [B][cacheSize].
// The cell may lay a part out as it likes inside its n reals per example (LRU: Re then Im;
// S6: [d][n]; mLSTM: C row-major then n). All views are owned by the loop: a cell never
// keeps a reference across calls and never allocates per step.
//
// State-gradient convention (design §8). The state's parts are independent coordinates
// after step t: the gradient of a part counts the paths through step t+1 (dNext) and, where
// out_t is read from the state, through out_t (dOut); where out_t IS a part (outPart), that
// part's gradient is dNext + dOut and the other parts do not count the path through it.
// gradNormState[t] = ‖dState‖ over every non-aux part; the lag profile, itemized and
// jacobianNorm are about the same state. gradNormH[t] = ‖dState[outPart]‖ for cells whose
// output is a state part (h, as for rnn/lstm/gru), and = gradNormState for cells whose
// output is read from the state (lru, mlstm, s6): the gradient that reached step t through
// time, not just ∂L/∂out_t (which is what arrives from above; the injected pass records it
// as directGradNorm).
//
// Held-constant parts (`heldConstant: true`): carried through time and stored like any part, but held constant
// in the backward pass (a stabiliser such as xLSTM's m, design §8: h does not depend on it).
// They get no gradient (the loop never reads dState/dPrev/dNext of an aux part and passes
// zero-length arrays there), no tangent in the JVP, count in no norm, and are never
// perturbed by the FD checks. "Non-aux" elsewhere in this file means not held constant.
//
// Test hooks (finite-difference checks) perturb: proj_t before the step (gate
// pre-activations), a state part after the step (then the loop recomputes out_t: copy or
// readout), and, for cells with `nodeC`, the part c as a node (before the parts formed from
// it, so ∂L/∂c_t counts the path through h_t: what gradNormC records).

import type { Rng } from '../rng';

export type ParamRole = 'input' | 'inputBias' | 'recurrent' | 'recurrentBias' | 'own';

/**
 * One parameter of one layer/direction. `name` is the §8 base name; the loop appends
 * `_l{k}[_reverse]`. The order of `params` is the state_dict order (and the order optimizers,
 * clipping and init visit them).
 */
export interface ParamSpec {
  name: string;
  shape: number[];
  role: ParamRole;
}

/** One block of the stacked input projection: rows of W_in read from `weight` ([rows, In]) and `bias` ([rows] or none: zeros). */
export interface ProjectionBlock {
  weight: string;
  bias: string | null;
  rows: number;
}

export interface StatePart {
  name: string;
  /** Reals per example (a complex H-vector counts 2H; mLSTM's C counts H*H). */
  size: number;
  /** Carried but held constant in the backward pass (see the header); default false. */
  heldConstant?: boolean;
}

export type GateActivation = 'sigmoid' | 'tanh' | 'relu' | 'identity' | 'exp' | 'softplus';

export interface GateSpec {
  name: string;
  /** Offset and width (per example) of the gate's VALUE in the cell's per-step `cache` row (gateMean, gateSaturation). */
  offset: number;
  width: number;
  /**
   * For gateSaturation: sigmoid counts values < .05 or > .95; tanh |v| > .9; relu v ≤ 0 (dead);
   * identity, exp and softplus never saturate (recorded as 0).
   */
  activation: GateActivation;
  /** Offset (per example) of the gate's PRE-ACTIVATION in proj/dProj (gateGradNorm = ‖dProj block‖; the FD check perturbs proj there). */
  gradOffset: number;
}

/** Everything one step reads and writes (views; the loop owns the memory). */
export interface StepIO {
  B: number;
  /** Step index t in forward time. */
  t: number;
  /** Whether this is the first step of the sequence in the direction's own time (t = 0 forward, T−1 reverse); false for a checkpointed segment or truncation window that continues a sequence. */
  first: boolean;
  proj: Float64Array; // [B][P]
  rec: Float64Array; // [B][G] (zero-length without `recurrent`); valid during forward (and nodeC.reform) ONLY: one buffer reused by every step, so backward/jvp take what they need from the cache
  prev: Float64Array[]; // state parts at t-1, [B][size_p] each, in `state` order (read-only arrays: never reassign their entries)
  next: Float64Array[]; // state parts at t, written by forward
  out: Float64Array; // [B][outSize]: written by readout (cells with outPart null); forward need not write it
  cache: Float64Array; // [B][cacheSize], the cell's saved activations for backward/jvp/readout
  own: Float64Array[]; // the cell's own parameters, in `params` order of role 'own'
}

export interface BackwardIO extends StepIO {
  dOut: Float64Array; // [B][outSize]  ∂L/∂out_t from above (next layer, head or injection); may be all zero; READ-ONLY (often a view of the layer's output gradient)
  dNext: Float64Array[]; // state-part gradients arriving from step t+1 (zeros at the end)
  dState: Float64Array[]; // written: the total state-part gradients at t (dNext + what out_t adds)
  dProj: Float64Array; // written: ∂L/∂proj_t
  dRec: Float64Array; // written: ∂L/∂rec_t (the SAME array as dProj when `recShared`: then write dProj only)
  dPrev: Float64Array[]; // written (overwrite): the part of ∂L/∂s_{t-1} that does not go through W_hh
  /** ACCUMULATED (+=): gradients of the own parameters. Only when `wantOwn`; otherwise leave untouched. */
  dOwn: Float64Array[];
  /** False when the loop only needs state gradients (Jacobian power iteration, itemized): skip dOwn. */
  wantOwn: boolean;
  /** Cells with `nodeC` only: written, ∂L/∂c_t counting the path through the parts formed from c_t (gradNormC). */
  dNodeC: Float64Array;
}

export interface JvpIO extends StepIO {
  v: Float64Array[]; // tangent of s_{t-1} (held-constant parts: zero-length)
  dRecV: Float64Array; // W_hh v[from] (computed by the loop), [B][G]; zero-length without `recurrent`
  tOut: Float64Array[]; // written: tangent of s_t (held-constant parts: zero-length, leave them)
}

export interface Cell {
  readonly name: string; // the registry name: 'rnn-tanh', 'lstm', 'lstm-peephole', 'gru', 'mingru', …
  readonly params: readonly ParamSpec[];
  readonly projection: readonly ProjectionBlock[]; // P = Σ rows
  readonly recurrent: { weight: string; bias: string | null; rows: number; from: string } | null;
  /** dRec is dProj (rec_t adds 1:1 to proj_t, rows = P: rnn, lstm, slstm): the cell writes dProj only. */
  readonly recShared: boolean;
  readonly state: readonly StatePart[];
  /** Name of the state part that is the output (h), or null when out_t is computed from the state by `readout` (lru, mlstm, s6). */
  readonly outPart: string | null;
  readonly outSize: number;
  readonly cacheSize: number; // per example
  readonly gates: readonly GateSpec[];
  /**
   * Cells that record gradNormC (a part `part`, usually 'c', from which other parts such as h
   * are formed inside the step: lstm, slstm): `reform` recomputes those parts (and what the
   * cache holds of them) from next[part] as it stands, so a test can perturb c_t as a node.
   */
  readonly nodeC: { part: string; reform(io: StepIO): void } | null;
  /** The §8 initialisation of this layer/direction's parameters (`get` takes the base name). */
  init(get: (name: string) => Float64Array, rng: Rng): void;
  forward(io: StepIO): void;
  /** out_t from next (and cache/proj); required when outPart is null. */
  readout?(io: StepIO): void;
  backward(io: BackwardIO): void;
  jvp(io: JvpIO): void;
}

/** Options some cells take (ModelConfig.cellOptions); each cell reads its own and ignores the rest. */
export interface CellOptions {
  /** s6: N, the state size per channel (default 16). */
  stateSize?: number;
  /** lru: |λ| uniform on the ring [rMin, rMax] at init (defaults 0.9, 0.999). */
  rMin?: number;
  rMax?: number;
  /** indrnn: the activation (default relu). */
  activation?: 'relu' | 'tanh';
}

/**
 * How the registry (cells/index.ts) builds a cell for one layer: `inputSize` is that layer's
 * input (I for layer 0, D·outSize above), `hiddenSize` is H.
 */
export type CellFactory = (inputSize: number, hiddenSize: number, options: CellOptions) => Cell;

// Changes to this contract (newest last), so a cell written against an earlier version can
// catch up:
// v2: `init(get, rng)` and `readout?(io)` are part of the contract (as the first new cells
//     already had them; forward need not write out: the loop copies next[outPart] or calls
//     readout, also after a test perturbs the state). New: `recShared`, `nodeC`,
//     StatePart.heldConstant (xLSTM's m, the name slstm.ts already used), BackwardIO.wantOwn and dNodeC, StepIO.first's meaning across checkpointed
//     segments, GateSpec's saturation rule per activation, CellOptions + CellFactory (the
//     registry calls the constructor as (inputSize, hiddenSize, options)). gradNormH of
//     readout cells = gradNormState (header).
// v3: no interface change. Spelled out: rec is valid during forward only (the loop reuses one
//     buffer for every step); the prev/next arrays are shared per step (do not reassign their
//     entries); proj stays valid for the whole pass. The engine's loop now runs on this
//     contract (bptt.ts), and the registry (cells/index.ts) builds every cell.
// v4: no interface change. dOut is read-only (a view of the layer's output gradient).
//     jacobianNorm warm-starts each step's power iteration from the previous step's vector
//     with 1e-3 of a fixed vector mixed in (probes.ts), so diagonal Jacobians are handled.
