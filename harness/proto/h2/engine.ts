/**
 * HTTP/2 over TLS 1.3 with `node:http2`: a secure server and a client that multiplexes every request
 * on one session. Flow-control windows are pinned from the scenario (the same values HTTP/3 uses):
 * Node's defaults (64 KiB per stream and per connection) would throttle HTTP/2 on any long path.
 */
import http2 from 'node:http2';
import tls from 'node:tls';
import type { ConnectionRecord, EngineSettings, RequestRecord } from '../../model/records.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { http1Listener } from '../h1/engine.js';
import { closeTcp, closeTracked, listenTcp, sniName, trackConnection } from '../common/tcp.js';
import { handleHttp, type AppResponse } from '../handler.js';
import { DEFAULT_SCHEDULING, ResponseScheduler, schedulingSettings } from '../schedule.js';
import {
  ALPN,
  MAX_CONCURRENT_STREAMS,
  TLS_SETTINGS,
  type ClientOptions,
  type ProtocolClient,
  type ProtocolServer,
  type ResponseHeaders,
  type ServerOptions,
} from '../types.js';
import type { SchedulingPolicy, Transport } from '../../scenario/schema.js';

function h2Settings(t: Transport) {
  return {
    initialWindowSize: t.streamWindowBytes,
    maxConcurrentStreams: MAX_CONCURRENT_STREAMS,
    enablePush: false,
    maxFrameSize: 16_384,
    // HPACK without a dynamic table, as our QPACK (capacity 0): header compression is no variable.
    headerTableSize: 0,
  } satisfies http2.Settings;
}

function recordedSettings(t: Transport): EngineSettings {
  return {
    tls: TLS_SETTINGS,
    alpn: ALPN.h2,
    settings: h2Settings(t),
    connectionWindowBytes: t.connectionWindowBytes,
    noDelay: true,
  };
}

/**
 * How the policy is enforced on HTTP/2: nghttp2 sends a HEADERS frame ahead of queued DATA and
 * interleaves the DATA of every stream that has some, so the scheduler alone decides: it calls
 * `respond()` when a response's HEADERS are due and gives nghttp2 only the body chunks it picked.
 */
const H2_ENFORCEMENT =
  'respond() when the HEADERS are due; a body chunk is written only while fewer than maxChunksAhead ' +
  'are waiting for their write callback (nghttp2 framed them and the TLS socket took them)';

interface H2Response {
  stream: http2.ServerHttp2Stream;
  app: AppResponse;
}

/** The scheduler of a session's responses, writing to Node's http2 streams. */
function h2Scheduler(policy: SchedulingPolicy): ResponseScheduler<H2Response> {
  return new ResponseScheduler<H2Response>(policy, {
    headers: ({ stream, app }, fin) => {
      if (stream.destroyed || stream.closed) throw new Error('stream gone');
      stream.respond({ ':status': app.status, ...app.headers }, { endStream: fin });
    },
    chunk: ({ stream, app }, offset, length, fin, accepted) => {
      if (stream.destroyed || stream.closed) throw new Error('stream gone');
      // The callback also runs (with an error) if the stream is destroyed first.
      stream.write(app.chunk(offset, length), () => {
        accepted();
      });
      if (fin) stream.end();
    },
  });
}

export function createServer(opts: ServerOptions): ProtocolServer {
  let served = 0;
  const server = http2.createSecureServer({
    cert: opts.certPem,
    key: opts.keyPem,
    ...TLS_SETTINGS,
    ALPNProtocols: opts.allowHttp1 === true ? [ALPN.h2, ALPN.h1] : [ALPN.h2],
    allowHTTP1: opts.allowHttp1 === true,
    settings: h2Settings(opts.transport),
    peerMaxConcurrentStreams: MAX_CONCURRENT_STREAMS,
  });
  if (opts.allowHttp1 === true) {
    // HTTP/1.1 requests come as 'request' events; HTTP/2 ones are answered on 'stream' below.
    const h1 = http1Listener(opts, () => served++);
    server.on('request', (req, res) => {
      if (req.httpVersionMajor === 1) h1(req as unknown as IncomingMessage, res as unknown as ServerResponse);
    });
  }
  server.on('secureConnection', (sock: tls.TLSSocket) => sock.setNoDelay(true));
  // Sessions are destroyed on close(): server.close() alone waits for every client to go away.
  const sessions = new Set<http2.ServerHttp2Session>();
  const policy = opts.scheduling ?? DEFAULT_SCHEDULING;
  const schedulers = new WeakMap<http2.ServerHttp2Session, ResponseScheduler<H2Response>>();
  server.on('session', (session) => {
    sessions.add(session);
    const scheduler = h2Scheduler(policy);
    schedulers.set(session, scheduler);
    session.once('close', () => {
      sessions.delete(session);
      scheduler.clear();
    });
    session.setLocalWindowSize(opts.transport.connectionWindowBytes);
    session.on('error', () => {
      session.destroy();
    });
  });
  server.on('stream', (stream, headers) => {
    const app = handleHttp(
      headers[':method'],
      headers[':path'],
      headers['x-request-id'],
      opts.altSvcH3Port,
      opts.page,
    );
    stream.on('error', () => stream.destroy());
    served++;
    const scheduler = schedulers.get(stream.session as http2.ServerHttp2Session);
    const id = stream.id;
    if (scheduler === undefined || id === undefined) {
      stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      return;
    }
    stream.once('close', () => {
      scheduler.cancel(id);
    });
    scheduler.add(id, { stream, app }, app.bodyBytes);
  });
  return {
    protocol: 'h2',
    listen: () => listenTcp(server, opts.host, opts.port),
    close: () => {
      const closed = closeTcp(server);
      for (const s of sessions) s.destroy();
      return closed;
    },
    requestsServed: () => served,
    settings: () => ({
      ...recordedSettings(opts.transport),
      scheduling: schedulingSettings(policy, H2_ENFORCEMENT),
    }),
  };
}

export function createClient(opts: ClientOptions): ProtocolClient {
  const conns: ConnectionRecord[] = [];
  /** The TLS socket of each connection (conns[i]). */
  const sockets: tls.TLSSocket[] = [];
  let session: http2.ClientHttp2Session | undefined;
  /** Requests in flight: failed together if the session dies before their streams do. */
  const pending = new Set<(err: Error) => void>();

  const connect = (): http2.ClientHttp2Session => {
    const authority = `https://${opts.serverName}:${opts.port}`;
    const s = http2.connect(authority, {
      settings: h2Settings(opts.transport),
      peerMaxConcurrentStreams: MAX_CONCURRENT_STREAMS,
      createConnection: () => {
        const sock = tls.connect({
          host: opts.host,
          port: opts.port,
          servername: sniName(opts.serverName),
          ca: opts.caPem ?? undefined,
          rejectUnauthorized: opts.insecure !== true,
          ALPNProtocols: [ALPN.h2],
          ...TLS_SETTINGS,
        });
        conns.push(trackConnection(sock, conns.length, opts.now));
        sockets.push(sock);
        return sock;
      },
    });
    s.once('connect', () => {
      s.setLocalWindowSize(opts.transport.connectionWindowBytes);
    });
    s.on('error', (err: Error) => {
      const c = conns[conns.length - 1];
      if (c) c.error ??= err.message;
      for (const fail of pending) fail(err);
    });
    s.on('close', () => {
      for (const fail of pending) fail(new Error('HTTP/2 session closed'));
    });
    return s;
  };

  const request = (
    path: string,
    rec: RequestRecord,
    signal: AbortSignal,
    track: (fail: (e: Error) => void) => void,
  ) =>
    new Promise<ResponseHeaders>((resolve, reject) => {
      track(reject);
      if (session === undefined || session.closed || session.destroyed) session = connect();
      rec.connection = conns.length - 1;
      const stream = session.request(
        { ':method': 'GET', ':path': path, 'x-request-id': String(rec.id) },
        { endStream: true, signal },
      );
      // The id is assigned when the HEADERS frame goes out: synchronously on a live session.
      if (stream.id !== undefined) rec.stream = stream.id;
      else stream.once('ready', () => (rec.stream = stream.id ?? null));
      let headers: ResponseHeaders = {};
      stream.on('response', (h) => {
        rec.tHeaders = opts.now();
        rec.status = h[':status'] ?? 0;
        headers = h;
      });
      stream.on('data', (chunk: Buffer) => {
        rec.bytes += chunk.length;
        rec.chunks.push([opts.now(), chunk.length]);
      });
      stream.on('end', () => {
        rec.tEnd = opts.now();
        resolve(headers);
      });
      stream.on('error', reject);
      stream.on('close', () => {
        if (rec.tEnd === null) reject(new Error(`stream closed with code ${stream.rstCode}`));
      });
    });

  const get = async (path: string, rec: RequestRecord, signal: AbortSignal): Promise<ResponseHeaders> => {
    let fail: ((err: Error) => void) | undefined;
    try {
      return await request(path, rec, signal, (f) => {
        fail = f;
        pending.add(f);
      });
    } finally {
      if (fail) pending.delete(fail);
    }
  };

  return {
    protocol: 'h2',
    get,
    connections: () => conns,
    // GOAWAY, then Node ends the socket (close_notify, FIN); closed when the server's FIN is back.
    close: async () => {
      const s = session;
      const sock = sockets[sockets.length - 1];
      const rec = conns[conns.length - 1];
      if (s === undefined || sock === undefined || rec === undefined) return;
      await closeTracked(sock, rec, opts.now, () => {
        if (!s.closed && !s.destroyed) s.close();
        else sock.end();
      });
    },
    settings: () => recordedSettings(opts.transport),
  };
}
