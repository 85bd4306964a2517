/**
 * Raw measurement records produced by a client run, the same for every protocol. Times are
 * milliseconds on the client's monotonic clock (`performance.now()`), relative to the run's `t0`
 * (the moment the workload started), so records of different runs line up.
 *
 * Subset relations: `ok + failed = requests`; `timeouts` is a subset of `failed`.
 */
import type { Protocol } from '../scenario/schema.js';
import type { JsonObject } from '../../core/json.js';
import type { TelemetrySeries } from './telemetry.js';

/**
 * Stack settings an engine applied (TLS, ALPN, windows, congestion control, pacing, QUIC transport
 * parameters...), recorded verbatim for the reader: engine-specific keys, read by people, never by
 * the analysis.
 */
export type EngineSettings = JsonObject;

/** One connection (TCP+TLS or QUIC) opened by the client. */
export interface ConnectionRecord {
  /** Index within the run, in order of opening. */
  id: number;
  /** Connection attempt started, ms since t0. */
  tStart: number;
  /** TCP three-way handshake done (h1/h2); null for QUIC or if it never completed. */
  tTcpConnected: number | null;
  /** TLS handshake done (h1/h2) or QUIC handshake done (h3), ms since t0; null if never. */
  tHandshakeDone: number | null;
  /** ALPN protocol negotiated ("http/1.1", "h2", "h3"), null if none. */
  alpn: string | null;
  /** TLS version ("TLSv1.3"). */
  tlsVersion: string | null;
  /** Error that ended the connection abnormally, if any. */
  error: string | null;
  /** Transport statistics at close (QUIC from quiche; TCP from the kernel when available). */
  transport: TransportStats | null;
  /**
   * The client started closing the connection, ms since t0; null if it never did (absent in files
   * before schema 7). Closing is off every workload's critical path: the next request does not wait.
   */
  tCloseStart?: number | null;
  /**
   * The connection was fully closed (TCP: socket closed; QUIC: the closing period over), ms since t0;
   * null if not seen before the client ended. tClosed - tCloseStart is the teardown time.
   */
  tClosed?: number | null;
}

/** Per-connection transport statistics; any field may be missing for a given stack. */
export interface TransportStats {
  /** Packets sent by this endpoint. */
  packetsSent?: number;
  /** Packets received by this endpoint. */
  packetsReceived?: number;
  /** Packets declared lost (subset of packetsSent). */
  packetsLost?: number;
  /** Packets retransmitted (QUIC: stream frames resent). */
  packetsRetransmitted?: number;
  bytesSent?: number;
  bytesReceived?: number;
  /**
   * Smoothed RTT at close, ms, as this (the client's) stack last estimated it. A receiver samples the
   * RTT only when its own ack-eliciting packets are acknowledged (QUIC: requests, flow-control
   * updates), so on a download it lags and includes the server's queueing and processing; the
   * sender's RTT over time is in `runs[i].server.telemetry` (docs/metrics.md § 7).
   */
  srttMs?: number;
  /** Congestion window at close, bytes. */
  cwndBytes?: number;
}

/**
 * One request. `chunks` is the stream's delivery timeline: [time ms since t0, body bytes] for every
 * piece of the response body as the application received it.
 */
export interface RequestRecord {
  /** Index in workload order. */
  id: number;
  /** Connection that carried it (ConnectionRecord.id); null if no connection was obtained. */
  connection: number | null;
  /** Transport stream id (h2/h3); null for h1. */
  stream: number | null;
  /** When the workload intended to send it, ms since t0 (open-loop workloads: from the schedule). */
  tIntended: number;
  /** When it was handed to the protocol client, ms since t0. */
  tStart: number;
  /**
   * Response headers received, ms since t0; null if never. The reports measure TTFB from
   * tIntended (docs/metrics.md); tHeaders - tStart is the time on the wire.
   */
  tHeaders: number | null;
  /** Last body byte received (end of stream), ms since t0; null if never. */
  tEnd: number | null;
  /** HTTP status, 0 if none was received. */
  status: number;
  /** Body bytes expected (from the workload). */
  bytesExpected: number;
  /** Body bytes received. */
  bytes: number;
  /** Error message if the request failed (timeout, reset, wrong size, status != 200). */
  error: string | null;
  /** True if it failed by running past the workload's timeout (subset of failed). */
  timedOut: boolean;
  /** Delivery timeline: [ms since t0, bytes] per body chunk received. */
  chunks: [number, number][];
}

/** CPU time of one process over the run. */
export interface CpuUsage {
  /** User CPU, ms. */
  userMs: number;
  /** System CPU, ms. */
  systemMs: number;
  /** Wall-clock time the process was measured over, ms. */
  wallMs: number;
}

/** Everything a client process reports for one run. */
export interface ClientReport {
  protocol: Protocol;
  /** Wall-clock start of t0 (Date.now()), for correlating with emulator logs. */
  t0EpochMs: number;
  /**
   * t0 on CLOCK_MONOTONIC in ns (process.hrtime.bigint(), as a decimal string): the clock the link
   * emulator logs with, so its drop times can be placed on this run's timeline.
   */
  t0MonotonicNs?: string;
  /** Workload completion: last request finished (ok or failed), ms since t0. */
  durationMs: number;
  connections: ConnectionRecord[];
  requests: RequestRecord[];
  cpu: CpuUsage;
  /** Workload-level metrics with the unit in the name (pageLoadMs, bodyRateMbit, latencyP99Ms...). */
  metrics: Record<string, number>;
  /** Protocol/stack settings actually applied by the client (windows, CC, pacing...). */
  settings: EngineSettings;
  /** The client's sending state over time, one series per connection (absent before schema 7). */
  telemetry?: TelemetrySeries[];
  /** A browser run's (`stacks.client: chromium`) browser, flags and per-resource timing (schema 8). */
  browser?: BrowserReport;
}

/**
 * One resource a browser loaded (the document included): its Resource Timing entry, ms since the
 * page's time origin (`BrowserReport.timeOriginMs` places it on the run's timeline).
 */
export interface BrowserResource {
  /** Absolute URL. */
  name: string;
  /** 'navigation' for the document; 'link', 'script', 'img', 'css'... for subresources. */
  initiatorType: string;
  /** ALPN of the connection that carried it: 'http/1.1', 'h2', 'h3'. */
  nextHopProtocol: string;
  startTime: number;
  requestStart: number;
  responseStart: number;
  responseEnd: number;
  encodedBodySize: number;
  decodedBodySize: number;
  transferSize: number;
  /** HTTP status (CDP Network domain; Resource Timing's responseStatus otherwise); 0 if none. */
  status: number;
  /** ConnectionRecord.id of the connection that carried it, null if unknown. */
  connection: number | null;
}

/** What a browser run adds to its client report (harness/workload/chromium.ts). */
export interface BrowserReport {
  name: 'chromium';
  /** "156.0.8078.129". */
  version: string;
  /** Browser.getVersion: product, revision, user agent. */
  product: string;
  revision: string;
  userAgent: string;
  /** The binary and every switch it was started with. */
  executable: string;
  flags: string[];
  /** The HTTP version the flags forced. */
  protocol: Protocol;
  /** The page's URL. */
  url: string;
  /** Why the document did not load (net::ERR_...), null if it did. */
  navigationError: string | null;
  /** The page did not complete within the workload's timeout. */
  timedOut: boolean;
  /** The page's time origin (startTime 0) on the run's timeline, ms since t0; null if no page. */
  timeOriginMs: number | null;
  /**
   * How page times were placed on the run's timeline: 'monotonic' (paired with CDP's
   * CLOCK_MONOTONIC timestamps over `pairs` requests, `spreadMs` the largest deviation) or
   * 'wall-clock' (performance.timeOrigin against t0's wall clock).
   */
  clock: { method: 'monotonic' | 'wall-clock'; pairs: number; spreadMs: number | null };
  /** Why requests have no chunk timeline (a browser gives no per-chunk arrival times). */
  chunks: string;
  /** The page's own completion state and the URLs it reported failed. */
  pageState: string | null;
  pageErrors: string[];
  /** Every resource the page's performance timeline holds, document first. */
  resources: BrowserResource[];
  /** Requests that were not page files (e.g. a favicon): "URL (outcome)". */
  otherRequests: string[];
  /** Where `ClientReport.cpu` comes from: the client process plus the browser's process tree. */
  cpu?: {
    source: string;
    browserUserMs: number;
    browserSystemMs: number;
    processes: number;
    /** Cores the client's machine offered (os.availableParallelism()): what a browser can use. */
    cores?: number;
  };
}

/** What a server process reports when told to stop. */
export interface ServerReport {
  protocol: Protocol;
  cpu: CpuUsage;
  /** Requests served. */
  requests: number;
  settings: EngineSettings;
  /** The server's sending state over time (it sends the responses), one series per connection. */
  telemetry?: TelemetrySeries[];
}
