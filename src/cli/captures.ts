// `bptt-lens captures DIR [--out-dir R]`: replay every capture of a training run (design §9)
// in step order, write the report folder (one run record per capture) and print the
// verdict over training. A bad capture is one line on stderr naming the file; the others are
// still processed and reported, and the exit code is 2. The report folder is written
// atomically, so a failure leaves nothing half-written.

import { existsSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { enableWasmKernels } from '../engine/kernels/wasmGemm';
import { listCaptures, readCaptureSync } from '../io/capture';
import { analyzeCapture, type CaptureRunOptions, type CaptureRunRecord } from '../io/captureRun';
import { capturesReport, renderCapturesReportFiles, verdictOverTraining } from '../io/captureReport';
import { InputError, isInputError } from '../io/errors';
import { writeReportFolder } from '../io/report/write';
import { defaultWorkerPath, WorkerPool } from '../worker/pool';
import { checkOutDir, DEFAULT_OUT_DIR } from './diagnose';
import { consoleIo } from './output';

export interface CapturesOptions {
  outDir?: string;
  itemizedRows?: string;
}

export interface CapturesIo {
  out(line: string): void;
  err(line: string): void;
  progress?(line: string): void;
}

/** Runs the command; resolves to the exit code (2 when any capture was bad). */
export async function capturesCommand(dir: string, options: CapturesOptions, io: CapturesIo = consoleIo()): Promise<number> {
  const outDir = options.outDir ?? DEFAULT_OUT_DIR;
  const runOptions: CaptureRunOptions = { itemizedRows: parseItemizedRows(options.itemizedRows) };
  const listing = listCaptures(dir);
  checkOutDir(outDir);

  const records: CaptureRunRecord[] = [];
  let bad = 0;
  const analyze = makeAnalyzer(runOptions);
  try {
    let done = 0;
    const results = await Promise.allSettled(
      listing.map((c) => analyze(c.path).finally(() => io.progress?.(`[${++done}/${listing.length}] ${c.name}`))),
    );
    io.progress?.('');
    results.forEach((r, k) => {
      if (r.status === 'fulfilled') records.push(r.value);
      else {
        bad++;
        const e = r.reason;
        io.err(`bptt-lens: ${oneLine(isInputError(e) ? e.message : `${listing[k]!.path}: ${e instanceof Error ? e.message : String(e)}`)}`);
      }
    });
  } finally {
    await analyze.close();
  }
  if (records.length === 0) {
    io.err(`bptt-lens: ${resolve(dir)}: none of the ${listing.length} capture${listing.length === 1 ? '' : 's'} could be read; nothing written`);
    return 2;
  }
  const report = capturesReport(records, dir);
  const folder = await writeReportFolder(report, outDir, { name: `captures-${basename(resolve(dir))}`, render: renderCapturesReportFiles }).catch((e: NodeJS.ErrnoException) => {
    if (typeof e.code === 'string') throw new InputError('--out-dir', null, `cannot write the report (${e.code}: ${e.message})`);
    throw e;
  });
  io.out(report.study.description);
  io.out('');
  for (const line of verdictOverTraining(report)) io.out(line);
  if (bad > 0) io.out(`${bad} of ${listing.length} captures could not be read (see the messages above); the report holds the other ${records.length}.`);
  io.out('');
  io.out(`Report: ${folder}`);
  return bad > 0 ? 2 : 0;
}

type Analyzer = ((file: string) => Promise<CaptureRunRecord>) & { close(): Promise<void> };

/** Captures are replayed in the worker pool (every core) when its bundle is beside us, else here. */
function makeAnalyzer(options: CaptureRunOptions): Analyzer {
  if (!existsSync(defaultWorkerPath())) {
    enableWasmKernels();
    const inProcess = async (file: string) => analyzeCapture(readCaptureSync(file), options);
    return Object.assign(inProcess, { close: async () => {} });
  }
  const pool = new WorkerPool();
  return Object.assign((file: string) => pool.analyzeCapture(file, options), { close: () => pool.close() });
}

function parseItemizedRows(value: string | undefined): CaptureRunOptions['itemizedRows'] {
  if (value === undefined || value === 'auto') return 'auto';
  if (value === 'all') return 'all';
  if (/^\s*\d+\s*$/.test(value) && Number(value) >= 1) return Number(value);
  throw new InputError('--itemized-rows', null, `expected auto, all or a positive whole number, got '${value}'`);
}

function oneLine(s: string): string {
  return s.replace(/\s*\r?\n\s*/g, ' ').trim();
}

