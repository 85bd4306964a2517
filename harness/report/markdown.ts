/** report.md: the scenario, the comparison table, failures, and the environment. */
import { describeWorkload } from '../scenario/workload.js';
import type { Reporter } from './index.js';
import type { ResultFile } from './result.js';
import { TABLE_HEADER, markdownTable, tableRows } from './table.js';

export function renderMarkdown(result: ResultFile): string {
  const s = result.scenario;
  const w = s.workload;
  const lines = [
    `# h3bench: ${s.name}`,
    '',
    s.description ? `${s.description}\n` : '',
    `Run \`${result.runId}\` at ${result.createdAt}. Scenario \`${result.scenarioFile}\` (sha256 \`${result.scenarioHash.slice(0, 12)}\`).`,
    '',
    `Workload: ${describeWorkload(w)}; ${s.repetitions} repetition(s) per protocol, interleaved in a seeded random order (seed ${s.seed}).`,
    `Network: backend \`${s.network.backend}\`. Congestion control: \`${s.transport.congestion}\`.`,
    '',
    '## Comparison (times in ms)',
    '',
    markdownTable(TABLE_HEADER, tableRows(result)),
    '',
    'Completion = response fully received − request start; TTFB = headers received − request start;',
    'handshake = connection ready (TCP+TLS, or QUIC) − connection start. Percentiles over all requests of all runs.',
    '',
  ];
  const failed = result.runs.filter((r) => !r.ok);
  if (failed.length > 0) {
    lines.push('## Failed runs', '');
    for (const r of failed)
      lines.push(`- run ${r.index} (${r.protocol}, repetition ${r.repetition}): ${r.error ?? ''}`);
    lines.push('');
  }
  lines.push('## Environment', '', '```json', JSON.stringify(result.environment, null, 2), '```', '');
  return lines.join('\n');
}

export const markdownReporter: Reporter = {
  name: 'md',
  files: (result) => ({ 'report.md': renderMarkdown(result) }),
};
