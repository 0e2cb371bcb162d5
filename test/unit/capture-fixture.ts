// Synthetic capture files for the reader, CLI and extension tests: a small module with seeded
// weights, its output replayed by the engine (so the replay check is exact), a random upstream
// gradient. `edit` lets a test break one thing at a time.
import { runInjectedPass } from '../../src/engine/inject';
import type { ParamSet } from '../../src/engine/types';
import { writeSafetensors } from '../../src/io/safetensors';

export interface FixtureOptions {
  module?: 'RNN' | 'LSTM' | 'GRU';
  layers?: number;
  hidden?: number;
  input?: number;
  steps?: number;
  batch?: number;
  bidirectional?: boolean;
  step?: number;
  seed?: number;
  /** Scale of the recurrent weights (large: exploding, small: vanishing). */
  recurrentScale?: number;
  dtype?: 'F32' | 'F64';
  /** Change the tensors or the metadata before writing. */
  edit?: (tensors: Map<string, { shape: number[]; data: Float64Array }>, metadata: Record<string, string>) => void;
}

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) / 4294967296) * 2 - 1;
  };
}

export function makeCaptureBytes(o: FixtureOptions = {}): Uint8Array {
  const module = o.module ?? 'LSTM';
  const L = o.layers ?? 2;
  const H = o.hidden ?? 6;
  const I = o.input ?? 3;
  const T = o.steps ?? 9;
  const B = o.batch ?? 2;
  const D = o.bidirectional ? 2 : 1;
  const G = module === 'LSTM' ? 4 : module === 'GRU' ? 3 : 1;
  const rand = rng(o.seed ?? 7);
  const fill = (n: number, scale = 0.5) => Float64Array.from({ length: n }, () => rand() * scale);
  const tensors = new Map<string, { shape: number[]; data: Float64Array }>();
  const params: ParamSet = new Map();
  for (let l = 0; l < L; l++) {
    for (let d = 0; d < D; d++) {
      const sfx = `_l${l}${d === 1 ? '_reverse' : ''}`;
      const inSize = l === 0 ? I : D * H;
      const entries: Array<[string, number[], number]> = [
        [`weight_ih${sfx}`, [G * H, inSize], 0.5],
        [`weight_hh${sfx}`, [G * H, H], o.recurrentScale ?? 0.5],
        [`bias_ih${sfx}`, [G * H], 0.1],
        [`bias_hh${sfx}`, [G * H], 0.1],
      ];
      for (const [name, shape, scale] of entries) {
        const t = { shape, data: fill(shape.reduce((a, b) => a * b, 1), scale) };
        tensors.set(name, t);
        params.set(name, t);
      }
    }
  }
  const input = fill(B * T * I, 1);
  const gradOutput = fill(B * T * D * H, 0.1);
  const cell = module === 'LSTM' ? 'lstm' : module === 'GRU' ? 'gru' : 'rnn';
  const pass = runInjectedPass({
    config: { cell, nonlinearity: 'tanh', variant: 'vanilla', inputSize: I, hiddenSize: H, numLayers: L, bidirectional: D === 2 },
    params, batchSize: B, steps: T, input, gradOutput, probes: { gates: false, jacobian: false, weightGradByStep: false },
  });
  tensors.set('input', { shape: [B, T, I], data: input });
  tensors.set('output', { shape: [B, T, D * H], data: pass.output });
  tensors.set('grad_output', { shape: [B, T, D * H], data: gradOutput });
  tensors.set('grad_input', { shape: [B, T, I], data: pass.gradInput });
  const metadata: Record<string, string> = {
    schema: 'bptt-lens/capture@1', module, nonlinearity: 'tanh', num_layers: String(L), bidirectional: D === 2 ? 'true' : 'false',
    hidden_size: String(H), input_size: String(I), bias: 'true', batch_first: 'true', step: String(o.step ?? 0), epoch: '', rank: '0',
    world_size: '1', loss: '0.5', dtype: 'float32', dropout: '0.0', framework: 'torch 1.13.0', name: 'encoder.lstm', examples: `${B} of ${B * 4}`,
  };
  o.edit?.(tensors, metadata);
  return writeSafetensors(tensors, { dtype: o.dtype ?? 'F64', metadata });
}

export function captureName(step: number): string {
  return `step-${String(step).padStart(8, '0')}.capture.safetensors`;
}
