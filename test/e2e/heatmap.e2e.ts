// End to end: "BPTT Lens: Open Saved Report" re-opens a saved report.json (a run with
// 1000 timesteps x 500 recorded iterations), the Heatmaps view draws it, and hovering it
// still answers with an exact readout. Prints the render time the webview measured.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { serializeReport } from '../../src/io/report/json';
import { bigRun, fixtureReport } from '../../webview/fixture';
import { canvasInk, openVsCode } from './harness';

test('a 1000-timestep x 500-iteration heatmap from a saved report renders and stays interactive', { timeout: 240_000 }, async () => {
  const report = fixtureReport(60, 300, 10);
  report.study.name = 'Heatmap timing';
  report.runs = [bigRun(1000, 500)];
  const vs = await openVsCode({
    theme: 'dark',
    name: 'heatmap',
    prepareWorkspace(workspace) {
      const dir = join(workspace, 'bptt-reports', '2026-11-22-heatmap-timing');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'report.json'), serializeReport(report));
    },
  });
  try {

    await vs.runCommand('BPTT Lens: Open Saved Report');
    await vs.acceptPrompts({ quietMs: 1500, maxMs: 10_000 });
    const panel = await vs.webviewFrame('report', 60_000);
    await panel.waitForFunction(() => (window as unknown as { __bpttLensState?: { chartsDrawn: number } }).__bpttLensState?.chartsDrawn! > 0, undefined, { timeout: 60_000 });

    await vs.runCommand('BPTT Lens: Focus on Heatmaps View');
    const heatmaps = await vs.webviewFrame('heatmaps', 60_000);
    await heatmaps.waitForFunction(() => typeof (window as unknown as { __bpttLensPerf?: Record<string, number> }).__bpttLensPerf?.heatmap === 'number', undefined, {
      timeout: 60_000,
    });
    const perf = await heatmaps.evaluate(() => (window as unknown as { __bpttLensPerf: Record<string, number> }).__bpttLensPerf);
    const ink = await canvasInk(heatmaps);
    assert.ok(ink.some((n) => n > 1000), `heatmap canvas is blank: ${ink.join(', ')}`);

    // Interactive: a hover over the plot gives the exact value under the cursor.
    const canvas = heatmaps.locator('canvas').first();
    const box = await canvas.boundingBox();
    assert.ok(box, 'heatmap canvas has a box');
    const t0 = Date.now();
    await vs.page.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.4);
    await heatmaps.waitForFunction(() => /e[-+]?\d/.test(document.querySelector('.heatmap-status')?.textContent ?? ''), undefined, { timeout: 5_000 });
    const hoverMs = Date.now() - t0;
    const readout = await heatmaps.evaluate(() => document.querySelector('.heatmap-status')?.textContent ?? '');
    await vs.screenshot('heatmap-1000x500');
    console.log(`# heatmap 1000 x 500: render ${perf.heatmap} ms (${JSON.stringify(perf)}), hover readout after ${hoverMs} ms: ${readout}`);
  } finally {
    await vs.close();
  }
});
