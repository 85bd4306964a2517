/**
 * One measurement model for every protocol. A run's raw records (ClientReport,
 * plus the emulator's loss log when there is one) become a `RunTimeline`: connections, and streams
 * each with a columnar delivery timeline. `timelineEvents()` lists the same facts as events named
 * after qlog (draft-ietf-quic-qlog-main-schema / -quic-events / -h3-events) where qlog has a name,
 * so TCP+TLS/HTTP/2 and QUIC/HTTP/3 runs read alike.
 *
 * Times are ms since the client's t0 (see records.ts); a "stream" is one request/response
 * exchange (HTTP/1.1 requests included, one at a time on their connection).
 */
import type { ClientReport } from '../model/records.js';

/** Event names. qlog origin in brackets; names without one are this project's. */
export const EVENT_NAMES = [
  /** Connection attempt started [quic:connection_started; TCP: SYN sent]. */
  'connection_started',
  /** TCP three-way handshake done (h1/h2 only) [none in qlog]. */
  'tcp_connected',
  /** TLS or QUIC handshake done, ALPN known [quic:connection_state_updated → handshake_complete]. */
  'handshake_done',
  /** Request handed to the protocol client [http3:frame_created HEADERS, request side]. */
  'request_sent',
  /** Response headers received [http3:frame_parsed HEADERS]. */
  'headers_received',
  /** Response body bytes handed to the application [quic:stream_data_moved to application]. */
  'data_received',
  /** Response complete: end of stream seen [quic:stream_state_updated → closed]. */
  'stream_finished',
  /** Request failed: error, reset or timeout [none in qlog]. */
  'request_failed',
  /** The network emulator dropped a packet on the path [quic:packet_lost, seen from the link]. */
  'packet_lost',
] as const;
export type EventName = (typeof EVENT_NAMES)[number];

/** One event of a run. Fields beyond `t` and `name` depend on the event. */
export interface TimelineEvent {
  /** ms since t0. */
  t: number;
  name: EventName;
  /** Connection index (connection, request and data events; null when a request got none). */
  connection?: number | null;
  /** Request index (request and data events). */
  request?: number;
  /** Transport stream id (h2/h3), null for h1. */
  stream?: number | null;
  /** data_received: body bytes in this piece. */
  bytes?: number;
  /** handshake_done: negotiated ALPN. */
  alpn?: string | null;
  /** headers_received: HTTP status. */
  status?: number;
  /** request_failed: the error. */
  error?: string;
}

/** One connection of a run, as the analysis sees it. */
export interface ConnectionTimeline {
  id: number;
  tStart: number;
  tTcpConnected: number | null;
  tHandshakeDone: number | null;
  alpn: string | null;
}

/** One stream (request/response exchange) and its delivery timeline. */
export interface StreamTimeline {
  /** Request index in the run. */
  request: number;
  /** Connection index, null if no connection was obtained. */
  connection: number | null;
  /** Transport stream id (h2/h3), null for h1. */
  stream: number | null;
  /** Intended send time (open-loop schedule; equals tSent for closed-loop workloads). */
  tIntended: number;
  /** Request handed to the protocol client. */
  tSent: number;
  tHeaders: number | null;
  /** End of stream seen; null if the request never finished. */
  tEnd: number | null;
  /** True when the request succeeded (status 200, full body). */
  ok: boolean;
  /** Delivery times of body pieces, ascending (ms since t0). */
  dataT: Float64Array;
  /** Body bytes of each piece. */
  dataBytes: Float64Array;
}

export interface RunTimeline {
  /** Workload completion, ms since t0. */
  durationMs: number;
  connections: ConnectionTimeline[];
  streams: StreamTimeline[];
  /**
   * Packet drops by the emulator, ms since the client's t0, ascending; null when no loss log was
   * available (unknown), [] when known to be lossless.
   */
  lossTimesMs: number[] | null;
}

/** Build the timeline of a run from the client's records and the loss log (null = no log). */
export function runTimeline(client: ClientReport, lossTimesMs: readonly number[] | null): RunTimeline {
  const streams: StreamTimeline[] = client.requests.map((r) => {
    const n = r.chunks.length;
    const dataT = new Float64Array(n);
    const dataBytes = new Float64Array(n);
    let sorted = true;
    for (let i = 0; i < n; i++) {
      const c = r.chunks[i];
      dataT[i] = c?.[0] ?? NaN;
      dataBytes[i] = c?.[1] ?? 0;
      if (i > 0 && (dataT[i] ?? 0) < (dataT[i - 1] ?? 0)) sorted = false;
    }
    if (!sorted) {
      const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (dataT[a] ?? 0) - (dataT[b] ?? 0));
      const t2 = Float64Array.from(order, (i) => dataT[i] ?? NaN);
      const b2 = Float64Array.from(order, (i) => dataBytes[i] ?? 0);
      dataT.set(t2);
      dataBytes.set(b2);
    }
    return {
      request: r.id,
      connection: r.connection,
      stream: r.stream,
      tIntended: r.tIntended,
      tSent: r.tStart,
      tHeaders: r.tHeaders,
      tEnd: r.tEnd,
      ok: r.error === null && r.tEnd !== null,
      dataT,
      dataBytes,
    };
  });
  return {
    durationMs: client.durationMs,
    connections: client.connections.map((c) => ({
      id: c.id,
      tStart: c.tStart,
      tTcpConnected: c.tTcpConnected,
      tHandshakeDone: c.tHandshakeDone,
      alpn: c.alpn,
    })),
    streams,
    lossTimesMs: lossTimesMs === null ? null : Array.from(Float64Array.from(lossTimesMs).sort()),
  };
}

/**
 * The run as a time-ordered list of qlog-named events. `errors` maps request index → error text
 * for request_failed events (the timeline keeps only ok/not ok).
 */
export function timelineEvents(
  tl: RunTimeline,
  errors: ReadonlyMap<number, string> = new Map(),
): TimelineEvent[] {
  const ev: TimelineEvent[] = [];
  for (const c of tl.connections) {
    ev.push({ t: c.tStart, name: 'connection_started', connection: c.id });
    if (c.tTcpConnected !== null) ev.push({ t: c.tTcpConnected, name: 'tcp_connected', connection: c.id });
    if (c.tHandshakeDone !== null)
      ev.push({ t: c.tHandshakeDone, name: 'handshake_done', connection: c.id, alpn: c.alpn });
  }
  for (const s of tl.streams) {
    const base = { connection: s.connection, request: s.request, stream: s.stream };
    ev.push({ t: s.tSent, name: 'request_sent', ...base });
    if (s.tHeaders !== null) ev.push({ t: s.tHeaders, name: 'headers_received', ...base });
    for (let i = 0; i < s.dataT.length; i++) {
      ev.push({ t: s.dataT[i] ?? NaN, name: 'data_received', ...base, bytes: s.dataBytes[i] ?? 0 });
    }
    if (s.ok && s.tEnd !== null) ev.push({ t: s.tEnd, name: 'stream_finished', ...base });
    else {
      const last = Math.max(
        s.tSent,
        s.tHeaders ?? -Infinity,
        s.dataT[s.dataT.length - 1] ?? -Infinity,
        s.tEnd ?? -Infinity,
      );
      ev.push({ t: last, name: 'request_failed', ...base, error: errors.get(s.request) ?? 'failed' });
    }
  }
  for (const t of tl.lossTimesMs ?? []) ev.push({ t, name: 'packet_lost' });
  // Stable sort: simultaneous events keep their causal order (sent before headers before data).
  return ev.sort((a, b) => a.t - b.t);
}
