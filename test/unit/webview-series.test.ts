import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { downsampleMinMax, forLog, indexRanges, lastFinite, medianFinite, nonFiniteIndices, sharedLogRange } from '../../webview/series';

test('short series pass through unchanged, with non-finite values as gaps', () => {
  const pts = downsampleMinMax([1, null, NaN, 4], 10);
  assert.deepEqual(pts, [{ x: 0, y: 1 }, { x: 1, y: null }, { x: 2, y: null }, { x: 3, y: 4 }]);
});

test('downsampling keeps a one-iteration spike and a one-iteration dip', () => {
  const ys = Array.from({ length: 10_000 }, () => 1);
  ys[4321] = 1e6;
  ys[8765] = 1e-6;
  const pts = downsampleMinMax(ys, 300);
  assert.ok(pts.length <= 300, `got ${pts.length} points`);
  assert.ok(pts.some((p) => p.x === 4321 && p.y === 1e6), 'spike kept');
  assert.ok(pts.some((p) => p.x === 8765 && p.y === 1e-6), 'dip kept');
});

test('downsampling keeps first and last points and x order', () => {
  const ys = Array.from({ length: 5000 }, (_, i) => Math.sin(i / 50));
  const xs = ys.map((_, i) => i * 10);
  const pts = downsampleMinMax(ys, 200, xs);
  assert.equal(pts[0]!.x, 0);
  assert.equal(pts[pts.length - 1]!.x, 49_990);
  for (let i = 1; i < pts.length; i++) assert.ok(pts[i]!.x > pts[i - 1]!.x);
});

test('a gap inside a bucket survives downsampling, so non-finite runs are never bridged', () => {
  const ys: (number | null)[] = Array.from({ length: 10_000 }, (_, i) => i + 1);
  ys[5000] = null;
  const pts = downsampleMinMax(ys, 100);
  assert.ok(pts.some((p) => p.y === null));
});

test('downsampling preserves global min and max and respects the budget (property)', () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.constant(null)), { minLength: 1, maxLength: 3000 }),
      fc.integer({ min: 5, max: 500 }),
      (ys, max) => {
        const pts = downsampleMinMax(ys, max);
        const finite = ys.filter((v): v is number => v !== null);
        if (ys.length > max && pts.length > max) return false;
        if (finite.length === 0) return pts.every((p) => p.y === null);
        const ysOut = pts.map((p) => p.y).filter((v): v is number => v !== null);
        return Math.min(...ysOut) === Math.min(...finite) && Math.max(...ysOut) === Math.max(...finite);
      },
    ),
  );
});

test('sharedLogRange spans every series, ignoring null, zero, negative and non-finite', () => {
  const r = sharedLogRange([
    [0.5, null, 0, 3],
    [2e-7, -1, NaN],
    [Infinity, 40],
  ]);
  assert.deepEqual(r, { min: 1e-7, max: 100 });
});

test('sharedLogRange includes extra values (e.g. clip thresholds) and returns null with nothing plottable', () => {
  assert.deepEqual(sharedLogRange([[1, 2]], [null, 50]), { min: 1, max: 100 });
  assert.equal(sharedLogRange([[null, 0], []]), null);
});

test('sharedLogRange widens an exact decade to a full decade', () => {
  assert.deepEqual(sharedLogRange([[1, 1]]), { min: 1, max: 10 });
  assert.deepEqual(sharedLogRange([[1e-3, 1e2]]), { min: 1e-3, max: 1e2 });
});

test('sharedLogRange stays finite at the edges of float64', () => {
  const r = sharedLogRange([[5e-324, 1.7e308]])!;
  assert.ok(r.min > 0 && Number.isFinite(r.max));
});

test('forLog, nonFiniteIndices, lastFinite, medianFinite', () => {
  assert.equal(forLog(0), null);
  assert.equal(forLog(-2), null);
  assert.equal(forLog(3), 3);
  assert.deepEqual(nonFiniteIndices([1, null, NaN, Infinity, 0]), [1, 2, 3]);
  assert.equal(lastFinite([1, 2, null, NaN]), 2);
  assert.equal(lastFinite([null]), null);
  assert.equal(medianFinite([3, null, 1, 2, NaN]), 2);
  assert.equal(medianFinite([4, 1, 2, 3]), 2.5);
  assert.equal(medianFinite([]), null);
});

test('indexRanges groups consecutive indices', () => {
  assert.deepEqual(indexRanges([3, 4, 5, 9, 11, 12]), [{ from: 3, to: 5 }, { from: 9, to: 9 }, { from: 11, to: 12 }]);
  assert.deepEqual(indexRanges([]), []);
});
