// The benchmark's TensorFlow.js side: the same RNN / LSTM / GRU cells as the engine
// (design §2, PyTorch gate order and shapes), written in TF.js ops, with gradients from
// tf.variableGrads. TF.js computes in float32 only (its one floating dtype in the cpu and
// wasm backends); the engine computes in float64. The benchmark checks that both give the
// same loss and gradients to float32 accuracy before it times anything.
//
// TF.js is loaded with require() at run time (it is external to the bundle), so the wasm
// backend finds its .wasm binaries in node_modules.

import type * as TfModule from '@tensorflow/tfjs';
import * as path from 'node:path';

export type Tf = typeof TfModule;
type Tensor2D = TfModule.Tensor2D;
type Variable = TfModule.Variable;

/** Plain weights shared by both sides, PyTorch layout, float64 (converted to float32 for TF.js). */
export interface BenchWeights {
  cell: 'rnn' | 'lstm' | 'gru';
  nonlinearity: 'tanh' | 'relu';
  inputSize: number;
  hiddenSize: number;
  outputSize: number;
  /** [G*H, I], [G*H, H], [G*H], [G*H], [O, H], [O] with G = 1, 4, 3 for rnn, lstm, gru. */
  weightIh: Float64Array;
  weightHh: Float64Array;
  biasIh: Float64Array;
  biasHh: Float64Array;
  headWeight: Float64Array;
  headBias: Float64Array;
}

/** Many-to-one data: x [B, T, I], y [B, O]. */
export interface BenchData {
  batchSize: number;
  steps: number;
  x: Float64Array;
  y: Float64Array;
}

export const PARAM_ORDER = ['weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0', 'head.weight', 'head.bias'] as const;
export type ParamName = (typeof PARAM_ORDER)[number];

function gateCount(cell: BenchWeights['cell']): number {
  return cell === 'lstm' ? 4 : cell === 'gru' ? 3 : 1;
}

let tfLoaded: Tf | null = null;
let wasmReady = false;

/** Fails now, with the module's name, if TF.js or its wasm backend is not installed, without loading either. */
export function checkTfInstalled(): void {
  require.resolve('@tensorflow/tfjs');
  require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm');
}

/**
 * Load TF.js on its cpu backend. The wasm backend comes later (loadTfWasm): setting it up
 * grows its WebAssembly memory, which detaches an ArrayBuffer and slows every typed-array
 * access in the process from then on (bench.ts's header), so the cpu backend is timed first.
 */
export async function loadTf(): Promise<Tf> {
  if (tfLoaded) return tfLoaded;
  // Quiet TF.js's "install tfjs-node" banner: it is exactly the point that we do not.
  const { log, warn } = console;
  console.log = console.warn = () => {};
  try {
    const tf = require('@tensorflow/tfjs') as Tf;
    await tf.setBackend('cpu');
    await tf.ready();
    tf.tensor([0]).dispose(); // the banner comes with the cpu backend's first write
    tfLoaded = tf;
    return tf;
  } finally {
    console.log = log;
    console.warn = warn;
  }
}

/** Register TF.js's wasm backend (SIMD binary; Node gets no wasm threads in TF.js 4.22). */
export async function loadTfWasm(tf: Tf): Promise<void> {
  if (wasmReady) return;
  const { log, warn } = console;
  console.log = console.warn = () => {};
  try {
    const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
    const wasmDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    wasm.setWasmPaths(wasmDir + path.sep);
    wasmReady = await tf.setBackend('wasm');
    await tf.ready();
    await tf.setBackend('cpu');
  } finally {
    console.log = log;
    console.warn = warn;
  }
}

export async function useBackend(tf: Tf, name: 'cpu' | 'wasm'): Promise<void> {
  if (name === 'wasm' && !wasmReady) throw new Error('the TF.js wasm backend did not initialise');
  if (tf.getBackend() !== name) {
    await tf.setBackend(name);
    await tf.ready();
  }
}

/** A model's variables and data living on one TF.js backend. */
export class TfRecurrentModel {
  readonly variables: Record<ParamName, Variable>;
  private readonly xs: Tensor2D[];
  private readonly target: Tensor2D;

  constructor(
    private readonly tf: Tf,
    private readonly w: BenchWeights,
    data: BenchData,
  ) {
    const G = gateCount(w.cell);
    const { hiddenSize: H, inputSize: I, outputSize: O } = w;
    const v = (name: string, values: Float64Array, shape: number[]): Variable =>
      tf.variable(tf.tensor(Float32Array.from(values), shape, 'float32'), true, `${name}_${Math.random().toString(36).slice(2)}`);
    this.variables = {
      weight_ih_l0: v('wih', w.weightIh, [G * H, I]),
      weight_hh_l0: v('whh', w.weightHh, [G * H, H]),
      bias_ih_l0: v('bih', w.biasIh, [G * H]),
      bias_hh_l0: v('bhh', w.biasHh, [G * H]),
      'head.weight': v('hw', w.headWeight, [O, H]),
      'head.bias': v('hb', w.headBias, [O]),
    };
    const { batchSize: B, steps: T } = data;
    const x = tf.tensor3d(Float32Array.from(data.x), [B, T, I]);
    this.xs = tf.unstack(x, 1) as Tensor2D[];
    x.dispose();
    this.target = tf.tensor2d(Float32Array.from(data.y), [B, O]);
  }

  /** MSE of the many-to-one readout: mean over every output element (F.mse_loss). */
  loss(): TfModule.Scalar {
    const tf = this.tf;
    const { cell, nonlinearity, hiddenSize: H } = this.w;
    const V = this.variables;
    const B = this.target.shape[0];
    let h: Tensor2D = tf.zeros([B, H]);
    let c: Tensor2D = tf.zeros([B, H]);
    for (const xt of this.xs) {
      const gi = tf.add(tf.matMul(xt, V.weight_ih_l0, false, true), V.bias_ih_l0) as Tensor2D;
      const gh = tf.add(tf.matMul(h, V.weight_hh_l0, false, true), V.bias_hh_l0) as Tensor2D;
      if (cell === 'rnn') {
        const a = tf.add(gi, gh);
        h = (nonlinearity === 'relu' ? tf.relu(a) : tf.tanh(a)) as Tensor2D;
      } else if (cell === 'lstm') {
        const [ai, af, ag, ao] = tf.split(tf.add(gi, gh), 4, 1);
        const i = tf.sigmoid(ai);
        const f = tf.sigmoid(af);
        const g = tf.tanh(ag);
        const o = tf.sigmoid(ao);
        c = tf.add(tf.mul(f, c), tf.mul(i, g)) as Tensor2D;
        h = tf.mul(o, tf.tanh(c)) as Tensor2D;
      } else {
        const [ir, iz, inn] = tf.split(gi, 3, 1);
        const [hr, hz, hn] = tf.split(gh, 3, 1);
        const r = tf.sigmoid(tf.add(ir, hr));
        const z = tf.sigmoid(tf.add(iz, hz));
        const n = tf.tanh(tf.add(inn, tf.mul(r, hn)));
        h = tf.add(tf.mul(tf.sub(1, z), n), tf.mul(z, h)) as Tensor2D;
      }
    }
    const y = tf.add(tf.matMul(h, V['head.weight'], false, true), V['head.bias']);
    return tf.mean(tf.squaredDifference(y, this.target));
  }

  /** One forward + backward pass; returns the loss (read back, so the work is finished). */
  lossAndGrads(): number {
    return this.tf.tidy(() => {
      const { value } = this.tf.variableGrads(() => this.loss());
      return value.dataSync()[0];
    });
  }

  /** Loss and gradients read back as float64 arrays, for the agreement check. */
  gradients(): { loss: number; grads: Record<ParamName, Float64Array> } {
    const out = {} as Record<ParamName, Float64Array>;
    let loss = NaN;
    this.tf.tidy(() => {
      const { value, grads } = this.tf.variableGrads(() => this.loss());
      for (const name of PARAM_ORDER) out[name] = Float64Array.from(grads[this.variables[name].name].dataSync());
      loss = value.dataSync()[0];
    });
    return { loss, grads: out };
  }

  /**
   * One SGD step with gradient clipping by global norm as the engine clips (clip.ts: scale
   * by threshold / norm when norm > threshold). Returns the loss.
   */
  trainStep(learningRate: number, clipThreshold: number | null): number {
    const tf = this.tf;
    return tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => this.loss());
      const list = PARAM_ORDER.map((name) => grads[this.variables[name].name]);
      let scale = 1;
      if (clipThreshold !== null) {
        const norm = Math.sqrt(tf.addN(list.map((g) => tf.sum(tf.square(g)))).dataSync()[0]);
        if (norm > clipThreshold) scale = clipThreshold / norm;
      }
      PARAM_ORDER.forEach((name, k) => this.variables[name].assign(tf.sub(this.variables[name], tf.mul(list[k], learningRate * scale))));
      return value.dataSync()[0];
    });
  }

  dispose(): void {
    for (const name of PARAM_ORDER) this.variables[name].dispose();
    for (const x of this.xs) x.dispose();
    this.target.dispose();
  }
}
