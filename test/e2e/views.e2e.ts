// End to end, in each theme (dark, light, high contrast), at 1600 x 1000:
//   - the layout rule: the first gradient chart of the report panel is on screen without
//     scrolling, for the default diagnosis and for a 20-run study;
//   - screenshots of the default diagnosis, the gate comparison (17 runs), the clipping
//     comparison, a heatmap opened in the editor, and a file error with its "Open at Line" action
//     (which is clicked: the editor must land on that line).
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Frame } from 'playwright-core';
import { serializeReport } from '../../src/io/report/json';
import { loadSample } from '../../src/study/samples';
import { defaultRunConfig, runStudy, type StudySpec } from '../../src/study/study';
import type { Report } from '../../src/study/types';
import { canvasInk, openVsCode, type Session, type Theme } from './harness';

type State = { verdicts: string[]; chartsDrawn: number };

/** Waits for a finished (not running) report with `runs` runs (any number when null); returns how many. */
async function waitForCharts(frame: Frame, runs: number | null): Promise<number> {
  await frame.waitForFunction(
    (n) => {
      const s = (window as unknown as { __bpttLensState?: State }).__bpttLensState;
      const running = /running: \d+ of \d+ runs/.test(document.querySelector('.report-header')?.textContent ?? '');
      return !!s && !running && (n === null ? s.verdicts.length > 0 : s.verdicts.length === n) && s.chartsDrawn > 0;
    },
    runs,
    { timeout: 120_000 },
  );
  return frame.evaluate(() => (window as unknown as { __bpttLensState: State }).__bpttLensState.verdicts.length);
}

/** Where the first gradient chart sits in the panel's own viewport (the webview frame). */
async function firstChart(frame: Frame): Promise<{ top: number; bottom: number; height: number; scrollY: number }> {
  return frame.evaluate(() => {
    const c = document.querySelector('#multiples-profile canvas');
    const r = c?.getBoundingClientRect();
    return { top: r?.top ?? -1, bottom: r?.bottom ?? Infinity, height: window.innerHeight, scrollY: window.scrollY };
  });
}

function assertInView(where: { top: number; bottom: number; height: number; scrollY: number }, what: string): void {
  assert.equal(where.scrollY, 0, `${what}: the panel is not scrolled`);
  assert.ok(where.top >= 0 && where.bottom <= where.height, `${what}: first gradient chart at ${where.top}..${where.bottom} px, panel height ${where.height} px`);
}

async function study(spec: StudySpec): Promise<Report> {
  return runStudy(spec);
}

/** Saved reports made before VS Code starts: a 20-run study (10 cells x 2 clips) and the gate comparison. */
async function savedReports(): Promise<{ twenty: Report; gates: Report }> {
  const dataset = loadSample('airline', { seed: 1 });
  const base = defaultRunConfig(dataset, { iterations: 40 });
  const cells = ['rnn-tanh', 'rnn-relu', 'lstm', 'lstm-peephole', 'lstm-cifg', 'lstm-nfg', 'lstm-nig', 'lstm-nog', 'lstm-niaf', 'gru'] as StudySpec['cells'];
  const twenty = await study({ kind: 'diagnosis', name: 'Twenty runs', dataset, base, cells, clips: [{ kind: 'none' }, { kind: 'norm', threshold: 1 }] });
  const gates = await study({ kind: 'gates', name: 'Compare Gate Choices on airline', dataset, base });
  return { twenty, gates };
}

async function openSaved(vs: Session, folder: string, runs: number): Promise<Frame> {
  await vs.runCommand('BPTT Lens: Open Saved Report');
  await vs.page.locator('.quick-input-widget').waitFor({ state: 'visible', timeout: 10_000 });
  await vs.page.keyboard.type(folder, { delay: 5 });
  await vs.page.locator('.quick-input-list .monaco-list-row', { hasText: folder }).first().waitFor({ state: 'visible', timeout: 10_000 });
  await vs.page.keyboard.press('Enter');
  const frame = await vs.webviewFrame('report', 60_000);
  await waitForCharts(frame, runs);
  await frame.evaluate(() => window.scrollTo(0, 0));
  await vs.page.mouse.move(200, 14); // no hover tooltip in the pictures
  await vs.page.waitForTimeout(500);
  return frame;
}

async function openInEditor(vs: Session, name: string): Promise<void> {
  await vs.page.keyboard.press('Escape');
  await vs.page.keyboard.press('Control+P');
  await vs.page.locator('.quick-input-widget').waitFor({ state: 'visible', timeout: 10_000 });
  await vs.page.keyboard.type(name, { delay: 5 });
  await vs.page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first().waitFor({ state: 'visible', timeout: 10_000 });
  await vs.page.keyboard.press('Enter');
  await vs.page.locator(`.tab[aria-label^="${name}"]`).first().waitFor({ state: 'visible', timeout: 10_000 });
}

const reportsPromise = savedReports();

for (const theme of ['dark', 'light', 'high-contrast'] as Theme[]) {
  test(`views at 1600x1000 (${theme}): first chart in view for 3 and 20 runs; gate, clipping, heatmap-in-editor and error screenshots`, { timeout: 420_000 }, async () => {
    const { twenty, gates } = await reportsPromise;
    const vs = await openVsCode({
      theme,
      name: `views-${theme}`,
      prepareWorkspace(workspace) {
        for (const [folder, report] of [['2026-11-27-twenty-runs', twenty], ['2026-11-27-gate-comparison', gates]] as const) {
          const dir = join(workspace, 'bptt-reports', folder);
          mkdirSync(dir, { recursive: true });
          writeFileSync(join(dir, 'report.json'), serializeReport(report));
        }
        writeFileSync(join(workspace, 'weather.csv'), 'date,temp_c\n2024-01-01,3.1\n2024-01-02,x7\n2024-01-03,2.5\n');
      },
    });
    try {
      // 1. The default diagnosis: charts first. The palette may not list the command
      // yet while a loaded machine is still starting the extension host: one more try.
      await vs.runCommand('BPTT Lens: Run Diagnosis').catch(async () => {
        await vs.page.waitForTimeout(3000);
        await vs.runCommand('BPTT Lens: Run Diagnosis');
      });
      await vs.acceptPrompts();
      const report = await vs.webviewFrame('report', 90_000);
      const defaultRuns = await waitForCharts(report, null);
      await vs.page.waitForTimeout(800);
      const three = await firstChart(report);
      assertInView(three, `${defaultRuns} runs (default diagnosis)`);
      const ink = await canvasInk(report);
      assert.ok(ink.filter((n) => n > 500).length >= 3, `charts have ink: ${ink.join(', ')}`);
      await vs.screenshot('views-default-diagnosis');

      // 2. A heatmap opened in the editor, with its readout.
      await vs.runCommand('BPTT Lens: Focus on Heatmaps View');
      const side = await vs.webviewFrame('heatmaps', 60_000);
      await side.waitForFunction(() => !!document.querySelector('.open-editor'), undefined, { timeout: 60_000 });
      await vs.screenshot('views-heatmap-sidebar');
      await side.locator('.open-editor').click();
      const editor = await vs.webviewFrame('heatmapEditor', 60_000);
      await editor.waitForFunction(() => ((window as unknown as { __bpttLensState?: State }).__bpttLensState?.chartsDrawn ?? 0) > 0, undefined, { timeout: 60_000 });
      const plot = editor.locator('.heatmap-plot');
      const box = (await plot.boundingBox())!;
      assert.ok(box.width > 600, `the editor heatmap is full size: ${box.width} px wide`);
      await vs.page.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.4);
      await editor.waitForFunction(() => /=.*\d/.test(document.querySelector('.heatmap-status')?.textContent ?? ''), undefined, { timeout: 5_000 });
      const readout = await editor.evaluate(() => document.querySelector('.heatmap-status')?.textContent ?? '');
      await vs.screenshot('views-heatmap-editor');
      await vs.page.keyboard.press('Escape');

      // 3. 20 runs: the first chart still on screen.
      const twentyFrame = await openSaved(vs, '2026-11-27-twenty-runs', 20);
      const twentyAt = await firstChart(twentyFrame);
      assertInView(twentyAt, '20 runs');
      await vs.screenshot('views-twenty-runs');

      // 4. The gate comparison.
      await openSaved(vs, '2026-11-27-gate-comparison', gates.runs.length);
      await vs.screenshot('views-gate-comparison');

      // 5. The clipping comparison, its clipping section in view.
      await vs.runCommand('BPTT Lens: Compare Clipping Thresholds');
      await vs.acceptPrompts();
      const clip = await vs.webviewFrame('report', 90_000);
      await clip.waitForFunction(
        () => !!document.querySelector('#multiples-clip canvas') && !/running: /.test(document.querySelector('.report-header')?.textContent ?? ''),
        undefined,
        { timeout: 180_000 },
      );
      await vs.page.mouse.move(200, 14);
      await vs.page.waitForTimeout(800);
      await vs.screenshot('views-clipping');
      await clip.evaluate(() => document.querySelector('#h-clip')?.scrollIntoView({ block: 'start' }));
      await vs.page.waitForTimeout(500);
      await vs.screenshot('views-clipping-norms');

      // 6. A file error: the whole message, and "Open at Line 3" lands on line 3.
      await openInEditor(vs, 'weather.csv');
      await vs.runCommand('BPTT Lens: Diagnose Sequence File');
      const toast = vs.page.locator('.notification-toast', { hasText: 'weather.csv' }).first();
      await toast.waitFor({ state: 'visible', timeout: 30_000 });
      const message = (await toast.innerText()).replace(/\s+/g, ' ');
      assert.match(message, /weather\.csv:3: column "temp_c": expected a number, found 'x7'/, message);
      const action = toast.locator('.monaco-button', { hasText: 'Open at Line 3' });
      assert.ok(await action.isVisible(), 'the notification offers Open at Line 3');
      await vs.page.waitForTimeout(800); // the toast slides in
      await vs.screenshot('views-error-action');
      await action.click();
      await vs.page.locator('.statusbar-item', { hasText: /Ln 3, Col/ }).first().waitFor({ state: 'visible', timeout: 10_000 });
      console.log(`# ${theme}: first chart at ${three.top}..${three.bottom} of ${three.height} px (${defaultRuns} runs), ${twentyAt.top}..${twentyAt.bottom} (20 runs); heatmap readout: ${readout}; error: ${message.slice(0, 160)}`);
    } finally {
      await vs.close();
    }
  });
}
