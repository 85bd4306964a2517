/**
 * The catalogue of per-run metrics that are compared across protocols and across results, and the
 * plain-language verdict of a comparison. Every consumer (summary, table, CSV, figures, compare)
 * takes names, units and directions from here.
 */
import { differenceCI, ratioCI, type BootstrapOptions, type Contrast } from '../../core/bootstrap.js';
import { pairedDifferenceCI, pairedRatioCI } from '../../core/paired.js';
import { median } from '../../core/stats.js';
import type { RunMetrics } from '../model/metrics.js';
import { METRIC_NAMES, type AnyMetricName, type MetricContrast, type MetricName } from '../model/metrics.js';

export interface MetricDef {
  name: AnyMetricName;
  /** Short label for tables and figures. */
  label: string;
  unit: 'ms' | 'Mbit/s' | 'count' | 'share';
  /** Which direction is an improvement. */
  better: 'lower' | 'higher';
  /** Contrast two medians by their ratio or their difference. */
  compareBy: 'ratio' | 'difference';
  group: 'latency' | 'hol' | 'reliability';
  /** The metric's value for one run; null when undefined for it. */
  value(m: RunMetrics): number | null;
  /** Verdict words: `${a} ${verb} ${magnitude} ${lowerWord|higherWord} than ${b}`. */
  verb: string;
  lowerWord: string;
  higherWord: string;
}

const hol =
  (
    k:
      | 'stallCount'
      | 'stallMs'
      | 'synchronizedStallShare'
      | 'synchronizedStallMs'
      | 'collateralStallMs'
      | 'stallsAfterLoss'
      | 'stallsWithoutLoss',
  ) =>
  (m: RunMetrics): number | null =>
    m.hol ? m.hol[k] : null;

export const METRICS: Readonly<Record<MetricName, MetricDef>> = {
  workloadMs: {
    name: 'workloadMs',
    label: 'workload completion',
    unit: 'ms',
    better: 'lower',
    compareBy: 'ratio',
    group: 'latency',
    value: (m) => m.workloadMs,
    verb: 'completes the workload',
    lowerWord: 'faster',
    higherWord: 'slower',
  },
  completionP50Ms: {
    name: 'completionP50Ms',
    label: 'request completion p50',
    unit: 'ms',
    better: 'lower',
    compareBy: 'ratio',
    group: 'latency',
    value: (m) => m.completionP50Ms,
    verb: 'completes requests (p50)',
    lowerWord: 'faster',
    higherWord: 'slower',
  },
  completionP99Ms: {
    name: 'completionP99Ms',
    label: 'request completion p99',
    unit: 'ms',
    better: 'lower',
    compareBy: 'ratio',
    group: 'latency',
    value: (m) => m.completionP99Ms,
    verb: 'completes requests (p99)',
    lowerWord: 'faster',
    higherWord: 'slower',
  },
  ttfbP50Ms: {
    name: 'ttfbP50Ms',
    label: 'TTFB p50',
    unit: 'ms',
    better: 'lower',
    compareBy: 'ratio',
    group: 'latency',
    value: (m) => m.ttfbP50Ms,
    verb: 'gets the first byte (p50)',
    lowerWord: 'faster',
    higherWord: 'slower',
  },
  connectP50Ms: {
    name: 'connectP50Ms',
    label: 'connection setup p50',
    unit: 'ms',
    better: 'lower',
    compareBy: 'ratio',
    group: 'latency',
    value: (m) => m.connectP50Ms,
    verb: 'sets up connections (p50)',
    lowerWord: 'faster',
    higherWord: 'slower',
  },
  goodputMbit: {
    name: 'goodputMbit',
    label: 'goodput',
    unit: 'Mbit/s',
    better: 'higher',
    compareBy: 'ratio',
    group: 'latency',
    value: (m) => m.goodputMbit,
    verb: 'reaches',
    lowerWord: 'lower goodput',
    higherWord: 'higher goodput',
  },
  stallCount: {
    name: 'stallCount',
    label: 'stalls',
    unit: 'count',
    better: 'lower',
    compareBy: 'ratio',
    group: 'hol',
    value: hol('stallCount'),
    verb: 'has',
    lowerWord: 'fewer stalls',
    higherWord: 'more stalls',
  },
  stallMs: {
    name: 'stallMs',
    label: 'stall time',
    unit: 'ms',
    better: 'lower',
    compareBy: 'ratio',
    group: 'hol',
    value: hol('stallMs'),
    verb: 'has',
    lowerWord: 'less stall time',
    higherWord: 'more stall time',
  },
  synchronizedStallShare: {
    name: 'synchronizedStallShare',
    label: 'synchronized stall share',
    unit: 'share',
    better: 'lower',
    compareBy: 'difference',
    group: 'hol',
    value: hol('synchronizedStallShare'),
    verb: 'has a synchronized-stall share',
    lowerWord: 'lower',
    higherWord: 'higher',
  },
  synchronizedStallMs: {
    name: 'synchronizedStallMs',
    label: 'synchronized stall time',
    unit: 'ms',
    better: 'lower',
    compareBy: 'ratio',
    group: 'hol',
    value: hol('synchronizedStallMs'),
    verb: 'has',
    lowerWord: 'less synchronized stall time',
    higherWord: 'more synchronized stall time',
  },
  collateralStallMs: {
    name: 'collateralStallMs',
    label: 'collateral stall time',
    unit: 'ms',
    better: 'lower',
    compareBy: 'ratio',
    group: 'hol',
    value: hol('collateralStallMs'),
    verb: 'has',
    lowerWord: 'less collateral stall time',
    higherWord: 'more collateral stall time',
  },
  stallsAfterLoss: {
    name: 'stallsAfterLoss',
    label: 'stalls after a loss',
    unit: 'count',
    better: 'lower',
    compareBy: 'ratio',
    group: 'hol',
    value: hol('stallsAfterLoss'),
    verb: 'has',
    lowerWord: 'fewer stalls after a loss',
    higherWord: 'more stalls after a loss',
  },
  stallsWithoutLoss: {
    name: 'stallsWithoutLoss',
    label: 'stalls without a loss',
    unit: 'count',
    better: 'lower',
    compareBy: 'ratio',
    group: 'hol',
    value: hol('stallsWithoutLoss'),
    verb: 'has',
    lowerWord: 'fewer stalls without a loss',
    higherWord: 'more stalls without a loss',
  },
  requestsFailed: {
    name: 'requestsFailed',
    label: 'failed requests',
    unit: 'count',
    better: 'lower',
    compareBy: 'difference',
    group: 'reliability',
    value: (m) => m.requestsFailed,
    verb: 'has',
    lowerWord: 'fewer failed requests per run',
    higherWord: 'more failed requests per run',
  },
};

const WORKLOAD_PREFIX = 'workload.';

/**
 * Workload-level metrics renamed since: old key → current key. "Goodput" is the catalogue metric
 * `goodputMbit` only; bulk's own rates have names of their own (docs/metrics.md § 2). Run records
 * written before keep the old keys; the analysis reads them under the current ones.
 */
export const RENAMED_WORKLOAD_METRICS: Readonly<Record<string, string>> = {
  goodputMbps: 'bodyRateMbit',
  transferMbps: 'transferRateMbit',
};

/** A client's workload metrics with renamed keys under their current names. */
export function currentWorkloadMetrics(metrics: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(metrics)) out[RENAMED_WORKLOAD_METRICS[k] ?? k] = v;
  return out;
}

/**
 * The definition of a catalogue metric or of a workload-level metric (`workload.<key>`, direction
 * and unit from the key's suffix: …Ms lower is better, …Mbit (Mbit/s) higher is better, else a lower
 * count; a renamed key means its current name). Undefined for an unknown name.
 */
export function metricDef(name: string): MetricDef | undefined {
  if ((METRIC_NAMES as readonly string[]).includes(name)) return METRICS[name as MetricName];
  if (!name.startsWith(WORKLOAD_PREFIX) || name.length === WORKLOAD_PREFIX.length) return undefined;
  const written = name.slice(WORKLOAD_PREFIX.length);
  const key = RENAMED_WORKLOAD_METRICS[written] ?? written;
  const rate = /Mbit$/.test(key);
  const time = /Ms$/.test(key);
  return {
    name: `workload.${key}`,
    label: key,
    unit: rate ? 'Mbit/s' : time ? 'ms' : 'count',
    better: rate ? 'higher' : 'lower',
    compareBy: 'ratio',
    group: 'latency',
    value: (m) => m.workload[key] ?? null,
    verb: rate ? 'reaches' : 'has',
    lowerWord: `lower ${key}`,
    higherWord: `higher ${key}`,
  };
}

/** Workload-level metric names (`workload.<key>`) reported by any of the runs. */
export function workloadMetricNames(runs: readonly RunMetrics[]): string[] {
  const keys = new Set<string>();
  for (const r of runs) for (const k of Object.keys(r.workload)) keys.add(`${WORKLOAD_PREFIX}${k}`);
  return [...keys].sort();
}

/**
 * Metrics compared between protocols in every summary, in display order. `requestsFailed` is there
 * because latencies are over ok requests only: a protocol that fails requests must show it.
 */
export const HEADLINE_METRICS: readonly MetricName[] = [
  'workloadMs',
  'completionP50Ms',
  'completionP99Ms',
  'ttfbP50Ms',
  'connectP50Ms',
  'goodputMbit',
  'requestsFailed',
  'stallMs',
  'synchronizedStallShare',
  'collateralStallMs',
];

/**
 * Fewest ok runs per side for a significant verdict. Below it the percentile bootstrap is
 * anti-conservative: on null data (both sides from one distribution) its 95% interval of a ratio
 * of medians excludes 1 in ~10% of cases with 3 runs per side and ~7-8% with 4, and in ≤ 5% from 5
 * on (docs/metrics.md § 4).
 */
export const MIN_RUNS_FOR_VERDICT = 5;

const finiteOf = (v: readonly (number | null)[]): number[] =>
  v.filter((x): x is number => x !== null && Number.isFinite(x));

/** The values of one metric in the two runs of a repetition (side a, side b); null when undefined. */
export type MetricPair = readonly [number | null, number | null];

/** A pair with a finite value on both sides. */
export const completePair = (p: MetricPair): p is readonly [number, number] =>
  p[0] !== null && p[1] !== null && Number.isFinite(p[0]) && Number.isFinite(p[1]);

/**
 * Contrast per-run values of side a against side b for one metric. `a` and `b` are the values of
 * the ok runs; `failedRuns` counts each side's failed runs (default none): when they differ the
 * contrast is not comparable and gets no verdict.
 *
 * `pairs` (protocol contrasts): the values of a and b per repetition, when both runs are ok. With
 * at least MIN_RUNS_FOR_VERDICT complete pairs the interval is paired (core/paired.ts; a ratio
 * needs every paired value positive, else the paired difference); with fewer, or without `pairs`
 * (compare of results whose seeds differ), each side is bootstrapped on its own. `method` and
 * `pairs` on the result say which.
 */
export function contrastMetric(
  def: MetricDef,
  a: readonly (number | null)[],
  b: readonly (number | null)[],
  names: { a: string; b: string },
  opts: BootstrapOptions & { failedRuns?: { a: number; b: number }; pairs?: readonly MetricPair[] },
): MetricContrast {
  const fa = finiteOf(a);
  const fb = finiteOf(b);
  const medianA = fa.length ? median(fa) : null;
  const medianB = fb.length ? median(fb) : null;
  const pairs = (opts.pairs ?? []).filter(completePair);
  const method = pairs.length >= MIN_RUNS_FOR_VERDICT ? 'paired' : 'unpaired';
  let kind: MetricContrast['kind'];
  let c: Contrast;
  if (method === 'paired') {
    const level = opts.confidence === undefined ? {} : { confidence: opts.confidence };
    const ratio = def.compareBy === 'ratio' ? pairedRatioCI(pairs, level) : null;
    kind = ratio ? 'ratio' : 'difference';
    const p = ratio ?? pairedDifferenceCI(pairs, level);
    c = { value: p.value, ci95: p.ci95, nA: fa.length, nB: fb.length };
  } else {
    // A ratio against a zero median is undefined: fall back to the difference.
    kind = def.compareBy === 'ratio' && medianB !== 0 ? 'ratio' : 'difference';
    c = kind === 'ratio' ? ratioCI(fa, fb, opts) : differenceCI(fa, fb, opts);
  }
  const none = kind === 'ratio' ? 1 : 0;
  const failedRunsA = opts.failedRuns?.a ?? 0;
  const failedRunsB = opts.failedRuns?.b ?? 0;
  const comparable = failedRunsA === failedRunsB;
  const enough = Math.min(c.nA, c.nB) >= MIN_RUNS_FOR_VERDICT;
  const significant = c.ci95 === null || !enough || !comparable ? null : c.ci95[0] > none || c.ci95[1] < none;
  let direction: MetricContrast['direction'] = null;
  if (significant === false) direction = 'same';
  else if (significant === true && c.value !== null) {
    const lower = c.value < none;
    direction = lower === (def.better === 'lower') ? 'better' : 'worse';
  }
  const relativeChange =
    c.value === null
      ? null
      : kind === 'ratio'
        ? c.value - 1
        : medianB !== null && medianB !== 0
          ? c.value / medianB
          : null;
  const out: MetricContrast = {
    ...c,
    metric: def.name,
    kind,
    medianA,
    medianB,
    significant,
    direction,
    failedRunsA,
    failedRunsB,
    comparable,
    relativeChange,
    verdict: '',
    method,
    pairs: pairs.length,
  };
  out.verdict = verdictText(def, out, names);
  return out;
}

function pct(x: number): string {
  const v = Math.abs(x) * 100;
  return v >= 10 ? v.toFixed(0) : v.toFixed(1);
}

/** A quantity in a metric's unit, for differences ("12.3 ms", "0.40 points", "3 stalls"). */
export function formatAmount(def: MetricDef, v: number): string {
  const a = Math.abs(v);
  switch (def.unit) {
    case 'share':
      return `${(a * 100).toFixed(0)} points`;
    case 'count':
      return a.toFixed(a < 10 && a % 1 !== 0 ? 1 : 0);
    case 'Mbit/s':
      return `${a.toFixed(a < 10 ? 2 : 1)} Mbit/s`;
    case 'ms':
      return `${a.toFixed(a < 10 ? 2 : 1)} ms`;
  }
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** Why a metric can be missing for a whole side: "missing … (no emulator loss log)". */
function missingWhy(def: MetricDef): string {
  switch (def.name) {
    case 'collateralStallMs':
    case 'stallsAfterLoss':
    case 'stallsWithoutLoss':
      return 'missing for %s (no emulator loss log)';
    case 'synchronizedStallShare':
      return 'undefined for %s (no stall while another stream was open on its connection)';
    default:
      return 'missing for %s';
  }
}

/**
 * The verdict of a contrast, in this order: "not comparable: …" (different numbers of failed runs),
 * "no verdict: … is missing", "too few runs for a verdict (n=3; need 5) …", "no difference: … is 0",
 * "no significant difference (…)", or "h3 completes the workload 23% faster than h2 [15%, 30%]".
 */
export function verdictText(def: MetricDef, c: MetricContrast, names: { a: string; b: string }): string {
  const { a, b } = names;
  const shown =
    c.value === null
      ? null
      : c.kind === 'ratio'
        ? `${a}/${b} = ${c.value.toFixed(2)}`
        : `${a} − ${b} = ${c.value >= 0 ? '+' : '−'}${formatAmount(def, c.value)}`;
  if (!c.comparable) {
    const total = c.failedRunsA + c.failedRunsB;
    return (
      `not comparable: ${plural(total, 'failed run')} (${a} ${c.failedRunsA}, ${b} ${c.failedRunsB}); ` +
      `the ok runs alone would favour the side that lost its worst runs` +
      (shown === null ? '' : ` (ok runs only: ${shown})`)
    );
  }
  const zeroBoth =
    c.medianA === 0 && c.medianB === 0 && (c.ci95 === null || (c.ci95[0] === 0 && c.ci95[1] === 0));
  if (c.value === null && !zeroBoth) {
    const missing = c.nA === 0 && c.nB === 0 ? `${a} and ${b}` : c.nA === 0 ? a : b;
    return `no verdict: ${def.label} is ${missingWhy(def).replace('%s', missing)}`;
  }
  const n = Math.min(c.nA, c.nB);
  if (n < MIN_RUNS_FOR_VERDICT) {
    const ns = c.nA === c.nB ? `n=${c.nA}` : `n=${c.nA} and ${c.nB}`;
    const what = zeroBoth ? `${def.label} is 0 for ${a} and ${b}` : (shown ?? '');
    return `too few runs for a verdict (${ns}; need ${MIN_RUNS_FOR_VERDICT}): ${what}`;
  }
  if (zeroBoth) return `no difference: ${def.label} is 0 for ${a} and ${b}`;
  if (c.value === null || shown === null) return `no verdict: ${def.label} is undefined`;
  if (c.ci95 === null) return `no verdict: no finite interval (${shown})`;
  const [lo, hi] = c.ci95;
  if (!c.significant) {
    const ci =
      c.kind === 'ratio'
        ? `[${lo.toFixed(2)}, ${hi.toFixed(2)}]`
        : `[${fmtSigned(def, lo)}, ${fmtSigned(def, hi)}]`;
    return `no significant difference (${shown} ${ci})`;
  }
  const lower = c.value < (c.kind === 'ratio' ? 1 : 0);
  const word = lower ? def.lowerWord : def.higherWord;
  if (c.kind === 'ratio') {
    // Change interval [lo-1, hi-1]; both bounds share the sign of the change here.
    const m1 = lower ? 1 - hi : lo - 1;
    const m2 = lower ? 1 - lo : hi - 1;
    return `${a} ${def.verb} ${pct(c.value - 1)}% ${word} than ${b} [${pct(m1)}%, ${pct(m2)}%]`;
  }
  const m1 = lower ? -hi : lo;
  const m2 = lower ? -lo : hi;
  return `${a} ${def.verb} ${formatAmount(def, c.value)} ${word} than ${b} [${formatAmount(def, m1)}, ${formatAmount(def, m2)}]`;
}

function fmtSigned(def: MetricDef, v: number): string {
  return `${v >= 0 ? '+' : '−'}${formatAmount(def, v)}`;
}
