/** The comparison table, shared by the terminal output and report.md. */
import type { ResultFile } from './result.js';

const fmt = (v: number, digits = 1): string => (Number.isFinite(v) ? v.toFixed(digits) : '-');

export const TABLE_HEADER = [
  'protocol',
  'runs',
  'ok',
  'failed',
  'workload ms (median)',
  'completion p50',
  'p90',
  'p99',
  'max',
  'TTFB p50',
  'p99',
  'handshake p50',
  'CPU client ms',
  'CPU server ms',
] as const;

export function tableRows(result: ResultFile): string[][] {
  const rows: string[][] = [];
  for (const p of result.scenario.protocols) {
    const s = result.summary.protocols[p];
    if (!s) continue;
    rows.push([
      p,
      String(s.runs),
      String(s.requests.ok),
      String(s.requests.failed),
      fmt(s.workloadMs.median),
      fmt(s.completionMs.p50),
      fmt(s.completionMs.p90),
      fmt(s.completionMs.p99),
      fmt(s.completionMs.max),
      fmt(s.ttfbMs.p50),
      fmt(s.ttfbMs.p99),
      fmt(s.handshakeMs.p50),
      fmt(s.cpuMs.clientMedian, 0),
      fmt(s.cpuMs.serverMedian, 0),
    ]);
  }
  return rows;
}

/** Fixed-width text table for a terminal. */
export function textTable(header: readonly string[], rows: readonly string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function markdownTable(header: readonly string[], rows: readonly string[][]): string {
  const esc = (c: string) => c.replace(/\|/g, '\\|');
  return [
    `| ${header.map(esc).join(' | ')} |`,
    `| ${header.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}
