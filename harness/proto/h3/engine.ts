/**
 * HTTP/3 adapter: our HTTP/3 + QPACK core (`../h3/`, no I/O) over the lean QUIC driver
 * (`../quic/`), behind the same ProtocolServer/ProtocolClient interface as h1 and h2.
 *
 * Server: serves `handle()`; a body goes out as 64 KiB DATA frames whose payloads are views of the
 * shared pattern buffer (`bodySlice`), in the order `server.scheduling` asks (../schedule.ts, the
 * same scheduler as the HTTP/2 server's), at most MAX_CHUNKS_AHEAD chunks ahead of what quiche takes. Client: one connection, opened lazily on the first `get()` (as h2), one
 * bidirectional stream per request, a delivery timeline entry per body piece as read from quiche.
 *
 * Peer input never throws out of here: the core turns malformed input into stream or connection
 * errors, and the driver fails a connection (not the process) if a callback throws.
 */
import type { ConnectionRecord, EngineSettings, RequestRecord } from '../../model/records.js';
import type { TelemetrySeries } from '../../model/telemetry.js';
import { H3ErrorCode, h3ErrorName } from './errors.js';
import type { H3Event } from './events.js';
import { H3Connection, type QuicStreamSink } from './connection.js';
import type { Header } from './qpack/qpack.js';
import { handle, type AppResponse } from '../handler.js';
import {
  ALPN,
  MAX_CONCURRENT_STREAMS,
  newConnectionRecord,
  type ClientOptions,
  type ProtocolClient,
  type ProtocolServer,
  type ResponseHeaders,
  type ServerOptions,
} from '../types.js';
import type { SchedulingPolicy, Transport } from '../../scenario/schema.js';
import { DEFAULT_SCHEDULING, ResponseScheduler, schedulingSettings } from '../schedule.js';
import { QuicClient } from '../quic/client.js';
import type { QuicCloseEvent, QuicConn } from '../quic/connection.js';
import { QuicServer } from '../quic/server.js';

/** QPACK and HTTP/3 settings we advertise (recorded). */
const H3_SETTINGS = {
  qpackMaxTableCapacity: 0,
  qpackBlockedStreams: 0,
  maxFieldSectionSize: 64 * 1024,
} as const;

/**
 * quiche stream priorities (RFC 9218 §4 semantics: lower urgency first; non-incremental streams of
 * one urgency one after another by stream id, incremental ones round robin) that back up the
 * application scheduler (../schedule.ts): a body is sent at urgency 3 (RFC 9218's default), never
 * incremental — under `round-robin` the scheduler interleaves 16 KiB chunks itself, as it does for
 * HTTP/2, where quiche's own round robin would interleave packet by packet; a stream whose HEADERS
 * go out before its body's turn (`headers-first`, `round-robin`) is at urgency 2 until its body
 * starts, so quiche does not hold those HEADERS behind the earlier bodies it already has.
 */
const BODY_URGENCY = 3;
const HEADERS_AHEAD_URGENCY = 2;

const H3_ENFORCEMENT =
  'HEADERS written to quiche when due; a body chunk is written only while fewer than maxChunksAhead ' +
  'are waiting to be taken by quiche (which takes no more than flow control and the congestion window ' +
  'allow), plus quiche stream priorities (responsePriority)';

function responsePriority(policy: SchedulingPolicy) {
  return {
    body: { urgency: BODY_URGENCY, incremental: false },
    headersAhead: policy === 'sequential' ? null : { urgency: HEADERS_AHEAD_URGENCY, incremental: false },
  };
}

function recordedSettings(t: Transport, endpoint: EngineSettings | null): EngineSettings {
  return {
    tls: { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', library: 'BoringSSL (quiche)' },
    alpn: ALPN.h3,
    h3: H3_SETTINGS,
    maxConcurrentStreams: MAX_CONCURRENT_STREAMS,
    streamWindowBytes: t.streamWindowBytes,
    connectionWindowBytes: t.connectionWindowBytes,
    congestion: t.congestion,
    ...(t.congestion === 'cubic' ? { congestionUndo: QUICHE_CUBIC_UNDO } : {}),
    hystart: t.hystart,
    pacing: t.pacing,
    quic: endpoint,
  };
}

/**
 * A loss response quiche's CUBIC has and Linux's has not, recorded with the settings because no
 * setting of this binding turns it off: the reader of a lossy result must know it.
 */
const QUICHE_CUBIC_UNDO =
  'quiche CUBIC rolls a congestion event back (cwnd, ssthresh, W_max) when its recovery episode lost fewer than ' +
  '10 packets (src/recovery/cubic.rs RESTORE_COUNT_THRESHOLD, after draft-ietf-tcpm-rfc8312bis §4.9); not ' +
  'configurable here. Linux TCP undoes a reduction only on D-SACK or timestamp evidence (RFC 2883, RFC 3522)';

function sinkFor(conn: QuicConn): QuicStreamSink {
  return {
    sendStreamData: (id, data, fin) => {
      conn.write(id, data, fin);
    },
    openUniStream: () => conn.openUni(),
    openBidiStream: () => conn.openBidi(),
    resetStream: (id, code) => {
      conn.resetStream(id, code);
    },
    stopSending: (id, code) => {
      conn.stopSending(id, code);
    },
    closeConnection: (code, reason) => {
      void conn.close(code, reason);
    },
  };
}

/** A readable description of why a connection ended, or null for a clean close. */
function closeError(ev: QuicCloseEvent): string | null {
  const describe = (who: string, e: { isApp: boolean; code: number; reason: string }) =>
    `${who} closed the connection with ${e.isApp ? h3ErrorName(e.code) : `transport error 0x${e.code.toString(16)}`}${e.reason ? ` (${e.reason})` : ''}`;
  if (ev.timedOut) return 'idle timeout';
  const e = ev.peer ?? ev.local;
  if (e === null) return ev.handshakeFailed ? 'QUIC handshake did not complete' : null;
  if (e.isApp && e.code === H3ErrorCode.H3_NO_ERROR && !ev.handshakeFailed) return null;
  return describe(ev.peer !== null ? 'peer' : 'we', e);
}

// ---- server ------------------------------------------------------------------------------------

interface Response {
  id: number;
  app: AppResponse;
  /** Body chunks written and not yet taken by quiche, in order. */
  waiting: (() => void)[];
}

function headerValue(headers: readonly Header[], name: string): string | undefined {
  for (const [n, v] of headers) if (n === name) return v;
  return undefined;
}

export function createServer(opts: ServerOptions): ProtocolServer {
  let served = 0;
  let endpoint: QuicServer | null = null;
  const policy = opts.scheduling ?? DEFAULT_SCHEDULING;
  const priority = responsePriority(policy);

  const onConnection = (conn: QuicConn): void => {
    const h3 = new H3Connection(sinkFor(conn), {
      role: 'server',
      maxFieldSectionSize: H3_SETTINGS.maxFieldSectionSize,
    });
    const responses = new Map<number, Response>();

    const scheduler = new ResponseScheduler<Response>(policy, {
      headers: (r, fin) => {
        const fields: Header[] = [[':status', String(r.app.status)], ...Object.entries(r.app.headers)];
        if (!fin && priority.headersAhead !== null) {
          conn.setPriority(r.id, priority.headersAhead.urgency, priority.headersAhead.incremental);
        }
        h3.sendHeaders(r.id, fields, fin);
      },
      chunk: (r, offset, length, fin, accepted) => {
        if (offset === 0) conn.setPriority(r.id, priority.body.urgency, priority.body.incremental);
        h3.sendData(r.id, r.app.chunk(offset, length), fin);
        if (conn.buffered(r.id) === 0) {
          accepted();
        } else {
          r.waiting.push(accepted);
          conn.wantWritable(r.id);
        }
      },
      finished: (r) => {
        responses.delete(r.id);
      },
    });

    const forget = (id: number): void => {
      responses.delete(id);
      scheduler.cancel(id);
    };

    const respond = (id: number, headers: readonly Header[]): void => {
      const app = handle(
        {
          method: headerValue(headers, ':method') ?? 'GET',
          path: headerValue(headers, ':path') ?? '/',
          requestId: headerValue(headers, 'x-request-id'),
        },
        opts.page,
      );
      served++;
      const r: Response = { id, app, waiting: [] };
      responses.set(id, r);
      scheduler.add(id, r, app.bodyBytes);
    };

    const dispatch = (events: H3Event[]): void => {
      for (const ev of events) {
        if (ev.type === 'HeadersReceived' && !ev.trailers && !ev.interim) respond(ev.streamId, ev.headers);
        else if (ev.type === 'StreamReset') forget(ev.streamId);
      }
    };

    conn.setHandler({
      onEstablished: () => {
        h3.initialize();
      },
      onStreamData: (id, data, fin) => {
        dispatch(h3.handleStreamData(id, data, fin));
      },
      onStreamReset: (id, code) => {
        dispatch(h3.handleStreamReset(id, code));
      },
      onStreamStopped: (id, code) => {
        forget(id);
        h3.cancelStream(id, code);
      },
      // The stream's write queue is empty: quiche took every chunk written so far.
      onStreamWritable: (id) => {
        const r = responses.get(id);
        if (r === undefined) return;
        for (const accepted of r.waiting.splice(0)) accepted();
      },
      onClose: () => {
        responses.clear();
        scheduler.clear();
      },
    });
  };

  const endpointOptions = {
    host: opts.host,
    port: opts.port,
    certPem: opts.certPem,
    keyPem: opts.keyPem,
    transport: opts.transport,
    alpn: [ALPN.h3],
    maxStreamsBidi: MAX_CONCURRENT_STREAMS,
    telemetry: true,
    qlogDir: opts.qlogDir,
  };

  return {
    protocol: 'h3',
    listen: () => {
      endpoint = new QuicServer(endpointOptions, onConnection);
      return endpoint.listen();
    },
    close: async () => {
      await endpoint?.close(H3ErrorCode.H3_NO_ERROR);
    },
    requestsServed: () => served,
    telemetry: () => endpoint?.telemetry() ?? [],
    settings: () => ({
      ...recordedSettings(opts.transport, endpoint?.settings() ?? null),
      scheduling: schedulingSettings(policy, H3_ENFORCEMENT),
      responsePriority: priority,
    }),
  };
}

// ---- client ------------------------------------------------------------------------------------

interface Pending {
  rec: RequestRecord;
  headers: ResponseHeaders;
  resolve: (h: ResponseHeaders) => void;
  reject: (err: Error) => void;
  /** Detach the abort listener. */
  done: () => void;
}

/** Test and tool hooks of the HTTP/3 client (not part of ProtocolClient). */
export interface ClientHooks {
  /** Every body piece as delivered (a view valid only during the call), after the record is updated. */
  onBody?(rec: RequestRecord, data: Uint8Array): void;
}

/** One client connection: endpoint, QUIC connection, HTTP/3 core, requests in flight. */
class ClientConnection {
  readonly rec: ConnectionRecord;
  readonly ready: Promise<void>;
  closed = false;
  /** The server sent GOAWAY: no new requests here. */
  draining = false;
  private readonly endpoint: QuicClient;
  private conn: QuicConn | null = null;
  private h3: H3Connection | null = null;
  private readonly pending = new Map<number, Pending>();
  /** Requests waiting for the server to allow another stream. */
  private readonly waiting: (() => void)[] = [];
  /** Streams granted by `streamSlot` but not opened yet. */
  private reserved = 0;
  private readonly opts: ClientOptions;
  private readonly hooks: ClientHooks;

  constructor(opts: ClientOptions, id: number, hooks: ClientHooks) {
    this.opts = opts;
    this.hooks = hooks;
    this.rec = { ...newConnectionRecord(id, opts.now()), tCloseStart: null, tClosed: null };
    this.endpoint = new QuicClient({
      host: opts.host,
      port: opts.port,
      serverName: opts.serverName,
      caPem: opts.insecure === true ? null : opts.caPem,
      transport: opts.transport,
      alpn: [ALPN.h3],
      maxStreamsBidi: MAX_CONCURRENT_STREAMS,
      telemetry: true,
      qlogDir: opts.qlogDir,
    });
    this.ready = new Promise<void>((resolve, reject) => {
      this.endpoint
        .connect({
          onEstablished: () => {
            this.rec.tHandshakeDone = this.opts.now();
            this.rec.alpn = this.conn?.alpn() ?? null;
            this.rec.tlsVersion = 'TLSv1.3';
            this.h3?.initialize();
            resolve();
          },
          onStreamData: (id, data, fin) => {
            this.dispatch(this.h3?.handleStreamData(id, data, fin) ?? []);
          },
          onStreamReset: (id, code) => {
            this.dispatch(this.h3?.handleStreamReset(id, code) ?? []);
          },
          onFlush: () => {
            this.releaseSlots();
          },
          onClose: (ev) => {
            this.onClose(ev);
            reject(new Error(`HTTP/3 connection failed: ${this.rec.error ?? 'closed during the handshake'}`));
          },
        })
        .then(
          (conn) => {
            this.conn = conn;
            this.h3 = new H3Connection(sinkFor(conn), {
              role: 'client',
              maxFieldSectionSize: H3_SETTINGS.maxFieldSectionSize,
            });
          },
          (err: unknown) => {
            this.closed = true;
            this.rec.error = err instanceof Error ? err.message : String(err);
            reject(err instanceof Error ? err : new Error(String(err)));
          },
        );
    });
    // A failed handshake is reported to every get(); keep it from being an unhandled rejection.
    this.ready.catch(() => undefined);
  }

  /** Send one request on its own stream; resolves with the headers at the end of the body. */
  async request(path: string, rec: RequestRecord, signal: AbortSignal): Promise<ResponseHeaders> {
    await this.ready;
    await this.streamSlot(signal);
    this.reserved = Math.max(0, this.reserved - 1);
    const h3 = this.h3;
    if (h3 === null || this.closed)
      throw new Error(`HTTP/3 connection closed: ${this.rec.error ?? 'closed'}`);
    signal.throwIfAborted();
    const id = h3.getNextRequestStreamId();
    rec.stream = id;
    return new Promise<ResponseHeaders>((resolve, reject) => {
      const onAbort = () => {
        if (!this.pending.delete(id)) return;
        h3.cancelStream(id, H3ErrorCode.H3_REQUEST_CANCELLED);
        reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, {
        rec,
        headers: {},
        resolve,
        reject,
        done: () => {
          signal.removeEventListener('abort', onAbort);
        },
      });
      const fields: Header[] = [
        [':method', 'GET'],
        [':scheme', 'https'],
        [':authority', `${this.opts.serverName}:${this.opts.port}`],
        [':path', path],
        ['x-request-id', String(rec.id)],
      ];
      try {
        h3.sendHeaders(id, fields, true);
      } catch (err) {
        this.pending.delete(id);
        signal.removeEventListener('abort', onAbort);
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  /**
   * Wait until the server's stream limit (MAX_STREAMS) allows one more request stream, and reserve
   * it (the caller opens the stream and releases the reservation).
   */
  private streamSlot(signal: AbortSignal): Promise<void> {
    const conn = this.conn;
    if (conn === null) return Promise.resolve();
    if (this.waiting.length === 0 && conn.streamsLeftBidi() - this.reserved > 0) {
      this.reserved++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const i = this.waiting.indexOf(go);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      const go = () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(go);
    });
  }

  /** Let waiting requests go as stream credit allows (called whenever the connection was processed). */
  private releaseSlots(): void {
    const conn = this.conn;
    if (conn === null || this.waiting.length === 0) return;
    let credits = this.closed ? Infinity : conn.streamsLeftBidi() - this.reserved;
    while (credits > 0 && this.waiting.length > 0) {
      const go = this.waiting.shift();
      this.reserved++;
      credits--;
      go?.();
    }
  }

  private dispatch(events: H3Event[]): void {
    const now = this.opts.now;
    for (const ev of events) {
      switch (ev.type) {
        case 'HeadersReceived': {
          const p = this.pending.get(ev.streamId);
          if (p === undefined) break;
          if (!ev.trailers && !ev.interim) {
            p.rec.tHeaders = now();
            const h: ResponseHeaders = {};
            for (const [name, value] of ev.headers) {
              const prev = h[name];
              h[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
            }
            p.rec.status = Number(h[':status'] ?? 0);
            p.headers = h;
          }
          if (ev.fin) this.finish(ev.streamId, p);
          break;
        }
        case 'DataReceived': {
          const p = this.pending.get(ev.streamId);
          if (p === undefined) break;
          if (ev.data.length > 0) {
            p.rec.bytes += ev.data.length;
            p.rec.chunks.push([now(), ev.data.length]);
            this.hooks.onBody?.(p.rec, ev.data);
          }
          if (ev.fin) this.finish(ev.streamId, p);
          break;
        }
        case 'StreamReset': {
          const p = this.pending.get(ev.streamId);
          if (p === undefined) break;
          this.pending.delete(ev.streamId);
          p.done();
          p.reject(new Error(`stream ${ev.streamId} reset with ${h3ErrorName(ev.code)}`));
          break;
        }
        case 'GoawayReceived':
          this.draining = true;
          break;
        case 'ConnectionError':
          this.rec.error ??= ev.error.message;
          break;
        case 'SettingsReceived':
          break;
      }
    }
  }

  private finish(id: number, p: Pending): void {
    this.pending.delete(id);
    p.rec.tEnd = this.opts.now();
    p.done();
    p.resolve(p.headers);
  }

  /** The driver has released the connection: its closing or draining period is over (RFC 9000 §10.2). */
  private onClose(ev: QuicCloseEvent): void {
    this.rec.tClosed = this.opts.now();
    this.closed = true;
    this.rec.error ??= closeError(ev);
    if (this.conn !== null) this.rec.transport = this.conn.stats();
    const err = new Error(`HTTP/3 connection closed: ${this.rec.error ?? 'closed'}`);
    for (const p of this.pending.values()) {
      p.done();
      p.reject(err);
    }
    this.pending.clear();
    for (const go of this.waiting.splice(0)) go();
  }

  /** Live transport stats (the record keeps the final ones once closed). */
  refreshStats(): void {
    if (!this.closed && this.conn !== null) this.rec.transport = this.conn.stats();
  }

  /**
   * CONNECTION_CLOSE, then the closing period (three PTOs, RFC 9000 §10.2) before the driver
   * releases the connection and the socket; resolves then. Every client connection has its own
   * endpoint and UDP socket, so a connection closing holds up nothing else.
   */
  async close(): Promise<void> {
    if (!this.closed) this.rec.tCloseStart ??= this.opts.now();
    if (this.h3 !== null && !this.closed) this.h3.close(H3ErrorCode.H3_NO_ERROR);
    await this.endpoint.close(H3ErrorCode.H3_NO_ERROR);
  }

  settings(): EngineSettings {
    return this.endpoint.settings();
  }

  /** This connection's sending state over time (CLOCK_MONOTONIC ms), kept after close. */
  telemetry(): TelemetrySeries[] {
    return this.endpoint.telemetry();
  }
}

export function createClient(opts: ClientOptions, hooks: ClientHooks = {}): ProtocolClient {
  const conns: ClientConnection[] = [];
  let current: ClientConnection | null = null;

  const get = (path: string, rec: RequestRecord, signal: AbortSignal): Promise<ResponseHeaders> => {
    if (current === null || current.closed || current.draining) {
      current = new ClientConnection(opts, conns.length, hooks);
      conns.push(current);
    }
    rec.connection = current.rec.id;
    return current.request(path, rec, signal);
  };

  return {
    protocol: 'h3',
    get,
    connections: (): ConnectionRecord[] =>
      conns.map((c) => {
        c.refreshStats();
        return c.rec;
      }),
    close: async () => {
      await Promise.all(conns.map((c) => c.close()));
    },
    settings: () => recordedSettings(opts.transport, conns[conns.length - 1]?.settings() ?? null),
    telemetry: () => conns.flatMap((c) => c.telemetry()),
  };
}
