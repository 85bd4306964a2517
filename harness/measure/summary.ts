/**
 * Across repetitions: medians with bootstrap 95% intervals per protocol, protocol-vs-protocol
 * contrasts (paired by repetition) with plain-language verdicts, and the flags that qualify them. Runs of different sweep
 * points measure different conditions: they are never pooled into one contrast (runsAtPoint).
 */
import { medianCI, seedOf, type Estimate } from '../../core/bootstrap.js';
import {
  HEADLINE_METRICS,
  contrastMetric,
  metricDef,
  workloadMetricNames,
  type MetricPair,
} from './metrics.js';
import { METRIC_NAMES, type MetricName, type ProtocolContrast, type RunMetrics } from '../model/metrics.js';

/** Protocol pairs contrasted in a summary: first / second (h3 against each older version, h2 against h1). */
export const PROTOCOL_PAIRS = [
  ['h3', 'h2'],
  ['h3', 'h1'],
  ['h2', 'h1'],
] as const;

/** Runs whose numbers enter the statistics: the ones that finished within the failure allowance. */
export function usableRuns(runs: readonly RunMetrics[]): RunMetrics[] {
  return runs.filter((r) => r.ok);
}

/** Per-run values of a metric (catalogue or `workload.<key>`) over usable runs (in run order). */
export function metricValues(runs: readonly RunMetrics[], metric: string): (number | null)[] {
  const def = metricDef(metric);
  return def ? usableRuns(runs).map((r) => def.value(r)) : [];
}

/** Median and 95% interval of every workload-level metric (key without the `workload.` prefix). */
export function estimateWorkloadMetrics(
  runs: readonly RunMetrics[],
  seedBase: string | number,
  protocol: string,
): Record<string, Estimate> {
  const out: Record<string, Estimate> = {};
  for (const name of workloadMetricNames(usableRuns(runs))) {
    out[name.slice('workload.'.length)] = medianCI(metricValues(runs, name), {
      seed: seedOf(seedBase, protocol, name),
    });
  }
  return out;
}

/** Median and 95% interval of every metric over the usable runs of one protocol. */
export function estimateAll(
  runs: readonly RunMetrics[],
  seedBase: string | number,
  protocol: string,
): Record<MetricName, Estimate> {
  const out = {} as Record<MetricName, Estimate>;
  for (const m of METRIC_NAMES)
    out[m] = medianCI(metricValues(runs, m), { seed: seedOf(seedBase, protocol, m) });
  return out;
}

/** Runs that failed (left out of every statistic). */
export function failedRunCount(runs: readonly RunMetrics[]): number {
  return runs.filter((r) => !r.ok).length;
}

/** The runs of one sweep point (`sweepIndex === point`), in run order. */
export function runsAtPoint<T extends { sweepIndex?: number }>(runs: readonly T[], point: number): T[] {
  return runs.filter((r) => r.sweepIndex === point);
}

/** `byProtocol` restricted to the runs of one sweep point. */
export function byProtocolAtPoint(
  byProtocol: ReadonlyMap<string, readonly RunMetrics[]>,
  point: number,
): Map<string, RunMetrics[]> {
  const out = new Map<string, RunMetrics[]>();
  for (const [p, runs] of byProtocol) {
    const here = runsAtPoint(runs, point);
    if (here.length) out.set(p, here);
  }
  return out;
}

/**
 * The values of a metric in the runs of side a and side b that share a repetition (and so their
 * emulator and workload seeds), in repetition order. A repetition gives no pair when either run
 * failed, is missing, or appears twice on a side; a pair whose run has no value for the metric is
 * kept with null there (contrastMetric counts only complete pairs).
 */
export function repetitionPairs(
  ra: readonly RunMetrics[],
  rb: readonly RunMetrics[],
  metric: string,
): MetricPair[] {
  const def = metricDef(metric);
  if (!def) return [];
  const byRep = (runs: readonly RunMetrics[]): Map<number, RunMetrics | null> => {
    const m = new Map<number, RunMetrics | null>();
    for (const r of runs) m.set(r.repetition, m.has(r.repetition) ? null : r);
    return m;
  };
  const ma = byRep(ra);
  const mb = byRep(rb);
  const out: MetricPair[] = [];
  for (const rep of [...ma.keys()].sort((x, y) => x - y)) {
    const x = ma.get(rep);
    const y = mb.get(rep);
    if (!x || !y || !x.ok || !y.ok) continue;
    out.push([def.value(x), def.value(y)]);
  }
  return out;
}

/**
 * Contrasts of the headline metrics for every pair of PROTOCOL_PAIRS present in `byProtocol`.
 * All runs must belong to one condition (one sweep point, or no sweep): pooling points would
 * contrast a mixture of conditions, so a mix throws. A contrast whose sides have different numbers
 * of failed runs is flagged not comparable (contrastMetric). The runs of a repetition are paired
 * (repetitionPairs): with MIN_RUNS_FOR_VERDICT complete pairs the contrast is paired, else unpaired
 * (`method`, `pairs`).
 */
export function protocolContrasts(
  byProtocol: ReadonlyMap<string, readonly RunMetrics[]>,
  seedBase: string | number,
  metrics: readonly string[] = HEADLINE_METRICS,
  /** Coverage of every interval (default 0.95; an adaptive run's is its per-look level). */
  confidence?: number,
): ProtocolContrast[] {
  const points = new Set([...byProtocol.values()].flatMap((rs) => rs.map((r) => r.sweepIndex)));
  if (points.size > 1) {
    throw new Error(
      `protocolContrasts: runs of ${points.size} sweep points given; contrast each point on its own (byProtocolAtPoint)`,
    );
  }
  const out: ProtocolContrast[] = [];
  for (const [a, b] of PROTOCOL_PAIRS) {
    const ra = byProtocol.get(a);
    const rb = byProtocol.get(b);
    if (!ra || !rb) continue;
    const failedRuns = { a: failedRunCount(ra), b: failedRunCount(rb) };
    for (const m of metrics) {
      const def = metricDef(m);
      if (!def) continue;
      const c = contrastMetric(
        def,
        metricValues(ra, m),
        metricValues(rb, m),
        { a, b },
        {
          seed: seedOf(seedBase, a, b, m),
          failedRuns,
          pairs: repetitionPairs(ra, rb, m),
          ...(confidence === undefined ? {} : { confidence }),
        },
      );
      out.push({ a, b, ...c });
    }
  }
  return out;
}
