// The cell contract (issue 9): one interface that every recurrent cell implements, so that
// one generic time loop (bptt.ts) runs any cell through time, stacked and bidirectional,
// with the head or an injected upstream gradient, probes, checkpointing and training
// unchanged. A cell is a step function with its backward step and its JVP; it declares its
// parameters, its state layout and its output. The loop does what is shared by all cells:
//
//   proj_t = W_in u_t + b_in      one GEMM over all T steps (W_in = the cell's input
//                                  projections stacked row-wise, `inputProjections`)
//   rec_t  = W_hh h_{t-1} + b_hh   one GEMM per step, only for cells with `recurrent`
//                                  (h_{t-1} is the state part named by `recurrent.from`)
//   step    (proj_t, rec_t, s_{t-1}, own params) -> s_t, out_t
//
// and, backwards, dU = dProj W_in, dW_in += dProjᵀ U, dh_{t-1} += dRec W_hh,
// dW_hh += dRecᵀ h_{t-1}. Everything else (elementwise gates, diagonal or complex
// recurrences, per-example matrix memories, a readout from the state) is the cell's own,
// including the gradients of its own parameters (`own` params).
//
// Buffers are row-major and batch-major inside one step: a state part of size n is
// [B][n]; proj is [B][P]; rec is [B][G]; out is [B][outSize]. The state's parts are
// independent coordinates after step t (design §8): a part's gradient counts the paths
// through step t+1 and, where out_t is read from the state, through out_t.

export type ParamRole = 'input' | 'inputBias' | 'recurrent' | 'recurrentBias' | 'own';

/** One parameter of one layer/direction. `name` is the §8 base name; the loop appends `_l{k}[_reverse]`. */
export interface ParamSpec {
  name: string;
  shape: number[];
  role: ParamRole;
}

/** One block of the stacked input projection: rows of W_in read from `weight` ([rows, In]) and `bias` ([rows] or none). */
export interface ProjectionBlock {
  weight: string;
  bias: string | null;
  rows: number;
}

export interface StatePart {
  name: string;
  /** Reals per example (a complex H-vector counts 2H; mLSTM's C counts H*H). */
  size: number;
}

export interface GateSpec {
  name: string;
  /** Offset and width (per example) in the cell's per-step `cache` row, and the kind for saturation stats. */
  offset: number;
  width: number;
  activation: 'sigmoid' | 'tanh' | 'relu' | 'identity' | 'exp' | 'softplus';
  /** Offset (per example) of the gate's pre-activation gradient in `dProj` (or in `dGate` scratch), for gateGradNorm. */
  gradOffset: number;
}

/** Everything one step reads and writes (views; the loop owns the memory). */
export interface StepIO {
  B: number;
  /** Step index t in forward time and whether this step is the first one the direction takes (t = 0 forward, T-1 reverse). */
  t: number;
  first: boolean;
  proj: Float64Array; // [B][P]
  rec: Float64Array; // [B][G] (empty without `recurrent`)
  prev: Float64Array[]; // state parts at t-1, [B][size_p] each
  next: Float64Array[]; // state parts at t, written by forward
  out: Float64Array; // [B][outSize], written by forward (may alias next[outPart] contents: the loop copies)
  cache: Float64Array; // [B][cacheSize], the cell's saved activations for backward/jvp
  own: Float64Array[]; // the cell's own parameters, in `params` order of role 'own'
}

export interface BackwardIO extends StepIO {
  dOut: Float64Array; // [B][outSize]  ∂L/∂out_t from above (next layer, head or injection)
  dNext: Float64Array[]; // state-part gradients arriving from step t+1 (zeros at the end)
  dState: Float64Array[]; // written: the total state-part gradients at t (what gradNormState measures)
  dProj: Float64Array; // written: ∂L/∂proj_t
  dRec: Float64Array; // written: ∂L/∂rec_t
  dPrev: Float64Array[]; // written: the part of ∂L/∂s_{t-1} that does not go through W_hh
  dOwn: Float64Array[]; // ACCUMULATED: gradients of the own parameters
}

export interface JvpIO extends StepIO {
  v: Float64Array[]; // tangent of s_{t-1}
  dRecV: Float64Array; // W_hh v_h (computed by the loop), [B][G]
  tOut: Float64Array[]; // written: tangent of s_t
}

export interface Cell {
  readonly name: string; // 'rnn-tanh', 'lstm', 'lstm-peephole', 'gru', 'mingru', …
  readonly params: readonly ParamSpec[];
  readonly projection: readonly ProjectionBlock[]; // P = Σ rows
  readonly recurrent: { weight: string; bias: string | null; rows: number; from: string } | null;
  readonly state: readonly StatePart[];
  /** Name of the state part that is the output (h), or null when out_t is computed from the state (lru, mlstm, s6). */
  readonly outPart: string | null;
  readonly outSize: number;
  readonly cacheSize: number; // per example
  readonly gates: readonly GateSpec[];
  forward(io: StepIO): void;
  backward(io: BackwardIO): void;
  jvp(io: JvpIO): void;
}
