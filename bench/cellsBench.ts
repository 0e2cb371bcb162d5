// `npm run bench`, the cells of design §8 (issue 9): each cell at H = 64, B = 16, T = 128 with
// every per-timestep probe (gate statistics and gradients, weightGradByStep, ‖∂L/∂s_t‖, and
// jacobianNorm with its default 20 power iterations per step; not the O(T²) itemized matrix),
// beside lstm and gru on the same workload; and the peak memory of one mlstm and one s6 pass
// at T = 1,000 (B = 16, H = 64), plain and checkpointed, each in a child process.
// Engine only: TF.js and PyTorch have none of these cells built in.

import { spawnSync } from 'node:child_process';
import { median } from './util';
import * as fs from 'node:fs';
import { runPass } from '../src/engine/bptt';
import { parseCellName } from '../src/engine/cells';
import { initializeModel } from '../src/engine/init';
import { createModel, stateReals } from '../src/engine/model';
import { Rng } from '../src/engine/rng';
import type { Batch, Model, ProbeOptions } from '../src/engine/types';

export const CELL_BENCH = { hiddenSize: 64, batchSize: 16, steps: 128 } as const;
export const CELL_BENCH_NAMES = ['lstm', 'gru', 'indrnn', 'mingru', 'minlstm', 'lru', 'rglru', 'slstm', 'mlstm', 's6'] as const;
const CELL_PROBES: ProbeOptions = { gates: true, weightGradByStep: true, jacobian: true, itemized: false };

export interface CellBenchResult {
  cell: string;
  /** Medians over the repetitions, ms. */
  wallMs: number;
  cpuMs: number;
  /** Reals of recurrent state per example. */
  stateReals: number;
}

function problem(cell: string, H: number, B: number, T: number): { model: Model; batch: Batch } {
  const model = createModel({ ...parseCellName(cell), inputSize: 1, hiddenSize: H, numLayers: 1, bidirectional: false, outputSize: 1 });
  const rng = new Rng(7);
  initializeModel(model, { scheme: 'pytorch', spectralRadius: null, forgetBias: false }, rng);
  const x = Float64Array.from({ length: B * T }, () => rng.range(-1, 1));
  const y = Float64Array.from({ length: B }, () => rng.range(-1, 1));
  return { model, batch: { batchSize: B, steps: T, inputSize: 1, outputSize: 1, mode: 'many-to-one', x, y } };
}

/** Every cell, interleaved (cell 1, cell 2, …, cell 1, …) after `warmup` untimed rounds. */
export function benchCells(reps: number, warmup: number, only: (name: string) => boolean = () => true): CellBenchResult[] {
  const { hiddenSize: H, batchSize: B, steps: T } = CELL_BENCH;
  const cells = CELL_BENCH_NAMES.filter((c) => only(c));
  const problems = cells.map((c) => problem(c, H, B, T));
  const wall = cells.map((): number[] => []);
  const cpu = cells.map((): number[] => []);
  for (let r = -warmup; r < reps; r++) {
    problems.forEach((p, i) => {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      runPass(p.model, p.batch, { loss: 'mse', probes: CELL_PROBES });
      const dt = performance.now() - t0;
      const dc = process.cpuUsage(c0);
      if (r < 0) return;
      wall[i].push(dt);
      cpu[i].push((dc.user + dc.system) / 1000);
    });
  }
  return cells.map((cell, i) => ({
    cell,
    wallMs: median(wall[i]),
    cpuMs: median(cpu[i]),
    stateReals: stateReals(problems[i].model.config),
  }));
}

/** Child side: one pass of `cell` at T steps (B = 16, H = 64), then its peak RSS. Spec: cell:T:checkpoint(0|1). */
export function childCellRss(spec: string): void {
  const [cell, steps, cp] = spec.split(':');
  const { hiddenSize: H, batchSize: B } = CELL_BENCH;
  const p = problem(cell, H, B, Number(steps));
  const t0 = performance.now();
  runPass(p.model, p.batch, { loss: 'mse', probes: { ...CELL_PROBES, jacobian: false }, checkpoint: cp === '1' });
  const passMs = performance.now() - t0;
  let vmHwmKiB: number | null = null;
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    vmHwmKiB = m ? Number(m[1]) : null;
  } catch {
    vmHwmKiB = null;
  }
  process.stdout.write(JSON.stringify({ cell, steps: Number(steps), checkpoint: cp === '1', passMs, maxRssKiB: process.resourceUsage().maxRSS, vmHwmKiB }) + '\n');
}

export interface CellRss {
  cell: string;
  steps: number;
  checkpoint: boolean;
  peakRssMiB: number;
  /** /proc/self/status VmHWM (Linux), MiB; null elsewhere. */
  peakVmHwmMiB: number | null;
  passMs: number;
}

/** Parent side: the children (run it while the parent is small: a child's maxRSS starts at its parent's). */
export function benchCellRss(script: string): CellRss[] {
  const out: CellRss[] = [];
  for (const cell of ['mlstm', 's6']) {
    for (const checkpoint of [false, true]) {
      const r = spawnSync(process.execPath, ['--max-old-space-size=8192', script, '--child-cell-rss', `${cell}:1000:${checkpoint ? 1 : 0}`], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`cell RSS child failed (exit ${r.status}): ${r.stderr}`);
      const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as { passMs: number; maxRssKiB: number; vmHwmKiB: number | null };
      out.push({ cell, steps: 1000, checkpoint, peakRssMiB: j.maxRssKiB / 1024, peakVmHwmMiB: j.vmHwmKiB === null ? null : j.vmHwmKiB / 1024, passMs: j.passMs });
    }
  }
  return out;
}

export function printCells(rows: CellBenchResult[], rss: CellRss[] | null): void {
  if (rows.length > 0) {
    const { hiddenSize: H, batchSize: B, steps: T } = CELL_BENCH;
    console.log(`\ncells at H=${H} B=${B} T=${T}, every per-timestep probe incl. jacobianNorm (20 power iterations), median of the repetitions:`);
    for (const r of rows) console.log(`  ${r.cell.padEnd(8)} ${r.wallMs.toFixed(1).padStart(8)} ms wall  ${r.cpuMs.toFixed(1).padStart(8)} ms CPU  (state ${r.stateReals} reals per example)`);
  }
  if (rss) {
    console.log('peak memory of one pass at T=1000 (B=16, H=64, probes but Jacobian), child process:');
    for (const r of rss) console.log(`  ${r.cell.padEnd(6)} ${r.checkpoint ? 'checkpointed' : 'plain       '} maxRSS ${r.peakRssMiB.toFixed(0)} MiB${r.peakVmHwmMiB !== null ? ` (VmHWM ${r.peakVmHwmMiB.toFixed(0)} MiB)` : ''}, pass ${r.passMs.toFixed(0)} ms`);
  }
}
