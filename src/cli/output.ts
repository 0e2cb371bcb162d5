// Atomic file output: write a temporary file in the destination's own directory, then
// rename it over the destination. rename() within one directory is atomic on POSIX and
// NTFS, so a reader (or a crash) sees the old file or the new one, never half of one.
//
// The destination is what the user meant, not the name they typed:
//   - a symlink is followed to its target (renaming over the link would replace the link
//     itself: `--out /dev/stdout` run as root replaced /dev/stdout for the whole machine);
//   - a target that exists but is not a regular file (a device, a FIFO, a directory) is
//     refused with a message saying what it is;
//   - an existing file keeps its mode (and owner, where permitted); a file with several
//     hard links is rewritten in place, after the new content is complete, so every link
//     sees it.
// An interrupt during the write removes the temporary file (see io/tempFiles.ts).

import { promises as fs, rmSync, type Stats } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { InputError } from '../io/errors';
import { kindOfStats } from '../io/guardedRead';
import { cleanupOnSignal, sweepStaleTemps, tempName } from '../io/tempFiles';

const MAX_LINK_HOPS = 40;

/** The path a write to `path` lands on: symlinks followed, even a dangling one's target. */
async function resolveTarget(path: string): Promise<{ target: string; existing: Stats | null }> {
  let current = resolve(path);
  for (let hop = 0; hop <= MAX_LINK_HOPS; hop++) {
    let info: Stats;
    try {
      info = await fs.lstat(current);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { target: current, existing: null };
      throw new InputError(path, null, `cannot write: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    if (!info.isSymbolicLink()) return { target: current, existing: info };
    const link = await fs.readlink(current);
    current = isAbsolute(link) ? link : resolve(dirname(current), link);
  }
  throw new InputError(path, null, `cannot write: more than ${MAX_LINK_HOPS} symbolic links (a loop?)`);
}

/** Write `data` to `path` atomically. Bad destinations are InputErrors naming the path. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const { target, existing } = await resolveTarget(path);
  const shown = target === resolve(path) ? '' : ` (a link to '${target}')`;
  if (existing && !existing.isFile()) {
    throw new InputError(path, null, `cannot write: ${path}${shown} is ${kindOfStats(existing)}, not a regular file${existing.isCharacterDevice() || existing.isFIFO() ? '; leave out --out to write to standard output' : ''}`);
  }
  const dir = dirname(target);
  let dirStat;
  try {
    dirStat = await fs.stat(dir);
  } catch {
    throw new InputError(path, null, `cannot write: directory '${dir}' does not exist`);
  }
  if (!dirStat.isDirectory()) throw new InputError(path, null, `cannot write: '${dir}' is not a directory`);
  sweepStaleTemps(dir);

  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const temp = join(dir, tempName(basename(target).replace(/[^\w.-]+/g, '_').slice(0, 60)));
  const removeTemp = (): void => {
    rmSync(temp, { force: true });
  };
  await cleanupOnSignal(removeTemp, async (interrupted) => {
    let handle: fs.FileHandle | null = null;
    try {
      handle = await fs.open(temp, 'wx', existing ? existing.mode & 0o7777 : 0o666);
      interrupted.throwIfAborted();
      await handle.writeFile(bytes, { signal: interrupted });
      interrupted.throwIfAborted();
      if (existing) {
        await handle.chmod(existing.mode & 0o7777);
        // Keep the owner where we may (root writing a user's file); elsewhere it is ours anyway.
        await handle.chown(existing.uid, existing.gid).catch(() => undefined);
      }
      await handle.sync();
      await handle.close();
      handle = null;
      interrupted.throwIfAborted();
      if (existing && existing.nlink > 1) {
        // Several names share this file: replacing one name would split them. The new
        // content is complete on disk; copy it over the shared file and drop the temporary.
        await fs.copyFile(temp, target);
        await fs.rm(temp, { force: true });
      } else {
        await fs.rename(temp, target);
      }
    } catch (e) {
      if (handle) await handle.close().catch(() => undefined);
      removeTemp();
      const reason = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      throw new InputError(path, null, `cannot write (${reason})`);
    }
  });
}

/** What a command prints: result lines to stdout, notes to stderr, a progress line on a terminal. */
export interface ConsoleIo {
  out(line: string): void;
  err(line: string): void;
  progress?(line: string): void;
}

/** The process's own streams. `bptt-lens … | head`: a closed pipe ends the output, not the process with a stack. */
export function consoleIo(): ConsoleIo {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  return {
    out: (line) => process.stdout.write(line + '\n'),
    err: (line) => process.stderr.write(line + '\n'),
    progress: process.stderr.isTTY ? (line) => process.stderr.write(`\r\x1b[K${line}`) : undefined,
  };
}
