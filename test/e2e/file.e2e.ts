// End to end: "BPTT Lens: Diagnose Sequence File" on the CSV in the active editor (read and
// parsed in the worker), and on a broken CSV, whose error names the file and the line and
// leaves the previous report in place.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { AIRLINE_PASSENGERS } from '../../src/study/data/airline';
import { openVsCode, type Session } from './harness';

async function openInEditor(vs: Session, name: string): Promise<void> {
  await vs.page.keyboard.press('Escape');
  await vs.page.keyboard.press('Control+P');
  await vs.page.locator('.quick-input-widget').waitFor({ state: 'visible', timeout: 10_000 });
  await vs.page.keyboard.type(name, { delay: 5 });
  await vs.page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first().waitFor({ state: 'visible', timeout: 10_000 });
  await vs.page.keyboard.press('Enter');
  await vs.page.locator(`.tab[aria-label^="${name}"]`).first().waitFor({ state: 'visible', timeout: 10_000 });
}

test('Diagnose Sequence File reads the active CSV; a broken CSV gets file:line and changes nothing', { timeout: 240_000 }, async () => {
  const vs = await openVsCode({
    theme: 'light',
    name: 'file',
    prepareWorkspace(dir) {
      const rows = AIRLINE_PASSENGERS.map((v, i) => `${1949 + Math.floor(i / 12)}-${String((i % 12) + 1).padStart(2, '0')},${v}`);
      writeFileSync(join(dir, 'passengers.csv'), ['Month,Passengers', ...rows].join('\r\n') + '\r\n');
      writeFileSync(join(dir, 'broken.csv'), 'Month,Passengers\n1949-01,112\n1949-02,118\n1949-03,132\n1949-04,abc\n1949-05,121\n');
    },
  });
  try {
    await openInEditor(vs, 'passengers.csv');
    await vs.runCommand('BPTT Lens: Diagnose Sequence File');
    await vs.acceptPrompts();
    const report = await vs.webviewFrame('report', 90_000);
    await report.waitForFunction(
      () => ((window as unknown as { __bpttLensState?: { verdicts: string[] } }).__bpttLensState?.verdicts.length ?? 0) > 0,
      undefined,
      { timeout: 90_000 },
    );
    const text = await report.evaluate(() => document.body.innerText);
    assert.match(text, /passengers\.csv/, 'the report names the file');
    const verdicts = await report.evaluate(() => (window as unknown as { __bpttLensState: { verdicts: string[] } }).__bpttLensState.verdicts);
    await vs.screenshot('diagnose-file');

    await openInEditor(vs, 'broken.csv');
    await vs.runCommand('BPTT Lens: Diagnose Sequence File');
    await vs.acceptPrompts({ quietMs: 1500, maxMs: 10_000 });
    const toast = vs.page.locator('.notification-toast', { hasText: 'broken.csv' }).first();
    await toast.waitFor({ state: 'visible', timeout: 30_000 });
    const message = (await toast.innerText()).replace(/\s+/g, ' ');
    assert.match(message, /broken\.csv:5:/, `the error names file and line: ${message}`);
    await vs.screenshot('diagnose-file-error');
    // The report of the good file is still there (the panel sits behind broken.csv's tab).
    await vs.runCommand('BPTT Lens: Open Panel');
    const after = await vs.webviewFrame('report', 30_000);
    await after.waitForFunction(() => ((window as unknown as { __bpttLensState?: { verdicts: string[] } }).__bpttLensState?.verdicts.length ?? 0) > 0, undefined, {
      timeout: 30_000,
    });
    const still = await after.evaluate(() => (window as unknown as { __bpttLensState: { verdicts: string[] } }).__bpttLensState.verdicts);
    assert.deepEqual(still, verdicts);
    console.log(`# diagnose file: verdicts ${verdicts.join(', ')}; error: ${message.slice(0, 200)}`);
  } finally {
    await vs.close();
  }
});
