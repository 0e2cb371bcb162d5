// The built CLI end to end: `bptt-lens diagnose` on the default sample, and bad input.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '../..');
const cli = join(root, 'dist/cli.js');

before(() => {
  // `npm test` builds first; a lone run of this file builds when dist/ is missing.
  if (!existsSync(cli) || !existsSync(join(root, 'dist/worker.js'))) {
    const b = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: root, encoding: 'utf8' });
    assert.equal(b.status, 0, b.stderr);
  }
});

function run(args: string[], cwd: string) {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [cli, 'diagnose', ...args], { cwd, encoding: 'utf8', timeout: 120_000 });
  return { ...r, ms: Date.now() - t0 };
}

test('diagnose on the default study (adding, T = 40) writes a report folder, prints the findings and the verdict table', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bptt-diagnose-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const r = run(['--out-dir', 'out'], dir);
  console.log(`# node dist/cli.js diagnose (default study: adding T = 40): ${r.ms} ms`);
  assert.equal(r.status, 0, r.stderr);
  const out = r.stdout;
  assert.match(out, /^Findings:\n- The gradient vanishes within the 40-step window in /m);
  assert.match(out, /configuration\s+verdict\s+at init\s+ρ\/step\s+horizon\s+1e-3 after\s+final loss\s+clip rate/);
  assert.match(out, /^Summary: [1-9]\d* healthy, [1-9]\d* vanishing, \d+ exploding of 3 configurations \(T = 40\) after training; at initialisation \d+ healthy, \d+ vanishing, \d+ exploding\.$/m);
  for (const label of ['rnn-tanh', 'lstm', 'gru']) {
    // label, verdict now, verdict at init, ρ, horizon
    const row = new RegExp(`^${label}\\s+(vanishing|exploding|healthy)\\s+(vanishing|exploding|healthy)\\s+[0-9.e-]+\\s+(\\d+/40|≥ 40)\\s`, 'm');
    assert.match(out, row, out);
  }
  const m = /^Report: (.+)$/m.exec(out);
  assert.ok(m, out);
  const folder = resolve(dir, m[1]!.trim());
  assert.ok(folder.startsWith(join(dir, 'out')), folder);
  const files = readdirSync(folder);
  for (const f of ['report.md', 'report.json', 'report.html']) assert.ok(files.includes(f), `${f} in ${files.join(', ')}`);
  assert.ok(files.some((f) => f.endsWith('.svg')), files.join(', '));
  const report = JSON.parse(readFileSync(join(folder, 'report.json'), 'utf8'));
  assert.equal(report.schema, 'bptt-lens/report@1');
  assert.ok(report.runs.length >= 3);
  assert.ok(Array.isArray(report.study.findings) && report.study.findings.length > 0, 'report.json carries study.findings');
  assert.match(readFileSync(join(folder, 'report.md'), 'utf8'), /## Findings\n\n- The gradient vanishes within the 40-step window/);
  for (const run of report.runs) assert.ok(['vanishing', 'exploding', 'healthy'].includes(run.diagnosis.verdict));
});

test('a bad --data file: one line naming the file, exit 2, nothing written', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bptt-diagnose-bad-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'bad.csv'), 'month,passengers\n1949-01,112\n1949-02,abc\n');
  const r = run(['--data', 'bad.csv', '--out-dir', 'out'], dir);
  assert.equal(r.status, 2, r.stdout + r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /bad\.csv/);
  assert.ok(!existsSync(join(dir, 'out')), 'no report folder');
});

test('bad option values exit 2 before running anything', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bptt-diagnose-opt-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'afile'), 'not a folder');
  for (const args of [
    ['--cells', 'rnn-tanh,transformer'], ['--clip', 'none,-1'], ['--sample', 'nope'], ['--iterations', '0'], ['--out-dir', 'afile/sub'],
    ['--study', 'everything'], ['--lr', '-1'], ['--optimizer', 'lbfgs'], ['--init', 'zeros'], ['--truncation', '8:4'], ['--length', '0'],
    ['--target', '2'], ['--seeds', '1,x'], ['--hidden', '1e9'], ['--epsilon', '1'],
  ]) {
    const r = run(args.includes('--out-dir') ? args : [...args, '--out-dir', 'out'], dir);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.ok(!existsSync(join(dir, 'out')));
  }
});

test('verdict table: a run that hit NaN shows where it stopped, and its checked recommendation', async () => {
  const { verdictTable } = await import('../../src/cli/diagnose');
  const { runStudy, defaultRunConfig } = await import('../../src/study/study');
  const { loadSample } = await import('../../src/study/samples');
  const data = loadSample('adding', { seed: 3, steps: 50, count: 32 });
  const base = defaultRunConfig(data, { cellChoice: 'rnn-relu', hiddenSize: 8, spectralRadius: 1.5, optimizer: 'sgd', learningRate: 1, iterations: 30, batchSize: 8 });
  const report = await runStudy({ kind: 'diagnosis', name: 'nan', dataset: data, base, checkRecommendations: true });
  const text = verdictTable(report).join('\n');
  assert.match(text, /^rnn-relu\s+exploding \(stopped at \d+\)/m, text);
  assert.match(text, /^- rnn-relu \(exploding\): Clip the gradient's global norm at [0-9.e]+\. Checked by re-running \(check: rnn-relu → [^)]*\): verdict exploding → (vanishing|exploding|healthy), ρ /m, text);
  assert.match(text, /^check: rnn-relu → Clip the gradient's global norm at/m, text);
});

test('an --out-dir where no folder can be created exits 2 before the study runs, and leaves nothing behind', { skip: process.platform !== 'linux' }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bptt-diagnose-ro-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // procfs refuses new folders for every user, root included (permission bits would not).
  const r = run(['--out-dir', '/proc/bptt-lens-test/reports', '--iterations', '100000'], dir);
  assert.equal(r.status, 2, r.stdout + r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /--out-dir: cannot create the report folder under '\/proc'/);
  assert.equal(r.stdout, '');
  assert.deepEqual(readdirSync(dir), []);
});
