import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  decadeExponents, fade, formatExp, formatPow10, hexToRgb, legendTicks, logAxisTicks, logColorIndex, logDomain, luminance,
  lutColor, LUT_SIZE, paletteLut,
} from '../../webview/scales';

test('palette LUTs start and end on the published viridis/inferno colours', () => {
  const v = paletteLut('viridis');
  assert.equal(v.length, LUT_SIZE * 3);
  assert.deepEqual(lutColor(v, 0), hexToRgb('#440154'));
  assert.deepEqual(lutColor(v, LUT_SIZE - 1), hexToRgb('#fde725'));
  const i = paletteLut('inferno');
  assert.deepEqual(lutColor(i, 0), hexToRgb('#000004'));
  assert.deepEqual(lutColor(i, LUT_SIZE - 1), hexToRgb('#fcffa4'));
});

test('both palettes get lighter monotonically (perceptual order of magnitude)', () => {
  for (const name of ['viridis', 'inferno'] as const) {
    const lut = paletteLut(name);
    // Inferno's top stops wobble slightly in luminance; compare every 16th entry.
    for (let k = 16; k < LUT_SIZE; k += 16) {
      assert.ok(luminance(lutColor(lut, k)) > luminance(lutColor(lut, k - 16)), `${name} at ${k}`);
    }
  }
});

test('inferno, the high-contrast palette, spans a wider lightness range than viridis', () => {
  const span = (name: 'viridis' | 'inferno') => {
    const lut = paletteLut(name);
    return luminance(lutColor(lut, LUT_SIZE - 1)) - luminance(lutColor(lut, 0));
  };
  assert.ok(span('inferno') > span('viridis'));
});

test('logDomain ignores null, zero, negative and non-finite values', () => {
  assert.deepEqual(logDomain([null, 0, -3, NaN, Infinity, 1e-4, 10, undefined]), { lo: -4, hi: 1 });
  assert.equal(logDomain([null, 0, NaN]), null);
  assert.deepEqual(logDomain([]), null);
});

test('a flat series gets half a decade each side so it maps mid-palette', () => {
  const d = logDomain([5, 5, 5])!;
  assert.ok(Math.abs(d.hi - d.lo - 1) < 1e-12);
  assert.equal(logColorIndex(5, d), Math.round((LUT_SIZE - 1) / 2));
});

test('logColorIndex maps decades linearly and clamps; unplottable values give -1', () => {
  const d = { lo: -6, hi: 0 };
  assert.equal(logColorIndex(1e-6, d), 0);
  assert.equal(logColorIndex(1, d), LUT_SIZE - 1);
  assert.equal(logColorIndex(1e-3, d), Math.round(0.5 * (LUT_SIZE - 1)));
  assert.equal(logColorIndex(1e-9, d), 0);
  assert.equal(logColorIndex(1e9, d), LUT_SIZE - 1);
  for (const bad of [null, undefined, 0, -1, NaN, Infinity]) assert.equal(logColorIndex(bad, d), -1);
});

test('logColorIndex is monotone in the value (property)', () => {
  fc.assert(
    fc.property(fc.double({ min: 1e-300, max: 1e300, noNaN: true }), fc.double({ min: 1e-300, max: 1e300, noNaN: true }), (a, b) => {
      const d = { lo: -20, hi: 20 };
      const [x, y] = a <= b ? [a, b] : [b, a];
      return logColorIndex(x, d) <= logColorIndex(y, d);
    }),
  );
});

test('decadeExponents lists whole decades inside the range, thinned to maxTicks', () => {
  assert.deepEqual(decadeExponents(-3.2, 1.5), [-3, -2, -1, 0, 1]);
  assert.deepEqual(decadeExponents(-0.5, 0.4), [0]);
  assert.deepEqual(decadeExponents(0.1, 0.9), []);
  assert.deepEqual(decadeExponents(-300, 0, 7), [-300, -250, -200, -150, -100, -50, 0]);
  const thin = decadeExponents(-17, 3, 5);
  assert.ok(thin.length <= 5 && thin.length >= 2);
  const step = thin[1]! - thin[0]!;
  assert.ok(thin.every((e, i) => i === 0 || e - thin[i - 1]! === step), 'evenly spaced');
  assert.ok(thin.every((e) => e % step === 0), 'anchored on multiples of the step');
});

test('decadeExponents never exceeds maxTicks and stays in range (property)', () => {
  fc.assert(
    fc.property(fc.double({ min: -300, max: 300, noNaN: true }), fc.double({ min: 0, max: 600, noNaN: true }), fc.integer({ min: 1, max: 12 }), (lo, span, max) => {
      const hi = lo + span;
      const ex = decadeExponents(lo, hi, max);
      return ex.length <= max && ex.every((e) => Number.isInteger(e) && e >= lo - 1e-9 && e <= hi + 1e-9);
    }),
  );
});

test('legendTicks puts decades at their fraction along the bar', () => {
  const t = legendTicks({ lo: -4, hi: 0 });
  assert.deepEqual(t.map((x) => x.label), ['1e-4', '1e-3', '1e-2', '1e-1', '1']);
  assert.deepEqual(t.map((x) => x.fraction), [0, 0.25, 0.5, 0.75, 1]);
});

test('legendTicks labels the ends when less than two decades fit', () => {
  const t = legendTicks({ lo: Math.log10(2), hi: Math.log10(8) });
  assert.deepEqual(t.map((x) => x.label), ['2.0e0', '8.0e0']);
  const u = legendTicks({ lo: -0.5, hi: 0.5 });
  assert.deepEqual(u.map((x) => x.label), ['3.2e-1', '1', '3.2e0']);
});

test('formatExp and formatPow10', () => {
  assert.equal(formatExp(1.23456e-5), '1.235e-5');
  assert.equal(formatExp(12345, 2), '1.2e4');
  assert.equal(formatExp(null), 'non-finite');
  assert.equal(formatExp(NaN), 'NaN');
  assert.equal(formatExp(-Infinity), '-Inf');
  assert.equal(formatExp(0), '0');
  assert.equal(formatPow10(0), '1');
  assert.equal(formatPow10(1), '10');
  assert.equal(formatPow10(-7), '1e-7');
});

test('logAxisTicks gives decades, or the ends when the range is narrow', () => {
  assert.deepEqual(logAxisTicks(1e-6, 1e2, 10), [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10, 100]);
  assert.deepEqual(logAxisTicks(2, 50), [2, 10, 50]);
  assert.deepEqual(logAxisTicks(0, 10), []);
  assert.ok(logAxisTicks(1e-300, 1e300, 6).length <= 6);
});

test('fade lowers opacity in every colour form theme variables use, and leaves unknown forms alone', () => {
  assert.equal(fade('#3794ff', 0.3), 'rgba(55, 148, 255, 0.3)');
  assert.equal(fade('#fff', 0.5), 'rgba(255, 255, 255, 0.5)');
  assert.equal(fade('#80808080', 0.5), 'rgba(128, 128, 128, 0.251)');
  assert.equal(fade('rgb(1, 2, 3)', 0.3), 'rgba(1, 2, 3, 0.3)');
  assert.equal(fade('rgba(1, 2, 3, 0.5)', 0.5), 'rgba(1, 2, 3, 0.25)');
  assert.equal(fade('rgb(1 2 3 / 50%)', 0.5), 'rgba(1, 2, 3, 0.25)');
  assert.equal(fade('red', 0.5), 'red');
});
