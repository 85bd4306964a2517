/**
 * Where the variance of a result comes from: per protocol, the spread of a per-run metric over the
 * repetitions, and the emulator drops each run saw; per repetition, the ratio of two protocols'
 * runs next to each side's drop count. Paired runs share the emulator's seed, but a timing-dependent
 * stack sends different packets at the moments the loss draws fall on, so the drops of a pair need
 * not match: these tables show whether they did. Pure functions over fields a result already has
 * (`summary.runs`, `runs[].link`).
 */
import { median } from '../../core/stats.js';
import type { LinkRecord } from '../../link/record.js';
import type { RunMetrics } from '../model/metrics.js';

/** Per-run metrics the spread can be computed of (stored directly on RunMetrics). */
export type SpreadMetric =
  'workloadMs' | 'completionP50Ms' | 'completionP99Ms' | 'ttfbP50Ms' | 'connectP50Ms' | 'goodputMbit';

/** What the spread functions read of a run record. */
export interface RunLink {
  index: number;
  link: Pick<LinkRecord, 'counters' | 'lossTimesMs'>;
}

/**
 * Packets the emulator dropped during a run (loss and full queues, both directions): the length of
 * `link.lossTimesMs`, else the total of `link.counters.dropReasons`; null when neither was recorded
 * (a backend without a packet log, or a run whose link never came up).
 */
export function runDrops(link: RunLink['link']): number | null {
  if (link.lossTimesMs) return link.lossTimesMs.length;
  const reasons = link.counters.dropReasons;
  if (!reasons) return null;
  return Object.values(reasons).reduce((a, b) => a + b, 0);
}

/** min, median, max of finite values; null for none. */
export interface Range {
  min: number;
  median: number;
  max: number;
}

function rangeOf(values: readonly (number | null)[]): Range | null {
  const v = values.filter((x): x is number => x !== null && Number.isFinite(x));
  if (!v.length) return null;
  return { min: Math.min(...v), median: median(v), max: Math.max(...v) };
}

/**
 * Coefficient of variation: sample standard deviation / mean of finite values; null with fewer than
 * 2 values or a mean of 0.
 */
export function coefficientOfVariation(values: readonly (number | null)[]): number | null {
  const v = values.filter((x): x is number => x !== null && Number.isFinite(x));
  if (v.length < 2) return null;
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  if (mean === 0) return null;
  const ss = v.reduce((a, b) => a + (b - mean) ** 2, 0);
  return Math.sqrt(ss / (v.length - 1)) / Math.abs(mean);
}

/** One run of a protocol: its repetition, value (null for a failed run or no value) and drops. */
export interface RepetitionValue {
  repetition: number;
  run: number;
  ok: boolean;
  value: number | null;
  drops: number | null;
}

export interface ProtocolSpread {
  protocol: string;
  metric: SpreadMetric;
  /** The protocol's runs (of the sweep point when given), in repetition order. */
  runs: RepetitionValue[];
  /** Over the values of ok runs. */
  range: Range | null;
  cv: number | null;
  /** Over the drop counts of all runs that recorded them. */
  drops: Range | null;
}

const valueOf = (r: RunMetrics, metric: SpreadMetric): number | null => {
  const v = r.ok ? r[metric] : null;
  return v !== null && Number.isFinite(v) ? v : null;
};

function dropsByRun(records: readonly RunLink[]): Map<number, number | null> {
  return new Map(records.map((r) => [r.index, runDrops(r.link)]));
}

function runsOf(
  metrics: readonly RunMetrics[],
  protocol: string,
  sweepIndex: number | undefined,
): RunMetrics[] {
  return metrics
    .filter((r) => r.protocol === protocol && r.sweepIndex === sweepIndex)
    .sort((x, y) => x.repetition - y.repetition || x.index - y.index);
}

/**
 * The spread of `metric` over a protocol's repetitions (of one sweep point when `sweepIndex` is
 * given; else of the runs without one) and the drops per run.
 */
export function protocolSpread(
  metrics: readonly RunMetrics[],
  records: readonly RunLink[],
  protocol: string,
  metric: SpreadMetric = 'workloadMs',
  sweepIndex?: number,
): ProtocolSpread {
  const drops = dropsByRun(records);
  const runs = runsOf(metrics, protocol, sweepIndex).map((r) => ({
    repetition: r.repetition,
    run: r.index,
    ok: r.ok,
    value: valueOf(r, metric),
    drops: drops.get(r.index) ?? null,
  }));
  const values = runs.map((r) => r.value);
  return {
    protocol,
    metric,
    runs,
    range: rangeOf(values),
    cv: coefficientOfVariation(values),
    drops: rangeOf(runs.map((r) => r.drops)),
  };
}

/** The runs of side a and side b in one repetition: values, a/b, and each side's drops. */
export interface RepetitionPairRow {
  repetition: number;
  valueA: number | null;
  valueB: number | null;
  /** valueA / valueB when both are finite and valueB > 0; else null. */
  ratio: number | null;
  dropsA: number | null;
  dropsB: number | null;
}

/**
 * Per repetition (that either side ran), side a's and side b's runs next to each other: the ratio
 * of `metric` and each side's emulator drops. A repetition with more than one run of a side (not
 * produced by the runner) takes that side's first run.
 */
export function repetitionPairRows(
  metrics: readonly RunMetrics[],
  records: readonly RunLink[],
  a: string,
  b: string,
  metric: SpreadMetric = 'workloadMs',
  sweepIndex?: number,
): RepetitionPairRow[] {
  const drops = dropsByRun(records);
  const byRep = (p: string) => {
    const m = new Map<number, RunMetrics>();
    for (const r of runsOf(metrics, p, sweepIndex)) if (!m.has(r.repetition)) m.set(r.repetition, r);
    return m;
  };
  const ra = byRep(a);
  const rb = byRep(b);
  const reps = [...new Set([...ra.keys(), ...rb.keys()])].sort((x, y) => x - y);
  return reps.map((repetition) => {
    const x = ra.get(repetition);
    const y = rb.get(repetition);
    const valueA = x ? valueOf(x, metric) : null;
    const valueB = y ? valueOf(y, metric) : null;
    return {
      repetition,
      valueA,
      valueB,
      ratio: valueA !== null && valueB !== null && valueB > 0 ? valueA / valueB : null,
      dropsA: x ? (drops.get(x.index) ?? null) : null,
      dropsB: y ? (drops.get(y.index) ?? null) : null,
    };
  });
}
