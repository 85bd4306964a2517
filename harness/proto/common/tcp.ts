/** Helpers shared by the TCP-based engines (h1, h2). */
import { isIP, type Server } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { ConnectionRecord } from '../../model/records.js';
import { newConnectionRecord } from '../types.js';

export function listenTcp(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      const addr = server.address();
      if (addr === null || typeof addr === 'string') reject(new Error('server has no TCP address'));
      else resolve(addr.port);
    });
  });
}

export function closeTcp(server: Server & { closeAllConnections?: () => void }): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => {
      resolve();
    });
    server.closeAllConnections?.();
  });
}

/**
 * A record for a client TLS socket that is connecting now, filled in as the TCP and TLS handshakes
 * complete.
 */
export function trackConnection(sock: TLSSocket, id: number, now: () => number): ConnectionRecord {
  const rec = newConnectionRecord(id, now());
  sock.setNoDelay(true);
  if (sock.connecting) {
    sock.once('connect', () => (rec.tTcpConnected = now()));
  } else {
    rec.tTcpConnected = rec.tStart;
  }
  const secured = () => {
    rec.tHandshakeDone = now();
    rec.alpn = sock.alpnProtocol === false ? null : (sock.alpnProtocol ?? null);
    rec.tlsVersion = sock.getProtocol();
  };
  sock.once('secureConnect', secured);
  sock.once('error', (err: Error) => (rec.error = err.message));
  rec.tCloseStart = null;
  rec.tClosed = null;
  sock.once('close', () => (rec.tClosed = now()));
  return rec;
}

/** A graceful close that has not ended by then is cut short (the socket destroyed), ms. */
export const TCP_CLOSE_WAIT_MS = 2_000;

/**
 * Close a client TLS socket gracefully (close_notify and FIN via `end()`, unless `started` already
 * began the close, e.g. an HTTP/2 GOAWAY), recording `tCloseStart`; resolves on the socket's
 * 'close' (trackConnection records `tClosed`), or after TCP_CLOSE_WAIT_MS with the socket destroyed.
 */
export function closeTracked(
  sock: TLSSocket,
  rec: ConnectionRecord,
  now: () => number,
  started?: () => void,
): Promise<void> {
  if (sock.closed) return Promise.resolve();
  rec.tCloseStart ??= now();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      sock.destroy();
    }, TCP_CLOSE_WAIT_MS);
    sock.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    if (started !== undefined) started();
    else sock.end();
  });
}

/** The TLS SNI to send: a name, never an IP literal (RFC 6066). */
export function sniName(serverName: string): string | undefined {
  return isIP(serverName) === 0 ? serverName : undefined;
}
