import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clipGradients, gradNorm } from '../../src/engine/clip';
import type { ParamSet } from '../../src/engine/types';

const set = (...tensors: number[][]): ParamSet => new Map(tensors.map((d, k) => [`p${k}`, { shape: [d.length], data: Float64Array.from(d) }]));

test('gradNorm is the global L2 norm over all tensors', () => {
  assert.equal(gradNorm(set([3], [4])), 5);
  assert.equal(gradNorm(set([], [0, 0])), 0);
  assert.ok(Math.abs(gradNorm(set([1, 2, 2], [4])) - 5) < 1e-15);
});

test('gradNorm neither overflows nor underflows', () => {
  assert.ok(Math.abs(gradNorm(set([3e300], [4e300])) / 5e300 - 1) < 1e-15);
  const tiny = gradNorm(set([3e-300], [4e-300]));
  assert.ok(Math.abs(tiny / 5e-300 - 1) < 1e-15, `${tiny}`);
  assert.ok(gradNorm(set([5e-324])) > 0);
});

test('gradNorm reports non-finite entries', () => {
  assert.ok(Number.isNaN(gradNorm(set([1, NaN]))));
  assert.ok(Number.isNaN(gradNorm(set([Infinity], [NaN]))));
  assert.equal(gradNorm(set([1], [-Infinity])), Infinity);
});

test('norm clipping rescales to theta only above theta (Pascanu et al. 2013)', () => {
  const g = set([3], [4]);
  const r = clipGradients(g, { kind: 'norm', threshold: 1 });
  assert.equal(r.before, 5);
  assert.ok(Math.abs(r.after - 1) < 1e-15);
  assert.equal(r.clipped, true);
  assert.ok(Math.abs(g.get('p0')!.data[0] - 0.6) < 1e-15);
  assert.ok(Math.abs(g.get('p1')!.data[0] - 0.8) < 1e-15);
  const h = set([3], [4]);
  assert.deepEqual(clipGradients(h, { kind: 'norm', threshold: 5 }), { before: 5, after: 5, clipped: false });
  assert.equal(h.get('p0')!.data[0], 3);
});

test('norm clipping leaves non-finite gradients untouched and reports the norm', () => {
  const g = set([1, Infinity]);
  const r = clipGradients(g, { kind: 'norm', threshold: 1 });
  assert.equal(r.before, Infinity);
  assert.equal(r.clipped, false);
  assert.deepEqual(Array.from(g.get('p0')!.data), [1, Infinity]);
  assert.ok(Number.isNaN(clipGradients(set([NaN]), { kind: 'norm', threshold: 1 }).before));
});

test('value clipping clamps each element (clip_grad_value_), NaN stays NaN', () => {
  const g = set([-3, 0.5, 2], [NaN]);
  const r = clipGradients(g, { kind: 'value', threshold: 1 });
  assert.deepEqual(Array.from(g.get('p0')!.data), [-1, 0.5, 1]);
  assert.ok(Number.isNaN(g.get('p1')!.data[0]));
  assert.equal(r.clipped, true);
  assert.ok(Number.isNaN(r.before));
  const h = set([0.2, -0.3]);
  const s = clipGradients(h, { kind: 'value', threshold: 1 });
  assert.equal(s.clipped, false);
  assert.equal(s.after, s.before);
});

test("'none' reports the norm and changes nothing; bad thresholds throw", () => {
  const g = set([3, 4]);
  assert.deepEqual(clipGradients(g, { kind: 'none' }), { before: 5, after: 5, clipped: false });
  assert.throws(() => clipGradients(g, { kind: 'norm', threshold: 0 }));
  assert.throws(() => clipGradients(g, { kind: 'value', threshold: NaN }));
});
