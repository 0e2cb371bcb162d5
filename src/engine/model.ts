// Model parameters under PyTorch state_dict names, in canonical order, so weights
// trained in PyTorch (nn.RNN / nn.LSTM / nn.GRU + nn.Linear head) load unchanged.

import type { CellKind, Model, ModelConfig, ParamSet, Tensor } from './types';
import type { Rng } from './rng';

/** Gate blocks stacked in W_ih / W_hh: LSTM i,f,g,o (4); GRU r,z,n (3); RNN (1). */
export function gateBlocks(cell: CellKind): number {
  return cell === 'lstm' ? 4 : cell === 'gru' ? 3 : 1;
}

/** Number of directions (2 when bidirectional). */
export function directions(config: ModelConfig): number {
  return config.bidirectional ? 2 : 1;
}

/** Input size of layer k: the data for layer 0, the concatenated [fwd, rev] states above. */
export function layerInputSize(config: ModelConfig, layer: number): number {
  return layer === 0 ? config.inputSize : directions(config) * config.hiddenSize;
}

export function hasPeepholes(config: ModelConfig): boolean {
  return config.cell === 'lstm' && config.variant === 'peephole';
}

/** Names of one layer/direction's parameters. */
export interface LayerParamNames {
  weightIh: string;
  weightHh: string;
  biasIh: string;
  biasHh: string;
  /** Peephole diagonals (LSTM `peephole` only). */
  peepholes: { ci: string; cf: string; co: string } | null;
}

export function layerParamNames(config: ModelConfig, layer: number, reverse: boolean): LayerParamNames {
  const sfx = `_l${layer}${reverse ? '_reverse' : ''}`;
  return {
    weightIh: `weight_ih${sfx}`,
    weightHh: `weight_hh${sfx}`,
    biasIh: `bias_ih${sfx}`,
    biasHh: `bias_hh${sfx}`,
    peepholes: hasPeepholes(config) ? { ci: `weight_ci${sfx}`, cf: `weight_cf${sfx}`, co: `weight_co${sfx}` } : null,
  };
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
  if (!['rnn', 'lstm', 'gru'].includes(config.cell)) throw new Error(`model config: unknown cell '${config.cell}'`);
  if (!['tanh', 'relu'].includes(config.nonlinearity)) {
    throw new Error(`model config: nonlinearity must be tanh or relu, got '${config.nonlinearity}'`);
  }
  if (!['vanilla', 'peephole', 'cifg', 'nfg', 'nig', 'nog', 'niaf', 'noaf'].includes(config.variant)) {
    throw new Error(`model config: unknown LSTM variant '${config.variant}'`);
  }
}

/** Parameter names and shapes in canonical state_dict order. */
export function paramShapes(config: ModelConfig): Array<[string, number[]]> {
  validateConfig(config);
  const H = config.hiddenSize;
  const rows = gateBlocks(config.cell) * H;
  const out: Array<[string, number[]]> = [];
  for (let layer = 0; layer < config.numLayers; layer++) {
    const inSize = layerInputSize(config, layer);
    for (let d = 0; d < directions(config); d++) {
      const n = layerParamNames(config, layer, d === 1);
      out.push([n.weightIh, [rows, inSize]], [n.weightHh, [rows, H]], [n.biasIh, [rows]], [n.biasHh, [rows]]);
      if (n.peepholes) out.push([n.peepholes.ci, [H]], [n.peepholes.cf, [H]], [n.peepholes.co, [H]]);
    }
  }
  out.push([HEAD_WEIGHT, [config.outputSize, directions(config) * H]], [HEAD_BIAS, [config.outputSize]]);
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
