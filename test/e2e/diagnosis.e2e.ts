// End to end in a real VS Code: "BPTT Lens: Run Diagnosis" with every default accepted,
// charts and verdict drawn in the report panel, then "BPTT Lens: Save Report" writes the
// report folder into the workspace.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { canvasInk, openVsCode, type Theme } from './harness';

for (const theme of ['dark', 'light', 'high-contrast'] as Theme[]) {
  test(`Run Diagnosis with defaults draws charts and a verdict, Save Report writes the folder (${theme})`, { timeout: 240_000 }, async () => {
    const vs = await openVsCode({ theme, name: `diagnosis-${theme}` });
    try {
      await vs.runCommand('BPTT Lens: Run Diagnosis');
      const prompts = await vs.acceptPrompts();
      const report = await vs.webviewFrame('report', 90_000);
      await report.waitForFunction(
        () => {
          const s = (window as unknown as { __bpttLensState?: { verdicts: string[]; chartsDrawn: number } }).__bpttLensState;
          // The panel shows runs as they finish: wait for the default study's three.
          return !!s && s.verdicts.length >= 3 && s.chartsDrawn > 0;
        },
        undefined,
        { timeout: 90_000 },
      );
      await vs.page.waitForTimeout(800); // let chart animations settle before reading pixels
      const state = await report.evaluate(() => (window as unknown as { __bpttLensState: { verdicts: string[] } }).__bpttLensState);
      for (const v of state.verdicts) assert.match(v, /^(vanishing|exploding|healthy)$/);
      // The default study makes its point: the gradient vanishes in one configuration and not in another.
      assert.ok(state.verdicts.includes('vanishing') && state.verdicts.includes('healthy'), `default verdicts ${state.verdicts.join(', ')}`);
      const text = await report.evaluate(() => document.body.innerText);
      assert.match(text, /vanishing|exploding|healthy/i, 'the verdict is shown as text');
      const ink = await canvasInk(report);
      assert.ok(ink.length >= 3, `expected several charts, found ${ink.length} canvases`);
      assert.ok(ink.filter((n) => n > 500).length >= 3, `charts are blank: ink per canvas ${ink.join(', ')}`);
      const stats = JSON.parse(readFileSync(vs.statsFile, 'utf8')) as { maxStallMs: number; maxBusyMs: number; runMs: number };
      console.log(
        `# ${theme}: extension host during the default diagnosis: run ${stats.runMs} ms, longest event-loop delay ${stats.maxStallMs} ms, ` +
          `longest main-thread work ${stats.maxBusyMs} ms`,
      );
      assert.ok(stats.runMs < 30_000, `the default diagnosis should take seconds, took ${stats.runMs} ms`);
      // Main-thread work during the run (the engine runs in workers); the event-loop delay also
      // counts time the OS gave the thread no CPU, so it is printed, not asserted. The busy
      // figure is 25-40 ms here, but the thread is shared with VS Code's built-in extensions
      // and its garbage collector: stretches of 89-138 ms were seen in 4 of 12 runs on this
      // machine, and CI's may be slower. The bound catches what it is for (training or a big
      // synchronous read on the main thread: seconds).
      assert.ok(stats.maxBusyMs < 500, `main-thread work of ${stats.maxBusyMs} ms during the run`);
      await vs.screenshot('run-diagnosis-report');
      // The charts sit below the verdict cards: scroll them into view for a second picture.
      await report.evaluate(() => document.querySelector('canvas')?.scrollIntoView({ block: 'start' }));
      await vs.page.waitForTimeout(400);
      await vs.screenshot('run-diagnosis-charts');
      console.log(`# ${theme}: ${prompts} prompts accepted, verdicts ${state.verdicts.join(', ')}, canvas ink ${ink.join(', ')}`);

      // The side panel: heatmaps of the selected run.
      const heatmaps = await vs.webviewFrame('heatmaps', 30_000).catch(() => null);
      if (heatmaps) {
        await vs.page.waitForTimeout(500);
        const hink = await canvasInk(heatmaps);
        assert.ok(hink.some((n) => n > 500), `heatmap canvas is blank: ${hink.join(', ')}`);
        await vs.screenshot('run-diagnosis-heatmaps');
      }

      await vs.runCommand('BPTT Lens: Save Report');
      await vs.acceptPrompts({ quietMs: 1500, maxMs: 10_000 });
      const reports = join(vs.workspace, 'bptt-reports');
      const deadline = Date.now() + 30_000;
      while (!existsSync(reports) || readdirSync(reports).filter((d) => !d.startsWith('.')).length === 0) {
        assert.ok(Date.now() < deadline, 'no report folder appeared in the workspace');
        await vs.page.waitForTimeout(250);
      }
      const [folder] = readdirSync(reports).filter((d) => !d.startsWith('.'));
      const files = readdirSync(join(reports, folder!));
      for (const f of ['report.json', 'report.md', 'report.html']) assert.ok(files.includes(f), `${f} missing in ${files.join(', ')}`);
      assert.ok(files.some((f) => f.endsWith('.svg')), 'no SVG figure beside report.md');
      const json = JSON.parse(readFileSync(join(reports, folder!, 'report.json'), 'utf8'));
      assert.equal(json.schema, 'bptt-lens/report@1');
      assert.ok(json.runs.length >= 1);
      await vs.screenshot('save-report');
    } finally {
      await vs.close();
    }
  });
}
