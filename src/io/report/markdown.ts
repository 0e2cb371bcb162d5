// report.md: verdicts, the summary table, per-run evidence and recommendations, and the
// SVG figures beside it. Every piece of user text (labels, file names, evidence) goes
// through escapeMarkdown, so nothing in it becomes markup or raw HTML in the preview.
import type { Report } from '../../study/types';
import { escapeMarkdown as md, fmtNum } from './format';
import { changeWords } from '../../study/format';
import type { Figure } from './figures';
import { checkText, configLine, horizonText, howToRead, runNotes, SUMMARY_HEADERS, summaryRow, type SummaryRow } from './summary';

export function renderMarkdown(report: Report, figures: Figure[]): string {
  const { study, runs } = report;
  const out: string[] = [];
  out.push(`# BPTT Lens report: ${md(study.name)}`, '');
  if (study.description) out.push(md(study.description), '');
  out.push('| | |', '|---|---|');
  out.push(`| Study | ${md(study.kind)} |`);
  out.push(`| Source | ${md(study.source)} |`);
  if (study.task) out.push(`| Task | ${md(study.task)} |`);
  out.push(`| Created | ${md(study.createdAt)} |`);
  out.push(`| Runs | ${runs.length} |`, '');
  if (study.findings && study.findings.length > 0) {
    out.push('## Findings', '');
    for (const f of study.findings) out.push(`- ${md(f)}`);
    out.push('');
  }
  out.push('Every series behind these figures is in `report.json` (non-finite numbers are stored as `null`); `report.html` is the same report with hover readouts.', '');

  out.push('## Summary', '');
  if (runs.length === 0) out.push('This study has no runs.', '');
  else {
    const keys = Object.keys(SUMMARY_HEADERS) as (keyof SummaryRow)[];
    out.push('| ' + keys.map((k) => SUMMARY_HEADERS[k]).join(' | ') + ' |');
    out.push('|' + keys.map((k) => (k === 'configuration' || k === 'verdict' ? '---' : '---:')).join('|') + '|');
    for (const run of runs) {
      const row = summaryRow(run);
      out.push('| ' + keys.map((k) => (k === 'verdict' ? `**${md(row[k])}**` : md(row[k]))).join(' | ') + ' |');
    }
    out.push('');
  }

  out.push('## How to read this', '');
  const th = study.thresholds;
  for (const line of howToRead(th?.vanishEpsilon, th?.rhoDelta, th?.explodeGrowth)) out.push(`- ${md(line)}`);
  out.push('');

  if (figures.length > 0) {
    out.push('## Figures', '');
    const heatmaps = figures.filter((f) => f.run !== undefined).length;
    if (heatmaps < runs.length) out.push(`Heatmaps are drawn for the first ${heatmaps} of the ${runs.length} runs here; report.html has more.`, '');
    for (const f of figures) {
      out.push(`### ${md(f.title)}`, '', `![${md(f.title)}](${encodeURI(f.file)})`, '', md(f.caption), '');
    }
  }

  out.push('## Runs', '');
  for (const run of runs) {
    const d = run.diagnosis;
    out.push(`### ${md(run.label || run.id)}: ${d ? d.verdict : 'not diagnosed'}`, '');
    out.push(md(configLine(run)), '');
    if (d) {
      out.push(`Decay per step ρ = ${md(fmtNum(d.decayPerStep))}, horizon ${md(horizonText(d, run.timesteps))} steps.`, '');
      if (d.evidence.length > 0) {
        out.push('Evidence:', '');
        for (const e of d.evidence) out.push(`- ${md(e)}`);
        out.push('');
      }
    }
    for (const note of runNotes(run)) out.push(md(note), '');
    if (run.nonFinite) {
      const nf = run.nonFinite;
      const where = [nf.layer !== null ? `layer ${nf.layer}` : '', nf.t !== null ? `t = ${nf.t}` : ''].filter(Boolean).join(', ');
      out.push(`First non-finite value: ${md(nf.quantity)}${where ? ` (${md(where)})` : ''} = ${md(fmtNum(nf.value))}.`, '');
    }
    if (run.recommendations.length > 0) {
      out.push('Recommendations:', '');
      for (const rec of run.recommendations) {
        out.push(`- **${md(rec.title)}**. ${md(rec.rationale)}`);
        out.push(`  - Change: ${md(changeWords(rec.change))}`);
        const check = checkText(rec.check, runs, run);
        out.push(`  - ${check ? md(check) : 'Not re-run yet: re-run the study with this change to check it.'}`);
      }
      out.push('');
    }
  }
  return out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd() + '\n';
}
