import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { renderFigures } from '../../src/io/report/figures';
import { throughTime } from '../../src/io/report/throughTime';
import { escapeMarkdown } from '../../src/io/report/format';
import { embedJson, pageData, renderHtml } from '../../src/io/report/html';
import { parseReport } from '../../src/io/report/read';
import { serializeReport } from '../../src/io/report/json';
import { renderMarkdown } from '../../src/io/report/markdown';
import { writeReportFolder } from '../../src/io/report/write';
import { fixtureReport } from './report-fixture';

const HOSTILE = '</script><script>alert(1)</script> <img src=x onerror=alert(2)> & "q" \'a\' | *b* _c_ [l](http://e.example) \u2028';

function htmlOf(label = HOSTILE): { html: string; report: ReturnType<typeof fixtureReport> } {
  const report = fixtureReport({ long: false, hostileLabel: label });
  return { html: renderHtml(report, renderFigures(report)), report };
}

test('report.html embeds the report JSON safely (without the series it does not draw)', () => {
  const { html, report } = htmlOf();
  const m = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html);
  assert.ok(m);
  assert.ok(!m[1]!.includes('<'), 'no raw < inside the JSON block');
  assert.ok(!m[1]!.includes('\u2028'));
  assert.deepEqual(JSON.parse(m[1]!), JSON.parse(serializeReport(pageData(report))));
  // The embedded data is a valid report (the page's readouts rely on its shape).
  assert.equal(parseReport(m[1]!, 'embedded').runs.length, report.runs.length);
  assert.equal((html.match(/<script/g) ?? []).length, 2, 'the JSON block and the one inline script');
  assert.equal(embedJson('"</script>\u2028"'), '"\\u003c/script>\\u2028"');
});

test('report.html loads nothing from anywhere: no src/href/url(), strict CSP with hashes', () => {
  const { html } = htmlOf();
  // Every real tag (user text is escaped, so '<' + letter only starts our own tags).
  const markup = html.replace(/<script[^>]*>[\s\S]*?<\/script>|<style>[\s\S]*?<\/style>/g, '');
  const tags = markup.match(/<[a-zA-Z][^>]*>/g) ?? [];
  assert.ok(tags.length > 100);
  for (const tag of tags) assert.doesNotMatch(tag.replace(/"[^"]*"/g, '""'), /\s(src|href|srcset|action|xlink:href|poster|data|on\w+)\s*=/i, tag);
  assert.doesNotMatch(html, /url\(|@import/i);
  const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)![1]!.replace(/&#39;/g, "'");
  assert.match(csp, /default-src 'none'/);
  const script = /<script>([\s\S]*?)<\/script>/.exec(html)![1]!;
  const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1]!;
  const hash = (s: string) => createHash('sha256').update(s).digest('base64');
  assert.ok(csp.includes(`script-src 'sha256-${hash(script)}'`), 'script hash matches');
  assert.ok(csp.includes(`style-src 'sha256-${hash(style)}'`), 'style hash matches');
  assert.doesNotMatch(script, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/);
  assert.doesNotMatch(html, /\sstyle="/, 'inline style attributes would be blocked by the CSP');
  assert.match(style, /prefers-color-scheme: dark/);
});

test('user text is escaped in the page body', () => {
  const { html } = htmlOf();
  const body = html.slice(html.indexOf('<main>'), html.indexOf('</main>'));
  assert.ok(!body.includes('<script'), 'no script element from a label');
  assert.ok(!body.includes('<img'), 'no img element from a label');
  assert.ok(body.includes('&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;'));
});

test('report.md escapes labels so they stay text and keep the table intact', () => {
  const report = fixtureReport({ long: false, hostileLabel: HOSTILE });
  const md = renderMarkdown(report, renderFigures(report));
  assert.ok(!md.includes('<script') && !md.includes('<img'), 'no raw HTML');
  const rows = md.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| |'));
  const cells = (l: string) => l.replace(/\\\|/g, '').split('|').length;
  const summary = rows.filter((l) => /vanishing|healthy|exploding|Verdict/.test(l));
  assert.ok(summary.length >= 5);
  assert.ok(summary.every((l) => cells(l) === cells(summary[0]!)), 'every summary row has the same number of cells');
  assert.ok(md.includes(escapeMarkdown(HOSTILE)));
  assert.equal(escapeMarkdown('a|b*c_d[e](f)<g>&h\ni $x$ ~s~ `c`'), 'a\\|b\\*c\\_d\\[e\\](f)&lt;g&gt;&amp;h i \\$x\\$ \\~s\\~ \\`c\\`');
  assert.equal(escapeMarkdown('# title'), '\\# title');
  assert.equal(escapeMarkdown('- item'), '\\- item');
  assert.equal(escapeMarkdown('12. item'), '12\\. item');
  assert.equal(escapeMarkdown('a - b. c'), 'a - b. c', 'punctuation mid-text stays readable');
  assert.equal(escapeMarkdown('0.76'), '0.76');
  assert.equal(escapeMarkdown('-1.5'), '-1.5');
  assert.equal(escapeMarkdown('==='), '\\===');
  assert.equal(escapeMarkdown('#hashtag'), '#hashtag');
});

test('report.md has the study info, summary, how-to-read, figures, evidence and recommendations with checks', () => {
  const report = fixtureReport({ long: false });
  const figures = renderFigures(report);
  const md = renderMarkdown(report, figures);
  for (const s of ['# BPTT Lens report: Airline passengers: gradient flow', '| Source | airline |', '## Summary', '## How to read this', '## Runs', 'Decay per step ρ']) assert.ok(md.includes(s), s);
  for (const f of figures) assert.ok(md.includes(`](${f.file})`), f.file);
  assert.ok(md.includes('| rnn-tanh | **vanishing** | 0.76 | 26 |'));
  assert.ok(md.includes('- p(k) falls below 1e-3 × p(0) at lag 26'));
  assert.match(md, /\*\*Use an LSTM with forget bias 1\*\*/);
  assert.match(md, /Checked against the study's own run \(lstm \(forget bias 1\)\): verdict vanishing → healthy, final loss [0-9.]+ → 0\.021\./);
  assert.ok(md.includes('Not re-run yet'));
  assert.ok(md.includes('First non-finite value: gradNormH (layer 0, t = 7) = ∞.'));
});

test('in a browser: no console errors under the CSP, hover readouts (the panel\'s numbers, on the panel\'s timestep axis), the scale switch and run toggles work', { skip: !existsSync('/usr/bin/chromium') && 'chromium not installed' }, async () => {
  const { chromium } = await import('playwright-core');
  const parent = mkdtempSync(path.join(tmpdir(), 'bptt-html-'));
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  try {
    const report = fixtureReport({ long: false, hostileLabel: HOSTILE });
    const dir = await writeReportFolder(report, parent);
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const problems: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text()); });
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('request', (r) => { if (!r.url().startsWith('file:')) problems.push(`request ${r.url()}`); });
    page.on('dialog', (d) => { problems.push(`dialog ${d.message()}`); void d.dismiss(); });
    await page.goto('file://' + path.join(dir, 'report.html'));
    const byTitle = (t: RegExp) => page.locator('figure svg', { has: page.locator('title', { hasText: t }) }).first();
    const loss = byTitle(/^Training loss$/);
    await loss.scrollIntoViewIfNeeded();
    let box = (await loss.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.5);
    assert.ok(await page.locator('#tip').isVisible(), 'tooltip shows');
    const before = (await page.locator('#tip').textContent())!;
    assert.match(before, /^iteration \d+rnn-tanh: [\d.]+lstm \(forget bias 1\): [\d.]+/);
    await page.locator('input[data-toggle="1"]').uncheck();
    await loss.scrollIntoViewIfNeeded();
    box = (await loss.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.5);
    await page.mouse.move(box.x + box.width * 0.3 + 1, box.y + box.height * 0.5);
    const after = (await page.locator('#tip').textContent())!;
    assert.doesNotMatch(after, /lstm/, 'hidden run left out of the readout');
    assert.equal(await loss.locator('g[data-run="1"]').first().evaluate((e) => getComputedStyle(e).display), 'none');
    const lag = page.locator('figure[data-file="lag-profiles.svg"] svg');
    await lag.scrollIntoViewIfNeeded();
    const lb = (await lag.boundingBox())!;
    // First panel's plot area starts at x = 84 of the SVG's width, y = 84 of its height.
    const vb = await lag.evaluate((e) => [(e as SVGSVGElement).viewBox.baseVal.width, (e as SVGSVGElement).viewBox.baseVal.height]);
    await page.mouse.move(lb.x + (150 / vb[0]!) * lb.width, lb.y + (150 / vb[1]!) * lb.height);
    const tip = (await page.locator('#tip').textContent())!;
    const m = /^rnn-tanhtimestep t = (\d+) \(k = (\d+) steps back\)p\(k\)\/p\(0\) = ([\d.e+-]+)p\(k\) = [\d.e+-]+verdict: vanishing/.exec(tip);
    assert.ok(m, tip);
    // The number the panel plots at that timestep (the same shared function draws it there).
    const t = Number(m[1]);
    assert.equal(Number(m[2]), report.runs[0]!.timesteps - 1 - t, 'k = T-1-t: the scored step is on the right');
    const panel = throughTime(report.runs[0]!, 'normalised')![t]!;
    assert.ok(Math.abs(Number(m[3]) - panel) <= 1e-4 * Math.abs(panel), `report ${m[3]} vs panel ${panel}`);
    // The scale switch shows the absolute figure with its own readout.
    await page.locator('input[name="scale"][value="gradient-absolute.svg"]').check();
    assert.equal(await lag.isVisible(), false);
    const abs = page.locator('figure[data-file="gradient-absolute.svg"] svg');
    assert.ok(await abs.isVisible());
    const ab = (await abs.boundingBox())!;
    await page.mouse.move(ab.x + (150 / vb[0]!) * ab.width, ab.y + (150 / vb[1]!) * ab.height);
    assert.match((await page.locator('#tip').textContent())!, /^rnn-tanhtimestep t = \d+ \(k = \d+ steps back\)‖∂L\/∂h_t‖ = [\d.e+-]+$/);
    const heat = byTitle(/^Gradient norm by timestep and iteration/);
    await heat.scrollIntoViewIfNeeded();
    const hb = (await heat.boundingBox())!;
    await page.mouse.move(hb.x + hb.width * 0.3, hb.y + hb.height * 0.4);
    assert.match((await page.locator('#tip').textContent())!, /^rnn-tanhiteration \d+, timestep t = \d+‖∂L\/∂h_t‖ = [\d.e-]+$/);
    // Same orientation as the panel's heatmap (heatmapMatrix: row 0, drawn on top, is the last
    // recorded iteration): the top of the plot reads the last iteration, the bottom iteration 0.
    const plotBox = await heat.locator('g.plot').first().evaluate((g) => (g.getAttribute('data-plot') ?? '').split(' ').map(Number));
    const hvb = await heat.evaluate((e) => [(e as SVGSVGElement).viewBox.baseVal.width, (e as SVGSVGElement).viewBox.baseVal.height]);
    const at = async (fy: number): Promise<string> => {
      const sx = (plotBox[0]! + plotBox[2]! * 0.5) / hvb[0]!;
      const sy = (plotBox[1]! + plotBox[3]! * fy) / hvb[1]!;
      await page.mouse.move(hb.x + hb.width * sx, hb.y + hb.height * sy);
      return (await page.locator('#tip').textContent())!;
    };
    const recorded = report.runs[0]!.history.recorded;
    assert.match(await at(0.02), new RegExp(`iteration ${recorded[recorded.length - 1]!.iteration},`), 'the last iteration on top');
    assert.match(await at(0.98), new RegExp(`iteration ${recorded[0]!.iteration},`), 'iteration 0 at the bottom');
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    rmSync(parent, { recursive: true, force: true });
  }
});
