/**
 * The loss response of a sender, from its sampled telemetry (model/telemetry.ts): the window
 * reductions (congestion events) in each server-side series, joined to the packets the emulator
 * dropped on the way to the client, per run and as medians per protocol (docs/metrics.md § "Loss
 * response").
 *
 * A congestion event is a fall of the congestion window by more than CONGESTION_EVENT_MIN_DROP from
 * the last sample before it; every further fall within one smoothed RTT of its start belongs to it.
 * Why one RTT: Linux lowers the window through Proportional Rate Reduction over about one round
 * trip of recovery (RFC 6937), so one loss episode shows as several small steps; quiche cuts the
 * window at once on entering recovery (RFC 9002 § 7.3.2) and ignores further losses of packets sent
 * before it for one round trip. CUBIC reduces by β = 0.7 (RFC 9438 § 4.6), Reno by 0.5 (RFC 5681
 * § 3.1). A reduction that the stack takes back — Linux's undo of a spurious recovery (RFC 2883
 * D-SACK, Eifel RFC 3522 / F-RTO RFC 5682), quiche's rollback of a spurious congestion event — shows
 * as the window back near its old size within two smoothed RTTs: `undone`.
 *
 * Everything here is inferred from windows sampled every ~10 ms and stored on change: two events
 * closer than one sample merge into one, and a window that is not loss-driven (BBR) produces events
 * that mean something else (docs/metrics.md).
 */
import { medianCI, seedOf, type Estimate } from '../../core/bootstrap.js';
import { median } from '../../core/stats.js';
import type { RunRecord } from '../model/result.js';
import type { CongestionEvent, TelemetrySeries, TransportSummary } from '../model/telemetry.js';

/** A fall of the window by more than this share of its size is a congestion event. */
export const CONGESTION_EVENT_MIN_DROP = 0.05;
/** An event is undone when the window is back to at least this share of its old size... */
export const UNDO_SHARE = 0.95;
/** ...within this many smoothed RTTs of the event's start. */
export const UNDO_WITHIN_RTTS = 2;

export interface EventOptions {
  /** Minimum fall, share of the window before (default CONGESTION_EVENT_MIN_DROP). */
  minDrop?: number;
  /**
   * RTT to group and judge events by when the series has no positive smoothed RTT at the event
   * (the path's RTT); null: falls are grouped only while the window keeps falling sample after sample.
   */
  fallbackRttMs?: number | null;
}

type WindowSeries = Pick<TelemetrySeries, 't' | 'cwndBytes' | 'srttMs'>;

/** The smoothed RTT at sample i, or the nearest earlier positive one, or the fallback. */
function rttAt(s: WindowSeries, i: number, fallback: number | null): number | null {
  const srtt = s.srttMs;
  if (srtt) {
    for (let k = Math.min(i, srtt.length - 1); k >= 0; k--) {
      const v = srtt[k];
      if (v !== undefined && v > 0 && Number.isFinite(v)) return v;
    }
    for (let k = i + 1; k < srtt.length; k++) {
      const v = srtt[k];
      if (v !== undefined && v > 0 && Number.isFinite(v)) return v;
    }
  }
  return fallback;
}

/**
 * The congestion events of one series (empty without a window column). Scan: at a sample lower than
 * the one before, a candidate starts; it takes every sample within one smoothed RTT, and then every
 * further sample while the window keeps falling (a reduction spread over slightly more than the RTT
 * the sampler saw). Its lowest window is `afterBytes`; `beforeBytes` is the highest sample between
 * the candidate's start and that lowest point (the last sample before the fall), and the event
 * starts at the sample after it (its window is then taken again from there). It is an event when
 * after < before × (1 − minDrop); the scan then goes on after it, else at the next sample (small
 * fluctuations are not events and do not hide a later cut).
 */
export function congestionEvents(s: WindowSeries, opts: EventOptions = {}): CongestionEvent[] {
  const w = s.cwndBytes;
  const t = s.t;
  if (!w || w.length < 2) return [];
  const minDrop = opts.minDrop ?? CONGESTION_EVENT_MIN_DROP;
  const fallback = opts.fallbackRttMs ?? null;
  const n = Math.min(w.length, t.length);
  const at = (i: number): number => w[i] ?? NaN;
  const time = (i: number): number => t[i] ?? NaN;
  /** Samples from `start` within one RTT of it, then while the window keeps falling; the lowest. */
  const extend = (start: number, rtt: number | null) => {
    let end = start;
    let lowest = at(start);
    let lowestIdx = start;
    const take = (j: number) => {
      end = j;
      if (at(j) < lowest) {
        lowest = at(j);
        lowestIdx = j;
      }
    };
    if (rtt !== null) while (end + 1 < n && time(end + 1) - time(start) <= rtt) take(end + 1);
    while (end + 1 < n && at(end + 1) < at(end)) take(end + 1);
    return { end, lowest, lowestIdx };
  };
  const out: CongestionEvent[] = [];
  let i = 1;
  while (i < n) {
    if (!(at(i) < at(i - 1))) {
      i++;
      continue;
    }
    // The candidate window from the first lower sample; the fall starts at the highest sample before
    // its lowest point (a wiggle just before a cut must not become the event's start or `before`).
    let w0 = extend(i, rttAt(s, i - 1, fallback));
    let peak = i - 1;
    for (let k = i - 1; k < w0.lowestIdx; k++) if (at(k) >= at(peak)) peak = k;
    const before = at(peak);
    if (!(w0.lowest < before * (1 - minDrop))) {
      i++;
      continue;
    }
    const start = peak + 1;
    const rtt = rttAt(s, peak, fallback);
    if (start !== i) w0 = extend(start, rtt);
    const { end, lowest, lowestIdx } = w0;
    let undone = false;
    if (rtt !== null) {
      for (let k = lowestIdx + 1; k < n && time(k) - time(start) <= UNDO_WITHIN_RTTS * rtt; k++) {
        if (at(k) >= UNDO_SHARE * before) {
          undone = true;
          break;
        }
      }
    }
    let recoveryMs: number | null = null;
    for (let k = lowestIdx + 1; k < n; k++) {
      if (at(k) > at(k - 1)) {
        recoveryMs = time(k) - time(start);
        break;
      }
    }
    out.push({ t: time(start), beforeBytes: before, afterBytes: lowest, undone, recoveryMs });
    i = end + 1;
  }
  return out;
}

/** Time-weighted mean of a step function sampled on change (each value holds until the next sample). */
export function timeWeightedMean(t: readonly number[], v: readonly number[]): { mean: number; ms: number } {
  const n = Math.min(t.length, v.length);
  if (n === 0) return { mean: NaN, ms: 0 };
  let area = 0;
  let ms = 0;
  for (let i = 0; i + 1 < n; i++) {
    const dt = (t[i + 1] ?? NaN) - (t[i] ?? NaN);
    if (!(dt > 0)) continue;
    area += (v[i] ?? NaN) * dt;
    ms += dt;
  }
  if (ms === 0) return { mean: v[n - 1] ?? NaN, ms: 0 };
  return { mean: area / ms, ms };
}

/** The loss response of one run's sender (all its server-side connections). */
export interface RunTransport {
  index: number;
  repetition: number;
  protocol: string;
  ok: boolean;
  control: boolean;
  sweepIndex?: number;
  /** Server-side series (connections) found. */
  connections: number;
  /** Congestion events over all connections; null when no series has a window column. */
  congestionEvents: number | null;
  /** congestionEvents per 100 downlink drops; null without drops (or without a drop count). */
  congestionEventsPer100Losses: number | null;
  /** Mean afterBytes / beforeBytes over the events; null without events. */
  reductionFactor: number | null;
  /** Share of the events that were undone, 0..1; null without events. */
  undoneShare: number | null;
  /** Sum over events of the time until the window next grew (to the series' end if it never did), ms. */
  timeInRecoveryMs: number | null;
  /** RTOs (TCP) / PTOs (QUIC): last value of each series' cumulative column, summed; null when absent. */
  timeouts: number | null;
  /**
   * Time-weighted mean congestion window of a connection, bytes: each connection's window weighted
   * by its sampled duration (a per-connection mean, not the sum over parallel connections).
   */
  meanCwndBytes: number | null;
  /** Median of the positive smoothed-RTT samples of all connections, ms. */
  srttMs: number | null;
  /** Packets the emulator dropped server → client (all reasons); null when not recorded. */
  downlinkDrops: number | null;
  /** Packets the sender declared lost (last cumulative value, summed); null when not exposed (TCP). */
  packetsLost: number | null;
  /** Packets retransmitted (last cumulative value, summed); null when not exposed. */
  packetsRetransmitted: number | null;
  /** Every event, in connection then time order. */
  events: CongestionEvent[];
}

/** Server-side series of a run (the server's report first, then the client's), one per connection. */
export function senderSeries(run: RunRecord): TelemetrySeries[] {
  const seen = new Set<string>();
  const out: TelemetrySeries[] = [];
  for (const s of [...(run.server?.telemetry ?? []), ...(run.client?.telemetry ?? [])]) {
    if (s.side !== 'server') continue;
    const key = `${s.transport} ${s.connection}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(s);
  }
  return out;
}

/** The link record fields read here (downlinkLossTimesMs is schema 7's server → client subset). */
interface LinkDrops {
  counters: { dropReasons?: Record<string, number> };
  lossTimesMs?: readonly number[];
  downlinkLossTimesMs?: readonly number[];
}

/**
 * Packets dropped server → client: the sum of the emulator's "down <reason>" counters (every
 * reason: a queue overflow is a loss to the sender too), else the number of server → client drop
 * times; null when neither was recorded.
 */
export function downlinkDrops(link: LinkDrops): number | null {
  const reasons = link.counters.dropReasons;
  if (reasons) {
    return Object.entries(reasons)
      .filter(([k]) => k.startsWith('down '))
      .reduce((n, [, v]) => n + v, 0);
  }
  return link.downlinkLossTimesMs ? link.downlinkLossTimesMs.length : null;
}

/**
 * Drop times to mark on a figure: server → client when recorded (`direction: 'down'`), else both
 * directions; null without a drop log.
 */
export function dropTimes(link: LinkDrops): { times: readonly number[]; direction: 'down' | 'both' } | null {
  if (link.downlinkLossTimesMs) return { times: link.downlinkLossTimesMs, direction: 'down' };
  if (link.lossTimesMs) return { times: link.lossTimesMs, direction: 'both' };
  return null;
}

const lastOf = (v: readonly number[] | undefined): number | null => {
  const x = v?.[v.length - 1];
  return x !== undefined && Number.isFinite(x) ? x : null;
};

/** Sum of the last values of a cumulative column over the series that have it; null when none has. */
function sumLast(
  series: readonly TelemetrySeries[],
  col: 'timeouts' | 'packetsLost' | 'packetsRetransmitted',
) {
  const xs = series.map((s) => lastOf(s[col])).filter((v): v is number => v !== null);
  return xs.length ? xs.reduce((a, b) => a + b, 0) : null;
}

/** The loss response of one run (fallbackRttMs: the path's RTT, for series without a smoothed RTT). */
export function runTransport(run: RunRecord, fallbackRttMs: number | null = null): RunTransport {
  const series = senderSeries(run);
  const withWindow = series.filter((s) => s.cwndBytes && s.cwndBytes.length > 0);
  const events: CongestionEvent[] = [];
  let recovery = 0;
  for (const s of withWindow) {
    const ev = congestionEvents(s, { fallbackRttMs });
    const tEnd = s.t[s.t.length - 1] ?? 0;
    for (const e of ev) recovery += e.recoveryMs ?? Math.max(0, tEnd - e.t);
    events.push(...ev);
  }
  const drops = downlinkDrops(run.link);
  const count = withWindow.length ? events.length : null;
  let area = 0;
  let ms = 0;
  const single: number[] = [];
  for (const s of withWindow) {
    const m = timeWeightedMean(s.t, s.cwndBytes ?? []);
    if (!Number.isFinite(m.mean)) continue;
    if (m.ms > 0) {
      area += m.mean * m.ms;
      ms += m.ms;
    } else single.push(m.mean);
  }
  const meanCwnd =
    ms > 0 ? area / ms : single.length ? single.reduce((a, b) => a + b, 0) / single.length : null;
  const srtt = series.flatMap((s) => (s.srttMs ?? []).filter((v) => v > 0 && Number.isFinite(v)));
  return {
    index: run.index,
    repetition: run.repetition,
    protocol: run.protocol,
    ok: run.ok,
    control: run.control === true,
    ...(run.sweepIndex === undefined ? {} : { sweepIndex: run.sweepIndex }),
    connections: series.length,
    congestionEvents: count,
    congestionEventsPer100Losses:
      count !== null && drops !== null && drops > 0 ? (100 * count) / drops : null,
    reductionFactor: events.length
      ? events.reduce((a, e) => a + e.afterBytes / e.beforeBytes, 0) / events.length
      : null,
    undoneShare: events.length ? events.filter((e) => e.undone).length / events.length : null,
    timeInRecoveryMs: count === null ? null : recovery,
    timeouts: sumLast(series, 'timeouts'),
    meanCwndBytes: meanCwnd,
    srttMs: srtt.length ? median(srtt) : null,
    downlinkDrops: drops,
    packetsLost: sumLast(series, 'packetsLost'),
    packetsRetransmitted: sumLast(series, 'packetsRetransmitted'),
    events,
  };
}

/** The per-run figures summarised as medians (TransportSummary's estimate keys). */
export const TRANSPORT_ESTIMATES = [
  'congestionEventsPer100Losses',
  'congestionEvents',
  'reductionFactor',
  'undoneShare',
  'timeInRecoveryMs',
  'timeouts',
  'meanCwndBytes',
  'srttMs',
  'downlinkDrops',
  'packetsLost',
  'packetsRetransmitted',
] as const;
export type TransportEstimateName = (typeof TRANSPORT_ESTIMATES)[number];

/**
 * A protocol's loss response: medians with 95% bootstrap intervals over its ok workload runs that
 * have server-side telemetry (control runs never enter); null when none of its runs has any.
 */
export function transportSummary(
  runs: readonly RunTransport[],
  seedBase: string | number,
  protocol: string,
): TransportSummary | null {
  const mine = runs.filter((r) => !r.control && r.connections > 0);
  if (mine.length === 0) return null;
  const used = mine.filter((r) => r.ok);
  const est = (k: TransportEstimateName): Estimate =>
    medianCI(
      used.map((r) => r[k]),
      { seed: seedOf(seedBase, protocol, 'transport', k) },
    );
  return {
    runsWithTelemetry: mine.length,
    congestionEventsPer100Losses: est('congestionEventsPer100Losses'),
    congestionEvents: est('congestionEvents'),
    reductionFactor: est('reductionFactor'),
    undoneShare: est('undoneShare'),
    timeInRecoveryMs: est('timeInRecoveryMs'),
    timeouts: est('timeouts'),
    meanCwndBytes: est('meanCwndBytes'),
    srttMs: est('srttMs'),
    downlinkDrops: est('downlinkDrops'),
    packetsLost: est('packetsLost'),
    packetsRetransmitted: est('packetsRetransmitted'),
  };
}
