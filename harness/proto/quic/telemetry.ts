/**
 * Sender telemetry of one QUIC connection (harness/model/telemetry.ts `TelemetrySeries`), the probe
 * timeouts the driver infers, and the qlog events the driver can write (qlog.ts).
 *
 * What is sampled: quiche 0.18's `Stats` and the active path's `PathStats`, as the binding exposes
 * them (`QuicConnection.stats()`): congestion window, smoothed RTT (whole ms: the binding converts
 * with `Duration::as_millis`, truncating), delivery rate, packets sent / lost / retransmitted.
 * quiche 0.18's `PathStats` has no bytes in flight, ssthresh, min RTT or recovery state, so those
 * columns are absent (never zero).
 *
 * When: a read of `stats()` costs about 20 µs (two binding calls that build objects), so a
 * connection is sampled at most once per TELEMETRY_INTERVAL_MS, at the end of a flush (the driver's
 * processing of received datagrams and timers). A flush that comes too soon after the last sample
 * arms one unref'd timer for the rest of the interval instead (so the last state of a burst is not
 * lost), and nothing runs while the connection is quiet. Timer expiries that declared loss or sent
 * probes are sampled at once, whatever the interval. A sample identical to the previous one is not
 * stored.
 *
 * Probe timeouts: quiche 0.18 counts PTOs (`pto_count`) but neither `Stats` nor this binding
 * exposes it, so the driver infers them around each `onTimeout()` call (RFC 9002 §6.2): when the
 * loss-detection timer expires without a pending time-threshold loss, quiche declares nothing lost
 * and sends one or two probe packets (RFC 9002 §6.2.4). So an expiry is counted as a PTO when the
 * connection is still open afterwards, quiche's lost counter did not grow, and the flush that
 * follows sent at least one packet. A lost counter that grew is a time-threshold loss (RFC 9002
 * §6.1.2, qlog timer_type "ack"); a connection closed by it ended by its idle timeout or draining
 * period; an expiry that did neither and sent nothing (a PTO blocked by the anti-amplification
 * limit, or a timer other than loss detection) is counted apart, not as a PTO.
 */
import { ChangeSeries, monotonicMs } from '../../../core/series.js';
import { TELEMETRY_INTERVAL_MS, type TelemetrySeries } from '../../model/telemetry.js';
import { BINDING_INFO, type HostPort, type QuicCloseInfo, type QuicStats } from './binding.js';
import type { QlogData, QlogWriter } from './qlog.js';

/** How the `timeouts` column is counted (TelemetrySeries.timeoutsSource). */
export const TIMEOUTS_SOURCE =
  'PTOs inferred by the driver (quiche 0.18 exposes no PTO count): onTimeout() calls after which the ' +
  'connection stayed open, Stats.lost did not grow and the next flush sent at least one packet ' +
  '(the probes of RFC 9002 §6.2.4); time-threshold losses, idle and draining timers are not counted';

/** The data source of the series: a quiche connection (QuicConnection implements it). */
export interface TelemetrySource {
  stats(): QuicStats;
  isClosed(): boolean;
  isTimedOut(): boolean;
}

/** What an expired timer turned out to be, as the driver can tell. */
export interface TimerCounts {
  /** Probe timeouts (the `timeouts` column). */
  pto: number;
  /** Expiries that declared packets lost (time-threshold loss detection). */
  lossTime: number;
  /** Expiries that closed the connection (idle timeout or end of draining). */
  closed: number;
  /** Expiries that declared nothing lost and sent nothing. */
  quiet: number;
}

export interface ConnTelemetryOptions {
  side: 'server' | 'client';
  local: HostPort;
  peer: HostPort;
  /** Keep the sampled series (false: sample only for the qlog). */
  series: boolean;
  qlog: QlogWriter | null;
  intervalMs?: number;
  /** The clock the sampling interval is measured on, ms (default performance.now). */
  now?: () => number;
  /** The clock of `t`, CLOCK_MONOTONIC ms (default monotonicMs). */
  monotonic?: () => number;
  /** Arm the trailing-sample timer (default true; tests turn it off). */
  trailingTimer?: boolean;
}

/** Columns of the series. */
const QUIC_COLUMNS = [
  'cwndBytes',
  'srttMs',
  'deliveryRateMbit',
  'packetsSent',
  'packetsLost',
  'packetsRetransmitted',
  'timeouts',
] as const satisfies readonly (keyof TelemetrySeries)[];
type QuicColumn = (typeof QUIC_COLUMNS)[number];

function hostPort(a: HostPort): string {
  return `${a.host}:${a.port}`;
}

/** One connection's telemetry, PTO inference and qlog events; the connection drives it. */
export class ConnTelemetry {
  readonly side: 'server' | 'client';
  readonly connection: string;
  readonly timers: TimerCounts = { pto: 0, lossTime: 0, closed: 0, quiet: 0 };
  /** Samples read from quiche (stored or not). */
  samplesRead = 0;
  private src: TelemetrySource | null = null;
  /** Samples stored on change (also what the qlog's metrics_updated events are decided by). */
  private readonly rows = new ChangeSeries<QuicColumn>(QUIC_COLUMNS);
  /** Whether `series()` returns the samples (false: sampled for the qlog only). */
  private readonly keepSeries: boolean;
  private readonly qlog: QlogWriter | null;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly monotonic: () => number;
  private readonly trailingTimer: boolean;
  /** `now()` at the start, for qlog's relative times. */
  private readonly tStart: number;
  private nextSampleAt = -Infinity;
  private trail: NodeJS.Timeout | null = null;
  /** Stats read just before the running onTimeout() call. */
  private beforeTimeout: { sent: number; lost: number } | null = null;
  /** After an expiry that declared nothing lost: `sent` then; the next flush decides PTO or quiet. */
  private probeCheck: number | null = null;
  private done = false;
  private qlogClosed: Promise<void> = Promise.resolve();
  /** qlog: datagrams since the last flush (lengths). */
  private readonly rxLengths: number[] = [];
  private readonly txLengths: number[] = [];

  constructor(o: ConnTelemetryOptions) {
    this.side = o.side;
    this.connection = `${hostPort(o.local)} ${hostPort(o.peer)}`;
    this.keepSeries = o.series;
    this.qlog = o.qlog;
    this.intervalMs = o.intervalMs ?? TELEMETRY_INTERVAL_MS;
    this.now = o.now ?? (() => performance.now());
    this.monotonic = o.monotonic ?? monotonicMs;
    this.trailingTimer = o.trailingTimer ?? true;
    this.tStart = this.now();
    if (this.qlog !== null) {
      const client = o.side === 'client' ? o.local : o.peer;
      const server = o.side === 'client' ? o.peer : o.local;
      this.qlog.event(0, 'connectivity:connection_started', {
        ip_version: client.host.includes(':') ? 'ipv6' : 'ipv4',
        src_ip: client.host,
        src_port: client.port,
        dst_ip: server.host,
        dst_port: server.port,
      });
    }
  }

  /** The connection to read (set once it exists). */
  attach(src: TelemetrySource): void {
    this.src = src;
  }

  /** qlog only: one datagram received (call per datagram; free when no qlog is written). */
  onDatagramIn(bytes: number): void {
    if (this.qlog !== null) this.rxLengths.push(bytes);
  }

  /** qlog only: one datagram sent. */
  onDatagramOut(bytes: number): void {
    if (this.qlog !== null) this.txLengths.push(bytes);
  }

  /** Call right before quiche's onTimeout(). */
  timeoutStart(): void {
    if (this.src === null || this.done) return;
    const s = this.src.stats();
    this.beforeTimeout = { sent: s.sent, lost: s.lost };
  }

  /** Call right after quiche's onTimeout(). */
  timeoutEnd(): void {
    const src = this.src;
    const before = this.beforeTimeout;
    this.beforeTimeout = null;
    if (src === null || before === null || this.done) return;
    if (src.isClosed()) {
      this.timers.closed++;
      return;
    }
    const s = src.stats();
    if (s.lost > before.lost) {
      this.timers.lossTime++;
      this.qlogEvent('recovery:loss_timer_updated', {
        event_type: 'expired',
        timer_type: 'ack',
        packets_declared_lost: s.lost - before.lost,
        inferred_by: 'h3bench driver from Stats.lost',
      });
      this.record(s);
      return;
    }
    this.probeCheck = s.sent;
  }

  /** Call at the end of every flush (after packets were sent). */
  afterFlush(): void {
    const src = this.src;
    if (src === null || this.done) return;
    if (this.qlog !== null) this.flushDatagrams();
    if (this.probeCheck !== null) {
      const sentBefore = this.probeCheck;
      this.probeCheck = null;
      const s = src.stats();
      if (s.sent > sentBefore) {
        this.timers.pto++;
        this.qlogEvent('recovery:loss_timer_updated', {
          event_type: 'expired',
          timer_type: 'pto',
          probe_packets_sent: s.sent - sentBefore,
          inferred_by: 'h3bench driver: no loss declared, probes sent',
        });
        this.record(s);
        return;
      }
      this.timers.quiet++;
    }
    const now = this.now();
    if (now >= this.nextSampleAt) {
      this.record(src.stats(), now);
    } else if (this.trailingTimer && this.trail === null) {
      this.trail = setTimeout(this.onTrail, Math.max(1, this.nextSampleAt - now));
      this.trail.unref();
    }
  }

  private readonly onTrail = (): void => {
    this.trail = null;
    if (this.src === null || this.done || this.src.isClosed()) return;
    this.record(this.src.stats());
  };

  /**
   * The connection is over: one last sample (`final` = its final stats), the close event, and the
   * qlog file closed. Resolves when the qlog is written.
   */
  close(
    final: QuicStats,
    local: QuicCloseInfo | null,
    peer: QuicCloseInfo | null,
    timedOut: boolean,
  ): Promise<void> {
    if (this.done) return Promise.resolve();
    if (this.trail !== null) clearTimeout(this.trail);
    this.trail = null;
    if (this.qlog !== null) this.flushDatagrams();
    this.record(final);
    this.done = true;
    if (this.qlog === null) return Promise.resolve();
    const err = local ?? peer;
    const data: QlogData = {
      owner: local !== null ? 'local' : peer !== null ? 'remote' : 'local',
      trigger: timedOut ? 'idle_timeout' : err === null ? 'clean' : err.isApp ? 'application' : 'error',
    };
    if (err !== null) {
      data[err.isApp ? 'application_code' : 'connection_code'] = err.code;
      if (err.reason !== '') data.reason = err.reason;
    }
    const t = this.now() - this.tStart;
    this.qlog.event(t, 'connectivity:connection_closed', data);
    this.qlog.event(t, 'generic:info', {
      message: 'timer expiries as the driver classified them',
      ...this.timers,
    });
    this.qlogClosed = this.qlog.close(t);
    return this.qlogClosed;
  }

  /** Resolves once the qlog file (if any) is written and closed (at once while the connection is open). */
  flushed(): Promise<void> {
    return this.qlogClosed;
  }

  /** The series so far (a copy of the columns), or null when the series is not kept. */
  series(): TelemetrySeries | null {
    if (!this.keepSeries) return null;
    const c = this.rows.columns;
    return {
      side: this.side,
      transport: 'quic',
      connection: this.connection,
      source: `quiche ${BINDING_INFO.quiche} Stats and active PathStats via ${BINDING_INFO.package} ${BINDING_INFO.version} (srtt truncated to whole ms by the binding; no bytes in flight, ssthresh, min RTT or recovery state in quiche 0.18's PathStats)`,
      intervalMs: this.intervalMs,
      t: [...this.rows.t],
      cwndBytes: [...c.cwndBytes],
      srttMs: [...c.srttMs],
      deliveryRateMbit: [...c.deliveryRateMbit],
      packetsSent: [...c.packetsSent],
      packetsLost: [...c.packetsLost],
      packetsRetransmitted: [...c.packetsRetransmitted],
      timeouts: [...c.timeouts],
      timeoutsSource: TIMEOUTS_SOURCE,
    };
  }

  /** Store `s` if anything changed since the last sample; the next regular sample is one interval on. */
  private record(s: QuicStats, now = this.now()): void {
    this.samplesRead++;
    this.nextSampleAt = now + this.intervalMs;
    // No path (never seen on an open connection): nothing to sample.
    if (s.cwndBytes === null || s.srttMs === null || s.deliveryRateBytesPerSec === null) return;
    const rows = this.rows;
    const cwnd = s.cwndBytes;
    const srtt = s.srttMs;
    const rate = (s.deliveryRateBytesPerSec * 8) / 1e6;
    const metricsChanged =
      rows.last('cwndBytes') !== cwnd ||
      rows.last('srttMs') !== srtt ||
      rows.last('deliveryRateMbit') !== rate;
    const stored = rows.add(this.monotonic(), {
      cwndBytes: cwnd,
      srttMs: srtt,
      deliveryRateMbit: rate,
      packetsSent: s.sent,
      packetsLost: s.lost,
      packetsRetransmitted: s.retrans,
      timeouts: this.timers.pto,
    });
    if (!stored) return;
    if (this.qlog !== null && metricsChanged) {
      this.qlog.event(now - this.tStart, 'recovery:metrics_updated', {
        congestion_window: cwnd,
        smoothed_rtt: srtt,
        // Not in the qlog schema (custom fields are allowed): quiche's delivery rate estimate.
        delivery_rate_bits_per_second: s.deliveryRateBytesPerSec * 8,
        packets_sent: s.sent,
        packets_lost: s.lost,
        packets_retransmitted: s.retrans,
      });
    }
  }

  private qlogEvent(name: string, data: QlogData): void {
    if (this.qlog !== null) this.qlog.event(this.now() - this.tStart, name, data);
  }

  /** qlog: the datagrams of this flush, as one received and one sent event (lengths only). */
  private flushDatagrams(): void {
    const q = this.qlog;
    if (q === null) return;
    const t = this.now() - this.tStart;
    if (this.rxLengths.length > 0) {
      q.event(t, 'transport:datagrams_received', {
        count: this.rxLengths.length,
        raw: this.rxLengths.map((length) => ({ length })),
      });
      this.rxLengths.length = 0;
    }
    if (this.txLengths.length > 0) {
      q.event(t, 'transport:datagrams_sent', {
        count: this.txLengths.length,
        raw: this.txLengths.map((length) => ({ length })),
      });
      this.txLengths.length = 0;
    }
  }
}
