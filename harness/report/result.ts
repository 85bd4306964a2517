/**
 * The result file (`results/<run-id>/result.json`) and its per-protocol summary. The format is
 * versioned: bump RESULT_SCHEMA_VERSION on any incompatible change; fields are only ever added.
 */
import type { ClientReport, ServerReport } from '../measure/records.js';
import { distribution, median, type Distribution } from '../measure/stats.js';
import type { Protocol, Scenario } from '../scenario/schema.js';
import type { PlannedRun } from '../runner/plan.js';
import type { FidelityProbe } from '../../netem/index.js';

export const RESULT_SCHEMA_VERSION = 1;

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
  };
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
  /** Request completion time (tEnd - tStart) of ok requests over all runs, ms. */
  completionMs: Distribution;
  /** Time to first byte (tHeaders - tStart) of requests that got headers, over all runs, ms. */
  ttfbMs: Distribution;
  /** Connection setup (tHandshakeDone - tStart) of every connection, ms. */
  handshakeMs: Distribution;
  /** Workload completion time of each run, ms. */
  workloadMs: { median: number; samples: number[] };
  /** CPU (user + system) per run, ms: medians. */
  cpuMs: { clientMedian: number; serverMedian: number };
  /** Body bytes received over all runs. */
  bytes: number;
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
  summary: {
    /** True when every run was ok. */
    ok: boolean;
    protocols: Partial<Record<Protocol, ProtocolSummary>>;
  };
}

export function summarizeProtocol(runs: readonly RunRecord[]): ProtocolSummary {
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
      if (r.error === null && r.tEnd !== null) {
        ok++;
        completion.push(r.tEnd - r.tStart);
      } else {
        failed++;
        if (r.timedOut) timedOut++;
      }
    }
  }
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
  };
}

export function summarize(protocols: readonly Protocol[], runs: readonly RunRecord[]): ResultFile['summary'] {
  const out: ResultFile['summary'] = { ok: runs.every((r) => r.ok), protocols: {} };
  for (const p of protocols) out.protocols[p] = summarizeProtocol(runs.filter((r) => r.protocol === p));
  return out;
}
