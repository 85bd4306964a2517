/**
 * One QUIC connection as the driver runs it: the flush (read readable streams, move queued writes
 * into quiche as capacity allows, send packets until quiche has none or the pacer says wait, arm
 * one timer from `timeout()`), the stream write queues, delayed ACK and pacing. The endpoint that
 * owns the connection (endpoint.ts) feeds it datagrams and schedules its flushes.
 *
 * Hot path: no per-packet allocation of ours (one reused send buffer and one reused stream-read
 * buffer per endpoint, one reused RecvInfo per connection). Binding calls that build objects
 * (`readable()` ~19 µs, `stats()`/`pathStats()` ~10 µs, any thrown error ~10 µs) are kept off the
 * per-packet path; `send()` (~9 µs, mostly building its SendInfo) and `recv()` (~7 µs) are the floor.
 *
 * Write queues in priority order: what quiche cannot take at once waits in a per-stream queue here,
 * and those queues are fed to quiche in the order quiche itself serves streams (RFC 9218 §4
 * semantics, as quiche's `Connection::stream_priority` applies them): lower urgency first; within one
 * urgency, non-incremental streams one after another by stream id, then incremental ones round
 * robin. Queues are bucketed by urgency (a handful of buckets), so a drain never sorts. Without
 * this, a stream's urgency would only count once its bytes were inside quiche, and a later stream's
 * HEADERS (urgency 2) would wait here behind earlier streams' queued bodies (urgency 3).
 *
 * Delayed ACK (ack-delay.ts): a flush caused by one lone datagram, with nothing of ours to send,
 * waits for a second datagram or 1 ms. Pacing (pacer.ts), when `transport.pacing` is on: packets go
 * out as a token bucket refilled at 1.25 × cwnd / srtt allows.
 */
import type dgram from 'node:dgram';
import type { TransportStats } from '../../model/records.js';
import { ACK_DELAY_MS, AckDelay } from './ack-delay.js';
import {
  QuicBindingError,
  Shutdown,
  toQuicError,
  type HostPort,
  type QuicCloseInfo,
  type QuicConnection,
  type QuicStats,
  type RecvInfo,
} from './binding.js';
import { Pacer, type PacingMode } from './pacer.js';
import type { ConnTelemetry } from './telemetry.js';

/** A stream's JS write queue reports "full" (write returns false) at this many bytes. */
export const STREAM_HIGH_WATER_BYTES = 64 * 1024;
/** Above this many open receiving streams, one readable() scan is cheaper than polling each. */
const POLL_STREAMS_MAX = 48;
/**
 * One turn of an incremental (round-robin) stream in a drain: its queued writes until at least this
 * many bytes went into quiche. A body chunk (64 KiB) is one turn; a DATA frame header and the
 * payload after it go in the same turn.
 */
export const ROUND_ROBIN_TURN_BYTES = 16 * 1024;
/**
 * quiche's priority of a stream nobody set one for (cloudflare/quiche, quiche/src/stream/mod.rs:
 * `DEFAULT_URGENCY` = 127 and incremental by default), so that the queues here are in the same
 * order as the data inside quiche.
 */
const DEFAULT_URGENCY = 127;
const DEFAULT_INCREMENTAL = true;
/** Waiting for a connection to drain on close before giving up, ms. */
const CLOSE_WAIT_MS = 2_000;
/**
 * Packets a closing connection may send per flush. Closing, quiche sends only CONNECTION_CLOSE
 * (once per packet number space in use, RFC 9000 §10.2.3) and ACKs, then nothing until the peer
 * answers; but quiche 0.18, closed with an application error before the handshake is confirmed
 * while a PTO probe is due, returns another small Handshake packet from every `send()`, never
 * "done". Unbounded, the send loop spins forever, the event loop blocked, while quiche's
 * sent-packet records grow without limit. Bounded, the flush returns and the timer drives the next
 * one; in the driver test quiche reports the connection closed some 20 flushes later. The peer may
 * not see that close (it was sent in Handshake packets) and then ends by its idle timeout.
 */
const CLOSING_MAX_PACKETS_PER_FLUSH = 16;
/** ...and in all: beyond this, quiche is not going to stop; the connection ends without draining. */
const CLOSING_MAX_PACKETS = 4096;
/** What opens a stream in quiche without writing to it. */
const EMPTY = new Uint8Array(0);
/** QUIC transport error INTERNAL_ERROR (RFC 9000 §20.1). */
const TRANSPORT_INTERNAL_ERROR = 0x1;

// ---- handler interface -------------------------------------------------------------------------

/** Why a connection ended. */
export interface QuicCloseEvent {
  /** CONNECTION_CLOSE we sent, if any. */
  local: QuicCloseInfo | null;
  /** CONNECTION_CLOSE the peer sent, if any. */
  peer: QuicCloseInfo | null;
  /** The idle timeout expired. */
  timedOut: boolean;
  /** Never reached the end of the handshake. */
  handshakeFailed: boolean;
}

/** What the layer above (HTTP/3) is told about one connection. Every callback is optional. */
export interface QuicConnHandler {
  /** Handshake complete (application data may flow). */
  onEstablished?(): void;
  /**
   * Stream data in order. `data` is a view of a reused buffer: valid only during the call.
   * Called once with an empty `data` and `fin` when the stream ends without more data.
   */
  onStreamData?(streamId: number, data: Uint8Array, fin: boolean): void;
  /** The peer reset the stream (RESET_STREAM) with `code`. */
  onStreamReset?(streamId: number, code: number): void;
  /** The peer asked us to stop sending on the stream (STOP_SENDING) with `code`; queued data was dropped. */
  onStreamStopped?(streamId: number, code: number): void;
  /** A stream that asked (`wantWritable`) has an empty write queue again. */
  onStreamWritable?(streamId: number): void;
  /** End of each flush of this connection (after reading and writing streams). */
  onFlush?(): void;
  /** The connection is closed (after draining): no more callbacks follow. */
  onClose?(ev: QuicCloseEvent): void;
}

/**
 * What a connection needs from the endpoint that drives it (the Endpoint class in endpoint.ts
 * implements it; an interface here keeps connection.ts from importing endpoint.ts).
 */
export interface ConnEndpoint {
  readonly maxUdpPayloadBytes: number;
  readonly pacing: PacingMode;
  /** Reused buffer quiche writes each outgoing packet into. */
  readonly sendBuf: Buffer;
  /** Reused buffer stream data is read into. */
  readonly streamBuf: Buffer;
  /** Datagrams quiche rejected or the endpoint could not route. */
  badDatagrams: number;
  /** Schedule a flush of `conn`. */
  markDirty(conn: QuicConn): void;
  /** Send `out[0..n)` to `to`. */
  transmit(out: Buffer, n: number, to: HostPort): void;
  /** Forget a finished connection. */
  forget(conn: QuicConn): void;
}

// ---- connection --------------------------------------------------------------------------------

interface QueuedWrite {
  data: Uint8Array;
  fin: boolean;
}

interface StreamQueue {
  readonly id: number;
  chunks: QueuedWrite[];
  /** Bytes queued in JS (not yet accepted by quiche). */
  bytes: number;
  urgency: number;
  incremental: boolean;
}

/** The queues of one urgency, in the order quiche serves them (see the file comment). */
interface UrgencyBucket {
  readonly urgency: number;
  /** Non-incremental queues by stream id: each goes in full before the next. */
  readonly ordered: StreamQueue[];
  /** Incremental queues; the Map's order is the round-robin turn (a served queue moves to the back). */
  readonly rotating: Map<number, StreamQueue>;
}

/** What feeding one queue to quiche did. */
const enum Fed {
  /** The queue is gone: emptied into quiche, or dropped as the stream failed. */
  Emptied,
  /** Its turn is over (round robin) and it has more. */
  TurnDone,
  /** quiche took nothing (its capacity for this stream is 0). */
  Blocked,
  /** quiche took part: it has no room for more. */
  Full,
}

/** One QUIC connection driven by an endpoint. */
export class QuicConn {
  readonly isClient: boolean;
  /** The quiche connection (exposed for stats and tests). */
  readonly quic: QuicConnection;
  /** Peer address. */
  readonly peer: HostPort;
  /** Performance.now() when the connection was created. */
  readonly tStart: number;
  /** Performance.now() when the handshake completed; null until then. */
  tEstablished: number | null = null;
  /** Set once the connection is closed (after draining). */
  closeEvent: QuicCloseEvent | null = null;

  private handler: QuicConnHandler = {};
  private readonly ep: ConnEndpoint;
  private recvInfo: RecvInfo;
  private readonly queues = new Map<number, StreamQueue>();
  /** The queues by urgency, lowest (most urgent) first; empty buckets are removed. */
  private readonly buckets: UrgencyBucket[] = [];
  /** Priority set by setPriority for streams still sending, as urgency * 2 + (incremental ? 1 : 0). */
  private readonly priorities = new Map<number, number>();
  private readonly writableWaiters = new Set<number>();
  /** Streams whose receiving side is open (polled for data each flush); see readStreams. */
  private readonly recvStreams = new Set<number>();
  private nextBidi: number;
  private nextUni: number;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private closeWaiters: (() => void)[] = [];
  private finalStats: TransportStats | null = null;
  /** Message of the local failure that closed the connection, if any. */
  abortReason: string | null = null;
  /** Datagrams received since packets were last sent (see delayAck). */
  private readonly ack = new AckDelay();
  /** Something local (a write, a reset, a timer) wants packets out at the next flush. */
  private mustSend = true;
  private ackTimer: NodeJS.Timeout | null = null;
  /** Packets sent since we closed the connection (close/abort); -1 while open. */
  private closingPackets = -1;

  /** Null when pacing is off. */
  private readonly pacer: Pacer | null;
  private paceTimer: NodeJS.Timeout | null = null;
  /** Sampling, PTO inference and qlog (telemetry.ts); null when neither telemetry nor qlog is on. */
  readonly telemetry: ConnTelemetry | null;

  /** @internal (created by endpoints) */
  constructor(
    ep: ConnEndpoint,
    quic: QuicConnection,
    isClient: boolean,
    local: HostPort,
    peer: HostPort,
    telemetry: ConnTelemetry | null = null,
  ) {
    this.ep = ep;
    this.quic = quic;
    this.telemetry = telemetry;
    telemetry?.attach(quic);
    this.isClient = isClient;
    this.peer = { host: peer.host, port: peer.port };
    this.recvInfo = { from: this.peer, to: { host: local.host, port: local.port } };
    this.nextBidi = isClient ? 0 : 1;
    this.nextUni = isClient ? 2 : 3;
    this.tStart = performance.now();
    this.pacer =
      ep.pacing === 'driver' ? new Pacer(ep.maxUdpPayloadBytes, (out) => this.quic.pathEstimate(out)) : null;
  }

  /** Set the callbacks (before the first event loop turn for server connections). */
  setHandler(h: QuicConnHandler): void {
    this.handler = h;
  }

  get established(): boolean {
    return this.tEstablished !== null;
  }

  get closed(): boolean {
    return this.closeEvent !== null;
  }

  /** ALPN negotiated ("" before the handshake). */
  alpn(): string {
    return this.quic.applicationProto();
  }

  /** Allocate the next locally initiated bidirectional stream id (opened by its first write). */
  openBidi(): number {
    const id = this.nextBidi;
    this.nextBidi += 4;
    this.recvStreams.add(id);
    return id;
  }

  /** Allocate the next locally initiated unidirectional stream id. */
  openUni(): number {
    const id = this.nextUni;
    this.nextUni += 4;
    return id;
  }

  /** Bidirectional streams the peer still lets us open. */
  streamsLeftBidi(): number {
    return this.quic.peerStreamsLeftBidi();
  }

  /**
   * Write to a stream. Whatever quiche does not take now is queued (not copied: `data` must not
   * change afterwards) and written as capacity opens. Returns false when the stream's queue is at
   * or above the high-water mark: the producer should wait for `onStreamWritable` (`wantWritable`).
   * Writes to a stopped or reset stream are dropped.
   */
  write(streamId: number, data: Uint8Array, fin: boolean): boolean {
    if (this.closeEvent !== null) return false;
    this.mustSend = true;
    let q = this.queues.get(streamId);
    if (q === undefined) {
      const prio = this.priorities.get(streamId);
      const urgency = prio === undefined ? DEFAULT_URGENCY : prio >> 1;
      const incremental = prio === undefined ? DEFAULT_INCREMENTAL : (prio & 1) === 1;
      // Straight into quiche only if no queued stream comes first: queued streams are waiting for
      // room, and one of equal or more urgency must get it before this one (the next flush drains).
      // Queued, the stream is still opened in quiche at once, by an empty write (which takes no
      // capacity): the peer's stream limit counts the streams quiche opened (streamsLeftBidi), and
      // a stream over it or already stopped fails here, not in a later drain.
      const first = this.buckets[0];
      const direct = first === undefined || urgency < first.urgency;
      let n: number | null;
      try {
        n = this.quic.streamSend(streamId, direct ? data : EMPTY, direct && fin);
      } catch (err) {
        this.streamSendFailed(streamId, err);
        return false;
      }
      if (!direct) n = null;
      this.ep.markDirty(this);
      if (n !== null && n === data.length) {
        if (fin) this.priorities.delete(streamId);
        return true;
      }
      q = { id: streamId, chunks: [], bytes: 0, urgency, incremental };
      this.queues.set(streamId, q);
      this.link(q);
      const rest = n === null ? data : data.subarray(n);
      q.chunks.push({ data: rest, fin });
      q.bytes += rest.length;
    } else {
      q.chunks.push({ data, fin });
      q.bytes += data.length;
      this.ep.markDirty(this);
    }
    return q.bytes < STREAM_HIGH_WATER_BYTES;
  }

  /**
   * Set how quiche schedules a stream's data against the others (see QuicConnection.streamPriority);
   * the stream's queue here, if any, moves to the same place in the drain order.
   */
  setPriority(streamId: number, urgency: number, incremental: boolean): void {
    try {
      this.quic.streamPriority(streamId, urgency, incremental);
    } catch {
      // The stream is already gone (reset or finished): nothing to schedule.
      this.priorities.delete(streamId);
      return;
    }
    this.priorities.set(streamId, urgency * 2 + (incremental ? 1 : 0));
    const q = this.queues.get(streamId);
    if (q !== undefined && (q.urgency !== urgency || q.incremental !== incremental)) {
      this.unlink(q);
      q.urgency = urgency;
      q.incremental = incremental;
      this.link(q);
    }
  }

  /** Bytes queued in JS for a stream (not yet accepted by quiche). */
  buffered(streamId: number): number {
    return this.queues.get(streamId)?.bytes ?? 0;
  }

  /** Ask for one `onStreamWritable` when the stream's queue is empty (at once if it already is). */
  wantWritable(streamId: number): void {
    this.writableWaiters.add(streamId);
    this.ep.markDirty(this);
  }

  /** Abandon sending on a stream (RESET_STREAM with `code`), dropping queued data. */
  resetStream(streamId: number, code: number): void {
    this.dropQueue(streamId);
    if (this.closeEvent !== null) return;
    this.mustSend = true;
    this.quic.streamShutdown(streamId, Shutdown.Write, code);
    this.ep.markDirty(this);
  }

  /** Ask the peer to stop sending on a stream (STOP_SENDING with `code`); its data is discarded. */
  stopSending(streamId: number, code: number): void {
    this.recvStreams.delete(streamId);
    if (this.closeEvent !== null) return;
    this.mustSend = true;
    this.quic.streamShutdown(streamId, Shutdown.Read, code);
    this.ep.markDirty(this);
  }

  /**
   * Close with an application error code (CONNECTION_CLOSE); resolves once the connection has
   * drained, or after CLOSE_WAIT_MS.
   */
  close(code: number, reason = ''): Promise<void> {
    if (this.closeEvent !== null) return Promise.resolve();
    this.mustSend = true;
    this.quic.close(true, code, reason);
    if (this.closingPackets < 0) this.closingPackets = 0;
    this.ep.markDirty(this);
    return new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.finish(true);
      }, CLOSE_WAIT_MS);
      this.closeWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** Close at once with INTERNAL_ERROR after a local failure (a handler threw). */
  abort(err: unknown): void {
    if (this.closeEvent !== null) return;
    this.abortReason = err instanceof Error ? err.message : String(err);
    this.mustSend = true;
    this.quic.close(false, TRANSPORT_INTERNAL_ERROR, this.abortReason.slice(0, 200));
    if (this.closingPackets < 0) this.closingPackets = 0;
    this.ep.markDirty(this);
  }

  /**
   * Give up on a connection whose handshake cannot complete (e.g. the server port is closed):
   * close at once, without draining, and report `reason`.
   */
  failHandshake(reason: string): void {
    if (this.closeEvent !== null || this.tEstablished !== null) return;
    this.abortReason = reason;
    this.quic.close(false, TRANSPORT_INTERNAL_ERROR, reason.slice(0, 200));
    this.finish(true);
  }

  /** Transport counters now, or as they were at close. */
  stats(): TransportStats {
    if (this.finalStats !== null) return this.finalStats;
    return transportStats(this.quic.stats());
  }

  // ---- driven by the endpoint ----------------------------------------------------------------

  /** @internal One datagram for this connection. */
  receive(msg: Buffer, from: dgram.RemoteInfo): void {
    if (this.closeEvent !== null) return;
    if (from.port !== this.recvInfo.from.port || from.address !== this.recvInfo.from.host) {
      this.recvInfo = { from: { host: from.address, port: from.port }, to: this.recvInfo.to };
    }
    this.ack.onDatagram();
    if (this.telemetry !== null) this.telemetry.onDatagramIn(msg.length);
    try {
      this.quic.recv(msg, this.recvInfo);
    } catch {
      // A datagram quiche rejects (garbage, wrong keys...) is dropped; fatal errors (TLS failure)
      // leave quiche closing the connection, which the flush below sends and reports.
      this.ep.badDatagrams++;
    }
    this.ep.markDirty(this);
  }

  /** @internal The flush: streams in and out, packets out, timer. */
  process(): void {
    if (this.closeEvent !== null) return;
    const q = this.quic;
    if (this.tEstablished === null && q.isEstablished()) {
      this.tEstablished = performance.now();
      // The flight that completes the handshake (client Finished) must not wait for a delayed ACK.
      this.mustSend = true;
      this.handler.onEstablished?.();
    }
    if (this.tEstablished !== null && this.abortReason === null) {
      if (q.isReadable()) this.readStreams();
      if (this.queues.size > 0) this.drainQueues();
      if (this.writableWaiters.size > 0) this.notifyWritable();
      this.handler.onFlush?.();
    }
    if (this.delayAck()) {
      this.armTimer();
      // ACKs received in this flush may have changed the RTT and window.
      if (this.telemetry !== null) this.telemetry.afterFlush();
      return;
    }
    this.ack.onSent();
    this.mustSend = false;
    if (this.ackTimer !== null) {
      // Not needed any more; left armed it would wake an idle process for nothing.
      clearTimeout(this.ackTimer);
      this.ackTimer = null;
    }
    this.sendPackets();
    if (q.isClosed()) {
      this.finish(false);
      return;
    }
    if (this.closingPackets > CLOSING_MAX_PACKETS) {
      // quiche would not stop sending (see CLOSING_MAX_PACKETS_PER_FLUSH): end without draining.
      this.finish(true);
      return;
    }
    this.armTimer();
    if (this.telemetry !== null) this.telemetry.afterFlush();
  }

  /**
   * Delayed ACK (see ack-delay.ts): when a flush is due to one lone datagram and nothing of ours is
   * waiting, hold `send()` back until the next datagram or ACK_DELAY_MS.
   */
  private delayAck(): boolean {
    if (this.mustSend || !this.ack.mayHold() || this.tEstablished === null) return false;
    if (this.queues.size > 0 || this.paceTimer !== null || this.quic.isDraining()) return false;
    if (this.ackTimer === null) {
      this.ackTimer = setTimeout(this.onAckTimer, ACK_DELAY_MS);
    }
    return true;
  }

  private readonly onAckTimer = (): void => {
    this.ackTimer = null;
    if (this.closeEvent !== null || !this.ack.owed()) return;
    this.mustSend = true;
    this.ep.markDirty(this);
  };

  /**
   * Read every readable stream. quiche's `readable()` iterator costs ~19 µs through the binding
   * (against ~0.2 µs for `isReadable()` / `streamReadable(id)`), so the streams we know to be open
   * for reading are polled one by one, and the iterator is used only when something else is still
   * readable afterwards: a stream the peer just opened.
   */
  private readStreams(): void {
    const q = this.quic;
    if (this.recvStreams.size > POLL_STREAMS_MAX) {
      this.scanReadable();
      return;
    }
    for (const id of this.recvStreams) {
      if (q.streamReadable(id)) this.readStream(id);
      if (this.closeEvent !== null) return;
    }
    if (q.isReadable()) this.scanReadable();
  }

  private scanReadable(): void {
    for (const id of this.quic.readable()) {
      if (!this.recvStreams.has(id)) this.recvStreams.add(id);
      this.readStream(id);
      if (this.closeEvent !== null) return;
    }
  }

  /** Hand everything buffered on one stream to the handler. */
  private readStream(id: number): void {
    const q = this.quic;
    const buf = this.ep.streamBuf;
    for (;;) {
      let r: readonly [number, boolean] | null;
      try {
        r = q.streamRecv(id, buf);
      } catch (err) {
        this.recvStreams.delete(id);
        const e = toQuicError(err, 'streamRecv');
        if (e.code === 'QUIC_STREAM_RESET') this.handler.onStreamReset?.(id, e.value ?? 0);
        return;
      }
      if (r === null) return;
      const [n, fin] = r;
      if (fin) this.recvStreams.delete(id);
      this.handler.onStreamData?.(id, buf.subarray(0, n), fin);
      if (fin || this.closeEvent !== null) return;
    }
  }

  /**
   * Feed the queues to quiche in its own order (see the file comment) until it has no room: bucket
   * by bucket, most urgent first. Handlers may run inside (a stopped stream), so the next bucket is
   * looked up by urgency rather than by index.
   */
  private drainQueues(): void {
    let after = -1;
    for (;;) {
      const b = this.bucketAfter(after);
      if (b === undefined) return;
      after = b.urgency;
      if (this.drainBucket(b)) return;
    }
  }

  private bucketAfter(urgency: number): UrgencyBucket | undefined {
    for (const b of this.buckets) if (b.urgency > urgency) return b;
    return undefined;
  }

  /** One urgency's queues; returns true when quiche has no room left. */
  private drainBucket(b: UrgencyBucket): boolean {
    // Non-incremental: one after another by stream id; one quiche cannot take now is skipped.
    const ordered = b.ordered;
    let i = 0;
    while (i < ordered.length) {
      const q = ordered[i];
      if (q === undefined) break;
      const r = this.feed(q, Infinity);
      if (r === Fed.Full) return true;
      if (ordered[i] === q) i++;
    }
    // Incremental: one turn each, round robin, until every queue is empty or blocked.
    const rotating = b.rotating;
    let blocked = 0;
    while (rotating.size > blocked) {
      const q = firstValue(rotating);
      if (q === undefined) break;
      const r = this.feed(q, ROUND_ROBIN_TURN_BYTES);
      if (r === Fed.Emptied) continue;
      if (rotating.get(q.id) === q) {
        // To the back of the turn.
        rotating.delete(q.id);
        rotating.set(q.id, q);
      }
      if (r === Fed.Full) return true;
      if (r === Fed.Blocked) blocked++;
      else blocked = 0;
    }
    return false;
  }

  /** Move up to `turnBytes` (at least one write) of a stream's queue into quiche. */
  private feed(q: StreamQueue, turnBytes: number): Fed {
    const id = q.id;
    let taken = 0;
    let wrote = false;
    while (q.chunks.length > 0) {
      if (taken >= turnBytes) return Fed.TurnDone;
      const c = q.chunks[0];
      if (c === undefined) break;
      let n: number | null;
      try {
        n = this.quic.streamSend(id, c.data, c.fin);
      } catch (err) {
        this.streamSendFailed(id, err);
        return Fed.Emptied;
      }
      // Nothing taken after something was: count it as full, as quiche's capacity is per
      // connection (congestion window, connection flow control) more often than per stream.
      if (n === null) return wrote ? Fed.Full : Fed.Blocked;
      wrote = true;
      this.mustSend = true;
      q.bytes -= n;
      taken += n;
      if (n < c.data.length) {
        c.data = c.data.subarray(n);
        return Fed.Full;
      }
      q.chunks.shift();
      if (c.fin) this.priorities.delete(id);
    }
    this.removeQueue(q);
    return Fed.Emptied;
  }

  /** Put a queue in its urgency's bucket. */
  private link(q: StreamQueue): void {
    const buckets = this.buckets;
    let at = 0;
    while (at < buckets.length && (buckets[at]?.urgency ?? Infinity) < q.urgency) at++;
    let b = buckets[at];
    if (b === undefined || b.urgency !== q.urgency) {
      b = { urgency: q.urgency, ordered: [], rotating: new Map() };
      buckets.splice(at, 0, b);
    }
    if (q.incremental) {
      b.rotating.set(q.id, q);
      return;
    }
    // By stream id; streams mostly arrive in id order, so look from the end.
    const ordered = b.ordered;
    let k = ordered.length;
    while (k > 0 && (ordered[k - 1]?.id ?? -1) > q.id) k--;
    ordered.splice(k, 0, q);
  }

  private unlink(q: StreamQueue): void {
    const buckets = this.buckets;
    const at = buckets.findIndex((b) => b.urgency === q.urgency);
    const b = buckets[at];
    if (b === undefined) return;
    if (q.incremental) {
      b.rotating.delete(q.id);
    } else {
      const k = b.ordered.indexOf(q);
      if (k >= 0) b.ordered.splice(k, 1);
    }
    if (b.ordered.length === 0 && b.rotating.size === 0) buckets.splice(at, 1);
  }

  private removeQueue(q: StreamQueue): void {
    if (this.queues.get(q.id) !== q) return;
    this.queues.delete(q.id);
    this.unlink(q);
  }

  private notifyWritable(): void {
    for (const id of [...this.writableWaiters]) {
      if (this.queues.has(id)) continue;
      this.writableWaiters.delete(id);
      this.handler.onStreamWritable?.(id);
      if (this.closeEvent !== null) return;
    }
  }

  private streamSendFailed(id: number, err: unknown): void {
    this.dropQueue(id);
    const e = err instanceof QuicBindingError ? err : toQuicError(err, 'streamSend');
    if (e.code === 'QUIC_STREAM_STOPPED') {
      this.handler.onStreamStopped?.(id, e.value ?? 0);
      // Answer STOP_SENDING with RESET_STREAM (RFC 9000 §3.5); quiche needs the shutdown call.
      this.quic.streamShutdown(id, Shutdown.Write, e.value ?? 0);
    }
    // Other errors (stream already finished or reset by us) mean there is nothing left to send.
  }

  private dropQueue(id: number): void {
    const q = this.queues.get(id);
    if (q !== undefined) this.removeQueue(q);
    this.priorities.delete(id);
    this.writableWaiters.delete(id);
  }

  private sendPackets(): void {
    const ep = this.ep;
    const q = this.quic;
    const pacer = this.pacer;
    if (pacer !== null) {
      if (this.paceTimer !== null) return;
      pacer.refill(performance.now());
      if (!pacer.hasTokens() && !this.outOfTokens(pacer)) return;
    }
    let closingLeft = CLOSING_MAX_PACKETS_PER_FLUSH;
    for (;;) {
      const out = ep.sendBuf;
      let n: number;
      try {
        n = q.send(out);
      } catch {
        // quiche closes the connection itself on internal errors; report via isClosed.
        break;
      }
      if (n === 0) break;
      ep.transmit(out, n, this.peer);
      if (this.telemetry !== null) this.telemetry.onDatagramOut(n);
      const closingStop =
        this.closingPackets >= 0 && (++this.closingPackets > CLOSING_MAX_PACKETS || --closingLeft === 0);
      if (pacer !== null && !pacer.spend(n) && !this.outOfTokens(pacer)) break;
      if (closingStop) break;
    }
  }

  /**
   * The bucket is empty: returns true if a fresh estimate refilled it, false after scheduling the
   * pacing timer.
   */
  private outOfTokens(pacer: Pacer): boolean {
    if (pacer.refresh(performance.now())) return true;
    this.schedulePace(pacer);
    return false;
  }

  private schedulePace(pacer: Pacer): void {
    if (this.paceTimer !== null) return;
    const waitMs = pacer.wait(performance.now());
    this.paceTimer = setTimeout(() => {
      this.paceTimer = null;
      this.mustSend = true;
      this.ep.markDirty(this);
    }, waitMs);
  }

  private armTimer(): void {
    const t = this.quic.timeout();
    if (t === null) {
      this.clearTimer();
      return;
    }
    const at = performance.now() + t;
    // Keep an earlier timer: when it fires it re-reads timeout() and re-arms.
    if (this.timer !== null && this.timerAt <= at) return;
    this.clearTimer();
    this.timerAt = at;
    this.timer = setTimeout(this.onTimer, t);
  }

  private readonly onTimer = (): void => {
    this.timer = null;
    this.timerAt = Infinity;
    if (this.closeEvent !== null) return;
    const t = this.quic.timeout();
    if (t !== null && t > 0) {
      this.armTimer();
      return;
    }
    const tel = this.telemetry;
    if (tel !== null) tel.timeoutStart();
    this.quic.onTimeout();
    if (tel !== null) tel.timeoutEnd();
    this.mustSend = true;
    this.ep.markDirty(this);
  };

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Infinity;
  }

  /** @internal The connection is over: report once, release everything. */
  finish(forced: boolean): void {
    if (this.closeEvent !== null) return;
    const q = this.quic;
    const final = q.stats();
    this.finalStats = transportStats(final);
    this.closeEvent = {
      local: q.localError(),
      peer: q.peerError(),
      timedOut: q.isTimedOut(),
      handshakeFailed: this.tEstablished === null,
    };
    if (this.abortReason !== null && this.closeEvent.local === null) {
      this.closeEvent.local = { isApp: false, code: TRANSPORT_INTERNAL_ERROR, reason: this.abortReason };
    } else if (forced && this.closeEvent.local === null && this.closeEvent.peer === null) {
      this.closeEvent.local = { isApp: false, code: 0, reason: 'closed without draining' };
    }
    if (this.telemetry !== null) {
      void this.telemetry.close(final, this.closeEvent.local, this.closeEvent.peer, this.closeEvent.timedOut);
    }
    this.clearTimer();
    if (this.paceTimer !== null) clearTimeout(this.paceTimer);
    this.paceTimer = null;
    if (this.ackTimer !== null) clearTimeout(this.ackTimer);
    this.ackTimer = null;
    this.queues.clear();
    this.buckets.length = 0;
    this.priorities.clear();
    this.writableWaiters.clear();
    this.recvStreams.clear();
    this.ep.forget(this);
    try {
      this.handler.onClose?.(this.closeEvent);
    } finally {
      for (const w of this.closeWaiters.splice(0)) w();
    }
  }
}

/** The first value of a Map (the head of a round-robin turn). */
function firstValue<K, V>(m: Map<K, V>): V | undefined {
  for (const v of m.values()) return v;
  return undefined;
}

/** The counters a ConnectionRecord keeps, from quiche's stats. */
function transportStats(s: QuicStats): TransportStats {
  const t: TransportStats = {
    packetsSent: s.sent,
    packetsReceived: s.recv,
    packetsLost: s.lost,
    packetsRetransmitted: s.retrans,
    bytesSent: s.sentBytes,
    bytesReceived: s.recvBytes,
  };
  if (s.srttMs !== null) t.srttMs = s.srttMs;
  if (s.cwndBytes !== null) t.cwndBytes = s.cwndBytes;
  return t;
}
