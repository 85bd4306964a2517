/** The comparison tables and verdict lines, shared by the terminal output, report.md and report.html. */
import type { Estimate } from '../measure/bootstrap.js';
import { METRICS, type MetricName } from '../measure/metrics.js';
import type { ResultFile } from './result.js';

const fmtNum = (v: number, digits: number): string => (Number.isFinite(v) ? v.toFixed(digits) : '-');

/** "12.3 [11.0, 14.1]" (median [95% CI]); "12.3" without interval; "-" without value. */
export function fmtEstimate(e: Estimate | undefined, digits = 1, scale = 1): string {
  if (!e || e.median === null) return '-';
  const m = fmtNum(e.median * scale, digits);
  return e.ci95 ? `${m} [${fmtNum(e.ci95[0] * scale, digits)}, ${fmtNum(e.ci95[1] * scale, digits)}]` : m;
}

/** Columns of the main table: metric (with display scale and digits) per column. */
const COLUMNS: readonly { header: string; metric: MetricName; digits: number; scale?: number }[] = [
  { header: 'workload ms', metric: 'workloadMs', digits: 1 },
  { header: 'completion p50 ms', metric: 'completionP50Ms', digits: 1 },
  { header: 'completion p99 ms', metric: 'completionP99Ms', digits: 1 },
  { header: 'TTFB p50 ms', metric: 'ttfbP50Ms', digits: 1 },
  { header: 'setup p50 ms', metric: 'connectP50Ms', digits: 1 },
  { header: 'stall ms', metric: 'stallMs', digits: 0 },
  { header: 'sync stall %', metric: 'synchronizedStallShare', digits: 0, scale: 100 },
];

export const TABLE_HEADER: readonly string[] = [
  'protocol',
  'runs ok',
  'requests ok/failed',
  ...COLUMNS.map((c) => c.header),
  'flags',
];

/** One row per protocol: medians over ok runs with 95% bootstrap CIs. */
export function tableRows(result: ResultFile): string[][] {
  const rows: string[][] = [];
  for (const p of result.scenario.protocols) {
    const s = result.summary.protocols[p];
    if (!s) continue;
    const flags = new Map<string, number>();
    for (const f of s.flags) flags.set(f.kind, (flags.get(f.kind) ?? 0) + 1);
    rows.push([
      p,
      `${s.runs - s.runsFailed}/${s.runs}`,
      `${s.requests.ok}/${s.requests.failed}`,
      ...COLUMNS.map((c) => fmtEstimate(s.metrics[c.metric], c.digits, c.scale ?? 1)),
      [...flags].map(([k, n]) => `${k}×${n}`).join(' ') || '-',
    ]);
  }
  return rows;
}

/** "h3 vs h2: workload completion: h3 completes the workload 23% faster than h2 [15%, 30%]". */
export function verdictLines(result: ResultFile, metrics?: readonly string[]): string[] {
  return result.summary.comparisons
    .filter((c) => metrics === undefined || metrics.includes(c.metric))
    .map(
      (c) =>
        `${c.a} vs ${c.b}, ${(METRICS as Record<string, { label: string } | undefined>)[c.metric]?.label ?? c.metric}: ${c.verdict}`,
    );
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

/** HOL table: the six issue fields per protocol (medians [95% CI]) plus threshold and loss-log state. */
export const HOL_HEADER: readonly string[] = [
  'protocol',
  'stalls',
  'stall ms',
  'sync share %',
  'collateral ms',
  'after loss',
  'without loss',
  'threshold ms',
  'loss log',
];

export function holRows(result: ResultFile): string[][] {
  const rows: string[][] = [];
  for (const p of result.scenario.protocols) {
    const s = result.summary.protocols[p];
    if (!s) continue;
    const h = s.hol;
    rows.push([
      p,
      fmtEstimate(h.stallCount, 1),
      fmtEstimate(h.stallMs, 0),
      fmtEstimate(h.synchronizedStallShare, 0, 100),
      fmtEstimate(h.collateralStallMs, 0),
      fmtEstimate(h.stallsAfterLoss, 1),
      fmtEstimate(h.stallsWithoutLoss, 1),
      h.thresholdMs === null ? '-' : h.thresholdMs.toFixed(1),
      h.lossLog,
    ]);
  }
  return rows;
}
