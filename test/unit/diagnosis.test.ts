import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LayerRecord, PassRecord } from '../../src/engine/types';
import { diagnosePass, fitDecay, horizon, itemizedLagProfile, jacobianSummary, lagProfile, normGrowth, profileDip } from '../../src/study/diagnosis';

function layer(gradNormH: number[], gradNormC: number[] | null = null, l = 0, direction: 'forward' | 'reverse' = 'forward'): LayerRecord {
  return {
    layer: l, direction, gradNormH, gradNormC, gateGradNorm: {}, gateMean: {}, gateSaturation: {},
    weightGradByStep: gradNormH.map(() => 0), jacobianNorm: null,
  };
}

function pass(layers: LayerRecord[], extra: Partial<PassRecord> = {}): PassRecord {
  const T = layers[0]!.gradNormH.length;
  return {
    timesteps: T, layers, inputGradNorm: new Array(T).fill(0), loss: 1, globalGradNorm: 1,
    clippedGradNorm: 1, nonFinite: null, itemized: null, ...extra,
  };
}

/** gradNormH[t] for a geometric lag profile p(k) = a·r^k, k = T-1-t. */
function geometricByTime(T: number, r: number, a = 2): number[] {
  return Array.from({ length: T }, (_, t) => a * Math.pow(r, T - 1 - t));
}

test('fitDecay recovers the ratio of an exact geometric profile', () => {
  for (const r of [0.5, 0.81, 1, 1.07]) {
    const profile = Array.from({ length: 50 }, (_, k) => 3 * Math.pow(r, k));
    assert.ok(Math.abs(fitDecay(profile)! - r) < 1e-12, `r = ${r}`);
  }
});

test('fitDecay skips zero and non-finite points and needs two points', () => {
  assert.ok(Math.abs(fitDecay([1, 0.5, 0, NaN, 0.0625])! - 0.5) < 1e-12);
  assert.equal(fitDecay([1]), null);
  assert.equal(fitDecay([1, 0, 0]), null);
  assert.equal(fitDecay([]), null);
});

test('horizon is the lag from which the profile stays strictly below epsilon * p(0)', () => {
  const profile = Array.from({ length: 40 }, (_, k) => Math.pow(0.5, k));
  // 0.5^9 = 1.95e-3, 0.5^10 = 9.8e-4 < 1e-3
  assert.equal(horizon(profile, 1e-3), 10);
  assert.equal(horizon(profile, 0.5), 2); // 0.5^1 is not strictly below 0.5
  assert.equal(horizon([1, 1, 1], 1e-3), null);
  assert.equal(horizon([0, 0], 1e-3), null);
});

test('horizon of a non-monotone profile: a dip that recovers is not the horizon', () => {
  // Dips below 1e-3 at k = 4, comes back to 5e-3 at k = 7, then stays below from k = 12.
  const p = [1, 0.1, 0.01, 0.002, 5e-4, 4e-4, 1e-3, 5e-3, 2e-3, 1.5e-3, 1.1e-3, 1e-3, 9e-4, 5e-4, 1e-5];
  assert.equal(horizon(p, 1e-3), 12);
  assert.deepEqual(profileDip(p, 1e-3), { firstBelow: 4, recoveredAt: 7, recoveredRatio: 5e-3 });
  // Recovers and is above epsilon at the last lag: no horizon within the sequence.
  const q = [1, 0.1, 5e-4, 2e-4, 3e-3, 4.7e-3];
  assert.equal(horizon(q, 1e-3), null);
  assert.deepEqual(profileDip(q, 1e-3), { firstBelow: 2, recoveredAt: 5, recoveredRatio: 4.7e-3 });
  // A monotone profile has no dip to report; NaN counts as not below.
  assert.equal(profileDip(Array.from({ length: 20 }, (_, k) => 0.5 ** k), 1e-3), null);
  assert.equal(horizon([1, 1e-5, NaN, 1e-5], 1e-3), 3);
});

test('a dip that recovers (the constant error carousel) is healthy and the evidence says where it dipped', () => {
  // lstm-nfg on the adding problem: p(4)/p(0) < 1e-3, then the cell path brings p back to 4.7e-3 at k = 99.
  const profile = Array.from({ length: 100 }, (_, k) => (k === 0 ? 1 : k < 4 ? 0.01 : k < 10 ? 5e-4 : 4.7e-3 * Math.pow(0.999, 99 - k)));
  const byTime = [...profile].reverse();
  const d = diagnosePass(pass([layer(byTime)]), { mode: 'many-to-one', cell: 'lstm' });
  assert.equal(d.horizon, null);
  assert.equal(d.verdict, 'healthy', d.evidence.join('\n'));
  assert.ok(d.evidence.some((e) => e.includes('dips below 1e-3·p(0) at k = 4 and recovers')), d.evidence.join('\n'));
  // The same profile cut to end inside the dip: vanishing, horizon = where it stays below.
  const cut = profile.slice(0, 8);
  const dc = diagnosePass(pass([layer([...cut].reverse())]), { mode: 'many-to-one', cell: 'lstm' });
  assert.equal(dc.verdict, 'vanishing');
  assert.equal(dc.horizon, 4);
});

test('lag profile of many-to-one reverses time and joins h and c for the LSTM', () => {
  const rec = pass([layer([3, 2, 1], [4, 0, 0])]);
  assert.deepEqual(lagProfile(rec, 'many-to-one', 'lstm').profile, [1, 2, 5]);
});

test('lag profile uses the top forward layer', () => {
  const rec = pass([layer([9, 9], null, 0), layer([1, 2], null, 1), layer([7, 7], null, 1, 'reverse')]);
  assert.deepEqual(lagProfile(rec, 'many-to-one', 'rnn').profile, [2, 1]);
});

test('itemized lag profile averages the ratio to the diagonal', () => {
  const itemized = [[2], [1, 4], [0.5, 2, 8]];
  // k=0: 1; k=1: mean(1/4, 2/8) = 0.25; k=2: 0.5/8
  assert.deepEqual(itemizedLagProfile(itemized), [1, 0.25, 0.0625]);
  const rec = pass([layer([1, 1, 1])], { itemized });
  const lp = lagProfile(rec, 'many-to-many', 'rnn');
  assert.equal(lp.source, 'itemized');
  const fallback = lagProfile(pass([layer([1, 1, 1])]), 'many-to-many', 'rnn');
  assert.equal(fallback.source, 'state-fallback');
  const d = diagnosePass(pass([layer([1, 1, 1])]), { mode: 'many-to-many', cell: 'rnn' });
  assert.ok(d.evidence.some((e) => e.includes('falls back')));
});

test('verdict: geometric decay 0.81 over 100 steps is vanishing, with the numbers in the evidence', () => {
  const d = diagnosePass(pass([layer(geometricByTime(100, 0.81))]), { mode: 'many-to-one', cell: 'rnn' });
  assert.equal(d.verdict, 'vanishing');
  assert.ok(Math.abs(d.decayPerStep! - 0.81) < 1e-12);
  // 0.81^k < 1e-3  <=>  k > ln(1e-3)/ln(0.81) = 32.8
  assert.equal(d.horizon, 33);
  assert.ok(d.evidence.some((e) => e.includes('horizon(1e-3) = 33 steps of 100')), d.evidence.join('\n'));
  assert.ok(d.evidence.some((e) => e.includes('ρ = 0.81')), d.evidence.join('\n'));
});

test('verdict: a profile that just stays above epsilon is healthy, one that just drops below is vanishing', () => {
  // p(T-1)/p(0) = r^(T-1); choose r so it is 1.01e-3 vs 0.99e-3 at T = 20.
  const above = Math.pow(1.01e-3, 1 / 19);
  const below = Math.pow(0.99e-3, 1 / 19);
  assert.equal(diagnosePass(pass([layer(geometricByTime(20, above))]), { mode: 'many-to-one', cell: 'rnn' }).verdict, 'healthy');
  assert.equal(diagnosePass(pass([layer(geometricByTime(20, below))]), { mode: 'many-to-one', cell: 'rnn' }).verdict, 'vanishing');
  // a looser epsilon turns the first into vanishing too
  assert.equal(
    diagnosePass(pass([layer(geometricByTime(20, above))]), { mode: 'many-to-one', cell: 'rnn', thresholds: { vanishEpsilon: 1e-2 } }).verdict,
    'vanishing',
  );
});

test('verdict: growth of 10x across the sequence is exploding, 9.9x is not', () => {
  const grow = (g: number) => Array.from({ length: 30 }, (_, t) => Math.pow(g, (29 - t) / 29));
  assert.equal(diagnosePass(pass([layer(grow(10))]), { mode: 'many-to-one', cell: 'rnn' }).verdict, 'exploding');
  const d = diagnosePass(pass([layer(grow(9.9))]), { mode: 'many-to-one', cell: 'rnn' });
  assert.equal(d.verdict, 'healthy');
  assert.ok(d.decayPerStep! > 1.02);
  assert.ok(d.evidence.some((e) => e.includes('above 1 + δ')));
});

test('verdict: non-finite values and stopped training are exploding', () => {
  assert.equal(diagnosePass(pass([layer([NaN, 1, 1])]), { mode: 'many-to-one', cell: 'rnn' }).verdict, 'exploding');
  const nf = pass([layer([1, 1, 1])], { nonFinite: { quantity: 'loss', layer: null, t: null, value: Infinity } });
  const d = diagnosePass(nf, { mode: 'many-to-one', cell: 'rnn', stoppedAt: 12 });
  assert.equal(d.verdict, 'exploding');
  assert.ok(d.evidence[0]!.includes('iteration 12') && d.evidence[0]!.includes('Infinity'), d.evidence[0]);
});

test('verdict: pre-clip norms growing over iterations is exploding', () => {
  const flat = pass([layer([1, 1, 1])]);
  const growing = Array.from({ length: 40 }, (_, i) => Math.pow(1.1, i));
  assert.ok(normGrowth(growing)! > 10);
  assert.equal(diagnosePass(flat, { mode: 'many-to-one', cell: 'rnn', history: growing }).verdict, 'exploding');
  const steady = Array.from({ length: 40 }, (_, i) => 1 + 0.01 * i);
  assert.equal(diagnosePass(flat, { mode: 'many-to-one', cell: 'rnn', history: steady }).verdict, 'healthy');
});

test('verdict: no gradient at all is vanishing', () => {
  const d = diagnosePass(pass([layer([0, 0, 0])]), { mode: 'many-to-one', cell: 'rnn' });
  assert.equal(d.verdict, 'vanishing');
  assert.equal(d.horizon, null);
  assert.equal(d.decayPerStep, null);
  assert.ok(d.evidence[0]!.startsWith('p(0) = 0'));
});

test('step-Jacobian summary: geometric mean over t >= 1 of the top forward layer, in the evidence', () => {
  const l = layer([1, 1, 1, 1]);
  l.jacobianNorm = [100, 0.5, 2, 1];
  const rec = pass([l]);
  const s = jacobianSummary(rec)!;
  assert.ok(Math.abs(s.geoMean - 1) < 1e-15);
  assert.deepEqual([s.min, s.max, s.n], [0.5, 2, 3]);
  const d = diagnosePass(rec, { mode: 'many-to-one', cell: 'rnn' });
  assert.ok(d.evidence.some((e) => e.includes('geometric mean 1 over 3 steps')), d.evidence.join('\n'));
  assert.equal(jacobianSummary(pass([layer([1, 1])])), null);
});

test('many-to-one lag profile of an LSTM is ‖∂L/∂(h, c)‖ with h and c as state coordinates: the itemized row of the last step', async () => {
  const { createModel, fillUniform } = await import('../../src/engine/model');
  const { Rng } = await import('../../src/engine/rng');
  const { runPass } = await import('../../src/engine/bptt');
  const T = 7;
  const B = 2;
  for (const [variant, numLayers] of [['vanilla', 1], ['peephole', 2], ['noaf', 1]] as const) {
    const model = createModel({ cell: 'lstm', nonlinearity: 'tanh', variant, inputSize: 2, hiddenSize: 3, numLayers, bidirectional: false, outputSize: 1 });
    const rng = new Rng(11);
    fillUniform(model, rng, 0.9);
    const x = Float64Array.from({ length: B * T * 2 }, () => rng.range(-1, 1));
    const y = Float64Array.from({ length: B }, () => rng.range(-1, 1));
    const rec = runPass(model, { batchSize: B, steps: T, inputSize: 2, outputSize: 1, mode: 'many-to-one', x, y }, { loss: 'mse', probes: { itemized: true, jacobian: false } }).record;
    const profile = lagProfile(rec, 'many-to-one', 'lstm').profile;
    const itemizedRow = [...rec.itemized![T - 1]!].reverse();
    for (let k = 0; k < T; k++) {
      assert.ok(Math.abs(profile[k]! - itemizedRow[k]!) <= 1e-12 * itemizedRow[k]!, `${variant} L=${numLayers} p(${k}) = ${profile[k]} vs itemized ${itemizedRow[k]}`);
    }
  }
});
