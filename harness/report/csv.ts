/**
 * runs.csv: one row per run (a run is one protocol × one repetition). Columns are only ever
 * appended, never renamed, removed or reordered (docs/metrics.md § runs.csv documents each), so
 * scripts may read them by position; empty cell = no value.
 */
import type { Reporter } from './types.js';
import type { ResultFile } from '../model/result.js';
import type { RunMetrics } from '../model/metrics.js';

type Cell = string | number | boolean | null | undefined;

/** Column name → value. Append new columns at the end only. */
export const CSV_COLUMNS: readonly (readonly [string, (m: RunMetrics, r: ResultFile) => Cell])[] = [
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

function cell(v: Cell): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(Math.round(v * 1e6) / 1e6) : '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function renderCsv(result: ResultFile): string {
  const lines = [CSV_COLUMNS.map(([name]) => name).join(',')];
  for (const m of result.summary.runs)
    lines.push(CSV_COLUMNS.map(([, get]) => cell(get(m, result))).join(','));
  return lines.join('\n') + '\n';
}

export const csvReporter: Reporter = {
  name: 'csv',
  files: (result) => ({ 'runs.csv': renderCsv(result) }),
};
