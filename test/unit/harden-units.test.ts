// The pieces behind issue 12, one by one: the one-pass input reader (numbers exactly as
// Number() reads them), the published schemas against what BPTT Lens itself writes, saved
// reports read in a worker, the view bounds, stale temporaries, and markdown autolinks.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, test } from 'node:test';
import fc from 'fast-check';
import { boundReportForView, boundRunForView, MAX_VIEW_ITEMIZED_ROWS } from '../../src/extension/viewBounds';
import { parseBatchJson, parseBatchJsonBytes } from '../../src/io/batchJson';
import { InputError } from '../../src/io/errors';
import { ExamplesScanner, ScanError } from '../../src/io/examplesScan';
import { breakAutolinks, escapeMarkdown } from '../../src/io/report/format';
import { parseReport, parseRunRecordText } from '../../src/io/report/read';
import { serializeReport } from '../../src/io/report/json';
import { serializeRunRecord } from '../../src/io/runRecord';
import { publishedSchema, schemaProblem } from '../../src/io/schemas';
import { sweepStaleTemps, tempName } from '../../src/io/tempFiles';
import { gradientsRecord } from '../../src/cli/gradients';
import { WorkerPool } from '../../src/worker/pool';
import { reportText, validReport } from '../fuzz/adversarial';
import { writtenNumber } from '../property/sequenceFileArbitraries';
import { fixtureReport } from './report-fixture';
import { bundleWorker, type WorkerBundle } from './worker-bundle';

const FIXTURES = join(__dirname, '..', 'fixtures', 'torch');

function scan(text: string) {
  return new ExamplesScanner(Buffer.from(text, 'utf8'), { maxValues: 1e7 }).scanObject();
}

test('one-pass reader: every number reads exactly as Number() reads it (Clinger fast path or Number)', () => {
  fc.assert(fc.property(fc.array(writtenNumber(true), { minLength: 1, maxLength: 40 }), (nums) => {
    const text = `{"x": [[${nums.map((n) => `[${n.text}]`).join(', ')}]], "y": [[0]]}`;
    const x = scan(text).get('x')!;
    assert.deepEqual(x.shape, [1, nums.length, 1]);
    nums.forEach((n, i) => assert.ok(Object.is(x.values[i], Number(n.text)), `${n.text}: ${x.values[i]} vs ${Number(n.text)}`));
  }), { numRuns: 400 });
  for (const t of ['0', '-0', '0.1', '1e22', '1e23', '9007199254740993', '123456789012345.6', '0.000001234', '5e-324', '1.7976931348623157e308', '-2.2250738585072014e-308', '1E+2', '0.30000000000000004']) {
    assert.ok(Object.is(scan(`{"x": [[[${t}]]], "y": [[0]]}`).get('x')!.values[0], Number(t)), t);
  }
});

test('one-pass reader agrees with the JSON.parse reader on valid batches, bit for bit', () => {
  const arb = fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 3 }), fc.boolean()).chain(([B, T, I, m2m]) =>
    fc.record({
      x: fc.array(fc.array(fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { minLength: I, maxLength: I }), { minLength: T, maxLength: T }), { minLength: B, maxLength: B }),
      y: m2m ? fc.array(fc.array(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 2, maxLength: 2 }), { minLength: T, maxLength: T }), { minLength: B, maxLength: B })
        : fc.array(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 2, maxLength: 2 }), { minLength: B, maxLength: B }),
    }));
  fc.assert(fc.property(arb, fc.constantFrom('', ' ', '\n', '\r\n  '), (data, ws) => {
    const text = JSON.stringify(data, null, ws ? 1 : 0).replace(/\n/g, `\n${ws}`);
    const a = parseBatchJsonBytes(Buffer.from(text), 'in.json');
    const b = parseBatchJson(text, 'in.json');
    assert.deepEqual({ ...a, x: [...a.x], y: [...a.y] }, { ...b, x: [...b.x], y: [...b.y] });
  }), { numRuns: 150 });
});

test('one-pass reader: its own messages name the path, and nesting depth costs no stack', () => {
  const fail = (text: string, pattern: RegExp) => assert.throws(() => scan(text), (e: unknown) => e instanceof ScanError && pattern.test(`${e.path}: ${e.detail}`));
  fail('{"x": [[[1], [2, 3]]], "y": [[1]]}', /x\[0\]\[1\]: expected 1 elements \(as in the first\), found more/);
  fail('{"x": [[[1]], [[1], [2]]], "y": [[1]]}', /x\[1\]: expected 1 elements/);
  fail('{"x": [[["a"]]], "y": [[1]]}', /x\[0\]\[0\]\[0\]: expected a finite number, found a string/);
  fail('{"x": [[[1e400]]], "y": [[1]]}', /expected a finite number, found 1e400 \(out of range\)/);
  fail('{"x": [[[1]]], "y": [[1]]} x', /unexpected text after the end/);
  fail('{"x": [[[1,]]], "y": [[1]]}', /trailing comma/);
  fail('{"x": [[[]]], "y": [[1]]}', /empty array/);
  const deep = `{"x": ${'['.repeat(200_000)}1${']'.repeat(200_000)}, "y": [[1]]}`;
  assert.equal(scan(deep).get('x')!.shape.length, 200_000);
  assert.throws(() => parseBatchJsonBytes(Buffer.from(deep.padEnd(9 * 1024 * 1024)), 'deep.json'), /x: expected \[batch\]\[steps\]\[inputs\], found numbers nested 200000 deep/);
  // Above 8 MB there is no JSON.parse fallback: the scanner's message, with its line.
  const big = `{"x": [${Array.from({ length: 400_000 }, () => '[[0.123456789]]').join(',\n')}], "y": [${'[1],'.repeat(399_999)}[1, 2]]}`;
  assert.ok(big.length > 8 * 1024 * 1024);
  assert.throws(() => parseBatchJsonBytes(Buffer.from(big), 'big.json'), (e: unknown) => e instanceof InputError && e.line !== null && /y\[399999\]: expected 1 elements/.test(e.message));
});

describe('published schemas', () => {
  it('compile, and accept what BPTT Lens writes: a gradients run record and a study report', () => {
    for (const name of ['run', 'report', 'capture'] as const) assert.equal((publishedSchema(name) as { $schema: string }).$schema, 'http://json-schema.org/draft-07/schema#');
    for (const f of ['lstm_2layer', 'gru', 'lstm_bidir', 'rnn_relu']) {
      const record = gradientsRecord({ weights: join(FIXTURES, `${f}.safetensors`), input: join(FIXTURES, `${f}.input.json`), itemized: true, nonlinearity: f === 'rnn_relu' ? 'relu' : undefined });
      const text = serializeRunRecord(record);
      assert.equal(schemaProblem('run', JSON.parse(text)), null, f);
      assert.equal(parseRunRecordText(text, `${f}.json`).timesteps, record.timesteps);
    }
    for (const report of [fixtureReport(), fixtureReport({ tiny: true }), validReport()]) {
      const text = serializeReport(report);
      assert.equal(schemaProblem('report', JSON.parse(text)), null);
      parseReport(text, 'r.json');
    }
  });
  it('refuse a prototype key however it is spelt (a \\u escape too)', () => {
    const text = reportText(validReport()).replace('"gateMean": {', '"gateMean": {"\\u005f_proto__": [1, 2, 3, 4, 5, 6], ');
    assert.ok(text.includes('\\u005f_proto__'));
    assert.throws(() => parseReport(text, 'r.json'), /gateMean\.__proto__: the key "__proto__" is not allowed/);
  });
  it('name the first problem by path', () => {
    const raw = JSON.parse(reportText(validReport()));
    raw.runs[0].history.clipRate = 1.5;
    assert.deepEqual(schemaProblem('report', raw), { path: 'runs[0].history.clipRate', message: '1.5 is out of range: it must be <= 1' });
    assert.match(schemaProblem('run', { schema: 'bptt-lens/run@1' })!.message, /missing/);
  });
});

describe('saved reports read in a worker', () => {
  let bundle: WorkerBundle | undefined;
  let pool: WorkerPool;
  before(async () => {
    bundle = await bundleWorker('bptt-lens-report-worker-');
    pool = new WorkerPool({ workerPath: bundle.workerPath, size: 1 });
  });
  after(async () => {
    await pool.close();
    bundle?.remove();
  });
  it('give the very report (NaN kept) or the very InputError the in-process reader gives', async () => {
    const good = join(bundle!.dir, 'report.json');
    writeFileSync(good, serializeReport(fixtureReport({ tiny: true })));
    const inWorker = await pool.readReportFile(good);
    assert.deepEqual(inWorker, parseReport(serializeReport(fixtureReport({ tiny: true })), good));
    const raw = JSON.parse(reportText(validReport()));
    raw.runs[0].diagnosis.horizon = 99;
    const bad = join(bundle!.dir, 'bad.json');
    writeFileSync(bad, JSON.stringify(raw));
    await assert.rejects(pool.readReportFile(bad), (e: unknown) => e instanceof InputError && e.file === bad && /runs\[0\]\.diagnosis\.horizon: horizon 99/.test(e.message));
    await assert.rejects(pool.readReportFile('/dev/zero'), (e: unknown) => e instanceof InputError && /character device/.test(e.message));
  });
});

test('view bounds: runs, itemized rows and recorded iterations, each with a note', () => {
  const report = parseReport(reportText(validReport(6, 3)), 'r.json');
  assert.equal(boundReportForView(report).report, report, 'nothing left out: the same object');
  const run = { ...report.runs[0]!, itemized: Array.from({ length: MAX_VIEW_ITEMIZED_ROWS + 1 }, (_, s) => new Array(s + 1).fill(0)) };
  const b = boundRunForView(run);
  assert.equal(b.run.itemized, null);
  assert.match(b.notes[0]!, /513 × 513\) is not drawn/);
  const recorded = Array.from({ length: 5000 }, (_, i) => ({ ...run.history.recorded[0]!, iteration: i }));
  const many = boundRunForView({ ...report.runs[0]!, history: { ...run.history, recorded } });
  assert.equal(many.run.history.recorded.length, 1000);
  assert.equal(many.run.history.recorded[0]!.iteration, 0);
  assert.equal(many.run.history.recorded[999]!.iteration, 4999);
});

test('stale temporaries: a dead process\'s goes, a live one\'s and unrelated names stay', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bptt-sweep-'));
  try {
    const mine = join(dir, tempName('report'));
    const dead = join(dir, '.tmp-report-p999999999-0011223344ff');
    const other = join(dir, '.tmp-notours');
    for (const d of [mine, dead, other]) mkdirSync(d);
    utimesSync(dead, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    assert.deepEqual(sweepStaleTemps(dir), [dead]);
    assert.deepEqual(readdirSync(dir).sort(), [mine, other].map((p) => p.slice(dir.length + 1)).sort());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('markdown: autolinks broken, text unchanged to the eye', () => {
  for (const s of ['http://a.example/x', 'https://x.y', 'mailto:a@b.com', 'www.x.org', 'a@b.co', 'x//y']) {
    assert.equal(breakAutolinks(s).replace(/\u200b/g, ''), s);
    assert.ok(!/:\/\/|www\.|[\w.]@\w/.test(breakAutolinks(s)), s);
  }
  assert.equal(escapeMarkdown('plain.csv'), 'plain.csv');
});
