/**
 * The result file (`results/<run-id>/result.json`) and its summary. The format is versioned: bump
 * RESULT_SCHEMA_VERSION on any change of shape; fields are only ever added. The zod schema that
 * validates it on write and on read is in schema.ts.
 *
 * Schema history: 1 = foundation (runs, pooled distributions). 2 = adds per-run metrics
 * (`summary.runs`), medians with bootstrap CIs (`metrics`, `hol`), HDR histograms, protocol
 * contrasts with verdicts, flags, `Distribution.p999`, optional `link.lossTimesMs` and `sweepIndex`,
 * per-sweep-point estimates. 3 = `synchronizedStallShare` is null (not 0) for a run without
 * contended stall time; for a sweep the contrasts are per point (`summary.sweep[i].comparisons`,
 * with run and request counts in `summary.sweep[i].counts`) and `summary.comparisons` is empty;
 * contrasts carry `failedRunsA/B` and `comparable`, and need 5 ok runs per side for a verdict; the
 * `requestsFailed` metric; per-run `socketDrops` and the `socket-buffer-drops` flag. The run records
 * are unchanged, so files of schema 1 and 2 are read by recomputing their summary.
 */
import { analyzeRun, runFlags, type RunFlag, type RunInput, type RunMetrics } from '../measure/analysis.js';
import type { Estimate } from '../../core/bootstrap.js';
import { latencyHistogram, type LatencyHistogram } from '../measure/histograms.js';
import { HEADLINE_METRICS, workloadMetricNames, type MetricName } from '../measure/metrics.js';
import { isOk } from '../measure/outcome.js';
import type { ClientReport, ServerReport } from './records.js';
import { distribution, median, type Distribution } from '../../core/stats.js';
import {
  byProtocolAtPoint,
  estimateAll,
  estimateWorkloadMetrics,
  failedRunCount,
  protocolContrasts,
  usableRuns,
  type ProtocolContrast,
} from '../measure/summary.js';
import type { Protocol, Scenario } from '../scenario/schema.js';
import type { PlannedRun } from '../runner/plan.js';
import type { FidelityProbe } from '../../link/index.js';

export const RESULT_SCHEMA_VERSION = 3;
/** Versions this build reads (every file gets its summary recomputed). */
export const READABLE_SCHEMA_VERSIONS: readonly number[] = [1, 2, 3];

export interface RunRecord extends PlannedRun {
  /** True when both processes ran to the end and failures stayed within the allowance. */
  ok: boolean;
  /** Why the run failed (process crash, too many failed requests), null if ok. */
  error: string | null;
  client: ClientReport | null;
  server: ServerReport | null;
  link: {
    provenance: Record<string, unknown>;
    probe: FidelityProbe | null;
    counters: Record<string, unknown>;
    /**
     * Times the emulator dropped a packet (either direction), ms since the client's t0, from its
     * per-packet log. Absent when the backend keeps no log (HOL loss joins are then unknown unless
     * the path is lossless).
     */
    lossTimesMs?: number[];
  };
  /** Index into scenario.sweep.values when the scenario is a sweep (the point this run measured). */
  sweepIndex?: number;
}

/** HOL metrics of a protocol: medians over runs with 95% intervals (docs/metrics.md). */
export interface HolSummary {
  /** Stall threshold used, ms (median over runs); null with no analysed run. */
  thresholdMs: number | null;
  /** Whether loss-joined metrics could be computed: from a loss log, or known-lossless path, or not. */
  lossLog: 'present' | 'lossless-path' | 'absent';
  /** Stalls per run (all streams). */
  stallCount: Estimate;
  /** Stall time per run, stream-ms. */
  stallMs: Estimate;
  /**
   * Share of contended stall time during which every other open stream on the connection was
   * blocked too, 0..1, over the runs that had contended stall time (`n`); median null when none had
   * (always for HTTP/1.1: one stream per connection at a time).
   */
  synchronizedStallShare: Estimate;
  /** Synchronized stall time per run, stream-ms (subset of stallMs). */
  synchronizedStallMs: Estimate;
  /** Collateral stall time per run, stream-ms (subset of synchronizedStallMs); n = 0 without loss log. */
  collateralStallMs: Estimate;
  /** Stalls with a loss within one RTT of their start, per run (subset of stallCount). */
  stallsAfterLoss: Estimate;
  /** stallCount - stallsAfterLoss, per run. */
  stallsWithoutLoss: Estimate;
}

export interface ProtocolSummary {
  /** Runs of this protocol (one per repetition). */
  runs: number;
  /** Runs that failed (subset of runs). */
  runsFailed: number;
  requests: {
    /** Requests completed with status 200 and the full body. */
    ok: number;
    /** Requests that failed (ok + failed = all requests of all runs). */
    failed: number;
    /** Failed by timeout (subset of failed). */
    timedOut: number;
  };
  /**
   * Legacy (schema 1): request completion time (tEnd - tStart) of ok requests pooled over all runs,
   * failed runs included, ms. The reports use `metrics` (per-run values from tIntended, medians over
   * ok runs) instead.
   */
  completionMs: Distribution;
  /** Legacy (schema 1): time to first byte (tHeaders - tStart) of requests that got headers, pooled over all runs, ms. */
  ttfbMs: Distribution;
  /** Connection setup (tHandshakeDone - tStart) of every connection, ms. */
  handshakeMs: Distribution;
  /** Workload completion time of each run, ms. */
  workloadMs: { median: number; samples: number[] };
  /** CPU (user + system) per run, ms: medians. */
  cpuMs: { clientMedian: number; serverMedian: number };
  /** Body bytes received over all runs. */
  bytes: number;
  /** Schema 2: every catalogue metric (measure/metrics.ts) as median over ok runs with 95% CI. */
  metrics: Record<MetricName, Estimate>;
  /** Schema 2: workload-level metrics the client reported (pageLoadMs, goodputMbps...), medians with 95% CI. */
  workloadMetrics: Record<string, Estimate>;
  /** Schema 2: HOL metrics (medians over ok runs with 95% CIs). */
  hol: HolSummary;
  /**
   * Schema 2: HDR histograms pooled over ok runs, ms, measured from the intended send time:
   * connection setup, TTFB, request completion; workload completion (one value per run).
   */
  histograms: {
    connectMs: LatencyHistogram;
    ttfbMs: LatencyHistogram;
    completionMs: LatencyHistogram;
    workloadMs: LatencyHistogram;
  };
  /** Schema 2: flags of this protocol's runs (subset of summary.flags). */
  flags: RunFlag[];
}

/** Runs and requests of one protocol at one sweep point. */
export interface PointCounts {
  runs: number;
  /** Failed runs (subset of runs). */
  runsFailed: number;
  /** Requests of all runs with a client report: ok + failed. */
  requestsOk: number;
  requestsFailed: number;
}

/** One point of a sweep: estimates and contrasts per protocol at one parameter value. */
export interface SweepPointSummary {
  value: number;
  protocols: Partial<Record<Protocol, Record<MetricName, Estimate>>>;
  /** Schema 3: h3/h2, h3/h1, h2/h1 contrasts of this point's runs, with verdicts. */
  comparisons: ProtocolContrast[];
  /** Schema 3: run and request counts per protocol at this point. */
  counts: Partial<Record<Protocol, PointCounts>>;
}

export interface ResultSummary {
  /** True when every run was ok. */
  ok: boolean;
  protocols: Partial<Record<Protocol, ProtocolSummary>>;
  /** Schema 2: per-run metrics, in run order (one row of runs.csv each). */
  runs: RunMetrics[];
  /**
   * Schema 2: h3/h2, h3/h1, h2/h1 contrasts of the headline metrics with verdicts. Empty for a
   * sweep (schema 3): runs of different points measure different conditions, so the contrasts are
   * per point, in `sweep[i].comparisons`.
   */
  comparisons: ProtocolContrast[];
  /** Schema 2: every flag (failed runs, CPU saturation, failed fidelity probes, socket-buffer drops). */
  flags: RunFlag[];
  /** Schema 2: estimates per sweep point (scenario.sweep.values order), when the scenario is a sweep. */
  sweep?: SweepPointSummary[];
}

export interface ResultFile {
  schemaVersion: number;
  runId: string;
  /** ISO time the run started. */
  createdAt: string;
  scenarioFile: string;
  /** sha256 of the canonical scenario JSON. */
  scenarioHash: string;
  scenario: Scenario;
  environment: Record<string, unknown>;
  runs: RunRecord[];
  summary: ResultSummary;
}

/** Configured RTT and loss of the run's path: from its probe, else from the scenario's profile. */
function pathOf(
  run: RunRecord,
  scenario: Scenario | undefined,
): { rttMs: number | null; lossless: boolean | null } {
  const backend = run.link.provenance.backend ?? scenario?.network.backend;
  if (backend === 'none') return { rttMs: null, lossless: true };
  const probe = run.link.probe;
  if (probe) return { rttMs: probe.configuredRttMs, lossless: probe.configuredLossPct === 0 };
  if (scenario) {
    const p = scenario.network.profile;
    return {
      rttMs: p.down.delayMs + p.up.delayMs,
      lossless: p.down.loss.model === 'none' && p.up.loss.model === 'none',
    };
  }
  return { rttMs: null, lossless: null };
}

/** What the per-run analysis needs from a run record. */
export function runInput(run: RunRecord, scenario?: Scenario): RunInput {
  const path = pathOf(run, scenario);
  const lossTimesMs = run.link.lossTimesMs ?? (path.lossless === true ? [] : null);
  const probeRtt = run.link.probe?.measuredRttMs.p50;
  return {
    index: run.index,
    repetition: run.repetition,
    protocol: run.protocol,
    ok: run.ok,
    client: run.client,
    server: run.server,
    lossTimesMs,
    configuredRttMs: path.rttMs,
    probeRttMs: probeRtt !== undefined && Number.isFinite(probeRtt) ? probeRtt : null,
    probeOk: run.link.probe ? run.link.probe.ok : null,
    ...(run.sweepIndex === undefined ? {} : { sweepIndex: run.sweepIndex }),
    ...(run.link.counters.sockets === undefined ? {} : { socketCounters: run.link.counters.sockets }),
  };
}

function lossLogOf(runs: readonly RunRecord[], inputs: readonly RunInput[]): HolSummary['lossLog'] {
  if (runs.length > 0 && runs.every((r) => r.link.lossTimesMs !== undefined)) return 'present';
  return inputs.length > 0 && inputs.every((i) => i.lossTimesMs !== null) ? 'lossless-path' : 'absent';
}

/** Summary of one protocol's runs. `metrics` are their per-run metrics (same order). */
export function summarizeProtocol(
  runs: readonly RunRecord[],
  scenario?: Scenario,
  analysed?: {
    metrics: RunMetrics[];
    histSamples: { connectMs: number[]; ttfbMs: number[]; completionMs: number[] };
  },
): ProtocolSummary {
  const completion: number[] = [];
  const ttfb: number[] = [];
  const handshake: number[] = [];
  const workload: number[] = [];
  const cpuClient: number[] = [];
  const cpuServer: number[] = [];
  let ok = 0;
  let failed = 0;
  let timedOut = 0;
  let bytes = 0;
  for (const run of runs) {
    const c = run.client;
    if (c === null) continue;
    workload.push(c.durationMs);
    cpuClient.push(c.cpu.userMs + c.cpu.systemMs);
    if (run.server) cpuServer.push(run.server.cpu.userMs + run.server.cpu.systemMs);
    for (const conn of c.connections) {
      if (conn.tHandshakeDone !== null) handshake.push(conn.tHandshakeDone - conn.tStart);
    }
    for (const r of c.requests) {
      bytes += r.bytes;
      if (r.tHeaders !== null) ttfb.push(r.tHeaders - r.tStart);
      if (isOk(r)) {
        ok++;
        completion.push(r.tEnd - r.tStart);
      } else {
        failed++;
        if (r.timedOut) timedOut++;
      }
    }
  }
  const a = analysed ?? analyseRuns(runs, scenario);
  const protocol = runs[0]?.protocol ?? 'none';
  const seedBase = scenario?.seed ?? 0;
  const est = estimateAll(a.metrics, seedBase, protocol);
  const inputs = runs.map((r) => runInput(r, scenario));
  const thresholds = usableRuns(a.metrics)
    .map((m) => m.hol?.thresholdMs)
    .filter((v): v is number => v !== undefined && Number.isFinite(v));
  const flags = a.metrics.flatMap((m, i) => runFlags(m, runs[i]?.error ?? null));
  return {
    runs: runs.length,
    runsFailed: runs.filter((r) => !r.ok).length,
    requests: { ok, failed, timedOut },
    completionMs: distribution(completion),
    ttfbMs: distribution(ttfb),
    handshakeMs: distribution(handshake),
    workloadMs: { median: median(workload), samples: workload },
    cpuMs: { clientMedian: median(cpuClient), serverMedian: median(cpuServer) },
    bytes,
    metrics: est,
    workloadMetrics: estimateWorkloadMetrics(a.metrics, seedBase, protocol),
    hol: {
      thresholdMs: thresholds.length ? median(thresholds) : null,
      lossLog: lossLogOf(runs, inputs),
      stallCount: est.stallCount,
      stallMs: est.stallMs,
      synchronizedStallShare: est.synchronizedStallShare,
      synchronizedStallMs: est.synchronizedStallMs,
      collateralStallMs: est.collateralStallMs,
      stallsAfterLoss: est.stallsAfterLoss,
      stallsWithoutLoss: est.stallsWithoutLoss,
    },
    histograms: {
      connectMs: latencyHistogram(a.histSamples.connectMs),
      ttfbMs: latencyHistogram(a.histSamples.ttfbMs),
      completionMs: latencyHistogram(a.histSamples.completionMs),
      workloadMs: latencyHistogram(usableRuns(a.metrics).map((m) => m.workloadMs ?? NaN)),
    },
    flags,
  };
}

/** Analyse runs one by one; latency samples of ok runs are pooled for the histograms. */
function analyseRuns(runs: readonly RunRecord[], scenario: Scenario | undefined) {
  const metrics: RunMetrics[] = [];
  const histSamples = { connectMs: [] as number[], ttfbMs: [] as number[], completionMs: [] as number[] };
  for (const run of runs) {
    const { metrics: m, samples } = analyzeRun(runInput(run, scenario));
    metrics.push(m);
    if (!m.ok) continue;
    for (const k of ['connectMs', 'ttfbMs', 'completionMs'] as const) {
      for (const v of samples[k]) histSamples[k].push(v);
    }
  }
  return { metrics, histSamples };
}

/**
 * The summary of a result: per protocol, per run, contrasts, flags, sweep points. `scenario`
 * supplies the configured path (RTT, loss) when runs carry no fidelity probe; always pass it when
 * you have it (the report layer does).
 */
export function summarize(
  protocols: readonly Protocol[],
  runs: readonly RunRecord[],
  scenario?: Scenario,
): ResultSummary {
  const sweep = scenario?.sweep ?? null;
  const out: ResultSummary = {
    ok: runs.every((r) => r.ok),
    protocols: {},
    runs: [],
    comparisons: [],
    flags: [],
  };
  const byProtocol = new Map<string, RunMetrics[]>();
  const metricsByIndex = new Map<number, RunMetrics>();
  for (const p of protocols) {
    const mine = runs.filter((r) => r.protocol === p);
    const a = analyseRuns(mine, scenario);
    const ps = summarizeProtocol(mine, scenario, a);
    out.protocols[p] = ps;
    byProtocol.set(p, a.metrics);
    a.metrics.forEach((m) => metricsByIndex.set(m.index, m));
    out.flags.push(...ps.flags);
  }
  out.runs = runs.map((r) => metricsByIndex.get(r.index)).filter((m): m is RunMetrics => m !== undefined);
  out.flags.sort((x, y) => x.run - y.run);
  const seed = scenario?.seed ?? 0;
  const contrasted = [...HEADLINE_METRICS, ...workloadMetricNames(out.runs)];
  if (!sweep) {
    out.comparisons = protocolContrasts(byProtocol, seed, contrasted);
  } else {
    // Contrasts per point only: pooling the points would compare a mixture of conditions.
    out.sweep = sweep.values.map((value, i) => {
      const here = byProtocolAtPoint(byProtocol, i);
      const point: SweepPointSummary = {
        value,
        protocols: {},
        comparisons: protocolContrasts(here, `${seed}@${i}`, contrasted),
        counts: {},
      };
      for (const p of protocols) {
        const rows = here.get(p);
        if (!rows) continue;
        point.protocols[p] = estimateAll(rows, seed, `${p}@${i}`);
        point.counts[p] = {
          runs: rows.length,
          runsFailed: failedRunCount(rows),
          requestsOk: rows.reduce((n, r) => n + r.requestsOk, 0),
          requestsFailed: rows.reduce((n, r) => n + r.requestsFailed, 0),
        };
      }
      return point;
    });
  }
  return out;
}

/** The result with its summary recomputed from its runs by this build's analysis. */
export function resummarize(result: ResultFile): ResultFile {
  return {
    ...result,
    schemaVersion: RESULT_SCHEMA_VERSION,
    summary: summarize(result.scenario.protocols, result.runs, result.scenario),
  };
}
