// End to end (issue 9): Compare Gate Choices with classic and modern cells side by side. The
// cell list is grouped (classic / gated modern / linear recurrences) with the classic gate
// choices preselected; the test clears them, picks rnn-tanh, lstm, gru, mingru, lru and s6,
// takes T = 40 from the window prompt, and checks that the panel shows every cell, each with
// its own title. Screenshots of the picker and the report, light and dark.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openVsCode, type Session, type Theme } from './harness';

type State = { verdicts: string[]; chartsDrawn: number };

const CELLS = ['rnn-tanh', 'lstm', 'gru', 'mingru', 'lru', 's6'];
/** lstm runs twice (forget bias 0 and 1); the others once. */
const RUNS = CELLS.length + 1;

async function quickInputVisible(vs: Session): Promise<void> {
  await vs.page.locator('.quick-input-widget').waitFor({ state: 'visible', timeout: 30_000 });
  await vs.page.waitForTimeout(400); // the list fills in asynchronously
}

/** The quick pick row whose label is exactly `name` (the filter narrows the list first). */
function row(vs: Session, name: string) {
  return vs.page
    .locator('.quick-input-list .monaco-list-row')
    .filter({ has: vs.page.locator('.label-name', { hasText: new RegExp(`^${name.replace(/[-]/g, '\\-')}$`) }) })
    .first();
}

async function setFilter(vs: Session, text: string): Promise<void> {
  const input = vs.page.locator('.quick-input-box input');
  await input.fill(text);
  await vs.page.waitForTimeout(300);
}

async function pickCells(vs: Session, theme: Theme): Promise<void> {
  await quickInputVisible(vs);
  const widget = vs.page.locator('.quick-input-widget');
  const text = (await widget.innerText()).replace(/\s+/g, ' ');
  assert.match(text, /classic/, 'the classic separator');
  await vs.screenshot(`gates-modern-picker-top`);
  // The separators further down (a filter hides separators): scroll the list to its end.
  await vs.page.locator('.quick-input-list').hover();
  await vs.page.mouse.wheel(0, 2000);
  await vs.page.waitForTimeout(400);
  const lower = (await widget.innerText()).replace(/\s+/g, ' ');
  assert.match(lower, /linear recurrences/, `the linear separator: ${lower.slice(0, 400)}`);
  assert.match(lower, /gated modern/, `the gated modern separator: ${lower.slice(0, 400)}`);
  await vs.screenshot(`gates-modern-picker-bottom`);
  await vs.page.mouse.wheel(0, -2000);
  // Clear the preselected classic cells: check-all twice (all, then none).
  // VS Code 1.100: custom toggles (role=checkbox, aria-checked) on the header and on each row.
  const all = vs.page.locator('.quick-input-header [role="checkbox"][aria-label="Toggle all checkboxes"]').first();
  const allChecked = async () => (await all.getAttribute('aria-checked')) === 'true';
  for (let i = 0; i < 2; i++) {
    await all.click();
    await vs.page.waitForTimeout(300);
  }
  // Its hover would cover the rows below: move the pointer away until it closes.
  await vs.page.mouse.move(5, 600);
  await vs.page.waitForTimeout(800);
  assert.equal(await allChecked(), false, 'every cell unchecked');
  for (const name of CELLS) {
    await setFilter(vs, name);
    const r = row(vs, name);
    await r.waitFor({ state: 'visible', timeout: 10_000 });
    if ((await r.getAttribute('aria-checked')) !== 'true') await r.locator('.monaco-checkbox').first().click();
    await vs.page.mouse.move(5, 600);
    await vs.page.waitForTimeout(300);
    assert.equal(await r.getAttribute('aria-checked'), 'true', `${name} checked`);
  }
  await setFilter(vs, 'min');
  await vs.screenshot(`gates-modern-picker-filtered`);
  await setFilter(vs, '');
  const count = await vs.page.locator('.quick-input-count').innerText().catch(() => '');
  assert.match(count, new RegExp(`\\b${CELLS.length}\\b`), `the picker counts ${CELLS.length} selected: '${count}' (${theme})`);
  await vs.page.keyboard.press('Enter');
}

async function runGates(theme: Theme): Promise<void> {
  const vs = await openVsCode({ theme, name: `gates-modern-${theme}` });
  try {
    await vs.runCommand('BPTT Lens: Compare Gate Choices');
    // 1/3 data: Enter takes adding.
    await quickInputVisible(vs);
    assert.match(await vs.page.locator('.quick-input-widget').innerText(), /adding/);
    await vs.page.keyboard.press('Enter');
    // 2/3 cells.
    await vs.page.waitForTimeout(600);
    await pickCells(vs, theme);
    // 3/3 window T, prefilled with the sample's own 40.
    await vs.page.waitForTimeout(600);
    await quickInputVisible(vs);
    const input = vs.page.locator('.quick-input-box input');
    assert.equal(await input.inputValue(), '40', 'T prefilled with adding\'s own');
    await input.fill('0');
    await vs.page.locator('.quick-input-message', { hasText: 'whole number of steps from 1 to 10000' }).first().waitFor({ state: 'visible', timeout: 10_000 });
    await input.fill('40');
    await vs.page.waitForTimeout(200);
    await vs.page.keyboard.press('Enter');

    const t0 = Date.now();
    const report = await vs.webviewFrame('report', 300_000);
    await report.waitForFunction(
      (n) => {
        const s = (window as unknown as { __bpttLensState?: State }).__bpttLensState;
        return !!s && s.verdicts.length >= n && s.chartsDrawn > 0 && !/running: \d+ of \d+ runs/.test(document.body.innerText);
      },
      RUNS,
      { timeout: 400_000 },
    );
    await vs.page.waitForTimeout(1200);
    const ms = Date.now() - t0;
    const state = await report.evaluate(() => (window as unknown as { __bpttLensState: State }).__bpttLensState);
    assert.equal(state.verdicts.length, RUNS, `${RUNS} runs: ${state.verdicts.join(', ')}`);
    const text = await report.evaluate(() => document.body.innerText);
    for (const name of CELLS) assert.match(text, new RegExp(`\\b${name}\\b`), `${name} on the panel`);
    assert.match(text, /lstm \+forget bias 1/);
    assert.doesNotMatch(text, /(mingru|lru|s6) \+forget bias 1/, 'no forget-bias doubling of cells without an LSTM forget gate');
    // Each run its own colour: the run lines' swatches differ.
    const colours = await report.evaluate(() =>
      Array.from(document.querySelectorAll('.run-line')).map((el) => {
        const sw = el.querySelector('[style*="color"], .swatch, svg, span');
        return sw ? getComputedStyle(sw).color + '|' + getComputedStyle(sw).backgroundColor : '';
      }),
    );
    assert.equal(new Set(colours.map((c) => c.split('|')[1])).size, RUNS, `a colour of its own per run: ${colours.join(' ; ')}`);
    console.log(`# ${theme}: ${state.verdicts.length} runs in ${ms} ms; verdicts ${state.verdicts.join(', ')}; run-line colours ${colours.join(' ; ')}`);
    await vs.screenshot('gates-modern-report');
    await report.evaluate(() => window.scrollTo(0, document.body.scrollHeight / 2));
    await vs.page.waitForTimeout(500);
    await vs.screenshot('gates-modern-report-lower');
  } finally {
    await vs.close();
  }
}

test('Compare Gate Choices: classic and modern cells side by side (light)', { timeout: 600_000 }, () => runGates('light'));
test('Compare Gate Choices: classic and modern cells side by side (dark)', { timeout: 600_000 }, () => runGates('dark'));
