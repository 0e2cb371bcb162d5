// Progress and cancel: each run reaches the panel as soon as it is back, and a Cancel keeps
// the finished runs as a partial study (marked partial, savable, drawn in report.html).
// Real training runs (the airline sample, a few iterations) through a fake two-lane pool.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PartialStudy } from '../../src/extension/partialStudy';
import { laneExecutor, type RunPool } from '../../src/extension/poolExecutor';
import { parseReport, renderReportFiles, serializeReport } from '../../src/io/report';
import { loadSample } from '../../src/study/samples';
import { defaultRunConfig, planRuns, runStudy, type StudySpec } from '../../src/study/study';
import { executeRun } from '../../src/study/train';
import type { ReportRun } from '../../src/study/types';

function gatesSpec(): StudySpec {
  const dataset = loadSample('airline', { seed: 1 });
  return { kind: 'gates', name: 'gates on airline', dataset, base: defaultRunConfig(dataset, { iterations: 3 }) };
}

/** Runs each planned run for real after `ms`, two at a time, honouring the abort signal. */
function realPool(ms: number): RunPool {
  return {
    size: 2,
    execute(dataset, planned, opts) {
      return new Promise<ReportRun[]>((resolve, reject) => {
        const timer = setTimeout(() => resolve(planned.map((p) => executeRun(dataset, p))), ms);
        opts.signal?.addEventListener('abort', () => {
          clearTimeout(timer);
          const e = new Error('The study was cancelled.');
          e.name = 'AbortError';
          reject(e);
        }, { once: true });
      });
    },
  };
}

test('cancel after a few runs: the finished runs are a partial study, marked, savable and drawn', async () => {
  const spec = gatesSpec();
  const total = planRuns(spec).length;
  assert.ok(total >= 12, `the gate comparison plans ${total} runs`);
  const partial = new PartialStudy(spec);
  const live: number[] = [];
  const ac = new AbortController();
  const overall = { done: 0, total: 0 };
  const executor = laneExecutor(realPool(15), overall, () => undefined, (run) => {
    partial.add(run);
    live.push(partial.report(total).runs.length); // what the panel is sent after each run
    if (partial.done === 5) ac.abort();
  });
  await assert.rejects(runStudy(spec, { executor, signal: ac.signal, onProgress: (d, t) => Object.assign(overall, { done: d, total: t }) }), { name: 'AbortError' });
  assert.deepEqual(live.slice(0, 5), [1, 2, 3, 4, 5], 'the panel got every run as it finished');
  const done = partial.done;
  assert.ok(done >= 5 && done < total, `done ${done}`);
  const report = partial.report(total);
  assert.deepEqual((report.study as { partial?: unknown }).partial, { done, total });
  // Planned order, whatever order they finished in.
  const order = planRuns(spec).map((p) => p.id);
  const ids = report.runs.map((r) => r.id);
  assert.deepEqual(ids, [...ids].sort((a, b) => order.indexOf(a) - order.indexOf(b)));
  for (const r of report.runs) {
    assert.ok(r.diagnosis, `${r.id} diagnosed`);
    assert.ok(Array.isArray(r.recommendations), `${r.id} has its recommendations`);
  }
  // Savable: report.json round-trips with the partial mark; report.html says it.
  const back = parseReport(serializeReport(report), 'report.json');
  assert.deepEqual((back.study as { partial?: unknown }).partial, { done, total });
  const files = renderReportFiles(report);
  assert.match(String(files.get('report.html')), new RegExp(`partial: ${done} of ${total} runs`));
  assert.match(String(files.get('report.html')), new RegExp(`cancelled after ${done} of ${total} runs`));
});

test('a study that is not cancelled gives every run to the listener once, and no partial mark', async () => {
  const spec = { ...gatesSpec(), kind: 'diagnosis' as const, cells: ['rnn-tanh', 'gru'] as never };
  const seen: string[] = [];
  const executor = laneExecutor(realPool(1), { done: 0, total: 0 }, () => undefined, (run) => seen.push(run.id));
  const report = await runStudy(spec, { executor });
  assert.deepEqual([...seen].sort(), report.runs.map((r) => r.id).sort());
  assert.equal((report.study as { partial?: unknown }).partial, undefined);
});
