// The built `bptt-lens gradients` command, end to end: good input gives a complete run
// record that matches PyTorch; every kind of bad input gives exit code 2, exactly one
// stderr line naming the file, and no output file.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readSafetensors, writeSafetensors } from '../../src/io/safetensors';
import { serializeRunRecord, toRunRecord } from '../../src/io/runRecord';

const ROOT = resolve(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'cli.js');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'torch');
let dir = '';

/** Newest modification time of any file under `path`. */
function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((f) => newestMtime(join(path, f))));
}

before(() => {
  // Build when dist/cli.js is missing or older than the sources. `npm test` has just built,
  // and rebuilding then would rewrite dist/ under test files running in parallel.
  if (!existsSync(CLI) || statSync(CLI).mtimeMs < newestMtime(join(ROOT, 'src'))) {
    const build = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(build.status, 0, `build failed: ${build.stderr}`);
  }
  dir = mkdtempSync(join(tmpdir(), 'bptt-lens-cli-'));
});

after(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const fixture = (name: string) => join(FIXTURES, name);

function expectInputFailure(args: string[], fileNamed: string, detail: RegExp): void {
  const out = join(dir, `out-${Math.random().toString(36).slice(2)}.json`);
  const r = cli([...args, '--out', out]);
  assert.equal(r.status, 2, `exit code for ${args.join(' ')}: ${r.status}, stderr: ${r.stderr}`);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `exactly one stderr line, got: ${r.stderr}`);
  assert.ok(lines[0].includes(fileNamed), `stderr names ${fileNamed}: ${lines[0]}`);
  assert.match(lines[0], detail);
  assert.equal(r.stdout, '');
  assert.equal(existsSync(out), false, 'no output file');
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp') || f.startsWith('.tmp-')), [], 'no temporary file left');
}

function isFiniteSeries(v: unknown): boolean {
  return Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number' && Number.isFinite(x));
}

test('good input: a complete run record matching PyTorch (2-layer LSTM, xent, many-to-many)', () => {
  const out = join(dir, 'lstm.json');
  const r = cli(['gradients', '--weights', fixture('lstm_2layer.safetensors'), '--input', fixture('lstm_2layer.input.json'), '--loss', 'xent', '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /^wrote .*lstm\.json: loss /);
  const rec = JSON.parse(readFileSync(out, 'utf8'));
  const ex = JSON.parse(readFileSync(fixture('lstm_2layer.expected.json'), 'utf8'));
  assert.equal(rec.schema, 'bptt-lens/run@1');
  for (const key of ['schema', 'config', 'timesteps', 'layers', 'inputGradNorm', 'loss', 'globalGradNorm', 'clippedGradNorm', 'nonFinite', 'itemized', 'diagnosis']) {
    assert.ok(key in rec, `record has ${key}`);
  }
  assert.equal(rec.config.cell, 'lstm');
  assert.equal(rec.config.mode, 'many-to-many');
  assert.equal(rec.config.loss, 'xent');
  assert.equal(rec.config.numLayers, 2);
  assert.equal(rec.timesteps, 6);
  assert.equal(rec.layers.length, 2);
  assert.equal(rec.nonFinite, null);
  assert.equal(rec.itemized, null);
  for (const layer of rec.layers) {
    for (const key of ['gradNormH', 'gradNormC', 'weightGradByStep']) assert.ok(isFiniteSeries(layer[key]), `${key} finite`);
    for (const gate of ['i', 'f', 'g', 'o']) {
      assert.ok(isFiniteSeries(layer.gateGradNorm[gate]), `gateGradNorm.${gate}`);
      assert.ok(isFiniteSeries(layer.gateMean[gate]), `gateMean.${gate}`);
      assert.ok(isFiniteSeries(layer.gateSaturation[gate]), `gateSaturation.${gate}`);
    }
  }
  assert.ok(isFiniteSeries(rec.inputGradNorm));
  const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);
  assert.ok(rel(rec.loss, ex.loss) < 1e-9, `loss ${rec.loss} vs torch ${ex.loss}`);
  assert.ok(rel(rec.globalGradNorm, ex.globalGradNorm) < 1e-9, `norm ${rec.globalGradNorm} vs torch ${ex.globalGradNorm}`);
  assert.equal(rec.clippedGradNorm, rec.globalGradNorm);
  for (const want of ex.layers) {
    const got = rec.layers.find((l: { layer: number; direction: string }) => l.layer === want.layer && l.direction === want.direction);
    want.gradNormH.forEach((v: number, t: number) => assert.ok(rel(got.gradNormH[t], v) < 1e-9, `layer ${want.layer} gradNormH[${t}]`));
  }
  ex.inputGradNorm.forEach((v: number, t: number) => assert.ok(rel(rec.inputGradNorm[t], v) < 1e-9, `inputGradNorm[${t}]`));
  assert.ok(rec.diagnosis === null || ['vanishing', 'exploding', 'healthy'].includes(rec.diagnosis.verdict));
});

test('stdout output, many-to-one inferred from y, --itemized, RNN relu and a bidirectional LSTM', () => {
  const relu = cli(['gradients', '--weights', fixture('rnn_relu.safetensors'), '--input', fixture('rnn_relu.input.json'), '--nonlinearity', 'relu', '--itemized']);
  assert.equal(relu.status, 0, relu.stderr);
  const rec = JSON.parse(relu.stdout);
  const ex = JSON.parse(readFileSync(fixture('rnn_relu.expected.json'), 'utf8'));
  assert.equal(rec.config.mode, 'many-to-one');
  assert.equal(rec.config.nonlinearity, 'relu');
  assert.ok(Math.abs(rec.loss - ex.loss) / ex.loss < 1e-9);
  assert.equal(rec.itemized.length, rec.timesteps);
  rec.itemized.forEach((row: number[], s: number) => assert.equal(row.length, s + 1));
  const bi = cli(['gradients', '--weights', fixture('lstm_bidir.safetensors'), '--input', fixture('lstm_bidir.input.json')]);
  assert.equal(bi.status, 0, bi.stderr);
  const birec = JSON.parse(bi.stdout);
  assert.equal(birec.layers.length, 4);
  assert.deepEqual(birec.layers.map((l: { direction: string }) => l.direction).sort(), ['forward', 'forward', 'reverse', 'reverse']);
});

function writeTemp(name: string, data: string | Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, data);
  return p;
}

function tensorsOf(name: string) {
  return readSafetensors(readFileSync(fixture(name)), name).tensors;
}

const goodInput = () => fixture('lstm_2layer.input.json');

test('bad weights: missing, truncated, corrupt header, misfitting shapes, non-finite, unknown names', () => {
  expectInputFailure(['gradients', '--weights', join(dir, 'nope.safetensors'), '--input', goodInput()], 'nope.safetensors', /no such file/);

  const good = readFileSync(fixture('lstm_2layer.safetensors'));
  const truncated = writeTemp('truncated.safetensors', good.subarray(0, good.length - 100));
  expectInputFailure(['gradients', '--weights', truncated, '--input', goodInput()], 'truncated.safetensors', /truncated|run past|cover/);
  const stub = writeTemp('stub.safetensors', good.subarray(0, 5));
  expectInputFailure(['gradients', '--weights', stub, '--input', goodInput()], 'stub.safetensors', /shorter than/);

  const corrupt = Buffer.from(good);
  corrupt.write('#garbage#', 9, 'latin1');
  expectInputFailure(['gradients', '--weights', writeTemp('corrupt.safetensors', corrupt), '--input', goodInput()], 'corrupt.safetensors', /header is not valid JSON/);

  const misfit = tensorsOf('lstm_2layer.safetensors');
  misfit.set('lstm.weight_ih_l1', { dtype: 'F64', shape: [16, 5], data: new Float64Array(80) });
  expectInputFailure(['gradients', '--weights', writeTemp('misfit.safetensors', writeSafetensors(misfit)), '--input', goodInput()], 'misfit.safetensors', /'lstm.weight_ih_l1' has shape \[16, 5\], expected \[16, 4\]/);

  const nan = tensorsOf('lstm_2layer.safetensors');
  nan.get('lstm.weight_hh_l0')!.data[3] = Number.NaN;
  expectInputFailure(['gradients', '--weights', writeTemp('nan.safetensors', writeSafetensors(nan)), '--input', goodInput()], 'nan.safetensors', /'lstm.weight_hh_l0' holds a non-finite value/);

  const unknown = tensorsOf('lstm_2layer.safetensors');
  unknown.set('lstm.num_batches_tracked', { dtype: 'F64', shape: [1], data: new Float64Array(1) });
  expectInputFailure(['gradients', '--weights', writeTemp('unknown.safetensors', writeSafetensors(unknown)), '--input', goodInput()], 'unknown.safetensors', /unknown tensor 'lstm.num_batches_tracked'/);

  expectInputFailure(['gradients', '--weights', dir, '--input', goodInput()], dir, /directory/);
});

test('bad input JSON: missing, wrong JSON with its line, ragged sequences, wrong types, sizes not fitting the model, mode mismatch', () => {
  const w = fixture('lstm_2layer.safetensors');
  expectInputFailure(['gradients', '--weights', w, '--input', join(dir, 'none.json')], 'none.json', /no such file/);
  const broken = writeTemp('broken.json', '{\n  "x": [[[1, 2, 3]]],\n  "y": [[[1, 0, 0]],\n}\n');
  expectInputFailure(['gradients', '--weights', w, '--input', broken], 'broken.json:', /broken\.json:\d+: invalid JSON/);
  const ragged = writeTemp('ragged.json', JSON.stringify({ x: [[[1, 2, 3], [1, 2, 3]], [[1, 2, 3]]], y: [[1, 0, 0], [0, 1, 0]] }));
  expectInputFailure(['gradients', '--weights', w, '--input', ragged, '--loss', 'xent'], 'ragged.json', /x\[1\]/);
  const raggedStep = writeTemp('ragged-step.json', JSON.stringify({ x: [[[1, 2, 3], [1, 2]]], y: [[1, 0, 0]] }));
  expectInputFailure(['gradients', '--weights', w, '--input', raggedStep, '--loss', 'xent'], 'ragged-step.json', /x\[0\]\[1\]/);
  const strings = writeTemp('strings.json', JSON.stringify({ x: [[[1, 'a', 3]]], y: [[1, 0, 0]] }));
  expectInputFailure(['gradients', '--weights', w, '--input', strings, '--loss', 'xent'], 'strings.json', /expected a finite number/);
  const wide = writeTemp('wide.json', JSON.stringify({ x: [[[1, 2]]], y: [[1, 0, 0]] }));
  expectInputFailure(['gradients', '--weights', w, '--input', wide, '--loss', 'xent'], 'wide.json', /2 inputs per step, but the model in .*\.safetensors reads 3/);
  const outs = writeTemp('outs.json', JSON.stringify({ x: [[[1, 2, 3]]], y: [[1, 0]] }));
  expectInputFailure(['gradients', '--weights', w, '--input', outs, '--loss', 'xent'], 'outs.json', /2 outputs per target, but the head of the model in .*\.safetensors gives 3/);
  const oneToMany = writeTemp('m2o.json', JSON.stringify({ x: [[[1, 2, 3]]], y: [[1, 0, 0]] }));
  expectInputFailure(['gradients', '--weights', w, '--input', oneToMany, '--mode', 'many-to-many'], 'm2o.json', /many-to-one, but mode many-to-many/);
  const labels = writeTemp('labels.json', JSON.stringify({ x: [[[1, 2, 3]]], y: [[2, 0, 0]] }));
  expectInputFailure(['gradients', '--weights', w, '--input', labels, '--loss', 'xent'], 'labels.json', /sums to 2: xent targets must be class probabilities/);
});

test('usage errors: one line, exit code 2; --help exits 0', () => {
  for (const args of [
    ['gradients', '--input', goodInput()],
    ['gradients', '--weights', 'w', '--input', 'x', '--loss', 'hinge'],
    ['gradients', '--weights', 'w', '--input', 'x', '--frobnicate'],
    ['frobnicate'],
  ]) {
    const r = cli(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.split('\n').filter((l) => l).length, 1, r.stderr);
  }
  const help = cli(['gradients', '--help']);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--weights <file>/);
});

test('a failed run leaves an existing --out file untouched; the output directory must exist', () => {
  const out = join(dir, 'keep.json');
  writeFileSync(out, 'previous');
  const r = cli(['gradients', '--weights', join(dir, 'nope.safetensors'), '--input', goodInput(), '--out', out]);
  assert.equal(r.status, 2);
  assert.equal(readFileSync(out, 'utf8'), 'previous');
  copyFileSync(fixture('rnn_tanh.safetensors'), join(dir, 'rnn.safetensors'));
  const missingDir = cli(['gradients', '--weights', join(dir, 'rnn.safetensors'), '--input', fixture('rnn_tanh.input.json'), '--out', join(dir, 'no-such-dir', 'r.json')]);
  assert.equal(missingDir.status, 2);
  assert.match(missingDir.stderr, /r\.json: cannot write: directory .* does not exist/);
});

test('overflowing weights are a finding, not a crash: exit 0, nonFinite named, non-finite numbers written as null', () => {
  const huge = tensorsOf('rnn_relu.safetensors');
  for (const t of huge.values()) for (let k = 0; k < t.data.length; k++) t.data[k] *= 1e200;
  const w = writeTemp('huge.safetensors', writeSafetensors(huge));
  const r = cli(['gradients', '--weights', w, '--input', fixture('rnn_relu.input.json'), '--nonlinearity', 'relu']);
  assert.equal(r.status, 0, r.stderr);
  const rec = JSON.parse(r.stdout);
  assert.ok(rec.nonFinite, 'nonFinite is set');
  assert.equal(typeof rec.nonFinite.quantity, 'string');
  assert.equal(rec.loss, null);
  if (rec.diagnosis) assert.equal(rec.diagnosis.verdict, 'exploding');
});

test('serializeRunRecord: valid JSON, NaN and Infinity become null, numeric series on one line', () => {
  const record = toRunRecord(
    {
      timesteps: 2,
      layers: [{ layer: 0, direction: 'forward', gradNormH: [1, Number.NaN], gradNormC: null, gateGradNorm: { a: [0.5, Infinity] }, gateMean: { a: [0, 0] }, gateSaturation: { a: [0, 0] }, weightGradByStep: [1e-300, -2.5e10], jacobianNorm: null }],
      inputGradNorm: [3, 4],
      loss: Number.NaN,
      globalGradNorm: Infinity,
      clippedGradNorm: -Infinity,
      nonFinite: { quantity: 'loss', layer: null, t: null, value: Number.NaN },
      itemized: [[1], [2, 3]],
    },
    { cell: 'rnn' },
    null,
  );
  const text = serializeRunRecord(record);
  const back = JSON.parse(text);
  assert.deepEqual(back.layers[0].gradNormH, [1, null]);
  assert.deepEqual(back.layers[0].gateGradNorm.a, [0.5, null]);
  assert.deepEqual(back.layers[0].weightGradByStep, [1e-300, -2.5e10]);
  assert.equal(back.loss, null);
  assert.equal(back.globalGradNorm, null);
  assert.equal(back.clippedGradNorm, null);
  assert.equal(back.nonFinite.value, null);
  assert.deepEqual(back.itemized, [[1], [2, 3]]);
  assert.match(text, /"gradNormH": \[1, null\]/);
  assert.match(text, /"weightGradByStep": \[1e-300, -25000000000\]/);
  assert.ok(text.endsWith('}\n'));
});

test('--jacobian-iterations: auto runs all 20 on a small model and none where they would cost minutes; 0 skips; a bad value names the option', async () => {
  const { budgetedJacobianIterations } = await import('../../src/engine/probeBudget');
  const lstm = { cell: 'lstm' as const, nonlinearity: 'tanh' as const, variant: 'vanilla' as const, hiddenSize: 512, inputSize: 128, numLayers: 2, bidirectional: false };
  assert.equal(budgetedJacobianIterations(lstm, 8, 256), 0, 'H = 512: 20 iterations would be ~8 passes');
  assert.equal(budgetedJacobianIterations({ ...lstm, hiddenSize: 4, inputSize: 3 }, 8, 30), 20);
  const auto = cli(['gradients', '--weights', fixture('lstm_2layer.safetensors'), '--input', goodInput()]);
  assert.equal(auto.status, 0, auto.stderr);
  const record = JSON.parse(auto.stdout);
  assert.equal(record.config.jacobianIterations, 20);
  assert.ok(record.layers.every((l: { jacobianNorm: unknown }) => Array.isArray(l.jacobianNorm)));
  const off = cli(['gradients', '--weights', fixture('lstm_2layer.safetensors'), '--input', goodInput(), '--jacobian-iterations', '0']);
  assert.equal(off.status, 0, off.stderr);
  const none = JSON.parse(off.stdout);
  assert.equal(none.config.jacobianIterations, 0);
  assert.ok(none.layers.every((l: { jacobianNorm: unknown }) => l.jacobianNorm === null));
  assert.deepEqual(none.layers.map((l: { gradNormH: number[] }) => l.gradNormH), record.layers.map((l: { gradNormH: number[] }) => l.gradNormH), 'the Jacobian probe changes no gradient');
  const bad = cli(['gradients', '--weights', fixture('lstm_2layer.safetensors'), '--input', goodInput(), '--jacobian-iterations', 'lots']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--jacobian-iterations: expected 'auto' or a whole number from 0 to 1000, got 'lots'/);
});
