// `bptt-lens gradients`: one forward/backward pass with given weights on given data, no
// update; writes the run record (design §5–6). Everything is read and checked before the
// pass runs, and the record is written atomically, so bad input changes nothing.

import { basename } from 'node:path';
import { runPass } from '../engine/bptt';
import { cellName } from '../engine/cells';
import { gradNorm } from '../engine/clip';
import { enableWasmKernels } from '../engine/kernels/wasmGemm';
import { AUTO_ITEMIZED_MAX_STEPS, ITEMIZED_MAX_STEPS, type LossKind, type LstmVariant, type Mode, type Nonlinearity } from '../engine/types';
import { parseBatchJsonBytes } from '../io/batchJson';
import { InputError } from '../io/errors';
import { readGuardedSync } from '../io/guardedRead';
import { serializeRunRecord, toRunRecord } from '../io/runRecord';
import { readSafetensors } from '../io/safetensors';
import { modelFromStateDict } from '../io/stateDict';
import { budgetedJacobianIterations } from '../engine/probeBudget';
import { diagnosePass } from '../study/diagnosis';
import type { RunRecord } from '../study/types';
import { writeFileAtomic } from './output';

export interface GradientsOptions {
  weights: string;
  input: string;
  /** A cell name of the registry (cells/index.ts); needed where the weights' shapes cannot tell (slstm). */
  cell?: string;
  nonlinearity?: Nonlinearity;
  variant?: LstmVariant;
  loss?: LossKind;
  mode?: Mode;
  /** RNNbow's itemized matrix: true (refused above ITEMIZED_MAX_STEPS), or 'auto': many-to-many with T ≤ AUTO_ITEMIZED_MAX_STEPS, where the lag profile reads it (the editor's choice). */
  itemized?: boolean | 'auto';
  /**
   * Power iterations of jacobianNorm per step: a count (0: not recorded) or 'auto' (default):
   * as many as fit 0.3 × the pass (all 20 on small models; none on an H = 512 LSTM, where 20
   * would take minutes), as for captures (io/captureRun.ts).
   */
  jacobianIterations?: number | 'auto';
  out?: string;
}

export { AUTO_ITEMIZED_MAX_STEPS };

/**
 * Builds the run record; pure apart from reading the two input files. `onStage` hears what it
 * is doing (the editor shows it while it waits); it does not change the numbers.
 */
export function gradientsRecord(options: GradientsOptions, onStage: (label: string) => void = () => undefined): RunRecord {
  const loss: LossKind = options.loss ?? 'mse';
  onStage(`Reading ${basename(options.weights)}…`);
  const weightBytes = readGuardedSync(options.weights, 'weights');
  onStage(`Reading ${basename(options.input)}…`);
  const inputBytes = readGuardedSync(options.input, 'input');
  const { tensors, metadata } = readSafetensors(weightBytes, options.weights);
  const model = modelFromStateDict(tensors, options.weights, {
    ...(options.cell ? { cell: options.cell } : {}),
    ...(options.nonlinearity ? { nonlinearity: options.nonlinearity } : {}),
    ...(options.variant ? { variant: options.variant } : {}),
  });
  const batch = parseBatchJsonBytes(inputBytes, options.input, { model: model.config, modelFile: options.weights, loss, ...(options.mode ? { mode: options.mode } : {}) });
  const itemized = options.itemized === 'auto' ? batch.mode === 'many-to-many' && batch.steps <= AUTO_ITEMIZED_MAX_STEPS : (options.itemized ?? false);
  if (options.itemized === true && batch.steps > ITEMIZED_MAX_STEPS) {
    throw new InputError(options.input, null, `--itemized is O(T^2) and capped at ${ITEMIZED_MAX_STEPS} steps; the sequences have ${batch.steps}`);
  }

  const { config: m } = model;
  const asked = options.jacobianIterations ?? 'auto';
  const jacobianIterations = asked === 'auto' ? budgetedJacobianIterations(m, batch.batchSize, batch.steps) : asked;
  if (!Number.isInteger(jacobianIterations) || jacobianIterations < 0 || jacobianIterations > 1000) {
    throw new InputError('--jacobian-iterations', null, `expected 'auto' or a whole number from 0 to 1000, got ${String(asked)}`);
  }
  const jacobianText = jacobianIterations > 0 ? `, Jacobian norms (≤ ${jacobianIterations} power iterations per step)` : '';
  onStage(`Forward and backward pass: ${m.numLayers}-layer${m.bidirectional ? ' bidirectional' : ''} ${cellName(m)}, H = ${m.hiddenSize}, ${batch.batchSize} × ${batch.steps} steps${itemized ? `, itemized (${batch.steps} backward passes)` : ''}${jacobianText}…`);
  const pass = runPass(model, batch, { loss, probes: { itemized, jacobian: jacobianIterations > 0, jacobianIterations } });
  onStage('Diagnosis…');
  // No clipping here: the reported pre- and post-clip norms are both the raw gradient norm.
  const norm = gradNorm(pass.grads);
  const record = { ...pass.record, globalGradNorm: norm, clippedGradNorm: norm };
  const { config } = model;
  const diagnosis = diagnosePass(record, { mode: batch.mode, cell: config.cell });
  return toRunRecord(
    record,
    {
      cell: config.cell,
      cellChoice: cellName(config),
      nonlinearity: config.nonlinearity,
      variant: config.variant,
      ...(config.cellOptions ? { cellOptions: config.cellOptions } : {}),
      hiddenSize: config.hiddenSize,
      numLayers: config.numLayers,
      bidirectional: config.bidirectional,
      loss,
      mode: batch.mode,
      inputSize: config.inputSize,
      outputSize: config.outputSize,
      batchSize: batch.batchSize,
      jacobianIterations,
      weights: options.weights,
      input: options.input,
      ...(metadata ? { weightsMetadata: metadata } : {}),
    },
    diagnosis,
  );
}

/** The command: the record goes to --out (atomically) or to stdout. */
export async function gradientsCommand(options: GradientsOptions, io: { out(text: string): void } = { out: (t) => process.stdout.write(t) }): Promise<void> {
  // The WebAssembly kernels, as the study worker and the other commands use (same bits).
  enableWasmKernels();
  const record = gradientsRecord(options);
  const text = serializeRunRecord(record);
  if (!options.out) {
    io.out(text);
    return;
  }
  await writeFileAtomic(options.out, text);
  const verdict = record.diagnosis ? `, verdict ${record.diagnosis.verdict}` : '';
  io.out(`wrote ${options.out}: loss ${record.loss}, gradient norm ${record.globalGradNorm}${verdict}\n`);
}
