/**
 * The one module that loads the native quiche binding (`@matrixai/quic-linux-x64`, quiche 0.18;
 * enforced by eslint `no-restricted-imports`). Everything else in the project
 * sees only the typed wrappers below.
 *
 * The binding throws a plain `Error` whose message is quiche's error name (`"FinalSize"`,
 * `"InvalidStreamState(4)"`, `"StreamReset(268)"`). At this boundary those become `QuicBindingError`
 * with a stable code, and quiche's `Done` (nothing to do: no packet to send, no data to read, no
 * capacity) becomes a `null`/`0` return: never an exception on the normal path (quiche's own
 * `AGENTS.md` calls `Done`-as-error an anti-pattern).
 *
 * Hot-path methods (`recv`, `send`, `streamRecv`, `streamSend`) allocate nothing on our side.
 */
import { createRequire } from 'node:module';
import { ExitCode, H3BenchError } from '../../../core/errors.js';
import type { JsonObject } from '../../../core/json.js';

// ---- the native module's shape (as exported by node.napi.node) ---------------------------------

/** An address as the binding takes and returns it. */
export interface HostPort {
  host: string;
  port: number;
}

/** Where a datagram came from and arrived at (quiche `RecvInfo`). */
export interface RecvInfo {
  from: HostPort;
  to: HostPort;
}

interface NativeConfig {
  setApplicationProtos(protos: string[]): void;
  setMaxIdleTimeout(ms: number): void;
  setMaxRecvUdpPayloadSize(bytes: number): void;
  setMaxSendUdpPayloadSize(bytes: number): void;
  setInitialMaxData(v: number): void;
  setInitialMaxStreamDataBidiLocal(v: number): void;
  setInitialMaxStreamDataBidiRemote(v: number): void;
  setInitialMaxStreamDataUni(v: number): void;
  setInitialMaxStreamsBidi(v: number): void;
  setInitialMaxStreamsUni(v: number): void;
  setMaxAckDelay(ms: number): void;
  setActiveConnectionIdLimit(v: number): void;
  setDisableActiveMigration(v: boolean): void;
  setCcAlgorithmName(name: string): void;
  enableHystart(v: boolean): void;
  enablePacing(v: boolean): void;
  setMaxConnectionWindow(v: number): void;
  setMaxStreamWindow(v: number): void;
  grease(v: boolean): void;
}

interface NativeStats {
  recv: number;
  sent: number;
  lost: number;
  retrans: number;
  sentBytes: number;
  recvBytes: number;
  lostBytes: number;
  streamRetransBytes: number;
  pathsCount: number;
  peerMaxIdleTimeout: number;
  peerMaxUdpPayloadSize: number;
  peerInitialMaxData: number;
  peerInitialMaxStreamDataBidiLocal: number;
  peerInitialMaxStreamDataBidiRemote: number;
  peerInitialMaxStreamDataUni: number;
  peerInitialMaxStreamsBidi: number;
  peerInitialMaxStreamsUni: number;
  peerMaxAckDelay: number;
}

interface NativePathStats {
  localHost: HostPort;
  peerHost: HostPort;
  active: boolean;
  recv: number;
  sent: number;
  lost: number;
  retrans: number;
  /** Smoothed RTT, whole milliseconds (the binding truncates `Duration::as_millis`). */
  rtt: number;
  cwnd: number;
  sentBytes: number;
  recvBytes: number;
  lostBytes: number;
  streamRetransBytes: number;
  pmtu: number;
  deliveryRate: number;
}

interface NativeConnectionError {
  isApp: boolean;
  errorCode: number;
  reason: Uint8Array;
}

interface NativeConnection {
  recv(data: Uint8Array, info: RecvInfo): number;
  send(out: Uint8Array): [number, unknown] | null;
  streamRecv(id: number, out: Uint8Array): [number, boolean] | null;
  streamSend(id: number, data: Uint8Array, fin: boolean): number | null;
  streamCapacity(id: number): number;
  streamPriority(id: number, urgency: number, incremental: boolean): null | undefined;
  streamShutdown(id: number, direction: number, code: number): null | undefined;
  streamFinished(id: number): boolean;
  streamReadable(id: number): boolean;
  readable(): Iterable<number>;
  writable(): Iterable<number>;
  timeout(): number | null;
  onTimeout(): void;
  close(app: boolean, code: number, reason: Uint8Array): null | undefined;
  isEstablished(): boolean;
  isReadable(): boolean;
  isClosed(): boolean;
  isDraining(): boolean;
  isTimedOut(): boolean;
  applicationProto(): Uint8Array;
  peerError(): NativeConnectionError | null;
  localError(): NativeConnectionError | null;
  stats(): NativeStats;
  pathStats(): NativePathStats[];
  sourceId(): Uint8Array;
  destinationId(): Uint8Array;
  peerStreamsLeftBidi(): number;
  peerStreamsLeftUni(): number;
  maxSendUdpPayloadSize(): number;
  traceId(): string;
}

interface NativeHeader {
  readonly ty: number;
  readonly version: number;
  readonly dcid: Uint8Array;
  readonly scid: Uint8Array;
  readonly token: Uint8Array | null | undefined;
}

interface NativeModule {
  Config: {
    withBoringSslCtx(
      verifyPeer: boolean,
      verifyAllowFail: boolean,
      caPem: Uint8Array | null,
      keyPems: Uint8Array[] | null,
      certPems: Uint8Array[] | null,
      sigalgs: string | null,
    ): NativeConfig;
  };
  Connection: {
    connect(
      serverName: string | null,
      scid: Uint8Array,
      local: HostPort,
      remote: HostPort,
      config: NativeConfig,
    ): NativeConnection;
    accept(
      scid: Uint8Array,
      odcid: Uint8Array | null,
      local: HostPort,
      remote: HostPort,
      config: NativeConfig,
    ): NativeConnection;
  };
  Header: { fromSlice(datagram: Uint8Array, dcidLen: number): NativeHeader };
  negotiateVersion(scid: Uint8Array, dcid: Uint8Array, out: Uint8Array): number;
  retry(
    scid: Uint8Array,
    dcid: Uint8Array,
    newScid: Uint8Array,
    token: Uint8Array,
    version: number,
    out: Uint8Array,
  ): number;
  versionIsSupported(version: number): boolean;
  MAX_CONN_ID_LEN: number;
  MIN_CLIENT_INITIAL_LEN: number;
  PROTOCOL_VERSION: number;
}

const require = createRequire(import.meta.url);
const PACKAGE = '@matrixai/quic-linux-x64';
const native = require(PACKAGE) as NativeModule;
const packageVersion = (require(`${PACKAGE}/package.json`) as { version: string }).version;

/** What the results record about the QUIC stack. */
export const BINDING_INFO = {
  package: PACKAGE,
  version: packageVersion,
  /** The quiche release compiled into this binding (from its embedded crate paths). */
  quiche: '0.18.0',
} as const;

/** Longest connection ID QUIC allows (20 bytes); our generated SCIDs have this length. */
export const MAX_CONN_ID_LEN: number = native.MAX_CONN_ID_LEN;
/** Smallest datagram a client's first Initial may arrive in (RFC 9000 §14.1). */
export const MIN_CLIENT_INITIAL_LEN: number = native.MIN_CLIENT_INITIAL_LEN;
/** The QUIC version quiche speaks (1). */
export const PROTOCOL_VERSION: number = native.PROTOCOL_VERSION;

// ---- errors ------------------------------------------------------------------------------------

/** quiche error names (quiche 0.18 `Error`) and the stable code each becomes. */
const QUICHE_ERRORS = {
  BufferTooShort: 'QUIC_BUFFER_TOO_SHORT',
  UnknownVersion: 'QUIC_UNKNOWN_VERSION',
  InvalidFrame: 'QUIC_INVALID_FRAME',
  InvalidPacket: 'QUIC_INVALID_PACKET',
  InvalidState: 'QUIC_INVALID_STATE',
  InvalidStreamState: 'QUIC_INVALID_STREAM_STATE',
  InvalidTransportParam: 'QUIC_INVALID_TRANSPORT_PARAM',
  CryptoFail: 'QUIC_CRYPTO_FAIL',
  TlsFail: 'QUIC_TLS_FAIL',
  FlowControl: 'QUIC_FLOW_CONTROL',
  StreamLimit: 'QUIC_STREAM_LIMIT',
  StreamStopped: 'QUIC_STREAM_STOPPED',
  StreamReset: 'QUIC_STREAM_RESET',
  FinalSize: 'QUIC_FINAL_SIZE',
  CongestionControl: 'QUIC_CONGESTION_CONTROL',
  IdLimit: 'QUIC_ID_LIMIT',
  OutOfIdentifiers: 'QUIC_OUT_OF_IDENTIFIERS',
  KeyUpdate: 'QUIC_KEY_UPDATE',
} as const;

/** Stable codes of `QuicBindingError`; `QUIC_BINDING` is anything quiche did not name (bad argument...). */
export type QuicErrorCode = (typeof QUICHE_ERRORS)[keyof typeof QUICHE_ERRORS] | 'QUIC_BINDING';

const ERROR_RE = /^([A-Za-z]+)(?:\((\d+)\))?$/;

/** An error reported by quiche (or the binding), with a stable code. */
export class QuicBindingError extends H3BenchError {
  declare readonly code: QuicErrorCode;
  /** The binding call that failed, e.g. "streamRecv". */
  readonly op: string;
  /**
   * The value quiche attached: the application error code for `QUIC_STREAM_RESET` and
   * `QUIC_STREAM_STOPPED`, the stream id for `QUIC_INVALID_STREAM_STATE`; null otherwise.
   */
  readonly value: number | null;
  constructor(
    code: QuicErrorCode,
    op: string,
    value: number | null,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, ExitCode.RunFailed, options);
    this.op = op;
    this.value = value;
  }
}

/** The sentinel quiche uses for "nothing to do". */
const DONE = 'Done';

function isDone(err: unknown): boolean {
  return err instanceof Error && err.message === DONE;
}

/** Convert whatever the binding threw into a QuicBindingError. */
export function toQuicError(err: unknown, op: string): QuicBindingError {
  if (err instanceof QuicBindingError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const m = ERROR_RE.exec(message);
  const name = m?.[1];
  const code: QuicErrorCode =
    name !== undefined && Object.hasOwn(QUICHE_ERRORS, name)
      ? QUICHE_ERRORS[name as keyof typeof QUICHE_ERRORS]
      : 'QUIC_BINDING';
  const value = m?.[2] !== undefined ? Number(m[2]) : null;
  return new QuicBindingError(code, op, value, `Cannot ${op} as quiche reported ${message}`, { cause: err });
}

// ---- config ------------------------------------------------------------------------------------

/** Congestion controllers quiche 0.18 accepts by name ("bbr2" is rejected). */
export type CongestionControl = 'cubic' | 'reno' | 'bbr';

export interface QuicConfigOptions {
  role: 'client' | 'server';
  /** Client: CA certificate (PEM) the server must chain to; null = do not verify (fetch --insecure). */
  caPem?: string | null;
  /** Server: certificate chain and key (PEM). */
  certPem?: string;
  keyPem?: string;
  /** ALPN identifiers offered (client) or accepted (server). */
  alpn: string[];
  /** max_idle_timeout transport parameter, ms (0 = none). */
  idleTimeoutMs: number;
  /** Largest UDP payload sent and accepted, bytes (max_udp_payload_size; 1472 = MTU 1500 − 28). */
  maxUdpPayloadBytes: number;
  /** initial_max_data, bytes. */
  connectionWindowBytes: number;
  /** initial_max_stream_data_bidi_local / _bidi_remote / _uni, bytes. */
  streamWindowBytes: number;
  /** initial_max_streams_bidi. */
  maxStreamsBidi: number;
  /** initial_max_streams_uni. */
  maxStreamsUni: number;
  congestion: CongestionControl;
  /** HyStart++ in slow start. */
  hystart: boolean;
  /**
   * quiche's own pacing (its release times, `SendInfo.at`, reach JS as an opaque External, so the
   * driver paces instead). Either way quiche 0.18 dates each sent packet with its pacer's
   * `next_time`, not with the time of `send()` (quiche 0.18.0 src/recovery/mod.rs
   * `Recovery::on_packet_sent`, src/recovery/pacer.rs `Pacer::send`). Off, the pacer is handed 0
   * bytes and the date only moves when it resets, once `send_quantum / pacing_rate` (0.8 × srtt at
   * the initial window, 1.63 × srtt at 7212 bytes) passed: RTT samples are inflated, and with cwnd
   * below ~8 packets they can run away (srtt +1 ms per ms, cwnd pinned, since every packet looks
   * sent before the recovery period began). On, the pacer sees real packet sizes and the date moves
   * at least every 10 packets, so it cannot freeze, but it can run ahead of the real send (samples
   * too small). test/unit/quic/sent-time.test.ts shows the inflation and the runaway with it off.
   */
  quichePacing: boolean;
  /** max_ack_delay transport parameter, ms. */
  maxAckDelayMs: number;
}

/** An immutable quiche configuration plus the settings it applied (for the result file). */
export class QuicConfig {
  /** @internal */
  readonly native: NativeConfig;
  /** Every setting applied, as recorded in results. */
  readonly applied: Readonly<JsonObject>;

  constructor(o: QuicConfigOptions) {
    const enc = (s: string) => new TextEncoder().encode(s);
    let cfg: NativeConfig;
    try {
      cfg =
        o.role === 'server'
          ? native.Config.withBoringSslCtx(
              false,
              false,
              null,
              o.keyPem === undefined ? null : [enc(o.keyPem)],
              o.certPem === undefined ? null : [enc(o.certPem)],
              null,
            )
          : native.Config.withBoringSslCtx(
              o.caPem !== null && o.caPem !== undefined,
              false,
              o.caPem === null || o.caPem === undefined ? null : enc(o.caPem),
              null,
              null,
              null,
            );
      cfg.setApplicationProtos(o.alpn);
      cfg.setMaxIdleTimeout(o.idleTimeoutMs);
      cfg.setMaxRecvUdpPayloadSize(o.maxUdpPayloadBytes);
      cfg.setMaxSendUdpPayloadSize(o.maxUdpPayloadBytes);
      cfg.setInitialMaxData(o.connectionWindowBytes);
      cfg.setInitialMaxStreamDataBidiLocal(o.streamWindowBytes);
      cfg.setInitialMaxStreamDataBidiRemote(o.streamWindowBytes);
      cfg.setInitialMaxStreamDataUni(o.streamWindowBytes);
      // Pin the windows: quiche would otherwise auto-tune them up to 24 MB / 16 MB, and HTTP/2
      // (Node) keeps exactly the configured windows.
      cfg.setMaxConnectionWindow(o.connectionWindowBytes);
      cfg.setMaxStreamWindow(o.streamWindowBytes);
      cfg.setInitialMaxStreamsBidi(o.maxStreamsBidi);
      cfg.setInitialMaxStreamsUni(o.maxStreamsUni);
      cfg.setMaxAckDelay(o.maxAckDelayMs);
      cfg.setDisableActiveMigration(true);
      cfg.setCcAlgorithmName(o.congestion);
      cfg.enableHystart(o.hystart);
      cfg.enablePacing(o.quichePacing);
      cfg.grease(false);
    } catch (err) {
      throw toQuicError(err, 'configure quiche');
    }
    this.native = cfg;
    this.applied = {
      verifyPeer: o.role === 'client' && o.caPem !== null && o.caPem !== undefined,
      alpn: o.alpn,
      idleTimeoutMs: o.idleTimeoutMs,
      maxUdpPayloadBytes: o.maxUdpPayloadBytes,
      initialMaxData: o.connectionWindowBytes,
      initialMaxStreamDataBidiLocal: o.streamWindowBytes,
      initialMaxStreamDataBidiRemote: o.streamWindowBytes,
      initialMaxStreamDataUni: o.streamWindowBytes,
      maxConnectionWindow: o.connectionWindowBytes,
      maxStreamWindow: o.streamWindowBytes,
      initialMaxStreamsBidi: o.maxStreamsBidi,
      initialMaxStreamsUni: o.maxStreamsUni,
      maxAckDelayMs: o.maxAckDelayMs,
      disableActiveMigration: true,
      congestion: o.congestion,
      hystart: o.hystart,
      quichePacing: o.quichePacing,
      grease: false,
    };
  }
}

// ---- packets -----------------------------------------------------------------------------------

/** QUIC packet types as the binding numbers them. */
export const PacketType = {
  Initial: 0,
  Retry: 1,
  Handshake: 2,
  ZeroRTT: 3,
  VersionNegotiation: 4,
  Short: 5,
} as const;
export type PacketType = (typeof PacketType)[keyof typeof PacketType];

export interface PacketHeader {
  type: PacketType;
  /** 0 for short-header packets. */
  version: number;
  dcid: Uint8Array;
  /** Empty for short-header packets. */
  scid: Uint8Array;
  /** Initial packets: the token (empty if none). */
  token: Uint8Array;
}

/** Parse a datagram's first packet header (short headers: DCID of `dcidLen`); null if malformed. */
export function parseHeader(datagram: Uint8Array, dcidLen: number): PacketHeader | null {
  try {
    const h = native.Header.fromSlice(datagram, dcidLen);
    return {
      type: h.ty as PacketType,
      version: h.version,
      dcid: h.dcid,
      scid: h.scid,
      token: h.token ?? new Uint8Array(0),
    };
  } catch {
    return null;
  }
}

/** Write a Version Negotiation packet answering a client's (scid, dcid) into `out`; returns its length. */
export function negotiateVersion(scid: Uint8Array, dcid: Uint8Array, out: Uint8Array): number {
  try {
    return native.negotiateVersion(scid, dcid, out);
  } catch (err) {
    throw toQuicError(err, 'write a version negotiation packet');
  }
}

/** Write a Retry packet into `out` (RFC 9000 §8.1.2); returns its length. */
export function retry(
  scid: Uint8Array,
  dcid: Uint8Array,
  newScid: Uint8Array,
  token: Uint8Array,
  version: number,
  out: Uint8Array,
): number {
  try {
    return native.retry(scid, dcid, newScid, token, version, out);
  } catch (err) {
    throw toQuicError(err, 'write a retry packet');
  }
}

export function versionIsSupported(version: number): boolean {
  return native.versionIsSupported(version);
}

// ---- connection --------------------------------------------------------------------------------

/** Which half of a stream to shut down. */
export const Shutdown = { Read: 0, Write: 1 } as const;
export type Shutdown = (typeof Shutdown)[keyof typeof Shutdown];

/** CONNECTION_CLOSE as sent or received. */
export interface QuicCloseInfo {
  /** True for an application (HTTP/3) error code, false for a transport error code. */
  isApp: boolean;
  code: number;
  reason: string;
}

/** Counters of one connection (quiche `Stats` and the active path's `PathStats`). */
export interface QuicStats {
  /** Packets received. */
  recv: number;
  /** Packets sent. */
  sent: number;
  /** Packets declared lost (subset of sent). */
  lost: number;
  /** Packets that carried retransmitted data. */
  retrans: number;
  sentBytes: number;
  recvBytes: number;
  lostBytes: number;
  /** Stream bytes sent again. */
  streamRetransBytes: number;
  /** Smoothed RTT of the active path, whole ms (binding resolution); null if no path. */
  srttMs: number | null;
  /** Congestion window of the active path, bytes; null if no path. */
  cwndBytes: number | null;
  /** Delivery rate estimate of the active path, bytes/s; null if no path. */
  deliveryRateBytesPerSec: number | null;
  /** Path MTU quiche uses, bytes; null if no path. */
  pmtuBytes: number | null;
  /** Peer's max_udp_payload_size transport parameter. */
  peerMaxUdpPayloadBytes: number;
  /** Peer's initial_max_data transport parameter. */
  peerInitialMaxData: number;
  /** Peer's initial_max_streams_bidi transport parameter. */
  peerInitialMaxStreamsBidi: number;
}

/** What the pacer needs, read cheaply from the active path. */
export interface PathEstimate {
  /** Smoothed RTT, whole ms (0 when below 1 ms). */
  srttMs: number;
  cwndBytes: number;
  deliveryRateBytesPerSec: number;
}

const EMPTY = new Uint8Array(0);
const textDecoder = new TextDecoder();

function closeInfo(e: NativeConnectionError | null): QuicCloseInfo | null {
  return e === null ? null : { isApp: e.isApp, code: e.errorCode, reason: textDecoder.decode(e.reason) };
}

/** One quiche connection. Methods never throw for `Done`; real errors are QuicBindingError. */
export class QuicConnection {
  private readonly c: NativeConnection;

  private constructor(c: NativeConnection) {
    this.c = c;
  }

  /** Start a client connection (nothing is sent until `send`). */
  static connect(
    serverName: string | null,
    scid: Uint8Array,
    local: HostPort,
    remote: HostPort,
    config: QuicConfig,
  ): QuicConnection {
    try {
      return new QuicConnection(native.Connection.connect(serverName, scid, local, remote, config.native));
    } catch (err) {
      throw toQuicError(err, 'connect');
    }
  }

  /** Accept a client's connection (server); `odcid` is the original DCID when a Retry was used. */
  static accept(
    scid: Uint8Array,
    odcid: Uint8Array | null,
    local: HostPort,
    remote: HostPort,
    config: QuicConfig,
  ): QuicConnection {
    try {
      return new QuicConnection(native.Connection.accept(scid, odcid, local, remote, config.native));
    } catch (err) {
      throw toQuicError(err, 'accept');
    }
  }

  /** Process one datagram (decrypted in place); returns bytes consumed (0 if quiche dropped it). */
  recv(datagram: Uint8Array, info: RecvInfo): number {
    try {
      return this.c.recv(datagram, info);
    } catch (err) {
      if (isDone(err)) return 0;
      throw toQuicError(err, 'recv');
    }
  }

  /** Write the next packet into `out`; returns its length, or 0 when there is nothing to send. */
  send(out: Uint8Array): number {
    let r: [number, unknown] | null;
    try {
      r = this.c.send(out);
    } catch (err) {
      if (isDone(err)) return 0;
      throw toQuicError(err, 'send');
    }
    return r === null ? 0 : r[0];
  }

  /**
   * Read stream data into `out`: `[bytes, fin]`, or null when nothing is buffered. Throws
   * QUIC_STREAM_RESET (value = the peer's error code) when the peer reset the stream.
   */
  streamRecv(id: number, out: Uint8Array): readonly [number, boolean] | null {
    try {
      return this.c.streamRecv(id, out);
    } catch (err) {
      if (isDone(err)) return null;
      throw toQuicError(err, 'streamRecv');
    }
  }

  /**
   * Queue stream data; returns the bytes accepted (may be fewer than given, limited by flow
   * control and congestion window), or null when nothing could be accepted. A zero-length write
   * with `fin` returns 0 when it succeeds. Throws QUIC_STREAM_STOPPED when the peer sent
   * STOP_SENDING (value = its error code).
   */
  streamSend(id: number, data: Uint8Array, fin: boolean): number | null {
    try {
      return this.c.streamSend(id, data, fin);
    } catch (err) {
      if (isDone(err)) return null;
      throw toQuicError(err, 'streamSend');
    }
  }

  /**
   * Send-side scheduling of a stream (RFC 9218 semantics): lower urgency first; within one urgency,
   * incremental streams share the link round robin, non-incremental ones go one after another.
   */
  streamPriority(id: number, urgency: number, incremental: boolean): void {
    try {
      this.c.streamPriority(id, urgency, incremental);
    } catch (err) {
      if (isDone(err)) return;
      throw toQuicError(err, 'streamPriority');
    }
  }

  /** Bytes the stream can take now (flow control and congestion window). */
  streamCapacity(id: number): number {
    try {
      return this.c.streamCapacity(id);
    } catch (err) {
      if (isDone(err)) return 0;
      throw toQuicError(err, 'streamCapacity');
    }
  }

  /**
   * Shut down one direction of a stream: Write sends RESET_STREAM, Read sends STOP_SENDING, each
   * with `code`. Returns false when there was nothing to shut down (already done or unknown stream).
   */
  streamShutdown(id: number, direction: Shutdown, code: number): boolean {
    try {
      return this.c.streamShutdown(id, direction, code) !== null;
    } catch (err) {
      if (isDone(err)) return false;
      const e = toQuicError(err, 'streamShutdown');
      if (e.code === 'QUIC_INVALID_STREAM_STATE') return false;
      throw e;
    }
  }

  /** True once every byte of the stream has been read (or it was reset). */
  streamFinished(id: number): boolean {
    try {
      return this.c.streamFinished(id);
    } catch {
      return true;
    }
  }

  /** True if the stream has data, a fin or a reset to read (false for unknown streams). */
  streamReadable(id: number): boolean {
    try {
      return this.c.streamReadable(id);
    } catch {
      return false;
    }
  }

  /** True if any stream has something to read (cheaper than iterating `readable()`). */
  isReadable(): boolean {
    return this.c.isReadable();
  }

  /** Stream ids with data (or a reset, or fin) to read. */
  readable(): Iterable<number> {
    return this.c.readable();
  }

  /** Stream ids that can take more data. */
  writable(): Iterable<number> {
    return this.c.writable();
  }

  /** Milliseconds until `onTimeout` is due, or null when no timer is needed (closed). */
  timeout(): number | null {
    return this.c.timeout();
  }

  /** Run the expired timers (loss detection, idle, draining); a call before they are due does nothing. */
  onTimeout(): void {
    this.c.onTimeout();
  }

  /** Send CONNECTION_CLOSE; false if the connection was already closing. */
  close(isApp: boolean, code: number, reason: string): boolean {
    try {
      const r = this.c.close(isApp, code, reason === '' ? EMPTY : new TextEncoder().encode(reason));
      return r !== null;
    } catch (err) {
      if (isDone(err)) return false;
      throw toQuicError(err, 'close');
    }
  }

  isEstablished(): boolean {
    return this.c.isEstablished();
  }
  isClosed(): boolean {
    return this.c.isClosed();
  }
  isDraining(): boolean {
    return this.c.isDraining();
  }
  /** True if the connection closed because the idle timeout expired. */
  isTimedOut(): boolean {
    return this.c.isTimedOut();
  }

  /** ALPN protocol negotiated ("" before the handshake). */
  applicationProto(): string {
    return textDecoder.decode(this.c.applicationProto());
  }

  /** CONNECTION_CLOSE received from the peer, if any. */
  peerError(): QuicCloseInfo | null {
    return closeInfo(this.c.peerError());
  }

  /** CONNECTION_CLOSE this endpoint sent, if any. */
  localError(): QuicCloseInfo | null {
    return closeInfo(this.c.localError());
  }

  /** Bidirectional streams the peer still lets us open. */
  peerStreamsLeftBidi(): number {
    return this.c.peerStreamsLeftBidi();
  }

  /** Our source connection ID. */
  sourceId(): Uint8Array {
    return this.c.sourceId();
  }

  /** quiche's trace id of this connection (our source connection ID in hex). */
  traceId(): string {
    return this.c.traceId();
  }

  /** Largest UDP payload quiche will send on this connection. */
  maxSendUdpPayloadSize(): number {
    return this.c.maxSendUdpPayloadSize();
  }

  /** The active path's RTT, cwnd and delivery rate (allocates: call a few times per RTT at most). */
  pathEstimate(out: PathEstimate): boolean {
    const paths = this.c.pathStats();
    const p = paths.find((x) => x.active) ?? paths[0];
    if (p === undefined) return false;
    out.srttMs = p.rtt;
    out.cwndBytes = p.cwnd;
    out.deliveryRateBytesPerSec = p.deliveryRate;
    return true;
  }

  stats(): QuicStats {
    const s = this.c.stats();
    const paths = this.c.pathStats();
    const p = paths.find((x) => x.active) ?? paths[0];
    return {
      recv: s.recv,
      sent: s.sent,
      lost: s.lost,
      retrans: s.retrans,
      sentBytes: s.sentBytes,
      recvBytes: s.recvBytes,
      lostBytes: s.lostBytes,
      streamRetransBytes: s.streamRetransBytes,
      srttMs: p?.rtt ?? null,
      cwndBytes: p?.cwnd ?? null,
      deliveryRateBytesPerSec: p?.deliveryRate ?? null,
      pmtuBytes: p?.pmtu ?? null,
      peerMaxUdpPayloadBytes: s.peerMaxUdpPayloadSize,
      peerInitialMaxData: s.peerInitialMaxData,
      peerInitialMaxStreamsBidi: s.peerInitialMaxStreamsBidi,
    };
  }
}
