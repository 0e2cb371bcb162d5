// A file over the size limit can be read in part on request: the first N rows, whole lines
// only, and the task says so. The refusal itself is recognised so the extension can offer it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { InputError } from '../../src/io/errors';
import { isSizeLimitError, readSequenceFileHead } from '../../src/io/sequenceHead';
import { readSequenceFile } from '../../src/io/sequences';

test('over the limit: refused as a size error; the head reads the first N rows of whole lines', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bptt-head-'));
  try {
    const file = join(dir, 'long.csv');
    const rows = Array.from({ length: 5000 }, (_, i) => `${i},${Math.sin(i / 7).toFixed(6)}`);
    writeFileSync(file, 'step,value\n' + rows.join('\n') + '\n');
    const maxBytes = 20_000; // the file is ~70 kB
    const refusal = await readSequenceFile(file, { maxBytes, window: 4 }).then(() => null, (e: unknown) => e);
    assert.ok(refusal instanceof InputError && isSizeLimitError(refusal), String(refusal));
    assert.ok(!isSizeLimitError(new InputError(file, 3, 'column "b": expected a number, found \'x\'')));
    const head = await readSequenceFileHead(file, 300, { maxBytes, window: 4, targetColumn: 2, featureColumns: [2], normalize: 'none' });
    assert.equal(head.count, 300 - 4, '300 data rows (after the header) make 296 windows');
    assert.equal(head.y[0], Number(Math.sin(4 / 7).toFixed(6)));
    assert.match(head.task, /only the first 301 lines of a 0\.1 MB file/);
    // More rows than fit: cut at the byte limit, at a line end (no half row).
    const most = await readSequenceFileHead(file, 1_000_000, { maxBytes, window: 4, targetColumn: 2, featureColumns: [2], normalize: 'none' });
    assert.ok(most.count > 1000 && most.count < 5000, `${most.count}`);
    await assert.rejects(readSequenceFileHead(join(dir, 'x.json'), 10), /cannot be read in part/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the head of a FIFO with no writer is refused at once (the guarded reader), not waited on', { skip: process.platform === 'win32', timeout: 10_000 }, async () => {
  const { execFileSync } = await import('node:child_process');
  const dir = mkdtempSync(join(tmpdir(), 'bptt-head-fifo-'));
  try {
    const fifo = join(dir, 'series.csv');
    execFileSync('mkfifo', [fifo]);
    const started = Date.now();
    await assert.rejects(readSequenceFileHead(fifo, 100), (e: unknown) => e instanceof InputError && e.file === fifo && /not a regular file \(a FIFO \(named pipe\)\)/.test(e.message));
    assert.ok(Date.now() - started < 5000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
