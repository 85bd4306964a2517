/**
 * What a QUIC client and server have in common: one UDP socket (node:dgram) and the flush loop.
 * With the connections (connection.ts) this is the only code that touches UDP sockets and timers
 * for QUIC; it knows streams and bytes, not HTTP.
 *
 * Per event-loop turn: every datagram libuv read is handed to quiche as it arrives (`recv`), then
 * one flush (setImmediate, so all queued datagrams are drained first) per dirty connection.
 * node:dgram allocates per datagram; the endpoint's send and stream-read buffers are reused.
 */
import dgram from 'node:dgram';
import dns from 'node:dns';
import { mkdirSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import type { Transport } from '../../scenario/schema.js';
import { BINDING_INFO, QuicConfig, type HostPort } from './binding.js';
import { ACK_POLICY_DESCRIPTION } from './ack-delay.js';
import type { ConnEndpoint, QuicConn } from './connection.js';
import { pacingSettings, type PacingMode } from './pacer.js';
import { readSysctl, readUdpCounters, type UdpCounters } from './udp.js';
import { QlogWriter } from './qlog.js';
import { ConnTelemetry, TIMEOUTS_SOURCE } from './telemetry.js';
import type { EngineSettings } from '../../model/records.js';
import type { TelemetrySeries } from '../../model/telemetry.js';

/** Largest UDP payload on a 1500-byte MTU path (1500 − 20 IPv4 − 8 UDP). */
export const DEFAULT_MAX_UDP_PAYLOAD_BYTES = 1472;
/** Idle timeout both endpoints advertise, ms. */
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
/** Floor of the socket buffer size we ask for, bytes. */
const MIN_SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;
/** Stream read buffer: the largest piece handed to a stream handler at once. */
const STREAM_READ_BYTES = 64 * 1024;

export interface QuicEndpointOptions {
  transport: Transport;
  alpn: string[];
  /** Largest UDP payload sent and accepted (max_udp_payload_size), bytes. */
  maxUdpPayloadBytes?: number;
  idleTimeoutMs?: number;
  /** Socket receive/send buffer to request, bytes; default 2 × max(connection window, 4 MB). */
  socketBufferBytes?: number;
  /** max_ack_delay, ms (quiche default 25). */
  maxAckDelayMs?: number;
  /** Unidirectional streams the peer may open (HTTP/3 needs 3). */
  maxStreamsUni?: number;
  /** Bidirectional streams the peer may open. */
  maxStreamsBidi: number;
  /**
   * Sample every connection's sender state (telemetry.ts) and keep the series, closed connections
   * included, for `telemetry()`. Default off.
   */
  telemetry?: boolean | undefined;
  /** Write one qlog file per connection into this directory (created if missing): `<side>-<trace id>.sqlog`. */
  qlogDir?: string | undefined;
}

function socketBufferBytes(o: QuicEndpointOptions): number {
  return o.socketBufferBytes ?? 2 * Math.max(o.transport.connectionWindowBytes, MIN_SOCKET_BUFFER_BYTES);
}

export function quicConfig(o: QuicEndpointOptions, role: 'client' | 'server', tlsOpts: object): QuicConfig {
  return new QuicConfig({
    role,
    ...tlsOpts,
    alpn: o.alpn,
    idleTimeoutMs: o.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    maxUdpPayloadBytes: o.maxUdpPayloadBytes ?? DEFAULT_MAX_UDP_PAYLOAD_BYTES,
    connectionWindowBytes: o.transport.connectionWindowBytes,
    streamWindowBytes: o.transport.streamWindowBytes,
    maxStreamsBidi: o.maxStreamsBidi,
    maxStreamsUni: o.maxStreamsUni ?? 3,
    congestion: o.transport.congestion,
    hystart: o.transport.hystart,
    quichePacing: false,
    maxAckDelayMs: o.maxAckDelayMs ?? 25,
  });
}

/**
 * Address lookup for node:dgram: IP literals answer synchronously (dns.lookup would defer every
 * send by a tick); names go through dns.lookup.
 */
function literalLookup(
  address: string,
  family: number,
  cb: (err: Error | null, address: string, family: number) => void,
): void {
  if (isIP(address) !== 0) cb(null, address, family);
  else
    dns.lookup(address, { family }, (err, a, f) => {
      cb(err, a, f);
    });
}

/** Shared by client and server: one UDP socket, buffers, the flush loop, counters. */
export abstract class Endpoint implements ConnEndpoint {
  readonly socket: dgram.Socket;
  readonly maxUdpPayloadBytes: number;
  readonly pacing: PacingMode;
  /** Reused buffer quiche writes each outgoing packet into (replaced if a send is queued). */
  sendBuf: Buffer;
  /** Reused buffer stream data is read into (views handed to handlers are valid during the call). */
  readonly streamBuf: Buffer = Buffer.allocUnsafeSlow(STREAM_READ_BYTES);
  /** Datagrams quiche rejected or we could not route. */
  badDatagrams = 0;
  /** Datagrams received / sent by this socket. */
  datagramsIn = 0;
  datagramsOut = 0;
  /** Sends that could not complete at once (kernel send buffer full); their buffer was replaced. */
  sendsQueued = 0;
  /** Socket errors seen (e.g. ICMP port unreachable on a connected socket). */
  socketErrors = 0;
  protected readonly opts: QuicEndpointOptions;
  protected readonly config: QuicConfig;
  private readonly dirty = new Set<QuicConn>();
  private flushScheduled = false;
  private readonly udpStart: UdpCounters | null;
  private udpEnd: UdpCounters | null = null;
  protected socketClosed = false;
  private readonly requestedBufferBytes: number;
  /** Every connection's telemetry, closed ones included. */
  private readonly tels: ConnTelemetry[] = [];

  protected constructor(opts: QuicEndpointOptions, config: QuicConfig, family: 'udp4' | 'udp6') {
    this.opts = opts;
    this.config = config;
    this.maxUdpPayloadBytes = opts.maxUdpPayloadBytes ?? DEFAULT_MAX_UDP_PAYLOAD_BYTES;
    this.pacing = opts.transport.pacing ? 'driver' : 'none';
    this.sendBuf = Buffer.allocUnsafeSlow(this.maxUdpPayloadBytes);
    this.requestedBufferBytes = socketBufferBytes(opts);
    this.udpStart = readUdpCounters();
    this.socket = dgram.createSocket({
      type: family,
      lookup: literalLookup as unknown as dgram.SocketOptions['lookup'],
      recvBufferSize: this.requestedBufferBytes,
      sendBufferSize: this.requestedBufferBytes,
    });
    this.socket.on('message', (msg, rinfo) => {
      this.datagramsIn++;
      try {
        this.onDatagram(msg, rinfo);
      } catch {
        this.badDatagrams++;
      }
    });
    this.socket.on('error', (err) => {
      this.socketErrors++;
      this.onSocketError(err);
    });
  }

  /**
   * The telemetry of a new connection (null when neither `telemetry` nor `qlogDir` is set); the
   * endpoint keeps it after the connection closed.
   */
  protected newTelemetry(
    side: 'server' | 'client',
    local: HostPort,
    peer: HostPort,
    traceId: string,
  ): ConnTelemetry | null {
    const o = this.opts;
    if (o.telemetry !== true && o.qlogDir === undefined) return null;
    let qlog: QlogWriter | null = null;
    if (o.qlogDir !== undefined) {
      mkdirSync(o.qlogDir, { recursive: true });
      qlog = new QlogWriter(path.join(o.qlogDir, `${side}-${traceId}.sqlog`), {
        vantagePoint: side,
        title: `h3bench ${side} ${local.host}:${local.port} ${peer.host}:${peer.port}`,
        description: `quiche ${BINDING_INFO.quiche} via ${BINDING_INFO.package} ${BINDING_INFO.version}, driven by h3bench; events observed by the driver only (no packet events)`,
        referenceTimeMs: Date.now(),
        commonFields: { group_id: traceId },
      });
    }
    const tel = new ConnTelemetry({ side, local, peer, series: o.telemetry === true, qlog });
    this.tels.push(tel);
    return tel;
  }

  /**
   * Sender state over time of every connection so far, closed ones included (empty unless
   * constructed with `telemetry: true`). Times are CLOCK_MONOTONIC ms.
   */
  telemetry(): TelemetrySeries[] {
    return this.tels.flatMap((t) => t.series() ?? []);
  }

  /** Timer expiries of every connection so far as the driver classified them (telemetry.ts). */
  timerCounts(): { pto: number; lossTime: number; closed: number; quiet: number; source: string } {
    const sum = { pto: 0, lossTime: 0, closed: 0, quiet: 0, source: TIMEOUTS_SOURCE };
    for (const t of this.tels) {
      sum.pto += t.timers.pto;
      sum.lossTime += t.timers.lossTime;
      sum.closed += t.timers.closed;
      sum.quiet += t.timers.quiet;
    }
    return sum;
  }

  /** Resolves once the qlog files of the closed connections are written. */
  protected async qlogsFlushed(): Promise<void> {
    await Promise.all(this.tels.map((t) => t.flushed()));
  }

  /** A socket error (e.g. ICMP port unreachable on a connected socket); ignored by default. */
  protected onSocketError(_err: Error): void {
    /* datagram sockets keep working after such errors */
  }

  protected abstract onDatagram(msg: Buffer, rinfo: dgram.RemoteInfo): void;
  /** Forget a finished connection. */
  abstract forget(conn: QuicConn): void;

  /** Schedule a flush of `conn` after the datagrams queued now have been read. */
  markDirty(conn: QuicConn): void {
    this.dirty.add(conn);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flush);
    }
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    for (const c of this.dirty) {
      this.dirty.delete(c);
      try {
        c.process();
      } catch (err) {
        // A bug above us (a handler threw) must not take the process down: fail the connection.
        c.abort(err);
      }
    }
  };

  /** @internal Send `out[0..n)` to `to`. */
  transmit(out: Buffer, n: number, to: HostPort): void {
    if (this.socketClosed) return;
    this.sendTo(out, n, to);
    this.datagramsOut++;
    // A send the kernel could not take at once is queued by libuv with a reference to `out`:
    // give quiche a fresh buffer for the next packet (rare: only when the send buffer is full).
    if (this.socket.getSendQueueCount() > 0) {
      this.sendsQueued++;
      this.sendBuf = Buffer.allocUnsafeSlow(this.maxUdpPayloadBytes);
    }
  }

  protected sendTo(out: Buffer, n: number, to: HostPort): void {
    this.socket.send(out, 0, n, to.port, to.host);
  }

  protected async closeSocket(): Promise<void> {
    if (this.socketClosed) return;
    this.socketClosed = true;
    this.udpEnd = readUdpCounters();
    await new Promise<void>((resolve) => {
      this.socket.close(() => {
        resolve();
      });
    });
  }

  /** Everything about this endpoint's stack that a result should record. */
  settings(): EngineSettings {
    const udpNow = this.udpEnd ?? readUdpCounters();
    const { recvBufferBytes, sendBufferBytes } = this.bufferSizes;
    return {
      quic: BINDING_INFO,
      config: this.config.applied,
      maxUdpPayloadBytes: this.maxUdpPayloadBytes,
      socket: {
        requestedBufferBytes: this.requestedBufferBytes,
        /** As the kernel reports it (Linux doubles the requested size, capped at 2 × rmem_max). */
        recvBufferBytes,
        sendBufferBytes,
        rmemMax: readSysctl('net.core.rmem_max'),
        wmemMax: readSysctl('net.core.wmem_max'),
      },
      ackPolicy: ACK_POLICY_DESCRIPTION,
      /** node:dgram sends one datagram per sendmsg: no UDP GSO, no GRO. */
      udpGso: false,
      udpGro: false,
      pacing: pacingSettings(this.pacing),
      /** Kernel UDP counters of this namespace at endpoint start and at close (or now). */
      udpCounters: { start: this.udpStart, end: udpNow },
      /** Receive-buffer drops in this namespace during the endpoint's life: non-network loss. */
      udpRcvbufErrors:
        this.udpStart !== null && udpNow !== null ? udpNow.rcvbufErrors - this.udpStart.rcvbufErrors : null,
      datagrams: {
        in: this.datagramsIn,
        out: this.datagramsOut,
        bad: this.badDatagrams,
        sendsQueued: this.sendsQueued,
        socketErrors: this.socketErrors,
      },
    };
  }

  /** Socket buffer sizes as the kernel reports them, read once bound. */
  private bufferSizes: { recvBufferBytes: number | null; sendBufferBytes: number | null } = {
    recvBufferBytes: null,
    sendBufferBytes: null,
  };

  /** Bind the socket and read back the buffer sizes the kernel granted. */
  protected async bind(host: string, port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.socket.once('error', reject);
      this.socket.bind({ address: host, port, exclusive: true }, () => {
        this.socket.off('error', reject);
        resolve();
      });
    });
    this.bufferSizes = {
      recvBufferBytes: this.socket.getRecvBufferSize(),
      sendBufferBytes: this.socket.getSendBufferSize(),
    };
  }
}
