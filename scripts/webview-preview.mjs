#!/usr/bin/env node
// Dev harness for the webview bundle outside VS Code.
//   node scripts/webview-preview.mjs            build, serve webview/preview.html on 127.0.0.1, print URLs
//   node scripts/webview-preview.mjs --shots    also screenshot every view x theme in headless Chromium
//                                               into test-artifacts/webview/, print heatmap timings, and
//                                               exit 1 on page errors or CSP violations
//   ... --shots --report DIR/report.json           also draw a real report (e.g. from `bptt-lens diagnose`)
// Only loopback is used; the server and the browser are stopped before exit.
import * as esbuild from 'esbuild';
import { createServer } from 'node:http';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';

const root = resolve(new URL('..', import.meta.url).pathname);
const shots = process.argv.includes('--shots');
const outDir = join(root, 'test-artifacts', 'webview');
const reportArg = process.argv.indexOf('--report');
const realReport = reportArg > 0 ? JSON.parse(readFileSync(process.argv[reportArg + 1], 'utf8')) : null;

const browserBuild = { bundle: true, platform: 'browser', format: 'iife', target: 'es2022', logLevel: 'warning', sourcemap: true };
await Promise.all([
  esbuild.build({ ...browserBuild, entryPoints: [join(root, 'webview/main.ts')], outfile: join(root, 'dist/webview.js') }),
  esbuild.build({ ...browserBuild, entryPoints: [join(root, 'webview/preview.ts')], outfile: join(root, 'dist/webview-preview.js') }),
]);

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json', '.svg': 'image/svg+xml' };
const ALLOWED = ['webview', 'media', 'dist'];
const server = createServer((req, res) => {
  const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^[/\\]+/, '');
  const file = resolve(root, path);
  const top = path.split(/[/\\]/)[0];
  if (req.method !== 'GET' || !file.startsWith(root + sep) || !ALLOWED.includes(top)) {
    res.writeHead(404).end();
    return;
  }
  try {
    if (!statSync(file).isFile()) throw new Error('not a file');
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    res.end(readFileSync(file));
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const base = `http://127.0.0.1:${server.address().port}/webview/preview.html`;

if (!shots) {
  console.log(`Report panel:  ${base}?view=report&theme=dark`);
  console.log(`Heatmaps view: ${base}?view=heatmaps&theme=light&run=big`);
  console.log('Ctrl-C to stop.');
} else {
  const { chromium } = await import('playwright-core');
  mkdirSync(outDir, { recursive: true });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'],
  });
  let failures = 0;
  try {
    const cases = [
      { name: 'report-light', q: 'view=report&theme=light', width: 1200, full: true },
      { name: 'report-dark', q: 'view=report&theme=dark', width: 1200, full: true },
      { name: 'report-hc', q: 'view=report&theme=hc', width: 1200, full: true },
      { name: 'report-narrow-dark', q: 'view=report&theme=dark', width: 380, full: false },
      { name: 'report-empty-busy-light', q: 'view=report&theme=light&mode=busy', width: 900, empty: true },
      { name: 'report-error-dark', q: 'view=report&theme=dark&mode=error', width: 900, empty: true },
      { name: 'heatmap-sidebar-dark', q: 'view=heatmaps&theme=dark&run=big&kind=timestepIteration', width: 300 },
      { name: 'heatmap-big-light', q: 'view=heatmaps&theme=light&run=big&kind=timestepIteration', width: 1100 },
      { name: 'heatmap-big-dark', q: 'view=heatmaps&theme=dark&run=big&kind=timestepIteration', width: 1100 },
      { name: 'heatmap-cell-state-light', q: 'view=heatmaps&theme=light&run=lstm&kind=timestepIteration&quantity=gradNormC', width: 900 },
      { name: 'heatmap-layers-dark', q: 'view=heatmaps&theme=dark&run=rnn-tanh&kind=timestepLayer', width: 900 },
      { name: 'heatmap-itemized-light', q: 'view=heatmaps&theme=light&run=rnn-relu&kind=itemized', width: 900 },
      { name: 'heatmap-exploding-hc', q: 'view=heatmaps&theme=hc&run=rnn-relu&kind=timestepIteration', width: 900 },
    ];
    for (const c of cases) {
      const page = await browser.newPage({ viewport: { width: c.width, height: 900 } });
      const errors = [];
      page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
      page.on('response', (r) => {
        if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) errors.push(`HTTP ${r.status()} ${r.url()}`);
      });
      page.on('console', (m) => {
        // The favicon 404 is the preview server's, not the webview's.
        if ((m.type() === 'error' || m.type() === 'warning') && !m.text().includes('404')) errors.push(`console.${m.type()}: ${m.text()}`);
      });
      await page.goto(`${base}?${c.q}`);
      if (c.empty) await page.waitForTimeout(500);
      else await page.waitForFunction(() => (window.__bpttLensState?.chartsDrawn ?? 0) > 0, null, { timeout: 15000 });
      if (c.name.startsWith('heatmap')) {
        // Hover the middle of the plot so the readout line shows in the screenshot.
        const box = await page.locator('.heatmap-plot').boundingBox();
        if (box) await page.mouse.move(box.x + box.width * 0.6, box.y + (box.height - 40) * 0.4);
      }
      await page.waitForTimeout(300);
      await page.screenshot({ path: join(outDir, `${c.name}.png`), fullPage: c.full ?? true });
      const info = await page.evaluate(() => ({
        state: window.__bpttLensState,
        perf: window.__bpttLensPerf,
        csp: window.__csp,
        posted: window.__posted,
        status: document.querySelector('.heatmap-status')?.textContent ?? null,
      }));
      errors.push(...info.csp.map((v) => `CSP violation: ${v}`));
      console.log(`${c.name}: ${JSON.stringify({ state: info.state, perf: info.perf, posted: info.posted.length, status: info.status })}`);
      for (const e of errors) console.log(`  ${e}`);
      failures += errors.length;
      await page.close();
    }
    failures += await interactions(browser);
    if (realReport) failures += await drawReal(browser, realReport);
    // Timing of the 1000 x 500 heatmap: first render in 5 fresh pages, then re-renders in one page.
    const firsts = [];
    for (let i = 0; i < 5; i++) {
      const p = await browser.newPage({ viewport: { width: 1100, height: 900 } });
      await p.goto(`${base}?view=heatmaps&theme=dark&run=big&kind=timestepIteration`);
      await p.waitForFunction(() => (window.__bpttLensState?.chartsDrawn ?? 0) > 0, null, { timeout: 15000 });
      firsts.push(await p.evaluate(() => window.__bpttLensPerf.heatmap));
      await p.close();
    }
    firsts.sort((a, b) => a - b);
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    await page.goto(`${base}?view=heatmaps&theme=dark&run=big&kind=timestepIteration`);
    await page.waitForFunction(() => (window.__bpttLensState?.chartsDrawn ?? 0) > 0, null, { timeout: 15000 });
    const first = { ...(await page.evaluate(() => window.__bpttLensPerf)), firstRenders: firsts };
    const times = [];
    for (let i = 0; i < 7; i++) {
      // A theme switch recolours every cell: the same work as a fresh render.
      await page.evaluate((t) => window.__preview.setTheme(t), i % 2 ? 'dark' : 'light');
      await page.waitForTimeout(100);
      times.push(await page.evaluate(() => window.__bpttLensPerf.heatmap));
    }
    times.sort((a, b) => a - b);
    console.log(`heatmap 1000x500: first render ${JSON.stringify(first)}; re-render median ${times[3]} ms (min ${times[0]}, max ${times[6]})`);
    await page.close();
  } finally {
    await browser.close();
  }
  server.close();
  console.log(`screenshots in ${outDir}`);
  process.exit(failures ? 1 : 0);
}

/** Clicks and keys a user would press; returns the number of failed checks. */
async function interactions(browser) {
  let failed = 0;
  const check = (ok, what) => {
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
    if (!ok) failed++;
  };
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  await page.goto(`${base}?view=report&theme=dark`);
  await page.waitForFunction(() => (window.__bpttLensState?.chartsDrawn ?? 0) > 0);
  check((await page.locator('img').count()) === 0, 'labels and evidence with markup are shown as text (no <img> element created)');
  check((await page.getByText('<b>markup</b>', { exact: false }).count()) > 0, 'evidence markup visible literally');
  await page.locator('vscode-button', { hasText: 'Apply & re-run' }).first().click();
  let posted = await page.evaluate(() => window.__posted);
  check(JSON.stringify(posted.at(-1)) === JSON.stringify({ type: 'applyRecommendation', runId: 'rnn-tanh', index: 0 }), `Apply & re-run posts ${JSON.stringify(posted.at(-1))}`);
  await page.locator('.card-title', { hasText: 'gru' }).click();
  posted = await page.evaluate(() => window.__posted);
  check(JSON.stringify(posted.at(-1)) === JSON.stringify({ type: 'selectRun', runId: 'gru' }), 'clicking a card title selects the run');
  check((await page.locator('.card.selected').getAttribute('data-run')) === 'gru', 'selected card highlighted');
  // Keyboard: Tab reaches the card title buttons.
  await page.locator('.card-title').first().focus();
  await page.keyboard.press('Enter');
  posted = await page.evaluate(() => window.__posted);
  check(posted.at(-1)?.runId === 'rnn-tanh', 'Enter on a focused card title selects it');
  // Theme switch redraws the charts in the new colours.
  const before = await page.evaluate(() => document.querySelector('canvas').toDataURL());
  await page.evaluate(() => window.__preview.setTheme('light'));
  await page.waitForTimeout(300);
  const after = await page.evaluate(() => document.querySelector('canvas').toDataURL());
  check(before !== after, 'charts redraw when the theme class changes');
  await page.screenshot({ path: join(outDir, 'report-switched-to-light.png'), clip: { x: 0, y: 0, width: 1200, height: 900 } });
  // The metric selector switches every small multiple, and the choice is remembered.
  await page.locator('vscode-single-select').first().click();
  await page.locator('vscode-single-select').first().getByRole('option', { name: 'lag profile p(k)' }).click();
  await page.waitForTimeout(300);
  const metric = await page.evaluate(() => JSON.parse(sessionStorage.getItem('bpttLensState') ?? '{}').metric);
  check(metric === 'lagProfile', `metric selector switches to the lag profile (saved state: ${metric})`);
  check((await page.locator('#multiples-profile canvas[aria-label*="p(k) over lag k"]').count()) === 4, 'small multiples now plot p(k) against lag k');
  // Scroll position survives a reload (the webview is rebuilt when its tab is hidden).
  await page.evaluate(() => window.scrollTo(0, 1200));
  await page.waitForTimeout(400);
  await page.reload();
  await page.waitForFunction(() => (window.__bpttLensState?.chartsDrawn ?? 0) > 0);
  await page.waitForTimeout(400);
  const y = await page.evaluate(() => window.scrollY);
  check(Math.abs(y - 1200) < 2, `scroll position restored after reload (${y})`);
  // A malformed message is refused with a message, and the report stays.
  await page.evaluate(() => window.__preview.send({ type: 'report', report: { schema: 'bptt-lens/report@1', study: {}, runs: [] } }));
  await page.waitForTimeout(100);
  check(((await page.locator('.error-box').textContent()) ?? '').includes('report.study.name'), 'malformed report refused with the field path');
  check((await page.locator('.card').count()) === 4, 'previous report still shown');
  // Edge shapes: no runs; a run with no diagnosis, no history, no layers.
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.evaluate(() => {
    const base = { schema: 'bptt-lens/report@1', study: { kind: 'diagnosis', name: 'edge', source: '', task: '', description: '', createdAt: '' } };
    window.__preview.send({ type: 'report', report: { ...base, runs: [] } });
    const bare = {
      schema: 'bptt-lens/run@1', id: 'bare', label: 'bare run', config: {}, timesteps: 0, layers: [], inputGradNorm: [], loss: null,
      globalGradNorm: null, clippedGradNorm: null, nonFinite: null, itemized: null, diagnosis: null,
      history: { loss: [], preClipNorm: [], postClipNorm: [], clipRate: null, recorded: [] }, recommendations: [],
    };
    window.__preview.send({ type: 'report', report: { ...base, runs: [bare] } });
  });
  await page.waitForTimeout(400);
  check(pageErrors.length === 0 && (await page.locator('.card').count()) === 1, `empty and bare reports draw without errors ${pageErrors.join('; ')}`);
  await page.close();

  const hm = await browser.newPage({ viewport: { width: 1000, height: 900 } });
  await hm.goto(`${base}?view=heatmaps&theme=dark&run=rnn-tanh&kind=timestepIteration`);
  await hm.waitForFunction(() => (window.__bpttLensState?.chartsDrawn ?? 0) > 0);
  await hm.locator('.heatmap-plot').focus();
  for (const k of ['ArrowRight', 'ArrowRight', 'ArrowRight', 'ArrowDown']) await hm.keyboard.press(k);
  const readout = await hm.locator('.heatmap-status').textContent();
  check(/^timestep t = 3 · iteration = 10 · ‖∂L\/∂h_t‖ = \d\.\d{3}e-?\d+$/.test(readout ?? ''), `arrow keys move the cursor: "${readout}"`);
  // The quantity selector redraws with another series (the input gradient is smaller than ‖∂L/∂h_t‖ in the fixture).
  await hm.locator('#heatmap-quantity').click();
  await hm.locator('#heatmap-quantity').getByRole('option', { name: '‖∂L/∂x_t‖ input gradient' }).click();
  await hm.waitForTimeout(200);
  const xReadout = await hm.locator('.heatmap-status').textContent();
  check(/‖∂L\/∂x_t‖ = /.test(xReadout ?? ''), `quantity selector switches the readout: "${xReadout}"`);
  await hm.locator('#heatmap-quantity').click();
  await hm.locator('#heatmap-quantity').getByRole('option', { name: '‖∂L/∂h_t‖ hidden-state gradient' }).click();
  await hm.waitForTimeout(200);
  // Leaving the plot with the mouse clears the cursor; set it again from the keyboard.
  await hm.mouse.move(1, 1);
  await hm.locator('.heatmap-plot').focus();
  await hm.keyboard.press('ArrowRight');
  const beforeReload = await hm.locator('.heatmap-status').textContent();
  await hm.reload();
  await hm.waitForFunction(() => (window.__bpttLensState?.chartsDrawn ?? 0) > 0);
  const afterReload = await hm.locator('.heatmap-status').textContent();
  check(afterReload === beforeReload && /‖∂L\/∂h_t‖ = \d/.test(afterReload ?? ''), `cursor and quantity survive a reload (vscode.setState): "${afterReload}"`);
  await hm.close();
  return failed;
}

/** A real report.json: the Report panel and the first run's heatmaps, in both themes. */
async function drawReal(browser, report) {
  let errors = 0;
  for (const theme of ['dark', 'light']) {
    for (const view of ['report', 'heatmaps']) {
      const page = await browser.newPage({ viewport: { width: view === 'report' ? 1200 : 900, height: 900 } });
      page.on('pageerror', (e) => {
        errors++;
        console.log(`  pageerror: ${e.message}`);
      });
      await page.goto(`${base}?view=${view}&theme=${theme}&mode=empty`);
      await page.waitForTimeout(300);
      const msg = view === 'report' ? { type: 'report', report } : { type: 'run', run: report.runs[0], study: report.study };
      await page.evaluate((m) => window.__preview.send(m), msg);
      await page.waitForFunction(() => (window.__bpttLensState?.chartsDrawn ?? 0) > 0, null, { timeout: 30000 });
      await page.waitForTimeout(300);
      const info = await page.evaluate(() => ({ state: window.__bpttLensState, perf: window.__bpttLensPerf, error: document.querySelector('.error-box')?.textContent ?? null }));
      console.log(`real-${view}-${theme}: ${JSON.stringify(info)}`);
      if (info.error) errors++;
      await page.screenshot({ path: join(outDir, `real-${view}-${theme}.png`), fullPage: true });
      if (view === 'report') {
        await page.screenshot({ path: join(outDir, `real-${view}-${theme}-top.png`) });
        const cards = await page.locator('.cards').boundingBox();
        if (cards) await page.screenshot({ path: join(outDir, `real-${view}-${theme}-cards.png`), clip: { x: 0, y: cards.y, width: 1200, height: 1000 }, fullPage: true });
        const charts = await page.locator('#multiples-profile').boundingBox();
        if (charts) await page.screenshot({ path: join(outDir, `real-${view}-${theme}-charts.png`), clip: { x: 0, y: charts.y - 60, width: 1200, height: 1400 }, fullPage: true });
      }
      await page.close();
    }
  }
  return errors;
}
