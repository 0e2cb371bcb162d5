import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AIRLINE_PASSENGERS } from '../../src/study/data/airline';
import { loadSample, SAMPLE_NAMES, SAMPLES, textSampleVocabulary, zscore, minmax, windowSeries } from '../../src/study/samples';
import type { Dataset } from '../../src/study/types';

function checkShapes(d: Dataset): void {
  assert.equal(d.x.length, d.count * d.steps * d.inputSize, `${d.name}: x length`);
  const perExample = d.mode === 'many-to-one' ? d.outputSize : d.steps * d.outputSize;
  assert.equal(d.y.length, d.count * perExample, `${d.name}: y length`);
  assert.ok(d.x.every(Number.isFinite) && d.y.every(Number.isFinite), `${d.name}: finite`);
  assert.ok(d.description.length > 0 && !d.description.includes('\n'));
  assert.ok(d.task.length > 0 && !d.task.includes('\n'));
}

/** For xent targets: every scored output is a one-hot row. */
function checkOneHotTargets(d: Dataset): void {
  const rows = d.y.length / d.outputSize;
  for (let r = 0; r < rows; r++) {
    const row = d.y.subarray(r * d.outputSize, (r + 1) * d.outputSize);
    assert.equal(row.filter((v) => v === 1).length, 1);
    assert.equal(row.filter((v) => v === 0).length, d.outputSize - 1);
  }
}

test('airline values: 144 months, first 112, last 432', () => {
  assert.equal(AIRLINE_PASSENGERS.length, 144);
  assert.equal(AIRLINE_PASSENGERS[0], 112);
  assert.equal(AIRLINE_PASSENGERS[143], 432);
  assert.equal(AIRLINE_PASSENGERS.reduce((a, b) => a + b, 0), 40363);
});

test('every sample has the default shapes, finite values and matches its SAMPLES entry', () => {
  for (const name of SAMPLE_NAMES) {
    const d = loadSample(name, { seed: 1 });
    const defaults = SAMPLES[name].defaults;
    checkShapes(d);
    assert.equal(d.name, name);
    assert.equal(d.steps, defaults.steps);
    assert.equal(d.count, defaults.count);
    assert.equal(d.mode, defaults.mode);
    assert.equal(d.loss, defaults.loss);
    assert.equal(d.inputSize, defaults.inputSize);
    assert.equal(d.outputSize, defaults.outputSize);
    if (d.loss === 'xent') checkOneHotTargets(d);
  }
});

test('same seed gives bit-identical datasets, another seed differs (generated samples)', () => {
  for (const name of SAMPLE_NAMES) {
    const a = loadSample(name, { seed: 42, count: 16 });
    const b = loadSample(name, { seed: 42, count: 16 });
    assert.deepEqual(a, b);
    if (name !== 'airline') {
      const c = loadSample(name, { seed: 43, count: 16 });
      assert.notDeepEqual(a.x, c.x, `${name}: seed changes x`);
    }
  }
});

test('steps and count options are honoured', () => {
  for (const name of SAMPLE_NAMES) {
    const d = loadSample(name, { seed: 3, steps: 12, count: 7 });
    assert.equal(d.steps, 12);
    assert.equal(d.count, 7);
    checkShapes(d);
  }
});

test('out-of-range options are refused with a RangeError naming the option', () => {
  assert.throws(() => loadSample('copy', { seed: 1, steps: 10 }), /steps/);
  assert.throws(() => loadSample('airline', { seed: 1, steps: 144 }), /steps/);
  assert.throws(() => loadSample('adding', { seed: 1, count: 0 }), /count/);
  assert.throws(() => loadSample('binary-addition', { seed: 1, steps: 31 }), /bits/);
  assert.throws(() => loadSample('nope' as never, { seed: 1 }), /unknown sample/);
  assert.throws(() => loadSample('adding', { seed: 1, steps: 10_001, count: 1 }), /steps must be an integer from 2 to 10000/);
  assert.throws(() => loadSample('text', { seed: 1, steps: 500, count: 10_000 }), /the limit is 10000000/);
});

test('airline: z-scored next-month windows that map back to passengers', () => {
  const d = loadSample('airline', { seed: 0 });
  assert.equal(d.count, 132);
  const norm = d.normalization;
  assert.ok(norm.kind === 'zscore');
  const { a, b } = norm.columns[0];
  assert.equal(norm.columns[0].name, 'passengers');
  const back = (v: number): number => v * b + a;
  assert.ok(Math.abs(back(d.x[0]) - 112) < 1e-9);
  assert.ok(Math.abs(back(d.y[0]) - AIRLINE_PASSENGERS[12]) < 1e-9);
  assert.ok(Math.abs(back(d.y[d.count - 1]) - 432) < 1e-9);
  // window i, step t is month i + t
  assert.ok(Math.abs(back(d.x[5 * 12 + 3]) - AIRLINE_PASSENGERS[8]) < 1e-9);
  // count caps the number of windows
  assert.equal(loadSample('airline', { seed: 0, count: 1000 }).count, 132);
});

test('adding: two markers, one per half, target is the sum of the marked values', () => {
  const d = loadSample('adding', { seed: 7, steps: 50, count: 64 });
  for (let b = 0; b < d.count; b++) {
    const marked: number[] = [];
    let sum = 0;
    for (let t = 0; t < d.steps; t++) {
      const value = d.x[(b * d.steps + t) * 2];
      const marker = d.x[(b * d.steps + t) * 2 + 1];
      assert.ok(value >= 0 && value < 1);
      assert.ok(marker === 0 || marker === 1);
      if (marker === 1) { marked.push(t); sum += value; }
    }
    assert.equal(marked.length, 2);
    assert.ok(marked[0] < 25 && marked[1] >= 25, `markers ${marked}`);
    assert.equal(d.y[b], sum);
  }
});

test('copy: the last S targets repeat the first S inputs after the delimiter', () => {
  const d = loadSample('copy', { seed: 5, steps: 20, count: 32 });
  const I = d.inputSize;
  const O = d.outputSize;
  const argmax = (a: Float64Array, at: number, n: number): number => a.subarray(at, at + n).indexOf(1);
  for (let b = 0; b < d.count; b++) {
    const inputs = Array.from({ length: d.steps }, (_, t) => argmax(d.x, (b * d.steps + t) * I, I));
    const targets = Array.from({ length: d.steps }, (_, t) => argmax(d.y, (b * d.steps + t) * O, O));
    assert.ok(inputs.slice(0, 5).every((s) => s >= 0 && s < 8));
    assert.equal(inputs[14], 9, 'delimiter just before recall');
    assert.ok(inputs.slice(5, 14).every((s) => s === 8) && inputs.slice(15).every((s) => s === 8));
    assert.deepEqual(targets.slice(15), inputs.slice(0, 5));
    assert.ok(targets.slice(0, 15).every((s) => s === 8));
  }
});

test('binary-addition: output bits are the bits of a + b, LSB first', () => {
  const d = loadSample('binary-addition', { seed: 9, count: 64 });
  for (let b = 0; b < d.count; b++) {
    let a = 0, c = 0, s = 0;
    for (let t = 0; t < 8; t++) {
      a += d.x[(b * 8 + t) * 2] * 2 ** t;
      c += d.x[(b * 8 + t) * 2 + 1] * 2 ** t;
      s += d.y[(b * 8 + t) * 2 + 1] * 2 ** t;
    }
    assert.equal(s, a + c);
  }
});

test('sine: target continues the wave (second difference recursion)', () => {
  const d = loadSample('sine', { seed: 11, count: 16 });
  for (let b = 0; b < d.count; b++) {
    const w = Array.from(d.x.subarray(b * d.steps, (b + 1) * d.steps));
    w.push(d.y[b]);
    // sin(θ(t+1)) + sin(θ(t-1)) = 2 cos(ω) sin(θ t): estimate 2cos(ω) from the start, check the end
    const k = (w[0] + w[2]) / w[1];
    const n = w.length;
    if (Math.abs(w[1]) > 0.2 && Math.abs(w[n - 2]) > 0.2) assert.ok(Math.abs(w[n - 1] - (k * w[n - 2] - w[n - 3])) < 1e-6);
    assert.ok(w.every((v) => Math.abs(v) <= 1));
  }
});

test('text: targets are inputs shifted by one character', () => {
  const d = loadSample('text', { seed: 13, count: 8 });
  const V = d.inputSize;
  assert.equal(V, textSampleVocabulary().length);
  for (let b = 0; b < d.count; b++) {
    for (let t = 0; t + 1 < d.steps; t++) {
      const yt = d.y.subarray((b * d.steps + t) * V, (b * d.steps + t + 1) * V);
      const xNext = d.x.subarray((b * d.steps + t + 1) * V, (b * d.steps + t + 2) * V);
      assert.deepEqual(yt, xNext);
    }
  }
});

test('series helpers: zscore and minmax record invertible stats; windowing', () => {
  const z = zscore([1, 2, 3, 4], 'v');
  assert.ok(Math.abs(z.values.reduce((a, b) => a + b, 0)) < 1e-12);
  assert.ok(Math.abs(z.values[3] * z.column.b + z.column.a - 4) < 1e-12);
  const m = minmax([2, 4, 6], 'v');
  assert.deepEqual(Array.from(m.values), [0, 0.5, 1]);
  assert.deepEqual(m.column, { name: 'v', a: 2, b: 4 });
  assert.equal(zscore([5, 5], 'c').column.b, 1);
  const w = windowSeries([1, 2, 3, 4, 5], 3);
  assert.equal(w.count, 2);
  assert.deepEqual(Array.from(w.x), [1, 2, 3, 2, 3, 4]);
  assert.deepEqual(Array.from(w.y), [4, 5]);
});

test('series helpers: columns near the float64 limits normalise to finite values', () => {
  const big = [-1.7976931348623157e308, 0, 1.7976931348623157e308, 5e-324];
  for (const f of [zscore, minmax]) {
    const { values, column } = f(big, 'big');
    assert.ok(values.every(Number.isFinite), `${f.name}: ${Array.from(values)}`);
    assert.ok(Number.isFinite(column.a));
  }
  const z = zscore(big, 'big');
  assert.ok(Math.abs(z.values[2] * z.column.b + z.column.a - big[2]) / big[2] < 1e-12);
});
