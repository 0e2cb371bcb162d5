import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createOptimizer, type OptimizerSpec } from '../../src/engine/optim';
import { spectralRadius } from '../../src/engine/init';
import type { ParamSet } from '../../src/engine/types';

const FIXTURES = join(__dirname, '..', 'fixtures', 'torch');

interface OptimFixture {
  initial: number[];
  grads: number[][];
  runs: { kind: OptimizerSpec['kind']; spec: Omit<OptimizerSpec, 'kind'>; params: number[][] }[];
}

const one = (name: string, values: number[]): ParamSet => new Map([[name, { shape: [values.length], data: Float64Array.from(values) }]]);

test('SGD, momentum and Adam reproduce torch.optim trajectories (scripts/make-torch-fixtures.py)', () => {
  const fx = JSON.parse(readFileSync(join(FIXTURES, 'optim.json'), 'utf8')) as OptimFixture;
  for (const run of fx.runs) {
    const opt = createOptimizer({ kind: run.kind, ...run.spec });
    const params = one('w', fx.initial);
    fx.grads.forEach((g, step) => {
      opt.step(params, one('w', g));
      const got = params.get('w')!.data;
      run.params[step].forEach((want, k) => {
        const err = Math.abs(got[k] - want) / Math.max(1e-12, Math.abs(want));
        assert.ok(err < 1e-13, `${run.kind} step ${step} [${k}]: ${got[k]} vs torch ${want}`);
      });
    });
    assert.equal(opt.steps, fx.grads.length);
  }
});

test('first momentum step equals plain SGD (PyTorch initialises the buffer to g)', () => {
  const a = one('w', [1, 2]);
  const b = one('w', [1, 2]);
  createOptimizer({ kind: 'momentum', learningRate: 0.1 }).step(a, one('w', [0.5, -1]));
  createOptimizer({ kind: 'sgd', learningRate: 0.1 }).step(b, one('w', [0.5, -1]));
  assert.deepEqual(a.get('w')!.data, b.get('w')!.data);
});

test('Adam first step moves each parameter by about lr against the sign of its gradient', () => {
  const p = one('w', [0, 0, 0]);
  createOptimizer({ kind: 'adam', learningRate: 0.01 }).step(p, one('w', [3, -1e-3, 100]));
  for (const [v, s] of [[p.get('w')!.data[0], -1], [p.get('w')!.data[1], 1], [p.get('w')!.data[2], -1]]) assert.ok(Math.abs(v - s * 0.01) < 1e-7);
});

test('missing or mis-sized gradients throw', () => {
  const opt = createOptimizer({ kind: 'sgd', learningRate: 0.1 });
  assert.throws(() => opt.step(one('w', [1]), one('v', [1])), /no gradient for parameter 'w'/);
  assert.throws(() => opt.step(one('w', [1]), one('w', [1, 2])), /2 entries/);
  assert.throws(() => createOptimizer({ kind: 'adam', learningRate: NaN }));
});

test('spectralRadius agrees with numpy.linalg.eigvals on random nonsymmetric matrices', () => {
  const cases = JSON.parse(readFileSync(join(FIXTURES, 'eig.json'), 'utf8')) as { n: number; matrix: number[]; spectralRadius: number }[];
  for (const c of cases) {
    const got = spectralRadius(Float64Array.from(c.matrix), c.n);
    assert.ok(Math.abs(got - c.spectralRadius) <= 1e-10 * c.spectralRadius, `n=${c.n}: ${got} vs numpy ${c.spectralRadius}`);
  }
});

interface TrainFixture {
  case: string;
  optimizer: OptimizerSpec['kind'];
  learningRate: number;
  clip: { kind: 'none' } | { kind: 'norm' | 'value'; threshold: number };
  losses: number[];
  preClipNorm: number[];
  postClipNorm: number[];
  params: Record<string, number[]>;
}

test('three training steps (runPass, clipGradients, optimizer) follow PyTorch: Adam + norm clip, momentum + value clip, SGD', async () => {
  const { runPass } = await import('../../src/engine/bptt');
  const { clipGradients } = await import('../../src/engine/clip');
  const { modelFromStateDict } = await import('../../src/io/stateDict');
  const { readSafetensors } = await import('../../src/io/safetensors');
  const { parseBatchJson } = await import('../../src/io/batchJson');
  const runs = JSON.parse(readFileSync(join(FIXTURES, 'train.json'), 'utf8')) as TrainFixture[];
  const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);
  for (const run of runs) {
    const ex = JSON.parse(readFileSync(join(FIXTURES, `${run.case}.expected.json`), 'utf8'));
    const model = modelFromStateDict(readSafetensors(readFileSync(join(FIXTURES, ex.weights)), ex.weights).tensors, ex.weights);
    const batch = parseBatchJson(readFileSync(join(FIXTURES, ex.input), 'utf8'), ex.input, { model: model.config });
    const opt = createOptimizer({ kind: run.optimizer, learningRate: run.learningRate });
    run.losses.forEach((wantLoss, step) => {
      const pass = runPass(model, batch, { loss: ex.lossKind, probes: { gates: false, weightGradByStep: false, jacobian: false } });
      assert.ok(rel(pass.loss, wantLoss) < 1e-9, `${run.case} step ${step}: loss ${pass.loss} vs torch ${wantLoss}`);
      const c = clipGradients(pass.grads, run.clip);
      assert.ok(rel(c.before, run.preClipNorm[step]) < 1e-9, `${run.case} step ${step}: pre-clip norm`);
      assert.ok(rel(c.after, run.postClipNorm[step]) < 1e-9, `${run.case} step ${step}: post-clip norm`);
      opt.step(model.params, pass.grads);
    });
    let worst = 0;
    for (const [stored, want] of Object.entries(run.params)) {
      const engineName = stored.startsWith(ex.headPrefix) ? `head.${stored.slice(ex.headPrefix.length)}` : stored.slice(ex.statePrefix.length);
      const got = model.params.get(engineName)!.data;
      want.forEach((v, k) => (worst = Math.max(worst, Math.abs(got[k] - v) / Math.max(Math.abs(v), 1e-6))));
    }
    assert.ok(worst < 1e-9, `${run.case}: parameters after ${run.losses.length} steps differ from torch by ${worst} relative`);
    if (process.env.BPTT_LENS_VERBOSE) console.log(`${run.case} (${run.optimizer}, clip ${run.clip.kind}): params max rel err ${worst.toExponential(1)}`);
  }
});
