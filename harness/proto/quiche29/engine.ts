/**
 * HTTP/3 engine `quiche-0.29`: quiche 0.29.2's own HTTP/3 and QUIC through the npm package
 * @currentspace/http3 0.9.0 (https://github.com/currentspace/http3), whose Rust worker threads own
 * the UDP socket, timers and quiche; JavaScript sees an http2-like API (sessions, Duplex streams).
 * Behind the same ProtocolServer/ProtocolClient interface as the quiche-0.18 engine (../h3/engine.ts).
 *
 * What the package lets us measure (its docs/API_CONTRACT.md, dist/session.d.ts):
 * - per request: tHeaders at the stream's 'response' event, one chunks entry per 'data' event (the
 *   pieces the worker hands to JavaScript), tEnd at 'end';
 * - handshake: tHandshakeDone when the session's 'connect' event reaches JavaScript (the worker saw
 *   quiche's handshake complete, then one hop to the JS thread), the same point in the application
 *   as the quiche-0.18 engine's onEstablished; quiche's own handshake duration is also recorded;
 * - transport: `Http3Session#getMetrics()` (smoothed RTT, congestion window, packet and byte
 *   counters), polled every TELEMETRY_INTERVAL_MS into a TelemetrySeries per connection and read
 *   once more at close. Its packet and byte counters are not QUIC packets or wire bytes (a 50 MB
 *   body on loopback showed ~11,500 "packets" and ~184 MB each way), so they are kept out of the
 *   records; no loss, retransmission or PTO counter is exposed at all.
 *
 * Server bodies go through the shared ResponseScheduler (../schedule.ts): a chunk counts as accepted
 * when the stream's write callback fires, which the package delays while quiche's flow control
 * holds the stream (its EVENT_STREAM_BLOCKED/EVENT_DRAIN backpressure, dist/stream.d.ts).
 */
import {
  connect,
  createSecureServer,
  type ClientHttp3Stream,
  type Http3ClientSession,
  type Http3SecureServer,
  type Http3ServerSession,
  type IncomingHeaders,
  type RuntimeInfo,
  type ServerHttp3Stream,
  type SessionMetrics,
} from '@currentspace/http3';
import { ChangeSeries, monotonicMs } from '../../../core/series.js';
import type { ConnectionRecord, EngineSettings, RequestRecord } from '../../model/records.js';
import { TELEMETRY_INTERVAL_MS, type TelemetrySeries } from '../../model/telemetry.js';
import type { Transport } from '../../scenario/schema.js';
import { ENGINE, NOT_PINNABLE, QUICHE29_CAPABILITIES, quiche29Unsupported } from './capabilities.js';
export { ENGINE, QUICHE29_CAPABILITIES, quiche29Unsupported } from './capabilities.js';
import { handle, type AppResponse } from '../handler.js';
import { DEFAULT_SCHEDULING, ResponseScheduler, schedulingSettings } from '../schedule.js';
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

/** The engine's name in scenarios (`stacks.h3`) and results. */
const LIBRARY = 'quiche 0.29.2 via @currentspace/http3 0.9.0';
/** `TelemetrySeries.source` of this engine's series. */
export const TELEMETRY_SOURCE = `${LIBRARY} (Http3Session.getMetrics)`;

/** Largest UDP payload on a 1500-byte MTU path, as the quiche-0.18 engine (quic/endpoint.ts). */
const MAX_UDP_PAYLOAD_BYTES = 1472;
/** Idle timeout, as the quiche-0.18 engine (quic/endpoint.ts DEFAULT_IDLE_TIMEOUT_MS). */
const IDLE_TIMEOUT_MS = 30_000;
/** RFC 9114 §8.1. */
const H3_NO_ERROR = 0x100;
const H3_REQUEST_CANCELLED = 0x10c;

/** Options both ends pass to the package (its docs/CONFIGURATION_OPTIONS.md). */
function transportOptions(t: Transport) {
  return {
    maxIdleTimeoutMs: IDLE_TIMEOUT_MS,
    maxUdpPayloadSize: MAX_UDP_PAYLOAD_BYTES,
    initialMaxData: t.connectionWindowBytes,
    initialMaxStreamDataBidiLocal: t.streamWindowBytes,
    initialMaxStreamsBidi: MAX_CONCURRENT_STREAMS,
    // The package's own metrics timer (default 1 s) is not needed: we poll getMetrics() ourselves.
    metricsIntervalMs: 0,
    // 'portable': poll(2) with sendmmsg/recvmmsg. The package's 'auto' picks io_uring on this kernel,
    // which measured slower here: one 50 MB body on loopback, raw package, server and client in
    // separate processes, alternating, 3 each: io_uring 38-102 MB/s at 3.3-3.7 s/GB client and
    // 5-13 s/GB server CPU; poll 122-192 MB/s at 2.1-2.2 and 2.2-2.9 s/GB (bench:engines through
    // this engine: 42 vs 109 MB/s). The driver actually used is recorded (settings.runtime).
    runtimeMode: 'portable' as const,
  };
}

/** What the package fixes and we cannot change (recorded with the settings). */

function recordedSettings(
  t: Transport,
  role: 'server' | 'client',
  runtime: RuntimeInfo | null | undefined,
): EngineSettings {
  return {
    engine: ENGINE,
    library: LIBRARY,
    tls: { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', library: 'BoringSSL (quiche)' },
    alpn: ALPN.h3,
    maxConcurrentStreams: MAX_CONCURRENT_STREAMS,
    streamWindowBytes: t.streamWindowBytes,
    connectionWindowBytes: t.connectionWindowBytes,
    maxUdpPayloadBytes: MAX_UDP_PAYLOAD_BYTES,
    idleTimeoutMs: IDLE_TIMEOUT_MS,
    congestion: 'cubic',
    hystart: true,
    pacing: false,
    requested: { congestion: t.congestion, hystart: t.hystart, pacing: t.pacing },
    unsupported: quiche29Unsupported(t),
    notPinnable: NOT_PINNABLE,
    capabilities: {
      congestion: [...QUICHE29_CAPABILITIES.congestion],
      pacing: [...QUICHE29_CAPABILITIES.pacing],
      hystart: [...QUICHE29_CAPABILITIES.hystart],
    },
    runtime:
      runtime == null
        ? null
        : {
            selectedMode: runtime.selectedMode ?? null,
            driver: runtime.driver ?? null,
            fallbackOccurred: runtime.fallbackOccurred,
          },
    measurement: {
      handshake:
        role === 'client'
          ? "tHandshakeDone = the session's 'connect' event in JavaScript (quiche established, one thread hop later)"
          : 'not recorded per connection (servers report telemetry only)',
      chunks: "one entry per stream 'data' event",
      transportStats: 'getMetrics() at close: srttMs, cwndBytes',
      telemetry: `getMetrics() every ${TELEMETRY_INTERVAL_MS} ms while the connection is open: cwndBytes, srttMs`,
    },
  };
}

// ---- telemetry ---------------------------------------------------------------------------------

interface Tracked {
  connection: string;
  rows: ChangeSeries<'cwndBytes' | 'srttMs'>;
  read: () => SessionMetrics | null;
  open: boolean;
}

/** Polls every open connection's metrics and keeps one series per connection, closed ones included. */
class Sampler {
  private readonly tracked: Tracked[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly side: 'server' | 'client') {}

  add(connection: string, read: () => SessionMetrics | null): Tracked {
    const t: Tracked = {
      connection,
      rows: new ChangeSeries(['cwndBytes', 'srttMs']),
      read,
      open: true,
    };
    this.tracked.push(t);
    this.sampleOne(t);
    this.timer ??= setInterval(() => {
      this.sample();
    }, TELEMETRY_INTERVAL_MS).unref();
    return t;
  }

  /** Take a last sample and stop sampling this connection. */
  end(t: Tracked): void {
    if (!t.open) return;
    this.sampleOne(t);
    t.open = false;
    if (this.tracked.every((x) => !x.open)) this.stop();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  series(): TelemetrySeries[] {
    return this.tracked
      .filter((t) => t.rows.length > 0)
      .map((t) => ({
        side: this.side,
        transport: 'quic',
        connection: t.connection,
        source: TELEMETRY_SOURCE,
        intervalMs: TELEMETRY_INTERVAL_MS,
        t: t.rows.t,
        ...t.rows.columns,
      }));
  }

  private sample(): void {
    for (const t of this.tracked) if (t.open) this.sampleOne(t);
  }

  private sampleOne(t: Tracked): void {
    let m: SessionMetrics | null;
    try {
      m = t.read();
    } catch {
      return;
    }
    if (m === null) return;
    t.rows.add(monotonicMs(), { cwndBytes: m.cwnd, srttMs: m.rttMs });
  }
}

// ---- server ------------------------------------------------------------------------------------

interface Response {
  stream: ServerHttp3Stream;
  app: AppResponse;
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

export function createServer(opts: ServerOptions): ProtocolServer {
  let served = 0;
  let server: Http3SecureServer | null = null;
  const policy = opts.scheduling ?? DEFAULT_SCHEDULING;
  const sampler = new Sampler('server');
  /** One scheduler per connection (the package's connection handle). */
  const schedulers = new Map<number, ResponseScheduler<Response>>();

  const schedulerFor = (conn: number): ResponseScheduler<Response> => {
    let s = schedulers.get(conn);
    if (s !== undefined) return s;
    s = new ResponseScheduler<Response>(policy, {
      headers: (r, fin) => {
        if (r.stream.destroyed) throw new Error('stream gone');
        r.stream.respond({ ':status': String(r.app.status), ...r.app.headers }, { endStream: fin });
      },
      chunk: (r, offset, length, fin, accepted) => {
        if (r.stream.destroyed) throw new Error('stream gone');
        const data = r.app.chunk(offset, length);
        if (fin) r.stream.end(data, accepted);
        else
          r.stream.write(data, () => {
            accepted();
          });
      },
    });
    schedulers.set(conn, s);
    return s;
  };

  const onStream = (stream: ServerHttp3Stream, headers: IncomingHeaders): void => {
    // A reset or a closed connection surfaces as 'error' on the stream: the scheduler drops it.
    const conn = stream._connHandle;
    const id = stream.id;
    stream.on('error', () => schedulers.get(conn)?.cancel(id));
    stream.on('close', () => schedulers.get(conn)?.cancel(id));
    stream.resume();
    const app = handle(
      {
        method: first(headers[':method']) ?? 'GET',
        path: first(headers[':path']) ?? '/',
        requestId: first(headers['x-request-id']),
      },
      opts.page,
    );
    served++;
    schedulerFor(conn).add(id, { stream, app }, app.bodyBytes);
  };

  const onSession = (session: Http3ServerSession): void => {
    const conn = session._connHandle;
    const address = server?.address();
    const local = address ? `${address.address}:${address.port}` : `${opts.host}:${opts.port}`;
    const tracked = sampler.add(`${local} ${session.remoteAddress}:${session.remotePort}`, () =>
      session.getMetrics(),
    );
    session.on('error', () => undefined);
    session.once('close', () => {
      sampler.end(tracked);
      schedulers.get(conn)?.clear();
      schedulers.delete(conn);
    });
  };

  return {
    protocol: 'h3',
    listen: () =>
      new Promise<number>((resolve, reject) => {
        const s = createSecureServer(
          {
            key: opts.keyPem,
            cert: opts.certPem,
            qlogDir: opts.qlogDir,
            ...transportOptions(opts.transport),
          },
          onStream,
        );
        server = s;
        s.on('session', onSession);
        const onError = (err: Error) => {
          reject(err);
        };
        s.once('error', onError);
        s.once('listening', () => {
          s.off('error', onError);
          s.on('error', () => undefined);
          resolve(s.address()?.port ?? 0);
        });
        s.listen(opts.port, opts.host);
      }),
    close: async () => {
      const s = server;
      if (s === null) return;
      // Final samples of connections still open, then close (CONNECTION_CLOSE, worker threads joined).
      sampler.stop();
      await s.close();
      for (const sch of schedulers.values()) sch.clear();
      schedulers.clear();
    },
    requestsServed: () => served,
    telemetry: () => sampler.series(),
    settings: () => ({
      ...recordedSettings(opts.transport, 'server', server?.runtimeInfo),
      qlogDir: opts.qlogDir ?? null,
      scheduling: schedulingSettings(
        policy,
        "a body chunk is written only while fewer than maxChunksAhead are waiting for the stream's write callback, which the package holds while quiche's flow control blocks the stream; no stream priorities (the package exposes none)",
      ),
    }),
  };
}

// ---- client ------------------------------------------------------------------------------------

/** Test and tool hooks of this client (not part of ProtocolClient). */
export interface ClientHooks {
  /** Every body piece as delivered, after the record is updated. */
  onBody?(rec: RequestRecord, data: Uint8Array): void;
}

function toResponseHeaders(h: IncomingHeaders): ResponseHeaders {
  const out: ResponseHeaders = {};
  for (const [k, v] of Object.entries(h)) out[k] = v;
  return out;
}

class ClientConnection {
  readonly rec: ConnectionRecord;
  readonly session: Http3ClientSession;
  readonly ready: Promise<void>;
  closed = false;
  draining = false;
  handshakeMs: number | null = null;
  private tracked: Tracked | null = null;
  private last: SessionMetrics | null = null;
  private readonly closedPromise: Promise<void>;

  constructor(
    private readonly opts: ClientOptions,
    id: number,
    private readonly sampler: Sampler,
    private readonly hooks: ClientHooks,
  ) {
    this.rec = { ...newConnectionRecord(id, opts.now()), tCloseStart: null, tClosed: null };
    const insecure = opts.insecure === true;
    this.session = connect(
      { address: opts.host, port: opts.port, servername: opts.serverName },
      {
        ...(insecure || opts.caPem === null ? {} : { ca: opts.caPem }),
        rejectUnauthorized: !insecure,
        servername: opts.serverName,
        qlogDir: opts.qlogDir,
        ...transportOptions(opts.transport),
      },
    );
    const s = this.session;
    s.on('error', (err: Error) => {
      this.rec.error ??= err.message;
    });
    s.on('goaway', () => {
      this.draining = true;
    });
    this.closedPromise = new Promise<void>((resolve) => {
      s.once('close', (info: { errorCode: number; reason: string }) => {
        this.rec.tClosed = this.opts.now();
        this.closed = true;
        if (info.errorCode !== 0 && info.errorCode !== H3_NO_ERROR) {
          this.rec.error ??= `connection closed with 0x${info.errorCode.toString(16)}${info.reason ? ` (${info.reason})` : ''}`;
        }
        this.finalStats();
        resolve();
      });
    });
    this.ready = s.ready().then(
      () => {
        this.rec.tHandshakeDone = this.opts.now();
        this.rec.alpn = s.alpnProtocol || null;
        this.rec.tlsVersion = 'TLSv1.3';
        const m = this.read();
        this.handshakeMs = m?.handshakeTimeMs ?? null;
        this.tracked = this.sampler.add(`${opts.host}:${opts.port}`, () => this.read());
      },
      (err: unknown) => {
        this.closed = true;
        this.rec.error ??= err instanceof Error ? err.message : String(err);
        throw err instanceof Error ? err : new Error(String(err));
      },
    );
    this.ready.catch(() => undefined);
  }

  /** Live metrics, or the last ones read once the session is gone. */
  private read(): SessionMetrics | null {
    if (!this.closed) {
      try {
        this.last = this.session.getMetrics() ?? this.last;
      } catch {
        // keep the last snapshot
      }
    }
    return this.last;
  }

  private finalStats(): void {
    if (this.tracked !== null) this.sampler.end(this.tracked);
    const m = this.last;
    if (m !== null) this.rec.transport = { srttMs: m.rttMs, cwndBytes: m.cwnd };
  }

  refreshStats(): void {
    if (this.closed) return;
    const m = this.read();
    if (m !== null) this.rec.transport = { srttMs: m.rttMs, cwndBytes: m.cwnd };
  }

  async request(path: string, rec: RequestRecord, signal: AbortSignal): Promise<ResponseHeaders> {
    await this.ready;
    signal.throwIfAborted();
    const stream: ClientHttp3Stream = await this.session.requestAsync(
      {
        ':method': 'GET',
        ':scheme': 'https',
        ':authority': `${this.opts.serverName}:${this.opts.port}`,
        ':path': path,
        'x-request-id': String(rec.id),
      },
      { endStream: true, signal },
    );
    rec.stream = stream.id;
    const now = this.opts.now;
    return new Promise<ResponseHeaders>((resolve, reject) => {
      let headers: ResponseHeaders = {};
      let settled = false;
      const settle = (err: Error | null) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        if (err === null) resolve(headers);
        else reject(err);
      };
      const onAbort = () => {
        stream.close(H3_REQUEST_CANCELLED);
        settle(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      stream.on('response', (h: IncomingHeaders) => {
        rec.tHeaders = now();
        headers = toResponseHeaders(h);
        rec.status = Number(first(h[':status']) ?? 0);
      });
      stream.on('data', (chunk: Buffer) => {
        rec.bytes += chunk.length;
        rec.chunks.push([now(), chunk.length]);
        this.hooks.onBody?.(rec, chunk);
      });
      stream.on('end', () => {
        rec.tEnd = now();
        settle(null);
      });
      stream.on('error', (err: Error) => {
        settle(err);
      });
      stream.on('close', () => {
        settle(new Error(`HTTP/3 stream ${stream.id} closed before the end of the response`));
      });
    });
  }

  async close(): Promise<void> {
    if (!this.closed) {
      this.rec.tCloseStart ??= this.opts.now();
      this.refreshStats();
      try {
        await this.session.close(H3_NO_ERROR);
      } catch {
        // already closing
      }
      // The session's 'close' event follows the draining period; do not hang on a session that never emits it.
      await Promise.race([this.closedPromise, new Promise((r) => setTimeout(r, 1000).unref())]);
    }
    this.closed = true;
    this.finalStats();
  }
}

export function createClient(opts: ClientOptions, hooks: ClientHooks = {}): ProtocolClient {
  const conns: ClientConnection[] = [];
  const sampler = new Sampler('client');
  let current: ClientConnection | null = null;

  return {
    protocol: 'h3',
    get: (path, rec, signal) => {
      if (current === null || current.closed || current.draining) {
        current = new ClientConnection(opts, conns.length, sampler, hooks);
        conns.push(current);
      }
      rec.connection = current.rec.id;
      return current.request(path, rec, signal);
    },
    connections: () =>
      conns.map((c) => {
        c.refreshStats();
        return c.rec;
      }),
    close: async () => {
      await Promise.all(conns.map((c) => c.close()));
      sampler.stop();
    },
    settings: () => ({
      ...recordedSettings(opts.transport, 'client', conns[conns.length - 1]?.session.runtimeInfo),
      qlogDir: opts.qlogDir ?? null,
      handshakeTimeMs: conns.map((c) => c.handshakeMs),
    }),
    telemetry: () => sampler.series(),
  };
}
