/**
 * report.md: a paragraph in words, setup, verdicts, the comparison tables with CIs, variance over
 * repetitions, HOL, loss response and attribution (when measured), figures, flags, environment.
 */
import { type ResultFile } from '../model/result.js';
import { DEFINITIONS, describeEndpoints, describeRun } from './describe.js';
import { FIGURES } from './figures.js';
import { hostsSection } from './hosts.js';
import type { RenderContext, Reporter } from './types.js';
import {
  HOL_HEADER,
  TABLE_HEADER,
  fmtEstimate,
  holRows,
  markdownTable,
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

export function renderMarkdown(result: ResultFile, ctx: RenderContext): string {
  const s = result.scenario;
  const d = describeRun(result);
  const partial = partialNote(result);
  const lines = [
    `# h3bench: ${s.name}`,
    '',
    ...(partial ? [`> **${partial}** (the tables, verdicts and figures cover these runs only)`, ''] : []),
    openingParagraph(result),
    '',
    s.description ? `${s.description}\n` : '',
    `Run \`${result.runId}\` at ${result.createdAt}. Scenario \`${result.scenarioFile}\` (sha256 \`${result.scenarioHash.slice(0, 12)}\`), result schema ${result.schemaVersion}.`,
    '',
    `- Workload: ${d.workload}`,
    `- Network: ${d.network}`,
    `- Endpoints: ${describeEndpoints(result)}`,
    `- Design: ${d.design}`,
    '',
    '## Verdicts',
    '',
  ];
  const verdicts = verdictLines(result);
  const note = sweepNote(result);
  if (note) lines.push(note, '');
  if (verdicts.length) lines.push(PAIRING_NOTE, '');
  lines.push(
    ...(verdicts.length ? verdicts.map((v) => `- ${v}`) : ['- (one protocol only: nothing to compare)']),
    '',
  );
  lines.push(
    '## Comparison (medians over runs [95% CI])',
    '',
    markdownTable(TABLE_HEADER, tableRows(result)),
    '',
    ...DEFINITIONS.map((x) => `${x}\n`),
  );
  const spread = spreadRows(result);
  const pairs = pairRows(result);
  if (spread.length) {
    lines.push(
      '## Variance over repetitions',
      '',
      markdownTable(SPREAD_HEADER, spread),
      '',
      ...(pairs.length ? [markdownTable(PAIR_HEADER, pairs), ''] : []),
      SPREAD_NOTE,
      '',
    );
  }
  lines.push('## Head-of-line blocking', '', markdownTable(HOL_HEADER, holRows(result)), '');
  const absent = s.protocols.filter((p) => result.summary.protocols[p]?.hol.lossLog === 'absent');
  if (absent.length) {
    lines.push(
      `No emulator loss log for ${absent.join(', ')}: collateral stall time and stalls after/without loss are not available.`,
      '',
    );
  }
  const loss = lossRows(result);
  if (loss.length) {
    lines.push('## Loss response', '', markdownTable(LOSS_HEADER, loss), '', LOSS_NOTE, '');
    const undone = undoneNote(result);
    if (undone !== null) lines.push(undone, '');
  }
  const attr = attributionRows(result);
  if (attr.length) {
    lines.push(
      '## Attribution',
      '',
      markdownTable(ATTRIBUTION_HEADER, attr),
      '',
      ...attributionSentences(result).map((x) => `- ${x}`),
      '',
      ATTRIBUTION_NOTE,
      '',
    );
  }
  const wl = s.protocols.flatMap((p) =>
    Object.entries(result.summary.protocols[p]?.workloadMetrics ?? {}).map(([k, e]) => [
      p,
      k,
      fmtEstimate(e, 1),
    ]),
  );
  if (wl.length)
    lines.push('## Workload metrics', '', markdownTable(['protocol', 'metric', 'median [95% CI]'], wl), '');
  const figs = Object.keys(ctx.figures);
  if (figs.length) {
    lines.push('## Figures', '');
    for (const name of figs) lines.push(`![${FIGURES[name as keyof typeof FIGURES]}](${name}.svg)`, '');
  }
  const fairness = fairnessWarnings(result);
  if (fairness.length) lines.push('## Fairness warnings', '', ...fairness.map((w) => `- ${w}`), '');
  if (result.summary.flags.length) {
    lines.push('## Flags', '', ...result.summary.flags.map((f) => `- ${f.message}`), '');
  }
  lines.push(...hostsSection(result));
  lines.push('## Environment', '', '```json', JSON.stringify(result.environment, null, 2), '```', '');
  return lines.join('\n');
}

export const markdownReporter: Reporter = {
  name: 'md',
  files: (result, ctx) => ({ 'report.md': renderMarkdown(result, ctx) }),
};
