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
 * `requestsFailed` metric; per-run `socketDrops` and the `socket-buffer-drops` flag. 4 = optional
 * `partial` ({ reason, runsPlanned, runsDone }): the scenario stopped early (interrupted, or too many
 * consecutive infrastructure failures) and the file holds the runs finished until then; a run whose
 * link never came up has `link.provenance: null` (earlier files wrote `{}`, read as null); a run
 * that failed for any reason, infrastructure included, is a RunRecord with its `error`. The run
 * records are otherwise unchanged, so files of schema 1 to 3 are read by recomputing their summary.
 * 5 = protocol contrasts are paired by repetition: every contrast carries `method` ('paired' with
 * at least 5 complete pairs, else 'unpaired') and `pairs`; a paired contrast's `value` and `ci95`
 * are the paired estimate and interval (core/paired.ts). Run records unchanged; files of schema 1
 * to 4 get their summary recomputed (so paired) on read.
 * 6 = optional `stopping` (ResultFile.stopping): how many rounds (repetitions) ran and why the run
 * stopped — `fixed` (repetitions was a count), or for adaptive repetitions ({min, max, target})
 * `target-reached`, `max-repetitions` or `budget` — with the rule, the confidence of its intervals
 * and each headline contrast's interval and minimum detectable effect at the end. Absent from
 * partial results. Run records and summary unchanged.
 * 7 = optional sender telemetry per connection (`runs[i].server.telemetry`, `runs[i].client.telemetry`,
 * model/telemetry.ts), connection teardown times (`tCloseStart`, `tClosed`), attribution control runs
 * (`runs[i].control`, never pooled with the workload's runs), `summary.protocols.<p>.transport` (loss
 * response) and `summary.attribution`; the scenario records `server.scheduling` and `attribution`
 * (files before 7 read with `server.scheduling: null`: their h2 and h3 servers scheduled differently).
 * 8 = the scenario records its endpoints (`stacks.h3`, `stacks.server`: h3bench | caddy,
 * `stacks.client`: h3bench | chromium; files before 8 read as h3bench's own with quiche-0.18, the only
 * ones there were), page-load waves carry `type` and `depth`; a browser run's client report has a
 * `browser` block; shard and host marks for results run on several machines; a sweep may be a
 * two-key grid (`scenario.sweep.grid`: `rows` and `columns`, each {key, unit, values, labels}; the
 * points are its cells in row-major order, `sweep.values` their indices). Only additions.
 */
import type { Estimate } from '../../core/bootstrap.js';
import type { Distribution } from '../../core/stats.js';
import type { LinkRecord } from '../../link/record.js';
import type { Protocol, Scenario } from '../scenario/schema.js';
import type { ClientReport, ServerReport } from './records.js';
import type { AttributionEntry, TransportSummary } from './telemetry.js';
import type { LatencyHistogram, MetricName, ProtocolContrast, RunFlag, RunMetrics } from './metrics.js';

export const RESULT_SCHEMA_VERSION = 8;
/** Versions this build reads (every file gets its summary recomputed). */
export const READABLE_SCHEMA_VERSIONS: readonly number[] = [1, 2, 3, 4, 5, 6, 7, 8];

/** The machine and software a result was measured on (harness/measure/env.ts fills it). */
export interface Environment {
  node: string;
  kernel: string;
  /** `<platform> <arch>`. */
  platform: string;
  cpus: number;
  cpuModel: string | null;
  memoryBytes: number;
  /** Full commit id, `-dirty` when tracked files had changes; null outside a git checkout. */
  gitCommit: string | null;
  /** Version of the native quiche binding package. */
  quicheBinding: string | null;
  /** Host sysctls that decide how TCP and UDP behave (null: absent on this kernel). */
  hostSysctls: Record<string, string | null>;
  /** sha256 of the per-run test certificate (the key never reaches the results). */
  tlsCertificateSha256?: string;
  /** Schema 8: the machine's hostname (tells apart the machines of a sharded study). */
  hostname?: string;
}

/** One run of the plan: which repetition, protocol and sweep point, in execution order. */
export interface PlannedRun {
  /** 0-based index in execution order. */
  index: number;
  /** 0-based repetition. */
  repetition: number;
  protocol: Protocol;
  /** Index into scenario.sweep.values when the scenario is a sweep (the point this run measures). */
  sweepIndex?: number;
  /**
   * An attribution control run (`attribution: true`): one stream carrying the workload's total bytes
   * over the same link and seed. Never pooled with the workload's runs.
   */
  control?: boolean;
}

export interface RunRecord extends PlannedRun {
  /** True when both processes ran to the end and failures stayed within the allowance. */
  ok: boolean;
  /**
   * Why the run failed, null if ok: a process crash, too many failed requests, or an infrastructure
   * failure (link not coming up, emulator crash, server not starting), with its cause.
   */
  error: string | null;
  client: ClientReport | null;
  server: ServerReport | null;
  link: LinkRecord;
  /** Schema 7: why sender telemetry is missing or incomplete (it never fails a run). */
  telemetryErrors?: string[];

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
  /** Schema 2: workload-level metrics the client reported (pageLoadMs, bodyRateMbit...), medians with 95% CI. */
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
  /**
   * Schema 7: the loss response of the sender (the server), from its telemetry joined to the
   * emulator's drop log; absent when no run of this protocol recorded telemetry.
   */
  transport?: TransportSummary;
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
  /**
   * Schema 7: each contrast of workload completion decomposed into setup × single-stream transport ×
   * multiplexing, from the control runs (`attribution: true`); absent without control runs.
   */
  attribution?: AttributionEntry[];
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
  environment: Environment;
  runs: RunRecord[];
  summary: ResultSummary;
  /** Schema 4: present when the scenario stopped before every planned run was done. */
  partial?: PartialRun;
  /** Schema 6: rounds run and why the run stopped (absent from a partial result). */
  stopping?: StoppingRecord;
  /**
   * Schema 8: the plan the runs were drawn from (absent from files of earlier builds). A shard, a
   * resumed result and a merged one hold runs of the same full plan, with its run indices.
   */
  plan?: PlanRecord;
  /** Schema 8: set on the result of one shard of a study (`h3bench run --shard I/N`). */
  shard?: ShardMark;
  /**
   * Schema 8: the machines and sessions whose runs this result holds, one entry each; set on merged
   * (`h3bench merge`) and resumed (`h3bench run --resume`) results, absent from a single run's.
   */
  hosts?: HostRecord[];
  /** Schema 8: set on a result made by `h3bench merge`: the pieces merged. */
  merged?: MergeRecord;
  /** Schema 8: set on a result made by `h3bench run --resume`: the partial result it completed. */
  resumed?: ResumeRecord;
}

/**
 * The full plan of a study (schema 8): every repetition of every protocol, sweep point and control
 * run in its seeded order (runner/plan.ts `planRuns`), whatever part of it a result holds.
 */
export interface PlanRecord {
  /** sha256 of the scenario hash, the seed and every planned run (runner/plan.ts `planHash`). */
  hash: string;
  /** Runs of the full plan. */
  runs: number;
  /** Repetitions of the full plan. */
  repetitions: number;
  /** Sweep points each repetition covers (0: not a sweep). */
  sweepPoints: number;
}

/**
 * Which shard of a study a result holds (schema 8). Shards partition the repetitions: repetition r
 * belongs to shard r mod count (runner/plan.ts `shardRepetitions`), with every run of it.
 */
export interface ShardMark {
  /** 0-based. */
  index: number;
  count: number;
  /** The repetitions of this shard (0-based). */
  repetitions: number[];
}

/** A machine (one session of h3bench on it) that ran some of a result's runs (schema 8). */
export interface HostRecord {
  /** Run id of the result its runs were first published in. */
  runId: string;
  /** ISO time that session started. */
  createdAt: string;
  /** The shard that session ran, when it ran one. */
  shard?: { index: number; count: number };
  hostname: string | null;
  cpuModel: string | null;
  cpus: number;
  kernel: string;
  /** The code it ran (Environment.gitCommit). */
  gitCommit: string | null;
  /** Emulator backends its runs actually used (link provenance), sorted; empty: none recorded. */
  backends: string[];
  /** Indices (in the full plan) of the runs it contributed. */
  runIndices: number[];
}

/** What `h3bench merge` put together (schema 8). */
export interface MergeRecord {
  /** Shards the study was split into. */
  shardCount: number;
  /** One entry per merged piece, by shard index. */
  pieces: { index: number; runId: string; runs: number; partial?: string }[];
  /** Shards with no piece (merged with --allow-missing). */
  missingShards: number[];
}

/** What `h3bench run --resume` completed (schema 8). */
export interface ResumeRecord {
  /** Run id and directory name of the partial result it continued (left in place). */
  fromRunId: string;
  fromDir: string;
  /** ISO time the resume started. */
  at: string;
  /** Runs of the partial result kept as they were. */
  kept: number;
  /**
   * Runs of the partial result that failed before their client ran (link, fidelity probe, server):
   * they measured nothing and were run again; their errors are kept here.
   */
  rerun: { index: number; error: string }[];
}

/** Why a run ran as many rounds as it did (schema 6). `fixed`: `repetitions` was a count. */
export const STOP_REASONS = ['target-reached', 'max-repetitions', 'budget', 'fixed'] as const;
export type StopReason = (typeof STOP_REASONS)[number];

/**
 * How many rounds ran and why (schema 6). For adaptive repetitions the intervals below are the ones
 * the stopping rule looked at: paired, at `confidence` = 1 - 0.05 / `looks` (Bonferroni over the
 * looks after rounds min..max; harness/measure/stopping.ts). A fixed run records its contrasts at
 * the nominal 95% (one look).
 */
export interface StoppingRecord {
  reason: StopReason;
  /** Rounds run: every protocol (and every sweep point) once per round. */
  rounds: number;
  /** 'bonferroni-looks' (adaptive) or 'none' (fixed). */
  rule: 'bonferroni-looks' | 'none';
  /** Looks the error rate was spread over (1 for a fixed run). */
  looks: number;
  /** Confidence of every interval in `contrasts`. */
  confidence: number;
  /** Adaptive only: min and max rounds, target relative half-width (percent), budget (ms or null). */
  min?: number;
  max?: number;
  targetPct?: number;
  budgetMs?: number | null;
  /** Headline contrasts (h3 against the others; per sweep point) at the end. */
  contrasts: StoppingContrastRecord[];
}

/** One headline contrast at the end of a run (schema 6). */
export interface StoppingContrastRecord {
  a: string;
  b: string;
  metric: string;
  sweepIndex?: number;
  kind: 'ratio' | 'difference';
  /** Whether it took part in the stopping decision (a headline ratio that is defined). */
  decides: boolean;
  pairs: number;
  value: number | null;
  ci: [number, number] | null;
  /**
   * Minimum detectable effect: the interval's relative half-width (ratio: max(hi / v, v / lo) - 1;
   * difference: half-width / |median of side b|); null when undefined.
   */
  minDetectableEffect: number | null;
}

/** Why a result holds fewer runs than planned (schema 4). */
export interface PartialRun {
  /** e.g. "interrupted by SIGINT", "3 consecutive infrastructure failures: ...". */
  reason: string;
  /** Runs the plan had. */
  runsPlanned: number;
  /** Runs recorded in `runs` (ok or failed). */
  runsDone: number;
}
