/**
 * Sender telemetry (congestion window, bytes in flight, RTT, delivery rate, loss and timeout
 * counters over time) of every connection, from both endpoints, and what the analysis derives from
 * it: the loss response of each protocol (`summary.protocols.<p>.transport`) and the attribution of
 * each contrast to setup, single-stream transport and multiplexing (`summary.attribution`).
 *
 * TCP numbers come from the kernel's `tcp_info` (sock_diag netlink, sampled in each namespace); QUIC
 * numbers from quiche's `Stats`/`PathStats`, read in the driver. A column a stack does not expose
 * is absent, never zero: the reader sees what was measured and what could not be.
 */
import type { Estimate } from '../../core/bootstrap.js';

/** Sampling period the samplers aim at, ms (TCP helper and QUIC driver alike). */
export const TELEMETRY_INTERVAL_MS = 10;

/**
 * One connection's sender state over time, columnar: index i of every present column is sample i,
 * taken at `t[i]`. Counters (`packets*`, `timeouts`) are cumulative since the connection opened.
 * Samples identical to the previous one in every column are not stored (a quiet connection costs
 * nothing), so the gaps in `t` are not the sampling period.
 */
export interface TelemetrySeries {
  /** The endpoint whose sending state this is: the server sends the responses. */
  side: 'server' | 'client';
  transport: 'tcp' | 'quic';
  /** Connection identity: local and peer address:port ("198.18.0.1:443 198.18.1.1:51234"). */
  connection: string;
  /** Where the numbers come from, e.g. "tcp_info via sock_diag (Linux 6.1)", "quiche 0.18.0 PathStats". */
  source: string;
  /** Target sampling period, ms. */
  intervalMs: number;
  /** Sample times, ms since the run's t0 (the client's workload start, CLOCK_MONOTONIC). */
  t: number[];
  /** Congestion window, bytes (TCP: snd_cwnd × snd_mss). */
  cwndBytes?: number[];
  /** Bytes sent and not yet acknowledged or declared lost (TCP: (unacked - sacked - lost + retrans) × mss). */
  bytesInFlight?: number[];
  /** Slow-start threshold, bytes; absent where the stack does not expose it. */
  ssthreshBytes?: number[];
  /** Smoothed RTT, ms. */
  srttMs?: number[];
  /** Minimum RTT seen, ms. */
  minRttMs?: number[];
  /** Delivery rate estimate, Mbit/s. */
  deliveryRateMbit?: number[];
  /** Packets sent (cumulative). */
  packetsSent?: number[];
  /** Packets declared lost (cumulative). */
  packetsLost?: number[];
  /** Packets retransmitted (cumulative; QUIC: packets that carried retransmitted data). */
  packetsRetransmitted?: number[];
  /**
   * Retransmission timeouts (TCP RTO: entries into the Loss state) or probe timeouts (QUIC PTO),
   * cumulative. How each stack's count is obtained is in `timeoutsSource`.
   */
  timeouts?: number[];
  /** How `timeouts` is counted (e.g. "TCP_CA_Loss entries seen by the sampler"). */
  timeoutsSource?: string;
  /**
   * Loss-recovery state per sample: 0 = open (no recovery), 1 = in loss recovery (TCP: Recovery or
   * CWR or Disorder... see docs/metrics.md), 2 = after a timeout (TCP Loss state). Absent where not exposed.
   */
  recoveryState?: number[];
}

/**
 * One window reduction (congestion event) found in a series (harness/measure/telemetry.ts): the
 * window fell by more than `CONGESTION_EVENT_MIN_DROP` (5%) below the last sample before the fall,
 * counting every further fall within one smoothed RTT of the start (and while it keeps falling).
 */
export interface CongestionEvent {
  /** When the window started to fall, ms since t0. */
  t: number;
  /** Window before the event, bytes. */
  beforeBytes: number;
  /** Lowest window within the event, bytes. */
  afterBytes: number;
  /** True when the window came back to ≥ 95% of `beforeBytes` within two smoothed RTTs (undone). */
  undone: boolean;
  /** Time from the event until the window next grew, ms (null: it never grew again). */
  recoveryMs: number | null;
}

/**
 * A protocol's loss response, the same names for TCP and QUIC: each a median over its runs (the
 * sender = server side, summed over the run's connections) with a 95% bootstrap interval.
 */
export interface TransportSummary {
  /** Runs with server-side telemetry (the n of the estimates below may be smaller). */
  runsWithTelemetry: number;
  /** Congestion events per 100 packets the emulator dropped in the server→client direction. */
  congestionEventsPer100Losses: Estimate;
  /** Congestion events per run. */
  congestionEvents: Estimate;
  /** Mean window reduction factor after/before per run (β as seen: CUBIC 0.7, Reno 0.5). */
  reductionFactor: Estimate;
  /** Share of congestion events that were undone (window restored within two smoothed RTTs), 0..1. */
  undoneShare: Estimate;
  /** Time with the window held after an event (until it next grows), ms per run. */
  timeInRecoveryMs: Estimate;
  /** RTO (TCP) / PTO (QUIC) count per run. */
  timeouts: Estimate;
  /** Time-weighted mean congestion window of a connection per run, bytes (not summed over connections). */
  meanCwndBytes: Estimate;
  /** Median smoothed RTT per run, ms. */
  srttMs: Estimate;
  /** Packets the emulator dropped in the server→client direction per run. */
  downlinkDrops: Estimate;
  /** Packets the sender declared lost per run (QUIC; TCP's tcp_info has no cumulative count). */
  packetsLost: Estimate;
  /** Packets retransmitted per run (optional: absent from summaries written before it was added). */
  packetsRetransmitted?: Estimate;
}

/** A factor of an attribution: a ratio with its 95% interval. */
export interface AttributionFactor {
  value: number | null;
  ci95: [number, number] | null;
}

/** The three factors of an attribution. */
export const ATTRIBUTION_FACTORS = ['setup', 'transport', 'multiplexing'] as const;
export type AttributionFactorName = (typeof ATTRIBUTION_FACTORS)[number];

/**
 * One contrast of workload completion decomposed into connection setup × single-stream transport ×
 * multiplexing (docs/metrics.md § "Attribution"): total = setup × transport × multiplexing.
 */
export interface AttributionEntry {
  /** "h3/h2", "h3/h1" or "h2/h1". */
  pair: string;
  a: string;
  b: string;
  /** The metric decomposed ("workloadMs"). */
  metric: string;
  /** Sweep point, for a sweep. */
  sweepIndex?: number;
  /** Repetitions with a complete quadruple (a and b, workload and control). */
  pairs: number;
  total: AttributionFactor;
  setup: AttributionFactor;
  transport: AttributionFactor;
  multiplexing: AttributionFactor;
  /**
   * Share of |log total| each factor explains (signed: a factor that pushes the other way is
   * negative), null when total is 1 or undefined.
   */
  shares: Record<AttributionFactorName, number | null>;
  /** The factor with the largest share, null without an estimate. */
  dominant: AttributionFactorName | null;
  /** One sentence for the reader. */
  sentence: string;
}
