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
 * Runs `work`; if a termination signal arrives meanwhile, `cleanup` runs (synchronously),
 * `interrupted` is aborted so that `work` issues nothing more, and once `work` has settled
 * (at most RERAISE_AFTER_MS later) `cleanup` runs again and the signal is raised again so the
 * process ends as it would have. The second cleanup matters: a file operation already on
 * libuv's thread pool when the signal came can still create the file after the first one.
 * Where someone else also listens for the signal (the extension host), ending is left to them.
 */
export async function cleanupOnSignal<T>(cleanup: () => void, work: (interrupted: AbortSignal) => Promise<T>): Promise<T> {
  const interrupted = new AbortController();
  let settled: Promise<unknown> = Promise.resolve();
  const quietly = (): void => {
    try {
      cleanup();
    } catch {
      // nothing more can be done while the process ends
    }
  };
  const handler = (signal: NodeJS.Signals): void => {
    for (const s of SIGNALS) process.removeListener(s, handler);
    interrupted.abort(new Error(`interrupted by ${signal}`));
    quietly();
    let done = false;
    const end = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      quietly();
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    const timer = setTimeout(end, RERAISE_AFTER_MS);
    void settled.then(end);
  };
  for (const s of SIGNALS) process.on(s, handler);
  try {
    const running = work(interrupted.signal);
    settled = running.then(
      () => undefined,
      () => undefined,
    );
    return await running;
  } finally {
    for (const s of SIGNALS) process.removeListener(s, handler);
  }
}

/** How long an interrupted write may take to notice before the signal is raised again anyway. */
const RERAISE_AFTER_MS = 2000;

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
