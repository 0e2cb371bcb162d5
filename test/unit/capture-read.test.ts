// The capture reader (src/io/capture.ts) on good and bad files, the replay into a run record
// (src/io/captureRun.ts), and the sampled itemized rows against the full matrix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { captureListing, listCaptures, parseCapture, readCaptureSync } from '../../src/io/capture';
import { analyzeCapture, planProbes, relativeMaxError, spread } from '../../src/io/captureRun';
import { firstVerdictChange, recurrentShare } from '../../src/io/captureReport';
import { InputError } from '../../src/io/errors';
import { makeCaptureBytes, captureName } from './capture-fixture';

const FILE = '/data/step-00000003.capture.safetensors';

function refused(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(() => parseCapture(bytes, FILE), (e: unknown) => {
    assert.ok(e instanceof InputError, String(e));
    assert.ok(e.message.startsWith(`${FILE}: `), e.message);
    assert.ok(!e.message.includes('\n'), 'one line');
    assert.match(e.message, pattern);
    return true;
  });
}

/** A capture with `lengths` as I64, as the recorder writes it (writeSafetensors writes floats only). */
function withInt64Lengths(lengths: number[]): Uint8Array {
  const bytes = makeCaptureBytes({ edit: (t) => t.set('lengths', { shape: [lengths.length], data: Float64Array.from(lengths) }) });
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  const header = JSON.parse(text) as Record<string, { data_offsets: [number, number] }>;
  const at = 8 + n + header.lengths!.data_offsets[0];
  lengths.forEach((v, k) => view.setBigInt64(at + 8 * k, BigInt(v), true));
  const patched = text.replace('"lengths":{"dtype":"F64"', '"lengths":{"dtype":"I64"');
  assert.notEqual(patched, text);
  bytes.set(new TextEncoder().encode(patched), 8);
  return bytes;
}

test('a good capture: config, tensors, metadata', () => {
  const c = parseCapture(makeCaptureBytes({ module: 'GRU', layers: 2, bidirectional: true, hidden: 5, steps: 7, batch: 3, step: 40 }), FILE);
  assert.equal(c.step, 40);
  assert.equal(c.module, 'GRU');
  assert.deepEqual(c.config, { cell: 'gru', nonlinearity: 'tanh', variant: 'vanilla', inputSize: 3, hiddenSize: 5, numLayers: 2, bidirectional: true });
  assert.equal(c.batchSize, 3);
  assert.equal(c.steps, 7);
  assert.equal(c.gradOutput.length, 3 * 7 * 10);
  assert.equal(c.h0, null);
  assert.equal(c.params.size, 16);
  assert.equal(c.info.name, 'encoder.lstm');
  assert.equal(c.info.trainingLoss, 0.5);
  assert.equal(c.info.rank, 0);
});

test('bad captures: one line naming the file and what was expected', () => {
  const good = makeCaptureBytes();
  refused(good.subarray(0, good.length - 5), /truncated/);
  refused(good.subarray(0, 6), /shorter than the 8-byte header/);
  refused(makeCaptureBytes({ edit: (t) => t.delete('grad_output') }), /missing tensor 'grad_output' \[2, 9, 6\] \(the upstream gradient/);
  refused(makeCaptureBytes({ edit: (t) => t.set('output', { shape: [2, 9, 5], data: new Float64Array(90) }) }), /'output' .* has shape \[2, 9, 5\]; expected \[2, 9, 6\]/);
  refused(makeCaptureBytes({ edit: (t) => t.set('weight_hh_l1', { shape: [24, 5], data: new Float64Array(120) }) }), /'weight_hh_l1' .* expected \[24, 6\]/);
  refused(makeCaptureBytes({ edit: (_t, m) => { m.module = 'Transformer'; } }), /unsupported module 'Transformer'; expected RNN, LSTM or GRU/);
  refused(makeCaptureBytes({ edit: (_t, m) => { delete m.schema; } }), /schema is missing; expected 'bptt-lens\/capture@1'/);
  refused(makeCaptureBytes({ edit: (_t, m) => { m.num_layers = 'two'; } }), /num_layers is 'two'; expected an integer/);
  refused(makeCaptureBytes({ edit: (t) => t.set('weight_hr_l0', { shape: [2, 6], data: new Float64Array(12) }) }), /proj_size/);
  refused(makeCaptureBytes({ edit: (t) => t.set('extra', { shape: [1], data: new Float64Array(1) }) }), /unexpected tensor 'extra'/);
  refused(withInt64Lengths([9, 4]), /shorter than T = 9 \(shortest 4\)/);
  assert.equal(parseCapture(withInt64Lengths([9, 9]), FILE).steps, 9);
  refused(makeCaptureBytes({ edit: (t) => t.set('lengths', { shape: [2], data: Float64Array.of(9, 9) }) }), /'lengths' has dtype F64; expected I64/);
  refused(makeCaptureBytes({ module: 'GRU', edit: (t) => t.set('c_0', { shape: [2, 2, 6], data: new Float64Array(24) }) }), /unexpected tensor 'c_0'/);
});

test('the header is checked before any tensor is decoded', () => {
  // A 2 GB tensor declared in the header of a short file: refused by offsets, nothing allocated.
  const header = JSON.stringify({ __metadata__: { schema: 'bptt-lens/capture@1' }, input: { dtype: 'F64', shape: [1000, 1000, 300], data_offsets: [0, 2_400_000_000] } });
  const bytes = new Uint8Array(8 + header.length);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(header.length), true);
  bytes.set(new TextEncoder().encode(header), 8);
  refused(bytes, /run past|truncated/);
  // Shapes that do not fit the declared module are refused in checkHeader, before decoding.
  let decoded = false;
  const wrong = makeCaptureBytes({ edit: (t) => t.set('grad_output', { shape: [2, 9, 7], data: new Float64Array(126) }) });
  assert.throws(() => parseCapture(wrong, FILE), (e: unknown) => {
    decoded = (e as Error).message.includes('decode');
    return e instanceof InputError;
  });
  assert.equal(decoded, false);
});

test('a folder: captures by step, temporary files skipped, no captures refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bptt-captures-'));
  try {
    assert.throws(() => listCaptures(dir), /no captures here; expected step-<8 digits>\.capture\.safetensors/);
    assert.throws(() => listCaptures(join(dir, 'missing')), /no such folder/);
    for (const s of [100, 20, 3]) writeFileSync(join(dir, captureName(s)), makeCaptureBytes({ step: s }));
    writeFileSync(join(dir, '.step-00000200.123.tmp'), 'partial');
    mkdirSync(join(dir, 'sub'));
    assert.deepEqual(listCaptures(dir).map((c) => c.step), [3, 20, 100]);
    assert.equal(readCaptureSync(join(dir, captureName(20))).step, 20);
    assert.throws(() => readCaptureSync(join(dir, 'sub')), /not a regular file \(a directory\)|is a directory/);
    assert.deepEqual(captureListing('/x', ['b.capture.safetensors', captureName(2), 'a.txt']).map((c) => c.name), [captureName(2), 'b.capture.safetensors']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('replay: exact output and input gradient, directGradNorm, the run record', () => {
  const c = parseCapture(makeCaptureBytes({ module: 'LSTM', layers: 2, steps: 12, batch: 3 }), FILE);
  const run = analyzeCapture(c);
  assert.equal(run.replayError, 0);
  assert.equal(run.inputGradError, 0);
  assert.equal(run.directGradNorm.length, 12);
  assert.equal(run.config.step, 0);
  assert.equal(run.config.mode, 'many-to-many');
  assert.equal(run.config.itemizedRows, 'all');
  assert.ok(run.diagnosis && ['vanishing', 'healthy', 'exploding'].includes(run.diagnosis.verdict));
  assert.equal(run.layers.length, 2);
  // The share that came through the recurrence is within [0, 1].
  for (const v of recurrentShare(run)!) assert.ok(v >= 0 && v <= 1);
  // A float32 capture: the replay error is float32 rounding, not zero, and small.
  const f32 = analyzeCapture(parseCapture(makeCaptureBytes({ dtype: 'F32' }), FILE));
  assert.ok(f32.replayError > 0 && f32.replayError < 1e-5, String(f32.replayError));
});

test('relativeMaxError: scale, zero, NaN', () => {
  assert.equal(relativeMaxError(Float64Array.of(1, -2), Float64Array.of(1, -2.5)), 0.25);
  assert.equal(relativeMaxError(Float64Array.of(0, 0), Float64Array.of(0, 0)), 0);
  assert.ok(Number.isNaN(relativeMaxError(Float64Array.of(1, 2), Float64Array.of(Number.NaN, 2))));
});

test('itemized rows: spread from the end, and the plan grows them off for big modules', () => {
  assert.deepEqual(spread([0, 1, 2, 3, 4, 5, 6, 7], 4), [1, 3, 5, 7]);
  assert.deepEqual(spread([0, 1, 2], 5), [0, 1, 2]);
  const small = parseCapture(makeCaptureBytes({ steps: 12 }), FILE);
  assert.equal(planProbes(small).rows.length, 12);
  assert.equal(planProbes(small, 3).rows.length, 3);
});

test('sampled itemized rows give the same diagnosis as the full matrix (T = 64)', () => {
  for (const [scale, seed] of [[0.4, 1], [0.9, 2], [1.6, 3]] as const) {
    const c = parseCapture(makeCaptureBytes({ module: 'LSTM', layers: 2, hidden: 16, steps: 64, batch: 4, recurrentScale: scale, seed }), FILE);
    const full = analyzeCapture(c, { itemizedRows: 'all' });
    const sampled = analyzeCapture(c, { itemizedRows: 8 });
    assert.equal(sampled.config.itemizedRows, '8 of 64');
    assert.equal(sampled.diagnosis!.verdict, full.diagnosis!.verdict);
    const rf = full.diagnosis!.decayPerStep!;
    const rs = sampled.diagnosis!.decayPerStep!;
    assert.ok(Math.abs(rs - rf) / rf < 0.05, `ρ ${rs} vs ${rf}`);
    const hf = full.diagnosis!.horizon;
    const hs = sampled.diagnosis!.horizon;
    assert.ok((hf === null && hs === null) || (hf !== null && hs !== null && Math.abs(hf - hs) <= Math.max(2, 0.1 * hf)), `horizon ${hs} vs ${hf}`);
  }
});

test('firstVerdictChange', () => {
  const r = (step: number, verdict: 'vanishing' | 'healthy') => ({ config: { step }, diagnosis: { verdict } });
  assert.equal(firstVerdictChange([r(0, 'healthy'), r(10, 'healthy')]), null);
  assert.deepEqual(firstVerdictChange([r(0, 'healthy'), r(10, 'healthy'), r(20, 'vanishing')]), { step: 20, from: 'healthy', to: 'vanishing' });
});

test('the captures report: files render, report.json reads back through the report schema', async () => {
  const { capturesReport, renderCapturesReportFiles, verdictOverTraining } = await import('../../src/io/captureReport');
  const { parseReport } = await import('../../src/io/report/read');
  const records = [30, 0, 10].map((step) => analyzeCapture(parseCapture(makeCaptureBytes({ step, seed: step + 2, steps: 10 }), `/c/${captureName(step)}`)));
  const report = capturesReport(records, '/c');
  assert.deepEqual(report.runs.map((r) => r.id), ['step-00000000', 'step-00000010', 'step-00000030']);
  const files = renderCapturesReportFiles(report);
  for (const name of ['report.json', 'report.md', 'report.html', 'heatmap-over-training.svg']) assert.ok(files.has(name), name);
  assert.match(String(files.get('report.md')), /## Verdict over training/);
  const back = parseReport(String(files.get('report.json')), 'report.json');
  assert.equal(back.study.kind, 'captures');
  assert.equal(back.runs.length, 3);
  const first = back.runs[0] as unknown as { replayError: number; directGradNorm: number[] };
  assert.equal(first.replayError, 0);
  assert.equal(first.directGradNorm.length, 10);
  const table = verdictOverTraining(report);
  assert.equal(table.length, 2 + 3 + 2); // header, rule, a row per capture, a blank line, the verdict sentence
  assert.match(table[table.length - 1]!, /^The verdict (changed first at step \d+|stayed \w+ over all 3 captured steps)/);
});

test('Save Report of a captures study writes the captures report folder (verdict over training, heatmap over training)', async () => {
  const { capturesReport } = await import('../../src/io/captureReport');
  const { saveReportFolder } = await import('../../src/extension/reportFiles');
  const { mkdtempSync, readdirSync, readFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const parent = mkdtempSync(join(tmpdir(), 'bptt-save-captures-'));
  try {
    const records = [0, 5].map((step) => analyzeCapture(parseCapture(makeCaptureBytes({ step, seed: step + 9, steps: 6 }), `/c/${captureName(step)}`)));
    const folder = await saveReportFolder(capturesReport(records, '/work/bptt-captures'), parent);
    assert.match(folder, /captures-bptt-captures$/);
    const files = readdirSync(folder);
    assert.ok(files.includes('heatmap-over-training.svg') && files.includes('report.md') && files.includes('report.html'), files.join(', '));
    assert.match(readFileSync(join(folder, 'report.md'), 'utf8'), /## Verdict over training/);
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
});
