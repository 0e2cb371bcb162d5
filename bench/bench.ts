// `npm run bench`: the engine against TensorFlow.js (cpu and wasm backends) and, when a
// python3 can import torch, PyTorch (bench/torchChild.py, a persistent child driven over
// stdin/stdout: fused f32 and f64, and unrolled f64 with retain_grad on every h_t and c_t,
// one thread) on the same workloads and weights, the engine and PyTorch interleaved (engine,
// torch..., engine, ...) after warm-up, then TF.js's cpu backend, then its wasm backend,
// reporting medians and ratios. "TS kernels" times the engine with its TypeScript matrix
// products and activations instead of the WebAssembly ones (the same bits). Plus: a training sweep on 1 worker vs. every core (and
// TF.js sequentially), the itemized T×T matrix's cost at T = 256, and the peak RSS of a
// 10,000-step LSTM pass (in a child process).
//
// Why TF.js comes after everything else timed in this process, and its wasm backend last:
// that backend grows its WebAssembly memory, which detaches an ArrayBuffer, and after the
// first detach in a process V8 checks every typed-array access for detachment (the engine's
// own memories are reserved up front so that they never grow: kernels/wasmModule.ts).
// Interleaved with TF.js, the engine's TypeScript loops ran up to 1.5x slower and lstm-h64
// took 34.9 instead of 30.5 ms: an artefact of sharing the process, which the extension's
// workers never do. TF.js's cpu backend (JavaScript) is timed before the wasm backend is set
// up, for the same reason. PyTorch runs in its own process and stays interleaved.
//
// Fairness notes, printed with the table:
// - The engine computes in float64 and records every per-timestep probe (gate statistics,
//   gate gradient norms, weightGradByStep, ‖∂L/∂h_t‖, ‖∂L/∂c_t‖, ‖∂L/∂x_t‖) but not the
//   itemized matrix or the Jacobian norms. TF.js computes in float32 (its only floating
//   dtype on these backends) and only the loss and parameter gradients.
// - Before timing, both sides' losses and gradients are compared on the same weights and
//   data; the largest relative difference is reported (float32 accuracy expected).
// - PyTorch runs in float64 (and float32) on one thread (torch.set_num_threads(1) and
//   OMP/OPENBLAS/MKL_NUM_THREADS=1), each pass timed inside the child. The bench says which
//   python it used, torch's BLAS_INFO and which BLAS library the child actually mapped:
//   Debian's python3-torch says "generic" and uses whatever libblas.so.3 is — OpenBLAS once
//   `apt-get install libopenblas0-pthread` is done, else the 2-6x slower reference BLAS.
// - lstm-h512-b16-t128 (the size of captured models) skips TF.js (25 s per pass on its wasm
//   backend) and the TypeScript-kernel timing.
// - TF.js's wasm backend runs its SIMD binary single-threaded in Node (TF.js 4.22 disables
//   wasm threads under Node).
// - Wall-time medians are the headline; process CPU-time medians sit beside them because on
//   a shared machine other processes inflate wall time (a warning prints the load average).
// - The sweep (rnn-tanh, rnn-relu, lstm, gru × no clip, norm 0.1, 1, 10; SGD) is executeRun
//   through the worker pool, probing at iterations 0 and N only; TF.js runs the same SGD
//   steps with the same global-norm clipping, one run after another.
//
// Cells of design §8 (cellsBench.ts): each at H = 64, B = 16, T = 128 with every per-timestep
// probe incl. jacobianNorm, beside lstm and gru (select with --only cells, or cell-<name>);
// with the extras, the peak RSS of one mlstm and one s6 pass at T = 1,000, plain and
// checkpointed (child processes, like the LSTM one).
//
// Profile: node --cpu-prof --cpu-prof-dir=prof dist/bench.js --only lstm-h64-b16-t128
//   --engine-only --no-sweep --no-extras --no-ts-kernels (add --no-turbo-inlining to keep
//   inlined kernels apart), then node --import tsx bench/profileSummary.ts prof/*.cpuprofile.
//
// Options: --out FILE (JSON), --only NAMES (comma-separated substrings), --reps N (5),
// --warmup N (1), --engine-only, --no-sweep, --sweep-iterations N (50), --sweep-reps N (3
// alternating rounds of 1 and all workers), --sweep-tfjs-cpu
// (also run the sweep on TF.js's cpu backend: slow), --no-extras (skip itemized and RSS),
// --kernels wasm|ts (the engine's matrix products: WebAssembly SIMD, the default and what
// the study worker uses, or the pure-TypeScript reference; bit-identical results). With
// wasm, the TypeScript kernels are timed too (engineTsKernelsMs) in the same interleave,
// unless --no-ts-kernels (for profiling one path). --no-torch skips PyTorch, --python PATH
// picks the interpreter (default /usr/bin/python3, then python3 on PATH).

import { spawnSync } from 'node:child_process';
import { isDeepStrictEqual } from 'node:util';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { runPass } from '../src/engine/bptt';
import { initializeModel } from '../src/engine/init';
import { disableWasmKernels, enableWasmKernels } from '../src/engine/kernels/wasmGemm';
import { createModel } from '../src/engine/model';
import { Rng } from '../src/engine/rng';
import type { Batch, Mode, Model, Nonlinearity, ProbeOptions } from '../src/engine/types';
import { cellSettings, defaultRunConfig } from '../src/study/study';
import type { CellChoice, ClipSpec, Dataset, PlannedRun } from '../src/study/types';
import { defaultPoolSize, WorkerPool } from '../src/worker/pool';
import { benchCellRss, benchCells, childCellRss, printCells } from './cellsBench';
import { checkTfInstalled, loadTf, loadTfWasm, PARAM_ORDER, TfRecurrentModel, useBackend, type BenchData, type BenchWeights, type ParamName, type Tf } from './tfjsModels';
import { TORCH_VARIANTS, TorchChild, type TorchInfo, type TorchVariant } from './torchSide';
import { median } from './util';

interface Workload {
  name: string;
  cell: BenchWeights['cell'];
  nonlinearity: Nonlinearity;
  hiddenSize: number;
  batchSize: number;
  steps: number;
  /** Seconds per pass on the slow sides: skip TF.js (tens of seconds per pass) and the TypeScript kernels. */
  heavy?: boolean;
}

const WORKLOADS: Workload[] = [
  { name: 'lstm-h64-b16-t128', cell: 'lstm', nonlinearity: 'tanh', hiddenSize: 64, batchSize: 16, steps: 128 },
  { name: 'rnn-h128-b32-t256', cell: 'rnn', nonlinearity: 'tanh', hiddenSize: 128, batchSize: 32, steps: 256 },
  { name: 'gru-h32-b1-t1000', cell: 'gru', nonlinearity: 'tanh', hiddenSize: 32, batchSize: 1, steps: 1000 },
  // The size of captured real models (issue 6): H = 512.
  { name: 'lstm-h512-b16-t128', cell: 'lstm', nonlinearity: 'tanh', hiddenSize: 512, batchSize: 16, steps: 128, heavy: true },
];

/** Every per-timestep probe except the O(T²) itemized matrix and the Jacobian power iterations. */
const ENGINE_PROBES: ProbeOptions = { gates: true, weightGradByStep: true, jacobian: false, itemized: false };
/** Only the per-step state-gradient norms ‖∂L/∂h_t‖ (‖∂L/∂c_t‖, ‖∂L/∂x_t‖), which the engine always records. */
const ENGINE_NORMS_ONLY: ProbeOptions = { gates: false, weightGradByStep: false, jacobian: false, itemized: false };

const SWEEP_CELLS: CellChoice[] = ['rnn-tanh', 'rnn-relu', 'lstm', 'gru'];
const SWEEP_CLIPS: ClipSpec[] = [{ kind: 'none' }, { kind: 'norm', threshold: 0.1 }, { kind: 'norm', threshold: 1 }, { kind: 'norm', threshold: 10 }];
const SWEEP_LEARNING_RATE = 0.05;

interface Args {
  out: string | null;
  only: string[] | null;
  reps: number;
  warmup: number;
  engineOnly: boolean;
  sweep: boolean;
  sweepIterations: number;
  sweepReps: number;
  sweepTfjsCpu: boolean;
  extras: boolean;
  kernels: 'wasm' | 'ts';
  /** Also time the TypeScript kernels when the WebAssembly ones are on. */
  tsKernels: boolean;
  childRss: number | null;
  /** Child side of the §8 cells' peak-memory measurement (cellsBench.ts). */
  childCellRss: string | null;
  /** Time PyTorch too when a python3 can import torch. */
  torch: boolean;
  python: string | null;
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    out: null, only: null, reps: 5, warmup: 1, engineOnly: false, sweep: true, sweepIterations: 50, sweepReps: 3, sweepTfjsCpu: false, extras: true, kernels: 'wasm', tsKernels: true, childRss: null, childCellRss: null, torch: true, python: null,
  };
  const int = (flag: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`${flag} needs an integer >= ${min}, got ${JSON.stringify(v)}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case '--out': args.out = argv[++i] ?? null; if (!args.out) throw new Error('--out needs a file name'); break;
      case '--only': args.only = (argv[++i] ?? '').split(',').filter(Boolean); break;
      case '--reps': args.reps = int(a, argv[++i], 1); break;
      case '--warmup': args.warmup = int(a, argv[++i], 0); break;
      case '--engine-only': args.engineOnly = true; break;
      case '--no-sweep': args.sweep = false; break;
      case '--sweep-iterations': args.sweepIterations = int(a, argv[++i], 1); break;
      case '--sweep-reps': args.sweepReps = int(a, argv[++i], 1); break;
      case '--sweep-tfjs-cpu': args.sweepTfjsCpu = true; break;
      case '--no-extras': args.extras = false; break;
      case '--child-rss': args.childRss = int(a, argv[++i], 1); break;
      case '--child-cell-rss': args.childCellRss = argv[++i] ?? null; break;
      case '--no-ts-kernels': args.tsKernels = false; break;
      case '--no-torch': args.torch = false; break;
      case '--python': args.python = argv[++i] ?? null; if (!args.python) throw new Error('--python needs an interpreter path'); break;
      case '--kernels': {
        const k = argv[++i];
        if (k !== 'wasm' && k !== 'ts') throw new Error(`--kernels needs wasm or ts, got ${JSON.stringify(k)}`);
        args.kernels = k;
        break;
      }
      default: throw new Error(`unknown option ${a}`);
    }
  }
  return args;
}

function timeIt(fn: () => unknown): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

/** Wall time and this process's CPU time (user + system) of fn, in ms. CPU time is the fairer
 *  figure when other processes compete for the cores (both sides here run on one thread). */
function timeBoth(fn: () => unknown): { wall: number; cpu: number } {
  const c0 = process.cpuUsage();
  const wall = timeIt(fn);
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1000 };
}

async function timeAsync(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

// ---------------------------------------------------------------- problems

interface Problem {
  model: Model;
  batch: Batch;
  weights: BenchWeights;
  data: BenchData;
}

function makeProblem(
  w: { cell: BenchWeights['cell']; nonlinearity: Nonlinearity; hiddenSize: number; batchSize: number; steps: number },
  seed: number,
  mode: Mode = 'many-to-one',
): Problem {
  const model = createModel({
    cell: w.cell, nonlinearity: w.nonlinearity, variant: 'vanilla', inputSize: 1, hiddenSize: w.hiddenSize, numLayers: 1, bidirectional: false, outputSize: 1,
  });
  const rng = new Rng(seed);
  initializeModel(model, { scheme: 'pytorch', spectralRadius: null, forgetBias: false }, rng);
  const B = w.batchSize;
  const T = w.steps;
  const x = Float64Array.from({ length: B * T }, () => rng.range(-1, 1));
  const y = Float64Array.from({ length: mode === 'many-to-one' ? B : B * T }, () => rng.range(-1, 1));
  const batch: Batch = { batchSize: B, steps: T, inputSize: 1, outputSize: 1, mode, x, y };
  const p = (name: string): Float64Array => {
    const t = model.params.get(name);
    if (!t) throw new Error(`engine model has no parameter ${name}`);
    return t.data;
  };
  const weights: BenchWeights = {
    cell: w.cell, nonlinearity: w.nonlinearity, inputSize: 1, hiddenSize: w.hiddenSize, outputSize: 1,
    weightIh: p('weight_ih_l0'), weightHh: p('weight_hh_l0'), biasIh: p('bias_ih_l0'), biasHh: p('bias_hh_l0'),
    headWeight: p('head.weight'), headBias: p('head.bias'),
  };
  return { model, batch, weights, data: { batchSize: B, steps: T, x, y } };
}

function enginePass(p: Problem, probes: ProbeOptions = ENGINE_PROBES): number {
  return runPass(p.model, p.batch, { loss: 'mse', probes }).loss;
}

/** Largest relative difference of two losses and gradient sets (scaled by each tensor's max |value|). */
function relativeDifference(a: { loss: number; grads: Record<ParamName, Float64Array> }, b: { loss: number; grads: Record<ParamName, Float64Array> }): number {
  let worst = Math.abs(a.loss - b.loss) / Math.max(Math.abs(a.loss), 1e-30);
  for (const name of PARAM_ORDER) {
    const x = a.grads[name];
    const y = b.grads[name];
    if (!y || y.length !== x.length) throw new Error(`gradient ${name}: ${y?.length} values, expected ${x.length}`);
    let scale = 0;
    let diff = 0;
    for (let k = 0; k < x.length; k++) {
      scale = Math.max(scale, Math.abs(x[k]));
      diff = Math.max(diff, Math.abs(x[k] - y[k]));
    }
    if (scale > 0) worst = Math.max(worst, diff / scale);
  }
  return worst;
}

/** The engine's loss and gradients (no probes), as the other sides report them. */
function engineGradients(p: Problem): { loss: number; grads: Record<ParamName, Float64Array> } {
  const ours = runPass(p.model, p.batch, { loss: 'mse', probes: { gates: false, weightGradByStep: false, jacobian: false } });
  const grads = {} as Record<ParamName, Float64Array>;
  for (const name of PARAM_ORDER) grads[name] = ours.grads.get(name)!.data;
  return { loss: ours.loss, grads };
}

// ---------------------------------------------------------------- workloads

interface TorchColumns {
  /** Medians of wall ms per variant (timed inside the python child). */
  ms: Record<TorchVariant, number>;
  cpuMs: Record<TorchVariant, number>;
  runsMs: Record<TorchVariant, number[]>;
  /** Max relative difference of loss and gradients, engine vs each variant. */
  agreement: Record<TorchVariant, number>;
  /** Speed ratios: torch's median / the engine's (all probes); above 1 the engine is faster. */
  ratio: Record<TorchVariant, number>;
  /** The same ratio of minima (the repetitions least disturbed by other processes). */
  ratioOfMinima: Record<TorchVariant, number>;
}

interface WorkloadResult {
  name: string;
  engineMs: number;
  tfjsCpuMs: number | null;
  tfjsWasmMs: number | null;
  speedupVsCpu: number | null;
  speedupVsWasm: number | null;
  engineRunsMs: number[];
  tfjsCpuRunsMs: number[];
  tfjsWasmRunsMs: number[];
  /** Max relative difference of loss and gradients, engine (float64) vs TF.js (float32). */
  agreementCpu: number | null;
  agreementWasm: number | null;
  /** Medians of process CPU time (ms) for the same repetitions. */
  cpuTimeMs?: { engine: number; tfjsCpu: number | null; tfjsWasm: number | null };
  /** The engine with only the always-on per-step state-gradient norms (no gate statistics, no weightGradByStep). */
  engineNormsOnlyMs?: number;
  torch?: TorchColumns | null;
  [extra: string]: unknown;
}

const perVariant = <T>(f: (v: TorchVariant) => T): Record<TorchVariant, T> =>
  Object.fromEntries(TORCH_VARIANTS.map((v) => [v, f(v)])) as Record<TorchVariant, T>;

/**
 * The engine (all probes, norms only, and the TypeScript kernels) and PyTorch, interleaved.
 * TF.js is timed afterwards (tfjsWorkload): see the header on why not interleaved with it.
 */
async function benchWorkload(w: Workload, args: Args, torch: TorchChild | null): Promise<WorkloadResult> {
  const p = makeProblem(w, 1234);
  let torchId: number | null = null;
  const result: WorkloadResult = {
    name: w.name, engineMs: NaN, tfjsCpuMs: null, tfjsWasmMs: null, speedupVsCpu: null, speedupVsWasm: null,
    engineRunsMs: [], tfjsCpuRunsMs: [], tfjsWasmRunsMs: [], agreementCpu: null, agreementWasm: null,
  };
  try {
    const ours = engineGradients(p);
    let torchAgreement: Record<TorchVariant, number> | null = null;
    if (torch) {
      torchId = await torch.setup(p.weights, p.data);
      torchAgreement = perVariant(() => NaN);
      for (const v of TORCH_VARIANTS) torchAgreement[v] = relativeDifference(ours, await torch.gradients(torchId, v));
    }
    const engineCpu: number[] = [];
    const tsKernelRuns: number[] = [];
    const normsOnlyRuns: number[] = [];
    const torchRuns = perVariant(() => [] as number[]);
    const torchCpu = perVariant(() => [] as number[]);
    for (let r = -args.warmup; r < args.reps; r++) {
      const e = timeBoth(() => enginePass(p));
      if (r >= 0) {
        result.engineRunsMs.push(e.wall);
        engineCpu.push(e.cpu);
      }
      const n = timeIt(() => enginePass(p, ENGINE_NORMS_ONLY));
      if (r >= 0) normsOnlyRuns.push(n);
      if (args.kernels === 'wasm' && args.tsKernels && !w.heavy) {
        disableWasmKernels();
        const t = timeIt(() => enginePass(p));
        enableWasmKernels();
        if (r >= 0) tsKernelRuns.push(t);
      }
      if (torch && torchId !== null) {
        for (const v of TORCH_VARIANTS) {
          const t = await torch.time(torchId, v);
          if (r >= 0) {
            torchRuns[v].push(t.wall);
            torchCpu[v].push(t.cpu);
          }
        }
      }
    }
    if (tsKernelRuns.length > 0) result.engineTsKernelsMs = median(tsKernelRuns);
    result.engineNormsOnlyMs = median(normsOnlyRuns);
    result.cpuTimeMs = { engine: median(engineCpu), tfjsCpu: null, tfjsWasm: null };
    result.engineMs = median(result.engineRunsMs);
    if (torch && torchAgreement) {
      const ms = perVariant((v) => median(torchRuns[v]));
      result.torch = {
        ms, cpuMs: perVariant((v) => median(torchCpu[v])), runsMs: torchRuns, agreement: torchAgreement,
        ratio: perVariant((v) => ms[v] / result.engineMs),
        ratioOfMinima: perVariant((v) => Math.min(...torchRuns[v]) / Math.min(...result.engineRunsMs)),
      };
    }
  } finally {
    if (torch && torchId !== null) await torch.drop(torchId);
  }
  return result;
}

/**
 * One TF.js backend on the workload's problem: agreement with the engine, the median, the
 * speedup against the engine's median. The cpu backend is timed for every workload before the
 * wasm backend exists (see loadTf). Not for the heavy workloads (the caller skips them).
 */
async function tfjsWorkload(w: Workload, args: Args, tf: Tf, backend: 'cpu' | 'wasm', result: WorkloadResult): Promise<void> {
  const p = makeProblem(w, 1234);
  await useBackend(tf, backend);
  const model = new TfRecurrentModel(tf, p.weights, p.data);
  const runs: number[] = [];
  const cpu: number[] = [];
  try {
    const agreement = relativeDifference(engineGradients(p), model.gradients());
    for (let r = -args.warmup; r < args.reps; r++) {
      const t = timeBoth(() => model.lossAndGrads());
      if (r >= 0) {
        runs.push(t.wall);
        cpu.push(t.cpu);
      }
    }
    const ms = median(runs);
    const fields: Partial<WorkloadResult> = backend === 'cpu'
      ? { agreementCpu: agreement, tfjsCpuRunsMs: runs, tfjsCpuMs: ms, speedupVsCpu: ms / result.engineMs }
      : { agreementWasm: agreement, tfjsWasmRunsMs: runs, tfjsWasmMs: ms, speedupVsWasm: ms / result.engineMs };
    Object.assign(result, fields);
    result.cpuTimeMs![backend === 'cpu' ? 'tfjsCpu' : 'tfjsWasm'] = median(cpu); // set by benchWorkload
  } finally {
    model.dispose();
  }
}

// ---------------------------------------------------------------- sweep

function sweepDataset(w: Workload): Dataset {
  const rng = new Rng(99);
  const count = w.batchSize;
  return {
    name: 'bench-sweep', description: 'uniform noise', task: 'regress a random target from a random sequence',
    mode: 'many-to-one', loss: 'mse', inputSize: 1, outputSize: 1, steps: w.steps, count,
    x: Float64Array.from({ length: count * w.steps }, () => rng.range(-1, 1)),
    y: Float64Array.from({ length: count }, () => rng.range(-1, 1)),
    source: 'bench', normalization: { kind: 'none' },
  };
}

function sweepPlan(dataset: Dataset, w: Workload, iterations: number): PlannedRun[] {
  const out: PlannedRun[] = [];
  for (const cellChoice of SWEEP_CELLS) {
    for (const clip of SWEEP_CLIPS) {
      const config = defaultRunConfig(dataset, {
        ...cellSettings(cellChoice), hiddenSize: w.hiddenSize, batchSize: w.batchSize, iterations, optimizer: 'sgd',
        learningRate: SWEEP_LEARNING_RATE, clip, seed: 5,
      });
      const id = `${cellChoice}-${clip.kind === 'none' ? 'noclip' : `norm${clip.threshold}`}`;
      // Probes at initialisation and at the end only, so the engine's extra work over TF.js's
      // training steps is two probe passes per run.
      out.push({ id, label: id, config, recordAt: [0, iterations] });
    }
  }
  return out;
}

async function benchSweep(w: Workload, args: Args, tf: Tf | null): Promise<WorkloadResult> {
  const dataset = sweepDataset(w);
  const planned = sweepPlan(dataset, w, args.sweepIterations);
  const cores = defaultPoolSize();
  const one = new WorkerPool({ size: 1 });
  const all = new WorkerPool({ size: cores });
  const name = `sweep-${w.name}-${SWEEP_CELLS.length}cells-${SWEEP_CLIPS.length}clips-${args.sweepIterations}it`;
  try {
    // Warm-up: start every worker and JIT the engine in each (one short run per worker).
    const warm = sweepPlan(dataset, w, 2);
    await one.executor(dataset, warm.slice(0, 1), {});
    await all.executor(dataset, warm.slice(0, cores), {});
    // 1 worker and N workers alternate for --sweep-reps rounds; medians and minima are both
    // kept (the minimum is the round least disturbed by other processes). process.cpuUsage
    // covers every thread of the process, workers included: equal CPU time on 1 and N
    // workers with a speedup below N means the cores were busy with others.
    let runsOne: unknown = null;
    let runsAll: unknown = null;
    let identical = true;
    const oneMs: number[] = [];
    const allMs: number[] = [];
    const oneCpuMs: number[] = [];
    const allCpuMs: number[] = [];
    const timed = async (pool: WorkerPool, wall: number[], cpu: number[]): Promise<unknown> => {
      let runs: unknown = null;
      const c0 = process.cpuUsage();
      wall.push(await timeAsync(async () => { runs = await pool.executor(dataset, planned, {}); }));
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000);
      return runs;
    };
    for (let r = 0; r < args.sweepReps; r++) {
      runsOne = await timed(one, oneMs, oneCpuMs);
      runsAll = await timed(all, allMs, allCpuMs);
      identical &&= isDeepStrictEqual(runsOne, runsAll);
    }
    const result: WorkloadResult = {
      name, engineMs: median(allMs), tfjsCpuMs: null, tfjsWasmMs: null, speedupVsCpu: null, speedupVsWasm: null,
      engineRunsMs: allMs, tfjsCpuRunsMs: [], tfjsWasmRunsMs: [], agreementCpu: null, agreementWasm: null,
      engine1WorkerMs: median(oneMs), engine1WorkerRunsMs: oneMs, engineWorkers: cores,
      poolSpeedup: median(oneMs) / median(allMs), poolSpeedupOfMinima: Math.min(...oneMs) / Math.min(...allMs),
      engine1WorkerCpuMs: median(oneCpuMs), engineAllWorkersCpuMs: median(allCpuMs),
      loadAverage: os.loadavg(),
      deterministicAcrossPoolSizes: identical,
      runs: planned.length, iterationsPerRun: args.sweepIterations,
    };
    if (tf) {
      const tfSweep = async (backend: 'cpu' | 'wasm'): Promise<number> => {
        await useBackend(tf, backend);
        const train = (runs: PlannedRun[]): void => {
          for (const run of runs) {
            const c = run.config;
            const p = makeProblem({ cell: c.cell as BenchWeights['cell'] /* the sweep's cells are classic */, nonlinearity: c.nonlinearity, hiddenSize: c.hiddenSize, batchSize: dataset.count, steps: dataset.steps }, c.seed);
            const m = new TfRecurrentModel(tf, p.weights, { batchSize: dataset.count, steps: dataset.steps, x: dataset.x, y: dataset.y });
            const threshold = c.clip.kind === 'norm' ? c.clip.threshold : null;
            for (let it = 0; it < c.iterations; it++) m.trainStep(c.learningRate, threshold);
            m.dispose();
          }
        };
        // Warm-up, untimed, as the engine's workers had: every run for 2 iterations (TF.js
        // compiles and caches its kernels on first use; the timed sweep is one sample).
        train(warm);
        return timeAsync(async () => train(planned));
      };
      result.tfjsWasmMs = await tfSweep('wasm');
      result.tfjsWasmRunsMs = [result.tfjsWasmMs];
      result.speedupVsWasm = result.tfjsWasmMs / result.engineMs;
      if (args.sweepTfjsCpu) {
        result.tfjsCpuMs = await tfSweep('cpu');
        result.tfjsCpuRunsMs = [result.tfjsCpuMs];
        result.speedupVsCpu = result.tfjsCpuMs / result.engineMs;
      }
    }
    return result;
  } finally {
    await Promise.all([one.close(), all.close()]);
  }
}

// ---------------------------------------------------------------- extras

function benchItemized(args: Args): { steps: number; passMs: number; passWithItemizedMs: number; itemizedMs: number } {
  const steps = 256;
  // Many-to-many: every step is scored, so every row of the matrix is real work (an
  // unscored step's row is zero and costs nothing).
  const p = makeProblem({ cell: 'lstm', nonlinearity: 'tanh', hiddenSize: 64, batchSize: 1, steps }, 77, 'many-to-many');
  const withItemized: ProbeOptions = { ...ENGINE_PROBES, itemized: true, itemizedMaxSteps: steps };
  const plain: number[] = [];
  const itemized: number[] = [];
  for (let r = -args.warmup; r < Math.max(3, args.reps); r++) {
    const a = timeIt(() => enginePass(p));
    const b = timeIt(() => {
      const rec = runPass(p.model, p.batch, { loss: 'mse', probes: withItemized }).record;
      if (!rec.itemized || rec.itemized.length !== steps) throw new Error('the engine did not return the itemized matrix');
    });
    if (r >= 0) {
      plain.push(a);
      itemized.push(b);
    }
  }
  const passMs = median(plain);
  const passWithItemizedMs = median(itemized);
  return { steps, passMs, passWithItemizedMs, itemizedMs: passWithItemizedMs - passMs };
}

/** The kernel's own high-water mark of this process's RSS (Linux), in KiB; null elsewhere. */
function vmHwmKiB(): number | null {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Child-process side of the RSS measurement: one LSTM pass of `steps` steps, then report. */
function childRss(steps: number): void {
  const p = makeProblem({ cell: 'lstm', nonlinearity: 'tanh', hiddenSize: 64, batchSize: 1, steps }, 3);
  const passMs = timeIt(() => enginePass(p));
  process.stdout.write(JSON.stringify({ steps, passMs, maxRssKiB: process.resourceUsage().maxRSS, vmHwmKiB: vmHwmKiB() }) + '\n');
}

interface RssFigures {
  steps: number;
  /** process.resourceUsage().maxRSS of the child, MiB. */
  peakRssMiB: number;
  /** The same for a T = 1 pass: what node and the bundle take by themselves. */
  baselineRssMiB: number;
  /** /proc/self/status VmHWM of the same children (Linux), MiB. */
  peakVmHwmMiB: number | null;
  baselineVmHwmMiB: number | null;
  passMs: number;
}

/**
 * Run before TF.js is loaded: on Linux a child's maxRSS starts at its parent's RSS at fork
 * time (it survives exec), so the parent must be small for maxRSS to be the child's own.
 * VmHWM (reset by exec) is reported beside it as the cross-check.
 */
function benchRss(): RssFigures {
  const run = (steps: number): { passMs: number; maxRssKiB: number; vmHwmKiB: number | null } => {
    const r = spawnSync(process.execPath, ['--max-old-space-size=4096', __filename, '--child-rss', String(steps)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`RSS child failed (exit ${r.status}): ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as { passMs: number; maxRssKiB: number; vmHwmKiB: number | null };
  };
  const big = run(10_000);
  const base = run(1);
  const mib = (kib: number | null): number | null => (kib === null ? null : kib / 1024);
  return {
    steps: 10_000, peakRssMiB: big.maxRssKiB / 1024, baselineRssMiB: base.maxRssKiB / 1024,
    peakVmHwmMiB: mib(big.vmHwmKiB), baselineVmHwmMiB: mib(base.vmHwmKiB), passMs: big.passMs,
  };
}

// ---------------------------------------------------------------- report

const fmtMs = (v: number | null | undefined): string => (v === null || v === undefined ? '—' : v >= 100 ? v.toFixed(0) : v.toFixed(1));
const fmtX = (v: number | null | undefined): string => (v === null || v === undefined ? '—' : `${v.toFixed(2)}×`);
const fmtE = (v: number | null | undefined): string => (v === null || v === undefined ? '—' : v.toExponential(1));

function printTable(rows: WorkloadResult[]): void {
  if (rows.length === 0) return;
  const header = ['workload', 'engine ms', 'tfjs-cpu ms', 'tfjs-wasm ms', 'vs cpu', 'vs wasm', 'CPU-time vs cpu/wasm', 'Δ vs f32 cpu/wasm'];
  const ratio = (a: number | null | undefined, b: number | null | undefined): number | null => (a && b ? a / b : null);
  const body = rows.map((r) => [
    r.name, fmtMs(r.engineMs), fmtMs(r.tfjsCpuMs), fmtMs(r.tfjsWasmMs), fmtX(r.speedupVsCpu), fmtX(r.speedupVsWasm),
    r.cpuTimeMs ? `${fmtX(ratio(r.cpuTimeMs.tfjsCpu, r.cpuTimeMs.engine))} / ${fmtX(ratio(r.cpuTimeMs.tfjsWasm, r.cpuTimeMs.engine))}` : '—',
    r.agreementCpu === null ? '—' : `${fmtE(r.agreementCpu)} / ${fmtE(r.agreementWasm)}`,
  ]);
  printRows(header, body);
}

function printTorchTable(rows: WorkloadResult[]): void {
  const withTorch = rows.filter((r) => r.torch);
  if (withTorch.length === 0) return;
  const header = ['workload', 'engine ms', 'norms-only ms', 'torch f32 ms', 'torch f64 ms', 'unrolled f64 ms', 'vs f32', 'vs f64', 'vs unrolled', 'minima vs f64/unrolled', 'CPU-time vs f64/unrolled', 'Δ f64 / unrolled'];
  const body = withTorch.map((r) => {
    const t = r.torch!;
    const cpuRatio = (v: TorchVariant): number | null => (r.cpuTimeMs ? t.cpuMs[v] / r.cpuTimeMs.engine : null);
    return [
      r.name, fmtMs(r.engineMs), fmtMs(r.engineNormsOnlyMs), fmtMs(t.ms.fused32), fmtMs(t.ms.fused64), fmtMs(t.ms.unrolled64),
      fmtX(t.ratio.fused32), fmtX(t.ratio.fused64), fmtX(t.ratio.unrolled64), `${fmtX(t.ratioOfMinima.fused64)} / ${fmtX(t.ratioOfMinima.unrolled64)}`,
      `${fmtX(cpuRatio('fused64'))} / ${fmtX(cpuRatio('unrolled64'))}`,
      `${fmtE(t.agreement.fused64)} / ${fmtE(t.agreement.unrolled64)}`,
    ];
  });
  printRows(header, body);
}

function printRows(header: string[], body: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(line(header));
  console.log(widths.map((n) => '-'.repeat(n)).join('  '));
  for (const b of body) console.log(line(b));
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const kernels = args.kernels === 'wasm' && enableWasmKernels() ? 'WebAssembly SIMD' : 'TypeScript';
  if (args.childRss !== null) return childRss(args.childRss);
  if (args.childCellRss !== null) return childCellRss(args.childCellRss);

  const selected = (name: string): boolean => !args.only || args.only.some((o) => name.includes(o));
  const extras = args.extras && selected('extras');
  if (!args.engineOnly) checkTfInstalled(); // now, not after minutes of engine timings
  const peakRss = extras ? benchRss() : null; // first, while this process is small (see benchRss)
  const cellRss = extras ? benchCellRss(__filename) : null;
  const torchStart = args.engineOnly || !args.torch ? null : await TorchChild.start(args.python);
  const torch = torchStart && 'child' in torchStart ? torchStart.child : null;
  const torchInfo: TorchInfo | null = torchStart && 'info' in torchStart ? torchStart.info : null;
  const environment = {
    node: process.version,
    cpus: os.cpus().length,
    availableParallelism: defaultPoolSize(),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    tfjs: null as string | null,
    tfjsWasm: args.engineOnly ? null : 'SIMD binary, single-threaded (TF.js disables wasm threads under Node)',
    dtypes: { engine: 'float64', tfjs: 'float32' },
    engineProbes: ENGINE_PROBES,
    engineKernels: kernels,
    reps: args.reps,
    warmup: args.warmup,
    loadAverageAtStart: os.loadavg(),
    torch: torchInfo,
    torchUnavailable: torchStart && 'reason' in torchStart ? torchStart.reason : null,
  };
  console.log(`BPTT Lens engine (${kernels} kernels) vs ${args.engineOnly ? 'TensorFlow.js (skipped)' : 'TensorFlow.js'} — node ${environment.node}, ${environment.availableParallelism} cores (${environment.cpuModel})`);
  if (os.loadavg()[0] > environment.availableParallelism * 0.5) {
    console.log(`WARNING: load average ${os.loadavg()[0].toFixed(1)} on ${environment.availableParallelism} cores: other processes compete for the CPU; wall times (and the pool speedup above all) are inflated. CPU times are in the JSON.`);
  }
  if (torchInfo) {
    const blas = torchInfo.blasLibraries.length ? torchInfo.blasLibraries.join(', ') : 'no BLAS library mapped';
    console.log(`PyTorch ${torchInfo.torch} found as ${torchInfo.foundBy} (python ${torchInfo.pythonVersion}), ${torchInfo.threads} thread; BLAS: BLAS_INFO=${torchInfo.blasInfo} in torch.__config__.show(), loaded ${blas}.`);
    console.log(torchInfo.openblas
      ? '  OpenBLAS is in use (Debian: apt-get install libopenblas0-pthread; without it Debian\'s torch uses the reference BLAS, 2-6x slower).'
      : '  WARNING: torch is NOT using OpenBLAS: its float64 products run on the reference BLAS (2-6x slower than what engineers run). Install it with apt-get install libopenblas0-pthread.');
  } else if (!args.engineOnly && args.torch) {
    console.log(`PyTorch not available${torchStart && 'reason' in torchStart ? ` (${torchStart.reason})` : ''}.`);
  }
  console.log(`median of ${args.reps} repetitions after ${args.warmup} warm-up, the engine interleaved with PyTorch, then TF.js cpu, then TF.js wasm; engine float64 with every per-timestep probe but itemized/Jacobian; TF.js float32, gradients only; PyTorch one thread, fused f32/f64 and unrolled f64 with retain_grad on every h_t (c_t).\n`);

  const workloads: WorkloadResult[] = [];
  const benched: [Workload, WorkloadResult][] = [];
  for (const w of WORKLOADS) {
    if (!selected(w.name)) continue;
    const r = await benchWorkload(w, args, torch);
    workloads.push(r);
    benched.push([w, r]);
    const t = r.torch ? `, torch f32 ${fmtMs(r.torch.ms.fused32)} / f64 ${fmtMs(r.torch.ms.fused64)} / unrolled f64 ${fmtMs(r.torch.ms.unrolled64)} ms` : '';
    console.log(`  ${w.name}: engine ${fmtMs(r.engineMs)} ms (norms only ${fmtMs(r.engineNormsOnlyMs)})${r.engineTsKernelsMs !== undefined ? ` (TS kernels ${fmtMs(r.engineTsKernelsMs as number)} ms)` : ''}${t}`);
  }
  // Everything timed in this process comes before TF.js is loaded (see the header).
  const itemized = extras ? benchItemized(args) : null;
  const cells = benchCells(args.reps, args.warmup, (c) => selected('cells') || selected(`cell-${c}`));
  if (torch) await torch.close();

  const tf = args.engineOnly ? null : await loadTf();
  environment.tfjs = tf ? tf.version.tfjs : null;
  if (tf) {
    for (const backend of ['cpu', 'wasm'] as const) {
      if (backend === 'wasm') await loadTfWasm(tf);
      for (const [w, r] of benched) {
        if (w.heavy) continue;
        await tfjsWorkload(w, args, tf, backend, r);
        console.log(`  ${w.name}: tfjs-${backend} ${fmtMs(backend === 'cpu' ? r.tfjsCpuMs : r.tfjsWasmMs)} ms (TF.js ${tf.version.tfjs})`);
      }
    }
  }
  if (args.sweep && selected('sweep')) {
    const r = await benchSweep(WORKLOADS[0], args, tf);
    workloads.push(r);
    console.log(`  ${r.name}: 1 worker ${fmtMs(r.engine1WorkerMs as number)} ms, ${r.engineWorkers} workers ${fmtMs(r.engineMs)} ms (pool speedup ${fmtX(r.poolSpeedup as number)}, identical results: ${r.deterministicAcrossPoolSizes}), tfjs-wasm sequential ${fmtMs(r.tfjsWasmMs)} ms`);
  }
  console.log('');
  printTable(workloads);
  if (workloads.some((r) => r.torch)) {
    console.log(`\nPyTorch (ratios: torch ms / engine ms, above 1× the engine is faster; Δ: max relative difference of loss and gradients vs the engine's float64)`);
    printTorchTable(workloads);
  }
  const sweep = workloads.find((r) => r.name.startsWith('sweep-'));
  if (sweep) {
    console.log(`\nsweep: ${sweep.runs} runs × ${sweep.iterationsPerRun} iterations; engine on 1 worker ${fmtMs(sweep.engine1WorkerMs as number)} ms vs ${sweep.engineWorkers} workers ${fmtMs(sweep.engineMs)} ms = ${fmtX(sweep.poolSpeedup as number)} (medians of ${args.sweepReps}; of minima ${fmtX(sweep.poolSpeedupOfMinima as number)}; CPU time ${fmtMs(sweep.engine1WorkerCpuMs as number)} vs ${fmtMs(sweep.engineAllWorkersCpuMs as number)} ms; load average ${(sweep.loadAverage as number[])[0].toFixed(1)}); TF.js runs the sweep sequentially${args.sweepTfjsCpu ? '' : ' (wasm only; --sweep-tfjs-cpu adds cpu)'}.`);
  }
  if (itemized) {
    console.log(`itemized T×T matrix, LSTM H=64 B=1 T=${itemized.steps} many-to-many: pass ${fmtMs(itemized.passMs)} ms, with itemized ${fmtMs(itemized.passWithItemizedMs)} ms (matrix costs ${fmtMs(itemized.itemizedMs)} ms)`);
  }
  if (peakRss) {
    const hwm = peakRss.peakVmHwmMiB !== null ? `; VmHWM ${peakRss.peakVmHwmMiB.toFixed(0)} vs ${peakRss.baselineVmHwmMiB!.toFixed(0)} MiB` : '';
    console.log(`peak RSS, LSTM H=64 B=1 T=${peakRss.steps} forward+backward with probes (child process): maxRSS ${peakRss.peakRssMiB.toFixed(0)} MiB, a T=1 pass ${peakRss.baselineRssMiB.toFixed(0)} MiB${hwm}; pass ${fmtMs(peakRss.passMs)} ms`);
  }
  printCells(cells, cellRss);
  if (args.out) {
    const json = JSON.stringify({ schema: 'bptt-lens/bench@1', environment: { ...environment, loadAverageAtEnd: os.loadavg() }, workloads, itemized, peakRss, cells, cellRss }, null, 2) + '\n';
    const tmp = `${args.out}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, json);
    fs.renameSync(tmp, args.out);
    console.log(`\nwrote ${args.out}`);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack ?? err.message : String(err));
  process.exit(1);
});
