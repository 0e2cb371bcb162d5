// Temporary files and folders of atomic writes: named after the writing process so that an
// interrupted write can be cleaned up, by its own signal handler or by a later run.
//   tempName(prefix)                    ".tmp-<prefix>-p<pid>-<random>"
//   cleanupOnSignal(cleanup, work)      SIGINT/SIGTERM/SIGHUP during `work` run `cleanup` first
//   sweepStaleTemps(dir)                removes temporaries in `dir` left by processes that died
import { randomBytes } from 'node:crypto';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

const TEMP = /^\.tmp-.*-p(\d+)-[0-9a-f]{8,}$/;
/** Older than this, a temporary is stale whatever its process id says (pids are reused; other hosts). */
const STALE_MS = 24 * 60 * 60 * 1000;
/** A temporary of a dead process younger than this may belong to another host sharing the folder. */
const GRACE_MS = 10 * 60 * 1000;
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export function tempName(prefix: string): string {
  return `.tmp-${prefix}-p${process.pid}-${randomBytes(6).toString('hex')}`;
}

/**
 * Runs `work`; if a termination signal arrives meanwhile, `cleanup` runs (synchronously)
 * and the signal is raised again so the process ends as it would have. Where someone else
 * also listens for the signal (the extension host), it is left to them.
 */
export async function cleanupOnSignal<T>(cleanup: () => void, work: () => Promise<T>): Promise<T> {
  const handler = (signal: NodeJS.Signals): void => {
    try {
      cleanup();
    } finally {
      for (const s of SIGNALS) process.removeListener(s, handler);
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    }
  };
  for (const s of SIGNALS) process.on(s, handler);
  try {
    return await work();
  } finally {
    for (const s of SIGNALS) process.removeListener(s, handler);
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes `.tmp-…-p<pid>-…` entries of `dir` whose process is gone (or that are a day old). Never throws. */
export function sweepStaleTemps(dir: string, now = Date.now()): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const m = TEMP.exec(name);
    if (!m) continue;
    const full = join(dir, name);
    try {
      const age = now - statSync(full).mtimeMs;
      const pid = Number(m[1]);
      const dead = pid !== process.pid && !processAlive(pid);
      if (age > STALE_MS || (dead && (isLocalOnly() || age > GRACE_MS))) {
        rmSync(full, { recursive: true, force: true });
        removed.push(full);
      }
    } catch {
      // raced with its owner or no permission: leave it
    }
  }
  return removed;
}

/** Temporaries of dead local processes can go at once unless a folder may be shared across hosts (BPTT_LENS_SHARED_TEMPS=1). */
function isLocalOnly(): boolean {
  return process.env.BPTT_LENS_SHARED_TEMPS !== '1';
}
