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
// The cells of design §8 (`--cell NAME`, or inferred where names/shapes tell: lru's nu_log,
// rglru's a_param, mlstm's weight_q, s6's A_log, indrnn's 1-D weight_hh, mingru/minlstm's
// 2H/3H-row weight_ih without weight_hh): their §8 names with any common prefix, H and the
// input size from their tensors (s6's N from weight_B), the same head rule. An sLSTM's
// tensors are an LSTM's, so it needs --cell slstm.
// Then the expected names and shapes come from model.ts's paramShapes(config), and every
// difference is an InputError naming the tensor: unknown names, missing tensors, shapes
// that do not fit together, non-finite values. The nonlinearity (RNN) and the LSTM
// variant are not in the weights; they come from the caller (defaults tanh, vanilla).

import { cellName, makeCell, parseCellName, type CellSettings } from '../engine/cells';
import { createModel, paramShapes, HEAD_BIAS, HEAD_WEIGHT } from '../engine/model';
import type { CellKind, CellOptions, LstmVariant, Model, ModelConfig, Nonlinearity, Tensor } from '../engine/types';
import { InputError } from './errors';

export interface StateDictOptions {
  nonlinearity?: Nonlinearity;
  variant?: LstmVariant;
  /**
   * A cell name of the registry (`gradients --cell NAME`: rnn-tanh, lstm-cifg, mingru, slstm,
   * s6, ...). Needed where shapes cannot tell cells apart (an slstm's tensors are an LSTM's;
   * a mingru/minlstm without a head that fixes H); otherwise inferred.
   */
  cell?: string;
}

type NamedShape = { shape: number[]; data: Float64Array };
type Fail = (detail: string) => never;

const RECURRENT = /^(.*?)(weight_ih|weight_hh|bias_ih|bias_hh|weight_ci|weight_cf|weight_co)_l(\d+)(_reverse)?$/;
const HEAD = /^(.*?)(weight|bias)$/;
type ClassicKind = Extract<CellKind, 'rnn' | 'lstm' | 'gru'>;
const CELL_BY_GATES: Record<number, ClassicKind> = { 1: 'rnn', 3: 'gru', 4: 'lstm' };
const CELL_LABEL: Record<ClassicKind, string> = { rnn: 'RNN', lstm: 'LSTM', gru: 'GRU' };

const shapeText = (s: number[]): string => `[${s.join(', ')}]`;

export function modelFromStateDict(tensors: Map<string, NamedShape>, file: string, options: StateDictOptions = {}): Model {
  return readStateDict(tensors, file, { ...options, shapesOnly: false });
}

/**
 * The ModelConfig these tensors are, with every check of modelFromStateDict on names and
 * shapes but neither the value check nor the model's allocation: cheap enough to ask of
 * every cell which ones the tensors fit (the Probe State Dict editor's cell picker).
 */
export function stateDictConfig(tensors: Map<string, NamedShape>, file: string, options: StateDictOptions = {}): ModelConfig {
  return readStateDict(tensors, file, { ...options, shapesOnly: true }).config;
}

/** shapesOnly: the returned Model carries the config and no parameters (never leaves this file). */
type ReadOptions = StateDictOptions & { shapesOnly: boolean };

function readStateDict(tensors: Map<string, NamedShape>, file: string, options: ReadOptions): Model {
  const fail = (detail: string): never => {
    throw new InputError(file, null, detail);
  };
  if (tensors.size === 0) fail('holds no tensors');
  let requested: CellSettings | null = null;
  if (options.cell !== undefined) {
    try {
      requested = parseCellName(options.cell);
    } catch (e) {
      fail(`--cell: ${(e as Error).message}`);
    }
  }
  const kind = requested?.cell ?? modernKindFromNames(tensors);
  if (kind !== null && kind !== 'rnn' && kind !== 'lstm' && kind !== 'gru') return modernModel(tensors, kind, options, fail);
  if (requested) {
    if (options.variant !== undefined && options.variant !== requested.variant && requested.cell === 'lstm') {
      fail(`--cell ${options.cell} and --variant ${options.variant} disagree`);
    }
    if (options.nonlinearity !== undefined && options.nonlinearity !== requested.nonlinearity && requested.cell === 'rnn') {
      fail(`--cell ${options.cell} and --nonlinearity ${options.nonlinearity} disagree`);
    }
    options = { ...options, ...(requested.cell === 'lstm' ? { variant: requested.variant } : {}), ...(requested.cell === 'rnn' ? { nonlinearity: requested.nonlinearity } : {}) };
  }

  // 1. Sort names into recurrent tensors (sharing one prefix) and head candidates.
  const { prefix: p, recurrent, headGroups } = sortTensors(
    tensors,
    RECURRENT,
    fail,
    'expected PyTorch RNN/LSTM/GRU names (weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, ..._reverse) and one linear head (<name>.weight, <name>.bias)',
    "no recurrent weights found (expected names such as 'weight_hh_l0' or 'lstm.weight_hh_l0')",
  );

  // 2. Infer the architecture from weight_hh_l0 and the layer/direction names.
  const hh0 = recurrent.get('weight_hh_l0') ?? fail(`missing tensor '${p}weight_hh_l0'`);
  if (hh0.shape.length !== 2) fail(`tensor '${p}weight_hh_l0' has shape ${shapeText(hh0.shape)}, expected a 2-D [G*H, H] matrix`);
  const [rows, H] = hh0.shape;
  if (H < 1 || rows % H !== 0 || !(rows / H in CELL_BY_GATES)) {
    fail(`tensor '${p}weight_hh_l0' has shape ${shapeText(hh0.shape)}: rows must be H (RNN), 3H (GRU) or 4H (LSTM) for H = ${H} columns`);
  }
  const cell = CELL_BY_GATES[rows / H];
  if (requested && requested.cell !== cell) {
    fail(`--cell ${options.cell}: the weights are a ${CELL_LABEL[cell]} (${p}weight_hh_l0 has ${rows} = ${rows / H}H rows)`);
  }
  const ih0 = recurrent.get('weight_ih_l0') ?? fail(`missing tensor '${p}weight_ih_l0'`);
  if (ih0.shape.length !== 2 || ih0.shape[0] !== rows || ih0.shape[1] < 1) {
    fail(`tensor '${p}weight_ih_l0' has shape ${shapeText(ih0.shape)}, expected [${rows}, inputSize] to match '${p}weight_hh_l0' ${shapeText(hh0.shape)}`);
  }
  const { numLayers, bidirectional } = layerLayout(recurrent, RECURRENT, p, fail);
  let peephole = false;
  for (const name of recurrent.keys()) if (RECURRENT.exec(name)![2].startsWith('weight_c')) peephole = true;
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
  const head = findHead(tensors, headGroups, D * H, fail);
  const config: ModelConfig = {
    cell,
    nonlinearity: cell === 'rnn' ? (options.nonlinearity ?? 'tanh') : 'tanh',
    variant: cell === 'lstm' ? variant : 'vanilla',
    inputSize: ih0.shape[1],
    hiddenSize: H,
    numLayers,
    bidirectional,
    outputSize: head.outputSize,
  };
  return checkedModel(tensors, config, p, head, CELL_LABEL[cell], fail, options.shapesOnly);
}

// ---------------------------------------------------------------- the cells of design §8

/** Base names that only one cell has (beside the classic names). */
const UNIQUE_NAMES: Array<[string, CellKind]> = [
  ['nu_log', 'lru'],
  ['theta_log', 'lru'],
  ['a_param', 'rglru'],
  ['weight_q', 'mlstm'],
  ['weight_if', 'mlstm'],
  ['A_log', 's6'],
  ['weight_u', 's6'],
  ['weight_dt', 's6'],
];

/**
 * The modern cell the tensor names or shapes reveal, or null (the classic inference decides):
 * a name only one cell has; a 1-D weight_hh (indrnn's u); weight_ih without weight_hh
 * (mingru with 2H rows, minlstm with 3H, H read from the head). An sLSTM's tensors are an
 * LSTM's: it needs --cell slstm.
 */
function modernKindFromNames(tensors: Map<string, NamedShape>): CellKind | null {
  const names = [...tensors.keys()];
  for (const [base, kind] of UNIQUE_NAMES) if (names.some((n) => new RegExp(`(^|[._])${base}_l\\d+(_reverse)?$`).test(n))) return kind;
  const hh = names.find((n) => /(^|[._])weight_hh_l0$/.test(n));
  if (hh) return tensors.get(hh)!.shape.length === 1 ? 'indrnn' : null;
  const ih = names.find((n) => /(^|[._])weight_ih_l0$/.test(n));
  if (!ih) return null;
  const rows = tensors.get(ih)!.shape[0];
  const bidirectional = names.some((n) => /_reverse$/.test(n));
  // H from the head's input size (D·H): the one 2-D '<name>.weight' that is not recurrent.
  const heads = names.filter((n) => /(^|\.)weight$/.test(n) && tensors.get(n)!.shape.length === 2);
  if (heads.length !== 1) return null;
  const H = tensors.get(heads[0])!.shape[1] / (bidirectional ? 2 : 1);
  return rows === 2 * H ? 'mingru' : rows === 3 * H ? 'minlstm' : null;
}

/** Where each modern cell's H and input size are read (tensor base name, dimension, rows per H). */
const SIZES_FROM: Record<string, { h: [string, number, number]; i: string }> = {
  indrnn: { h: ['weight_hh', 0, 1], i: 'weight_ih' },
  mingru: { h: ['weight_ih', 0, 2], i: 'weight_ih' },
  minlstm: { h: ['weight_ih', 0, 3], i: 'weight_ih' },
  lru: { h: ['nu_log', 0, 1], i: 'B_re' },
  rglru: { h: ['a_param', 0, 1], i: 'weight_ih' },
  slstm: { h: ['weight_hh', 1, 1], i: 'weight_ih' },
  mlstm: { h: ['weight_q', 0, 1], i: 'weight_q' },
  s6: { h: ['weight_u', 0, 1], i: 'weight_u' },
};

function modernModel(tensors: Map<string, NamedShape>, kind: CellKind, options: ReadOptions, fail: Fail): Model {
  const name = cellName({ cell: kind, nonlinearity: 'tanh', variant: 'vanilla' });
  if (options.variant !== undefined && options.variant !== 'vanilla') fail(`the LSTM variant '${options.variant}' does not apply to a ${name}`);
  if (options.nonlinearity === 'relu' && kind !== 'indrnn') fail(`the relu nonlinearity does not apply to a ${name}`);
  // The cell's own base names (sizes do not change names).
  const probe = makeCell({ cell: kind, nonlinearity: 'tanh', variant: 'vanilla', inputSize: 1, hiddenSize: 1, numLayers: 1, bidirectional: false, outputSize: 1 }, 1);
  const bases = probe.params.map((q) => q.name).sort((a, b) => b.length - a.length);
  const pattern = new RegExp(`^(.*?)(${bases.join('|')})_l(\\d+)(_reverse)?$`);
  const { prefix: p, recurrent, headGroups } = sortTensors(
    tensors,
    pattern,
    fail,
    `expected the ${name} names of design §8 (${probe.params.map((q) => `${q.name}_l0`).join(', ')}, ..._reverse) and one linear head (<name>.weight, <name>.bias)`,
    `no ${name} weights found (expected names such as '${probe.params[0].name}_l0')`,
  );
  const from = SIZES_FROM[kind];
  const hT = recurrent.get(`${from.h[0]}_l0`) ?? fail(`missing tensor '${p}${from.h[0]}_l0' (a ${name} needs it)`);
  const iT = recurrent.get(`${from.i}_l0`) ?? fail(`missing tensor '${p}${from.i}_l0' (a ${name} needs it)`);
  const rowsPerH = from.h[2];
  const dimH = hT.shape[from.h[1]];
  if (dimH === undefined || dimH < 1 || dimH % rowsPerH !== 0) fail(`tensor '${p}${from.h[0]}_l0' has shape ${shapeText(hT.shape)}: cannot read the hidden size of a ${name} from it`);
  const H = dimH / rowsPerH;
  if (iT.shape.length !== 2 || iT.shape[1] < 1) fail(`tensor '${p}${from.i}_l0' has shape ${shapeText(iT.shape)}, expected 2-D [rows, inputSize]`);
  const { numLayers, bidirectional } = layerLayout(recurrent, pattern, p, fail);
  const cellOptions: CellOptions = {};
  if (kind === 's6') {
    const wB = recurrent.get('weight_B_l0') ?? fail(`missing tensor '${p}weight_B_l0' (an s6 needs it)`);
    if (wB.shape.length !== 2 || wB.shape[0] < 1) fail(`tensor '${p}weight_B_l0' has shape ${shapeText(wB.shape)}, expected [N, inputSize]`);
    cellOptions.stateSize = wB.shape[0];
  }
  if (kind === 'indrnn') cellOptions.activation = options.nonlinearity ?? 'relu';
  const head = findHead(tensors, headGroups, (bidirectional ? 2 : 1) * H, fail);
  const config: ModelConfig = {
    cell: kind,
    nonlinearity: 'tanh',
    variant: 'vanilla',
    inputSize: iT.shape[1],
    hiddenSize: H,
    numLayers,
    bidirectional,
    outputSize: head.outputSize,
    ...(Object.keys(cellOptions).length > 0 ? { cellOptions } : {}),
  };
  return checkedModel(tensors, config, p, head, name, fail, options.shapesOnly);
}

// ---------------------------------------------------------------- shared steps

function sortTensors(
  tensors: Map<string, NamedShape>,
  pattern: RegExp,
  fail: Fail,
  expected: string,
  none: string,
): { prefix: string; recurrent: Map<string, NamedShape>; headGroups: Map<string, { weight?: string; bias?: string }> } {
  let prefix: string | null = null;
  let prefixOwner = '';
  const recurrent = new Map<string, NamedShape>(); // keyed by the un-prefixed engine name
  const headGroups = new Map<string, { weight?: string; bias?: string }>();
  for (const name of tensors.keys()) {
    const m = pattern.exec(name);
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
    fail(`unknown tensor '${name}': ${expected}`);
  }
  if (prefix === null) fail(none);
  return { prefix: prefix as string, recurrent, headGroups };
}

/**
 * Layers and directions from the names. Layer indices are read from names, which a file can
 * make up: they are checked against the tensors actually present before anything is sized by
 * them (a lone 'bias_hh_l10000000' must not build a 10^7-layer model first).
 */
function layerLayout(recurrent: Map<string, NamedShape>, pattern: RegExp, p: string, fail: Fail): { numLayers: number; bidirectional: boolean } {
  let bidirectional = false;
  const layerIndices = new Set<number>();
  let highest = { index: -1, digits: '', name: '' };
  for (const name of recurrent.keys()) {
    const m = pattern.exec(name)!;
    const index = m[3].length > 15 ? Number.MAX_SAFE_INTEGER : Number(m[3]);
    layerIndices.add(index);
    if (index > highest.index) highest = { index, digits: m[3], name };
    if (m[4]) bidirectional = true;
  }
  const numLayers = layerIndices.size;
  if (highest.index >= numLayers) {
    let gap = 0;
    while (layerIndices.has(gap)) gap++;
    fail(`tensor '${p}${highest.name}' names layer ${highest.digits.length > 24 ? `${highest.digits.slice(0, 24)}...` : highest.digits}, but the file holds no tensor of layer ${gap}: layers must be numbered 0 to N-1 without gaps (${numLayers} distinct layer index${numLayers === 1 ? '' : 'es'} found)`);
  }
  return { numLayers, bidirectional };
}

interface FoundHead {
  prefix: string;
  weightName: string;
  outputSize: number;
}

/** The head: the name.weight / name.bias pair whose 2-D weight reads `inputs` = D*H values. */
function findHead(tensors: Map<string, NamedShape>, headGroups: Map<string, { weight?: string; bias?: string }>, inputs: number, fail: Fail): FoundHead {
  const groups = [...headGroups.entries()];
  if (groups.length === 0) fail(`no linear head found: expected a 2-D '<name>.weight' [outputSize, ${inputs}] and its '<name>.bias' beside the recurrent tensors`);
  const fits = groups.filter(([, g]) => {
    const w = g.weight ? tensors.get(g.weight)! : null;
    return w !== null && w.shape.length === 2 && w.shape[1] === inputs;
  });
  const [headPrefix, head] = fits.length === 1 ? fits[0] : groups.length === 1 ? groups[0] : fail(
    fits.length === 0
      ? `no head weight of input size D*H = ${inputs} among ${groups.map(([gp, g]) => `'${g.weight ?? gp + 'weight'}'`).join(', ')}`
      : `several candidate head weights of input size ${inputs}: ${fits.map(([, g]) => `'${g.weight}'`).join(', ')}`,
  );
  for (const [gp, g] of groups) {
    if (gp !== headPrefix) fail(`unknown tensor '${g.weight ?? g.bias}': only one linear head ('${head.weight ?? headPrefix + 'weight'}') is expected beside the recurrent tensors`);
  }
  const headWeightName = head.weight ?? fail(`missing tensor '${headPrefix}weight' (the head's weight; found only '${head.bias}')`);
  const headWeight = tensors.get(headWeightName)!;
  if (headWeight.shape.length !== 2) fail(`head tensor '${headWeightName}' has shape ${shapeText(headWeight.shape)}, expected 2-D [outputSize, ${inputs}]`);
  const outputSize = headWeight.shape[0];
  if (outputSize < 1) fail(`head tensor '${headWeightName}' has shape ${shapeText(headWeight.shape)}: no outputs`);
  return { prefix: headPrefix, weightName: headWeightName, outputSize };
}

/** 4. Every expected tensor present with its shape; nothing else; every value finite; then the model (unless shapesOnly). */
function checkedModel(tensors: Map<string, NamedShape>, config: ModelConfig, p: string, head: FoundHead, label: string, fail: Fail, shapesOnly: boolean): Model {
  const { numLayers, bidirectional, hiddenSize: H, outputSize } = config;
  const described = `a ${numLayers}-layer${bidirectional ? ' bidirectional' : ''} ${label} with inputSize ${config.inputSize}, hiddenSize ${H}, outputSize ${outputSize}`;
  const storedName = (engineName: string): string =>
    engineName === HEAD_WEIGHT ? head.weightName : engineName === HEAD_BIAS ? `${head.prefix}bias` : p + engineName;
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
    if (shapesOnly) continue;
    for (let k = 0; k < t.data.length; k++) {
      if (!Number.isFinite(t.data[k])) fail(`tensor '${name}' holds a non-finite value (${t.data[k]}) at ${indexText(k, shape)}`);
    }
    checked.push([engineName, t.data]);
  }
  if (shapesOnly) return { config, params: new Map() } as unknown as Model;
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

