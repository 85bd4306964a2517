/**
 * The summary of a result file, computed from its run records: per-run analysis, per-protocol
 * medians with intervals, histograms, contrasts, sweep points. The runner calls it on write, the
 * report layer on read (every file is re-summarised by this build's analysis).
 */
import { distribution, median } from '../../core/stats.js';
import {
  RESULT_SCHEMA_VERSION,
  type HolSummary,
  type ProtocolSummary,
  type ResultFile,
  type ResultSummary,
  type RunRecord,
  type SweepPointSummary,
} from '../model/result.js';
import type { Protocol, Scenario } from '../scenario/schema.js';
import { analyzeRun, runFlags, type RunInput } from './analysis.js';
import { latencyHistogram } from './histograms.js';
import { HEADLINE_METRICS, workloadMetricNames } from './metrics.js';
import { isOk } from './outcome.js';
import {
  byProtocolAtPoint,
  estimateAll,
  estimateWorkloadMetrics,
  failedRunCount,
  protocolContrasts,
  usableRuns,
} from './summary.js';
import type { RunMetrics } from '../model/metrics.js';
import { lookConfidence } from './stopping.js';
import { runTransport, transportSummary } from './telemetry.js';
import { attribution } from './attribution.js';

/**
 * The runs the protocol summaries, contrasts, per-run rows and HOL metrics are made of: every run
 * but the attribution controls (`control: true`), which carry one stream instead of the workload
 * and are used only by the attribution (measure/attribution.ts).
 */
export function workloadRuns<T extends { control?: boolean }>(runs: readonly T[]): T[] {
  return runs.filter((r) => r.control !== true);
}

/** Configured RTT and loss of the run's path: from its probe, else from the scenario's profile. */
function pathOf(
  run: RunRecord,
  scenario: Scenario | undefined,
): { rttMs: number | null; lossless: boolean | null } {
  const backend = run.link.provenance?.backend ?? scenario?.network.backend;
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

/**
 * Summary of one protocol's workload runs. `metrics` are their per-run metrics (same order). Control
 * runs must not be given (summarize leaves them out).
 */
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
  const transport = transportSummary(
    runs.map((r) => runTransport(r, pathOf(r, scenario).rttMs)),
    seedBase,
    protocol,
  );
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
    ...(transport ? { transport } : {}),
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
  all: readonly RunRecord[],
  scenario?: Scenario,
): ResultSummary {
  const sweep = scenario?.sweep ?? null;
  const runs = workloadRuns(all);
  const out: ResultSummary = {
    ok: all.every((r) => r.ok),
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
  // An adaptive run looked at its intervals after every round and stopped when they were narrow:
  // its verdicts use the per-look level that keeps the coverage of the one it stopped at.
  const confidence = scenario?.adaptive ? lookConfidence(scenario.adaptive) : undefined;
  const contrasted = [...HEADLINE_METRICS, ...workloadMetricNames(out.runs)];
  if (!sweep) {
    out.comparisons = protocolContrasts(byProtocol, seed, contrasted, confidence);
  } else {
    // Contrasts per point only: pooling the points would compare a mixture of conditions.
    out.sweep = sweep.values.map((value, i) => {
      const here = byProtocolAtPoint(byProtocol, i);
      const point: SweepPointSummary = {
        value,
        protocols: {},
        comparisons: protocolContrasts(here, `${seed}@${i}`, contrasted, confidence),
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
  const attributed = attribution(all, protocols, scenario);
  if (attributed) out.attribution = attributed;
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
