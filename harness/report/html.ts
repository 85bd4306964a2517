/**
 * report.html: one self-contained file (inline CSS and SVG figures, no script, no external
 * resource), so it opens offline and can be attached to a CI run or an e-mail as is.
 */
import { hostsReport } from './hosts.js';
import { DEFINITIONS, describeEndpoints, describeRun } from './describe.js';
import { FIGURES } from './figures.js';
import type { RenderContext, Reporter } from './types.js';
import type { ResultFile } from '../model/result.js';
import {
  HOL_HEADER,
  TABLE_HEADER,
  holRows,
  openingParagraph,
  PAIR_HEADER,
  pairRows,
  partialNote,
  SPREAD_HEADER,
  SPREAD_NOTE,
  spreadRows,
  sweepNote,
  tableRows,
  verdictLines,
  PAIRING_NOTE,
  ATTRIBUTION_HEADER,
  ATTRIBUTION_NOTE,
  attributionRows,
  attributionSentences,
  LOSS_HEADER,
  LOSS_NOTE,
  undoneNote,
  fairnessWarnings,
  lossRows,
} from './table.js';

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function table(header: readonly string[], rows: readonly string[][]): string {
  const th = header.map((h) => `<th>${esc(h)}</th>`).join('');
  const tr = rows
    .map(
      (r) => `<tr>${r.map((c, i) => (i === 0 ? `<th>${esc(c)}</th>` : `<td>${esc(c)}</td>`)).join('')}</tr>`,
    )
    .join('\n');
  return `<table>\n<thead><tr>${th}</tr></thead>\n<tbody>\n${tr}\n</tbody>\n</table>`;
}

/** An SVG from Vega, made safe to inline: drop the XML prolog if any. */
function inlineSvg(svg: string): string {
  return svg.replace(/^<\?xml[^>]*>\s*/, '');
}

const CSS = `body{font:14px/1.45 Helvetica,Arial,sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:1.8em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.6em 0;font-variant-numeric:tabular-nums}
th,td{border:1px solid #ddd;padding:.25em .55em;text-align:right}thead th{background:#f4f4f4}tbody th{text-align:left}
figure{margin:1em 0;overflow-x:auto}figcaption{color:#555;font-size:.92em}
.partial{background:#fff3cd;border:1px solid #e0b400;padding:.6em .8em}.flag{color:#a40000}.small{color:#555;font-size:.9em}code{background:#f4f4f4;padding:0 .2em}`;

export function renderHtml(result: ResultFile, ctx: RenderContext): string {
  const s = result.scenario;
  const d = describeRun(result);
  const verdicts = verdictLines(result);
  const note = sweepNote(result);
  const partial = partialNote(result);
  const spread = spreadRows(result);
  const pairs = pairRows(result);
  const parts = [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>h3bench: ${esc(s.name)} (${esc(result.runId)})</title>`,
    `<style>${CSS}</style></head><body>`,
    `<h1>h3bench: ${esc(s.name)}</h1>`,
    partial
      ? `<p class="partial" role="alert"><strong>${esc(partial)}</strong> (the tables, verdicts and figures cover these runs only)</p>`
      : '',
    `<p class="summary">${esc(openingParagraph(result))}</p>`,
    s.description ? `<p>${esc(s.description)}</p>` : '',
    `<p class="small">Run <code>${esc(result.runId)}</code> at ${esc(result.createdAt)}; scenario <code>${esc(result.scenarioFile)}</code> (sha256 <code>${esc(result.scenarioHash.slice(0, 12))}</code>); result schema ${result.schemaVersion}.</p>`,
    `<ul><li>Workload: ${esc(d.workload)}</li><li>Network: ${esc(d.network)}</li><li>Endpoints: ${esc(describeEndpoints(result))}</li><li>Design: ${esc(d.design)}</li></ul>`,
    '<h2>Verdicts</h2>',
    note ? `<p>${esc(note)}</p>` : '',
    verdicts.length ? `<p class="small">${esc(PAIRING_NOTE)}</p>` : '',
    verdicts.length
      ? `<ul>${verdicts.map((v) => `<li>${esc(v)}</li>`).join('\n')}</ul>`
      : '<p>One protocol only: nothing to compare.</p>',
    '<h2>Comparison (medians over runs [95% CI])</h2>',
    table(TABLE_HEADER, tableRows(result)),
    ...DEFINITIONS.map((x) => `<p class="small">${esc(x)}</p>`),
    ...(spread.length
      ? [
          '<h2>Variance over repetitions</h2>',
          table(SPREAD_HEADER, spread),
          pairs.length ? table(PAIR_HEADER, pairs) : '',
          `<p class="small">${esc(SPREAD_NOTE)}</p>`,
        ]
      : []),
    '<h2>Head-of-line blocking</h2>',
    table(HOL_HEADER, holRows(result)),
  ];
  const loss = lossRows(result);
  if (loss.length) {
    parts.push('<h2>Loss response</h2>', table(LOSS_HEADER, loss), `<p class="small">${esc(LOSS_NOTE)}</p>`);
    const undone = undoneNote(result);
    if (undone !== null) parts.push(`<p>${esc(undone)}</p>`);
  }
  const attr = attributionRows(result);
  if (attr.length) {
    parts.push(
      '<h2>Attribution</h2>',
      table(ATTRIBUTION_HEADER, attr),
      `<ul>${attributionSentences(result)
        .map((x) => `<li>${esc(x)}</li>`)
        .join('\n')}</ul>`,
      `<p class="small">${esc(ATTRIBUTION_NOTE)}</p>`,
    );
  }
  if (result.summary.flags.length) {
    parts.push(
      '<h2>Flags</h2>',
      `<ul>${result.summary.flags.map((f) => `<li class="flag">${esc(f.message)}</li>`).join('\n')}</ul>`,
    );
  }
  const figs = Object.entries(ctx.figures);
  if (figs.length) {
    parts.push('<h2>Figures</h2>');
    for (const [name, svg] of figs) {
      parts.push(
        `<figure id="fig-${esc(name)}">${inlineSvg(svg)}<figcaption>${esc(FIGURES[name as keyof typeof FIGURES])}</figcaption></figure>`,
      );
    }
  }
  const hosts = hostsReport(result);
  if (hosts !== null) {
    parts.push('<h2>Hosts</h2>', `<p>${esc(hosts.intro)}</p>`, table(hosts.header, hosts.rows));
    if (hosts.differ !== null) parts.push(`<p><strong>${esc(hosts.differ)}</strong></p>`);
  }
  const fairness = fairnessWarnings(result);
  if (fairness.length) {
    parts.push(
      '<h2>Fairness warnings</h2>',
      `<ul>${fairness.map((w) => `<li>${esc(w)}</li>`).join('')}</ul>`,
    );
  }
  parts.push(
    '<h2>Environment</h2>',
    `<pre>${esc(JSON.stringify(result.environment, null, 2))}</pre>`,
    '</body></html>',
    '',
  );
  return parts.join('\n');
}

export const htmlReporter: Reporter = {
  name: 'html',
  files: (result, ctx) => ({ 'report.html': renderHtml(result, ctx) }),
};
