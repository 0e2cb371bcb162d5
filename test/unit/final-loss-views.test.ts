// One final loss everywhere (issue 10 §1): a real study's report rendered through every view —
// the webview's view model (cards and summary table), report.md, report.html, report.json, the
// CLI table and the Runs tree — shows for each run exactly lossText(run.loss), the probe-batch
// loss after training, and never the last minibatch's loss where the final loss is named.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { verdictTable } from '../../src/cli/diagnose';
import { buildRunItem } from '../../src/extension/viewModel';
import { renderHtml } from '../../src/io/report/html';
import { serializeReport } from '../../src/io/report/json';
import { renderMarkdown } from '../../src/io/report/markdown';
import { lossText } from '../../src/study/format';
import { loadSample } from '../../src/study/samples';
import { defaultRunConfig, runStudy } from '../../src/study/study';
import type { Report } from '../../src/study/types';
import { cardModel, summaryRows } from '../../webview/viewModel';

async function realReport(): Promise<Report> {
  const dataset = loadSample('airline', { seed: 3 });
  return runStudy({
    kind: 'diagnosis',
    name: 'final-loss',
    dataset,
    base: defaultRunConfig(dataset, { iterations: 25, hiddenSize: 6, seed: 3 }),
    cells: ['rnn-tanh', 'gru'],
    clips: [{ kind: 'none' }],
    checkRecommendations: true,
  });
}

test('every view shows the same final loss: the probe-batch loss after training', async () => {
  const report = await realReport();
  assert.ok(report.runs.length >= 2);
  const md = renderMarkdown(report, []);
  const html = renderHtml(report, []);
  const cli = verdictTable(report);
  const rows = summaryRows(report.runs);
  const json = JSON.parse(serializeReport(report)) as Report;
  let differsFromMinibatch = 0;
  report.runs.forEach((run, i) => {
    const expected = lossText(run.loss);
    const lastMinibatch = run.history.loss[run.history.loss.length - 1]!;
    if (lossText(lastMinibatch) !== expected) differsFromMinibatch++;
    // webview card and summary table
    const card = cardModel(run, report.study.thresholds.vanishEpsilon);
    assert.equal(card.facts.find((f) => f.name === 'final loss')?.value, expected, `card of ${run.label}`);
    assert.equal(rows[i]!.finalLoss, expected, `panel table row of ${run.label}`);
    // report.md and report.html summary rows (the row that starts with the run's label)
    const mdRow = md.split('\n').find((l) => l.startsWith(`| ${run.label.replace(/([*_[\]|~$\\`])/g, '\\$1')} |`));
    assert.ok(mdRow, `md row of ${run.label}`);
    assert.equal(mdRow!.split('|').map((c) => c.trim())[5], expected, `md row ${mdRow}`);
    const htmlRow = html.split('<tr data-run=').find((r) => r.startsWith(`"${i}"`))!;
    const htmlCells = [...htmlRow.matchAll(/<td[^>]*>(.*?)<\/td>/g)].map((m) => m[1]!.replace(/<[^>]+>/g, ''));
    assert.equal(htmlCells[5], expected, `html row of ${run.label}`);
    // CLI table: the final loss column
    const cliRow = cli.find((l) => l.startsWith(run.label + '  '));
    assert.ok(cliRow, `CLI row of ${run.label}`);
    assert.ok(cliRow!.split(/\s{2,}/).includes(expected), `CLI row ${cliRow} lacks ${expected}`);
    // Runs tree tooltip
    const tip = buildRunItem('k', run).tooltip.join('\n');
    assert.ok(tip.includes(`final loss ${expected}`), tip);
    // report.json keeps the number itself
    assert.equal(json.runs[i]!.loss, run.loss);
  });
  assert.ok(differsFromMinibatch > 0, 'the fixture must tell the probe loss from the last minibatch loss');

  // Check texts: "final loss a → b" with b the checked run's own final loss, in every view.
  const checked = report.runs.flatMap((r) => r.recommendations.filter((rec) => rec.check).map((rec) => ({ run: r, check: rec.check! })));
  assert.ok(checked.length > 0, 'the study re-ran at least one recommendation');
  for (const { run, check } of checked) {
    const target = report.runs.find((r) => r.id === check.runId)!;
    assert.equal(check.finalLoss, target.loss);
    const text = `${lossText(run.loss)} → ${lossText(target.loss)}`;
    const card = cardModel(run);
    assert.ok(card.recommendations.some((r) => r.check?.includes(`final loss ${text}`)), 'card check text');
    assert.ok(cli.some((l) => l.includes(`final loss ${text}`)), 'CLI check text');
    assert.ok(md.includes(`final loss ${lossText(target.loss)}`), 'md check text');
    assert.ok(html.includes(`final loss ${lossText(target.loss)}`), 'html check text');
  }
});

test('lossText: 4 significant digits, exponent outside [1e-3, 1e4), non-finite named', () => {
  assert.equal(lossText(0.16666666), '0.1667');
  assert.equal(lossText(0.02), '0.02');
  assert.equal(lossText(2.5e-5), '2.5e-5');
  assert.equal(lossText(123456), '1.235e5');
  assert.equal(lossText(Number.NaN), 'non-finite');
  assert.equal(lossText(0), '0');
});
