// report.html: one self-contained page (no external URL, nothing reaches the network; the
// CSP allows only this page's own inline style and script, by hash). The content is the
// same as report.md, rendered on the server side with escaped text, so the page reads
// fine without scripts. A small inline script adds hover readouts (exact values, read
// from the report JSON embedded in a <script type="application/json">) and per-run
// toggles; it inserts user text with textContent only.
import { createHash } from 'node:crypto';
import type { LayerRecord } from '../../engine/types';
import type { Report } from '../../study/types';
import { escapeXml as h, fmtNum } from './format';
import type { Figure } from './figures';
import { serializeReport } from './json';
import { runColorList } from './palette';
import { VERDICT_COLORS } from './svg';
import { changeBeyondTitle, commonEvidence, commonFacts, distinctLabels, ownEvidence, partialOf, partialText, studySummary } from './words';
import { checkText, configLine, horizonText, howToRead, runNotes, SUMMARY_HEADERS, summaryRow, type SummaryRow } from './summary';

/** Embed JSON in a <script> element: `<` never appears raw (no `</script>`, no `<!--`); U+2028/9 escaped for old parsers. */
export function embedJson(json: string): string {
  return json.replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/**
 * The report as embedded in the page: everything but the per-layer series the page does
 * not draw (gate statistics, per-step weight gradients, Jacobian norms, itemized matrix),
 * which would double the file; report.json beside it holds them all.
 */
export function pageData(report: Report): Report {
  const slim = (layers: LayerRecord[]): LayerRecord[] =>
    layers.map((l) => ({ layer: l.layer, direction: l.direction, gradNormH: l.gradNormH, gradNormC: l.gradNormC, gateGradNorm: {}, gateMean: {}, gateSaturation: {}, weightGradByStep: [], jacobianNorm: null }));
  return {
    ...report,
    runs: report.runs.map((run) => ({
      ...run,
      layers: slim(run.layers),
      itemized: null,
      history: { ...run.history, recorded: run.history.recorded.map((r) => ({ ...r, layers: slim(r.layers), inputGradNorm: [] })) },
    })),
  };
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('base64');
}

export function renderHtml(report: Report, figures: Figure[]): string {
  const { study, runs } = report;
  const colors = runColorList(runs);
  const titles = distinctLabels(runs);
  const partial = partialOf(study);
  const common = commonEvidence(runs);
  const body: string[] = [];
  body.push(`<header><h1>BPTT Lens report: ${h(study.name)}${partial ? ` <span class="partial">partial: ${partial.done} of ${partial.total} runs</span>` : ''}</h1>`);
  const info: [string, string][] = [['Study', study.kind], ['Source', study.source], ['Task', study.task], ['Created', study.createdAt], ['Runs', String(runs.length)]];
  body.push(`<p class="hint">${info.filter(([, v]) => v).map(([k, v]) => `${h(k)}: ${h(v)}`).join(' · ')}</p>`);
  if (partial) body.push(`<p class="partial-note">${h(partialText(partial))}</p>`);
  // Charts first: the summary sentences, then the gradient through time.
  for (const line of studySummary(report)) body.push(`<p class="lead">${h(line)}</p>`);
  for (const line of commonFacts(report)) body.push(`<p class="hint">${h(line)}</p>`);
  body.push('</header>');

  const through = figures.filter((f) => f.file === 'lag-profiles.svg' || f.file === 'gradient-absolute.svg');
  const rest = figures.filter((f) => !through.includes(f));
  if (through.length > 0) {
    body.push('<section><h2>Gradient through time</h2>');
    if (through.length > 1) {
      body.push('<p class="switch" role="radiogroup" aria-label="Gradient scale">Show: ' +
        '<label><input type="radio" name="scale" value="lag-profiles.svg" checked> normalised p(k)/p(0)</label> ' +
        '<label><input type="radio" name="scale" value="gradient-absolute.svg"> absolute ‖∂L/∂h_t‖</label></p>');
    }
    for (const f of through) {
      // The SVGs are our own output with every user string escaped: safe to inline.
      body.push(`<figure data-file="${h(f.file)}"${f.file === 'gradient-absolute.svg' ? ' hidden' : ''}><figcaption>${h(f.caption)}</figcaption><div class="chart">${f.svg.trim()}</div></figure>`);
    }
    body.push('</section>');
  }

  body.push('<section><h2>Verdicts</h2>');
  if (runs.length === 0) body.push('<p>This study has no runs.</p>');
  else {
    const keys = Object.keys(SUMMARY_HEADERS) as (keyof SummaryRow)[];
    body.push('<table class="summary"><thead><tr><th>Show</th>' + keys.map((k) => `<th scope="col">${h(SUMMARY_HEADERS[k])}</th>`).join('') + '</tr></thead><tbody>');
    runs.forEach((run, i) => {
      const row = { ...summaryRow(run), configuration: titles[i]! };
      const verdict = run.diagnosis?.verdict ?? '';
      body.push(`<tr data-run="${i}"><td><label class="toggle"><input type="checkbox" checked data-toggle="${i}" aria-label="show ${h(run.label || run.id)}"><span class="swatch"></span></label></td>` +
        keys.map((k) => (k === 'verdict' ? `<td><span class="verdict v-${h(verdict)}">${h(row[k])}</span></td>` : k === 'configuration' ? `<td title="${h(run.label || run.id)}">${h(row[k])}</td>` : `<td class="num">${h(row[k])}</td>`)).join('') + '</tr>');
    });
    body.push('</tbody></table><p class="hint">Untick a run to hide it in every figure. Hover a chart for exact values. Every series (gate statistics, Jacobian norms and more) is in report.json beside this page.</p>');
  }
  body.push('</section>');

  if (rest.length > 0) {
    body.push('<section><h2>Figures</h2>');
    for (const f of rest) {
      body.push(`<figure><figcaption><strong>${h(f.title)}</strong> ${h(f.caption)}</figcaption><div class="chart">${f.svg.trim()}</div></figure>`);
    }
    body.push('</section>');
  }

  body.push('<section><h2>How to read this</h2><ul>');
  const th = study.thresholds;
  for (const line of howToRead(th?.vanishEpsilon, th?.rhoDelta, th?.explodeGrowth)) body.push(`<li>${h(line)}</li>`);
  body.push('</ul></section>');

  body.push('<section><h2>Runs</h2>');
  if (common.length) body.push('<p>Every run:</p><ul class="evidence">' + common.map((e) => `<li>${h(e)}</li>`).join('') + '</ul>');
  runs.forEach((run, i) => {
    const d = run.diagnosis;
    body.push(`<article data-run="${i}"><h3>${h(titles[i]!)} <span class="verdict v-${h(d?.verdict ?? '')}">${h(d ? d.verdict : 'not diagnosed')}</span></h3>`);
    body.push(`<p class="config">${h(configLine(run))}</p>`);
    if (d) {
      body.push(`<p>Decay per step ρ = ${h(fmtNum(d.decayPerStep))}, horizon ${h(horizonText(d, run.timesteps))} steps.</p>`);
      const own = ownEvidence(run, common);
      if (own.length) body.push('<ul class="evidence">' + own.map((e) => `<li>${h(e)}</li>`).join('') + '</ul>');
    }
    for (const note of runNotes(run)) body.push(`<p>${h(note)}</p>`);
    if (run.nonFinite) {
      const nf = run.nonFinite;
      body.push(`<p class="warn">First non-finite value: ${h(nf.quantity)}${nf.layer !== null ? `, layer ${nf.layer}` : ''}${nf.t !== null ? `, t = ${nf.t}` : ''} = ${h(fmtNum(nf.value))}.</p>`);
    }
    if (run.recommendations.length) {
      body.push('<h4>Recommendations</h4><ul class="recs">');
      for (const rec of run.recommendations) {
        const check = checkText(rec.check, runs, run);
        const extra = changeBeyondTitle(rec);
        body.push(`<li><strong>${h(rec.title)}</strong>. ${h(rec.rationale)}<br>${extra ? `<span class="change">Re-run with: ${h(extra)}</span><br>` : ''}` +
          `<span class="check">${h(check ?? 'Not re-run yet: re-run the study with this change to check it.')}</span></li>`);
      }
      body.push('</ul>');
    }
    body.push('</article>');
  });
  body.push('</section>');

  // Swatch colours go through the stylesheet (inline style attributes are blocked by the CSP).
  const swatchCss = runs.map((_, i) => `.summary tr[data-run="${i}"] .swatch{background:${colors[i]}}`).join('\n');
  const style = STYLE + swatchCss + '\n' + Object.entries(VERDICT_COLORS).map(([v, c]) => `.v-${v}{background:${c}}`).join('\n');
  const script = SCRIPT;
  const csp = `default-src 'none'; style-src 'sha256-${sha256(style)}'; script-src 'sha256-${sha256(script)}'; img-src data:; base-uri 'none'; form-action 'none'`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${h(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${h(`BPTT Lens report: ${study.name}`)}</title>
<style>${style}</style>
</head>
<body>
<main>
${body.join('\n')}
</main>
<div id="tip" role="tooltip" hidden></div>
<script type="application/json" id="report-data">${embedJson(serializeReport(pageData(report)))}</script>
<script>${script}</script>
</body>
</html>
`;
}

const STYLE = `
:root{--bg:#ffffff;--fg:#1f2328;--muted:#57606a;--line:#d0d7de;--card:#f6f8fa;--tip:#ffffff}
@media (prefers-color-scheme: dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;--line:#30363d;--card:#161b22;--tip:#161b22}}
html{background:var(--bg);color:var(--fg)}
body{margin:0;font:14px/1.5 system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif}
main{max-width:1120px;margin:0 auto;padding:16px 24px 48px}
h1{font-size:24px;margin:8px 0}h2{font-size:19px;border-bottom:1px solid var(--line);padding-bottom:4px;margin-top:32px}
h3{font-size:16px;margin:20px 0 4px}h4{font-size:14px;margin:10px 0 4px}
table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid var(--line);padding:4px 10px;text-align:left;vertical-align:top}
thead th{background:var(--card)}.info th{background:var(--card);font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
.verdict{display:inline-block;color:#fff;border-radius:10px;padding:0 8px;font-size:12px;font-weight:600;background:#6e7781}
.toggle{display:flex;align-items:center;gap:6px;cursor:pointer}.swatch{display:inline-block;width:14px;height:14px;border-radius:3px}
.lead{font-size:15px;margin:4px 0}.partial{font-size:13px;border:1px solid #9a6700;color:#9a6700;border-radius:10px;padding:0 8px;vertical-align:middle}
.partial-note{border-left:3px solid #9a6700;padding-left:8px}.switch label{margin-right:12px;cursor:pointer}figure[hidden]{display:none}
.hint,.config,figcaption{color:var(--muted)}.warn{color:#cf222e}
@media (prefers-color-scheme: dark){.warn{color:#ff7b72}}
figure{margin:16px 0 28px}figcaption{margin-bottom:6px}
.chart{overflow-x:auto;border:1px solid var(--line);border-radius:6px;background:#fff}
.chart svg{display:block;max-width:100%;height:auto}
.off{display:none}article.off{display:block;opacity:.45}tr.off{display:table-row;opacity:.45}
#tip{position:fixed;pointer-events:none;z-index:10;background:var(--tip);color:var(--fg);border:1px solid var(--line);border-radius:6px;padding:6px 9px;font-size:12px;line-height:1.45;box-shadow:0 4px 14px rgba(0,0,0,.25);max-width:380px;white-space:nowrap}
#tip .t{font-weight:600}#tip .m{color:var(--muted)}
`;

// Plain ES2020, no template literals (this text lives inside one), no innerHTML anywhere.
const SCRIPT = `
(function () {
  'use strict';
  var report;
  try { report = JSON.parse(document.getElementById('report-data').textContent); } catch (e) { return; }
  var runs = report.runs || [];
  var hidden = {};
  var tip = document.getElementById('tip');
  var SVGNS = 'http://www.w3.org/2000/svg';

  function fmt(v) {
    if (v === null || v === undefined) return 'non-finite';
    if (typeof v !== 'number') return String(v);
    if (v === 0) return '0';
    var a = Math.abs(v);
    return (a >= 1e-3 && a < 1e6) ? String(Number(v.toPrecision(5))) : v.toExponential(4);
  }
  function label(r) { return r.label || r.id; }
  function topLayer(layers) {
    var best = null;
    (layers || []).forEach(function (l) { if (l.direction === 'forward' && (!best || l.layer > best.layer)) best = l; });
    return best || (layers && layers[layers.length - 1]) || null;
  }
  function lagSeries(r) {
    var p = r.diagnosis && r.diagnosis.lagProfile;
    if (p && p.length) return { values: p, isLag: true };
    var t = topLayer(r.layers);
    return { values: t ? t.gradNormH.slice().reverse() : [], isLag: false };
  }

  // Toggles: hide a run's marks in every figure.
  document.querySelectorAll('input[data-toggle]').forEach(function (box) {
    box.addEventListener('change', function () {
      var i = box.getAttribute('data-toggle');
      hidden[i] = !box.checked;
      document.querySelectorAll('[data-run="' + i + '"]').forEach(function (el) {
        if (el.tagName.toLowerCase() === 'tr' || el.tagName.toLowerCase() === 'article') el.classList.toggle('off', hidden[i]);
        else el.style.display = hidden[i] ? 'none' : '';
      });
    });
  });

  // Normalised <-> absolute gradient figures.
  document.querySelectorAll('input[name="scale"]').forEach(function (radio) {
    radio.addEventListener('change', function () {
      document.querySelectorAll('figure[data-file]').forEach(function (f) { f.hidden = f.getAttribute('data-file') !== radio.value; });
    });
  });

  // Loss legend: pointing at a run brings its curve forward, the others fade.
  document.querySelectorAll('g.legend[data-run]').forEach(function (entry) {
    var svg = entry.ownerSVGElement;
    var i = entry.getAttribute('data-run');
    function mark(on) {
      svg.querySelectorAll('[data-run]').forEach(function (el) {
        if (el.classList.contains('plot')) return;
        el.style.opacity = on && el.getAttribute('data-run') !== i ? '0.15' : '';
      });
    }
    entry.addEventListener('pointerenter', function () { mark(true); });
    entry.addEventListener('pointerleave', function () { mark(false); });
  });

  function showTip(e, lines) {
    while (tip.firstChild) tip.removeChild(tip.firstChild);
    lines.forEach(function (ln, k) {
      var div = document.createElement('div');
      div.textContent = ln;
      if (k === 0) div.className = 't';
      tip.appendChild(div);
    });
    tip.hidden = false;
    var x = e.clientX + 14, y = e.clientY + 14;
    var w = tip.offsetWidth, hgt = tip.offsetHeight;
    if (x + w > window.innerWidth - 4) x = e.clientX - w - 14;
    if (y + hgt > window.innerHeight - 4) y = e.clientY - hgt - 14;
    tip.style.left = Math.max(4, x) + 'px';
    tip.style.top = Math.max(4, y) + 'px';
  }
  function hideTip() { tip.hidden = true; }

  function readout(kind, run, frac, fracY, g) {
    var r = run === null ? null : runs[run];
    var xr = (g.getAttribute('data-x') || '0 1').split(' ').map(Number);
    var idx = Math.round(xr[0] + frac * (xr[1] - xr[0]));
    if (kind === 'lag' && r) {
      // Normalised, by timestep: t = idx, k = T-1-t, value p(k)/p(0) (as in the panel).
      var s = lagSeries(r);
      var n = s.values.length;
      if (idx < 0 || idx >= n) return null;
      var k = n - 1 - idx;
      var ref = null;
      for (var q = 0; q < n; q++) { var pv = s.values[q]; if (typeof pv === 'number' && pv > 0 && isFinite(pv)) { ref = pv; break; } }
      var v = s.values[k];
      var lines = [label(r), 'timestep t = ' + idx + ' (k = ' + k + ' steps back)'];
      lines.push((s.isLag ? 'p(k)/p(0) = ' : 'relative to the last step: ') + (typeof v === 'number' && ref ? fmt(v / ref) : 'non-finite'));
      if (s.isLag) lines.push('p(k) = ' + fmt(v));
      if (r.diagnosis) lines.push('verdict: ' + r.diagnosis.verdict + ', rho = ' + fmt(r.diagnosis.decayPerStep));
      return lines;
    }
    if (kind === 'abs' && r) {
      var tl = topLayer(r.layers);
      if (!tl || idx < 0 || idx >= tl.gradNormH.length) return null;
      return [label(r), 'timestep t = ' + idx + ' (k = ' + (tl.gradNormH.length - 1 - idx) + ' steps back)', '\u2016\u2202L/\u2202h_t\u2016 = ' + fmt(tl.gradNormH[idx])];
    }
    if (kind === 'loss') {
      var out = ['iteration ' + idx];
      runs.forEach(function (q, k) {
        if (hidden[k] || idx >= q.history.loss.length) return;
        out.push(label(q) + ': ' + fmt(q.history.loss[idx]));
      });
      return out.length > 1 ? out : null;
    }
    if (kind === 'norm' && r) {
      var hst = r.history;
      if (idx < 0 || idx >= Math.max(hst.preClipNorm.length, hst.postClipNorm.length)) return null;
      var res = [label(r), 'iteration ' + idx, 'before clipping: ' + fmt(hst.preClipNorm[idx]), 'after clipping: ' + fmt(hst.postClipNorm[idx])];
      var clip = r.config && r.config.clip;
      if (clip && clip.kind !== 'none') res.push('clip ' + clip.kind + ' threshold: ' + fmt(clip.threshold));
      return res;
    }
    if (kind === 'heat' && r) {
      var rows = (g.getAttribute('data-rows') || '').split(' ').filter(function (s) { return s !== ''; }).map(Number);
      var rec = r.history.recorded;
      var layers, iterLabel;
      if (rec.length) {
        var pick = rows[rows.length - 1 - Math.min(rows.length - 1, Math.floor(fracY * rows.length))];
        if (pick === undefined || !rec[pick]) return null;
        layers = rec[pick].layers; iterLabel = 'iteration ' + rec[pick].iteration;
      } else { layers = r.layers; iterLabel = 'final pass'; }
      var top = topLayer(layers);
      var t = Math.min(Math.floor(frac * xr[1]), xr[1] - 1);
      if (!top || t < 0 || t >= top.gradNormH.length) return null;
      return [label(r), iterLabel + ', timestep t = ' + t, '\u2016\u2202L/\u2202h_t\u2016 = ' + fmt(top.gradNormH[t])];
    }
    return null;
  }

  document.querySelectorAll('.chart svg').forEach(function (svg) {
    var plots = Array.prototype.slice.call(svg.querySelectorAll('g.plot'));
    if (!plots.length) return;
    var cursor = document.createElementNS(SVGNS, 'line');
    cursor.setAttribute('stroke', '#57606a');
    cursor.setAttribute('stroke-width', '1');
    cursor.setAttribute('pointer-events', 'none');
    cursor.style.display = 'none';
    svg.appendChild(cursor);
    svg.addEventListener('pointermove', function (e) {
      var m = svg.getScreenCTM();
      if (!m) return;
      var pt = new DOMPoint(e.clientX, e.clientY).matrixTransform(m.inverse());
      for (var i = 0; i < plots.length; i++) {
        var g = plots[i];
        var b = (g.getAttribute('data-plot') || '').split(' ').map(Number);
        if (pt.x < b[0] || pt.x > b[0] + b[2] || pt.y < b[1] || pt.y > b[1] + b[3]) continue;
        var runAttr = g.getAttribute('data-run');
        var run = runAttr === null ? null : Number(runAttr);
        if (run !== null && hidden[run]) break;
        var lines = readout(g.getAttribute('data-kind'), run, (pt.x - b[0]) / b[2], (pt.y - b[1]) / b[3], g);
        if (!lines) break;
        cursor.setAttribute('x1', String(pt.x)); cursor.setAttribute('x2', String(pt.x));
        cursor.setAttribute('y1', String(b[1])); cursor.setAttribute('y2', String(b[1] + b[3]));
        cursor.style.display = '';
        showTip(e, lines);
        return;
      }
      cursor.style.display = 'none';
      hideTip();
    });
    svg.addEventListener('pointerleave', function () { cursor.style.display = 'none'; hideTip(); });
  });
})();
`;
