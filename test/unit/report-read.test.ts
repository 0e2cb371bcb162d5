import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { InputError } from '../../src/io/errors';
import { parseReport } from '../../src/io/report/read';
import { serializeReport, stringify } from '../../src/io/report/json';
import { renderReportFiles } from '../../src/io/report/write';
import type { Report } from '../../src/study/types';
import { fixtureReport } from './report-fixture';

const small = () => fixtureReport({ long: false });

function expectInputError(fn: () => unknown, line: number | null | undefined, detail: RegExp): void {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof InputError, `expected InputError, got ${String(e)}`);
    assert.equal(e.file, 'r.json');
    if (line !== undefined) assert.equal(e.line, line, e.message);
    assert.match(e.detail, detail);
    return;
  }
  assert.fail('no error thrown');
}

test('report.json stores non-finite numbers as null and keeps number arrays on one line', () => {
  const report = small();
  const text = serializeReport(report);
  assert.doesNotMatch(text, /[:\[,]\s*-?(NaN|Infinity)\b/);
  const raw = JSON.parse(text);
  assert.equal(raw.schema, 'bptt-lens/report@1');
  const exploding = raw.runs[2];
  assert.equal(exploding.loss, null, 'final loss NaN -> null');
  assert.ok(exploding.history.loss.includes(null));
  assert.equal(exploding.nonFinite.value, null, 'Infinity -> null');
  assert.equal(exploding.nonFinite.valueText, 'Infinity', 'but its kind is kept beside it');
  // Compact: a 200-entry series is one line.
  const lossLine = text.split('\n').find((l) => l.trimStart().startsWith('"loss": ['))!;
  assert.ok(lossLine.endsWith('],') || lossLine.endsWith(']'), lossLine.slice(0, 80));
  assert.ok(text.split('\n').length < 3000, `${text.split('\n').length} lines`);
});

test('stringify matches JSON.stringify for finite data', () => {
  fc.assert(fc.property(fc.jsonValue(), (v) => {
    assert.deepEqual(JSON.parse(stringify(v, '')), JSON.parse(JSON.stringify(v)));
  }), { numRuns: 200 });
  assert.equal(stringify([1, NaN, -Infinity, null, 0.1], ''), '[1,null,null,null,0.1]');
  assert.equal(stringify(new Float64Array([1, NaN]), ''), '[1,null]');
});

test('round trip: parseReport(report.json) reserialises to the same text, NaN for null in series', () => {
  const report = fixtureReport();
  const text = serializeReport(report);
  const back = parseReport(text, 'r.json');
  assert.equal(serializeReport(back), text);
  const run = back.runs[2]!;
  assert.ok(Number.isNaN(run.loss));
  assert.equal(run.nonFinite!.value, Infinity);
  assert.ok(run.history.loss.some((v) => Number.isNaN(v)));
  assert.equal(back.runs[1]!.diagnosis!.horizon, null, 'a real null stays null');
  assert.equal(back.runs[0]!.layers[0]!.gradNormC, null);
  assert.equal(back.runs[1]!.layers[0]!.gradNormC!.length, 48);
  assert.equal(back.runs[0]!.recommendations[0]!.check!.verdict, 'healthy');
  // Files rendered from the parsed report equal those from the original (figures redraw from report.json alone).
  const a = renderReportFiles(report);
  const b = renderReportFiles(back);
  for (const [k, v] of a) if (k !== 'report.html') assert.equal(b.get(k), v, k);
});

test('a leading byte-order mark is accepted', () => {
  assert.equal(parseReport('\uFEFF' + serializeReport(small()), 'r.json').runs.length, 4);
});

test('clear errors: syntax, schema, types, lengths, with the line when there is one', () => {
  expectInputError(() => parseReport('', 'r.json'), 1, /not valid JSON/);
  expectInputError(() => parseReport('{\n  "schema": "bptt-lens/report@1",\n  "runs": [1,,2]\n}', 'r.json'), 3, /not valid JSON: expected a value/);
  expectInputError(() => parseReport('{"a": 1} trailing', 'r.json'), 1, /not valid JSON/);
  expectInputError(() => parseReport('[]', 'r.json'), 1, /report: expected an object, got an array/);
  expectInputError(() => parseReport('{"schema": "bptt-lens/report@2"}', 'r.json'), 1, /schema: expected "bptt-lens\/report@1", got the string "bptt-lens\/report@2"/);

  const text = serializeReport(small());
  const mutate = (f: (raw: any) => void) => { const raw = JSON.parse(text); f(raw); return stringify(raw, '') + '\n'; };

  const badLoss = mutate((r) => { r.runs[1].history.loss[3] = 'oops'; });
  const lossLine = badLoss.split('\n').findIndex((l) => l.includes('"oops"')) + 1;
  expectInputError(() => parseReport(badLoss, 'r.json'), lossLine, /^runs\[1\]\.history\.loss\[3\]: expected a number or null, got the string "oops"$/);

  expectInputError(() => parseReport(mutate((r) => { delete r.runs[0].history; }), 'r.json'), undefined, /^runs\[0\]\.history: expected an object, got nothing \(the field is missing\)$/);
  expectInputError(() => parseReport(mutate((r) => { r.runs[0].diagnosis.verdict = 'fine'; }), 'r.json'), undefined, /runs\[0\]\.diagnosis\.verdict: expected "vanishing" \| "exploding" \| "healthy"/);
  expectInputError(() => parseReport(mutate((r) => { r.runs[0].layers[0].gradNormH.pop(); }), 'r.json'), undefined, /runs\[0\]\.layers\[0\]\.gradNormH: expected 48 values \(one per timestep\), got 47/);
  expectInputError(() => parseReport(mutate((r) => { r.runs[0].timesteps = -1; }), 'r.json'), undefined, /runs\[0\]\.timesteps: expected an integer >= 0/);
  expectInputError(() => parseReport(mutate((r) => { r.runs[1].id = r.runs[0].id; }), 'r.json'), undefined, /runs\[1\]\.id: "run-1" is already used/);
  expectInputError(() => parseReport(mutate((r) => { r.runs[0].config.clip = { kind: 'norm' }; }), 'r.json'), undefined, /runs\[0\]\.config\.clip\.threshold: expected a number/);
  expectInputError(() => parseReport(mutate((r) => { r.study.kind = 'other'; }), 'r.json'), 4, /study\.kind/);
  expectInputError(() => parseReport(mutate((r) => { r.runs[0].config.x = JSON.parse('['.repeat(20) + ']'.repeat(20)); }), 'r.json'), undefined, /runs\[0\]\.config: nested more than 8 levels deep/);
  expectInputError(() => parseReport('['.repeat(200_000), 'r.json'), undefined, /not valid JSON/);
  expectInputError(() => parseReport(mutate((r) => { r.runs[0].history.recorded[2].layers[0].direction = 'up'; }), 'r.json'), undefined, /runs\[0\]\.history\.recorded\[2\]\.layers\[0\]\.direction/);
});

/** Apply one random structural mutation at a random place in a JSON value. */
function mutations(): fc.Arbitrary<(raw: unknown) => unknown> {
  const replacement = fc.oneof(fc.constant(null), fc.constant('x'), fc.constant(-1), fc.constant(1.5), fc.constant([]), fc.constant({}), fc.constant(true), fc.constant(1e308), fc.constant('<\/script>'));
  return fc.tuple(fc.nat(), fc.oneof(fc.constant('replace' as const), fc.constant('delete' as const), fc.constant('truncate' as const)), replacement).map(([pick, op, value]) => (raw: unknown) => {
    // Collect every container slot, then change the pick-th one.
    const slots: [Record<string, unknown> | unknown[], string | number][] = [];
    const walk = (v: unknown) => {
      if (Array.isArray(v)) v.forEach((x, i) => { slots.push([v, i]); walk(x); });
      else if (v && typeof v === 'object') for (const k of Object.keys(v)) { slots.push([v as Record<string, unknown>, k]); walk((v as Record<string, unknown>)[k]); }
    };
    walk(raw);
    if (slots.length === 0) return raw;
    const [container, key] = slots[pick % slots.length]!;
    if (op === 'delete') {
      if (Array.isArray(container)) container.splice(key as number, 1);
      else delete container[key as string];
    } else if (op === 'truncate' && Array.isArray((container as any)[key])) (container as any)[key] = (container as any)[key].slice(0, 1);
    else (container as any)[key] = value;
    return raw;
  });
}

test('fuzz: any mutation gives an InputError or a report that renders', () => {
  const base = JSON.parse(serializeReport(fixtureReport({ tiny: true })));
  let accepted = 0;
  fc.assert(fc.property(fc.array(mutations(), { minLength: 1, maxLength: 3 }), (muts) => {
    let raw = structuredClone(base);
    for (const m of muts) raw = m(raw);
    let report: Report;
    try {
      report = parseReport(JSON.stringify(raw), 'r.json');
    } catch (e) {
      assert.ok(e instanceof InputError, `threw ${String(e)}`);
      return;
    }
    accepted++;
    renderReportFiles(report); // must not throw on anything parseReport accepts
  }), { numRuns: 150 });
  assert.ok(accepted > 0, 'some mutations are harmless and must be accepted');
});

test('fuzz: random bytes and truncations give InputError, never anything else', () => {
  const text = serializeReport(fixtureReport({ tiny: true }));
  fc.assert(fc.property(fc.nat({ max: text.length }), fc.string({ maxLength: 4 }), (cut, junk) => {
    try {
      parseReport(text.slice(0, cut) + junk + text.slice(cut + junk.length * 3), 'r.json');
    } catch (e) {
      assert.ok(e instanceof InputError, String(e));
    }
  }), { numRuns: 150 });
});
