import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { cellAt, colorize, indexTicks, matrixDomain, moveCursor, poolMax, scanMatrix } from '../../webview/heatmapImage';
import { LUT_SIZE, logDomain, lutColor, paletteLut, SPECIAL } from '../../webview/scales';
import { EMPTY } from '../../webview/viewModel';

const px = (out: Uint8ClampedArray, i: number) => [out[i * 4], out[i * 4 + 1], out[i * 4 + 2], out[i * 4 + 3]];

test('colorize: log palette for values, special colours for NaN and 0, transparent for EMPTY', () => {
  const lut = paletteLut('viridis');
  const values = new Float64Array([1e-6, 1, 1e-3, NaN, 0, EMPTY, Infinity]);
  const out = new Uint8ClampedArray(values.length * 4);
  const stats = colorize(values, { lo: -6, hi: 0 }, lut, SPECIAL.viridis, out);
  assert.deepEqual(px(out, 0), [...lutColor(lut, 0), 255]);
  assert.deepEqual(px(out, 1), [...lutColor(lut, LUT_SIZE - 1), 255]);
  assert.deepEqual(px(out, 2), [...lutColor(lut, Math.round((LUT_SIZE - 1) / 2)), 255]);
  assert.deepEqual(px(out, 3), [...SPECIAL.viridis.nonFinite, 255]);
  assert.deepEqual(px(out, 4), [...SPECIAL.viridis.zero, 255]);
  assert.equal(px(out, 5)[3], 0);
  assert.deepEqual(px(out, 6), [...SPECIAL.viridis.nonFinite, 255], 'Infinity is non-finite');
  assert.deepEqual(stats, { nonFinite: 2, zero: 1, empty: 1 });
});

test('the non-finite colour appears nowhere in its palette', () => {
  for (const name of ['viridis', 'inferno'] as const) {
    const lut = paletteLut(name);
    const nf = SPECIAL[name].nonFinite;
    let nearest = Infinity;
    for (let k = 0; k < LUT_SIZE; k++) {
      const c = lutColor(lut, k);
      nearest = Math.min(nearest, Math.hypot(c[0] - nf[0], c[1] - nf[1], c[2] - nf[2]));
    }
    assert.ok(nearest > 100, `${name}: nearest palette colour is ${nearest} away`);
  }
});

test('colorize agrees with a per-cell reference on random matrices (property)', () => {
  const lut = paletteLut('inferno');
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.double({ min: 1e-30, max: 1e30, noNaN: true }), fc.constant(NaN), fc.constant(0), fc.constant(EMPTY)), { minLength: 1, maxLength: 200 }), (arr) => {
      const values = Float64Array.from(arr);
      const d = matrixDomain(values) ?? { lo: -1, hi: 0 };
      const out = new Uint8ClampedArray(values.length * 4);
      colorize(values, d, lut, SPECIAL.inferno, out);
      return arr.every((v, i) => {
        if (v > 0) {
          const k = Math.min(LUT_SIZE - 1, Math.max(0, Math.round(((Math.log10(v) - d.lo) / (d.hi - d.lo)) * (LUT_SIZE - 1))));
          return px(out, i).join() === [...lutColor(lut, k), 255].join();
        }
        return true;
      });
    }),
  );
});

// Speed is measured in the real webview by the e2e test (window.__bpttLensPerf), not here.
test('colorizing 1000 x 500 cells maps the largest norm to the top of the palette', () => {
  const rows = 500;
  const cols = 1000;
  const values = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) values[i * cols + j] = 0.3 * 0.99 ** (cols - 1 - j) * (1 + i / rows);
  const out = new Uint8ClampedArray(values.length * 4);
  const lut = paletteLut('viridis');
  const d = matrixDomain(values)!;
  colorize(values, d, lut, SPECIAL.viridis, out);
  // The right-hand column (t = T-1, largest norm in the last row) is the top of the palette.
  assert.deepEqual(px(out, rows * cols - 1), [...lutColor(lut, LUT_SIZE - 1), 255]);
});

test('matrixDomain matches logDomain over the plottable cells', () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.double({ min: 1e-300, max: 1e300, noNaN: true }), fc.constant(NaN), fc.constant(0), fc.constant(EMPTY), fc.constant(Infinity))), (arr) => {
      const expected = logDomain(arr.filter((v) => v > 0 && v < Infinity));
      assert.deepEqual(matrixDomain(Float64Array.from(arr)), expected);
    }),
  );
});

test('scanMatrix counts special cells in the same pass as the domain', () => {
  const s = scanMatrix(new Float64Array([1e-3, NaN, 0, EMPTY, EMPTY, Infinity, 10]));
  assert.deepEqual(s, { domain: { lo: -3, hi: 1 }, nonFinite: 2, zero: 1, empty: 2 });
});

test('poolMax returns the matrix untouched when it fits', () => {
  const v = new Float64Array([1, 2, 3, 4]);
  assert.equal(poolMax(v, 2, 2, 10, 10).values, v);
});

test('poolMax keeps a one-column spike and a one-column NaN that nearest-neighbour would drop', () => {
  const rows = 4;
  const cols = 1000;
  const v = new Float64Array(rows * cols).fill(1e-3);
  for (let i = 0; i < rows; i++) {
    v[i * cols + 501] = 50; // spike at t = 501
    v[i * cols + 777] = NaN; // non-finite at t = 777
  }
  const p = poolMax(v, rows, cols, 4, 300);
  assert.equal(p.cols, 300);
  const row0 = Array.from(p.values.subarray(0, 300));
  assert.equal(row0.filter((x) => x === 50).length, 1, 'spike kept once');
  assert.equal(row0.filter((x) => Number.isNaN(x)).length, 1, 'NaN kept once');
  assert.equal(row0[Math.floor((501 * 300) / 1000)], 50);
  assert.ok(Number.isNaN(row0[Math.floor((777 * 300) / 1000)]!));
});

test('poolMax: EMPTY only when the whole block is EMPTY (itemized triangle edge)', () => {
  const v = new Float64Array([EMPTY, EMPTY, 2, EMPTY, EMPTY, EMPTY, EMPTY, EMPTY]);
  const p = poolMax(v, 2, 4, 1, 2);
  assert.deepEqual(Array.from(p.values), [EMPTY, 2]);
});

test('poolMax: the pooled maximum equals the block maximum (property)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 30 }), fc.integer(), (rows, cols, R, C, seed) => {
      let s = seed >>> 0;
      const v = Float64Array.from({ length: rows * cols }, () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 100 + 1e-9);
      const p = poolMax(v, rows, cols, R, C);
      const finite = Array.from(v);
      const pooled = Array.from(p.values);
      return Math.max(...pooled) === Math.max(...finite) && p.rows === Math.min(rows, R) && p.cols === Math.min(cols, C) && pooled.every((x) => x !== EMPTY);
    }),
  );
});

test('cellAt maps plot pixels to cells and refuses points outside', () => {
  const r = { left: 10, top: 20, width: 100, height: 50 };
  assert.deepEqual(cellAt(10, 20, r, 5, 10), { row: 0, col: 0 });
  assert.deepEqual(cellAt(109.9, 69.9, r, 5, 10), { row: 4, col: 9 });
  assert.deepEqual(cellAt(55, 45, r, 5, 10), { row: 2, col: 4 });
  assert.equal(cellAt(9, 30, r, 5, 10), null);
  assert.equal(cellAt(110, 30, r, 5, 10), null);
  assert.equal(cellAt(50, 70, r, 5, 10), null);
});

test('indexTicks: 1-2-5 steps from 0, inside the range, about maxTicks of them', () => {
  assert.deepEqual(indexTicks(1000, 6), [0, 200, 400, 600, 800]);
  assert.deepEqual(indexTicks(3, 10), [0, 1, 2]);
  assert.deepEqual(indexTicks(1, 5), [0]);
  assert.deepEqual(indexTicks(0, 5), []);
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 2, max: 20 }), (n, max) => {
      const t = indexTicks(n, max);
      return t[0] === 0 && t.every((x) => Number.isInteger(x) && x >= 0 && x <= n - 1) && t.length <= max + 1;
    }),
  );
});

test('moveCursor: arrows move one cell, Shift ten, clamped at the edges; other keys ignored', () => {
  const at = { row: 5, col: 5 };
  assert.deepEqual(moveCursor('ArrowLeft', false, at, 10, 20), { row: 5, col: 4 });
  assert.deepEqual(moveCursor('ArrowRight', true, at, 10, 20), { row: 5, col: 15 });
  assert.deepEqual(moveCursor('ArrowDown', true, at, 10, 20), { row: 9, col: 5 });
  assert.deepEqual(moveCursor('ArrowUp', false, { row: 0, col: 0 }, 10, 20), { row: 0, col: 0 });
  assert.deepEqual(moveCursor('End', false, at, 10, 20), { row: 5, col: 19 });
  assert.deepEqual(moveCursor('Home', false, at, 10, 20), { row: 5, col: 0 });
  assert.equal(moveCursor('a', false, at, 10, 20), null);
});
