// Issue 12's findings, one test each (numbered as in the issue). Each failed on main before
// the fix (checked by running this file against main's code) and passes after. The CLI is run
// in a child with a heap cap and a deadline, so a regression fails the test instead of
// exhausting the machine.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync, existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { InputError } from '../../src/io/errors';
import { renderMarkdown } from '../../src/io/report/markdown';
import { parseReport } from '../../src/io/report/read';
import { writeSafetensors } from '../../src/io/safetensors';
import { parseSequenceBytes, parseSequenceText } from '../../src/io/sequences';
import { CLI, IMPOSSIBLE, modelTensors, renamedTensorWeights, reportText, ROOT, runCli, validInputText, validReport, writeFile } from './adversarial';

let dir = '';
let weights = '';

before(() => {
  const build = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(build.status, 0, build.stderr);
  assert.ok(existsSync(CLI));
  dir = mkdtempSync(join(tmpdir(), 'bptt-regress-'));
  weights = writeFile(dir, 'rnn.safetensors', writeSafetensors(modelTensors(), { dtype: 'F32' }));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function oneLineExit2(r: ReturnType<typeof runCli>, names: string[], detail: RegExp): void {
  assert.equal(r.timedOut, false, `timed out after ${Math.round(r.ms)} ms`);
  assert.equal(r.status, 2, `exit ${r.status} (signal ${r.signal}), stderr: ${r.stderr.slice(0, 400)}`);
  const lines = r.stderr.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, r.stderr);
  for (const n of names) assert.ok(lines[0]!.includes(n), `names ${n}: ${lines[0]}`);
  assert.match(lines[0]!, detail);
}

test('finding 1: a valid safetensors file with a tensor renamed to layer 10^7 fails fast with a clear message', () => {
  const input = writeFile(dir, 'one.json', validInputText(1, 4));
  for (const name of ['rnn.bias_hh_l10000000', 'rnn.bias_hh_l99999999999999999999']) {
    const file = writeFile(dir, `renamed-${name.length}.safetensors`, renamedTensorWeights('rnn.bias_hh_l0', name));
    assert.ok(statSync(file).size < 1000);
    const r = runCli(['gradients', '--weights', file, '--input', input], { timeoutMs: 15_000, heapMb: 256 });
    oneLineExit2(r, [file], /names layer \d+, but the file holds no tensor of layer 1/);
    assert.ok(r.ms < 5000, `${r.ms} ms`);
  }
});

test('finding 2: special files and FIFOs are refused at once; a big valid input is read in bounded memory', { skip: process.platform === 'win32' }, () => {
  const input = writeFile(dir, 'small.json', validInputText(2, 3));
  for (const dev of ['/dev/zero', '/dev/urandom']) {
    oneLineExit2(runCli(['gradients', '--weights', dev, '--input', input], { timeoutMs: 10_000, heapMb: 256 }), [dev], /not a regular file \(a character device\)/);
    oneLineExit2(runCli(['gradients', '--weights', weights, '--input', dev], { timeoutMs: 10_000, heapMb: 256 }), [dev], /not a regular file/);
  }
  const fifo = join(dir, 'fifo.json');
  execFileSync('mkfifo', [fifo]);
  oneLineExit2(runCli(['gradients', '--weights', weights, '--input', fifo], { timeoutMs: 10_000, heapMb: 256 }), [fifo], /FIFO/);

  // 500,000 values (11 MB) as Python writes them, [B][T][1]: JSON.parse builds an array per value
  // in the JS heap. Read from bytes into Float64Arrays, the whole command fits a 48 MB heap
  // (main's JSON.parse reader ran out of memory there).
  const big = writeFile(dir, 'big.json', validInputText(1000, 500));
  const size = statSync(big).size / (1024 * 1024);
  const r = runCli(['gradients', '--weights', weights, '--input', big, '--out', join(dir, 'big.out.json')], { timeoutMs: 60_000, heapMb: 48 });
  assert.equal(r.status, 0, `exit ${r.status} (signal ${r.signal}) ${r.stderr.slice(0, 300)}`);
  assert.ok(r.maxRssMb < 6 * size + 250, `peak RSS ${r.maxRssMb.toFixed(0)} MB for a ${size.toFixed(0)} MB input`);
});

test('finding 3: T = 130,000 (within the documented 10^6) gives a run record, not a stack overflow', () => {
  const input = writeFile(dir, 'long.json', `{"x": [[${Array.from({ length: 130_000 }, (_, t) => `[${Math.sin(t / 10)}]`).join(',')}]], "y": [[0.5]]}`);
  const r = runCli(['gradients', '--weights', weights, '--input', input, '--out', join(dir, 'long.out.json')], { timeoutMs: 60_000, heapMb: 2048 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(readFileSync(join(dir, 'long.out.json'), 'utf8')).timesteps, 130_000);
});

test('finding 4: a saved report re-runs only on data inside its workspace folder, with a clamped config', async () => {
  const { clampUntrustedConfig, resolveRerunSource } = await import('../../src/extension/rerunGuard');
  const ws = join(dir, 'ws');
  mkdirSync(join(ws, 'bptt-reports', 'r'), { recursive: true });
  writeFileSync(join(ws, 'data.csv'), '1\n2\n');
  symlinkSync('/etc', join(ws, 'link-out'));
  const report = join(ws, 'bptt-reports', 'r', 'report.json');
  const sampleOf = (s: string) => (s.startsWith('sample:') ? s.slice(7) : null);
  const { realpath } = await import('node:fs/promises');
  const where = (source: string) => resolveRerunSource(source, report, [ws], sampleOf, (p) => realpath(p));
  assert.deepEqual(await where('data.csv'), { kind: 'inside', file: join(ws, 'data.csv') });
  assert.deepEqual(await where(join(ws, 'data.csv')), { kind: 'inside', file: join(ws, 'data.csv') });
  assert.equal((await where('sample:airline')).kind, 'sample');
  for (const hostile of ['/etc/passwd', '../../../etc/hosts.csv', '../outside.csv', 'link-out/passwd']) {
    const w = await where(hostile);
    assert.equal(w.kind, 'ask', hostile);
    assert.ok(w.kind === 'ask' && w.file.startsWith('/'), 'the full path is shown');
  }
  const { config, changes } = clampUntrustedConfig({ hiddenSize: 1024, numLayers: 8, iterations: 1_000_000, batchSize: 4096 } as never);
  assert.deepEqual([config.hiddenSize, config.numLayers, config.iterations, config.batchSize], [256, 4, 100_000, 256]);
  assert.equal(changes.length, 4);
});

test('finding 5: --out writes through a symlink, refuses a non-regular target, keeps mode and hard links', { skip: process.platform === 'win32' }, () => {
  const input = writeFile(dir, 'o.json', validInputText(1, 3));
  const target = writeFile(dir, 'target.json', 'old');
  chmodSync(target, 0o600);
  const twin = join(dir, 'twin.json');
  linkSync(target, twin);
  const link = join(dir, 'link.json');
  symlinkSync(target, link);
  const r = runCli(['gradients', '--weights', weights, '--input', input, '--out', link]);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(lstatSync(link).isSymbolicLink(), 'the link is still a link');
  assert.match(readFileSync(target, 'utf8'), /bptt-lens\/run@1/);
  assert.equal(statSync(target).mode & 0o777, 0o600, 'mode kept');
  assert.equal(readFileSync(twin, 'utf8'), readFileSync(target, 'utf8'), 'hard link sees the new content');
  const fifo = join(dir, 'out-fifo');
  execFileSync('mkfifo', [fifo]);
  const toFifo = join(dir, 'link-to-fifo.json');
  symlinkSync(fifo, toFifo);
  oneLineExit2(runCli(['gradients', '--weights', weights, '--input', input, '--out', toFifo], { timeoutMs: 10_000 }), [toFifo], /is a FIFO \(named pipe\), not a regular file/);
  assert.ok(lstatSync(toFifo).isSymbolicLink());
});

test('finding 6: an oversized report is refused in bounded time; views draw a bounded number of runs', async () => {
  const raw = JSON.parse(reportText(validReport(12)));
  raw.runs[0].itemized = Array.from({ length: 3000 }, (_, s) => new Array(s + 1).fill(0));
  const t0 = performance.now();
  assert.throws(() => parseReport(JSON.stringify(raw), 'big.json'), /runs\[0\]\.itemized: expected at most 12 rows/);
  assert.ok(performance.now() - t0 < 5000);
  const { boundReportForView, MAX_VIEW_RUNS } = await import('../../src/extension/viewBounds');
  const many = parseReport(reportText(validReport(6, 2000)), 'many.json');
  const shown = boundReportForView(many, 'run-1999');
  assert.equal(shown.report.runs.length, MAX_VIEW_RUNS);
  assert.ok(shown.report.runs.some((r) => r.id === 'run-1999'), 'the selected run is drawn');
  assert.match(shown.notes[0]!, /2000 runs; the panel draws 50/);
});

test('finding 7: impossible values are refused with the JSON path; a __proto__ key cannot replace a prototype', () => {
  assert.ok(IMPOSSIBLE.length >= 22);
  for (const c of IMPOSSIBLE) {
    const raw = JSON.parse(reportText(validReport()));
    c.edit(raw);
    assert.throws(() => parseReport(JSON.stringify(raw), 'r.json'), (e: unknown) => e instanceof InputError && c.path.test(e.message), c.name);
  }
});

test('finding 8: SIGINT while a report folder is written leaves no temporary folder; a later write removes a dead one', { skip: process.platform === 'win32', timeout: 30_000 }, async () => {
  const parent = join(dir, 'reports');
  mkdirSync(parent, { recursive: true });
  const script = `
    const { writeReportFolder } = require(${JSON.stringify(join(ROOT, 'src/io/report/write.ts'))});
    const big = 'x'.repeat(64 * 1024 * 1024);
    const files = new Map([['report.json', '{}']]);
    for (let i = 0; i < 40; i++) files.set('f' + i + '.txt', big);
    writeReportFolder({ study: { name: 's', createdAt: '2026-01-01' } }, ${JSON.stringify(parent)}, { render: () => files });`;
  for (let attempt = 0; attempt < 3; attempt++) {
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, stdio: 'ignore' });
    const started = Date.now();
    while (!readdirSync(parent).some((n) => n.startsWith('.tmp-')) && Date.now() - started < 15_000) await new Promise((r) => setTimeout(r, 5));
    assert.ok(readdirSync(parent).some((n) => n.startsWith('.tmp-')), 'the write started');
    child.kill('SIGINT');
    await new Promise((r) => child.on('exit', r));
    assert.deepEqual(readdirSync(parent).filter((n) => n.startsWith('.tmp-')), [], `attempt ${attempt}: no temporary folder left`);
    rmSync(parent, { recursive: true, force: true });
    mkdirSync(parent);
  }
  // A temporary of a process that died without cleaning up (SIGKILL) goes with the next write.
  const { writeReportFolder } = await import('../../src/io/report/write');
  const dead = join(parent, '.tmp-2026-01-01-x-p999999999-0123456789ab');
  mkdirSync(dead);
  utimesSync(dead, new Date(Date.now() - 3600_000), new Date(Date.now() - 3600_000));
  await writeReportFolder(parseReport(reportText(validReport()), 'r.json'), parent, { render: () => new Map([['report.json', '{}']]) });
  assert.equal(existsSync(dead), false);
});

test('finding 9: report.md does not turn a URL in a file or column name into a link', async () => {
  const report = parseReport(reportText(validReport()), 'r.json');
  report.study.source = 'https://evil.example.com/data.csv';
  report.study.task = 'predict the next "mailto:me@evil.com" from //evil.example.com/x and www.evil.com';
  report.runs[0]!.label = 'http://evil.example.com/?q=1';
  const md = renderMarkdown(report, []);
  const MarkdownIt = (await import('markdown-it')).default;
  const renderer = new MarkdownIt({ linkify: true });
  renderer.linkify.set({ fuzzyLink: false }); // VS Code's preview settings
  assert.doesNotMatch(renderer.render(md), /<a /, 'markdown-it 14 makes no link');
  // VS Code bundles a markdown-it in which backslash escapes rejoin the text before linkify runs:
  // check the text after unescaping with linkify-it directly.
  const LinkifyIt = (await import('linkify-it')).default;
  const linkify = new LinkifyIt().set({ fuzzyLink: false });
  const text = md.replace(/\\([!-/:-@[-`{-~])/g, '$1').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  assert.equal(linkify.match(text), null, 'no autolink in the unescaped text');
  assert.match(text.replace(/\u200b/g, ''), /https:\/\/evil\.example\.com\/data\.csv/, 'the reader still sees the URL');
});

test('finding 10: UTF-32 is named UTF-32; a blank line in a one-column CSV is reported; a size mismatch names both files', () => {
  assert.throws(() => parseSequenceBytes(new Uint8Array([0xff, 0xfe, 0, 0, 0x31, 0, 0, 0]), 'a.csv'), /UTF-32 text/);
  assert.throws(() => parseSequenceBytes(new Uint8Array([0, 0, 0xfe, 0xff, 0, 0, 0, 0x31]), 'b.csv'), /UTF-32 text/);
  assert.throws(() => parseSequenceBytes(new Uint8Array([0xff, 0xfe, 0x31, 0]), 'c.csv'), /UTF-16 text/);
  assert.throws(() => parseSequenceText('v\n1\n2\n\n3\n4\n', 'gap.csv', { window: 2 }), (e: unknown) => e instanceof InputError && e.line === 4 && /is empty or marked missing/.test(e.message));
  const wide = writeFile(dir, 'wide.json', '{"x": [[[1, 2]]], "y": [[1]]}');
  oneLineExit2(runCli(['gradients', '--weights', weights, '--input', wide]), [wide, weights], /x has 2 inputs per step, but the model in .* reads 1/);
});
