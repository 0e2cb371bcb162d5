// Capture files (design §9): one step of a real PyTorch training run, written by the
// recorder in python/bptt_lens as `step-<8 digits>.capture.safetensors`. They come from
// outside, so they are read as untrusted input:
//   - through the guarded reader (regular files only, 1 GB cap, bounded time);
//   - the whole header — metadata, every tensor's name, dtype and shape — is checked against
//     the module it declares before a single tensor is decoded (no allocation for a file
//     whose shapes do not fit);
//   - every error is one InputError line naming the file and what was expected.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { RecurrentConfig } from '../engine/inject';
import type { ParamSet } from '../engine/types';
import { InputError } from './errors';
import { readGuarded, readGuardedSync } from './guardedRead';
import { readSafetensors, type HeaderEntry } from './safetensors';
import { schemaProblem } from './schemas';

export const CAPTURE_SCHEMA = 'bptt-lens/capture@1';
/** `step-00000100.capture.safetensors`: what the recorder writes (any digit count is accepted). */
export const CAPTURE_FILE = /^step-(\d{1,15})\.capture\.safetensors$/;
export const CAPTURE_SUFFIX = '.capture.safetensors';

export type CaptureModule = 'RNN' | 'LSTM' | 'GRU';

/** Bounds that keep one capture's replay within reason (the file cap bounds memory first). */
const LIMITS = { layers: 64, hidden: 65_536, input: 1_048_576, steps: 1_000_000, batch: 65_536 };

export interface Capture {
  file: string;
  step: number;
  module: CaptureModule;
  /** The module's shape, as the engine's injected-gradient pass takes it. */
  config: RecurrentConfig;
  batchSize: number;
  steps: number;
  /** Parameters under state_dict names; biases are zeros when the module had bias=False. */
  params: ParamSet;
  /** Batch-first, flattened row-major: input [B,T,I], output and gradOutput [B,T,D·H]. */
  input: Float64Array;
  output: Float64Array;
  gradOutput: Float64Array;
  /** [L·D,B,H] when captured. */
  h0: Float64Array | null;
  c0: Float64Array | null;
  gradHn: Float64Array | null;
  gradCn: Float64Array | null;
  /** [B,T,I]: the framework's own ∂L/∂input, when the input required a gradient. */
  gradInput: Float64Array | null;
  /** What the metadata says about the run (strings as written; numbers parsed where known). */
  info: CaptureInfo;
}

export interface CaptureInfo {
  name: string;
  epoch: number | null;
  rank: number | null;
  worldSize: number | null;
  /** The batch loss, when the training loop gave it to the recorder. */
  trainingLoss: number | null;
  /** Precision the module ran in, e.g. 'float32' or 'bfloat16 (autocast)'. */
  dtype: string;
  dropout: number;
  framework: string;
  examples: string;
  bias: boolean;
  /** Metadata keys the reader does not interpret, kept for the record. */
  metadata: Record<string, string>;
}

const OPTIONAL_STATE = ['h_0', 'c_0', 'grad_h_n', 'grad_c_n'] as const;

/** Parses and checks a capture; throws one InputError naming the file. */
export function parseCapture(bytes: Uint8Array, file: string): Capture {
  let plan: Plan | null = null;
  const { tensors, metadata } = readSafetensors(bytes, file, {
    allowInt64: true,
    checkHeader: (entries, meta) => {
      plan = checkHeader(entries, meta, file);
    },
  });
  const p = plan as Plan | null;
  if (!p || !metadata) throw new InputError(file, null, 'empty capture');
  const get = (name: string): Float64Array | null => tensors.get(name)?.data ?? null;
  const lengths = get('lengths');
  if (lengths && lengths.some((n) => n !== p.steps)) {
    const shortest = Math.min(...lengths);
    throw new InputError(file, null,
      `'lengths' has rows shorter than T = ${p.steps} (shortest ${shortest}): a padded PackedSequence batch cannot be replayed; ` +
      'expected full-length rows only (the bptt_lens recorder keeps those)');
  }
  const params: ParamSet = new Map();
  for (const { name, shape } of p.params) {
    const t = tensors.get(name);
    params.set(name, { shape, data: t ? t.data : new Float64Array(shape.reduce((a, b) => a * b, 1)) });
  }
  return {
    file,
    step: p.step,
    module: p.module,
    config: p.config,
    batchSize: p.batchSize,
    steps: p.steps,
    params,
    input: get('input')!,
    output: get('output')!,
    gradOutput: get('grad_output')!,
    h0: get('h_0'),
    c0: get('c_0'),
    gradHn: get('grad_h_n'),
    gradCn: get('grad_c_n'),
    gradInput: get('grad_input'),
    info: p.info,
  };
}

export function readCaptureSync(path: string): Capture {
  return parseCapture(readGuardedSync(path, 'capture'), path);
}

export async function readCapture(path: string): Promise<Capture> {
  return parseCapture(await readGuarded(path, 'capture'), path);
}

/** One capture file of a folder, in training-step order. */
export interface CaptureListing {
  path: string;
  name: string;
  /** From the file name (the metadata's step is authoritative once read). */
  step: number;
}

/**
 * The captures in a folder, by step. Files that only look like captures (`*.capture.safetensors`
 * under another name) come last, by name; hidden temporary files of a writer are skipped.
 * Throws an InputError naming the folder when it cannot be listed or holds no capture.
 */
export function listCaptures(dir: string): CaptureListing[] {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new InputError(dir, null, 'not a folder; expected a folder of step-<8 digits>.capture.safetensors files');
    names = readdirSync(dir);
  } catch (e) {
    if (e instanceof InputError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(dir, null, `cannot read the folder (${code === 'ENOENT' ? 'no such folder' : code ?? (e as Error).message})`);
  }
  const out = captureListing(dir, names);
  if (out.length === 0) throw new InputError(dir, null, 'no captures here; expected step-<8 digits>.capture.safetensors files written by the bptt_lens recorder');
  return out;
}

/** listCaptures without the folder access: the names of a folder, filtered and ordered. */
export function captureListing(dir: string, names: string[]): CaptureListing[] {
  const out: CaptureListing[] = [];
  for (const name of names) {
    if (name.startsWith('.') || !name.endsWith(CAPTURE_SUFFIX)) continue;
    const m = CAPTURE_FILE.exec(name);
    out.push({ path: join(dir, name), name, step: m ? Number(m[1]) : Number.MAX_SAFE_INTEGER });
  }
  return out.sort((a, b) => a.step - b.step || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

// ---------------------------------------------------------------- header checks

interface Plan {
  module: CaptureModule;
  config: RecurrentConfig;
  step: number;
  batchSize: number;
  steps: number;
  params: { name: string; shape: number[] }[];
  info: CaptureInfo;
}

function checkHeader(entries: HeaderEntry[], metadata: Record<string, string> | null, file: string): Plan {
  const fail = (detail: string): never => {
    throw new InputError(file, null, detail);
  };
  if (!metadata) fail(`no __metadata__; expected a capture written by the bptt_lens recorder (schema '${CAPTURE_SCHEMA}')`);
  const meta = metadata!;
  if (meta.schema !== CAPTURE_SCHEMA) {
    fail(`__metadata__.schema is ${meta.schema === undefined ? 'missing' : `'${meta.schema}'`}; expected '${CAPTURE_SCHEMA}' (a capture written by the bptt_lens recorder)`);
  }
  const module = meta.module;
  if (module !== 'RNN' && module !== 'LSTM' && module !== 'GRU') {
    fail(`capture of an unsupported module '${module ?? ''}'; expected RNN, LSTM or GRU`);
  }
  const int = (key: string, min: number, max: number): number => {
    const text = meta[key];
    const v = text !== undefined && /^\d+$/.test(text) ? Number(text) : Number.NaN;
    if (!(v >= min && v <= max)) fail(`__metadata__.${key} is ${text === undefined ? 'missing' : `'${text}'`}; expected an integer from ${min} to ${max}`);
    return v;
  };
  const bool = (key: string, fallback: boolean | null): boolean => {
    const text = meta[key];
    if (text === undefined && fallback !== null) return fallback;
    if (text !== 'true' && text !== 'false') fail(`__metadata__.${key} is ${text === undefined ? 'missing' : `'${text}'`}; expected 'true' or 'false'`);
    return text === 'true';
  };
  const L = int('num_layers', 1, LIMITS.layers);
  const H = int('hidden_size', 1, LIMITS.hidden);
  const I = int('input_size', 1, LIMITS.input);
  const bidirectional = bool('bidirectional', null);
  const bias = bool('bias', true);
  const step = int('step', 0, Number.MAX_SAFE_INTEGER);
  const nonlinearity = module === 'RNN' ? meta.nonlinearity : 'tanh';
  if (nonlinearity !== 'tanh' && nonlinearity !== 'relu') fail(`__metadata__.nonlinearity is '${nonlinearity ?? ''}'; expected 'tanh' or 'relu'`);
  const D = bidirectional ? 2 : 1;
  const G = module === 'LSTM' ? 4 : module === 'GRU' ? 3 : 1;

  const byName = new Map(entries.map((e) => [e.name, e]));
  const shapeText = (s: number[]): string => `[${s.join(', ')}]`;
  const input = byName.get('input');
  if (!input) fail("missing tensor 'input' [B, T, I] (the module's input, batch-first)");
  if (input!.shape.length !== 3) fail(`'input' has shape ${shapeText(input!.shape)}; expected [B, T, I] (3 dimensions)`);
  const [B, T, inputWidth] = input!.shape as [number, number, number];
  if (B < 1 || B > LIMITS.batch) fail(`'input' has ${B} examples; expected 1 to ${LIMITS.batch}`);
  if (T < 1 || T > LIMITS.steps) fail(`'input' has ${T} timesteps; expected 1 to ${LIMITS.steps}`);
  if (inputWidth !== I) fail(`'input' has shape ${shapeText(input!.shape)}; expected [${B}, ${T}, ${I}] (input_size ${I})`);

  const expected = new Map<string, { shape: number[]; what: string; required: boolean }>();
  const seq = (width: number): number[] => [B, T, width];
  const state = [L * D, B, H];
  expected.set('input', { shape: seq(I), what: 'the input', required: true });
  expected.set('output', { shape: seq(D * H), what: 'the output, for the replay check', required: true });
  expected.set('grad_output', { shape: seq(D * H), what: 'the upstream gradient ∂L/∂output', required: true });
  expected.set('grad_input', { shape: seq(I), what: "the framework's ∂L/∂input", required: false });
  expected.set('lengths', { shape: [B], what: 'PackedSequence lengths', required: false });
  for (const name of OPTIONAL_STATE) {
    const lstmOnly = name.startsWith('c_') || name.startsWith('grad_c');
    if (lstmOnly && module !== 'LSTM') continue;
    expected.set(name, { shape: state, what: name.startsWith('grad') ? 'a final-state gradient' : 'an initial state', required: false });
  }
  const params: { name: string; shape: number[] }[] = [];
  for (let l = 0; l < L; l++) {
    for (let d = 0; d < D; d++) {
      const sfx = `_l${l}${d === 1 ? '_reverse' : ''}`;
      const inputSize = l === 0 ? I : D * H;
      const shapes: Array<[string, number[], boolean]> = [
        [`weight_ih${sfx}`, [G * H, inputSize], true],
        [`weight_hh${sfx}`, [G * H, H], true],
        [`bias_ih${sfx}`, [G * H], bias],
        [`bias_hh${sfx}`, [G * H], bias],
      ];
      for (const [name, shape, required] of shapes) {
        params.push({ name, shape });
        if (required) expected.set(name, { shape, what: `a ${module} parameter`, required: true });
      }
    }
  }
  for (const e of entries) {
    const want = expected.get(e.name);
    if (!want) {
      if (/^weight_hr_l/.test(e.name)) fail(`'${e.name}': an LSTM with proj_size cannot be replayed; expected proj_size = 0`);
      if (!bias && /^bias_(ih|hh)_l/.test(e.name)) fail(`'${e.name}' is present but __metadata__.bias is 'false'`);
      fail(`unexpected tensor '${e.name}' ${shapeText(e.shape)}; a capture of a ${L}-layer ${bidirectional ? 'bidirectional ' : ''}${module} holds its parameters, input, output, grad_output and optionally h_0, ${module === 'LSTM' ? 'c_0, grad_h_n, grad_c_n' : 'grad_h_n'}, grad_input, lengths`);
    }
    if (e.shape.length !== want!.shape.length || e.shape.some((v, k) => v !== want!.shape[k])) {
      fail(`'${e.name}' (${want!.what}) has shape ${shapeText(e.shape)}; expected ${shapeText(want!.shape)} for ${B} examples, T = ${T}, a ${L}-layer ${bidirectional ? 'bidirectional ' : ''}${module} with hidden size ${H} and input size ${I}`);
    }
    if (e.name === 'lengths' ? e.dtype !== 'I64' : e.dtype === 'I64') {
      fail(`'${e.name}' has dtype ${e.dtype}; expected ${e.name === 'lengths' ? 'I64' : 'a float dtype (F64, F32, F16 or BF16)'}`);
    }
  }
  for (const [name, want] of expected) {
    if (want.required && !byName.has(name)) fail(`missing tensor '${name}' ${shapeText(want.shape)} (${want.what})`);
  }

  // Last, the published schema (schemas/capture.schema.json), which the checks above imply
  // except for what only it says (metadata value lengths, prototype keys).
  const header: Record<string, unknown> = { __metadata__: meta };
  for (const e of entries) header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: e.dataOffsets };
  const problem = schemaProblem('capture', header);
  if (problem) fail(`header${problem.path ? ` ${problem.path}` : ''}: ${problem.message}`);

  const num = (key: string): number | null => {
    const text = meta[key];
    if (text === undefined || text === '') return null;
    const v = Number(text);
    return Number.isFinite(v) ? v : null;
  };
  const known = new Set(['schema', 'module', 'nonlinearity', 'num_layers', 'bidirectional', 'hidden_size', 'input_size', 'bias', 'step', 'epoch',
    'rank', 'world_size', 'loss', 'dtype', 'dropout', 'framework', 'name', 'examples']);
  const info: CaptureInfo = {
    name: meta.name ?? module.toLowerCase(),
    epoch: num('epoch'),
    rank: num('rank'),
    worldSize: num('world_size'),
    trainingLoss: num('loss'),
    dtype: meta.dtype ?? 'unknown',
    dropout: num('dropout') ?? 0,
    framework: meta.framework ?? '',
    examples: meta.examples ?? `${B}`,
    bias,
    metadata: Object.fromEntries(Object.entries(meta).filter(([k]) => !known.has(k))),
  };
  const config: RecurrentConfig = {
    cell: module === 'LSTM' ? 'lstm' : module === 'GRU' ? 'gru' : 'rnn',
    nonlinearity: nonlinearity as 'tanh' | 'relu',
    variant: 'vanilla',
    inputSize: I,
    hiddenSize: H,
    numLayers: L,
    bidirectional,
  };
  return { module: module as CaptureModule, config, step, batchSize: B, steps: T, params, info };
}
