// Atomic file output: write a temporary file in the destination's own directory, then
// rename it over the destination. rename() within one directory is atomic on POSIX and
// NTFS, so a reader (or a crash) sees the old file or the new one, never half of one.

import { closeSync, fsyncSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { InputError } from '../io/errors';

/** Write `data` to `path` atomically. Bad destinations are InputErrors naming the path. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const target = resolve(path);
  const dir = dirname(target);
  let dirStat;
  try {
    dirStat = statSync(dir);
  } catch {
    throw new InputError(path, null, `cannot write: directory '${dir}' does not exist`);
  }
  if (!dirStat.isDirectory()) throw new InputError(path, null, `cannot write: '${dir}' is not a directory`);
  try {
    if (statSync(target).isDirectory()) throw new InputError(path, null, 'cannot write: it is a directory');
  } catch (e) {
    if (e instanceof InputError) throw e;
    // Absent: fine, it will be created.
  }
  const temp = join(dir, `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let fd: number | null = null;
  try {
    fd = openSync(temp, 'wx');
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    renameSync(temp, target);
  } catch (e) {
    if (fd !== null) closeSync(fd);
    rmSync(temp, { force: true });
    const reason = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new InputError(path, null, `cannot write (${reason})`);
  }
}
