// PyTorch state_dict <-> engine Model.
//
// Reading infers the whole ModelConfig from names and shapes (design §5–6):
//   recurrent tensors   <prefix>{weight_ih,weight_hh,bias_ih,bias_hh}_l<k>[_reverse], any
//                       common prefix ('rnn.', 'lstm.', 'model.encoder.', or none);
//                       peephole diagonals <prefix>weight_c{i,f,o}_l<k> (our own names)
//   cell kind           rows of weight_hh_l0 over its columns H: 4 LSTM, 3 GRU, 1 RNN
//   layers, directions  the largest l<k> + 1; any _reverse tensor means bidirectional
//   head                the one remaining <name>.weight / <name>.bias pair ('head.', 'fc.',
//                       'linear.', ...), a 2-D weight whose input size is D*H
// Then the expected names and shapes come from model.ts's paramShapes(config), and every
// difference is an InputError naming the tensor: unknown names, missing tensors, shapes
// that do not fit together, non-finite values. The nonlinearity (RNN) and the LSTM
// variant are not in the weights; they come from the caller (defaults tanh, vanilla).

import { createModel, paramShapes, HEAD_BIAS, HEAD_WEIGHT } from '../engine/model';
import type { CellKind, LstmVariant, Model, ModelConfig, Nonlinearity, Tensor } from '../engine/types';
import { InputError } from './errors';

export interface StateDictOptions {
  nonlinearity?: Nonlinearity;
  variant?: LstmVariant;
}

type NamedShape = { shape: number[]; data: Float64Array };

const RECURRENT = /^(.*?)(weight_ih|weight_hh|bias_ih|bias_hh|weight_ci|weight_cf|weight_co)_l(\d+)(_reverse)?$/;
const HEAD = /^(.*?)(weight|bias)$/;
type ClassicKind = Extract<CellKind, 'rnn' | 'lstm' | 'gru'>;
const CELL_BY_GATES: Record<number, ClassicKind> = { 1: 'rnn', 3: 'gru', 4: 'lstm' };
const CELL_LABEL: Record<ClassicKind, string> = { rnn: 'RNN', lstm: 'LSTM', gru: 'GRU' };

const shapeText = (s: number[]): string => `[${s.join(', ')}]`;

export function modelFromStateDict(tensors: Map<string, NamedShape>, file: string, options: StateDictOptions = {}): Model {
  const fail = (detail: string): never => {
    throw new InputError(file, null, detail);
  };
  if (tensors.size === 0) fail('holds no tensors');

  // 1. Sort names into recurrent tensors (sharing one prefix) and head candidates.
  let prefix: string | null = null;
  let prefixOwner = '';
  const recurrent = new Map<string, NamedShape>(); // keyed by the un-prefixed engine name
  const headGroups = new Map<string, { weight?: string; bias?: string }>();
  for (const name of tensors.keys()) {
    const m = RECURRENT.exec(name);
    if (m) {
      if (prefix === null) {
        prefix = m[1];
        prefixOwner = name;
      } else if (m[1] !== prefix) {
        fail(`tensors '${prefixOwner}' and '${name}' have different prefixes ('${prefix}' vs '${m[1]}'); expected one recurrent module`);
      }
      recurrent.set(name.slice(m[1].length), tensors.get(name)!);
      continue;
    }
    const h = HEAD.exec(name);
    if (h && (h[1] === '' || h[1].endsWith('.'))) {
      const group = headGroups.get(h[1]) ?? {};
      group[h[2] as 'weight' | 'bias'] = name;
      headGroups.set(h[1], group);
      continue;
    }
    fail(`unknown tensor '${name}': expected PyTorch RNN/LSTM/GRU names (weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, ..._reverse) and one linear head (<name>.weight, <name>.bias)`);
  }
  if (prefix === null) fail("no recurrent weights found (expected names such as 'weight_hh_l0' or 'lstm.weight_hh_l0')");
  const p = prefix as string;

  // 2. Infer the architecture from weight_hh_l0 and the layer/direction names.
  const hh0 = recurrent.get('weight_hh_l0') ?? fail(`missing tensor '${p}weight_hh_l0'`);
  if (hh0.shape.length !== 2) fail(`tensor '${p}weight_hh_l0' has shape ${shapeText(hh0.shape)}, expected a 2-D [G*H, H] matrix`);
  const [rows, H] = hh0.shape;
  if (H < 1 || rows % H !== 0 || !(rows / H in CELL_BY_GATES)) {
    fail(`tensor '${p}weight_hh_l0' has shape ${shapeText(hh0.shape)}: rows must be H (RNN), 3H (GRU) or 4H (LSTM) for H = ${H} columns`);
  }
  const cell = CELL_BY_GATES[rows / H];
  const ih0 = recurrent.get('weight_ih_l0') ?? fail(`missing tensor '${p}weight_ih_l0'`);
  if (ih0.shape.length !== 2 || ih0.shape[0] !== rows || ih0.shape[1] < 1) {
    fail(`tensor '${p}weight_ih_l0' has shape ${shapeText(ih0.shape)}, expected [${rows}, inputSize] to match '${p}weight_hh_l0' ${shapeText(hh0.shape)}`);
  }
  let bidirectional = false;
  let peephole = false;
  // Layer indices are read from names, which a file can make up: they are checked against
  // the tensors actually present before anything is sized by them (a lone
  // 'bias_hh_l10000000' must not build a 10^7-layer model first).
  const layerIndices = new Set<number>();
  let highest = { index: -1, digits: '', name: '' };
  for (const name of recurrent.keys()) {
    const m = RECURRENT.exec(name)!;
    const index = m[3].length > 15 ? Number.MAX_SAFE_INTEGER : Number(m[3]);
    layerIndices.add(index);
    if (index > highest.index) highest = { index, digits: m[3], name };
    if (m[4]) bidirectional = true;
    if (m[2].startsWith('weight_c')) peephole = true;
  }
  const numLayers = layerIndices.size;
  if (highest.index >= numLayers) {
    let gap = 0;
    while (layerIndices.has(gap)) gap++;
    fail(`tensor '${p}${highest.name}' names layer ${highest.digits.length > 24 ? `${highest.digits.slice(0, 24)}...` : highest.digits}, but the file holds no tensor of layer ${gap}: layers must be numbered 0 to N-1 without gaps (${numLayers} distinct layer index${numLayers === 1 ? '' : 'es'} found)`);
  }
  const D = bidirectional ? 2 : 1;

  let variant: LstmVariant = options.variant ?? 'vanilla';
  if (cell !== 'lstm' && options.variant !== undefined && options.variant !== 'vanilla') {
    fail(`the weights are a ${CELL_LABEL[cell]} (${p}weight_hh_l0 has ${rows} = ${rows / H}H rows); the LSTM variant '${options.variant}' does not apply`);
  }
  if (peephole) {
    if (cell !== 'lstm') fail(`peephole tensors (${p}weight_c*) only belong to an LSTM, but the weights are a ${CELL_LABEL[cell]}`);
    if (options.variant !== undefined && options.variant !== 'peephole') {
      fail(`the file holds peephole weights (${p}weight_c*), which the LSTM variant '${options.variant}' does not use`);
    }
    variant = 'peephole';
  }
  if (options.nonlinearity !== undefined && !['tanh', 'relu'].includes(options.nonlinearity)) {
    fail(`unknown nonlinearity '${options.nonlinearity}'`);
  }
  if (cell !== 'rnn' && options.nonlinearity === 'relu') {
    fail(`the weights are a ${CELL_LABEL[cell]} (${p}weight_hh_l0 has ${rows} = ${rows / H}H rows); the relu nonlinearity only applies to an RNN`);
  }

  // 3. The head: the name.weight / name.bias pair whose 2-D weight reads D*H inputs.
  const groups = [...headGroups.entries()];
  if (groups.length === 0) fail(`no linear head found: expected a 2-D '<name>.weight' [outputSize, ${D * H}] and its '<name>.bias' beside the recurrent tensors`);
  const fits = groups.filter(([, g]) => {
    const w = g.weight ? tensors.get(g.weight)! : null;
    return w !== null && w.shape.length === 2 && w.shape[1] === D * H;
  });
  const [headPrefix, head] = fits.length === 1 ? fits[0] : groups.length === 1 ? groups[0] : fail(
    fits.length === 0
      ? `no head weight of input size D*H = ${D * H} among ${groups.map(([gp, g]) => `'${g.weight ?? gp + 'weight'}'`).join(', ')}`
      : `several candidate head weights of input size ${D * H}: ${fits.map(([, g]) => `'${g.weight}'`).join(', ')}`,
  );
  for (const [gp, g] of groups) {
    if (gp !== headPrefix) fail(`unknown tensor '${g.weight ?? g.bias}': only one linear head ('${head.weight ?? headPrefix + 'weight'}') is expected beside the recurrent tensors`);
  }
  const headWeightName = head.weight ?? fail(`missing tensor '${headPrefix}weight' (the head's weight; found only '${head.bias}')`);
  const headWeight = tensors.get(headWeightName)!;
  if (headWeight.shape.length !== 2) fail(`head tensor '${headWeightName}' has shape ${shapeText(headWeight.shape)}, expected 2-D [outputSize, ${D * H}]`);
  const outputSize = headWeight.shape[0];
  if (outputSize < 1) fail(`head tensor '${headWeightName}' has shape ${shapeText(headWeight.shape)}: no outputs`);

  const config: ModelConfig = {
    cell,
    nonlinearity: cell === 'rnn' ? (options.nonlinearity ?? 'tanh') : 'tanh',
    variant: cell === 'lstm' ? variant : 'vanilla',
    inputSize: ih0.shape[1],
    hiddenSize: H,
    numLayers,
    bidirectional,
    outputSize,
  };
  const described = `a ${numLayers}-layer${bidirectional ? ' bidirectional' : ''} ${CELL_LABEL[cell]} with inputSize ${config.inputSize}, hiddenSize ${H}, outputSize ${outputSize}`;

  // 4. Every expected tensor present with its shape; nothing else; every value finite.
  const storedName = (engineName: string): string =>
    engineName === HEAD_WEIGHT ? headWeightName : engineName === HEAD_BIAS ? `${headPrefix}bias` : p + engineName;
  const expected = paramShapes(config);
  const expectedNames = new Set(expected.map(([n]) => storedName(n)));
  for (const name of tensors.keys()) {
    if (!expectedNames.has(name)) fail(`unexpected tensor '${name}' for ${described}`);
  }
  // Every size is now backed by tensors present in the file: check them all, then allocate.
  const checked: [string, Float64Array][] = [];
  for (const [engineName, shape] of expected) {
    const name = storedName(engineName);
    const t = tensors.get(name) ?? fail(`missing tensor '${name}' (expected shape ${shapeText(shape)} for ${described})`);
    if (t.shape.length !== shape.length || t.shape.some((d, k) => d !== shape[k])) {
      fail(`tensor '${name}' has shape ${shapeText(t.shape)}, expected ${shapeText(shape)} for ${described}`);
    }
    for (let k = 0; k < t.data.length; k++) {
      if (!Number.isFinite(t.data[k])) fail(`tensor '${name}' holds a non-finite value (${t.data[k]}) at ${indexText(k, shape)}`);
    }
    checked.push([engineName, t.data]);
  }
  const model = createModel(config);
  for (const [engineName, data] of checked) model.params.get(engineName)!.data.set(data);
  return model;
}

function indexText(flat: number, shape: number[]): string {
  const idx: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    idx.unshift(flat % shape[d]);
    flat = Math.floor(flat / shape[d]);
  }
  return `index [${idx.join(', ')}]`;
}

export interface StateDictNames {
  /** Prefix of the recurrent tensors (default 'rnn.', as for `self.rnn = nn.LSTM(...)`). */
  prefix?: string;
  /** Prefix of the head (default 'head.'). */
  headPrefix?: string;
}

/** The model's parameters under state_dict names, ready for writeSafetensors. Shares no memory with the model. */
export function stateDictFromModel(model: Model, names: StateDictNames = {}): Map<string, Tensor> {
  const prefix = names.prefix ?? 'rnn.';
  const headPrefix = names.headPrefix ?? 'head.';
  const out = new Map<string, Tensor>();
  for (const [name, t] of model.params) {
    const stored = name === HEAD_WEIGHT ? `${headPrefix}weight` : name === HEAD_BIAS ? `${headPrefix}bias` : prefix + name;
    out.set(stored, { shape: [...t.shape], data: Float64Array.from(t.data) });
  }
  return out;
}

