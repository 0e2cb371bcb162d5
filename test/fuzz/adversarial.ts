// Adversarial inputs, regenerated from code (nothing binary is checked in): weights with
// made-up layer indices, special files, hostile input JSON, impossible and oversized reports,
// hostile report sources, capture headers. Shared by the fuzz tests (test/fuzz/*.test.ts) and
// by scripts/fuzz-table.ts, which prints how many inputs of each class were tried, whether
// the contract held, and the worst time and memory.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { initializeModel } from '../../src/engine/init';
import { createModel, defaultModelConfig } from '../../src/engine/model';
import { Rng } from '../../src/engine/rng';
import type { ModelConfig } from '../../src/engine/types';
import { serializeReport } from '../../src/io/report/json';
import { writeSafetensors } from '../../src/io/safetensors';
import { stateDictFromModel } from '../../src/io/stateDict';
import type { Report } from '../../src/study/types';

export const ROOT = resolve(__dirname, '..', '..');
export const CLI = join(ROOT, 'dist', 'cli.js');

/** Deterministic PRNG (mulberry32) so every run regenerates the same files. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ------------------------------------------------------------------ weights

export function modelTensors(partial: Partial<ModelConfig> = {}, seed = 1) {
  const m = createModel(defaultModelConfig({ cell: 'rnn', hiddenSize: 2, inputSize: 1, outputSize: 1, ...partial }));
  initializeModel(m, { scheme: 'pytorch', spectralRadius: null, forgetBias: false }, new Rng(seed));
  return stateDictFromModel(m);
}

/** A valid small RNN state_dict (F32, ~470 bytes) with one tensor renamed. */
export function renamedTensorWeights(from: string, to: string, partial: Partial<ModelConfig> = {}): Uint8Array {
  const tensors = modelTensors(partial);
  const renamed = new Map([...tensors].map(([k, v]) => [k === from ? to : k, v]));
  return writeSafetensors(renamed, { dtype: 'F32' });
}

/** The classic: a valid file whose tensor is renamed to a huge layer index. */
export const HUGE_LAYER_NAMES = [
  'rnn.bias_hh_l10000000', 'rnn.bias_hh_l99999999999999999999', 'rnn.weight_ih_l4294967296', 'rnn.weight_hh_l1000000_reverse',
  'rnn.bias_ih_l123456789', 'rnn.bias_hh_l2', 'rnn.bias_hh_l9007199254740993', `rnn.bias_hh_l${'9'.repeat(300)}`,
];

/** Many malformed safetensors files: header lies, truncations, renamed tensors, bad dtypes. */
export function weightCases(count: number, seed = 7): { name: string; bytes: Uint8Array }[] {
  const rnd = prng(seed);
  const base = writeSafetensors(modelTensors(), { dtype: 'F32' });
  const names = [...modelTensors().keys()];
  const out: { name: string; bytes: Uint8Array }[] = [];
  for (const to of HUGE_LAYER_NAMES) out.push({ name: `huge-${out.length}`, bytes: renamedTensorWeights('rnn.bias_hh_l0', to) });
  while (out.length < count) {
    const kind = Math.floor(rnd() * 6);
    let bytes: Uint8Array;
    if (kind === 0) {
      // rename a random tensor to a random layer index
      const from = names[Math.floor(rnd() * names.length)]!;
      const idx = Math.floor(rnd() ** 4 * 1e12);
      bytes = renamedTensorWeights(from, from.replace(/_l0$/, `_l${idx}`).replace(/^head\./, `rnn.bias_hh_l${idx}.`));
    } else if (kind === 1) {
      bytes = base.slice(0, Math.floor(rnd() * base.length)); // truncation
    } else if (kind === 2) {
      bytes = base.slice();
      for (let k = 0; k < 1 + rnd() * 6; k++) bytes[Math.floor(rnd() * bytes.length)] = Math.floor(rnd() * 256); // bit rot
    } else if (kind === 3) {
      bytes = base.slice();
      new DataView(bytes.buffer).setBigUint64(0, BigInt(Math.floor(rnd() * 2 ** 52)), true); // header length lie
    } else if (kind === 4) {
      // header JSON edits: shapes and offsets made up
      const n = Number(new DataView(base.buffer).getBigUint64(0, true));
      const header = JSON.parse(new TextDecoder().decode(base.subarray(8, 8 + n)));
      const key = names[Math.floor(rnd() * names.length)]!;
      const pick = Math.floor(rnd() * 4);
      if (pick === 0) header[key].shape = [Math.floor(rnd() * 1e9), 0];
      else if (pick === 1) header[key].shape = [2 ** 31, 2 ** 31, 2 ** 31];
      else if (pick === 2) header[key].data_offsets = [0, Math.floor(rnd() * 1e15)];
      else header[key].dtype = ['I8', 'F8', 'U64', '', 'F64'][Math.floor(rnd() * 5)];
      const text = new TextEncoder().encode(JSON.stringify(header));
      bytes = new Uint8Array(8 + text.length + base.length - 8 - n);
      new DataView(bytes.buffer).setBigUint64(0, BigInt(text.length), true);
      bytes.set(text, 8);
      bytes.set(base.subarray(8 + n), 8 + text.length);
    } else {
      bytes = new Uint8Array(Math.floor(rnd() * 2000));
      for (let k = 0; k < bytes.length; k++) bytes[k] = Math.floor(rnd() * 256);
    }
    out.push({ name: `w-${out.length}`, bytes });
  }
  return out;
}

// ------------------------------------------------------------------ input JSON

/** A valid input {"x": [B][T][1], "y": [B][1]} written as Python's json.dump would. */
export function validInputText(B: number, T: number, seed = 3): string {
  const rnd = prng(seed);
  const rows: string[] = [];
  for (let b = 0; b < B; b++) {
    const steps: string[] = new Array(T);
    for (let t = 0; t < T; t++) steps[t] = `[${rnd() * 2 - 1}]`;
    rows.push(`[${steps.join(', ')}]`);
  }
  const ys = Array.from({ length: B }, () => `[${rnd()}]`);
  return `{"x": [${rows.join(', ')}], "y": [${ys.join(', ')}]}`;
}

/** Hostile or malformed input JSON for a 1-input, 1-output model. */
export function inputCases(count: number, seed = 11): { name: string; text: string }[] {
  const rnd = prng(seed);
  const fixed = [
    '', ' ', '\ufeff', 'null', '[]', '{}', '{"x": 1, "y": 2}', '{"x": [], "y": []}', '{"x": [[[]]], "y": [[1]]}',
    '{"x": [[[1]]], "y": [[1]], "z": 0}', '{"x": [[[1]]]}', '{"y": [[1]]}', '{"x": [[[1e999]]], "y": [[1]]}',
    '{"x": [[[NaN]]], "y": [[1]]}', '{"x": [[["1"]]], "y": [[1]]}', '{"x": [[[null]]], "y": [[1]]}', '{"x": [[[1, 2]]], "y": [[1]]}',
    '{"x": [[[1]], [[1], [2]]], "y": [[1], [2]]}', '{"x": [[[1]]], "y": [[1], [2]]}', '{"x": [[[[1]]]], "y": [[1]]}',
    `{"x": ${'['.repeat(100_000)}${']'.repeat(100_000)}, "y": [[1]]}`, '{"x": [[[1]]], "y": [[1]]} trailing', '{"x": [[[1,]]], "y": [[1]]}',
    '{"x": [[[01]]], "y": [[1]]}', '{"x": [[[-]]], "y": [[1]]}', '{"x": [[[1.]]], "y": [[1]]}', '{"x": [[[.5]]], "y": [[1]]}',
    '{"__proto__": {"x": 1}, "x": [[[1]]], "y": [[1]]}', '{"x": [[[1]]], "x": [[[2]]], "y": [[1]]}', '{"\\u0078": [[[1]]], "y": [[1]]}',
    '{"x": [[[1]]], "y": [[1]]', '{"x": [[[1]]] "y": [[1]]}', '{"x": [[[1e-400]]], "y": [[1]]}', '{"x":[[[1]]],"y":[[[1]]]}',
  ];
  const out = fixed.map((text, i) => ({ name: `fixed-${i}`, text }));
  const valid = validInputText(3, 4, seed);
  while (out.length < count) {
    let s = valid;
    for (let k = 0; k < 1 + rnd() * 3; k++) {
      const i = Math.floor(rnd() * s.length);
      const op = Math.floor(rnd() * 4);
      const junk = ['[', ']', ',', '"', '-', 'e', '1', ' ', '{', '}', 'null', '1e400', '\u0000', '\ud800'][Math.floor(rnd() * 14)]!;
      if (op === 0) s = s.slice(0, i);
      else if (op === 1) s = s.slice(0, i) + s.slice(i + 1 + Math.floor(rnd() * 5));
      else if (op === 2) s = s.slice(0, i) + junk + s.slice(i);
      else s = s.slice(0, i) + junk + s.slice(i + 1);
    }
    out.push({ name: `mut-${out.length}`, text: s });
  }
  return out;
}

// ------------------------------------------------------------------ special files

/** Paths that are not regular files: devices, a FIFO, a directory, links to them. Created under `dir`. */
export function specialFiles(dir: string): { name: string; path: string }[] {
  mkdirSync(dir, { recursive: true });
  const out: { name: string; path: string }[] = [];
  for (const dev of ['/dev/zero', '/dev/urandom', '/dev/null', '/dev/full', '/dev/random']) if (existsSync(dev)) out.push({ name: dev, path: dev });
  if (process.platform !== 'win32') {
    const fifo = join(dir, 'pipe.json');
    if (!existsSync(fifo)) execFileSync('mkfifo', [fifo]);
    out.push({ name: 'fifo', path: fifo });
    const link = join(dir, 'link-to-zero.safetensors');
    if (!existsSync(link)) execFileSync('ln', ['-s', '/dev/zero', link]);
    out.push({ name: 'symlink to /dev/zero', path: link });
    const linkFifo = join(dir, 'link-to-fifo.csv');
    if (!existsSync(linkFifo)) execFileSync('ln', ['-s', fifo, linkFifo]);
    out.push({ name: 'symlink to a FIFO', path: linkFifo });
  }
  const sub = join(dir, 'folder.json');
  mkdirSync(sub, { recursive: true });
  out.push({ name: 'directory', path: sub });
  out.push({ name: 'missing', path: join(dir, 'missing.json') });
  return out;
}

// ------------------------------------------------------------------ reports

/** A small valid report (T steps, `runs` runs) built by hand: every series consistent. */
export function validReport(T = 6, runs = 2, iterations = 4): Report {
  const series = (f: (t: number) => number) => Array.from({ length: T }, (_, t) => f(t));
  const layer = () => ({
    layer: 0, direction: 'forward' as const,
    gradNormH: series((t) => 0.1 * (t + 1)), gradNormC: null, gradNormState: null,
    gateGradNorm: { a: series(() => 0.2) }, gateMean: { a: series(() => 0.1) }, gateSaturation: { a: series(() => 0.5) },
    weightGradByStep: series(() => 0.3), jacobianNorm: series(() => 0.9),
  });
  const diagnosis = { decayPerStep: 0.8, horizon: Math.min(3, T - 1), verdict: 'vanishing' as const, evidence: ['ρ = 0.8'], lagProfile: series((k) => 0.8 ** k) };
  return {
    schema: 'bptt-lens/report@1',
    study: { kind: 'diagnosis', name: 'fuzz', source: 'sample:airline', description: 'd', task: 't', createdAt: '2026-11-27T00:00:00Z', thresholds: { explodeGrowth: 10, vanishEpsilon: 1e-3, rhoDelta: 0.02 } },
    runs: Array.from({ length: runs }, (_, i) => ({
      schema: 'bptt-lens/run@1' as const, id: `run-${i}`, label: `rnn ${i}`,
      config: { cell: 'rnn', cellChoice: 'rnn-tanh', hiddenSize: 2, numLayers: 1, bidirectional: false, iterations, batchSize: 4, seed: 1, learningRate: 0.01, clip: { kind: 'none' } },
      timesteps: T, layers: [layer()], inputGradNorm: series(() => 0.05), loss: 0.5, globalGradNorm: 1, clippedGradNorm: 1, nonFinite: null,
      // The itemized matrix is O(T²): only short runs carry one (as in real reports).
      itemized: T <= 64 ? Array.from({ length: T }, (_, s) => Array.from({ length: s + 1 }, (_, k) => 0.5 ** (s - k))) : null,
      diagnosis, initialDiagnosis: diagnosis,
      history: {
        loss: Array.from({ length: iterations }, () => 0.5), preClipNorm: Array.from({ length: iterations }, () => 1), postClipNorm: Array.from({ length: iterations }, () => 1),
        clipRate: 0, stoppedAt: null,
        recorded: [0, iterations].map((iteration) => ({ iteration, layers: [layer()], inputGradNorm: series(() => 0.05), lagProfile: series((k) => 0.8 ** k), loss: 0.5 })),
      },
      recommendations: [],
    })),
  } as unknown as Report;
}

type Raw = Record<string, any>;

/** The impossible values the issue found accepted (and more), each applied to a valid report. */
export const IMPOSSIBLE: { name: string; edit: (r: Raw) => void; path: RegExp }[] = [
  { name: 'timesteps 1e308 with no layers', edit: (r) => { r.runs[0].timesteps = 1e308; r.runs[0].layers = []; }, path: /runs\[0\]\.(timesteps|layers)/ },
  { name: 'timesteps 1e308', edit: (r) => { r.runs[0].timesteps = 1e308; }, path: /runs\[0\]\.timesteps/ },
  { name: 'no layers', edit: (r) => { r.runs[0].layers = []; }, path: /runs\[0\]\.layers/ },
  { name: 'gradNormH longer than T', edit: (r) => { r.runs[0].layers[0].gradNormH.push(1); }, path: /runs\[0\]\.layers\[0\]\.gradNormH/ },
  { name: 'gradNormC shorter than T', edit: (r) => { r.runs[0].layers[0].gradNormC = [1]; }, path: /runs\[0\]\.layers\[0\]\.gradNormC/ },
  { name: 'gate series not of length T', edit: (r) => { r.runs[0].layers[0].gateGradNorm.a.pop(); }, path: /gateGradNorm\.a/ },
  { name: 'jacobianNorm not of length T', edit: (r) => { r.runs[0].layers[0].jacobianNorm = [1, 2]; }, path: /jacobianNorm/ },
  { name: 'inputGradNorm not of length T', edit: (r) => { r.runs[0].inputGradNorm = [1]; }, path: /inputGradNorm/ },
  { name: 'negative norm', edit: (r) => { r.runs[0].layers[0].gradNormH[2] = -1; }, path: /gradNormH\[2\]/ },
  { name: 'negative global norm', edit: (r) => { r.runs[0].globalGradNorm = -5; }, path: /globalGradNorm/ },
  { name: 'negative pre-clip norm', edit: (r) => { r.runs[0].history.preClipNorm[0] = -1; }, path: /preClipNorm\[0\]/ },
  { name: 'clip rate 5', edit: (r) => { r.runs[0].history.clipRate = 5; }, path: /clipRate/ },
  { name: 'saturation 2', edit: (r) => { r.runs[0].layers[0].gateSaturation.a[0] = 2; }, path: /gateSaturation\.a\[0\]/ },
  { name: 'horizon > T', edit: (r) => { r.runs[0].diagnosis.horizon = 99; }, path: /diagnosis\.horizon/ },
  { name: 'rho = -3', edit: (r) => { r.runs[0].diagnosis.decayPerStep = -3; }, path: /diagnosis\.decayPerStep/ },
  { name: 'ragged itemized', edit: (r) => { r.runs[0].itemized[3].push(1); }, path: /itemized\[3\]/ },
  { name: 'itemized upper triangle', edit: (r) => { r.runs[0].itemized[0] = [1, 1, 1]; }, path: /itemized\[0\]/ },
  { name: '3000×3000 itemized on T = 6', edit: (r) => { r.runs[0].itemized = Array.from({ length: 3000 }, (_, s) => new Array(s + 1).fill(0)); }, path: /itemized/ },
  { name: 'negative itemized', edit: (r) => { r.runs[0].itemized[2][1] = -0.5; }, path: /itemized\[2\]\[1\]/ },
  { name: 'layer index past numLayers', edit: (r) => { r.runs[0].layers[0].layer = 5; }, path: /layers\[0\]\.layer/ },
  { name: 'reverse layer of a unidirectional run', edit: (r) => { r.runs[0].layers[0].direction = 'reverse'; }, path: /layers\[0\]\.direction/ },
  { name: 'duplicate layer', edit: (r) => { r.runs[0].layers.push(structuredClone(r.runs[0].layers[0])); }, path: /layers\[1\]/ },
  { name: 'postClipNorm not one per iteration', edit: (r) => { r.runs[0].history.postClipNorm.pop(); }, path: /postClipNorm/ },
  { name: 'recorded iteration past the history', edit: (r) => { r.runs[0].history.recorded[1].iteration = 1e6; }, path: /recorded\[1\]\.iteration/ },
  { name: 'recorded iterations out of order', edit: (r) => { r.runs[0].history.recorded[1].iteration = 0; }, path: /recorded\[1\]\.iteration/ },
  { name: 'nonFinite step past T', edit: (r) => { r.runs[0].nonFinite = { quantity: 'loss', layer: null, t: 50, value: null, valueText: 'NaN' }; }, path: /nonFinite\.t/ },
  { name: 'lag profile longer than T', edit: (r) => { r.runs[0].diagnosis.lagProfile = new Array(40).fill(0.5); }, path: /lagProfile/ },
  { name: 'vanishEpsilon 7', edit: (r) => { r.study.thresholds.vanishEpsilon = 7; }, path: /study\.thresholds\.vanishEpsilon/ },
  { name: '__proto__ gate key', edit: (r) => { r.runs[0].layers[0].gateMean = JSON.parse('{"__proto__": [1, 2, 3, 4, 5, 6]}'); }, path: /__proto__/ },
  { name: 'constructor key', edit: (r) => { r.runs[0].config = JSON.parse('{"constructor": {"prototype": 1}}'); }, path: /constructor/ },
  { name: 'hidden size -4', edit: (r) => { r.runs[0].config.hiddenSize = -4; }, path: /config\.hiddenSize/ },
];

export function reportText(r: Report | Raw): string {
  return serializeReport(r as Report);
}

// ------------------------------------------------------------------ hostile sources

export const HOSTILE_SOURCES = [
  '/etc/passwd', '/etc/shadow.csv', '../../../../etc/hosts.csv', '../outside.csv', 'data/../../outside.csv', '/root/.ssh/id_rsa.txt',
  '~/.bashrc.txt', 'C:\\Windows\\win.ini', '\\\\server\\share\\x.csv', 'file:///etc/passwd', 'http://evil.example/x.csv',
  '/dev/zero', '/proc/self/environ', `${'../'.repeat(50)}x.csv`, 'data/\u0000.csv', `${'a/'.repeat(2000)}x.csv`, 'link-out/secret.csv', 'sample:../../x',
];

// ------------------------------------------------------------------ measuring

export interface Measured<T> {
  value: T;
  ms: number;
}

export function timed<T>(fn: () => T): Measured<T> {
  const t0 = performance.now();
  const value = fn();
  return { value, ms: performance.now() - t0 };
}

/** Runs the built CLI in a child with a heap cap and a deadline; peak RSS from /usr/bin/time-free resourceUsage. */
export function runCli(args: string[], opts: { cwd?: string; timeoutMs?: number; heapMb?: number } = {}) {
  const script = `process.on('exit',()=>process.stderr.write('\\n@@maxrss '+process.resourceUsage().maxRSS+'\\n'));`
    + `require(${JSON.stringify(CLI)}).main(process.argv.slice(1)).then(c=>{process.exitCode=c},()=>{process.exitCode=1})`;
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [`--max-old-space-size=${opts.heapMb ?? 1024}`, '-e', script, ...args], {
    cwd: opts.cwd, encoding: 'utf8', timeout: opts.timeoutMs ?? 20_000, maxBuffer: 64 * 1024 * 1024,
  });
  const ms = performance.now() - t0;
  const m = /@@maxrss (\d+)/.exec(r.stderr ?? '');
  const stderr = (r.stderr ?? '').replace(/\n?@@maxrss \d+\n?/, '');
  return { status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr, ms, maxRssMb: m ? Number(m[1]) / 1024 : NaN, timedOut: r.error !== undefined && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT' };
}

export function writeFile(dir: string, name: string, data: string | Uint8Array): string {
  mkdirSync(dir, { recursive: true });
  const p = join(dir, name);
  writeFileSync(p, data);
  return p;
}

export function sizeOf(p: string): number {
  return statSync(p).size;
}
