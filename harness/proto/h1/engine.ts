/**
 * HTTP/1.1 over TLS 1.3: `node:https` server and a keep-alive `https.Agent` client with
 * `connections` sockets (browsers open 6 per origin). No multiplexing: requests queue per
 * connection, which is exactly the head-of-line behaviour HTTP/1.1 has.
 */
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { ConnectionRecord, RequestRecord } from '../../model/records.js';
import { writeBody } from '../common/body.js';
import { handleHttp } from '../handler.js';
import {
  ALPN,
  TLS_SETTINGS,
  type ClientOptions,
  type ProtocolClient,
  type ProtocolServer,
  type ResponseHeaders,
  type ServerOptions,
} from '../types.js';
import { closeTracked, listenTcp, closeTcp, sniName, trackConnection } from '../common/tcp.js';

/** The HTTP/1.1 request listener (also used by the h2 server when it answers HTTP/1.1 too). */
export function http1Listener(
  opts: ServerOptions,
  onServed: () => void,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const app = handleHttp(req.method, req.url, req.headers['x-request-id'], opts.altSvcH3Port, opts.page);
    res.writeHead(app.status, app.headers);
    onServed();
    writeBody(app, res).catch(() => res.destroy());
  };
}

export function createServer(opts: ServerOptions): ProtocolServer {
  let served = 0;
  const server = https.createServer(
    {
      cert: opts.certPem,
      key: opts.keyPem,
      ...TLS_SETTINGS,
      ALPNProtocols: [ALPN.h1],
      noDelay: true,
      keepAlive: true,
      keepAliveTimeout: 60_000,
      requestTimeout: 0,
    },
    http1Listener(opts, () => served++),
  );
  server.keepAliveTimeout = 60_000;
  return {
    protocol: 'h1',
    listen: () => listenTcp(server, opts.host, opts.port),
    close: () => closeTcp(server),
    requestsServed: () => served,
    settings: () => ({ tls: TLS_SETTINGS, alpn: ALPN.h1, noDelay: true }),
  };
}

export function createClient(opts: ClientOptions): ProtocolClient {
  const agent = new https.Agent({
    keepAlive: true,
    maxSockets: opts.connections,
    maxFreeSockets: opts.connections,
    scheduling: 'fifo',
    // No TLS session resumption: every h1 connection does a full handshake, as h2 and h3 do.
    maxCachedSessions: 0,
    ...TLS_SETTINGS,
    ALPNProtocols: [ALPN.h1],
  });
  const conns: ConnectionRecord[] = [];
  const ids = new WeakMap<TLSSocket, number>();
  const sockets: TLSSocket[] = [];

  const get = (path: string, rec: RequestRecord, signal: AbortSignal): Promise<ResponseHeaders> =>
    new Promise((resolve, reject) => {
      const req = https.request({
        host: opts.host,
        port: opts.port,
        path,
        method: 'GET',
        agent,
        servername: sniName(opts.serverName),
        ca: opts.caPem ?? undefined,
        rejectUnauthorized: opts.insecure !== true,
        headers: { 'x-request-id': String(rec.id) },
        signal,
      });
      req.on('socket', (socket) => {
        // The agent only ever creates TLS sockets (https.Agent).
        const sock = socket as unknown as TLSSocket;
        let id = ids.get(sock);
        if (id === undefined) {
          const c = trackConnection(sock, conns.length, opts.now);
          conns.push(c);
          sockets.push(sock);
          id = c.id;
          ids.set(sock, id);
        }
        rec.connection = id;
      });
      req.on('response', (res: IncomingMessage) => {
        rec.tHeaders = opts.now();
        rec.status = res.statusCode ?? 0;
        res.on('data', (chunk: Buffer) => {
          rec.bytes += chunk.length;
          rec.chunks.push([opts.now(), chunk.length]);
        });
        res.on('end', () => {
          rec.tEnd = opts.now();
          resolve(res.headers);
        });
        res.on('error', reject);
        res.on('aborted', () => {
          reject(new Error('response aborted'));
        });
      });
      req.on('error', reject);
      req.end();
    });

  return {
    protocol: 'h1',
    get,
    connections: () => conns,
    // Every keep-alive socket closed gracefully (close_notify, FIN, the server's FIN back), as the
    // HTTP/2 session is: the teardown times (tCloseStart, tClosed) compare like with like.
    close: async () => {
      await Promise.all(
        sockets.map((sock, i) => {
          const rec = conns[i];
          return rec === undefined ? Promise.resolve() : closeTracked(sock, rec, opts.now);
        }),
      );
      agent.destroy();
    },
    settings: () => ({
      tls: TLS_SETTINGS,
      alpn: ALPN.h1,
      connections: opts.connections,
      keepAlive: true,
      tlsSessionResumption: false,
    }),
  };
}
