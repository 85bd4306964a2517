/**
 * The comparison tables and verdict lines, shared by the terminal output, report.md and report.html.
 * For a sweep every row and verdict is of one point (labelled "h2 @ network.loss = 1%"): the points
 * measure different conditions and are never pooled.
 */
import type { Estimate } from '../../core/bootstrap.js';
import { HEADLINE_METRICS, METRICS, MIN_RUNS_FOR_VERDICT } from '../measure/metrics.js';
import { protocolSpread, repetitionPairRows } from '../measure/spread.js';
import { describeWorkload } from '../scenario/workload.js';
import { median } from '../../core/stats.js';
import type { Protocol } from '../scenario/schema.js';
import { describeNetwork, endpointsLabel, sweepPointLabel } from './describe.js';
import type { ResultFile } from '../model/result.js';
import type { MetricName, ProtocolContrast } from '../model/metrics.js';
import { lookConfidence, lookCount } from '../measure/stopping.js';
import type { AttributionEntry, AttributionFactor } from '../model/telemetry.js';

/** Complete repetitions an attribution needs before its interval is trusted (as many as a paired verdict). */
const MIN_REPETITIONS_FOR_INTERVAL = MIN_RUNS_FOR_VERDICT;

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
        g.label ? `${endpointsLabel(result, p)} @ ${g.label}` : endpointsLabel(result, p),
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

/** "values" of a one-key sweep, "cells" of a grid (`n` = 1: singular). */
export function sweepUnitWord(sw: { grid?: unknown }, n = 2): string {
  const grid = sw.grid !== undefined && sw.grid !== null;
  return n === 1 ? (grid ? 'cell' : 'value') : grid ? 'cells' : 'values';
}

/** Why a sweep has no pooled verdicts, for the reports. */
export function sweepNote(result: ResultFile): string | null {
  const sw = result.scenario.sweep;
  if (!sw) return null;
  return `This is a sweep over ${sw.key} (${sw.values.length} ${sweepUnitWord(sw)}): protocols are compared at each ${sweepUnitWord(sw, 1)} separately; runs of different ${sweepUnitWord(sw)} are never pooled into one verdict.`;
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

/** A protocol contrast with the sweep point it belongs to ("" for a result without a sweep). */
interface PlacedContrast {
  point: string;
  c: ProtocolContrast;
}

/** Every contrast of the result, per sweep point for a sweep. */
function placedContrasts(result: ResultFile): PlacedContrast[] {
  const points = result.summary.sweep;
  if (result.scenario.sweep && points) {
    return points.flatMap((pt, i) => pt.comparisons.map((c) => ({ point: sweepPointLabel(result, i), c })));
  }
  return result.summary.comparisons.map((c) => ({ point: '', c }));
}

/** Headline metrics in their order, then workload-level metrics (alphabetically), then the rest. */
function importance(metric: string): number {
  const i = (HEADLINE_METRICS as readonly string[]).indexOf(metric);
  return i >= 0 ? i : HEADLINE_METRICS.length + (metric.startsWith('workload.') ? 0 : 1);
}

/** Significant contrasts first by metric importance, then sweep point and pair order (stable). */
function byImportance(xs: readonly PlacedContrast[]): PlacedContrast[] {
  return xs
    .map((x, i) => ({ x, i }))
    .sort((p, q) => importance(p.x.c.metric) - importance(q.x.c.metric) || p.i - q.i)
    .map((p) => p.x);
}

const pairName = (x: PlacedContrast): string => `${x.point ? `${x.point}: ` : ''}${x.c.a} vs ${x.c.b}`;

/** Points beyond which a list names each pair once with how many points it holds at. */
const MAX_POINTS_LISTED = 4;

/**
 * "workload completion (h3 vs h1, h2 vs h1); TTFB p50 (h3 vs h2)": contrasts grouped by metric; "workload
 * completion, TTFB p50 (h3 vs h2)" when they are all of one pair. With more than MAX_POINTS_LISTED
 * sweep points (a grid has dozens), each pair is named once: "h3 vs h2 at 12 of 64 points".
 */
function byMetric(xs: readonly PlacedContrast[], pointCount = 0): string {
  const points = new Set(xs.map((x) => x.point));
  if (points.size > MAX_POINTS_LISTED) {
    const perMetric = new Map<string, Map<string, Set<string>>>();
    for (const x of byImportance(xs)) {
      const k = labelOf(x.c.metric);
      const pairs = perMetric.get(k) ?? new Map<string, Set<string>>();
      const pair = `${x.c.a} vs ${x.c.b}`;
      pairs.set(pair, (pairs.get(pair) ?? new Set<string>()).add(x.point));
      perMetric.set(k, pairs);
    }
    const at = (n: number) =>
      n === pointCount ? 'at every point' : `at ${n}${pointCount > 0 ? ` of ${pointCount}` : ''} points`;
    const describe = (pairs: Map<string, Set<string>>): string => {
      const counts = new Set([...pairs.values()].map((ps) => ps.size));
      if (counts.size === 1) return `${[...pairs.keys()].join(', ')} ${at([...counts][0] ?? 0)}`;
      return [...pairs].map(([pair, ps]) => `${pair} ${at(ps.size)}`).join(', ');
    };
    // Metrics with the same pairs at the same points are named together.
    const byDescription = new Map<string, string[]>();
    for (const [k, pairs] of perMetric) {
      const d = describe(pairs);
      byDescription.set(d, [...(byDescription.get(d) ?? []), k]);
    }
    return [...byDescription].map(([d, ks]) => `${ks.join(', ')} (${d})`).join('; ');
  }
  const names = new Set(xs.map(pairName));
  if (names.size === 1) {
    const labels = [...new Set(byImportance(xs).map((x) => labelOf(x.c.metric)))];
    return `${labels.join(', ')} (${[...names][0] ?? ''})`;
  }
  const groups = new Map<string, string[]>();
  for (const x of byImportance(xs)) {
    const k = labelOf(x.c.metric);
    groups.set(k, [...(groups.get(k) ?? []), pairName(x)]);
  }
  return [...groups].map(([k, v]) => `${k} (${v.join(', ')})`).join('; ');
}

/** Sweep points of a result (0 without a sweep). */
const pointsOf = (result: ResultFile): number => result.summary.sweep?.length ?? 0;

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** The contrasts of a result in three groups: significant (by importance), not significant, no verdict. */
export function contrastGroups(result: ResultFile): {
  significant: PlacedContrast[];
  notSignificant: PlacedContrast[];
  noVerdict: PlacedContrast[];
  unpaired: PlacedContrast[];
} {
  const all = placedContrasts(result);
  return {
    significant: byImportance(all.filter((x) => x.c.significant === true)),
    notSignificant: all.filter((x) => x.c.significant === false),
    noVerdict: all.filter((x) => x.c.significant === null),
    unpaired: all.filter((x) => x.c.method === 'unpaired'),
  };
}

/** Most significant differences the terminal headline lists one per line (the rest are named). */
export const HEADLINE_MAX_SIGNIFICANT = 8;

/**
 * The terminal's verdict block, short enough to read (at most HEADLINE_MAX_SIGNIFICANT + 4 lines):
 * a heading, the significant differences in words with their 95% intervals, most important metric
 * first (HEADLINE_METRICS order), the names of any further significant ones, one line counting the
 * contrasts without a significant difference or without a verdict, and one line naming the
 * contrasts that fell back to unpaired intervals. The full list is in report.md (`verdictLines`).
 * Empty when there is nothing to compare (one protocol).
 */
/** How the verdicts' intervals were made: "95% intervals", or an adaptive run's per-look level. */
export function intervalLabel(result: ResultFile): string {
  const a = result.scenario.adaptive;
  if (!a) return '95% intervals';
  const pct = (lookConfidence(a) * 100).toFixed(2).replace(/\.?0+$/, '');
  return `${pct}% intervals: adaptive repetitions, ${lookCount(a)} looks`;
}

export function headlineBlock(result: ResultFile, maxSignificant = HEADLINE_MAX_SIGNIFICANT): string[] {
  const { significant, notSignificant, noVerdict, unpaired } = contrastGroups(result);
  const total = significant.length + notSignificant.length + noVerdict.length;
  if (total === 0) return [];
  const shown = significant.slice(0, maxSignificant);
  const more = significant.slice(maxSignificant);
  const lines = [
    significant.length
      ? `${plural(significant.length, 'significant difference')} of ${plural(total, 'contrast')} (${intervalLabel(result)}):`
      : `No significant difference found in ${plural(total, 'contrast')} (${intervalLabel(result)}).`,
    ...shown.map((x) => `  ${x.point ? `${x.point}: ` : ''}${x.c.verdict}`),
  ];
  if (more.length) lines.push(`  and ${more.length} more: ${byMetric(more, pointsOf(result))}`);
  const rest: string[] = [];
  if (notSignificant.length)
    rest.push(`${plural(notSignificant.length, 'contrast')}: no significant difference`);
  if (noVerdict.length)
    rest.push(
      `${notSignificant.length ? noVerdict.length : plural(noVerdict.length, 'contrast')}: no verdict (too few runs, not comparable or undefined)`,
    );
  if (rest.length) lines.push(`${rest.join('; ')} — see report.md for every verdict`);
  if (unpaired.length) {
    lines.push(
      `Unpaired (fewer than ${MIN_RUNS_FOR_VERDICT} complete pairs): ${byMetric(unpaired, pointsOf(result))}; the others are paired by repetition.`,
    );
  }
  return lines;
}

/** "h1, h2 and h3". */
function listWords(xs: readonly string[]): string {
  return xs.length <= 1 ? (xs[0] ?? '') : `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1] ?? ''}`;
}

/** "the lossy-mobile profile (backend linkem, RTT 100 ms)": the link in a few words. */
function linkInWords(result: ResultFile): string {
  const n = result.scenario.network;
  if (n.backend === 'none') return 'host loopback without emulation';
  // 'auto' resolves per run: name the backend the runs' links came up with.
  const used = new Set(result.runs.flatMap((r) => (r.link.provenance ? [r.link.provenance.backend] : [])));
  const backend = used.size === 1 ? [...used][0] : n.backend;
  // A sweep over the delay or RTT has no one RTT to name (the base link's is not one of its points).
  const swept = result.scenario.sweep?.key ?? '';
  const rtt = /network\.(rtt|delay)/.test(swept)
    ? undefined
    : describeNetwork(result).match(/RTT ([\d.]+) ms/)?.[1];
  const profile = result.scenario.networkProfile;
  const what = profile ? `the ${profile} profile` : 'the scenario link';
  return `${what} (backend ${backend}${rtt ? `, RTT ${rtt} ms` : ''})`;
}

/** Most significant findings the opening paragraph spells out (the rest are counted). */
const PARAGRAPH_MAX_SIGNIFICANT = 4;

/**
 * The paragraph report.md and report.html open with: what was compared on what link, the
 * significant findings with their intervals (most important first), and what was not significant.
 */
export function openingParagraph(result: ResultFile): string {
  const s = result.scenario;
  const sweep = s.sweep
    ? ` at each of ${s.sweep.values.length} ${sweepUnitWord(s.sweep)} of ${s.sweep.key}`
    : '';
  const first = `This run compared ${listWords(s.protocols)} over ${linkInWords(result)}${sweep}, ${plural(s.repetitions, 'repetition')} each of ${describeWorkload(s.workload)}.`;
  const { significant, notSignificant, noVerdict } = contrastGroups(result);
  if (significant.length + notSignificant.length + noVerdict.length === 0)
    return `${first} With one protocol there is nothing to compare.`;
  const sentences = [first];
  if (significant.length) {
    const shown = significant
      .slice(0, PARAGRAPH_MAX_SIGNIFICANT)
      .map((x) => `${x.point ? `at ${x.point}, ` : ''}${x.c.verdict}`);
    const more = significant.length - shown.length;
    sentences.push(
      `Significant (${intervalLabel(result)}): ${shown.join('; ')}${more > 0 ? `; and ${more} more listed below` : ''}.`,
    );
  } else {
    sentences.push('No contrast showed a significant difference.');
  }
  const rest: string[] = [];
  if (notSignificant.length)
    rest.push(`no significant difference in ${byMetric(notSignificant, pointsOf(result))}`);
  if (noVerdict.length) rest.push(`no verdict for ${byMetric(noVerdict, pointsOf(result))}`);
  if (rest.length) {
    const text = rest.join('; ');
    sentences.push(`${text[0]?.toUpperCase() ?? ''}${text.slice(1)}.`);
  }
  const why = causeSentence(result);
  if (why) sentences.push(why);
  return sentences.join(' ');
}

/** The attribution entry the opening paragraph names: h3/h2 (first sweep point) when present, else the first. */
export function headlineAttribution(result: ResultFile): AttributionEntry | undefined {
  const entries = (result.summary.attribution ?? []).filter((e) => e.total.value !== null);
  return entries.find((e) => e.pair === 'h3/h2') ?? entries[0];
}

/** How many times larger the larger of two medians is (Infinity when only the smaller is 0). */
function foldOf(x: number, y: number): number {
  const lo = Math.min(x, y);
  const hi = Math.max(x, y);
  if (hi <= 0) return 1;
  return lo <= 0 ? Infinity : hi / lo;
}

/** Loss-response medians at least this many times apart make the opening paragraph mention them. */
export const LOSS_RESPONSE_FOLD = 2;

/**
 * The sentence on why the protocols differ: the dominant factor of the h3/h2 attribution (else the
 * first), from the control runs; without control runs, a loss response that differs by
 * LOSS_RESPONSE_FOLD or more (congestion events per 100 downlink drops, or timeouts) is pointed at,
 * never claimed as the cause. Null when there is neither.
 */
export function causeSentence(result: ResultFile): string | null {
  const e = headlineAttribution(result);
  if (e) {
    const at = e.sweepIndex === undefined ? '' : ` (at ${sweepPointLabel(result, e.sweepIndex)})`;
    const few = e.pairs < MIN_REPETITIONS_FOR_INTERVAL ? `, only ${plural(e.pairs, 'repetition')}` : '';
    return `Attribution from the control runs${at}${few}: ${e.sentence} See the Attribution table.`;
  }
  type Row = { p: string; per100: number | null; timeouts: number | null };
  const rows: Row[] = result.scenario.protocols.flatMap((p) => {
    const t = result.summary.protocols[p]?.transport;
    return t ? [{ p, per100: t.congestionEventsPer100Losses.median, timeouts: t.timeouts.median }] : [];
  });
  const differing = (k: 'per100' | 'timeouts', minGap: number): [Row, Row] | null => {
    const have = rows.filter((r) => r[k] !== null);
    let best: [Row, Row] | null = null;
    let bestFold = 1;
    for (const x of have) {
      for (const y of have) {
        const vx = x[k] ?? 0;
        const vy = y[k] ?? 0;
        const f = foldOf(vx, vy);
        if (vx > vy && vx - vy >= minGap && f >= LOSS_RESPONSE_FOLD && f > bestFold) {
          best = [x, y];
          bestFold = f;
        }
      }
    }
    return best;
  };
  const ev = differing('per100', 1);
  const to = differing('timeouts', 1);
  if (!ev && !to) return null;
  const parts: string[] = [];
  if (ev)
    parts.push(
      `${ev[0].p} has ${fmtNum(ev[0].per100 ?? NaN, 1)} congestion events per 100 downlink drops against ${fmtNum(ev[1].per100 ?? NaN, 1)} for ${ev[1].p}`,
    );
  if (to)
    parts.push(
      `${to[0].p} has ${fmtNum(to[0].timeouts ?? NaN, 1)} timeouts per run against ${fmtNum(to[1].timeouts ?? NaN, 1)} for ${to[1].p}`,
    );
  return `The protocols' loss responses differ (medians over runs): ${parts.join('; ')} (see the Loss response table). Without control runs (scenario \`attribution: true\`) this run does not say how much of the differences above that explains.`;
}

/** Loss response of the sender (server) per protocol: medians over runs [95% CI]. */
export const LOSS_HEADER: readonly string[] = [
  'protocol',
  'runs with telemetry',
  'events per 100 drops',
  'events',
  'β seen (after/before)',
  'undone %',
  'time in recovery ms',
  'timeouts (RTO for TCP, PTO for QUIC)',
  'mean cwnd kB',
  'srtt ms',
  'downlink drops',
  'lost / retransmitted',
];

/** Rows of the loss response table; empty when no protocol has sender telemetry. */
export function lossRows(result: ResultFile): string[][] {
  const rows: string[][] = [];
  for (const p of result.scenario.protocols) {
    const t = result.summary.protocols[p]?.transport;
    if (!t) continue;
    rows.push([
      p,
      String(t.runsWithTelemetry),
      fmtEstimate(t.congestionEventsPer100Losses, 1),
      fmtEstimate(t.congestionEvents, 1),
      fmtEstimate(t.reductionFactor, 2),
      fmtEstimate(t.undoneShare, 0, 100),
      fmtEstimate(t.timeInRecoveryMs, 0),
      fmtEstimate(t.timeouts, 1),
      fmtEstimate(t.meanCwndBytes, 1, 1 / 1000),
      fmtEstimate(t.srttMs, 1),
      fmtEstimate(t.downlinkDrops, 0),
      `${fmtEstimate(t.packetsLost, 0)} / ${fmtEstimate(t.packetsRetransmitted, 0)}`,
    ]);
  }
  return rows;
}

/** What the loss response table shows, printed under it. */
export const LOSS_NOTE =
  'Sender = server (it sends the responses), summed over its connections per run; medians over ok runs with 95% bootstrap intervals. A congestion event is a window reduction of more than 5% (falls within one smoothed RTT are one event); β seen is the lowest window over the one before; undone = back to 95% within two smoothed RTTs; time in recovery = until the window grows again; mean cwnd is per connection. Events are inferred from windows sampled every ~10 ms; BBR\'s window is not loss-driven. "-" = not measured by this stack. docs/metrics.md § "Loss response".';

/**
 * Every fairness warning of the runs' links (a knob that could not be pinned the same for all, an
 * HTTP/3 engine that cannot pin something), each once, with the protocols whose runs carried it.
 */
export function fairnessWarnings(result: ResultFile): string[] {
  const seen = new Map<string, Set<string>>();
  for (const r of result.runs) {
    for (const w of r.link.provenance?.warnings ?? []) {
      const ps = seen.get(w) ?? new Set<string>();
      ps.add(r.protocol);
      seen.set(w, ps);
    }
  }
  return [...seen].map(([w, ps]) => `${w} (runs of ${[...ps].sort().join(', ')})`);
}

/** A sender undoing at least this share of its congestion events, against another at most UNDONE_LOW. */
export const UNDONE_HIGH = 0.5;
export const UNDONE_LOW = 0.2;

/**
 * When one protocol's sender undid most of its congestion events and another's almost none, what
 * that means, under the loss response table (null otherwise). For h3 (quiche's CUBIC) the known
 * mechanism is named; it is a property of the congestion controllers, not of the HTTP versions.
 */
export function undoneNote(result: ResultFile): string | null {
  const undone = result.scenario.protocols.flatMap((p) => {
    const m = result.summary.protocols[p]?.transport?.undoneShare.median;
    return m === null || m === undefined ? [] : [{ p, m }];
  });
  const high = undone.filter((u) => u.m >= UNDONE_HIGH);
  const low = undone.filter((u) => u.m <= UNDONE_LOW);
  if (high.length === 0 || low.length === 0) return null;
  const pct = (m: number) => `${Math.round(m * 100)}%`;
  const highText = high.map((u) => `${u.p} ${pct(u.m)}`).join(', ');
  const lowText = low.map((u) => `${u.p} ${pct(u.m)}`).join(', ');
  const quiche =
    result.scenario.transport.congestion === 'cubic' && high.some((u) => u.p === 'h3')
      ? " quiche's CUBIC (the QUIC stack of h3 here) rolls a congestion event back as spurious when its recovery episode lost fewer than 10 packets (cloudflare/quiche src/recovery/cubic.rs, RESTORE_COUNT_THRESHOLD, after draft-ietf-tcpm-rfc8312bis §4.9), so isolated random losses leave its window where it was; Linux TCP undoes a reduction only on evidence that the retransmission was unnecessary (D-SACK, RFC 2883; timestamps, RFC 3522)."
      : '';
  return `Undone congestion events (window back within two smoothed RTTs): ${highText} against ${lowText}.${quiche} This is the congestion controllers' loss response, not the HTTP version's; with another \`transport.congestion\` the difference can vanish or reverse (README § "Why is h3 faster (or slower) here?").`;
}

/** "0.31 [0.28, 0.35]" for a factor; "-" without a value. */
export function fmtFactor(f: AttributionFactor, digits = 2): string {
  if (f.value === null) return '-';
  const v = fmtNum(f.value, digits);
  return f.ci95 ? `${v} [${fmtNum(f.ci95[0], digits)}, ${fmtNum(f.ci95[1], digits)}]` : v;
}

/** Attribution table: each contrast of workload completion as setup × transport × multiplexing. */
export const ATTRIBUTION_HEADER: readonly string[] = [
  'pair',
  'repetitions',
  'total',
  'setup',
  'single-stream transport',
  'multiplexing',
  'dominant',
];

const pctShare = (x: number | null): string => (x === null ? '-' : `${Math.round(x * 100)}%`);

export function attributionRows(result: ResultFile): string[][] {
  return (result.summary.attribution ?? []).map((e) => [
    e.sweepIndex === undefined ? e.pair : `${e.pair} @ ${sweepPointLabel(result, e.sweepIndex)}`,
    String(e.pairs),
    fmtFactor(e.total),
    `${fmtFactor(e.setup)} (${pctShare(e.shares.setup)})`,
    `${fmtFactor(e.transport)} (${pctShare(e.shares.transport)})`,
    `${fmtFactor(e.multiplexing)} (${pctShare(e.shares.multiplexing)})`,
    e.dominant ?? '-',
  ]);
}

/** The sentence of every attribution entry (sweep point first for a sweep). */
export function attributionSentences(result: ResultFile): string[] {
  return (result.summary.attribution ?? []).map((e) =>
    e.sweepIndex === undefined ? e.sentence : `${sweepPointLabel(result, e.sweepIndex)}: ${e.sentence}`,
  );
}

/** What the attribution table shows, printed under it. */
export const ATTRIBUTION_NOTE = `Workload completion a/b = setup × single-stream transport × multiplexing, per repetition from the control runs (one stream on one connection carrying the workload's bytes, same link and seed); geometric means over repetitions with a paired bootstrap 95% interval (fewer than ${MIN_REPETITIONS_FOR_INTERVAL} repetitions: the interval is too narrow). In brackets: each factor's share of log(total), negative when it pushes the other way. Multiplexing is what the single stream does not explain: head-of-line blocking, and everything else that differs between one stream and the workload (scheduling, flow control, per-request overhead). docs/metrics.md § "Attribution".`;

/** Variance table: per protocol, the spread of workload completion over repetitions and drops per run. */
export const SPREAD_HEADER: readonly string[] = [
  'protocol',
  'workload ms per repetition',
  'min',
  'median',
  'max',
  'CV %',
  'drops per run',
  'drops min/median/max',
];

const fmtOpt = (v: number | null | undefined, digits: number): string =>
  v === null || v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(digits);

export function spreadRows(result: ResultFile): string[][] {
  const rows: string[][] = [];
  for (const g of groupsOf(result)) {
    for (const p of result.scenario.protocols) {
      const sp = protocolSpread(result.summary.runs, result.runs, p, 'workloadMs', g.point);
      if (!sp.runs.length) continue;
      rows.push([
        g.label ? `${p} @ ${g.label}` : p,
        sp.runs.map((r) => (r.ok ? fmtOpt(r.value, 0) : 'failed')).join(', '),
        fmtOpt(sp.range?.min, 1),
        fmtOpt(sp.range?.median, 1),
        fmtOpt(sp.range?.max, 1),
        fmtOpt(sp.cv === null ? null : sp.cv * 100, 0),
        sp.runs.map((r) => fmtOpt(r.drops, 0)).join(', '),
        sp.drops ? `${sp.drops.min}/${fmtOpt(sp.drops.median, 1)}/${sp.drops.max}` : '-',
      ]);
    }
  }
  return rows;
}

/** Per repetition, each compared pair of protocols: workload completion a/b and each side's drops. */
export const PAIR_HEADER: readonly string[] = [
  'pair',
  'repetition',
  'workload ms a',
  'workload ms b',
  'a/b',
  'drops a',
  'drops b',
];

export function pairRows(result: ResultFile): string[][] {
  const pairs = [
    ...new Map(placedContrasts(result).map((x) => [`${x.c.a} ${x.c.b}`, [x.c.a, x.c.b] as const])).values(),
  ];
  const rows: string[][] = [];
  for (const g of groupsOf(result)) {
    for (const [a, b] of pairs) {
      for (const r of repetitionPairRows(result.summary.runs, result.runs, a, b, 'workloadMs', g.point)) {
        rows.push([
          `${a} vs ${b}${g.label ? ` @ ${g.label}` : ''}`,
          String(r.repetition + 1),
          fmtOpt(r.valueA, 1),
          fmtOpt(r.valueB, 1),
          fmtOpt(r.ratio, 2),
          fmtOpt(r.dropsA, 0),
          fmtOpt(r.dropsB, 0),
        ]);
      }
    }
  }
  return rows;
}

/** What the variance tables show, printed under them. */
export const SPREAD_NOTE =
  'Spread over repetitions of workload completion (CV = sample standard deviation / mean) and the packets the emulator dropped in each run (loss and full queues, both directions; "-" without a packet log). The runs of a repetition share the network seed, but a timing-dependent stack sends different packets at the moments the loss draws fall on: compare each pair\'s drop counts to see whether the paired runs really saw the same losses.';
