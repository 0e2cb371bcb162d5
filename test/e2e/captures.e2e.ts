// End to end: a real training process (examples/train_brackets.py with the bptt_lens
// recorder, started by this test) writes captures into the workspace's bptt-captures/ while
// the Training Captures view is open; the view's heatmap gains a column per capture as they
// land, an unreadable file is named in the view, and screenshots are taken in light and dark.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { canvasInk, openVsCode, repoRoot, type Theme } from './harness';

const PYTHON = process.env.BPTT_LENS_PYTHON ?? '/usr/bin/python3';

interface CapturesInfo {
  columns: number;
  pending: number;
  errors: number;
  drawn: number;
}

for (const theme of ['light', 'dark'] as Theme[]) {
  test(`captures view follows a training run live (${theme})`, { timeout: 300_000 }, async () => {
    const vs = await openVsCode({
      theme,
      name: 'captures',
      prepareWorkspace(workspace) {
        mkdirSync(join(workspace, 'bptt-captures'), { recursive: true });
        // A file that only looks like a capture: the view must name it and go on.
        writeFileSync(join(workspace, 'bptt-captures', 'step-99999999.capture.safetensors'), 'not a capture');
      },
    });
    let training: ReturnType<typeof spawn> | undefined;
    try {
      await vs.runCommand('BPTT Lens: Open Training Captures'); // the harness retries a palette that is not ready
      // The folder pick (the workspace's bptt-captures/ first) appears once the extension has
      // activated, which can take a while on a loaded machine.
      await vs.page.locator('.quick-input-list .monaco-list-row', { hasText: 'bptt-captures' }).first().click({ timeout: 60_000 });
      const frame = await vs.webviewFrame('captures', 60_000);
      const info = () => frame.evaluate(() => (window as unknown as { __bpttCaptures?: CapturesInfo }).__bpttCaptures ?? null);
      await frame.waitForFunction(() => ((window as unknown as { __bpttCaptures?: CapturesInfo }).__bpttCaptures?.errors ?? 0) >= 1, undefined, { timeout: 60_000 });

      // The training starts only now, with the view open.
      const steps = 140;
      const every = 20;
      training = spawn(PYTHON, [join(repoRoot, 'examples', 'train_brackets.py'), '--steps', String(steps), '--every', String(every), '--sleep', '0.08',
        '--out-dir', join(vs.workspace, 'bptt-captures')], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
      let trainingLog = '';
      training.stdout?.on('data', (d) => (trainingLog += d));
      training.stderr?.on('data', (d) => (trainingLog += d));
      const exited = new Promise<number | null>((resolve) => training!.on('exit', (code) => resolve(code)));
      let running = true;
      void exited.then(() => (running = false));

      const seenWhileRunning = new Set<number>();
      const expected = Math.ceil(steps / every);
      const end = Date.now() + 180_000;
      let last: CapturesInfo | null = null;
      while (Date.now() < end) {
        last = await info();
        if (running && last) seenWhileRunning.add(last.columns);
        if (!running && last && last.columns === expected && last.pending === 0) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.equal(await exited, 0, trainingLog);
      assert.ok(last, 'the view published its state');
      assert.equal(last.columns, expected, `columns at the end: ${JSON.stringify(last)}`);
      // Columns appeared while the training was still running, one capture after another.
      const grew = [...seenWhileRunning].filter((n) => n > 0 && n < expected);
      assert.ok(grew.length >= 2, `columns seen while training ran: ${[...seenWhileRunning].sort((a, b) => a - b).join(', ')}`);
      assert.equal(last.errors, 1);
      const errorText = await frame.evaluate(() => document.querySelector('.errors')?.textContent ?? '');
      assert.match(errorText, /step-99999999\.capture\.safetensors/);

      const ink = await canvasInk(frame);
      assert.ok(ink.length >= 3 && ink.slice(0, 3).every((n) => n > 1000), `blank canvases: ${ink.join(', ')}`);
      const rows = await frame.evaluate(() => document.querySelectorAll('table.verdicts tbody tr').length);
      assert.equal(rows, expected);
      const file = await vs.screenshot('captures-live');

      // The Runs tree lists the folder as a study, one run per captured step.
      await vs.runCommand('BPTT Lens: Focus on Runs View');
      await vs.page.locator('.monaco-list-row', { hasText: 'Captures: bptt-captures' }).first().waitFor({ state: 'visible', timeout: 30_000 });
      await vs.page.locator('.monaco-list-row', { hasText: 'step 120' }).first().waitFor({ state: 'visible', timeout: 30_000 });
      await vs.screenshot('captures-runs-tree');

      // Save Report from the view writes the captures report folder into the workspace.
      await frame.locator('button.save').click();
      const reports = join(vs.workspace, 'bptt-reports');
      let saved: { study: { kind: string }; runs: unknown[] } | null = null;
      for (let k = 0; k < 150 && !saved; k++) {
        const folder = existsSync(reports) ? readdirSync(reports).find((f) => !f.startsWith('.')) : undefined;
        if (folder && existsSync(join(reports, folder, 'report.json'))) saved = JSON.parse(readFileSync(join(reports, folder, 'report.json'), 'utf8'));
        else await new Promise((r) => setTimeout(r, 200));
      }
      assert.ok(saved, 'Save Report wrote bptt-reports/<date>-captures-bptt-captures/report.json');
      assert.equal(saved.study.kind, 'captures');
      assert.equal(saved.runs.length, expected);

      // Clicking a capture file opens it in the read-only captures editor: one column.
      await vs.runCommand('View: Close All Editors');
      await vs.page.keyboard.press('Control+P');
      await vs.page.locator('.quick-input-widget').waitFor({ state: 'visible', timeout: 10_000 });
      await vs.page.keyboard.type('step-00000020.capture.safetensors', { delay: 5 });
      await vs.page.locator('.quick-input-list .monaco-list-row', { hasText: 'step-00000020' }).first().click({ timeout: 20_000 });
      const editor = await vs.webviewFrame('captures', 60_000);
      await editor.waitForFunction(() => (window as unknown as { __bpttCaptures?: CapturesInfo }).__bpttCaptures?.columns === 1, undefined, { timeout: 60_000 });
      await vs.screenshot('capture-file-editor');
      console.log(`# captures view (${theme}): column counts seen while training ran: ${[...seenWhileRunning].sort((a, b) => a - b).join(', ')}; screenshot ${file}`);
    } finally {
      if (training && training.exitCode === null) training.kill('SIGTERM');
      await vs.close();
    }
  });
}
