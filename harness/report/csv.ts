/**
 * runs.csv: one row per run (a run is one protocol × one repetition). Columns are only ever
 * appended, never renamed, removed or reordered (docs/metrics.md § runs.csv documents each), so
 * scripts may read them by position; empty cell = no value.
 */
import type { Reporter } from './types.js';
import type { ResultFile } from '../model/result.js';
import type { RunMetrics } from '../model/metrics.js';
import { analyzeRun } from '../measure/analysis.js';
import { runInput } from '../measure/result-summary.js';
import { runTransport, type RunTransport } from '../measure/telemetry.js';

type Cell = string | number | boolean | null | undefined;

/** What a row knows besides its metrics: whether it is a control run, and its sender's loss response. */
export interface RowContext {
  control: boolean;
  /** Null when the run has no server-side telemetry. */
  transport: RunTransport | null;
}

type Column = readonly [string, (m: RunMetrics, r: ResultFile, x: RowContext) => Cell];

/** Column name → value. Append new columns at the end only. */
export const CSV_COLUMNS: readonly (readonly [
  string,
  (m: RunMetrics, r: ResultFile, x: RowContext) => Cell,
])[] = [
  ['run_id', (_m, r) => r.runId],
  ['scenario', (_m, r) => r.scenario.name],
  ['scenario_hash', (_m, r) => r.scenarioHash],
  ['run_index', (m) => m.index],
  ['repetition', (m) => m.repetition],
  ['protocol', (m) => m.protocol],
  ['ok', (m) => m.ok],
  ['requests', (m) => m.requests],
  ['requests_ok', (m) => m.requestsOk],
  ['requests_failed', (m) => m.requestsFailed],
  ['requests_timed_out', (m) => m.requestsTimedOut],
  ['bytes', (m) => m.bytes],
  ['connections', (m) => m.connections],
  ['workload_ms', (m) => m.workloadMs],
  ['completion_p50_ms', (m) => m.completionP50Ms],
  ['completion_p90_ms', (m) => m.completionP90Ms],
  ['completion_p99_ms', (m) => m.completionP99Ms],
  ['completion_max_ms', (m) => m.completionMaxMs],
  ['ttfb_p50_ms', (m) => m.ttfbP50Ms],
  ['ttfb_p99_ms', (m) => m.ttfbP99Ms],
  ['connect_p50_ms', (m) => m.connectP50Ms],
  ['goodput_mbit', (m) => m.goodputMbit],
  ['rtt_ms', (m) => m.rttMs],
  ['stall_threshold_ms', (m) => m.hol?.thresholdMs],
  ['stall_count', (m) => m.hol?.stallCount],
  ['stall_ms', (m) => m.hol?.stallMs],
  ['contended_stall_ms', (m) => m.hol?.contendedStallMs],
  ['synchronized_stall_ms', (m) => m.hol?.synchronizedStallMs],
  ['synchronized_stall_share', (m) => m.hol?.synchronizedStallShare],
  ['collateral_stall_ms', (m) => m.hol?.collateralStallMs],
  ['stalls_after_loss', (m) => m.hol?.stallsAfterLoss],
  ['stalls_without_loss', (m) => m.hol?.stallsWithoutLoss],
  ['loss_events', (m) => m.hol?.lossEvents],
  ['cpu_client_ms', (m) => m.cpuClientMs],
  ['cpu_server_ms', (m) => m.cpuServerMs],
  ['cpu_client_share', (m) => m.cpuClientShare],
  ['cpu_server_share', (m) => m.cpuServerShare],
  ['probe_ok', (m) => m.probeOk],
  ['sweep_value', (m, r) => (m.sweepIndex === undefined ? null : r.scenario.sweep?.values[m.sweepIndex])],
  ['workload_metrics_json', (m) => (Object.keys(m.workload).length ? JSON.stringify(m.workload) : null)],
  ['socket_buffer_drops', (m) => m.socketDrops?.total],
];

/**
 * Schema 7's optional columns, after CSV_COLUMNS, all of them present when the result has a control
 * run or server-side telemetry and none otherwise (so a column keeps its position either way):
 * whether the row is an attribution control run (one stream; never in the protocol summaries), and
 * the sender's loss response per run (docs/metrics.md § "Loss response"; empty cells for a run
 * without server telemetry).
 */
export const CSV_TELEMETRY_COLUMNS: readonly Column[] = [
  ['control', (_m, _r, x) => x.control],
  ['congestion_events', (_m, _r, x) => x.transport?.congestionEvents],
  ['congestion_events_per_100_losses', (_m, _r, x) => x.transport?.congestionEventsPer100Losses],
  ['reduction_factor', (_m, _r, x) => x.transport?.reductionFactor],
  ['undone_share', (_m, _r, x) => x.transport?.undoneShare],
  ['time_in_recovery_ms', (_m, _r, x) => x.transport?.timeInRecoveryMs],
  ['timeouts', (_m, _r, x) => x.transport?.timeouts],
  ['mean_cwnd_bytes', (_m, _r, x) => x.transport?.meanCwndBytes],
  ['srtt_ms', (_m, _r, x) => x.transport?.srttMs],
  ['downlink_drops', (_m, _r, x) => x.transport?.downlinkDrops],
  ['packets_lost', (_m, _r, x) => x.transport?.packetsLost],
  ['packets_retransmitted', (_m, _r, x) => x.transport?.packetsRetransmitted],
];

function cell(v: Cell): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(Math.round(v * 1e6) / 1e6) : '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * One row per run in run order: the workload runs of `summary.runs`, and the attribution control
 * runs (analysed here: the summary leaves them out) with `control` true; CSV_TELEMETRY_COLUMNS when
 * the result has control runs or sender telemetry.
 */
export function renderCsv(result: ResultFile): string {
  const transports = result.runs.map((run) =>
    runTransport(run, runInput(run, result.scenario).configuredRttMs),
  );
  const extended = result.runs.some((r) => r.control === true) || transports.some((t) => t.connections > 0);
  const columns = extended ? [...CSV_COLUMNS, ...CSV_TELEMETRY_COLUMNS] : CSV_COLUMNS;
  const lines = [columns.map(([name]) => name).join(',')];
  const metrics = new Map(result.summary.runs.map((m) => [m.index, m]));
  result.runs.forEach((run, i) => {
    const control = run.control === true;
    const m = control ? analyzeRun(runInput(run, result.scenario)).metrics : metrics.get(run.index);
    if (!m) return;
    const t = transports[i];
    const x: RowContext = { control, transport: t && t.connections > 0 ? t : null };
    lines.push(columns.map(([, get]) => cell(get(m, result, x))).join(','));
  });
  return lines.join('\n') + '\n';
}

export const csvReporter: Reporter = {
  name: 'csv',
  files: (result) => ({ 'runs.csv': renderCsv(result) }),
};
