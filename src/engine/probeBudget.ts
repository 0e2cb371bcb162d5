// How much of the costly probes fits a pass, for modules larger than a study trains (captures,
// `bptt-lens gradients`): counted in multiply-adds, from what each layer's cell declares
// (its input-projection blocks, its hidden-to-hidden matrix and its state), so every cell of
// the registry is costed by its own shape.
import { makeCell } from './cells';
import { DEFAULT_JACOBIAN_ITERATIONS } from './probes';
import type { ModelConfig } from './types';

/** The Jacobian probe may cost this fraction of the pass. */
export const JACOBIAN_BUDGET = 0.3;
/** Below this many multiply-adds (a fraction of a second) a probe runs in full whatever the pass costs. */
export const SMALL_WORK = 5e8;
/** Fewer power iterations than this would not converge: the probe is skipped instead. */
const MIN_JACOBIAN_ITERATIONS = 5;

/** A recurrent module's shape (a ModelConfig without the head). */
export type ModuleShape = Omit<ModelConfig, 'outputSize'>;

/** Per example and step, for each layer: the products of one step (both directions), and of one direction's step backward through the state. */
function layerSteps(config: ModuleShape): { step: number; stateStep: number }[] {
  const D = config.bidirectional ? 2 : 1;
  return Array.from({ length: config.numLayers }, (_, l) => {
    const inSize = l === 0 ? config.inputSize : D * config.hiddenSize;
    const cell = makeCell({ ...config, outputSize: 1 }, inSize);
    const state = cell.state.reduce((n, s) => n + s.size, 0);
    const from = cell.recurrent ? (cell.state.find((s) => s.name === cell.recurrent!.from)?.size ?? config.hiddenSize) : 0;
    const recurrent = cell.recurrent ? cell.recurrent.rows * from : 0;
    const projection = cell.projection.reduce((n, b) => n + b.rows, 0) * inSize;
    return { step: D * (projection + recurrent + state), stateStep: recurrent + state };
  });
}

/** Multiply-adds of one forward + backward pass (forward, ∂state/∂input, weight gradients). */
export function modulePassWork(config: ModuleShape, B: number, T: number): number {
  return 3 * B * T * layerSteps(config).reduce((n, l) => n + l.step, 0);
}

/** Multiply-adds of one step backward through the top layer's forward state (what an itemized row costs per step). */
export function topStateStepWork(config: ModuleShape, B: number): number {
  return B * layerSteps(config)[config.numLayers - 1]!.stateStep;
}

/**
 * Power iterations of the Jacobian probe (a JVP and a VJP per step and layer) that fit
 * JACOBIAN_BUDGET × the pass, or SMALL_WORK, at most DEFAULT_JACOBIAN_ITERATIONS; 0 (the probe
 * is skipped) below MIN_JACOBIAN_ITERATIONS.
 */
export function budgetedJacobianIterations(config: ModuleShape, B: number, T: number): number {
  const perIteration = 2 * B * T * (config.bidirectional ? 2 : 1) * layerSteps(config).reduce((n, l) => n + l.stateStep, 0);
  const fit = Math.floor(Math.max(JACOBIAN_BUDGET * modulePassWork(config, B, T), SMALL_WORK) / Math.max(1, perIteration));
  const iterations = Math.min(DEFAULT_JACOBIAN_ITERATIONS, fit);
  return iterations < MIN_JACOBIAN_ITERATIONS ? 0 : iterations;
}
