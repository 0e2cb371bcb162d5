// The fuzz classes: each regenerates its adversarial inputs (adversarial.ts), feeds them to
// the reader that faces them, and checks the contract on every one:
//   refused  -> one InputError (or exit code 2 with one stderr line) naming the file, nothing written
//   accepted -> a result that satisfies the format's invariants
//   always   -> within the time bound (per input) and without a crash.
// Used by test/fuzz/fuzz.test.ts (asserts) and scripts/fuzz-table.ts (prints the table).
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { gradientsRecord } from '../../src/cli/gradients';
import { writeFileAtomic } from '../../src/cli/output';
import { readReportFile } from '../../src/io/report/read';
import { isInside, resolveRerunSource } from '../../src/extension/rerunGuard';
import { parseBatchJson, parseBatchJsonBytes } from '../../src/io/batchJson';
import { InputError } from '../../src/io/errors';
import { readGuarded, type FileKind } from '../../src/io/guardedRead';
import { parseReport } from '../../src/io/report/read';
import { renderReportFiles } from '../../src/io/report/write';
import { schemaProblem } from '../../src/io/schemas';
import { writeSafetensors } from '../../src/io/safetensors';
import { readSequenceFile } from '../../src/io/sequences';
import {
  HOSTILE_SOURCES, IMPOSSIBLE, inputCases, modelTensors, prng, reportText, runCli, specialFiles, validInputText, validReport, weightCases, writeFile,
} from './adversarial';

export interface Trial {
  input: string;
  ok: boolean;
  ms: number;
  /** What happened: the message, or why the contract failed. */
  detail: string;
}

export interface FuzzClass {
  name: string;
  /** Time bound per input (ms). */
  boundMs: number;
  run(dir: string): Promise<Trial[]>;
}

/** The contract for one call: an InputError naming `file` on one line, or an accepted result checked by `accept`. */
async function trial<T>(input: string, file: string, call: () => T | Promise<T>, accept: (v: T) => string | null): Promise<Trial> {
  const t0 = performance.now();
  try {
    const value = await call();
    const ms = performance.now() - t0;
    const problem = accept(value);
    return { input, ok: problem === null, ms, detail: problem ?? 'accepted' };
  } catch (e) {
    const ms = performance.now() - t0;
    if (!(e instanceof InputError)) return { input, ok: false, ms, detail: `not an InputError: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}` };
    const oneLine = !/[\r\n]/.test(e.message) && e.message.length < 2000;
    const names = e.file === file;
    return { input, ok: oneLine && names && !/internal error/.test(e.message), ms, detail: e.message.slice(0, 200) };
  }
}

const WEIGHTS: FuzzClass = {
  name: 'safetensors weights (gradients)',
  boundMs: 2000,
  async run(dir) {
    const input = writeFile(dir, 'in.json', validInputText(2, 3));
    const out: Trial[] = [];
    for (const c of weightCases(90)) {
      const file = writeFile(dir, `${c.name}.safetensors`, c.bytes);
      out.push(await trial(c.name, file, () => gradientsRecord({ weights: file, input }), (r) => (r.timesteps === 3 ? null : `timesteps ${r.timesteps}`)));
    }
    return out;
  },
};

const INPUT: FuzzClass = {
  name: 'input JSON (gradients)',
  boundMs: 2000,
  async run() {
    const out: Trial[] = [];
    const model = { inputSize: 1, outputSize: 1 };
    for (const c of inputCases(150)) {
      const file = `${c.name}.json`;
      const bytes = Buffer.from(c.text, 'utf8');
      out.push(await trial(c.name, file, () => parseBatchJsonBytes(bytes, file, { model }), (b) => {
        if (b.x.length !== b.batchSize * b.steps * b.inputSize) return 'x size';
        // The one-pass reader must agree with JSON.parse on everything it accepts.
        const reference = parseBatchJson(c.text, file, { model });
        return reference.x.every((v, i) => Object.is(v, b.x[i])) && reference.y.every((v, i) => Object.is(v, b.y[i])) ? null : 'differs from JSON.parse';
      }));
    }
    // Large files go through the scanner's own messages (no JSON.parse fallback above 8 MB).
    const big = validInputText(400, 1000);
    for (const [name, text] of [['big valid', big], ['big truncated', big.slice(0, -3)], ['big ragged', big.replace('], [', '], [[0.5], ')], ['big string', big.replace('[0.', '["0.')]] as const) {
      const bytes = Buffer.from(text, 'utf8');
      out.push(await trial(name, 'big.json', () => parseBatchJsonBytes(bytes, 'big.json', { model }), (b) => (b.batchSize === 400 && b.steps === 1000 ? null : 'shape')));
    }
    return out;
  },
};

const SPECIAL: FuzzClass = {
  name: 'special files (every reader)',
  boundMs: 3000,
  async run(dir) {
    const out: Trial[] = [];
    const kinds: FileKind[] = ['sequence', 'weights', 'input', 'report', 'capture'];
    for (const s of specialFiles(join(dir, 'special'))) {
      for (const kind of kinds) out.push(await trial(`${s.name} as ${kind}`, s.path, () => readGuarded(s.path, kind), () => 'read a special file'));
      out.push(await trial(`${s.name} via readSequenceFile`, s.path, () => readSequenceFile(s.path.endsWith('.csv') || s.path.endsWith('.json') ? s.path : s.path), () => 'accepted'));
      out.push(await trial(`${s.name} via readReportFile`, s.path, () => readReportFile(s.path), () => 'accepted'));
      // The CLI end to end: exit 2, one line naming the file, within the bound.
      const input = writeFile(dir, 'in-special.json', validInputText(1, 2));
      const r = runCli(['gradients', '--weights', s.path, '--input', input], { timeoutMs: 10_000, heapMb: 256 });
      const lines = r.stderr.split('\n').filter(Boolean);
      out.push({ input: `${s.name} as --weights (CLI)`, ok: r.status === 2 && lines.length === 1 && lines[0]!.includes(s.path), ms: r.ms, detail: lines[0] ?? `exit ${r.status} ${r.signal}` });
    }
    return out;
  },
};

const REPORTS: FuzzClass = {
  name: 'report.json (impossible, ragged, oversized, hostile keys)',
  boundMs: 5000,
  async run(dir) {
    const out: Trial[] = [];
    const check = (text: string, name: string, render = true): Promise<Trial> =>
      trial(name, 'r.json', () => parseReport(text, 'r.json'), (report) => {
        if (render) renderReportFiles(report); // anything accepted must render
        return null;
      });
    for (const c of IMPOSSIBLE) {
      const raw = JSON.parse(reportText(validReport()));
      c.edit(raw);
      const t = await check(JSON.stringify(raw), c.name);
      out.push({ ...t, ok: t.ok && !t.detail.startsWith('accepted') && c.path.test(t.detail) });
    }
    // Random structural mutations: refused cleanly, or accepted and renderable.
    const rnd = prng(5);
    const base = JSON.parse(reportText(validReport(5, 2, 3)));
    const values = [null, -1, 1e308, -1e308, 'x', [], {}, true, 0.5, 3, [1, 2], { a: [1] }];
    for (let i = 0; i < 110; i++) {
      const raw = structuredClone(base);
      const slots: [any, string | number][] = [];
      const walk = (v: any): void => {
        if (Array.isArray(v)) v.forEach((x, k) => { slots.push([v, k]); walk(x); });
        else if (v && typeof v === 'object') for (const k of Object.keys(v)) { slots.push([v, k]); walk(v[k]); }
      };
      walk(raw);
      for (let m = 0; m < 1 + Math.floor(rnd() * 3); m++) {
        const [container, key] = slots[Math.floor(rnd() * slots.length)]!;
        if (rnd() < 0.3 && !Array.isArray(container)) delete container[key];
        else container[key] = structuredClone(values[Math.floor(rnd() * values.length)]);
      }
      out.push(await check(JSON.stringify(raw), `mutation ${i}`));
    }
    // Oversized: many runs (accepted, views bound them), a long T, a big itemized (refused).
    out.push(await check(reportText(validReport(20_000, 1, 3)), 'T = 20,000', false));
    const wide = JSON.parse(reportText(validReport(12)));
    wide.runs[0].itemized = Array.from({ length: 3000 }, (_, s) => new Array(s + 1).fill(0));
    const t = await check(JSON.stringify(wide), '3000 x 3000 itemized on T = 12');
    out.push({ ...t, ok: t.ok && /itemized/.test(t.detail) });
    const file = writeFile(dir, 'big-report.json', reportText(validReport(6, 2000)));
    out.push(await trial('2000 runs from disk (guarded)', file, () => readReportFile(file), (r) => (r.runs.length === 2000 ? null : 'runs lost')));
    return out;
  },
};

const SOURCES: FuzzClass = {
  name: 'hostile report sources (re-run)',
  boundMs: 500,
  async run(dir) {
    const ws = join(dir, 'ws');
    mkdirSync(join(ws, 'bptt-reports', 'r'), { recursive: true });
    if (!existsSync(join(ws, 'link-out'))) symlinkSync('/etc', join(ws, 'link-out'));
    writeFileSync(join(ws, 'data.csv'), '1\n2\n3\n');
    const inside = join(ws, 'bptt-reports', 'r', 'report.json');
    const outside = join(dir, 'elsewhere', 'report.json');
    const sampleOf = (s: string) => (/^sample:(airline|adding|copy|sine|text|binary-addition)$/.test(s) ? s.slice(7) : null);
    const out: Trial[] = [];
    for (const reportFile of [inside, outside, undefined]) {
      for (const source of HOSTILE_SOURCES) {
        const t0 = performance.now();
        const where = await resolveRerunSource(source, reportFile, [ws], sampleOf, (p) => realpath(p));
        const ms = performance.now() - t0;
        // Never read outside without asking: 'inside' only when the real path lies in the
        // workspace folder and the report does too; anything else 'ask', with an absolute path.
        let ok: boolean;
        if (where.kind === 'inside') {
          const real = await realpath(where.file).catch(() => where.file);
          ok = reportFile === inside && isInside(await realpath(ws), real);
        } else {
          ok = where.kind === 'ask' && isAbsolute(where.file);
        }
        out.push({ input: `${source.slice(0, 40)} (report ${reportFile ? (reportFile === inside ? 'inside' : 'outside') : 'unsaved'})`, ok, ms, detail: JSON.stringify(where).slice(0, 160) });
      }
    }
    const legit = await resolveRerunSource('data.csv', inside, [ws], sampleOf, (p) => realpath(p));
    out.push({ input: 'data.csv inside', ok: legit.kind === 'inside', ms: 0, detail: JSON.stringify(legit) });
    return out;
  },
};

const OUT: FuzzClass = {
  name: '--out targets',
  boundMs: 2000,
  async run(dir) {
    const d = join(dir, 'out');
    mkdirSync(d, { recursive: true });
    const out: Trial[] = [];
    const regular = writeFile(d, 'regular.json', 'old');
    chmodSync(regular, 0o640);
    const hard = join(d, 'hard.json');
    if (!existsSync(hard)) linkSync(regular, hard);
    const fifo = join(d, 'fifo');
    if (!existsSync(fifo)) execFileSync('mkfifo', [fifo]);
    const mk = (name: string, to: string) => { const p = join(d, name); if (!existsSync(p) && !lstatSafe(p)) symlinkSync(to, p); return p; };
    const cases: [string, string, 'write' | 'refuse'][] = [
      ['regular file (mode 640)', regular, 'write'],
      ['symlink to a regular file', mk('to-regular.json', regular), 'write'],
      ['symlink chain', mk('chain.json', mk('to-regular2.json', regular)), 'write'],
      ['dangling symlink', mk('dangling.json', join(d, 'created-by-link.json')), 'write'],
      ['symlink to a FIFO', mk('to-fifo.json', fifo), 'refuse'],
      ['FIFO', fifo, 'refuse'],
      ['symlink to /dev/null', mk('to-null.json', '/dev/null'), 'refuse'],
      ['directory', d, 'refuse'],
      ['symlink loop', mk('loop-a', join(d, 'loop-b')), 'refuse'],
      ['missing directory', join(d, 'nope', 'x.json'), 'refuse'],
      ['new file', join(d, 'new.json'), 'write'],
    ];
    mk('loop-b', join(d, 'loop-a'));
    for (const [name, target, expect] of cases) {
      const t = await trial(name, target, () => writeFileAtomic(target, '{"ok": true}\n'), () => null);
      let ok = t.ok && (expect === 'write' ? t.detail === 'accepted' : t.detail !== 'accepted');
      if (expect === 'write' && ok) ok = readFileSync(target, 'utf8') === '{"ok": true}\n' && (target === regular ? (statSync(regular).mode & 0o777) === 0o640 : true);
      out.push({ ...t, input: name, ok });
    }
    out.push({ input: 'hard link kept', ok: readFileSync(hard, 'utf8') === readFileSync(regular, 'utf8'), ms: 0, detail: '' });
    out.push({ input: 'links kept', ok: lstatSync(join(d, 'to-regular.json')).isSymbolicLink() && lstatSync(join(d, 'to-null.json')).isSymbolicLink(), ms: 0, detail: '' });
    out.push({ input: 'no temporaries left', ok: readdirSync(d).every((n) => !n.startsWith('.tmp-')), ms: 0, detail: readdirSync(d).join(' ') });
    return out;
  },
};

function lstatSafe(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/** A capture file like the recorder's (design §9), from the engine's own tensors. */
function captureBytes(meta: Record<string, string>, extra: Record<string, { shape: number[]; data: Float64Array }> = {}): Uint8Array {
  const tensors = new Map<string, { shape: number[]; data: Float64Array }>();
  const B = 2, T = 3, I = 1, H = 2;
  for (const [k, v] of modelTensors({ hiddenSize: H })) if (!k.startsWith('head.')) tensors.set(k.replace(/^rnn\./, ''), v);
  tensors.set('input', { shape: [B, T, I], data: new Float64Array(B * T * I).fill(0.5) });
  tensors.set('output', { shape: [B, T, H], data: new Float64Array(B * T * H).fill(0.1) });
  tensors.set('grad_output', { shape: [B, T, H], data: new Float64Array(B * T * H).fill(0.01) });
  for (const [k, v] of Object.entries(extra)) tensors.set(k, v);
  return writeSafetensors(tensors, { dtype: 'F32', metadata: meta });
}

/** Guarded read, bounded header parse, schema: the checks every capture reader starts with. */
async function checkCapture(file: string): Promise<Record<string, unknown>> {
  const bytes = await readGuarded(file, 'capture');
  if (bytes.length < 8) throw new InputError(file, null, 'not a safetensors file: shorter than 8 bytes');
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true);
  if (n > BigInt(Math.min(bytes.length - 8, 100_000_000))) throw new InputError(file, null, `header length ${n} runs past the end of the file`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + Number(n))));
  } catch {
    throw new InputError(file, null, 'header is not valid UTF-8 JSON');
  }
  const problem = schemaProblem('capture', header);
  if (problem) throw new InputError(file, null, `${problem.path || 'header'}: ${problem.message}`);
  return header as Record<string, unknown>;
}

const CAPTURES: FuzzClass = {
  name: 'capture files (header, schema capture@1)',
  boundMs: 2000,
  async run(dir) {
    const good: Record<string, string> = {
      schema: 'bptt-lens/capture@1', module: 'RNN', nonlinearity: 'tanh', num_layers: '1', bidirectional: 'false', hidden_size: '2', input_size: '1',
      step: '20', epoch: '', rank: '0', world_size: '1', loss: '0.5', dtype: 'float32', dropout: '0.0', framework: 'torch 1.13.0', name: 'rnn', examples: '2 of 32',
    };
    const rnd = prng(17);
    const out: Trial[] = [];
    const edits: [string, (m: Record<string, string>) => void][] = [
      ['valid', () => undefined], ['schema @2', (m) => { m.schema = 'bptt-lens/capture@2'; }], ['module Transformer', (m) => { m.module = 'Transformer'; }],
      ['num_layers 10^12', (m) => { m.num_layers = '1000000000000'; }], ['hidden_size -1', (m) => { m.hidden_size = '-1'; }], ['hidden_size 0', (m) => { m.hidden_size = '0'; }],
      ['bidirectional maybe', (m) => { m.bidirectional = 'maybe'; }], ['no schema', (m) => { delete m.schema; }], ['no module', (m) => { delete m.module; }],
      ['__proto__ key', (m) => { Object.defineProperty(m, '__proto__', { value: 'x', enumerable: true }); }], ['step -3', (m) => { m.step = '-3'; }],
      ['huge metadata value', (m) => { m.name = 'x'.repeat(20_000); }], ['nonlinearity gelu', (m) => { m.nonlinearity = 'gelu'; }],
    ];
    for (const [name, edit] of edits) {
      const meta = { ...good };
      edit(meta);
      const file = writeFile(dir, `cap-${out.length}.capture.safetensors`, captureBytes(meta));
      const t = await trial(name, file, () => checkCapture(file), () => null);
      out.push({ ...t, ok: t.ok && (name === 'valid' ? t.detail === 'accepted' : t.detail !== 'accepted') });
    }
    const base = captureBytes(good);
    while (out.length < 70) {
      const bytes = base.slice();
      const kind = Math.floor(rnd() * 3);
      if (kind === 0) for (let k = 0; k < 1 + rnd() * 8; k++) bytes[8 + Math.floor(rnd() * 300)] = 32 + Math.floor(rnd() * 95); // header bytes
      else if (kind === 1) new DataView(bytes.buffer).setBigUint64(0, BigInt(Math.floor(rnd() * 2 ** 40)), true);
      const file = writeFile(dir, `cap-${out.length}.capture.safetensors`, kind === 2 ? bytes.slice(0, Math.floor(rnd() * bytes.length)) : bytes);
      out.push(await trial(`mutation ${out.length}`, file, () => checkCapture(file), () => null));
    }
    return out;
  },
};

/** safetensors bytes from raw entries (any dtype, I64 included), for what writeSafetensors cannot write. */
function rawSafetensors(entries: { name: string; dtype: string; shape: number[]; bytes: Uint8Array }[], metadata: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const e of entries) {
    header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [offset, offset + e.bytes.length] };
    offset += e.bytes.length;
  }
  const text = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + text.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  let at = 8 + text.length;
  for (const e of entries) {
    out.set(e.bytes, at);
    at += e.bytes.length;
  }
  return out;
}

function f32(n: number, value = 0.25): Uint8Array {
  return new Uint8Array(new Float32Array(n).fill(value).buffer);
}

/**
 * The captures reader (src/io/capture.ts, issue 6) where this branch has it: real capture
 * layouts with lying shapes, metadata and lengths. Skipped (no trials) where it is absent.
 */
const CAPTURE_READER: FuzzClass = {
  name: 'capture files (the captures reader)',
  boundMs: 3000,
  async run(dir) {
    let reader: { readCapture(path: string): Promise<{ steps: number; batchSize: number }> } | null = null;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      reader = require(join(__dirname, '..', '..', 'src', 'io', 'capture'));
    } catch {
      return [];
    }
    const meta = (m: Record<string, string> = {}): Record<string, string> => ({
      schema: 'bptt-lens/capture@1', module: 'RNN', nonlinearity: 'tanh', num_layers: '1', bidirectional: 'false', hidden_size: '2', input_size: '1',
      bias: 'true', batch_first: 'true', step: '7', epoch: '', rank: '0', world_size: '1', loss: '', dtype: 'float32', dropout: '0.0', framework: 'torch 1.13.0', name: 'rnn', examples: '2 of 2', ...m,
    });
    const H = 2, I = 1;
    const tensorsFor = (B: number, T: number, over: Record<string, number[]> = {}) => {
      const shapes: Record<string, number[]> = {
        weight_ih_l0: [H, I], weight_hh_l0: [H, H], bias_ih_l0: [H], bias_hh_l0: [H], input: [B, T, I], output: [B, T, H], grad_output: [B, T, H], ...over,
      };
      return Object.entries(shapes).map(([name, shape]) => ({ name, dtype: 'F32', shape, bytes: f32(shape.reduce((a, b) => a * b, 1)) }));
    };
    const i64 = (values: number[]) => new Uint8Array(BigInt64Array.from(values.map((v) => BigInt(v))).buffer);
    const cases: [string, Uint8Array, 'accept' | 'refuse' | 'either'][] = [
      ['valid', rawSafetensors(tensorsFor(2, 3), meta()), 'accept'],
      ['input shape lies', rawSafetensors(tensorsFor(2, 3, { input: [2, 4, 1] }), meta()), 'refuse'],
      ['grad_output missing', rawSafetensors(tensorsFor(2, 3).filter((t) => t.name !== 'grad_output'), meta()), 'refuse'],
      ['num_layers 10^7 with one layer of tensors', rawSafetensors(tensorsFor(2, 3), meta({ num_layers: '10000000' })), 'refuse'],
      ['hidden_size 10^9', rawSafetensors(tensorsFor(2, 3), meta({ hidden_size: '1000000000' })), 'refuse'],
      ['module LSTM with RNN shapes', rawSafetensors(tensorsFor(2, 3), meta({ module: 'LSTM' })), 'refuse'],
      ['weights renamed to layer 10^7', rawSafetensors(tensorsFor(2, 3).map((t) => (t.name === 'bias_hh_l0' ? { ...t, name: 'bias_hh_l10000000' } : t)), meta()), 'refuse'],
      ['lengths short', rawSafetensors([...tensorsFor(2, 3), { name: 'lengths', dtype: 'I64', shape: [2], bytes: i64([3, 1]) }], meta()), 'refuse'],
      ['lengths as F32', rawSafetensors([...tensorsFor(2, 3), { name: 'lengths', dtype: 'F32', shape: [2], bytes: f32(2, 3) }], meta()), 'either'],
      // 200,000 examples of one step with one short row: a spread over the lengths would overflow the stack.
      ['200,000 lengths, one short', rawSafetensors([...tensorsFor(200_000, 1), { name: 'lengths', dtype: 'I64', shape: [200_000], bytes: i64([...new Array(199_999).fill(1), 0]) }], meta()), 'refuse'],
      ['schema @2', rawSafetensors(tensorsFor(2, 3), meta({ schema: 'bptt-lens/capture@2' })), 'refuse'],
      ['no metadata', rawSafetensors(tensorsFor(2, 3), {}), 'refuse'],
      ['T = 0', rawSafetensors(tensorsFor(2, 0), meta()), 'refuse'],
      ['NaN in input', rawSafetensors(tensorsFor(2, 3).map((t) => (t.name === 'input' ? { ...t, bytes: f32(6, Number.NaN) } : t)), meta()), 'either'],
    ];
    const out: Trial[] = [];
    for (const [name, bytes, expect] of cases) {
      const file = writeFile(dir, `step-${String(out.length).padStart(8, '0')}.capture.safetensors`, bytes);
      const t = await trial(name, file, () => reader!.readCapture(file), (c) => (c.steps >= 1 && c.batchSize >= 1 ? null : 'empty capture accepted'));
      const accepted = t.detail === 'accepted';
      out.push({ ...t, ok: t.ok && (expect === 'either' || (expect === 'accept') === accepted) });
    }
    // Random damage to the valid file.
    const rnd = prng(23);
    const base = cases[0]![1];
    while (out.length < 80) {
      const bytes = base.slice();
      const kind = Math.floor(rnd() * 3);
      if (kind === 0) for (let k = 0; k < 1 + rnd() * 6; k++) bytes[8 + Math.floor(rnd() * (bytes.length - 8))] = Math.floor(rnd() * 256);
      else if (kind === 1) new DataView(bytes.buffer).setBigUint64(0, BigInt(Math.floor(rnd() * 2 ** 40)), true);
      const file = writeFile(dir, `step-${String(out.length).padStart(8, '0')}.capture.safetensors`, kind === 2 ? bytes.slice(0, Math.floor(rnd() * bytes.length)) : bytes);
      out.push(await trial(`damage ${out.length}`, file, () => reader!.readCapture(file), () => null));
    }
    return out;
  },
};

export const CLASSES: FuzzClass[] = [WEIGHTS, INPUT, SPECIAL, REPORTS, SOURCES, OUT, CAPTURES, CAPTURE_READER];
