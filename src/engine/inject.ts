// The injected-gradient pass (design §9, issue 8): a recurrent module replayed WITHOUT a head
// and a loss. A capture from a real PyTorch training run holds the module's weights, its input,
// its initial state and the gradient the rest of the network sent into its outputs; this pass
// replays the module in float64 and back-propagates that captured gradient through time, so
// every per-timestep quantity of §3 is exact for the user's model.
//
// The objective. The pass computes the exact gradient of the scalar
//
//   L = Σ_{b,t,j} grad_output[b,t,j] · output[b,t,j]
//     + Σ grad_h_n · h_n  +  Σ grad_c_n · c_n           (terms absent when not given)
//
// whose gradient with respect to the module's output and final state is exactly the captured
// upstream gradient, so ∂L/∂(anything inside the module) is what autograd computed in the
// user's run (in float64). `loss` in the result is this L: a bookkeeping number (finite
// differences check against it), not the user's training loss.
//
// Per-step split (for the itemized matrix and the many-to-many lag profile, design §4/§9):
//   ℓ_s = ⟨grad_output_s, output_s⟩
//       + [s = T−1] Σ over forward-direction layers of ⟨grad_h_n, h_n⟩ + ⟨grad_c_n, c_n⟩
//       + [s = 0]   Σ over reverse-direction layers of the same,
// so L = Σ_s ℓ_s, and the injection at step s (what arrives from outside at s, plus the
// final-state gradient at the step where that state is formed) is ℓ_s.
//   itemized[s][k] = ‖∂ℓ_s/∂s_k‖ for k ≤ s, s_k the TOP layer's state (h_k, or (h_k, c_k)
// for the LSTM family as independent coordinates: ∂/∂c_k holds h_k fixed), exactly as for a
// head-driven pass. Lower layers' final-state terms do not depend on the top layer's states,
// so they never show in itemized (they do show in every lower layer's gradNormH). For a
// bidirectional top layer s_k is the pair (forward state, reverse state); a reverse state at
// k < s is formed after the one at s (reverse time) and does not influence ℓ_s, so only k = s
// gets the reverse part, as in probes.ts.
//
// Everything else in the record means what it means for runPass (design §3), with L above:
// gradNormH[t] = ‖∂L/∂h_t‖ per layer/direction (the total: the injection at t, the
// recurrence, and the layer above), gradNormC, gradNormState, gates, weightGradByStep,
// jacobianNorm, inputGradNorm[t] = ‖∂L/∂x_t‖. Beside them: directGradNorm[t] =
// ‖grad_output_t‖ (over the batch and all D·H columns; also in record.directGradNorm).
//
// Layouts (PyTorch's, batch-first): input [B,T,I], output and grad_output [B,T,D·H]
// (forward columns then reverse), h_0 / c_0 / grad_h_n / grad_c_n / h_n / c_n [L·D,B,H] with
// index l·D + d (d = 1 the reverse direction), parameters under nn.RNN/LSTM/GRU state_dict
// names (`weight_ih_l0`, `bias_hh_l1_reverse`, …; no head). replayError and inputGradError
// are the caller's to form from `output` and `gradInput` (this module knows nothing of the
// captured float32 values).

import { backwardLayers, finishBackward, forwardLayers, paramArrays, parameterGradients, prepareBackward, type EngineHooks, type InitialState } from './bptt';
import { jointNorm, norm2, withConstantOperands } from './linalg';
import { directions, layerCells, layerSuffix, validateConfig, zerosLike } from './model';
import { buildRecord, checkItemizedCap, type ItemizedSeed } from './probes';
import type { Batch, Model, ModelConfig, ParamSet, PassRecord, ProbeOptions } from './types';
import { getWorkspace, type Workspace } from './workspace';

/** A recurrent module's shape: a ModelConfig without the head (outputSize is ignored if present). */
export type RecurrentConfig = Omit<ModelConfig, 'outputSize'> & { outputSize?: number };

export interface InjectedPassInput {
  config: RecurrentConfig;
  /** The module's parameters under state_dict names (no head). Extra names are ignored. */
  params: ParamSet;
  batchSize: number;
  steps: number;
  /** [B,T,I], batch-first. */
  input: Float64Array;
  /** [L·D,B,H]; zero when absent. c0: cells with a state part c (LSTM family). */
  h0?: Float64Array | null;
  c0?: Float64Array | null;
  /** Any state part's initial value by part name, [L·D,B,size] (h0/c0 are shorthands for parts h and c). */
  initialState?: Record<string, Float64Array>;
  /** ∂(rest of the network's loss)/∂output, [B,T,D·H]. */
  gradOutput: Float64Array;
  /** ∂/∂h_n and ∂/∂c_n, [L·D,B,H]; zero when absent (final state unused downstream). */
  gradHn?: Float64Array | null;
  gradCn?: Float64Array | null;
  /**
   * Any state part's final-state gradient by part name, [L·D,B,size] (gradHn/gradCn are
   * shorthands). With a held-constant stabiliser (slstm, mlstm: design §8) the final c/n/C are
   * stabilised values c̄·e^{−m_T}: their gradient is taken with m held (the loop never
   * differentiates m), which is the total derivative only for parts that do not depend on m
   * (slstm's h). A module boundary exposes h; give the others only knowingly.
   */
  gradFinalState?: Record<string, Float64Array>;
  /** The §3 probes, as for runPass (itemized off by default; capped at itemizedMaxSteps). */
  probes?: ProbeOptions;
}

export interface InjectedPassResult {
  /** L = ⟨grad_output, output⟩ + ⟨grad_h_n, h_n⟩ + ⟨grad_c_n, c_n⟩ (see the header). */
  loss: number;
  /** Every §3 quantity, with directGradNorm; globalGradNorm = ‖all parameter gradients‖. */
  record: PassRecord;
  /** ‖grad_output_t‖ for t = 0..T−1 (the same array as record.directGradNorm). */
  directGradNorm: number[];
  /** The replayed output, [B,T,D·H]. */
  output: Float64Array;
  /** Final states [L·D,B,H] of the parts h and c (null where the cell has no such part). */
  hN: Float64Array | null;
  cN: Float64Array | null;
  /** Every state part's final value, [L·D,B,size]. */
  finalState: Record<string, Float64Array>;
  /** ∂L/∂(every parameter), under the same names as `params`. */
  grads: ParamSet;
  /** ∂L/∂input, [B,T,I] (inputGradError compares it with the captured grad_input). */
  gradInput: Float64Array;
  /** ∂L/∂h_0 and ∂L/∂c_0, [L·D,B,H] (null where the cell has no such part). */
  gradH0: Float64Array | null;
  gradC0: Float64Array | null;
  /** ∂L/∂(initial value of every part not held constant), [L·D,B,size]. */
  gradInitialState: Record<string, Float64Array>;
}

/** The replay without a backward pass: L, its per-step split ℓ_s, the output and final states. */
export interface InjectedForward {
  loss: number;
  /** ℓ_s, s = 0..T−1 (L = Σ_s ℓ_s). */
  terms: Float64Array;
  output: Float64Array;
  hN: Float64Array | null;
  cN: Float64Array | null;
  finalState: Record<string, Float64Array>;
}

/** Replays the module and back-propagates the injected gradient through time. */
export function runInjectedPass(input: InjectedPassInput): InjectedPassResult {
  return runInjectedPassWithHooks(input, null);
}

/** runInjectedPass with the engine's test hooks (bptt.ts EngineHooks; initialState overrides h0/c0). */
export function runInjectedPassWithHooks(input: InjectedPassInput, hooks: EngineHooks | null): InjectedPassResult {
  const prepared = prepareInjected(input);
  // The weights are constant for the pass (and every itemized re-run): one copy in the kernels.
  return withConstantOperands(paramArrays(prepared.model.params), () => injectedPass(input, prepared, hooks));
}

function injectedPass(input: InjectedPassInput, prepared: Prepared, hooks: EngineHooks | null): InjectedPassResult {
  const { ws, model, batch, initial, finalGrads } = prepared;
  checkItemizedCap({ loss: 'mse', probes: input.probes }, input.steps);
  forwardLayers(ws, model.params, input.input, hooks, initialStates(ws, initial, hooks));
  const { B, T, DH } = ws;
  const L = ws.config.numLayers;
  // The external gradient of the top layer is grad_output (time-major inside the engine); the
  // final-state gradients enter as the state gradient "from the step after the last".
  const top = ws.dOuts[L - 1];
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) top.set(input.gradOutput.subarray((b * T + t) * DH, (b * T + t + 1) * DH), (t * B + b) * DH);
  }
  ws.layers.forEach((ld, k) => {
    ld.parts.forEach((part, p) => {
      if (part.held) return;
      const g = finalGrads[part.name];
      const n = B * part.size;
      if (g) ld.carry[p].set(g.subarray(k * n, (k + 1) * n));
      else ld.carry[p].fill(0);
    });
  });
  const grads = zerosLike(model.params);
  const byStep = input.probes?.weightGradByStep ?? true;
  const rec = prepareBackward(ws, grads, byStep, hooks?.onWeightGradPart !== undefined);
  backwardLayers(ws, { lossFrom: 0, lossTo: T - 1, from: 0, to: T - 1 }, true, rec);
  finishBackward(ws);
  const stepNorms = parameterGradients(ws, grads, byStep, hooks, false);
  const gradInitialState: Record<string, Float64Array> = {};
  ws.layers[0].parts.forEach((part, p) => {
    if (part.held) return;
    const n = B * part.size;
    const all = new Float64Array(ws.layers.length * n);
    ws.layers.forEach((ld, k) => all.set(ld.carry[p], k * n));
    gradInitialState[part.name] = all;
  });
  const fwd = replayed(ws, input, finalGrads);
  const directGradNorm: number[] = [];
  for (let t = 0; t < T; t++) directGradNorm.push(norm2(top, t * B * DH, B * DH));
  const globalNorm = jointNorm([...grads.values()].map((g) => norm2(g.data)));
  const record = buildRecord(ws, model, batch, { loss: 'mse', probes: input.probes }, fwd.loss, globalNorm, grads, stepNorms, {
    seed: injectionSeed(ws, input, finalGrads),
    directGradNorm,
  });
  const I = batch.inputSize;
  const gradInput = new Float64Array(B * T * I);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) gradInput.set(ws.dX.subarray((t * B + b) * I, (t * B + b + 1) * I), (b * T + t) * I);
  }
  return {
    loss: fwd.loss,
    record,
    directGradNorm,
    output: fwd.output,
    hN: fwd.hN,
    cN: fwd.cN,
    finalState: fwd.finalState,
    grads,
    gradInput,
    gradH0: gradInitialState.h ?? null,
    gradC0: gradInitialState.c ?? null,
    gradInitialState,
  };
}

/** Forward replay only, with test hooks: L, ℓ_s, output, final states (what FD checks differentiate). */
export function evaluateInjected(input: InjectedPassInput, hooks: EngineHooks | null = null): InjectedForward {
  const { ws, model, initial, finalGrads } = prepareInjected(input);
  forwardLayers(ws, model.params, input.input, hooks, initialStates(ws, initial, hooks));
  return replayed(ws, input, finalGrads);
}

// ---------------------------------------------------------------- internals

interface Prepared {
  ws: Workspace;
  model: Model;
  batch: Batch;
  /** Initial values and final-state gradients by part name, [L·D,B,size]. */
  initial: Record<string, Float64Array>;
  finalGrads: Record<string, Float64Array>;
}

function prepareInjected(input: InjectedPassInput): Prepared {
  const config: ModelConfig = { ...input.config, outputSize: 1 };
  validateConfig(config);
  const { batchSize: B, steps: T } = input;
  const fail = (detail: string): never => {
    throw new Error(`injected-gradient pass: ${detail}`);
  };
  if (!Number.isInteger(B) || B < 1) fail(`batchSize must be a positive integer, got ${B}`);
  if (!Number.isInteger(T) || T < 1) fail(`steps must be a positive integer, got ${T}`);
  const H = config.hiddenSize;
  const D = directions(config);
  const I = config.inputSize;
  const LD = config.numLayers * D;
  const cells = layerCells(config);
  const partSize = new Map(cells[0].state.map((s) => [s.name, s.size]));
  const expect = (what: string, a: Float64Array | null | undefined, n: number, dims: string): void => {
    if (a === null || a === undefined) return;
    if (a.length !== n) fail(`${what} has ${a.length} values, expected ${dims} = ${n}`);
  };
  if (!input.input || !input.gradOutput) fail('input and gradOutput are required');
  expect('input', input.input, B * T * I, `B·T·I = ${B}·${T}·${I}`);
  expect('gradOutput', input.gradOutput, B * T * D * H, `B·T·D·H = ${B}·${T}·${D}·${H}`);
  // Per-part maps, the h/c shorthands included; each checked against the cell's state.
  const byPart = (what: string, map: Record<string, Float64Array> | undefined, h: Float64Array | null | undefined, c: Float64Array | null | undefined, hName: string, cName: string): Record<string, Float64Array> => {
    const out: Record<string, Float64Array> = { ...(map ?? {}) };
    if (h) out.h = h;
    if (c) out.c = c;
    for (const [name, a] of Object.entries(out)) {
      const size = partSize.get(name);
      const label = name === 'h' && h ? hName : name === 'c' && c ? cName : `${what}.${name}`;
      if (size === undefined) {
        if (name === 'c') fail(`${label} is given, but only the LSTM family has a cell state (cell: ${config.cell})`);
        fail(`${label} is given, but cell ${cells[0].name} has no state part '${name}' (it has ${[...partSize.keys()].join(', ')})`);
      }
      expect(label, a, LD * B * size!, `L·D·B·size = ${config.numLayers}·${D}·${B}·${size}`);
    }
    return out;
  };
  const initial = byPart('initialState', input.initialState, input.h0, input.c0, 'h0', 'c0');
  const finalGrads = byPart('gradFinalState', input.gradFinalState, input.gradHn, input.gradCn, 'gradHn', 'gradCn');
  // The module's parameters, each with the shape the config implies; nothing else is kept.
  const params: ParamSet = new Map();
  cells.forEach((cell, l) => {
    for (let d = 0; d < D; d++) {
      for (const spec of cell.params) {
        const name = spec.name + layerSuffix(l, d === 1);
        const shape = spec.shape;
        const t = input.params.get(name);
        if (!t) fail(`the weights lack '${name}' (shape [${shape.join(', ')}])`);
        const size = shape.reduce((a, b) => a * b, 1);
        if (t!.data.length !== size || t!.shape.length !== shape.length || t!.shape.some((v, k) => v !== shape[k])) {
          fail(`'${name}' has shape [${t!.shape.join(', ')}], expected [${shape.join(', ')}]`);
        }
        params.set(name, t!);
      }
    }
  });
  const model: Model = { config, params };
  const batch: Batch = { batchSize: B, steps: T, inputSize: I, outputSize: 1, mode: 'many-to-many', x: input.input, y: new Float64Array(0) };
  return { ws: getWorkspace(config, B, T, false), model, batch, initial, finalGrads };
}

function initialStates(ws: Workspace, initial: Record<string, Float64Array>, hooks: EngineHooks | null): InitialState[] {
  const given = hooks?.initialState ?? [];
  return ws.layers.map((ld, k) => {
    const direction = ld.reverse ? ('reverse' as const) : ('forward' as const);
    const own = given.find((s) => s.layer === ld.layer && s.direction === direction);
    if (own) return own;
    const parts: Record<string, Float64Array> = {};
    for (const part of ld.parts) {
      const n = ws.B * part.size;
      const a = initial[part.name];
      if (a) parts[part.name] = a.subarray(k * n, (k + 1) * n);
    }
    return { layer: ld.layer, direction, parts };
  });
}

/** Output [B,T,D·H], final states, L and ℓ_s from the workspace after a forward. */
function replayed(ws: Workspace, input: InjectedPassInput, finalGrads: Record<string, Float64Array>): InjectedForward {
  const { B, T, DH } = ws;
  const top = ws.outs[ws.config.numLayers - 1];
  const output = new Float64Array(B * T * DH);
  const terms = new Float64Array(T);
  const g = input.gradOutput;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const src = (t * B + b) * DH;
      const dst = (b * T + t) * DH;
      let dot = 0;
      for (let j = 0; j < DH; j++) {
        const v = top[src + j];
        output[dst + j] = v;
        dot += g[dst + j] * v;
      }
      terms[t] += dot;
    }
  }
  const finalState: Record<string, Float64Array> = {};
  for (const part of ws.layers[0].parts) finalState[part.name] = new Float64Array(ws.layers.length * B * part.size);
  ws.layers.forEach((ld, k) => {
    // Slot t+1 holds the state after step t: the forward direction ends at t = T−1, the
    // reverse one at t = 0.
    const slot = ld.reverse ? 1 : T;
    const s = ld.reverse ? 0 : T - 1;
    for (const part of ld.parts) {
      const n = B * part.size;
      const fin = finalState[part.name];
      fin.set(part.slotViews[slot], k * n);
      if (!part.held) terms[s] += dotAt(finalGrads[part.name], fin, k * n, n);
    }
  });
  let loss = 0;
  for (let t = 0; t < T; t++) loss += terms[t];
  return { loss, terms, output, hN: finalState.h ?? null, cN: finalState.c ?? null, finalState };
}

function dotAt(a: Float64Array | undefined, b: Float64Array, off: number, n: number): number {
  if (!a) return 0;
  let s = 0;
  for (let k = off; k < off + n; k++) s += a[k] * b[k];
  return s;
}

/** ∂ℓ_s/∂(top layer's output and state at s): grad_output_s, plus the top layer's final-state gradients where that state is formed. */
function injectionSeed(ws: Workspace, input: InjectedPassInput, finalGrads: Record<string, Float64Array>): ItemizedSeed {
  const { B, T, DH } = ws;
  const D = ws.config.bidirectional ? 2 : 1;
  const topFwd = (ws.config.numLayers - 1) * D;
  const addFinal = (k: number, seedState: Float64Array[]): void => {
    ws.layers[k].parts.forEach((part, p) => {
      const g = finalGrads[part.name];
      if (!g || part.held) return;
      const n = B * part.size;
      seedState[p].set(g.subarray(k * n, (k + 1) * n));
    });
  };
  return (s, seedOut, seedState) => {
    for (let b = 0; b < B; b++) seedOut.set(input.gradOutput.subarray((b * T + s) * DH, (b * T + s + 1) * DH), b * DH);
    if (s === T - 1) addFinal(topFwd, seedState[0]);
    if (s === 0 && D === 2) addFinal(topFwd + 1, seedState[1]);
    return true;
  };
}
