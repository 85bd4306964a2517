/**
 * Per-run analysis: from one run's raw records to the numbers every report and `compare` use.
 * One run (repetition) is the statistical unit; across-run statistics live in summary.ts.
 */
import { runTimeline, type RunTimeline } from './events.js';
import { analyzeHol, holOptionsForRtt, pathRttMs, type RunHol } from './hol.js';
import { currentWorkloadMetrics } from './metrics.js';
import { isOk } from './outcome.js';
import type { ClientReport, CpuUsage, ServerReport } from '../model/records.js';
import { distribution } from '../../core/stats.js';
import type { RunFlag, RunHolSummary, RunMetrics, SocketDrops } from '../model/metrics.js';

/** CPU time / wall time at or above which a process counts as saturated (one core = 1.0). */
export const CPU_SATURATION_SHARE = 0.9;

/** What the analysis of one run needs; the report layer fills it from a RunRecord. */
export interface RunInput {
  index: number;
  repetition: number;
  protocol: string;
  /** The run finished and stayed within the failure allowance. */
  ok: boolean;
  client: ClientReport | null;
  server: ServerReport | null;
  /** Emulator drops, ms since the client's t0; null = no log (unknown); [] = known lossless path. */
  lossTimesMs: number[] | null;
  /** Configured RTT of the emulated path, ms (null/0 = none). */
  configuredRttMs: number | null;
  /** Measured RTT from the fidelity probe, ms (null = no probe). */
  probeRttMs: number | null;
  /** Fidelity probe verdict; null when no probe ran. */
  probeOk: boolean | null;
  /** Index of the sweep point this run belongs to, if the result is a sweep. */
  sweepIndex?: number;
  /**
   * The link's kernel socket counters as recorded (`RunRecord.link.counters.sockets`): per network
   * namespace (`client`, `server`) either counter → value read at teardown (the namespaces are made
   * per run, so: since the run's link came up), or `{before, after}` snapshots. Absent without
   * namespaces (backend none) or in older files.
   */
  socketCounters?: unknown;
}

/** Kernel counters of packets dropped in the host because a socket's receive buffer was full. */
export const SOCKET_DROP_COUNTERS = ['Udp.RcvbufErrors', 'TcpExt.TCPRcvQDrop'] as const;

const isRecord = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Socket-buffer drops from the recorded counters (see RunInput.socketCounters); null when none of
 * SOCKET_DROP_COUNTERS was recorded. With `{before, after}` snapshots the drops are after − before.
 */
export function socketDrops(sockets: unknown): SocketDrops | null {
  if (!isRecord(sockets)) return null;
  const counts: Record<string, number> = {};
  let total = 0;
  for (const ns of Object.keys(sockets).sort()) {
    const side = sockets[ns];
    if (!isRecord(side)) continue;
    const after = isRecord(side.after) ? side.after : side;
    const before = isRecord(side.after) && isRecord(side.before) ? side.before : null;
    for (const k of SOCKET_DROP_COUNTERS) {
      const a = after[k];
      if (typeof a !== 'number' || !Number.isFinite(a)) continue;
      const b = before?.[k];
      const n = Math.max(0, a - (typeof b === 'number' && Number.isFinite(b) ? b : 0));
      counts[`${ns}.${k}`] = n;
      total += n;
    }
  }
  return Object.keys(counts).length ? { total, counts } : null;
}

/** Latency samples of one run (ms), for histograms. */
export interface RunSamples {
  connectMs: number[];
  ttfbMs: number[];
  completionMs: number[];
}

export interface RunAnalysis {
  metrics: RunMetrics;
  samples: RunSamples;
  timeline: RunTimeline | null;
  hol: RunHol | null;
}

const nn = (v: number): number | null => (Number.isFinite(v) ? v : null);
const cpuMs = (c: CpuUsage | undefined): number | null => (c ? c.userMs + c.systemMs : null);
const cpuShare = (c: CpuUsage | undefined): number | null =>
  c && c.wallMs > 0 ? (c.userMs + c.systemMs) / c.wallMs : null;

/** Analyse one run. */
export function analyzeRun(run: RunInput): RunAnalysis {
  const c = run.client;
  const samples: RunSamples = { connectMs: [], ttfbMs: [], completionMs: [] };
  const srtt: number[] = [];
  let ok = 0;
  let failed = 0;
  let timedOut = 0;
  let bytes = 0;
  for (const conn of c?.connections ?? []) {
    if (conn.tHandshakeDone !== null) samples.connectMs.push(conn.tHandshakeDone - conn.tStart);
    if (conn.transport?.srttMs !== undefined) srtt.push(conn.transport.srttMs);
  }
  for (const r of c?.requests ?? []) {
    bytes += r.bytes;
    if (r.tHeaders !== null) samples.ttfbMs.push(r.tHeaders - r.tIntended);
    if (isOk(r)) {
      ok++;
      samples.completionMs.push(r.tEnd - r.tIntended);
    } else {
      failed++;
      if (r.timedOut) timedOut++;
    }
  }
  const completion = distribution(samples.completionMs);
  const ttfb = distribution(samples.ttfbMs);
  const connect = distribution(samples.connectMs);
  const rttMs = pathRttMs({
    configuredRttMs: run.configuredRttMs,
    probeRttMs: run.probeRttMs,
    transportSrttMs: srtt,
  });
  let timeline: RunTimeline | null = null;
  let hol: RunHol | null = null;
  if (c) {
    timeline = runTimeline(c, run.lossTimesMs);
    // A browser reports each response whole (one chunk at its end, ClientReport.browser): without
    // body arrival times there are no stalls to find, so a browser run has no HOL analysis.
    if (c.browser === undefined) hol = analyzeHol(timeline, holOptionsForRtt(rttMs));
  }
  const workloadMs = c ? c.durationMs : null;
  const metrics: RunMetrics = {
    index: run.index,
    repetition: run.repetition,
    protocol: run.protocol,
    ok: run.ok,
    ...(run.sweepIndex === undefined ? {} : { sweepIndex: run.sweepIndex }),
    requests: ok + failed,
    requestsOk: ok,
    requestsFailed: failed,
    requestsTimedOut: timedOut,
    bytes,
    connections: c?.connections.length ?? 0,
    workloadMs,
    completionP50Ms: nn(completion.p50),
    completionP90Ms: nn(completion.p90),
    completionP99Ms: nn(completion.p99),
    completionMaxMs: nn(completion.max),
    ttfbP50Ms: nn(ttfb.p50),
    ttfbP99Ms: nn(ttfb.p99),
    connectP50Ms: nn(connect.p50),
    goodputMbit: workloadMs !== null && workloadMs > 0 ? (bytes * 8) / workloadMs / 1000 : null,
    cpuClientMs: cpuMs(c?.cpu),
    cpuServerMs: cpuMs(run.server?.cpu),
    cpuClientShare: cpuShare(c?.cpu),
    ...(c?.browser?.cpu?.cores === undefined ? {} : { cpuClientCores: c.browser.cpu.cores }),
    cpuServerShare: cpuShare(run.server?.cpu),
    probeOk: run.probeOk,
    rttMs,
    workload: currentWorkloadMetrics(c?.metrics ?? {}),
    hol: hol ? holSummary(hol) : null,
    socketDrops: socketDrops(run.socketCounters),
  };
  return { metrics, samples, timeline, hol };
}

function holSummary(h: RunHol): RunHolSummary {
  return {
    thresholdMs: h.thresholdMs,
    lossWindowMs: h.lossWindowMs,
    stallCount: h.stallCount,
    stallMs: h.stallMs,
    contendedStallMs: h.contendedStallMs,
    synchronizedStallMs: h.synchronizedStallMs,
    synchronizedStallShare: h.synchronizedStallShare,
    collateralStallMs: h.collateralStallMs,
    stallsAfterLoss: h.stallsAfterLoss,
    stallsWithoutLoss: h.stallsWithoutLoss,
    lossEvents: h.lossEvents,
  };
}

/** Flags of one run: failed, CPU-saturated client or server, failed fidelity probe, socket-buffer drops. */
export function runFlags(m: RunMetrics, error: string | null): RunFlag[] {
  const out: RunFlag[] = [];
  const base = { run: m.index, protocol: m.protocol };
  if (!m.ok)
    out.push({
      kind: 'run-failed',
      ...base,
      message: `run ${m.index} (${m.protocol}) failed: ${error ?? 'unknown error'}`,
    });
  for (const [who, share, cores] of [
    ['client', m.cpuClientShare, m.cpuClientCores ?? 1],
    ['server', m.cpuServerShare, 1],
  ] as const) {
    if (share !== null && share >= CPU_SATURATION_SHARE * cores) {
      const of =
        cores === 1
          ? 'of a core'
          : `of one core: ${((share / cores) * 100).toFixed(0)}% of the ${cores} cores its browser processes could use`;
      out.push({
        kind: 'cpu-saturated',
        ...base,
        message: `run ${m.index} (${m.protocol}): ${who} CPU-saturated (${(share * 100).toFixed(0)}% ${of}): it may measure the ${who}, not the protocol`,
      });
    }
  }
  if (m.probeOk === false) {
    out.push({
      kind: 'fidelity-probe-failed',
      ...base,
      message: `run ${m.index} (${m.protocol}): fidelity probe failed: the link did not match its profile`,
    });
  }
  if (m.socketDrops !== null && m.socketDrops.total > 0) {
    const where = Object.entries(m.socketDrops.counts)
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
    out.push({
      kind: 'socket-buffer-drops',
      ...base,
      message: `run ${m.index} (${m.protocol}): ${m.socketDrops.total} packet(s) dropped by full socket receive buffers in the host (${where}): loss the emulated link did not cause`,
    });
  }
  return out;
}
