// End to end: runs appear in the report panel as they finish, and Cancel keeps them.
// "Compare Gate Choices" (17 runs, made slow with 600 iterations each) is cancelled from its
// notification once the panel shows two runs: the message says "Cancelled after n of m runs",
// the panel keeps exactly those n runs marked partial, and the Runs tree lists the partial study.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openVsCode } from './harness';

type State = { verdicts: string[]; chartsDrawn: number };

test('runs appear as they finish; Cancel keeps them as a partial study (dark)', { timeout: 300_000 }, async () => {
  const vs = await openVsCode({
    theme: 'dark',
    name: 'cancel',
    prepareWorkspace(workspace) {
      mkdirSync(join(workspace, '.vscode'), { recursive: true });
      writeFileSync(join(workspace, '.vscode', 'settings.json'), JSON.stringify({ 'bpttLens.iterations': 600 }));
    },
  });
  try {
    await vs.runCommand('BPTT Lens: Compare Gate Choices').catch(async () => {
      await vs.page.waitForTimeout(3000);
      await vs.runCommand('BPTT Lens: Compare Gate Choices');
    });
    await vs.acceptPrompts({ quietMs: 1500, maxMs: 15_000 });
    // The panel opens on the first finished run and grows run by run.
    const panel = await vs.webviewFrame('report', 120_000);
    const seen: number[] = [];
    const t0 = Date.now();
    for (;;) {
      // While it runs the panel lists the finished runs (its published verdicts wait for the end).
      const n = await panel.evaluate(() => document.querySelectorAll('.run-line').length).catch(() => 0);
      if (n > 0 && seen[seen.length - 1] !== n) seen.push(n);
      if (n >= 2) break;
      assert.ok(Date.now() - t0 < 180_000, `the panel showed ${seen.join(' → ') || 'nothing'} within 3 minutes`);
      await vs.page.waitForTimeout(200);
    }
    const running = await panel.evaluate(() => document.body.innerText);
    const m = Number(/running: \d+ of (\d+) runs/.exec(running)?.[1]);
    assert.ok(m > 2, `while it runs, the panel says how many of how many: ${running.slice(0, 300)}`);
    assert.ok(seen[0]! < m, `the first runs showed before the study ended (${seen.join(' → ')})`);
    await vs.screenshot('cancel-running');

    // Cancel from the progress notification.
    const progress = vs.page.locator('.notification-toast', { hasText: 'Compare Gate Choices' }).first();
    await progress.hover();
    await progress.locator('.monaco-button', { hasText: 'Cancel' }).first().click();
    const toast = vs.page.locator('.notification-toast', { hasText: new RegExp(`Cancelled after \\d+ of ${m} runs`) }).first();
    await toast.waitFor({ state: 'visible', timeout: 30_000 });
    const message = (await toast.innerText()).replace(/\s+/g, ' ');
    const n = Number(new RegExp(`Cancelled after (\\d+) of ${m} runs`).exec(message)![1]);
    assert.ok(n >= 2 && n < m, message);
    assert.ok(await toast.locator('.monaco-button', { hasText: 'Save Partial Report' }).isVisible(), 'the finished runs can be saved');

    const after = await vs.webviewFrame('report', 30_000);
    await after.waitForFunction((k) => (window as unknown as { __bpttLensState?: State }).__bpttLensState?.verdicts.length === k, n, { timeout: 30_000 });
    const text = await after.evaluate(() => document.body.innerText);
    assert.match(text, new RegExp(`partial: ${n} of ${m} runs`));
    assert.match(text, new RegExp(`cancelled after ${n} of ${m} runs`));
    await vs.runCommand('BPTT Lens: Focus on Heatmaps View'); // the BPTT Lens side bar, Runs tree on top
    await vs.page.locator('.monaco-list-row', { hasText: `partial ${n}/${m}` }).first().waitFor({ state: 'visible', timeout: 10_000 });
    await vs.page.waitForTimeout(500);
    await vs.screenshot('cancel-partial');
    console.log(`# panel grew ${seen.join(' → ')} runs while running; ${message}`);
  } finally {
    await vs.close();
  }
});
