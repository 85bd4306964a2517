/** A QUIC client endpoint: one connected UDP socket, one connection. */
import type dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { isIPv6 } from 'node:net';
import { MAX_CONN_ID_LEN, QuicConnection } from './binding.js';
import { QuicConn, type QuicConnHandler } from './connection.js';
import { Endpoint, quicConfig, type QuicEndpointOptions } from './endpoint.js';

export interface QuicClientOptions extends QuicEndpointOptions {
  host: string;
  port: number;
  serverName: string;
  /** CA the server must chain to; null = no verification. */
  caPem: string | null;
}

/** A client endpoint: one connected UDP socket, one connection. */
export class QuicClient extends Endpoint {
  conn: QuicConn | null = null;

  constructor(opts: QuicClientOptions) {
    super(opts, quicConfig(opts, 'client', { caPem: opts.caPem }), isIPv6(opts.host) ? 'udp6' : 'udp4');
  }

  /**
   * Bind, connect the socket, start the handshake. The returned connection reports
   * `onEstablished` or `onClose`; `handler` is installed before anything is sent.
   */
  async connect(handler: QuicConnHandler): Promise<QuicConn> {
    const o = this.opts as QuicClientOptions;
    await this.bind(isIPv6(o.host) ? '::' : '0.0.0.0', 0);
    await new Promise<void>((resolve, reject) => {
      this.socket.once('error', reject);
      this.socket.connect(o.port, o.host, () => {
        this.socket.off('error', reject);
        resolve();
      });
    });
    const a = this.socket.address();
    const r = this.socket.remoteAddress();
    const local = { host: a.address, port: a.port };
    // The resolved, canonical peer address: quiche drops packets from any other "from" address.
    const remote = { host: r.address, port: r.port };
    const quic = QuicConnection.connect(
      o.serverName,
      randomBytes(MAX_CONN_ID_LEN),
      local,
      remote,
      this.config,
    );
    const conn = new QuicConn(
      this,
      quic,
      true,
      local,
      remote,
      this.newTelemetry('client', local, remote, quic.traceId()),
    );
    conn.setHandler(handler);
    this.conn = conn;
    this.markDirty(conn);
    return conn;
  }

  /** Close the connection (application `code`), wait for it to drain (bounded), close the socket. */
  async close(code: number, reason = ''): Promise<void> {
    if (this.conn !== null) await this.conn.close(code, reason);
    await this.closeSocket();
    await this.qlogsFlushed();
  }

  forget(conn: QuicConn): void {
    if (this.conn === conn && !this.socketClosed) void this.closeSocket();
  }

  protected onDatagram(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (this.conn === null) {
      this.badDatagrams++;
      return;
    }
    this.conn.receive(msg, rinfo);
  }

  protected override sendTo(out: Buffer, n: number): void {
    this.socket.send(out, 0, n);
  }

  /** ICMP unreachable before the handshake completed: nobody listens there, fail now (as TCP would). */
  protected override onSocketError(err: Error): void {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') {
      this.conn?.failHandshake(
        `${code}: no QUIC server at ${(this.opts as QuicClientOptions).host}:${(this.opts as QuicClientOptions).port}`,
      );
    }
  }
}
