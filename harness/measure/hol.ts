/**
 * Head-of-line blocking metrics, computed from the delivery timelines of one run (events.ts) and the
 * emulator's loss log. Formulas and their justification: docs/metrics.md § "Head-of-line blocking".
 *
 * A stream is *active* (started and incomplete) from its first response body byte to its end of
 * stream (to its last body byte if it never finished). A *stall* is a gap between consecutive body
 * events (body pieces, end of stream) of an active stream longer than the threshold T; its length
 * is the whole gap. Before its first body byte a stream is not active, headers seen or not: the
 * request → headers → first body wait includes queueing that is not head-of-line blocking (HTTP/1.1
 * connection pools, server think time, and servers that send every response's headers first and
 * then the bodies in turn), and it is reported as TTFB instead.
 *
 * For the cross-stream metrics a stream is *open* from its headers to its end, and *blocked* while
 * in a stall or in a wait longer than T between its headers and its first body byte: with a server
 * that sends bodies one after another, the streams queued behind the one being served are open and
 * waiting, and TCP head-of-line blocking makes them wait for its recovery too.
 */
import type { RunTimeline, StreamTimeline } from './events.js';
import type { RunHolSummary } from '../model/metrics.js';

/** Defaults of the stall threshold: T = max(rttFactor × RTT, floorMs). */
export const HOL_DEFAULTS = {
  /**
   * Multiple of the path RTT a gap must exceed. Loss-free, ACK-clocked delivery leaves gaps below
   * one RTT; 1.5 RTT leaves room for delayed ACKs and jitter, and keeps every recovery that needs
   * a timer (TCP RTO/TLP, QUIC PTO: ≥ ~1.5-2 RTT) and slowed fast recoveries. Fast retransmits
   * recovered in under 1.5 RTT are not counted.
   */
  rttFactor: 1.5,
  /** Lower bound, ms: above timer and GC noise of a Node client (matters on loopback/LAN paths). */
  floorMs: 10,
} as const;

export interface HolOptions {
  /** Gaps strictly longer than this are stalls, ms. */
  thresholdMs: number;
  /** A loss within ± this of a stall's (or episode's) start is related to it, ms. */
  lossWindowMs: number;
}

/** The stall threshold T for a path RTT (ms). */
export function stallThresholdMs(
  rttMs: number,
  d: { rttFactor: number; floorMs: number } = HOL_DEFAULTS,
): number {
  return Math.max(d.rttFactor * Math.max(0, rttMs), d.floorMs);
}

/** The loss-attribution window W for a path RTT: one RTT, at least the floor (ms). */
export function lossWindowMs(rttMs: number, floorMs: number = HOL_DEFAULTS.floorMs): number {
  return Math.max(Math.max(0, rttMs), floorMs);
}

/** HOL options for a path RTT with the default threshold. */
export function holOptionsForRtt(rttMs: number): HolOptions {
  return { thresholdMs: stallThresholdMs(rttMs), lossWindowMs: lossWindowMs(rttMs) };
}

/**
 * The path RTT the threshold is tied to, ms: the configured RTT of the emulated path when there is
 * one (> 0), else the measured one (fidelity probe p50), else the smallest smoothed RTT the
 * transports reported, else 0 (the floor then decides).
 */
export function pathRttMs(sources: {
  configuredRttMs?: number | null;
  probeRttMs?: number | null;
  transportSrttMs?: readonly number[];
}): number {
  if (
    sources.configuredRttMs !== undefined &&
    sources.configuredRttMs !== null &&
    sources.configuredRttMs > 0
  ) {
    return sources.configuredRttMs;
  }
  if (
    sources.probeRttMs !== undefined &&
    sources.probeRttMs !== null &&
    Number.isFinite(sources.probeRttMs)
  ) {
    return sources.probeRttMs;
  }
  const srtt = (sources.transportSrttMs ?? []).filter((v) => Number.isFinite(v) && v > 0);
  return srtt.length ? Math.min(...srtt) : 0;
}

/** One stall of one stream. */
export interface Stall {
  /** Request index. */
  request: number;
  connection: number | null;
  /** Last body event before the gap, ms since t0. */
  start: number;
  /** Next body event, ms since t0. */
  end: number;
  /** A loss within ±W of `start`; null without a loss log. */
  afterLoss: boolean | null;
}

/** Per-stream totals. */
export interface StreamHol {
  request: number;
  connection: number | null;
  /** First and last body event (the active interval), ms since t0; null without body. */
  activeFrom: number | null;
  activeTo: number | null;
  stallCount: number;
  /** Σ stall lengths, ms. */
  stallMs: number;
}

/** HOL metrics of one run. All times in stream-milliseconds (summed over streams). */
export interface RunHol extends RunHolSummary {
  /** Synchronized episodes: maximal intervals where a stream stalled and every open stream of its connection (≥ 2) was blocked. */
  episodes: { connection: number; start: number; end: number; streams: number; afterLoss: boolean | null }[];
  perStream: StreamHol[];
  stalls: Stall[];
}

/** Is there a loss in [t - w, t + w)? `losses` ascending. */
function lossNear(losses: readonly number[], t: number, w: number): boolean {
  let lo = 0;
  let hi = losses.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((losses[mid] ?? Infinity) < t - w) lo = mid + 1;
    else hi = mid;
  }
  return lo < losses.length && (losses[lo] ?? Infinity) < t + w;
}

/** Body event times of a stream, ascending: body pieces, then end of stream. Empty without body. */
function responseEvents(s: StreamTimeline): Float64Array {
  const n = s.dataT.length;
  if (n === 0) return new Float64Array(0);
  const last = s.dataT[n - 1] ?? 0;
  const withEnd = s.tEnd !== null && s.tEnd > last;
  const out = new Float64Array(n + (withEnd ? 1 : 0));
  out.set(s.dataT);
  if (withEnd) out[n] = s.tEnd ?? last;
  return out;
}

/** HOL metrics of one run. */
export function analyzeHol(tl: RunTimeline, opts: HolOptions): RunHol {
  const T = opts.thresholdMs;
  const W = opts.lossWindowMs;
  const losses = tl.lossTimesMs;
  const perStream: StreamHol[] = [];
  const stalls: Stall[] = [];
  // Sweep boundaries per connection: time and deltas of the counts of open (O), blocked (P: in a
  // stall or a long wait for the first body byte) and stalled (S: in a stall) streams.
  const bounds = new Map<number, { t: number[]; dO: number[]; dP: number[]; dS: number[] }>();
  const push = (conn: number | null, from: number, to: number, kind: 'open' | 'wait' | 'stall') => {
    if (conn === null || !(to > from)) return;
    let b = bounds.get(conn);
    if (!b) bounds.set(conn, (b = { t: [], dO: [], dP: [], dS: [] }));
    const o = kind === 'open' ? 1 : 0;
    const pp = kind === 'open' ? 0 : 1;
    const ss = kind === 'stall' ? 1 : 0;
    b.t.push(from, to);
    b.dO.push(o, -o);
    b.dP.push(pp, -pp);
    b.dS.push(ss, -ss);
  };
  for (const s of tl.streams) {
    const ev = responseEvents(s);
    const first = ev[0];
    const last = ev[ev.length - 1];
    const sh: StreamHol = {
      request: s.request,
      connection: s.connection,
      activeFrom: first ?? null,
      activeTo: last ?? null,
      stallCount: 0,
      stallMs: 0,
    };
    perStream.push(sh);
    // Open: from the headers (or the first body byte) to the last body event / end of stream.
    const openFrom = Math.min(s.tHeaders ?? Infinity, first ?? Infinity);
    const openTo = last ?? s.tEnd ?? openFrom;
    if (Number.isFinite(openFrom)) {
      push(s.connection, openFrom, openTo, 'open');
      // A long wait between the headers and the first body byte blocks the stream (not a stall).
      const firstBody = first ?? s.tEnd;
      if (firstBody !== null && firstBody - openFrom > T) push(s.connection, openFrom, firstBody, 'wait');
    }
    for (let i = 1; i < ev.length; i++) {
      const a = ev[i - 1] ?? 0;
      const b = ev[i] ?? 0;
      if (b - a > T) {
        sh.stallCount++;
        sh.stallMs += b - a;
        stalls.push({
          request: s.request,
          connection: s.connection,
          start: a,
          end: b,
          afterLoss: losses === null ? null : lossNear(losses, a, W),
        });
        push(s.connection, a, b, 'stall');
      }
    }
  }

  let contended = 0;
  let synchronized = 0;
  let collateral = 0;
  const episodes: RunHol['episodes'] = [];
  for (const [conn, b] of bounds) {
    const n = b.t.length;
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    order.sort((x, y) => (b.t[x] ?? 0) - (b.t[y] ?? 0));
    let O = 0;
    let P = 0;
    let S = 0;
    // Current synchronized episode: start, end, blocked stream-ms beyond one stream, widest count.
    let ep: { start: number; end: number; extraMs: number; streams: number } | null = null;
    const closeEpisode = () => {
      if (!ep) return;
      const afterLoss = losses === null ? null : lossNear(losses, ep.start, W);
      if (afterLoss) collateral += ep.extraMs;
      episodes.push({ connection: conn, start: ep.start, end: ep.end, streams: ep.streams, afterLoss });
      ep = null;
    };
    for (let k = 0; k < n;) {
      const t = b.t[order[k] ?? 0] ?? 0;
      while (k < n && (b.t[order[k] ?? 0] ?? 0) === t) {
        const i = order[k] ?? 0;
        O += b.dO[i] ?? 0;
        P += b.dP[i] ?? 0;
        S += b.dS[i] ?? 0;
        k++;
      }
      if (k >= n) break;
      // Segment [t, next): counts are constant inside it.
      const next = b.t[order[k] ?? 0] ?? 0;
      const dt = next - t;
      if (O >= 2 && S > 0) contended += S * dt;
      if (O >= 2 && S > 0 && P === O) {
        synchronized += S * dt;
        if (ep && ep.end === t) {
          ep.end = next;
          ep.extraMs += (P - 1) * dt;
          ep.streams = Math.max(ep.streams, P);
        } else {
          closeEpisode();
          ep = { start: t, end: next, extraMs: (P - 1) * dt, streams: P };
        }
      } else {
        closeEpisode();
      }
    }
    closeEpisode();
  }
  episodes.sort((x, y) => x.start - y.start);

  let stallMs = 0;
  for (const s of perStream) stallMs += s.stallMs;
  const afterLoss = losses === null ? null : stalls.filter((s) => s.afterLoss === true).length;
  return {
    thresholdMs: T,
    lossWindowMs: W,
    stallCount: stalls.length,
    stallMs,
    contendedStallMs: contended,
    synchronizedStallMs: synchronized,
    synchronizedStallShare: contended > 0 ? synchronized / contended : null,
    collateralStallMs: losses === null ? null : collateral,
    stallsAfterLoss: afterLoss,
    stallsWithoutLoss: afterLoss === null ? null : stalls.length - afterLoss,
    lossEvents: losses === null ? null : losses.length,
    episodes,
    perStream,
    stalls,
  };
}
