// End to end: "Apply & re-run" on a hostile saved report. Its study.source points outside the
// workspace folder and its config asks for 10^6 iterations of a 1024-unit network. The
// extension must ask before reading the file, showing its full path, then show the workload
// (lowered to the settings' limits) before anything trains. Cancelling trains nothing.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { serializeReport } from '../../src/io/report/json';
import { validReport } from '../fuzz/adversarial';
import { openVsCode } from './harness';

test('a saved report cannot read outside its workspace folder or start a huge run without the user seeing it', { timeout: 240_000 }, async () => {
  let secret = '';
  const vs = await openVsCode({
    theme: 'dark',
    name: 'rerun',
    prepareWorkspace(workspace) {
      secret = join(dirname(workspace), 'outside-secret.csv');
      writeFileSync(secret, `value\n${Array.from({ length: 200 }, (_, i) => Math.sin(i / 5).toFixed(4)).join('\n')}\n`);
      const report = validReport(6, 1) as unknown as { study: { source: string; name: string }; runs: Record<string, any>[] };
      report.study.source = secret;
      report.study.name = 'hostile';
      Object.assign(report.runs[0]!.config, { hiddenSize: 1024, numLayers: 8, iterations: 1_000_000, batchSize: 4096 });
      report.runs[0]!.recommendations = [{ title: 'Use an LSTM', rationale: 'gates keep the gradient', change: { cellChoice: 'lstm' } }];
      const dir = join(workspace, 'bptt-reports', '2026-11-27-hostile');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'report.json'), serializeReport(report as never));
    },
  });
  try {
    await vs.runCommand('BPTT Lens: Open Saved Report');
    await vs.acceptPrompts({ quietMs: 1500, maxMs: 10_000 });
    const panel = await vs.webviewFrame('report', 60_000);
    const apply = panel.locator('vscode-button', { hasText: 'Apply & re-run' }).first();
    await apply.waitFor({ state: 'visible', timeout: 60_000 });
    await apply.click();

    // 1. The data file lies outside the workspace folder: a modal names it in full.
    const dialog = vs.page.locator('.monaco-dialog-box');
    await dialog.waitFor({ state: 'visible', timeout: 30_000 });
    const asked = await dialog.innerText();
    assert.match(asked, /outside its workspace folder/);
    assert.ok(asked.includes(secret), `the full path is shown: ${asked}`);
    await vs.screenshot('rerun-asks-for-outside-file');
    await dialog.locator('.monaco-button', { hasText: 'Read This File' }).click();

    // 2. The workload, lowered to the settings' limits, before anything trains.
    await vs.page.waitForFunction(() => /Re-run|re-run/.test(document.querySelector('.monaco-dialog-box')?.textContent ?? '') && /iterations/.test(document.querySelector('.monaco-dialog-box')?.textContent ?? ''), undefined, { timeout: 30_000 });
    const workload = await dialog.innerText();
    assert.match(workload, /100,000 iterations of batch 256/);
    assert.match(workload, /4 layers of 256 units/);
    assert.match(workload, /hiddenSize 1,024 → 256/);
    await vs.screenshot('rerun-shows-workload');
    await dialog.locator('.monaco-button', { hasText: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden', timeout: 10_000 });

    // Nothing trains: the button comes back and no progress notification appears.
    await apply.waitFor({ state: 'visible', timeout: 20_000 });
    assert.equal(await vs.page.locator('.notifications-toasts .monaco-progress-container.active').count(), 0);
    console.log(`# re-run of a hostile report: asked for ${secret}; workload shown: ${workload.replace(/\s+/g, ' ').slice(0, 300)}`);
  } finally {
    await vs.close();
  }
});
