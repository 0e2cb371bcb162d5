// The benchmark's PyTorch side, driven from node: finds a python3 that can import torch,
// starts bench/torchChild.py once as a persistent child (one JSON line per request and per
// reply) and asks it to set up problems, return gradients (for the agreement check) and time
// single forward + backward passes. Nothing else in the project depends on this: without
// torch the bench prints "PyTorch not available" and carries on.

import { findPython } from './util';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import type { BenchData, BenchWeights, ParamName } from './tfjsModels';

export type TorchVariant = 'fused32' | 'fused64' | 'unrolled64';
export const TORCH_VARIANTS: TorchVariant[] = ['fused32', 'fused64', 'unrolled64'];

export interface TorchInfo {
  python: string;
  /** How the interpreter was found. */
  foundBy: string;
  torch: string;
  pythonVersion: string;
  /** BLAS_INFO of torch.__config__.show() (Debian's build says "generic": whatever libblas.so.3 is). */
  blasInfo: string;
  /** BLAS (and MKL) shared libraries mapped into the child after a float64 matmul. */
  blasLibraries: string[];
  openblas: boolean;
  threads: number;
}

interface Reply {
  ok: boolean;
  error?: string;
  [k: string]: unknown;
}

const b64 = (a: Float64Array): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
function unb64(s: string): Float64Array {
  const buf = Buffer.from(s, 'base64');
  const out = new Float64Array(buf.length / 8);
  new Uint8Array(out.buffer).set(buf);
  return out;
}

/** The child script: next to this file in the sources, ../bench from dist/bench.js. */
function childScript(): string {
  for (const p of [path.join(__dirname, 'torchChild.py'), path.join(__dirname, '..', 'bench', 'torchChild.py')]) {
    if (fs.existsSync(p)) return p;
  }
  throw new Error(`bench/torchChild.py not found near ${__dirname}`);
}

export class TorchChild {
  private readonly pending: { resolve: (r: Reply) => void; reject: (e: Error) => void }[] = [];
  private exited: Error | null = null;
  private nextId = 0;

  private constructor(private readonly proc: ChildProcessWithoutNullStreams) {
    const lines = readline.createInterface({ input: proc.stdout });
    lines.on('line', (line) => {
      const waiter = this.pending.shift();
      if (!waiter) return;
      try {
        waiter.resolve(JSON.parse(line) as Reply);
      } catch {
        waiter.reject(new Error(`torch child wrote a line that is not JSON: ${line.slice(0, 200)}`));
      }
    });
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
    proc.on('exit', (code) => {
      this.exited = new Error(`torch child exited (code ${code})${stderr ? `: ${stderr.trim()}` : ''}`);
      for (const w of this.pending.splice(0)) w.reject(this.exited);
    });
  }

  /** Starts the child, or returns why PyTorch is not available. */
  static async start(explicitPython: string | null): Promise<{ child: TorchChild; info: TorchInfo } | { reason: string }> {
    const found = findPython(explicitPython);
    if ('reason' in found) return found;
    // One thread everywhere: torch.set_num_threads(1) in the child covers ATen's pool, these
    // cover OpenMP and OpenBLAS's own pthreads (openblas-pthread ignores torch's setting).
    const env = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
    const proc = spawn(found.python, ['-u', childScript()], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const child = new TorchChild(proc);
    try {
      const hello = await child.request({ op: 'hello' });
      const libs = hello.blasLibraries as string[];
      return {
        child,
        info: {
          python: found.python, foundBy: found.foundBy, torch: hello.torch as string, pythonVersion: hello.python as string,
          blasInfo: hello.blasInfo as string, blasLibraries: libs, openblas: libs.some((l) => /openblas/i.test(l)), threads: hello.threads as number,
        },
      };
    } catch (err) {
      child.proc.kill();
      return { reason: `${found.python} imports torch but the bench child failed: ${(err as Error).message}` };
    }
  }

  private request(req: Record<string, unknown>): Promise<Reply> {
    if (this.exited) return Promise.reject(this.exited);
    return new Promise<Reply>((resolve, reject) => {
      this.pending.push({
        resolve: (r) => (r.ok ? resolve(r) : reject(new Error(`torch child: ${r.error}`))),
        reject,
      });
      this.proc.stdin.write(JSON.stringify(req) + '\n');
    });
  }

  /** Sends weights and data once; returns the problem's id. */
  async setup(w: BenchWeights, data: BenchData): Promise<number> {
    const id = this.nextId++;
    await this.request({
      op: 'setup', id, cell: w.cell, nonlinearity: w.nonlinearity, hidden: w.hiddenSize, batch: data.batchSize, steps: data.steps,
      weights: {
        weight_ih_l0: b64(w.weightIh), weight_hh_l0: b64(w.weightHh), bias_ih_l0: b64(w.biasIh), bias_hh_l0: b64(w.biasHh),
        'head.weight': b64(w.headWeight), 'head.bias': b64(w.headBias),
      },
      x: b64(data.x), y: b64(data.y),
    });
    return id;
  }

  async gradients(id: number, variant: TorchVariant): Promise<{ loss: number; grads: Record<ParamName, Float64Array> }> {
    const r = await this.request({ op: 'grads', id, variant });
    const grads = {} as Record<ParamName, Float64Array>;
    for (const [name, s] of Object.entries(r.grads as Record<string, string>)) grads[name as ParamName] = unb64(s);
    return { loss: r.loss as number, grads };
  }

  /** One forward + backward, timed inside the child: wall and CPU ms. */
  async time(id: number, variant: TorchVariant): Promise<{ wall: number; cpu: number }> {
    const r = await this.request({ op: 'time', id, variant });
    return { wall: r.wallMs as number, cpu: r.cpuMs as number };
  }

  async drop(id: number): Promise<void> {
    await this.request({ op: 'drop', id });
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    try {
      await this.request({ op: 'quit' });
    } catch {
      /* already gone */
    }
    this.proc.stdin.end();
    await gone;
  }
}
