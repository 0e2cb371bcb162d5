import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, existsSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { renderReportFiles, writeReportFolder } from '../../src/io/report/write';
import { parseReport } from '../../src/io/report/read';
import { serializeReport } from '../../src/io/report/json';
import { fixtureReport } from './report-fixture';

function tempParent(): string {
  return mkdtempSync(path.join(tmpdir(), 'bptt-report-test-'));
}

test('renderReportFiles is pure and names every file', () => {
  const report = fixtureReport({ long: false });
  const a = renderReportFiles(report);
  const b = renderReportFiles(report);
  assert.deepEqual([...a.keys()], [...b.keys()]);
  for (const [k, v] of a) assert.equal(v, b.get(k), k);
  assert.ok(a.has('report.json') && a.has('report.md') && a.has('report.html') && a.has('lag-profiles.svg') && a.has('loss.svg') && a.has('grad-norm.svg'));
});

test('writes <date>-<slug>/ with json, md, html and the SVGs the markdown links', async () => {
  const parent = tempParent();
  try {
    const report = fixtureReport({ long: false });
    const dir = await writeReportFolder(report, parent);
    assert.equal(dir, path.join(parent, '2026-11-22-airline-passengers-gradient-flow'));
    const names = readdirSync(dir).sort();
    assert.deepEqual(names, [...renderReportFiles(report).keys()].sort());
    const md = readFileSync(path.join(dir, 'report.md'), 'utf8');
    const links = [...md.matchAll(/!\[(?:\\.|[^\]\\])*\]\(([^)\s]+)\)/g)].map((m) => decodeURI(m[1]!));
    assert.ok(links.length >= 3);
    for (const link of links) assert.ok(names.includes(link), `report.md links ${link}, which exists`);
    assert.equal(readdirSync(parent).length, 1, 'no temporary folder left behind');
    const back = parseReport(readFileSync(path.join(dir, 'report.json'), 'utf8'), 'report.json');
    assert.equal(serializeReport(back), serializeReport(report));
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
});

test('never overwrites: a second and third write get -2 and -3, the first is untouched', async () => {
  const parent = tempParent();
  try {
    const report = fixtureReport({ long: false });
    const first = await writeReportFolder(report, parent);
    const marker = path.join(first, 'report.md');
    writeFileSync(marker, 'edited by the user\n');
    const second = await writeReportFolder(report, parent);
    const third = await writeReportFolder(report, parent);
    assert.equal(second, `${first}-2`);
    assert.equal(third, `${first}-3`);
    assert.equal(readFileSync(marker, 'utf8'), 'edited by the user\n');
    // An existing *file* of that name is not replaced either.
    writeFileSync(path.join(parent, '2026-11-22-other'), 'x');
    assert.equal(await writeReportFolder(report, parent, { name: 'Other' }), path.join(parent, '2026-11-22-other-2'));
    // An existing empty folder is not reused.
    mkdirSync(path.join(parent, '2026-11-22-empty'));
    assert.equal(await writeReportFolder(report, parent, { name: 'empty' }), path.join(parent, '2026-11-22-empty-2'));
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
});

test('concurrent writes of the same report get distinct folders', async () => {
  const parent = tempParent();
  try {
    const report = fixtureReport({ long: false, tiny: true });
    const dirs = await Promise.all([1, 2, 3, 4].map(() => writeReportFolder(report, parent)));
    assert.equal(new Set(dirs).size, 4);
    assert.equal(readdirSync(parent).length, 4, 'and no temporary folder is left');
    for (const d of dirs) assert.ok(readdirSync(d).includes('report.json'));
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
});

test('name option, date option and a missing parent folder', async () => {
  const root = tempParent();
  try {
    const parent = path.join(root, 'bptt-reports', 'nested');
    const dir = await writeReportFolder(fixtureReport({ long: false }), parent, { name: 'My Study / v2', date: new Date('2030-01-02T03:04:05Z') });
    assert.equal(dir, path.join(parent, '2030-01-02-my-study-v2'));
    assert.ok(statSync(dir).isDirectory());
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('atomic: a failure while writing leaves neither the folder nor the temp folder', async () => {
  const parent = tempParent();
  try {
    const report = fixtureReport({ long: false });
    const failing = () => {
      const files = renderReportFiles(report);
      // 'report.md' is a file by the time this entry is written: ENOTDIR half-way through.
      files.set('report.md/inner.txt', 'x');
      return files;
    };
    await assert.rejects(writeReportFolder(report, parent, { render: failing }), /ENOTDIR|EEXIST/);
    assert.deepEqual(readdirSync(parent), []);
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
});

test('atomic: a rendering error creates nothing, not even the parent folder', async () => {
  const root = tempParent();
  try {
    const parent = path.join(root, 'reports');
    const report = fixtureReport({ long: false });
    const broken = { ...report, runs: [{ ...report.runs[0]!, get history(): never { throw new Error('boom in rendering'); } }] };
    await assert.rejects(writeReportFolder(broken as never, parent), /boom in rendering/);
    assert.equal(existsSync(parent), false);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('file paths that would escape the report folder are refused before anything is written', async () => {
  const parent = tempParent();
  try {
    const report = fixtureReport({ long: false });
    for (const bad of ['../evil.txt', '/abs.txt', 'a/../../evil.txt', '', '.']) {
      await assert.rejects(writeReportFolder(report, parent, { render: () => new Map([['report.json', '{}'], [bad, 'x']]) }), /inside the report folder/, bad);
    }
    assert.deepEqual(readdirSync(parent), []);
    assert.equal(existsSync(path.join(parent, '..', 'evil.txt')), false);
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
});

test('binary content and sub-folders are written as given', async () => {
  const parent = tempParent();
  try {
    const bytes = Uint8Array.from([0, 1, 2, 255]);
    const dir = await writeReportFolder(fixtureReport({ long: false }), parent, { render: () => new Map<string, string | Uint8Array>([['data/raw.bin', bytes], ['a.txt', 'hé']]) });
    assert.deepEqual([...readFileSync(path.join(dir, 'data', 'raw.bin'))], [0, 1, 2, 255]);
    assert.equal(readFileSync(path.join(dir, 'a.txt'), 'utf8'), 'hé');
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
});
