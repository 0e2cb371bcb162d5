// Helpers the bench scripts share.
import { spawnSync } from 'node:child_process';

/** The median (the mean of the two middle values for an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** /usr/bin/python3 first (Debian's python3-torch), then python3 on PATH; the first that imports torch. */
export function findPython(explicit: string | null): { python: string; foundBy: string } | { reason: string } {
  const candidates: { python: string; foundBy: string }[] = explicit
    ? [{ python: explicit, foundBy: '--python' }]
    : [{ python: '/usr/bin/python3', foundBy: '/usr/bin/python3' }, { python: 'python3', foundBy: 'python3 on PATH' }];
  const reasons: string[] = [];
  for (const c of candidates) {
    const r = spawnSync(c.python, ['-c', 'import torch'], { encoding: 'utf8', timeout: 60_000 });
    if (r.status === 0) return c;
    reasons.push(`${c.python}: ${r.error ? r.error.message : (r.stderr.trim().split('\n').pop() ?? `exit ${r.status}`)}`);
  }
  return { reason: reasons.join('; ') };
}
