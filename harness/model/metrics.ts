/**
 * The shapes of what the analysis stores in a result file: per-run metrics and flags, the metric
 * catalogue's names, histograms and contrasts. `harness/measure` computes them; the result file,
 * the reports and `compare` read them.
 */
import type { Contrast } from '../../core/bootstrap.js';

export const METRIC_NAMES = [
  'workloadMs',
  'completionP50Ms',
  'completionP99Ms',
  'ttfbP50Ms',
  'connectP50Ms',
  'goodputMbit',
  'stallCount',
  'stallMs',
  'synchronizedStallShare',
  'synchronizedStallMs',
  'collateralStallMs',
  'stallsAfterLoss',
  'stallsWithoutLoss',
  'requestsFailed',
] as const;
export type MetricName = (typeof METRIC_NAMES)[number];
/** A catalogue metric, or a workload-level metric the client reported: `workload.<key>`. */
export type AnyMetricName = MetricName | `workload.${string}`;

/** Kinds of RunFlag. */
export const RUN_FLAG_KINDS = [
  'run-failed',
  'cpu-saturated',
  'fidelity-probe-failed',
  'socket-buffer-drops',
] as const;

/** Why a run's numbers deserve caution. */
export interface RunFlag {
  kind: (typeof RUN_FLAG_KINDS)[number];
  run: number;
  protocol: string;
  message: string;
}

/** Packets dropped by full socket receive buffers during a run: loss that is not the emulated network's. */
export interface SocketDrops {
  /** Sum of `counts`. */
  total: number;
  /** Per namespace and counter, e.g. `client.Udp.RcvbufErrors` → 12 (counters that were recorded). */
  counts: Record<string, number>;
}

/** HOL numbers of one run as stored (measure/hol.ts computes them, with per-stream detail besides). */
export interface RunHolSummary {
  thresholdMs: number;
  lossWindowMs: number;
  /** Stalls over all streams. */
  stallCount: number;
  /** Σ stall lengths over all streams, ms. */
  stallMs: number;
  /** Part of stallMs during which ≥ 1 other stream of the same connection was open, ms. */
  contendedStallMs: number;
  /** Part of contendedStallMs during which every other open stream of the connection was blocked too, ms. */
  synchronizedStallMs: number;
  /**
   * synchronizedStallMs / contendedStallMs; null when contendedStallMs is 0 (no stall overlapped
   * another open stream of its connection, e.g. always for HTTP/1.1): no evidence either way, and
   * 0 would read as "no head-of-line blocking".
   */
  synchronizedStallShare: number | null;
  /**
   * Stall suffered while another stream's data was being recovered, ms: in synchronized episodes
   * with a loss within ±W of the episode start, every blocked stream but one. Null without a loss log.
   */
  collateralStallMs: number | null;
  /** Stalls with a loss within ±W of their start (subset of stallCount); null without a loss log. */
  stallsAfterLoss: number | null;
  /** stallCount - stallsAfterLoss; null without a loss log. */
  stallsWithoutLoss: number | null;
  /** Drops in the loss log; null without one. */
  lossEvents: number | null;
}

/**
 * Per-run metrics (one row of runs.csv). Times in ms; latencies measured from the intended send
 * time (tIntended; equal to the start for closed-loop workloads), over the run's ok requests.
 */
export interface RunMetrics {
  index: number;
  repetition: number;
  protocol: string;
  ok: boolean;
  sweepIndex?: number;
  /** Requests issued; requestsOk + requestsFailed = requests; requestsTimedOut ⊆ requestsFailed. */
  requests: number;
  requestsOk: number;
  requestsFailed: number;
  requestsTimedOut: number;
  /** Body bytes received (all requests). */
  bytes: number;
  /** Connections opened. */
  connections: number;
  /** Workload completion: last request finished, ms since t0. */
  workloadMs: number | null;
  completionP50Ms: number | null;
  completionP90Ms: number | null;
  completionP99Ms: number | null;
  completionMaxMs: number | null;
  /** Time to first byte (headers), p50/p99 over requests that got headers. */
  ttfbP50Ms: number | null;
  ttfbP99Ms: number | null;
  /** Connection setup (handshake done - connection start), p50 over connections. */
  connectP50Ms: number | null;
  /** Body bytes received × 8 / workload completion, Mbit/s. */
  goodputMbit: number | null;
  /** Client / server CPU (user + system), ms. */
  cpuClientMs: number | null;
  cpuServerMs: number | null;
  /** CPU / wall time (1.0 = one core busy). */
  cpuClientShare: number | null;
  /**
   * A browser client's cores (its processes together may use several): the client counts as
   * CPU-bound at CPU_SATURATION_SHARE of all of them, not of one. Absent for h3bench's clients.
   */
  cpuClientCores?: number;
  cpuServerShare: number | null;
  probeOk: boolean | null;
  /** Path RTT the stall threshold is tied to, ms. */
  rttMs: number;
  /** Workload-level metrics the client reported (unit in the name: pageLoadMs, bodyRateMbit...). */
  workload: Record<string, number>;
  /** HOL metrics; null when the client reported nothing. */
  hol: RunHolSummary | null;
  /** Packets dropped by full socket receive buffers in the host; null when not recorded. */
  socketDrops: SocketDrops | null;
}

/** A latency histogram as stored in result.json. All values in ms. */
export interface LatencyHistogram {
  /** Number of recorded values. */
  n: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  p999: number | null;
  max: number | null;
  /** HdrHistogram compressed base64 (V2 encoding) of the values in µs. */
  encoded: string;
}

/** The contrast of a metric between side a and side b, with its verdict. */
export interface MetricContrast extends Contrast {
  metric: AnyMetricName;
  /**
   * 'ratio': value = median(a)/median(b); 'difference': value = median(a) - median(b) (metric unit).
   * For a paired contrast (`method`) the value is the paired estimate of the same ratio or difference.
   */
  kind: 'ratio' | 'difference';
  /** Medians of each side (metric unit). */
  medianA: number | null;
  medianB: number | null;
  /**
   * True when the interval excludes "no change" (1 for a ratio, 0 for a difference); null without a
   * verdict: no interval, fewer than MIN_RUNS_FOR_VERDICT ok runs on a side, or not comparable.
   */
  significant: boolean | null;
  /** a relative to b: better, worse, or no significant difference; null without a verdict. */
  direction: 'better' | 'worse' | 'same' | null;
  /** Failed runs (left out of the statistics) on side a and side b. */
  failedRunsA: number;
  failedRunsB: number;
  /**
   * False when the sides have different numbers of failed runs: the statistics cover the surviving
   * runs only, so a side that lost its worst runs would look better (survivorship). No verdict then.
   */
  comparable: boolean;
  /** Relative change a vs b (ratio - 1, or difference / median(b)); null when undefined. */
  relativeChange: number | null;
  /** Plain-language verdict. */
  verdict: string;
  /**
   * How the interval was computed (schema 5). 'paired': over per-repetition pairs of runs that
   * shared their seeds (core/paired.ts: trimmed mean of the pairs' log-ratios or differences, Yuen's
   * interval); `value` is then that paired estimate, not the ratio or difference of medianA and
   * medianB. 'unpaired': each side bootstrapped on its own (core/bootstrap.ts), as before schema 5;
   * used with fewer than MIN_RUNS_FOR_VERDICT complete pairs, and by `compare` when the baseline's
   * and the current result's seeds differ.
   */
  method: 'paired' | 'unpaired';
  /**
   * Complete pairs: repetitions where both runs are ok and have a value for the metric (and, for a
   * paired ratio, positive values). 0 when the sides are not paired at all (`compare`).
   */
  pairs: number;
}

export interface ProtocolContrast extends MetricContrast {
  /** Side a (numerator of a ratio) and side b. */
  a: string;
  b: string;
}
