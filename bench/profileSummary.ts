// Summarise a V8 .cpuprofile (from `node --cpu-prof`): self time per function, top N.
//   node --cpu-prof --cpu-prof-dir=prof dist/bench.js --only lstm-h64 --engine-only --no-sweep --no-extras
//   node --import tsx bench/profileSummary.ts prof/*.cpuprofile [--top 25]
// Self time = samples whose top frame is the function, times the mean sampling interval.

import * as fs from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

function summarise(file: string, top: number): void {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const counts = new Map<number, number>();
  for (const id of profile.samples) counts.set(id, (counts.get(id) ?? 0) + 1);
  const totalMs = (profile.endTime - profile.startTime) / 1000;
  const msPerSample = totalMs / Math.max(1, profile.samples.length);
  const selfByFunction = new Map<string, number>();
  for (const [id, n] of counts) {
    const f = byId.get(id)!.callFrame;
    const where = f.url ? `${f.url.replace(/^.*\//, '')}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName || '(anonymous)'} ${where}`.trim();
    selfByFunction.set(key, (selfByFunction.get(key) ?? 0) + n);
  }
  const rows = [...selfByFunction].sort((a, b) => b[1] - a[1]).slice(0, top);
  console.log(`${file}: ${profile.samples.length} samples over ${totalMs.toFixed(0)} ms`);
  console.log('  self ms   self %  function');
  for (const [name, n] of rows) {
    console.log(`${(n * msPerSample).toFixed(1).padStart(9)}  ${((100 * n) / profile.samples.length).toFixed(1).padStart(6)}%  ${name}`);
  }
}

const argv = process.argv.slice(2);
const topAt = argv.indexOf('--top');
const top = topAt >= 0 ? Number(argv.splice(topAt, 2)[1]) : 25;
if (argv.length === 0) {
  console.error('usage: profileSummary FILE.cpuprofile... [--top N]');
  process.exit(2);
}
for (const f of argv) summarise(f, top);
