/**
 * HTTP/2 over TLS 1.3 with `node:http2`: a secure server and a client that multiplexes every request
 * on one session. Flow-control windows are pinned from the scenario (the same values HTTP/3 uses):
 * Node's defaults (64 KiB per stream and per connection) would throttle HTTP/2 on any long path.
 */
import http2 from 'node:http2';
import tls from 'node:tls';
import type { ConnectionRecord, EngineSettings, RequestRecord } from '../../model/records.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { writeBody } from '../common/body.js';
import { http1Listener } from '../h1/engine.js';
import { closeTcp, listenTcp, sniName, trackConnection } from '../common/tcp.js';
import { handleHttp } from '../handler.js';
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
import type { Transport } from '../../scenario/schema.js';

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
  server.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    session.setLocalWindowSize(opts.transport.connectionWindowBytes);
    session.on('error', () => {
      session.destroy();
    });
  });
  server.on('stream', (stream, headers) => {
    const app = handleHttp(headers[':method'], headers[':path'], headers['x-request-id'], opts.altSvcH3Port);
    stream.on('error', () => stream.destroy());
    stream.respond({ ':status': app.status, ...app.headers }, { endStream: app.bodyBytes === 0 });
    served++;
    if (app.bodyBytes > 0) writeBody(app, stream).catch(() => stream.destroy());
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
    settings: () => recordedSettings(opts.transport),
  };
}

export function createClient(opts: ClientOptions): ProtocolClient {
  const conns: ConnectionRecord[] = [];
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
    close: () =>
      new Promise<void>((resolve) => {
        if (session === undefined || session.closed || session.destroyed) {
          resolve();
          return;
        }
        session.close(() => {
          resolve();
        });
      }),
    settings: () => recordedSettings(opts.transport),
  };
}
