// Model parameters under PyTorch state_dict names, in canonical order, so weights
// trained in PyTorch (nn.RNN / nn.LSTM / nn.GRU + nn.Linear head) load unchanged.

import { isKnownKind, makeCell } from './cells';
import type { Cell } from './cells/cell';
import type { Model, ModelConfig, ParamSet, Tensor } from './types';
import type { Rng } from './rng';

/** Number of directions (2 when bidirectional). */
export function directions(config: ModelConfig): number {
  return config.bidirectional ? 2 : 1;
}

/** Input size of layer k: the data for layer 0, the concatenated [fwd, rev] outputs (D·H) above. */
export function layerInputSize(config: ModelConfig, layer: number): number {
  return layer === 0 ? config.inputSize : directions(config) * config.hiddenSize;
}

/** `_l{k}` or `_l{k}_reverse`: appended to a cell's base parameter names. */
export function layerSuffix(layer: number, reverse: boolean): string {
  return `_l${layer}${reverse ? '_reverse' : ''}`;
}

/** The cell of each layer (both directions of a layer share it: cells hold no per-pass state). */
export function layerCells(config: ModelConfig): Cell[] {
  return Array.from({ length: config.numLayers }, (_, l) => {
    const cell = makeCell(config, layerInputSize(config, l));
    if (cell.outSize !== config.hiddenSize) throw new Error(`cell ${cell.name}: output size ${cell.outSize} differs from hiddenSize ${config.hiddenSize}`);
    return cell;
  });
}

/** Reals of recurrent state per example and layer/direction (every part: LSTM 2H, s6 H·N, mlstm H² + H + 1, …). */
export function stateReals(config: ModelConfig): number {
  return makeCell(config, config.inputSize).state.reduce((n, s) => n + s.size, 0);
}

export const HEAD_WEIGHT = 'head.weight';
export const HEAD_BIAS = 'head.bias';

export function validateConfig(config: ModelConfig): void {
  const positive = (name: string, v: number): void => {
    if (!Number.isInteger(v) || v < 1) throw new Error(`model config: ${name} must be a positive integer, got ${v}`);
  };
  positive('inputSize', config.inputSize);
  positive('hiddenSize', config.hiddenSize);
  positive('numLayers', config.numLayers);
  positive('outputSize', config.outputSize);
  if (!isKnownKind(config.cell)) throw new Error(`model config: unknown cell '${config.cell}'`);
  if (!['tanh', 'relu'].includes(config.nonlinearity)) {
    throw new Error(`model config: nonlinearity must be tanh or relu, got '${config.nonlinearity}'`);
  }
  if (!['vanilla', 'peephole', 'cifg', 'nfg', 'nig', 'nog', 'niaf', 'noaf'].includes(config.variant)) {
    throw new Error(`model config: unknown LSTM variant '${config.variant}'`);
  }
  const o = config.cellOptions;
  if (o) {
    if (o.stateSize !== undefined) positive('cellOptions.stateSize', o.stateSize);
    const rMin = o.rMin ?? 0.9;
    const rMax = o.rMax ?? 0.999;
    if (!(rMin > 0 && rMin <= rMax && rMax <= 1)) throw new Error(`model config: cellOptions needs 0 < rMin <= rMax <= 1, got rMin ${rMin}, rMax ${rMax}`);
    if (o.activation !== undefined && o.activation !== 'relu' && o.activation !== 'tanh') {
      throw new Error(`model config: cellOptions.activation must be relu or tanh, got '${o.activation}'`);
    }
  }
}

/** Parameter names and shapes in canonical state_dict order: each layer's directions, each its cell's params, then the head. */
export function paramShapes(config: ModelConfig): Array<[string, number[]]> {
  validateConfig(config);
  const out: Array<[string, number[]]> = [];
  layerCells(config).forEach((cell, layer) => {
    for (let d = 0; d < directions(config); d++) {
      for (const p of cell.params) out.push([p.name + layerSuffix(layer, d === 1), [...p.shape]]);
    }
  });
  out.push([HEAD_WEIGHT, [config.outputSize, directions(config) * config.hiddenSize]], [HEAD_BIAS, [config.outputSize]]);
  return out;
}

export function defaultModelConfig(partial: Partial<ModelConfig> = {}): ModelConfig {
  return {
    cell: 'lstm',
    nonlinearity: 'tanh',
    variant: 'vanilla',
    inputSize: 1,
    hiddenSize: 16,
    numLayers: 1,
    bidirectional: false,
    outputSize: 1,
    ...partial,
  };
}

function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A model with every parameter zero (initialize it with init.ts or load weights). */
export function createModel(config: ModelConfig): Model {
  const params: ParamSet = new Map();
  for (const [name, shape] of paramShapes(config)) {
    params.set(name, { shape: [...shape], data: new Float64Array(size(shape)) });
  }
  return { config: { ...config }, params };
}

export function zerosLike(params: ParamSet): ParamSet {
  const out: ParamSet = new Map();
  for (const [name, t] of params) out.set(name, { shape: [...t.shape], data: new Float64Array(t.data.length) });
  return out;
}

export function cloneParams(params: ParamSet): ParamSet {
  const out: ParamSet = new Map();
  for (const [name, t] of params) out.set(name, { shape: [...t.shape], data: Float64Array.from(t.data) });
  return out;
}

/** Looks a parameter up, with a clear error when a loaded model lacks it. */
export function param(params: ParamSet, name: string): Tensor {
  const t = params.get(name);
  if (!t) throw new Error(`model has no parameter '${name}'`);
  return t;
}

/**
 * Uniform U(-scale, scale) in canonical order: a small deterministic filler for tests and
 * examples. The real schemes (PyTorch default, Xavier, orthogonal, identity) live in init.ts.
 */
export function fillUniform(model: Model, rng: Rng, scale: number): void {
  for (const t of model.params.values()) {
    for (let i = 0; i < t.data.length; i++) t.data[i] = rng.range(-scale, scale);
  }
}
