/**
 * The comparison tables and verdict lines, shared by the terminal output, report.md and report.html.
 * For a sweep every row and verdict is of one point (labelled "h2 @ network.loss = 1%"): the points
 * measure different conditions and are never pooled.
 */
import type { Estimate } from '../../core/bootstrap.js';
import { METRICS } from '../measure/metrics.js';
import { median } from '../../core/stats.js';
import type { Protocol } from '../scenario/schema.js';
import { sweepPointLabel } from './describe.js';
import type { ResultFile } from '../model/result.js';
import type { MetricName, ProtocolContrast } from '../model/metrics.js';

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

/** One group of table rows: the whole result, or one sweep point (label, index). */
interface Group {
  label: string;
  point: number | undefined;
}

function groupsOf(result: ResultFile): Group[] {
  const points = result.summary.sweep;
  if (!result.scenario.sweep || !points) return [{ label: '', point: undefined }];
  return points.map((_, i) => ({ label: sweepPointLabel(result, i), point: i }));
}

/** Flag counts ("cpu-saturated×2") of a protocol's runs, of one sweep point when given. */
function flagCell(result: ResultFile, p: Protocol, point: number | undefined): string {
  const runsHere = new Set(
    result.summary.runs.filter((r) => r.protocol === p && r.sweepIndex === point).map((r) => r.index),
  );
  const flags = new Map<string, number>();
  for (const f of result.summary.protocols[p]?.flags ?? []) {
    if (point !== undefined && !runsHere.has(f.run)) continue;
    flags.set(f.kind, (flags.get(f.kind) ?? 0) + 1);
  }
  return [...flags].map(([k, n]) => `${k}×${n}`).join(' ') || '-';
}

/**
 * One row per protocol (per protocol × point for a sweep): medians over ok runs with 95% bootstrap
 * CIs.
 */
export function tableRows(result: ResultFile): string[][] {
  const rows: string[][] = [];
  for (const g of groupsOf(result)) {
    for (const p of result.scenario.protocols) {
      const s = result.summary.protocols[p];
      if (!s) continue;
      const pt = g.point === undefined ? undefined : result.summary.sweep?.[g.point];
      const est = pt ? pt.protocols[p] : s.metrics;
      const n = pt
        ? pt.counts[p]
        : {
            runs: s.runs,
            runsFailed: s.runsFailed,
            requestsOk: s.requests.ok,
            requestsFailed: s.requests.failed,
          };
      if (!est || !n) continue;
      rows.push([
        g.label ? `${p} @ ${g.label}` : p,
        `${n.runs - n.runsFailed}/${n.runs}`,
        `${n.requestsOk}/${n.requestsFailed}`,
        ...COLUMNS.map((c) => fmtEstimate(est[c.metric], c.digits, c.scale ?? 1)),
        flagCell(result, p, g.point),
      ]);
    }
  }
  return rows;
}

const labelOf = (metric: string): string =>
  (METRICS as Record<string, { label: string } | undefined>)[metric]?.label ?? metric;

/** What "(paired, n pairs)" in a verdict means. */
export const PAIRING_NOTE =
  'Contrasts pair the runs of one repetition (same network and workload seeds): "paired, n pairs" intervals are over the per-repetition ratios or differences; with fewer than 5 complete pairs a contrast is unpaired (each protocol resampled on its own). See docs/metrics.md § 4, paired contrasts.';

/**
 * How a contrast's interval was computed: "paired, 5 pairs" (runs of one repetition paired), or
 * "unpaired: only 3 pairs" (too few complete pairs; each side bootstrapped on its own).
 */
export function methodNote(c: Pick<ProtocolContrast, 'method' | 'pairs'>): string {
  const pairs = `${c.pairs} ${c.pairs === 1 ? 'pair' : 'pairs'}`;
  return c.method === 'paired' ? `paired, ${pairs}` : `unpaired: only ${pairs}`;
}

/**
 * "h3 vs h2, workload completion (paired, 5 pairs): h3 completes the workload 23% faster than h2
 * [15%, 30%]"; for a sweep, per point: "network.loss = 1%: h3 vs h2, …" (there are no pooled
 * contrasts).
 */
export function verdictLines(result: ResultFile, metrics?: readonly string[]): string[] {
  const keep = (c: ProtocolContrast) => metrics === undefined || metrics.includes(c.metric);
  const line = (c: ProtocolContrast) =>
    `${c.a} vs ${c.b}, ${labelOf(c.metric)} (${methodNote(c)}): ${c.verdict}`;
  const points = result.summary.sweep;
  if (result.scenario.sweep && points) {
    return points.flatMap((pt, i) =>
      pt.comparisons.filter(keep).map((c) => `${sweepPointLabel(result, i)}: ${line(c)}`),
    );
  }
  return result.summary.comparisons.filter(keep).map(line);
}

/** Why a sweep has no pooled verdicts, for the reports. */
export function sweepNote(result: ResultFile): string | null {
  const sw = result.scenario.sweep;
  if (!sw) return null;
  return `This is a sweep over ${sw.key} (${sw.values.length} values): protocols are compared at each value separately; runs of different values are never pooled into one verdict.`;
}

/**
 * "Partial result: 39 of 45 runs — interrupted by SIGINT" for a result that stopped before every
 * planned run was done (`result.partial`), null for a complete one. Shown at the top of report.md
 * and report.html and under the terminal table.
 */
export function partialNote(result: ResultFile): string | null {
  const p = result.partial;
  if (!p) return null;
  return `Partial result: ${p.runsDone} of ${p.runsPlanned} runs — ${p.reason}`;
}

/** The terminal's comparison table, with the partial-result line as its footer when there is one. */
export function resultTextTable(result: ResultFile): string {
  const table = textTable(TABLE_HEADER, tableRows(result));
  const note = partialNote(result);
  return note === null ? table : `${table}\n${note}`;
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
  for (const g of groupsOf(result)) {
    for (const p of result.scenario.protocols) {
      const s = result.summary.protocols[p];
      if (!s) continue;
      const h = g.point === undefined ? s.hol : result.summary.sweep?.[g.point]?.protocols[p];
      if (!h) continue;
      let threshold = s.hol.thresholdMs;
      if (g.point !== undefined) {
        const t = result.summary.runs
          .filter((r) => r.protocol === p && r.ok && r.sweepIndex === g.point)
          .map((r) => r.hol?.thresholdMs)
          .filter((v): v is number => v !== undefined && Number.isFinite(v));
        threshold = t.length ? median(t) : null;
      }
      rows.push([
        g.label ? `${p} @ ${g.label}` : p,
        fmtEstimate(h.stallCount, 1),
        fmtEstimate(h.stallMs, 0),
        fmtEstimate(h.synchronizedStallShare, 0, 100),
        fmtEstimate(h.collateralStallMs, 0),
        fmtEstimate(h.stallsAfterLoss, 1),
        fmtEstimate(h.stallsWithoutLoss, 1),
        threshold === null ? '-' : threshold.toFixed(1),
        s.hol.lossLog,
      ]);
    }
  }
  return rows;
}
