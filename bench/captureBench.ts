// `npm run bench:captures`: how long processing one capture takes (issue 8: a 2-layer LSTM,
// H = 512, T = 256, 8 examples, under 10 s). bench/makeCapture.py writes the capture with the
// real recorder (needs a python3 that imports torch); this script then reads and analyses it
// as the captures worker does (readCapture + analyzeCapture: the replay, every §3 quantity,
// the sampled itemized rows and the Jacobian norms), --reps times, and prints the file size,
// the probe plan, and wall and CPU-time medians and minima split into read and analysis.
// Options: --hidden H (512), --steps T (256), --examples N (8), --reps N (3), --python PATH,
// --itemized-rows auto|all|N (auto), --capture FILE (skip the python step).

import { spawnSync } from 'node:child_process';
import { findPython, median } from './util';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { readCapture } from '../src/io/capture';
import { analyzeCapture, planProbes } from '../src/io/captureRun';
import { enableWasmKernels } from '../src/engine/kernels/wasmGemm';

const ROOT = path.resolve(__dirname, '..');

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      hidden: { type: 'string', default: '512' },
      steps: { type: 'string', default: '256' },
      examples: { type: 'string', default: '8' },
      reps: { type: 'string', default: '3' },
      python: { type: 'string' },
      'itemized-rows': { type: 'string', default: 'auto' },
      capture: { type: 'string' },
    },
  });
  let file = values.capture;
  if (!file) {
    const found = findPython(values.python ?? null);
    if (!('python' in found)) {
      console.log('PyTorch not available (no python3 imports torch; apt-get install python3-torch): no capture to process. Pass --capture FILE to time an existing one.');
      return;
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bptt-capture-bench-'));
    const made = spawnSync(found.python, [path.join(ROOT, 'bench/makeCapture.py'), dir, values.hidden, values.steps, values.examples], {
      env: { ...process.env, PYTHONPATH: path.join(ROOT, 'python') },
      encoding: 'utf8',
    });
    if (made.status !== 0) throw new Error(`makeCapture.py failed: ${made.stderr}`);
    const names = fs.readdirSync(dir).filter((n) => n.endsWith('.capture.safetensors'));
    if (names.length !== 1) throw new Error(`expected one capture in ${dir}, found ${names.length}`);
    file = path.join(dir, names[0]!);
  }
  const rowsArg = values['itemized-rows']!;
  const itemizedRows = rowsArg === 'auto' || rowsArg === 'all' ? rowsArg : Number(rowsArg);
  enableWasmKernels();
  const bytes = fs.statSync(file).size;
  const reps = Math.max(1, Number(values.reps));
  const read: number[] = [];
  const analyse: number[] = [];
  const readCpu: number[] = [];
  const analyseCpu: number[] = [];
  let summary = '';
  for (let r = 0; r < reps; r++) {
    let t0 = performance.now();
    let c0 = cpuMs();
    const capture = await readCapture(file);
    read.push(performance.now() - t0);
    readCpu.push(cpuMs() - c0);
    t0 = performance.now();
    c0 = cpuMs();
    const record = analyzeCapture(capture, { itemizedRows });
    analyse.push(performance.now() - t0);
    analyseCpu.push(cpuMs() - c0);
    if (r === 0) {
      const plan = planProbes(capture, itemizedRows);
      const { cell, hiddenSize, numLayers, inputSize } = capture.config;
      summary =
        `${path.basename(file)}: ${cell}, ${numLayers} layers, H = ${hiddenSize}, input ${inputSize}, T = ${capture.steps}, ${capture.batchSize} examples; ` +
        `${(bytes / 1e6).toFixed(1)} MB; itemized rows ${plan.rows.length} of ${plan.candidates}, Jacobian iterations ${plan.jacobianIterations}; ` +
        `verdict ${record.diagnosis?.verdict ?? 'none'}, replayError ${record.replayError.toExponential(1)}`;
    }
  }
  const total = read.map((v, i) => v + analyse[i]!);
  const totalCpu = readCpu.map((v, i) => v + analyseCpu[i]!);
  const f = (xs: number[]): string => `${(median(xs) / 1000).toFixed(2)} s (min ${(Math.min(...xs) / 1000).toFixed(2)})`;
  console.log(summary);
  console.log(`load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores; median of ${reps}`);
  console.log(`  read       wall ${f(read)}   CPU ${f(readCpu)}`);
  console.log(`  analyse    wall ${f(analyse)}   CPU ${f(analyseCpu)}`);
  console.log(`  total      wall ${f(total)}   CPU ${f(totalCpu)}   (target: under 10 s)`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
