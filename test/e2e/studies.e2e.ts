// End to end (issue 10): Compare Gate Choices with defaults (adding, no run that is identical by
// construction), and Diagnose Sequence File on a 2,000-row daily series with yearly structure,
// whose window prompt comes prefilled with the suggestion from the series' autocorrelation.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { dailyYearlyCsv } from '../fixtures/daily';
import { openVsCode, type Session } from './harness';

type State = { verdicts: string[]; chartsDrawn: number };

async function waitForReport(vs: Session, minRuns: number, timeoutMs: number) {
  const report = await vs.webviewFrame('report', timeoutMs);
  await report.waitForFunction(
    (n) => {
      const s = (window as unknown as { __bpttLensState?: State }).__bpttLensState;
      // The panel shows runs as they finish ("running: 3 of 5 runs"): wait for the finished study.
      return !!s && s.verdicts.length >= n && s.chartsDrawn > 0 && !/running: \d+ of \d+ runs/.test(document.body.innerText);
    },
    minRuns,
    { timeout: timeoutMs },
  );
  await vs.page.waitForTimeout(800);
  return report;
}

test('Compare Gate Choices with defaults: the adding problem, 17 runs, none identical by construction', { timeout: 420_000 }, async () => {
  const vs = await openVsCode({ theme: 'light', name: 'gates' });
  try {
    const t0 = Date.now();
    await vs.runCommand('BPTT Lens: Compare Gate Choices');
    await vs.acceptPrompts();
    const report = await waitForReport(vs, 17, 380_000);
    const ms = Date.now() - t0;
    const state = await report.evaluate(() => (window as unknown as { __bpttLensState: State }).__bpttLensState);
    assert.equal(state.verdicts.length, 17, 'forget bias 1 is not run on lstm-cifg and lstm-nfg');
    const text = await report.evaluate(() => document.body.innerText);
    assert.match(text, /adding/);
    assert.doesNotMatch(text, /lstm-cifg \+forget bias 1|lstm-nfg \+forget bias 1/);
    await vs.screenshot('compare-gates');
    console.log(`# gates on adding: ${state.verdicts.length} runs in ${ms} ms (prompt to panel); verdicts ${state.verdicts.join(', ')}`);
  } finally {
    await vs.close();
  }
});

test('Diagnose Sequence File on a daily series: the window prompt suggests ~365 with its reason', { timeout: 480_000 }, async () => {
  const vs = await openVsCode({
    theme: 'light',
    name: 'daily',
    prepareWorkspace(dir) {
      writeFileSync(join(dir, 'daily.csv'), dailyYearlyCsv(2000, 7));
      // Fewer iterations than the file default (150) keep this test within minutes on one worker.
      mkdirSync(join(dir, '.vscode'), { recursive: true });
      writeFileSync(join(dir, '.vscode', 'settings.json'), JSON.stringify({ 'bpttLens.iterations': 60 }));
    },
  });
  try {
    await vs.page.keyboard.press('Control+P');
    await vs.page.locator('.quick-input-widget').waitFor({ state: 'visible', timeout: 10_000 });
    await vs.page.keyboard.type('daily.csv', { delay: 5 });
    await vs.page.locator('.quick-input-list .monaco-list-row', { hasText: 'daily.csv' }).first().waitFor({ state: 'visible', timeout: 10_000 });
    await vs.page.keyboard.press('Enter');
    await vs.page.locator('.tab[aria-label^="daily.csv"]').first().waitFor({ state: 'visible', timeout: 10_000 });
    await vs.runCommand('BPTT Lens: Diagnose Sequence File');
    // The window prompt: an input box prefilled with the suggestion, the reason in its message.
    const box = vs.page.locator('.quick-input-widget');
    await box.waitFor({ state: 'visible', timeout: 60_000 });
    await vs.page.locator('.quick-input-message', { hasText: 'autocorrelation' }).first().waitFor({ state: 'visible', timeout: 30_000 });
    const value = await vs.page.locator('.quick-input-box input').inputValue();
    const message = (await vs.page.locator('.quick-input-widget').innerText()).replace(/\s+/g, ' ');
    assert.ok(Math.abs(Number(value) - 365) <= 5, `suggested window ${value}`);
    await vs.screenshot('daily-window-prompt');
    await vs.page.keyboard.press('Enter');
    const report = await waitForReport(vs, 3, 420_000);
    const state = await report.evaluate(() => (window as unknown as { __bpttLensState: State }).__bpttLensState);
    const text = await report.evaluate(() => document.body.innerText);
    assert.match(text, /daily\.csv/);
    await vs.screenshot('daily-report');
    console.log(`# daily.csv: suggested window ${value} (${message.slice(0, 240)}); verdicts ${state.verdicts.join(', ')}`);
  } finally {
    await vs.close();
  }
});
