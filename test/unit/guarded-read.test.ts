// The guarded reader: regular files only (symlinks followed), a cap per kind named in the
// message, bounded time; every failure one InputError line naming the file.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { InputError } from '../../src/io/errors';
import { describeBytes, READ_CAPS, readGuarded, readGuardedSync } from '../../src/io/guardedRead';

function oneLineNaming(file: string, pattern: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof InputError, `expected an InputError, got ${String(e)}`);
    assert.equal(e.file, file);
    assert.ok(!e.message.includes('\n'), e.message);
    assert.match(e.message, pattern);
    return true;
  };
}

function withDir(fn: (dir: string) => Promise<void> | void) {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bptt-guard-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test('guarded read: a regular file and a symlink to one read whole', withDir(async (dir) => {
  const file = join(dir, 'a.csv');
  writeFileSync(file, '1\n2\n3\n');
  const link = join(dir, 'link.csv');
  symlinkSync(file, link);
  assert.equal((await readGuarded(file, 'sequence')).toString(), '1\n2\n3\n');
  assert.equal(readGuardedSync(link, 'sequence').toString(), '1\n2\n3\n');
  writeFileSync(join(dir, 'empty.json'), '');
  assert.equal(readGuardedSync(join(dir, 'empty.json'), 'input').length, 0);
}));

test('guarded read: devices, directories and dangling symlinks are refused by kind', withDir(async (dir) => {
  for (const dev of ['/dev/zero', '/dev/urandom', '/dev/null']) {
    if (!existsSync(dev)) continue;
    await assert.rejects(readGuarded(dev, 'weights'), oneLineNaming(dev, /not a regular file \(a character device\); expected a \.safetensors file/));
    assert.throws(() => readGuardedSync(dev, 'input'), oneLineNaming(dev, /not a regular file \(a character device\)/));
  }
  const sub = join(dir, 'folder.json');
  mkdirSync(sub);
  assert.throws(() => readGuardedSync(sub, 'input'), oneLineNaming(sub, /not a regular file \(a directory\); expected an input \.json file/));
  const toDev = join(dir, 'zero.safetensors');
  symlinkSync('/dev/zero', toDev);
  assert.throws(() => readGuardedSync(toDev, 'weights'), oneLineNaming(toDev, /character device/));
  const dangling = join(dir, 'gone.json');
  symlinkSync(join(dir, 'nowhere'), dangling);
  assert.throws(() => readGuardedSync(dangling, 'report'), oneLineNaming(dangling, /no such file/));
}));

test('guarded read: a FIFO with no writer is refused at once instead of blocking', { skip: process.platform === 'win32', timeout: 5000 }, withDir(async (dir) => {
  const fifo = join(dir, 'pipe.json');
  execFileSync('mkfifo', [fifo]);
  const started = Date.now();
  assert.throws(() => readGuardedSync(fifo, 'input'), oneLineNaming(fifo, /not a regular file \(a FIFO \(named pipe\)\)/));
  await assert.rejects(readGuarded(fifo, 'report'), oneLineNaming(fifo, /FIFO/));
  assert.ok(Date.now() - started < 2000);
}));

test('guarded read: the cap of the kind is checked before reading and named in the message', withDir(async (dir) => {
  const file = join(dir, 'big.json');
  writeFileSync(file, Buffer.alloc(3000, 0x20));
  assert.throws(() => readGuardedSync(file, 'input', { maxBytes: 2048 }), oneLineNaming(file, /file is 3 KB; the limit for an input \.json file is 2 KB/));
  await assert.rejects(readGuarded(file, 'report', { maxBytes: 100 }), oneLineNaming(file, /file is 3 KB; the limit for a report\.json file is 100 bytes/));
  assert.equal(readGuardedSync(file, 'input', { maxBytes: 3000 }).length, 3000);
  assert.equal(describeBytes(READ_CAPS.sequence), '20 MB');
  assert.equal(describeBytes(READ_CAPS.capture), '1 GB');
}));

test('guarded read: a deadline turns a stalled read into one line', withDir(async (dir) => {
  const file = join(dir, 'x.json');
  writeFileSync(file, '{}');
  assert.throws(() => readGuardedSync(file, 'input', { timeoutMs: -1 }), oneLineNaming(file, /still reading after/));
}));
