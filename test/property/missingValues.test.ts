// Missing values in sequence files: empty cells and NA, n/a, NaN, null, - are gaps, not errors.
// Without a choice the reader refuses with the count and the first line; with 'interpolate'
// every window is kept and the gaps are linear between neighbours; with 'drop' exactly the
// windows that touch a gap are left out. The task text says how many either way.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { InputError } from '../../src/io/errors';
import { interpolateGaps, isMissingValuesError, MISSING_MARKERS, parseSequenceText } from '../../src/io/sequences';

const MARKERS = ['', 'NA', 'n/a', 'N/A', 'NaN', 'nan', 'null', 'NULL', '-', ' NA '];

interface Case {
  values: number[];
  /** Row indices that are missing (written with `marker`). */
  gaps: Set<number>;
  text: string;
  window: number;
}

const missingCase: fc.Arbitrary<Case> = fc
  .record({
    values: fc.array(fc.integer({ min: -500, max: 500 }).map((v) => v / 4), { minLength: 8, maxLength: 60 }),
    gapSeeds: fc.array(fc.nat(), { minLength: 1, maxLength: 6 }),
    markers: fc.array(fc.constantFrom(...MARKERS), { minLength: 6, maxLength: 6 }),
    window: fc.integer({ min: 1, max: 6 }),
    header: fc.boolean(),
  })
  .map((g) => {
    const n = g.values.length;
    const gaps = new Set(g.gapSeeds.map((s) => s % n));
    // Keep at least two observed values (a column needs one; interpolation needs an anchor).
    if (gaps.size >= n - 1) gaps.delete([...gaps][0]!);
    const cells = g.values.map((v, i) => (gaps.has(i) ? g.markers[i % g.markers.length]! : String(v)));
    // Two columns so an empty cell is a real cell (a one-column blank line is a formatting matter).
    const rows = cells.map((c, i) => `${i},${c}`);
    const text = (g.header ? 'step,value\n' : '') + rows.join('\n') + '\n';
    return { values: g.values, gaps, text, window: Math.min(g.window, n - 2) };
  })
  .filter((c) => c.window >= 1 && c.values.length >= c.window + 2);

const opts = (c: Case) => ({ window: c.window, normalize: 'none' as const, targetColumn: 2, featureColumns: [2] });

test('every common missing marker is recognised (case and spaces ignored)', () => {
  for (const m of MARKERS) assert.ok(MISSING_MARKERS.includes(m.trim().toLowerCase()), m);
});

test('property: without a choice, missing cells are one InputError with the count and the first gap\'s line', () => {
  fc.assert(
    fc.property(missingCase, (c) => {
      try {
        parseSequenceText(c.text, 'series.csv', opts(c));
        return false;
      } catch (e) {
        assert.ok(e instanceof InputError && isMissingValuesError(e), String(e));
        assert.match(e.detail, new RegExp(`^missing values: ${c.gaps.size} cell`));
        const first = Math.min(...c.gaps);
        const header = c.text.startsWith('step') ? 1 : 0;
        assert.equal(e.line, first + 1 + header);
        return true;
      }
    }),
    { numRuns: 200 },
  );
});

test('property: interpolate keeps every window; gaps lie on the line between their neighbours; the task says how many', () => {
  fc.assert(
    fc.property(missingCase, (c) => {
      const d = parseSequenceText(c.text, 'series.csv', { ...opts(c), missing: 'interpolate' });
      const n = c.values.length;
      assert.equal(d.count, n - c.window);
      const filled = Float64Array.from(c.values.map((v, i) => (c.gaps.has(i) ? NaN : v)));
      interpolateGaps(filled);
      // x of window i at step t is row i + t; y of window i is row i + window.
      for (let i = 0; i < d.count; i++) {
        for (let t = 0; t < c.window; t++) assert.equal(d.x[i * c.window + t], filled[i + t]);
        assert.equal(d.y[i], filled[i + c.window]);
      }
      for (const v of d.x) assert.ok(Number.isFinite(v));
      assert.match(d.task, new RegExp(`${c.gaps.size} missing values? interpolated`));
      return true;
    }),
    { numRuns: 200 },
  );
});

test('property: drop keeps exactly the windows without a gap, with the observed values; the task counts what was dropped', () => {
  fc.assert(
    fc.property(missingCase, (c) => {
      const n = c.values.length;
      const clean: number[] = [];
      for (let s = 0; s + c.window < n; s++) {
        let ok = true;
        for (let r = s; r <= s + c.window; r++) if (c.gaps.has(r)) ok = false;
        if (ok) clean.push(s);
      }
      let d;
      try {
        d = parseSequenceText(c.text, 'series.csv', { ...opts(c), missing: 'drop' });
      } catch (e) {
        assert.equal(clean.length, 0, `refused although ${clean.length} windows are clean: ${String(e)}`);
        assert.match((e as InputError).detail, /every window of \d+ steps holds a missing value/);
        return true;
      }
      assert.equal(d.count, clean.length);
      clean.forEach((s, i) => {
        for (let t = 0; t < c.window; t++) assert.equal(d.x[i * c.window + t], c.values[s + t]);
        assert.equal(d.y[i], c.values[s + c.window]);
      });
      assert.match(d.task, new RegExp(`${c.gaps.size} missing values?: ${n - c.window - clean.length} of ${n - c.window} windows dropped`));
      return true;
    }),
    { numRuns: 200 },
  );
});

test('z-scoring with dropped gaps uses the observed values only (no NaN leaks into the data)', () => {
  const text = 'a,b\n1,1\n2,NA\n3,3\n4,4\n5,5\n6,6\n7,\n8,8\n';
  const d = parseSequenceText(text, 'x.csv', { window: 2, targetColumn: 2, featureColumns: [2], missing: 'drop' });
  for (const v of [...d.x, ...d.y]) assert.ok(Number.isFinite(v));
  const norm = d.normalization as { kind: string; columns: { a: number }[] };
  assert.equal(norm.columns[0]!.a, (1 + 3 + 4 + 5 + 6 + 8) / 6, 'the mean of the observed values');
});

test('interpolateGaps: interior runs linear, ends take the nearest value', () => {
  const v = Float64Array.from([NaN, 2, NaN, NaN, 8, NaN]);
  interpolateGaps(v);
  assert.deepEqual([...v], [2, 2, 4, 6, 8, 8]);
});

test('a column that is all gaps is refused by name', () => {
  assert.throws(() => parseSequenceText('a,b\n1,NA\n2,\n3,-\n', 'x.csv', { window: 1, targetColumn: 2, featureColumns: [2], missing: 'interpolate' }), /column "b" has no value at all/);
});
