/** Plain-language descriptions of a result's setup, shared by report.md and report.html. */
import { describeWorkload } from '../scenario/workload.js';
import type { ResultFile } from '../model/result.js';
import type { Protocol } from '../scenario/schema.js';
import {
  UNIMPAIRED_DIRECTION,
  baseRttMs,
  describeDirection,
  type DirectionProfile,
} from '../../core/network.js';

/**
 * The link as core describes it everywhere (`describeDirection`, also in each run's link record):
 * "backend linkem (profile lossy-mobile): RTT 100 ms; down 50ms, 10000kbit, queue 75000 B, loss
 * gilbert-elliott 1.5%; up …", or "host loopback, no emulation (backend none)".
 */
export function describeNetwork(result: ResultFile): string {
  const n = result.scenario.network;
  if (n.backend === 'none') return 'host loopback, no emulation (backend none)';
  // Older result files may lack fields added since (the reader checks only some): unimpaired.
  const down: DirectionProfile = { ...UNIMPAIRED_DIRECTION, ...n.profile.down };
  const up: DirectionProfile = { ...UNIMPAIRED_DIRECTION, ...n.profile.up };
  const profile = result.scenario.networkProfile ? ` (profile ${result.scenario.networkProfile})` : '';
  const rtt = baseRttMs({ ...n.profile, down, up });
  return `backend ${n.backend}${profile}: RTT ${+rtt.toFixed(3)} ms; down ${describeDirection(down)}; up ${describeDirection(up)}`;
}

export function describeRun(result: ResultFile): { workload: string; network: string; design: string } {
  const s = result.scenario;
  return {
    workload: describeWorkload(s.workload),
    network: describeNetwork(result),
    design: `${s.repetitions} repetition(s) per protocol, interleaved in a seeded random order (seed ${s.seed}); congestion control ${s.transport.congestion}`,
  };
}

/**
 * Which client and server produced a protocol's rows: "h2 · h3bench → caddy", "h3 · chromium →
 * h3bench (quiche-0.18)" — the HTTP/3 engine is named where one of h3bench's own endpoints speaks h3.
 */
export function endpointsLabel(result: ResultFile, protocol: Protocol): string {
  const { client, server, h3 } = result.scenario.stacks;
  const engine = protocol === 'h3' && (client === 'h3bench' || server === 'h3bench') ? ` (${h3})` : '';
  return `${protocol} · ${client} → ${server}${engine}`;
}

/**
 * The endpoints in words, with the browser's version and flags when a browser ran (from the first
 * run that recorded them).
 */
export function describeEndpoints(result: ResultFile): string {
  const { client, server, h3 } = result.scenario.stacks;
  const parts = [
    `client ${client === 'h3bench' ? "h3bench's own" : client}`,
    `server ${server === 'h3bench' ? "h3bench's own" : server}`,
  ];
  if (client === 'h3bench' || server === 'h3bench') parts.push(`HTTP/3 engine of h3bench's endpoints ${h3}`);
  const versions = new Set<string>();
  for (const r of result.runs) {
    for (const side of [r.client?.settings, r.server?.settings]) {
      const engine = side?.['engine'];
      const version = side?.['version'];
      if (typeof engine === 'string' && typeof version === 'string' && engine !== 'node') {
        versions.add(`${engine} ${version}`);
      }
    }
  }
  if (versions.size > 0) parts.push(`versions: ${[...versions].sort().join(', ')}`);
  return parts.join('; ');
}

/** "network.loss = 1%": the label of a sweep point. */
export function sweepPointLabel(result: ResultFile, point: number): string {
  const sw = result.scenario.sweep;
  if (!sw) return '';
  const label = (sw as { labels?: unknown[] }).labels?.[point];
  const value =
    typeof label === 'string' || typeof label === 'number' ? label : `${sw.values[point]}${sw.unit}`;
  return `${sw.key} = ${value}`;
}

/** Definitions printed under the tables. */
export const DEFINITIONS = [
  'Each number is the median over ok runs of a per-run value, with a 95% percentile-bootstrap interval over runs in brackets (2000 resamples, seeded). A verdict needs at least 5 ok runs per side (fewer: "too few runs for a verdict") and the same number of failed runs on both sides (else "not comparable").',
  'workload = last request finished; completion/TTFB = response complete / headers received − intended send time (per-run percentiles over ok requests); setup = handshake done − connection start; failed requests are counted per run and compared too.',
  'A stall is a gap longer than the threshold (max(1.5 × path RTT, 10 ms)) between body events of a stream that has started receiving its body and not finished. sync share = share of a stall during which every other open stream on the connection was blocked too (TCP head-of-line blocking: near 100%; QUIC: near 0); "-" when no stall overlapped another open stream (always for HTTP/1.1). See docs/metrics.md.',
];
