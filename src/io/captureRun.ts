// One capture → one run record (design §9): the module replayed in float64 by the engine's
// injected-gradient pass, every §3 quantity, directGradNorm, the replay check and the
// diagnosis from the itemized lag profile (ℓ_s = the injection at step s).
//
// Cost. The pass itself is a forward and a backward through every layer. Two probes cost
// more than the pass on big modules, so they are budgeted against it (counted in
// multiply-adds, the unit of every product here):
//   - the itemized matrix is one backward pass through the top layer per injection step s
//     (O(T²)); when every row would cost more than ITEMIZED_BUDGET × the pass (and more than
//     SMALL_WORK), only S rows
//     are computed, evenly spaced from the last injected step back (never fewer than
//     MIN_ITEMIZED_ROWS). The many-to-many lag profile is the mean over the computed rows.
//   - jacobianNorm runs power iterations (a JVP and a VJP per step); the iteration count is
//     lowered to fit JACOBIAN_BUDGET × the pass (or SMALL_WORK), and the probe is skipped (null) below
//     MIN_JACOBIAN_ITERATIONS, which would not converge.
// What was sampled is written into the record's config (itemizedRows, jacobianIterations).
import { runInjectedPass } from '../engine/inject';
import { budgetedJacobianIterations, modulePassWork, SMALL_WORK, topStateStepWork } from '../engine/probeBudget';
import type { ProbeOptions } from '../engine/types';
import { diagnosePass } from '../study/diagnosis';
import type { DiagnosisThresholds, RunRecord } from '../study/types';
import type { Capture } from './capture';
import { toRunRecord } from './runRecord';

export const ITEMIZED_BUDGET = 0.25;
export const MIN_ITEMIZED_ROWS = 4;

export interface CaptureRunRecord extends RunRecord {
  /** ‖grad_output_t‖: what arrives at step t from outside the module (design §9). */
  directGradNorm: number[];
  /** max |output − replayed output| / max |output|. */
  replayError: number;
  /** max |grad_input − exact ∂L/∂input| / max |exact|, when the capture holds grad_input. */
  inputGradError: number | null;
}

export interface CaptureRunOptions {
  /** Itemized rows: a count, 'all', or 'auto' (the budget above; default). */
  itemizedRows?: number | 'all' | 'auto';
  thresholds?: Partial<DiagnosisThresholds>;
}

export interface ProbePlan {
  /** The injection steps s whose itemized rows are computed (ascending). */
  rows: number[];
  /** Steps with a non-zero injection (the rows that can carry information). */
  candidates: number;
  jacobianIterations: number;
}

/** Multiply-adds of one forward + backward pass (forward, ∂state/∂input, weight gradients). */
export function passWork(c: Capture): number {
  return modulePassWork(c.config, c.batchSize, c.steps);
}

/** Which probes fit the budget for this capture. */
export function planProbes(c: Capture, itemizedRows: CaptureRunOptions['itemizedRows'] = 'auto'): ProbePlan {
  const { batchSize: B, steps: T } = c;
  const pass = passWork(c);
  const injected = injectedSteps(c);
  let count: number;
  if (itemizedRows === 'all') count = injected.length;
  else if (typeof itemizedRows === 'number') count = Math.max(1, Math.floor(itemizedRows));
  else {
    // A row s costs (s + 1) step-backwards of the top layer; evenly spaced rows average T/2.
    const stepWork = topStateStepWork(c.config, B);
    const budget = Math.max(ITEMIZED_BUDGET * pass, SMALL_WORK);
    count = (stepWork * T * (T + 1)) / 2 <= budget ? injected.length : Math.max(MIN_ITEMIZED_ROWS, Math.floor(budget / (stepWork * Math.max(1, T / 2))));
  }
  const rows = spread(injected, count);
  return { rows, candidates: injected.length, jacobianIterations: budgetedJacobianIterations(c.config, B, T) };
}

/** Steps whose injection ℓ_s is not identically zero (grad_output_s ≠ 0, or a final state's gradient). */
function injectedSteps(c: Capture): number[] {
  const { batchSize: B, steps: T } = c;
  const width = c.gradOutput.length / (B * T);
  const out: number[] = [];
  for (let s = 0; s < T; s++) {
    let any = (s === T - 1 || (s === 0 && c.config.bidirectional)) && (c.gradHn !== null || c.gradCn !== null);
    for (let b = 0; b < B && !any; b++) {
      const at = (b * T + s) * width;
      for (let j = 0; j < width; j++) {
        if (c.gradOutput[at + j] !== 0) {
          any = true;
          break;
        }
      }
    }
    if (any) out.push(s);
  }
  return out;
}

/** `count` of the ascending `steps`, evenly spaced from the last one back; all when count ≥ length. */
export function spread(steps: number[], count: number): number[] {
  if (count >= steps.length) return steps.slice();
  const picked = new Set<number>();
  for (let j = 0; j < count; j++) picked.add(steps[steps.length - 1 - Math.floor((j * steps.length) / count)]!);
  return [...picked].sort((a, b) => a - b);
}

/** Replays one capture and builds its run record. Pure (no I/O). */
export function analyzeCapture(c: Capture, options: CaptureRunOptions = {}): CaptureRunRecord {
  const plan = planProbes(c, options.itemizedRows);
  const probes: ProbeOptions = {
    itemized: plan.rows.length > 0,
    itemizedRows: plan.rows,
    itemizedMaxSteps: Number.MAX_SAFE_INTEGER, // bounded by the row plan instead
    jacobian: plan.jacobianIterations > 0,
    jacobianIterations: plan.jacobianIterations,
  };
  const result = runInjectedPass({
    config: c.config,
    params: c.params,
    batchSize: c.batchSize,
    steps: c.steps,
    input: c.input,
    h0: c.h0,
    c0: c.c0,
    gradOutput: c.gradOutput,
    gradHn: c.gradHn,
    gradCn: c.gradCn,
    probes,
  });
  const record = result.record;
  const diagnosis = diagnosePass(record, { mode: 'many-to-many', cell: c.config.cell, ...(options.thresholds ? { thresholds: options.thresholds } : {}) });
  if (plan.rows.length < plan.candidates) {
    diagnosis.evidence.push(`Itemized rows sampled: ${plan.rows.length} of the ${plan.candidates} injected steps (s = ${plan.rows.join(', ')}), to keep the O(T²) matrix within ${ITEMIZED_BUDGET} × the cost of the pass.`);
  }
  const { config, info } = c;
  const run = toRunRecord(
    record,
    {
      cell: config.cell,
      nonlinearity: config.nonlinearity,
      variant: config.variant,
      hiddenSize: config.hiddenSize,
      numLayers: config.numLayers,
      bidirectional: config.bidirectional,
      mode: 'many-to-many',
      inputSize: config.inputSize,
      batchSize: c.batchSize,
      step: c.step,
      epoch: info.epoch,
      rank: info.rank,
      worldSize: info.worldSize,
      trainingLoss: info.trainingLoss,
      module: c.module,
      name: info.name,
      capture: c.file,
      dtype: info.dtype,
      framework: info.framework,
      examples: info.examples,
      dropout: info.dropout,
      bias: info.bias,
      itemizedRows: plan.rows.length === plan.candidates ? 'all' : `${plan.rows.length} of ${plan.candidates}`,
      jacobianIterations: plan.jacobianIterations,
    },
    diagnosis,
  );
  return {
    ...run,
    directGradNorm: result.directGradNorm,
    replayError: relativeMaxError(c.output, result.output),
    inputGradError: c.gradInput ? relativeMaxError(c.gradInput, result.gradInput, 'exact') : null,
  };
}

/**
 * max |a − b| / max |reference|, the reference being `a` (the captured values) or `b` (the
 * exact ones). 0 when both are all zero; NaN propagates (a non-finite replay is a finding).
 */
export function relativeMaxError(captured: Float64Array, exact: Float64Array, scaleBy: 'captured' | 'exact' = 'captured'): number {
  let diff = 0;
  let scale = 0;
  const ref = scaleBy === 'captured' ? captured : exact;
  for (let k = 0; k < captured.length; k++) {
    const d = Math.abs(captured[k]! - exact[k]!);
    if (Number.isNaN(d)) return Number.NaN;
    if (d > diff) diff = d;
    const r = Math.abs(ref[k]!);
    if (r > scale) scale = r;
  }
  return scale > 0 ? diff / scale : diff === 0 ? 0 : Number.POSITIVE_INFINITY;
}
