// The Probe State Dict editor's host side: its message gate refuses anything but its own and
// the report panel's well-formed messages; its session commits choices only with the result
// they produced; its numbers, computed in the worker pool, are the CLI's `gradients` output
// byte for byte on PyTorch-written state dicts; bad input is one line naming the file (and line).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, ftruncateSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { validateProbeMessage } from '../../src/extension/probeProtocol';
import { errorLine } from '../../src/io/errors';
import { ProbeSession, type ProbeWorkers } from '../../src/extension/probeSession';
import { saveReportFolder } from '../../src/extension/reportFiles';
import { readReportFile } from '../../src/io/report/read';
import { InputError } from '../../src/io/errors';
import { serializeRunRecord } from '../../src/io/runRecord';
import { readSafetensors, writeSafetensors } from '../../src/io/safetensors';
import { probeReport } from '../../src/io/probeReport';
import { checkProbeState } from '../../webview/probeState';
import { inspectStateDict, probeStateDict, type StateDictSummary } from '../../src/io/stateDictProbe';
import type { RunRecord } from '../../src/study/types';
import { WorkerPool } from '../../src/worker/pool';

const ROOT = resolve(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'cli.js');
const WORKER = join(ROOT, 'dist', 'worker.js');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'torch');
const fixture = (name: string): string => join(FIXTURES, name);

let dir = '';
let pool: WorkerPool;

before(() => {
  if (!existsSync(WORKER) || !existsSync(CLI)) {
    const build = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(build.status, 0, build.stderr);
  }
  dir = mkdtempSync(join(tmpdir(), 'bptt-lens-probe-'));
  pool = new WorkerPool({ workerPath: WORKER, size: 1 });
});

after(async () => {
  await pool.close();
  rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------- the message gate

describe('validateProbeMessage', () => {
  test('accepts the editor\'s own messages and the report panel\'s', () => {
    assert.deepEqual(validateProbeMessage({ type: 'chooseSequence' }), { type: 'chooseSequence' });
    assert.deepEqual(validateProbeMessage({ type: 'rerun' }), { type: 'rerun' });
    assert.deepEqual(validateProbeMessage({ type: 'cancel' }), { type: 'cancel' });
    assert.deepEqual(validateProbeMessage({ type: 'setCell', cell: 'lstm-cifg' }), { type: 'setCell', cell: 'lstm-cifg' });
    assert.deepEqual(validateProbeMessage({ type: 'setLoss', loss: 'xent' }), { type: 'setLoss', loss: 'xent' });
    assert.deepEqual(validateProbeMessage({ type: 'saveReport' }), { type: 'saveReport' });
    assert.deepEqual(validateProbeMessage({ type: 'ready' }), { type: 'ready' });
    assert.deepEqual(validateProbeMessage({ type: 'openHeatmap', runId: 'probe', kind: 'itemized', quantity: '' }), { type: 'openHeatmap', runId: 'probe', kind: 'itemized', quantity: '' });
  });

  test('refuses hostile and malformed messages', () => {
    const getter = { type: 'setCell' } as Record<string, unknown>;
    Object.defineProperty(getter, 'cell', { enumerable: true, get: () => 'lstm' });
    const throwing = new Proxy({}, { ownKeys: () => { throw new Error('boom'); }, getPrototypeOf: () => Object.prototype });
    class Fake { type = 'cancel'; }
    const refused: unknown[] = [
      null, undefined, 42, 'cancel', [], [{ type: 'cancel' }],
      {}, { type: 'nope' }, { type: 'cancel', extra: 1 }, { type: 'chooseSequence', file: '/etc/passwd' },
      { type: 'rerun', weights: '/dev/zero' },
      { type: 'setCell' }, { type: 'setCell', cell: 3 }, { type: 'setCell', cell: '' }, { type: 'setCell', cell: '<img src=x onerror=alert(1)>' },
      { type: 'setCell', cell: 'a'.repeat(33) }, { type: 'setCell', cell: 'LSTM' }, { type: 'setCell', cell: 'lstm', loss: 'mse' },
      { type: 'setLoss', loss: 'hinge' }, { type: 'setLoss', loss: ['mse'] }, { type: 'setLoss' },
      { type: 'runCommand', command: 'workbench.action.terminal.new' }, { type: 'saveReport', path: '/tmp/x' },
      getter, throwing, new Fake(), Object.create({ type: 'cancel' }),
    ];
    refused.forEach((m, i) => {
      let shown: string;
      try {
        shown = String(JSON.stringify(m));
      } catch {
        shown = `#${i}`;
      }
      assert.equal(validateProbeMessage(m), null, `refused: ${shown}`);
    });
  });

  test('returns a fresh object, not the sender\'s', () => {
    const sent = { type: 'setCell', cell: 'gru' };
    const got = validateProbeMessage(sent);
    assert.notEqual(got, sent);
  });
});

// ---------------------------------------------------------------- the session

const SUMMARY: StateDictSummary = {
  file: '/w/model.safetensors', cell: 'lstm', cells: ['lstm', 'lstm-cifg', 'slstm'], numLayers: 2, bidirectional: false,
  hiddenSize: 4, inputSize: 3, outputSize: 3, parameterCount: 319, tensorCount: 10, bytes: 4000, metadata: null,
};

function fakeRecord(loss: number, cell = 'lstm'): RunRecord {
  return {
    schema: 'bptt-lens/run@1', config: { cell: 'lstm', cellChoice: cell, numLayers: 2, hiddenSize: 4, bidirectional: false, mode: 'many-to-many', loss: 'mse', batchSize: 2 },
    timesteps: 3, layers: [{ layer: 0, direction: 'forward', gradNormH: [1, 2, 3], gradNormC: null, gateGradNorm: {}, gateMean: {}, gateSaturation: {}, weightGradByStep: null, jacobianNorm: null }],
    inputGradNorm: [1, 1, 1], loss, globalGradNorm: 1, clippedGradNorm: 1, nonFinite: null, itemized: null, diagnosis: null,
  } as unknown as RunRecord;
}

/** Workers whose answers the test settles by hand. */
function manualWorkers() {
  const calls: { kind: 'inspect' | 'probe'; args: unknown; signal: AbortSignal; resolve: (v: unknown) => void; reject: (e: unknown) => void; onStage?: (label: string) => void }[] = [];
  const workers: ProbeWorkers = {
    inspect: (file, cell, signal) => new Promise((res, rej) => calls.push({ kind: 'inspect', args: { file, cell }, signal, resolve: res as (v: unknown) => void, reject: rej })),
    probe: (options, signal, onStage) => new Promise((res, rej) => {
      calls.push({ kind: 'probe', args: options, signal, resolve: res as (v: unknown) => void, reject: rej, onStage });
      signal.addEventListener('abort', () => rej(Object.assign(new Error('cancelled'), { name: 'AbortError' })));
    }),
  };
  return { workers, calls };
}

describe('ProbeSession', () => {
  test('reads the weights, probes a chosen file, and keeps everything when a later file is bad', async () => {
    const { workers, calls } = manualWorkers();
    const s = new ProbeSession('/w/model.safetensors', workers, () => 1000);
    let changes = 0;
    s.onChange(() => changes++);
    const opened = s.open();
    assert.equal(s.state().busy?.label, 'Reading model.safetensors…');
    calls[0]!.resolve(SUMMARY);
    assert.equal(await opened, true);
    assert.equal(s.state().summary?.cell, 'lstm');
    assert.deepEqual(s.state().summary?.cells, ['lstm', 'lstm-cifg', 'slstm']);

    const good = s.chooseInput('/w/seq.json');
    assert.deepEqual(calls[1]!.args, { weights: '/w/model.safetensors', input: '/w/seq.json', loss: 'mse' });
    assert.equal(s.state().busy?.label, 'Probing on seq.json…');
    calls[1]!.onStage!('Forward and backward pass: …');
    assert.equal(s.state().busy?.label, 'Forward and backward pass: …');
    calls[1]!.resolve(fakeRecord(0.5));
    assert.equal(await good, true);
    assert.equal(s.state().input, 'seq.json');
    assert.equal(s.state().hasResult, true);
    const report = s.report();
    assert.equal(report?.study.kind, 'probe');
    assert.equal(report?.runs[0]?.loss, 0.5);
    assert.ok(report?.study.findings?.some((f) => /^No itemized matrix: .* up to T = 128/.test(f)), 'a many-to-many pass without the itemized matrix says why');

    const bad = s.chooseInput('/w/wide.json');
    calls[2]!.reject(new InputError('/w/wide.json', 4, 'x[0][0]: 4 inputs per step, but the model in /w/model.safetensors reads 3'));
    assert.equal(await bad, false);
    const st = s.state();
    assert.equal(st.error, 'wide.json:4: x[0][0]: 4 inputs per step, but the model in /w/model.safetensors reads 3');
    assert.equal(st.input, 'seq.json', 'the input on show is still the good one');
    assert.equal(s.report(), report, 'the result on show is unchanged');
    assert.equal(st.busy, null);
    assert.ok(changes >= 6);
    // What the host posts passes the webview's own check; a tampered copy does not.
    assert.deepEqual(checkProbeState(JSON.parse(JSON.stringify(st))), st);
    for (const bad of [
      { ...st, type: 'report' }, { ...st, loss: 'hinge' }, { ...st, busy: { label: 3, since: 0 } }, { ...st, summary: { ...st.summary, cells: 'lstm' } },
      { ...st, summary: { ...st.summary, numLayers: -1 } }, { ...st, error: 'x'.repeat(30_000) }, { ...st, hasResult: 'yes' }, null, [],
    ]) assert.equal(checkProbeState(bad), null, JSON.stringify(bad).slice(0, 80));
  });

  test('cancel: the pass is aborted, a note says so, nothing changes', async () => {
    const { workers, calls } = manualWorkers();
    const s = new ProbeSession('/w/model.safetensors', workers);
    const opened = s.open();
    calls[0]!.resolve(SUMMARY);
    await opened;
    const running = s.chooseInput('/w/seq.json');
    assert.equal(s.isBusy, true);
    // One job at a time: a second request while busy is refused, not queued.
    assert.equal(await s.chooseInput('/w/other.json'), false);
    assert.equal(calls.length, 2);
    s.cancel();
    assert.equal(calls[1]!.signal.aborted, true);
    assert.equal(await running, false);
    assert.equal(s.state().note, 'Cancelled; nothing changed.');
    assert.equal(s.state().error, null);
    assert.equal(s.state().input, null);
    assert.equal(s.report(), null);
  });

  test('the cell picker takes only cells the weights fit, and re-runs the chosen file with it', async () => {
    const { workers, calls } = manualWorkers();
    const s = new ProbeSession('/w/model.safetensors', workers);
    const opened = s.open();
    calls[0]!.resolve(SUMMARY);
    await opened;
    assert.equal(await s.setCell('gru'), false, 'not among the cells these tensors fit');
    assert.equal(await s.setCell('lstm'), false, 'already the cell');
    assert.equal(calls.length, 1);
    const first = s.chooseInput('/w/seq.json');
    calls[1]!.resolve(fakeRecord(0.5));
    await first;
    const switched = s.setCell('slstm');
    assert.deepEqual(calls[2]!.args, { file: '/w/model.safetensors', cell: 'slstm' });
    calls[2]!.resolve({ ...SUMMARY, cell: 'slstm' });
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(calls[3]!.args, { weights: '/w/model.safetensors', input: '/w/seq.json', loss: 'mse', cell: 'slstm' });
    calls[3]!.resolve(fakeRecord(0.7, 'slstm'));
    assert.equal(await switched, true);
    assert.equal(s.state().summary?.cell, 'slstm');
    assert.equal(s.report()?.runs[0]?.loss, 0.7);
    // A cell whose pass fails leaves the earlier cell and result on show.
    const failing = s.setCell('lstm-cifg');
    calls[4]!.resolve({ ...SUMMARY, cell: 'lstm-cifg' });
    await new Promise((r) => setImmediate(r));
    calls[5]!.reject(new InputError('/w/seq.json', null, 'something the cell refuses'));
    assert.equal(await failing, false);
    assert.equal(s.state().summary?.cell, 'slstm');
    assert.equal(s.report()?.runs[0]?.loss, 0.7);
    assert.equal(s.state().error, 'seq.json: something the cell refuses');
  });

  test('weights that cannot be read: the error names the file; Read again tries again', async () => {
    const { workers, calls } = manualWorkers();
    const s = new ProbeSession('/w/notes.safetensors', workers);
    const opened = s.open();
    calls[0]!.reject(new InputError('/w/notes.safetensors', null, "unknown tensor 'embedding.weight'"));
    assert.equal(await opened, false);
    assert.equal(s.state().summary, null);
    assert.equal(s.state().error, "notes.safetensors: unknown tensor 'embedding.weight'");
    assert.equal(await s.chooseInput('/w/seq.json'), false, 'no probe without weights');
    const again = s.rerun();
    assert.equal(calls[1]!.kind, 'inspect');
    calls[1]!.resolve(SUMMARY);
    assert.equal(await again, true);
    assert.equal(s.state().error, null);
  });

  test('setLoss without a file only records the choice; with one it re-runs', async () => {
    const { workers, calls } = manualWorkers();
    const s = new ProbeSession('/w/model.safetensors', workers);
    const opened = s.open();
    calls[0]!.resolve(SUMMARY);
    await opened;
    assert.equal(await s.setLoss('xent'), true);
    assert.equal(s.state().loss, 'xent');
    assert.equal(calls.length, 1);
    const p = s.chooseInput('/w/seq.json');
    assert.equal((calls[1]!.args as { loss: string }).loss, 'xent');
    calls[1]!.resolve(fakeRecord(0.5));
    await p;
    const q = s.setLoss('mse');
    calls[2]!.reject(new InputError('/w/seq.json', 2, 'bad'));
    await q;
    assert.equal(s.state().loss, 'xent', 'a failed re-run keeps the loss on show');
  });
});

test('errorLine: base name and line', () => {
  assert.equal(errorLine(new InputError('/a/b/c.json', 12, 'expected a number')), 'c.json:12: expected a number');
  assert.equal(errorLine(new InputError('/a/w.safetensors', null, 'truncated')), 'w.safetensors: truncated');
  assert.equal(errorLine(new Error('two\nlines')), 'two lines');
});

// ---------------------------------------------------------------- the editor's numbers are the CLI's

function cliRecord(args: string[]): string {
  const out = join(dir, `cli-${Math.random().toString(36).slice(2)}.json`);
  const r = spawnSync(process.execPath, [CLI, 'gradients', ...args, '--out', out], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return readFileSync(out, 'utf8');
}

const CASES: { name: string; loss: 'mse' | 'xent'; cell?: string; itemized: boolean }[] = [
  { name: 'lstm_2layer', loss: 'xent', itemized: true }, // many-to-many, T = 6: itemized
  { name: 'gru', loss: 'mse', itemized: false }, // many-to-one
  { name: 'rnn_tanh', loss: 'mse', itemized: true },
  { name: 'rnn_relu', loss: 'mse', cell: 'rnn-relu', itemized: false },
  { name: 'lstm_bidir', loss: 'mse', itemized: false },
  { name: 'modern_slstm', loss: 'mse', cell: 'slstm', itemized: true },
];

let torchChecked = 0;
for (const c of CASES) {
  test(`the editor's pass (worker pool) equals \`bptt-lens gradients\` byte for byte: ${c.name}${c.cell ? ` as ${c.cell}` : ''}`, async () => {
    const weights = fixture(`${c.name}.safetensors`);
    const input = fixture(`${c.name}.input.json`);
    const stages: string[] = [];
    const fromEditor = await pool.probeStateDict({ weights, input, loss: c.loss, ...(c.cell ? { cell: c.cell } : {}) }, { onProgress: (label) => stages.push(label) });
    assert.deepEqual(stages.map((l) => l.split(/[:…]/)[0]), ['Reading ' + c.name + '.safetensors', 'Reading ' + c.name + '.input.json', 'Forward and backward pass', 'Diagnosis'], stages.join(' | '));
    const args = ['--weights', weights, '--input', input, '--loss', c.loss, ...(c.cell ? ['--cell', c.cell] : []), ...(c.itemized ? ['--itemized'] : [])];
    const fromCli = cliRecord(args);
    assert.equal(serializeRunRecord(fromEditor), fromCli);
    assert.equal(fromEditor.itemized !== null, c.itemized, 'itemized where the lag profile reads it');
    // And it is not trivially equal: the record holds real per-layer series, and they are PyTorch's.
    assert.ok(fromEditor.layers.every((l) => l.gradNormH.length === fromEditor.timesteps && l.gradNormH.some((v) => v > 0)));
    const torch = JSON.parse(readFileSync(fixture(`${c.name}.expected.json`), 'utf8')) as { loss: number; layers: { layer: number; direction: string; gradNormH: number[] }[]; lossKind: string };
    if (torch.lossKind === c.loss) {
      const rel = (a: number, b: number): number => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);
      assert.ok(rel(fromEditor.loss, torch.loss) < 1e-9, `loss ${fromEditor.loss} vs torch ${torch.loss}`);
      for (const want of torch.layers) {
        const got = fromEditor.layers.find((l) => l.layer === want.layer && l.direction === want.direction)!;
        want.gradNormH.forEach((v, t) => assert.ok(rel(got.gradNormH[t]!, v) < 1e-9, `layer ${want.layer} ${want.direction} gradNormH[${t}]: ${got.gradNormH[t]} vs torch ${v}`));
      }
      torchChecked++;
    }
  });
}

test('the editor\'s per-layer ‖∂L/∂h_t‖ was checked against PyTorch autograd on most cases', () => {
  assert.ok(torchChecked >= 5, `${torchChecked} of ${CASES.length} cases compared with the torch fixtures`);
});

test('the summary: lstm_2layer as PyTorch wrote it', async () => {
  const s = await pool.inspectStateDict(fixture('lstm_2layer.safetensors'));
  assert.equal(s.cell, 'lstm');
  assert.equal(s.numLayers, 2);
  assert.equal(s.bidirectional, false);
  assert.equal(s.hiddenSize, 4);
  assert.equal(s.inputSize, 3);
  // 4H·I + 4H·H + 2·4H (layer 0) + 4H·H + 4H·H + 2·4H (layer 1) + O·H + O.
  const H = 4, I = 3, O = s.outputSize;
  assert.equal(s.parameterCount, 4 * H * I + 4 * H * H + 8 * H + 2 * 4 * H * H + 8 * H + O * H + O);
  assert.ok(s.cells.includes('lstm') && s.cells.includes('slstm') && s.cells.includes('lstm-cifg'));
  assert.ok(!s.cells.includes('gru') && !s.cells.includes('lstm-peephole'));
  const gru = await pool.inspectStateDict(fixture('gru.safetensors'));
  assert.deepEqual(gru.cells, ['gru']);
  const rnn = await pool.inspectStateDict(fixture('rnn_tanh.safetensors'));
  assert.deepEqual(rnn.cells, ['rnn-tanh', 'rnn-relu']);
  const asRelu = await pool.inspectStateDict(fixture('rnn_tanh.safetensors'), 'rnn-relu');
  assert.equal(asRelu.cell, 'rnn-relu');
});

// ---------------------------------------------------------------- bad input: one line naming the file

async function refusal(p: Promise<unknown>): Promise<InputError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof InputError, `an InputError, got ${String(e)}`);
    assert.ok(!e.message.includes('\n'), 'one line');
    return e;
  }
  assert.fail('expected a refusal');
}

test('bad weights and bad sequence files are refused with the file (and line) named', async () => {
  const notSafetensors = join(dir, 'notes.safetensors');
  writeFileSync(notSafetensors, 'hello, this is not a safetensors file at all');
  let e = await refusal(pool.inspectStateDict(notSafetensors));
  assert.equal(e.file, notSafetensors);

  // A whole model's state dict (an embedding beside the LSTM and its head): not a plain module + Linear.
  const { tensors } = readSafetensors(readFileSync(fixture('lstm_2layer.safetensors')), 'x');
  const withEmbedding = new Map([...tensors].map(([k, v]) => [k, { shape: v.shape, data: v.data }]));
  withEmbedding.set('embedding.weight', { shape: [10, 3], data: new Float64Array(30) });
  const whole = join(dir, 'whole-model.safetensors');
  writeFileSync(whole, writeSafetensors(withEmbedding));
  e = await refusal(pool.inspectStateDict(whole));
  assert.equal(e.file, whole);
  assert.match(e.detail, /embedding\.weight/);

  // Too big: a sparse file over the weights' cap is refused before it is read.
  const huge = join(dir, 'huge.safetensors');
  const fd = openSync(huge, 'w');
  ftruncateSync(fd, 600 * 1024 * 1024);
  closeSync(fd);
  e = await refusal(pool.inspectStateDict(huge));
  assert.match(e.detail, /file is 600 MB; the limit for a \.safetensors file is 512 MB/);

  // Not a regular file.
  e = await refusal(pool.inspectStateDict(dir));
  assert.match(e.detail, /not a regular file|directory/);

  const weights = fixture('lstm_2layer.safetensors');
  const input = JSON.parse(readFileSync(fixture('lstm_2layer.input.json'), 'utf8')) as { x: number[][][]; y: unknown };
  const wide = join(dir, 'wide.json');
  writeFileSync(wide, JSON.stringify({ x: input.x.map((seq) => seq.map((step) => [...step, 0])), y: input.y }));
  e = await refusal(pool.probeStateDict({ weights, input: wide, loss: 'xent' }));
  assert.equal(e.file, wide);
  assert.match(e.detail, /4 inputs per step, but the model in .*lstm_2layer\.safetensors reads 3/);

  const broken = join(dir, 'broken.json');
  writeFileSync(broken, '{\n  "x": [[[1, 2, 3]]],\n  "y": [[[1, 0, 0]]] oops\n}\n');
  e = await refusal(pool.probeStateDict({ weights, input: broken, loss: 'xent' }));
  assert.equal(e.file, broken);
  assert.equal(e.line, 3);
  assert.match(errorLine(e), /^broken\.json:3: /);
});

test('probeReport: a report the reader accepts and Save Report writes (kind probe)', async () => {
  const weights = fixture('lstm_2layer.safetensors');
  const input = fixture('lstm_2layer.input.json');
  const record = probeStateDict({ weights, input, loss: 'xent' });
  const report = probeReport(record, { weights, input, createdAt: '2026-01-01T00:00:00.000Z' });
  assert.equal(report.study.kind, 'probe');
  assert.equal(report.runs.length, 1);
  assert.equal(report.runs[0]!.itemized?.length, 6);
  assert.ok(!report.study.findings?.some((f) => /itemized/.test(f)));
  assert.match(report.study.description, /lstm_2layer\.safetensors \(lstm, 2 layers, H = 4\) probed on lstm_2layer\.input\.json/);
  const folder = await saveReportFolder(report, dir, [dir]);
  for (const f of ['report.json', 'report.md', 'report.html', 'lag-profiles.svg', 'gradient-absolute.svg', 'heatmap-layers.svg']) assert.ok(statSync(join(folder, f)).size > 0, f);
  // One pass, no training: no loss curve, no heatmap over iterations; the layers' heatmap says so on its axis.
  assert.deepEqual(readdirSync(folder).filter((f) => /^loss|^heatmap-1/.test(f)), []);
  const heat = readFileSync(join(folder, 'heatmap-layers.svg'), 'utf8');
  assert.match(heat, />layer</);
  assert.doesNotMatch(heat, /training iteration/);
  const md = readFileSync(join(folder, 'report.md'), 'utf8');
  assert.ok(md.includes('With the weights of lstm\\_2layer.safetensors'), 'the findings lead report.md');
  assert.doesNotMatch(md, /Training loss/);
  const back = await readReportFile(join(folder, 'report.json'));
  assert.equal(back.study.kind, 'probe');
  assert.equal(back.runs[0]!.loss, record.loss);
  assert.deepEqual(back.runs[0]!.layers[0]!.gradNormH, record.layers[0]!.gradNormH);
  // The in-process path and the summary agree with the worker's.
  const s = inspectStateDict(weights);
  assert.equal(s.cell, 'lstm');
});

test('cancel stops the pass in the worker within a moment, and the pool goes on working', async () => {
  // A pass of a few seconds: a 2-layer LSTM, H = 96, on 8 sequences of 400 steps (no itemized above T = 128).
  const { createModel } = await import('../../src/engine/model');
  const { stateDictFromModel } = await import('../../src/io/stateDict');
  const m = createModel({ cell: 'lstm', nonlinearity: 'tanh', variant: 'vanilla', inputSize: 16, hiddenSize: 96, numLayers: 2, bidirectional: false, outputSize: 4 });
  for (const t of m.params.values()) for (let i = 0; i < t.data.length; i++) t.data[i] = Math.sin(i * 0.37) * 0.05;
  const weights = join(dir, 'slow.safetensors');
  writeFileSync(weights, writeSafetensors(stateDictFromModel(m)));
  const B = 8;
  const T = 400;
  const x = Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, t) => Array.from({ length: 16 }, (_, i) => Math.sin(b + t * 0.1 + i))));
  const y = Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, t) => Array.from({ length: 4 }, (_, o) => Math.cos(b + t + o))));
  const input = join(dir, 'slow.json');
  writeFileSync(input, JSON.stringify({ x, y }));
  const controller = new AbortController();
  const started = Date.now();
  const running = pool.probeStateDict({ weights, input }, { signal: controller.signal });
  setTimeout(() => controller.abort(), 300);
  await assert.rejects(running, (e: Error) => e.name === 'AbortError');
  const took = Date.now() - started;
  assert.ok(took < 1500, `rejected ${took} ms after the start (abort at 300 ms)`);
  // A fresh worker serves the next request.
  const again = await pool.probeStateDict({ weights: fixture('gru.safetensors'), input: fixture('gru.input.json') });
  assert.equal(again.schema, 'bptt-lens/run@1');
});

test('the cell picker\'s shape-only check accepts exactly the cells the full read accepts, with the same config (every torch fixture × every cell)', async () => {
  const { CELL_NAMES } = await import('../../src/engine/cells');
  const { modelFromStateDict, stateDictConfig } = await import('../../src/io/stateDict');
  let compared = 0;
  let accepted = 0;
  for (const f of readdirSync(FIXTURES).filter((n) => n.endsWith('.safetensors'))) {
    const { tensors } = readSafetensors(readFileSync(fixture(f)), f);
    for (const cell of [undefined, ...CELL_NAMES]) {
      const opts = cell ? { cell } : {};
      let full: unknown = null;
      let shapes: unknown = null;
      try {
        full = modelFromStateDict(tensors, f, opts).config;
      } catch (e) {
        full = (e as Error).message;
      }
      try {
        shapes = stateDictConfig(tensors, f, opts);
      } catch (e) {
        shapes = (e as Error).message;
      }
      assert.deepEqual(shapes, full, `${f} as ${cell ?? '(inferred)'}`);
      compared++;
      if (typeof full === 'object') accepted++;
    }
  }
  assert.ok(compared >= 300 && accepted >= 30, `${compared} pairs compared, ${accepted} accepted`);
});
