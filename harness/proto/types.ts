/**
 * The one interface every HTTP version's engine implements (servers and clients), and the settings
 * every engine pins alike. The engine for a protocol is chosen in `session.ts` and nowhere else.
 */
import type { ConnectionRecord, EngineSettings, RequestRecord } from '../model/records.js';
import type { Protocol, SchedulingPolicy, Transport } from '../scenario/schema.js';
import type { PageSpec } from '../scenario/workload.js';
import type { TelemetrySeries } from '../model/telemetry.js';

/** Settings every TCP+TLS engine pins the same way (and records). */
export const TLS_SETTINGS = {
  minVersion: 'TLSv1.3',
  maxVersion: 'TLSv1.3',
  /** The suite QUIC (BoringSSL) negotiates on x86 with AES-NI; pinned for TCP so crypto cost matches. */
  ciphers: 'TLS_AES_128_GCM_SHA256',
  ecdhCurve: 'X25519',
} as const;

/** Streams a peer may open at once (h2 SETTINGS_MAX_CONCURRENT_STREAMS, QUIC initial_max_streams_bidi). */
export const MAX_CONCURRENT_STREAMS = 1000;

export interface ServerOptions {
  /** Address to bind. */
  host: string;
  /** Port to bind (TCP for h1/h2, UDP for h3); 0 = any. */
  port: number;
  certPem: string;
  keyPem: string;
  transport: Transport;
  /** If set, h1/h2 responses carry `Alt-Svc: h3=":<port>"`. */
  altSvcH3Port?: number | undefined;
  /** h2 only: also answer HTTP/1.1 on the same port, chosen by ALPN (`h3bench serve`). */
  allowHttp1?: boolean | undefined;
  /** Order of the responses ready at once (`server.scheduling`); default 'sequential'. */
  scheduling?: SchedulingPolicy | undefined;
  /** QUIC only: write one qlog (JSON-SEQ) per connection into this directory (`report.qlog`). */
  qlogDir?: string | undefined;
  /** The generated page served under /page/ (page-load workloads; pages.ts), if any. */
  page?: PageSpec | null | undefined;
  /**
   * `/bytes/<n>` sizes the run requests: a server of pre-generated files (Caddy) writes these; our
   * own servers answer any n and ignore it.
   */
  bodySizes?: readonly number[] | undefined;
}

export interface ProtocolServer {
  readonly protocol: Protocol;
  /** Start listening; resolves with the bound port. */
  listen(): Promise<number>;
  /** Stop accepting, close connections. */
  close(): Promise<void>;
  /** Requests answered so far. */
  requestsServed(): number;
  /** Stack settings applied (recorded in the result). */
  settings(): EngineSettings;
  /**
   * Sending state over time of every connection so far, closed ones included (engines that sample
   * it themselves: QUIC; TCP is sampled from outside the process). Times are CLOCK_MONOTONIC ms
   * (`process.hrtime`); the orchestrator moves them onto the run's t0.
   */
  telemetry?(): TelemetrySeries[];
}

export interface ClientOptions {
  /** Server address to connect to. */
  host: string;
  port: number;
  /** SNI and certificate name to check. */
  serverName: string;
  /** CA to trust; null with `insecure` to skip verification (fetch --insecure only). */
  caPem: string | null;
  insecure?: boolean;
  transport: Transport;
  /** HTTP/1.1: keep-alive connections to use. Ignored by multiplexing protocols. */
  connections: number;
  /** Monotonic clock in ms since the run's t0. */
  now: () => number;
  /** QUIC only: write one qlog (JSON-SEQ) per connection into this directory (`report.qlog`). */
  qlogDir?: string | undefined;
}

/** Response headers as received (lower-case names). */
export type ResponseHeaders = Record<string, string | string[] | undefined>;

export interface ProtocolClient {
  readonly protocol: Protocol;
  /**
   * GET `path` and fill `rec` (connection, stream, tHeaders, status, bytes, chunks, tEnd). Resolves
   * with the response headers when the body is complete; rejects on error or abort (the record keeps
   * whatever was received).
   */
  get(path: string, rec: RequestRecord, signal: AbortSignal): Promise<ResponseHeaders>;
  /** Connections opened so far, with their setup phases. */
  connections(): ConnectionRecord[];
  /** Close every connection. */
  close(): Promise<void>;
  /** Stack settings applied (recorded in the result). */
  settings(): EngineSettings;
  /** As ProtocolServer.telemetry: every connection's sending state, CLOCK_MONOTONIC ms. */
  telemetry?(): TelemetrySeries[];
}

/** ALPN identifier of each protocol. */
export const ALPN: Record<Protocol, string> = { h1: 'http/1.1', h2: 'h2', h3: 'h3' };

/** The transport each protocol runs over: code that must know (ports, timing breakdowns) asks this. */
export const TRANSPORT_OF: Record<Protocol, 'tcp' | 'udp'> = { h1: 'tcp', h2: 'tcp', h3: 'udp' };

export type ServerFactory = (opts: ServerOptions) => ProtocolServer;
export type ClientFactory = (opts: ClientOptions) => ProtocolClient;

/** A connection's record before anything happened on it: every engine starts from this. */
export function newConnectionRecord(id: number, tStart: number): ConnectionRecord {
  return {
    id,
    tStart,
    tTcpConnected: null,
    tHandshakeDone: null,
    alpn: null,
    tlsVersion: null,
    error: null,
    transport: null,
  };
}
