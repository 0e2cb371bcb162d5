// End to end: "BPTT Lens: Compare Clipping Thresholds" with defaults shows one panel per
// threshold (small multiples) and the pre-clip norm with its threshold.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canvasInk, openVsCode } from './harness';

test('Compare Clipping Thresholds draws one configuration per threshold', { timeout: 240_000 }, async () => {
  const vs = await openVsCode({ theme: 'light', name: 'clipping' });
  try {
    await vs.runCommand('BPTT Lens: Compare Clipping Thresholds');
    await vs.acceptPrompts();
    const report = await vs.webviewFrame('report', 120_000);
    await report.waitForFunction(
      () => {
        const s = (window as unknown as { __bpttLensState?: { verdicts: string[]; chartsDrawn: number } }).__bpttLensState;
        // The panel shows runs as they finish: wait for the whole default sweep (5 runs).
        return !!s && s.verdicts.length >= 5 && s.chartsDrawn > 0;
      },
      undefined,
      { timeout: 120_000 },
    );
    await vs.page.waitForTimeout(800);
    const state = await report.evaluate(() => (window as unknown as { __bpttLensState: { verdicts: string[] } }).__bpttLensState);
    assert.ok(state.verdicts.length >= 3, `a sweep compares several thresholds, got ${state.verdicts.length}`);
    // The built-in exploding setting: the unclipped run diverges, the clipped ones train.
    assert.equal(state.verdicts.filter((v) => v === 'exploding').length, 1, `verdicts ${state.verdicts.join(', ')}`);
    assert.ok(state.verdicts.includes('healthy'), `verdicts ${state.verdicts.join(', ')}`);
    const text = await report.evaluate(() => document.body.innerText);
    assert.match(text, /clip/i);
    const ink = await canvasInk(report);
    assert.ok(ink.filter((n) => n > 500).length >= state.verdicts.length, `blank charts: ${ink.join(', ')}`);
    await vs.screenshot('compare-clipping');
    await report.evaluate(() => document.querySelector('canvas')?.scrollIntoView({ block: 'start' }));
    await vs.page.waitForTimeout(400);
    await vs.screenshot('compare-clipping-charts');
    console.log(`# clipping: ${state.verdicts.length} runs, verdicts ${state.verdicts.join(', ')}`);
  } finally {
    await vs.close();
  }
});
