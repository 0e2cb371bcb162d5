// A PyTorch state dict probed on a sequence file: what the "Probe State Dict" editor runs in
// the worker pool. Reading and checking are the CLI's own (readGuardedSync with the weights'
// cap, readSafetensors, modelFromStateDict); the pass is `gradientsRecord`, the very function
// behind `bptt-lens gradients`, so the editor's numbers are the CLI's, bit for bit. Pure apart
// from reading the files; no vscode, so it is unit-tested.
import { gradientsRecord, type GradientsOptions } from '../cli/gradients';
import { CELL_NAMES, cellName, canonicalCellName, type CellName } from '../engine/cells';
import type { LossKind } from '../engine/types';
import type { RunRecord } from '../study/types';
import { InputError, isInputError } from './errors';
import { readGuardedSync } from './guardedRead';
import { readSafetensors } from './safetensors';
import { modelFromStateDict, stateDictConfig } from './stateDict';

/** What the editor shows about a state dict before anything runs. */
export interface StateDictSummary {
  file: string;
  /** The cell the weights are read as: the one asked for, else the one their names and shapes give. */
  cell: CellName;
  /** Every cell these tensors fit (same names and shapes): the picker's choices, the read one among them. */
  cells: CellName[];
  numLayers: number;
  bidirectional: boolean;
  hiddenSize: number;
  inputSize: number;
  outputSize: number;
  /** Scalars in the recurrent module and the head. */
  parameterCount: number;
  tensorCount: number;
  bytes: number;
  /** The safetensors `__metadata__` (string → string), when the file has one. */
  metadata: Record<string, string> | null;
}

/**
 * Reads and checks the weights as `gradients` does; `cell` plays `--cell NAME`. Throws the
 * file's InputError (one line naming it) for anything that is not a state dict BPTT Lens can run.
 */
export function inspectStateDict(file: string, cell?: string): StateDictSummary {
  const bytes = readGuardedSync(file, 'weights');
  const { tensors, metadata } = readSafetensors(bytes, file);
  let requested: CellName | undefined;
  if (cell !== undefined) {
    requested = canonicalCellName(cell) ?? undefined;
    if (!requested) throw new InputError(file, null, `--cell: unknown cell '${cell}': expected one of ${CELL_NAMES.join(', ')}`);
  }
  // The model as read: the requested cell, else inference (whose message is the one to show).
  const model = modelFromStateDict(tensors, file, requested ? { cell: requested } : {});
  const cells: CellName[] = [];
  for (const name of CELL_NAMES) {
    try {
      stateDictConfig(tensors, file, { cell: name });
      cells.push(name);
    } catch (e) {
      if (!isInputError(e)) throw e;
    }
  }
  const read = cellName(model.config);
  if (!cells.includes(read)) cells.unshift(read);
  let parameterCount = 0;
  for (const t of model.params.values()) parameterCount += t.data.length;
  const { config } = model;
  return {
    file,
    cell: read,
    cells,
    numLayers: config.numLayers,
    bidirectional: config.bidirectional,
    hiddenSize: config.hiddenSize,
    inputSize: config.inputSize,
    outputSize: config.outputSize,
    parameterCount,
    tensorCount: tensors.size,
    bytes: bytes.length,
    metadata: metadata ?? null,
  };
}

export interface ProbeOptions {
  weights: string;
  input: string;
  cell?: string;
  loss?: LossKind;
}

/**
 * The `gradients` run record of the weights on the input, with the itemized matrix where the
 * lag profile reads it (many-to-many, T ≤ AUTO_ITEMIZED_MAX_STEPS). Same InputErrors as the CLI.
 */
export function probeStateDict(options: ProbeOptions, onStage?: (label: string) => void): RunRecord {
  const gradients: GradientsOptions = { weights: options.weights, input: options.input, itemized: 'auto', loss: options.loss ?? 'mse' };
  if (options.cell !== undefined) gradients.cell = options.cell;
  return gradientsRecord(gradients, onStage);
}
