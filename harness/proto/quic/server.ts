/**
 * A listening QUIC endpoint: accepts connections, routes each datagram to its connection by
 * destination connection ID, answers unknown versions with Version Negotiation (RFC 9000 §6) and,
 * when asked, validates addresses with a stateless Retry first (RFC 9000 §8.1.2).
 */
import type dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { isIPv6 } from 'node:net';
import {
  MAX_CONN_ID_LEN,
  MIN_CLIENT_INITIAL_LEN,
  PacketType,
  QuicConnection,
  negotiateVersion,
  parseHeader,
  retry as writeRetry,
  versionIsSupported,
  type HostPort,
} from './binding.js';
import { QuicConn } from './connection.js';
import { Endpoint, quicConfig, type QuicEndpointOptions } from './endpoint.js';
import { RetryTokens } from './retry-token.js';
import type { EngineSettings } from '../../model/records.js';

export interface QuicServerOptions extends QuicEndpointOptions {
  host: string;
  port: number;
  certPem: string;
  keyPem: string;
  /** Stateless retry (address validation) before accepting a connection. Default off. */
  retry?: boolean;
}

function cidKey(cid: Uint8Array): string {
  return Buffer.from(cid.buffer, cid.byteOffset, cid.byteLength).toString('latin1');
}

/** A listening QUIC endpoint: accepts connections, routes datagrams by connection id. */
export class QuicServer extends Endpoint {
  private readonly conns = new Map<string, QuicConn>();
  private readonly keysOf = new Map<QuicConn, string[]>();
  private readonly onConnection: (conn: QuicConn) => void;
  private local: HostPort = { host: '', port: 0 };
  private readonly tokens = new RetryTokens();
  private readonly retry: boolean;
  /** Connections accepted so far. */
  accepted = 0;
  /** close() was called: no new connections. */
  private closing = false;

  constructor(opts: QuicServerOptions, onConnection: (conn: QuicConn) => void) {
    super(
      opts,
      quicConfig(opts, 'server', { certPem: opts.certPem, keyPem: opts.keyPem }),
      isIPv6(opts.host) ? 'udp6' : 'udp4',
    );
    this.onConnection = onConnection;
    this.retry = opts.retry ?? false;
  }

  /** Bind; resolves with the UDP port. */
  async listen(): Promise<number> {
    const o = this.opts as QuicServerOptions;
    await this.bind(o.host, o.port);
    const a = this.socket.address();
    this.local = { host: a.address, port: a.port };
    return a.port;
  }

  /** Open connections. */
  connections(): QuicConn[] {
    return [...this.keysOf.keys()];
  }

  /** Close every connection with `code`, wait for them to drain (bounded), close the socket. */
  async close(code: number, reason = ''): Promise<void> {
    this.closing = true;
    await Promise.all(this.connections().map((c) => c.close(code, reason)));
    await this.closeSocket();
    await this.qlogsFlushed();
  }

  forget(conn: QuicConn): void {
    for (const k of this.keysOf.get(conn) ?? []) this.conns.delete(k);
    this.keysOf.delete(conn);
  }

  protected onDatagram(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (msg.length === 0) {
      this.badDatagrams++;
      return;
    }
    let conn: QuicConn | undefined;
    if (((msg[0] ?? 0) & 0x80) === 0) {
      // Short header: the DCID is one of our SCIDs, fixed length, right after the first byte.
      if (msg.length < 1 + MAX_CONN_ID_LEN) {
        this.badDatagrams++;
        return;
      }
      conn = this.conns.get(msg.toString('latin1', 1, 1 + MAX_CONN_ID_LEN));
    } else {
      const hdr = parseHeader(msg, MAX_CONN_ID_LEN);
      if (hdr === null) {
        this.badDatagrams++;
        return;
      }
      conn = this.conns.get(cidKey(hdr.dcid));
      if (conn === undefined) {
        conn = this.newConnection(msg, rinfo, hdr);
        if (conn === undefined) return;
      }
    }
    if (conn === undefined) {
      this.badDatagrams++;
      return;
    }
    conn.receive(msg, rinfo);
  }

  private newConnection(
    msg: Buffer,
    rinfo: dgram.RemoteInfo,
    hdr: NonNullable<ReturnType<typeof parseHeader>>,
  ): QuicConn | undefined {
    if (this.closing) return undefined;
    const from = { host: rinfo.address, port: rinfo.port };
    if (!versionIsSupported(hdr.version)) {
      if (hdr.type === PacketType.VersionNegotiation) return undefined;
      const n = negotiateVersion(hdr.scid, hdr.dcid, this.sendBuf);
      this.transmit(this.sendBuf, n, from);
      return undefined;
    }
    if (hdr.type !== PacketType.Initial || msg.length < MIN_CLIENT_INITIAL_LEN) {
      this.badDatagrams++;
      return undefined;
    }
    let scid: Uint8Array;
    let odcid: Uint8Array | null = null;
    if (this.retry) {
      if (hdr.token.length === 0) {
        const newScid = randomBytes(MAX_CONN_ID_LEN);
        const token = this.tokens.mint(from, hdr.dcid);
        const n = writeRetry(hdr.scid, hdr.dcid, newScid, token, hdr.version, this.sendBuf);
        this.transmit(this.sendBuf, n, from);
        return undefined;
      }
      odcid = this.tokens.validate(from, hdr.token);
      if (odcid === null || hdr.dcid.length !== MAX_CONN_ID_LEN) {
        this.badDatagrams++;
        return undefined;
      }
      // Keep the SCID we sent in the Retry (the client now uses it as DCID).
      scid = Uint8Array.from(hdr.dcid);
    } else {
      scid = randomBytes(MAX_CONN_ID_LEN);
    }
    let quic: QuicConnection;
    try {
      quic = QuicConnection.accept(scid, odcid, this.local, from, this.config);
    } catch {
      this.badDatagrams++;
      return undefined;
    }
    const conn = new QuicConn(
      this,
      quic,
      false,
      this.local,
      from,
      this.newTelemetry('server', this.local, from, quic.traceId()),
    );
    const keys = [cidKey(scid)];
    const clientDcid = cidKey(hdr.dcid);
    if (clientDcid !== keys[0]) keys.push(clientDcid);
    for (const k of keys) this.conns.set(k, conn);
    this.keysOf.set(conn, keys);
    this.accepted++;
    this.onConnection(conn);
    return conn;
  }

  override settings(): EngineSettings {
    return { ...super.settings(), retry: this.retry, connectionIdBytes: MAX_CONN_ID_LEN };
  }
}
