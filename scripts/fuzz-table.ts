// Prints the fuzz table for the closing note: per class of adversarial input, how many were
// tried, whether every one met the contract (one-line InputError naming the file, or an
// accepted result that checks out), and the worst case: its time and the class's peak memory.
// Each class runs in its own child process so its peak RSS is its own.
//   node --import tsx scripts/fuzz-table.ts            the table (markdown)
//   node --import tsx scripts/fuzz-table.ts --class N  one class as JSON (used by the above)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLASSES } from '../test/fuzz/classes';

interface Row { name: string; tried: number; met: number; worst: string; worstMs: number; boundMs: number; peakRssMb: number; broken: string[] }

async function one(index: number): Promise<Row> {
  const c = CLASSES[index]!;
  const dir = mkdtempSync(join(tmpdir(), 'bptt-fuzz-table-'));
  try {
    const trials = await c.run(dir);
    const worst = trials.reduce((a, b) => (b.ms > a.ms ? b : a), { input: '(reader not on this branch)', ms: 0, ok: true, detail: '' });
    return {
      name: c.name, tried: trials.length, met: trials.filter((t) => t.ok).length, worst: worst.input, worstMs: worst.ms, boundMs: c.boundMs,
      peakRssMb: process.resourceUsage().maxRSS / 1024, broken: trials.filter((t) => !t.ok).map((t) => `${t.input}: ${t.detail}`),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const at = process.argv.indexOf('--class');
  if (at >= 0) {
    process.stdout.write(JSON.stringify(await one(Number(process.argv[at + 1]))));
    return;
  }
  const rows: Row[] = [];
  for (let i = 0; i < CLASSES.length; i++) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', __filename, '--class', String(i)], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024, timeout: 600_000 });
    if (r.status !== 0) throw new Error(`class ${CLASSES[i]!.name} failed: ${r.stderr}`);
    rows.push(JSON.parse(r.stdout) as Row);
  }
  console.log('| class | inputs tried | contract met | worst case | its time | peak RSS of the class |');
  console.log('|---|---:|---:|---|---:|---:|');
  for (const r of rows) {
    console.log(`| ${r.name} | ${r.tried} | ${r.met === r.tried ? 'all' : `${r.met} of ${r.tried}`} | ${r.worst} | ${r.worstMs.toFixed(0)} ms (bound ${r.boundMs}) | ${r.peakRssMb.toFixed(0)} MB |`);
  }
  const total = rows.reduce((a, r) => a + r.tried, 0);
  const met = rows.reduce((a, r) => a + r.met, 0);
  console.log(`| **total** | **${total}** | **${met === total ? 'all' : `${met} of ${total}`}** | | | |`);
  for (const r of rows) for (const b of r.broken) console.log(`BROKEN ${r.name}: ${b}`);
  if (met !== total) process.exitCode = 1;
}

void main();
