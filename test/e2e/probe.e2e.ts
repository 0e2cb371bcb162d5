// End to end: a PyTorch-written 2-layer LSTM + Linear state dict opened in the "Probe State
// Dict" editor — by the palette command (light) and by "Reopen Editor With…" (dark; the editor
// is an option, never the default) — probed on a sequence file picked in the host's open
// dialog: the per-layer chart, the verdict and the heatmaps appear; a sequence file of the
// wrong width gets one message naming it and leaves the result as it was; Save Report writes
// a report folder of kind 'probe'. Screenshots in light and dark.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Frame } from 'playwright-core';
import { canvasInk, openVsCode, repoRoot, type Session, type Theme } from './harness';

interface ProbeInfo {
  summary: boolean;
  cell: string | null;
  loss: number | null;
  busy: boolean;
  busyLabel: string | null;
  note: string | null;
  error: string | null;
  input: string | null;
  layerSeries: number;
  verdict: string | null;
}

const FIXTURES = join(repoRoot, 'test', 'fixtures', 'torch');
const T = 60;

/** A deterministic many-to-many input for the fixture's sizes (3 inputs, 3 outputs), T = 60. */
function sequences(width: number, steps = T, batch = 4): string {
  let seed = 12345;
  const rand = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648 - 0.5;
  };
  const x = Array.from({ length: batch }, () => Array.from({ length: steps }, () => Array.from({ length: width }, () => Number(rand().toFixed(4)))));
  const y = Array.from({ length: batch }, () => Array.from({ length: steps }, () => Array.from({ length: 3 }, () => Number(rand().toFixed(4)))));
  // One row per example, so a parse error would name its line.
  return `{"x": [\n${x.map((r) => JSON.stringify(r)).join(',\n')}\n],\n"y": [\n${y.map((r) => JSON.stringify(r)).join(',\n')}\n]}\n`;
}

/** Answers the host's open dialog (code-server's simple dialog is a quick input) with `file`. */
async function pickInDialog(vs: Session, file: string): Promise<void> {
  const box = vs.page.locator('.quick-input-widget .quick-input-box input');
  await box.waitFor({ state: 'visible', timeout: 30_000 });
  await vs.page.waitForTimeout(500); // the dialog fills in its folder first
  await box.fill(file);
  await vs.page.waitForTimeout(500);
  await vs.page.keyboard.press('Enter');
  // The simple dialog may ask once more when the typed path is not what it listed.
  await vs.page.waitForTimeout(800);
  if (await vs.page.locator('.quick-input-widget').isVisible()) {
    const value = await box.inputValue().catch(() => '');
    if (value === file) await vs.page.keyboard.press('Enter');
  }
}

const info = (frame: Frame): Promise<ProbeInfo | null> => frame.evaluate(() => (window as unknown as { __bpttProbe?: ProbeInfo }).__bpttProbe ?? null);

for (const theme of ['light', 'dark'] as Theme[]) {
  test(`probe a state dict on a sequence file (${theme})`, { timeout: 300_000 }, async () => {
    const vs = await openVsCode({
      theme,
      name: 'probe',
      prepareWorkspace(dir) {
        mkdirSync(join(dir, 'models'));
        mkdirSync(join(dir, 'data'));
        copyFileSync(join(FIXTURES, 'lstm_2layer.safetensors'), join(dir, 'models', 'encoder.safetensors'));
        writeFileSync(join(dir, 'data', 'sequences.json'), sequences(3));
        writeFileSync(join(dir, 'data', 'wide.json'), sequences(4));
        writeFileSync(join(dir, 'data', 'long.json'), sequences(3, 30_000, 8));
      },
    });
    try {
      const weights = join(vs.workspace, 'models', 'encoder.safetensors');
      if (theme === 'light') {
        await vs.runCommand('BPTT Lens: Probe a State Dict…');
        await pickInDialog(vs, weights);
      } else {
        // The explorer's context menu offers the command on a .safetensors file.
        await vs.page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'models' }).first().click({ timeout: 30_000 });
        await vs.page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'encoder.safetensors' }).first().click({ button: 'right', timeout: 30_000 });
        await vs.page.locator('.context-view .action-label', { hasText: 'Probe a State Dict…' }).first().waitFor({ state: 'visible', timeout: 15_000 });
        await vs.screenshot('probe-context-menu');
        await vs.page.keyboard.press('Escape');
        // "Open With…": the file opens in VS Code's default editor; the probe editor is offered, not forced.
        await vs.page.keyboard.press('Control+P');
        await vs.page.locator('.quick-input-widget').waitFor({ state: 'visible', timeout: 10_000 });
        await vs.page.keyboard.type('encoder.safetensors', { delay: 5 });
        await vs.page.locator('.quick-input-list .monaco-list-row', { hasText: 'encoder.safetensors' }).first().click({ timeout: 20_000 });
        await vs.page.locator('.tab[aria-label^="encoder.safetensors"]').first().waitFor({ state: 'visible', timeout: 20_000 });
        await vs.runCommand('View: Reopen Editor With...');
        await vs.page.locator('.quick-input-list .monaco-list-row', { hasText: 'BPTT Lens: Probe State Dict' }).first().click({ timeout: 30_000 });
      }
      const frame = await vs.webviewFrame('probe', 90_000);
      await frame.waitForFunction(() => (window as unknown as { __bpttProbe?: ProbeInfo }).__bpttProbe?.summary === true, undefined, { timeout: 90_000 });
      const header = (await frame.evaluate(() => document.querySelector('.probe-header')?.textContent ?? '')).replace(/\s+/g, ' ');
      assert.match(header, /encoder\.safetensors/);
      assert.match(header, /layers\s*2/);
      assert.match(header, /hidden size H\s*4/);
      assert.match(header, /parameters\s*319/);
      assert.match(header, /These tensors fit 8 cells/, 'an LSTM-shaped state dict offers the cell picker');
      await vs.screenshot('probe-opened');

      await frame.locator('vscode-button.choose').click();
      await pickInDialog(vs, join(vs.workspace, 'data', 'sequences.json'));
      await frame.waitForFunction(() => {
        const p = (window as unknown as { __bpttProbe?: ProbeInfo }).__bpttProbe;
        return p?.verdict !== null && p?.verdict !== undefined && p.layerSeries === 2 && !p.busy;
      }, undefined, { timeout: 120_000 });
      const good = (await info(frame))!;
      assert.equal(good.input, 'sequences.json');
      assert.equal(good.error, null);
      const ink = await canvasInk(frame);
      assert.ok(ink.length >= 3 && ink[0]! > 1000, `the per-layer chart is drawn: ${ink.join(', ')}`);
      // The first chart is on screen without scrolling.
      const top = await frame.evaluate(() => {
        const c = document.querySelector('.probe-layers canvas');
        return c ? { bottom: c.getBoundingClientRect().bottom, height: window.innerHeight } : null;
      });
      assert.ok(top && top.bottom <= top.height, `the per-layer chart fits the first screen: ${JSON.stringify(top)}`);
      const text = await frame.evaluate(() => document.body.innerText);
      assert.match(text, /Verdicts/);
      assert.match(text, /Heatmaps/);
      const shot = await vs.screenshot('probe-result');
      // Further down: the verdict with its evidence, then the heatmaps (itemized: T = 60 ≤ 128).
      await frame.evaluate(() => {
        const details = document.querySelector('.run-lines details') as HTMLDetailsElement | null;
        if (details) details.open = true;
        document.querySelector('#h-verdicts')?.scrollIntoView();
      });
      await vs.page.waitForTimeout(400);
      await vs.screenshot('probe-verdict');
      await frame.evaluate(() => document.querySelector('.probe-heatmaps')?.scrollIntoView());
      await vs.page.waitForTimeout(400);
      await vs.screenshot('probe-heatmaps');
      await frame.evaluate(() => window.scrollTo(0, 0));

      // A sequence file of the wrong width: one message naming it; the result stays.
      await frame.locator('vscode-button.choose').click();
      await pickInDialog(vs, join(vs.workspace, 'data', 'wide.json'));
      await frame.waitForFunction(() => (window as unknown as { __bpttProbe?: ProbeInfo }).__bpttProbe?.error != null, undefined, { timeout: 60_000 });
      const bad = (await info(frame))!;
      assert.match(bad.error!, /^wide\.json(:\d+)?: .*4 inputs per step, but the model in .*encoder\.safetensors reads 3/);
      assert.equal(bad.input, 'sequences.json');
      assert.equal(bad.layerSeries, 2);
      assert.equal(bad.verdict, good.verdict);
      const alerts = await frame.evaluate(() => document.querySelectorAll('[role=alert]').length);
      assert.equal(alerts, 1);
      await vs.screenshot('probe-error');

      // A long file (8 × 30,000 steps, ~7 s): the progress line names the stage, Cancel stops it, nothing changes.
      await frame.locator('vscode-button.choose').click();
      await pickInDialog(vs, join(vs.workspace, 'data', 'long.json'));
      await frame.waitForFunction(() => /^Forward and backward pass/.test((window as unknown as { __bpttProbe?: ProbeInfo }).__bpttProbe?.busyLabel ?? ''), undefined, { timeout: 60_000 });
      const stage = (await info(frame))!.busyLabel!;
      assert.match(stage, /^Forward and backward pass: 2-layer lstm, H = 4, 8 × 30000 steps/);
      await vs.screenshot('probe-running');
      await frame.locator('vscode-button.cancel').click();
      await frame.waitForFunction(() => (window as unknown as { __bpttProbe?: ProbeInfo }).__bpttProbe?.note === 'Cancelled; nothing changed.', undefined, { timeout: 10_000 });
      const cancelled = (await info(frame))!;
      assert.equal(cancelled.busy, false);
      assert.equal(cancelled.input, 'sequences.json');
      assert.equal(cancelled.loss, good.loss);
      assert.equal(cancelled.error, null);

      // The cell picker (--cell): the same tensors read as an sLSTM; the pass runs again on the same file.
      await frame.evaluate(() => window.scrollTo(0, 0));
      await frame.locator('vscode-single-select.cell-picker').click();
      await vs.page.waitForTimeout(300);
      for (let k = 0; k < 7; k++) await frame.locator('vscode-single-select.cell-picker').press('ArrowDown');
      await frame.locator('vscode-single-select.cell-picker').press('Enter');
      await frame.waitForFunction(() => {
        const p = (window as unknown as { __bpttProbe?: ProbeInfo }).__bpttProbe;
        return p?.cell === 'slstm' && !p.busy;
      }, undefined, { timeout: 60_000 });
      const slstm = (await info(frame))!;
      assert.equal(slstm.input, 'sequences.json');
      assert.notEqual(slstm.loss, good.loss, 'another cell, another pass');
      assert.equal(slstm.error, null);
      await vs.screenshot('probe-slstm');

      // Save Report (the report view's button inside the editor) writes a 'probe' report folder.
      await frame.locator('vscode-button', { hasText: 'Save report' }).first().click();
      const reports = join(vs.workspace, 'bptt-reports');
      let saved: { study: { kind: string }; runs: { layers: unknown[] }[] } | null = null;
      for (let k = 0; k < 150 && !saved; k++) {
        const folder = existsSync(reports) ? readdirSync(reports).find((f) => !f.startsWith('.')) : undefined;
        if (folder && existsSync(join(reports, folder, 'report.json'))) saved = JSON.parse(readFileSync(join(reports, folder, 'report.json'), 'utf8'));
        else await new Promise((r) => setTimeout(r, 200));
      }
      assert.ok(saved, 'Save Report wrote bptt-reports/<date>-probe-…/report.json');
      assert.equal(saved.study.kind, 'probe');
      assert.equal(saved.runs.length, 1);
      assert.equal(saved.runs[0]!.layers.length, 2);
      console.log(`# probe editor (${theme}): verdict ${good.verdict}; error line: ${bad.error}; screenshot ${shot}`);
    } finally {
      await vs.close();
    }
  });
}
