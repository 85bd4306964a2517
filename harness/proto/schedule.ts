/**
 * Response scheduling, the same for every multiplexing server (h2 and h3): one `ResponseScheduler`
 * per connection decides when each response's header section is written and which response's next
 * body chunk is handed to the transport (`server.scheduling`, scenarios/README.md):
 *
 * - `sequential`: each response's HEADERS and then its DATA, one response after another in request
 *   (stream id) order. RFC 9218 §4's default priority (urgency 3, incremental = false): "the server
 *   ... processes [non-incremental responses] one by one, in the order of their stream ids".
 * - `headers-first`: every response's HEADERS as soon as the response is ready, then the bodies one
 *   after another in request order.
 * - `round-robin`: HEADERS as soon as ready, bodies interleaved chunk by chunk (RFC 9218
 *   incremental = true).
 *
 * The order only holds on the wire if little is buffered below us, so a chunk is handed to the
 * transport only while fewer than `MAX_CHUNKS_AHEAD` of this connection's chunks are waiting to be
 * accepted (Node http2: the write callback, i.e. nghttp2 framed it and the socket write completed;
 * quiche: the stream's data is in quiche, which takes no more than its congestion window allows).
 * Sequential and headers-first switch to the next body only once every chunk of the previous one
 * was accepted, so a response never overtakes the end of the one before it inside the transport.
 * h1 needs none of this: it serves one response at a time per connection.
 */
import { SCENARIO_DEFAULTS, type SchedulingPolicy } from '../scenario/schema.js';
import { BODY_CHUNK_BYTES } from './handler.js';

/**
 * Body chunks of one connection handed to the transport and not yet accepted. Two: the transport
 * has the next chunk while the callback for the previous one travels up to us, and a new response's
 * HEADERS never wait behind more than 128 KiB of body queued above the TCP socket or beyond QUIC's
 * congestion window. A 10 MB body's goodput on loopback was the same with 1, 2 or 4 (within the
 * run-to-run spread) as with the unscheduled writers this replaced.
 */
export const MAX_CHUNKS_AHEAD = 2;

/** The policy when a server is given none (`h3bench serve`): the scenario's default. */
export const DEFAULT_SCHEDULING: SchedulingPolicy = SCENARIO_DEFAULTS.server.scheduling;

/**
 * The unit in which `round-robin` interleaves bodies, for HTTP/2 and HTTP/3 alike: HTTP/2's default
 * largest DATA frame (SETTINGS_MAX_FRAME_SIZE's initial value, RFC 9113 §6.5.2), the unit nghttp2
 * interleaves streams by. Left to itself quiche interleaves incremental streams packet by packet
 * (~1.2 KB), so "round robin" would mean a 13× finer interleave for h3 than for h2; the HTTP/3
 * server therefore keeps quiche non-incremental and this scheduler does the round robin for both.
 */
export const ROUND_ROBIN_CHUNK_BYTES = 16_384;

/** Bytes per body chunk handed to the transport under `policy`. */
export function chunkBytesOf(policy: SchedulingPolicy): number {
  return policy === 'round-robin' ? ROUND_ROBIN_CHUNK_BYTES : BODY_CHUNK_BYTES;
}

/** What the scheduler drives: one connection's transport, for the responses it was given. */
export interface ScheduleSink<T> {
  /** Write the response's header section; `fin` when it has no body. Throws if the stream is gone. */
  headers(r: T, fin: boolean): void;
  /**
   * Hand body bytes [offset, offset + length) to the transport, ending the stream if `fin`; call
   * `accepted` once the transport has taken them. Throws if the stream is gone.
   */
  chunk(r: T, offset: number, length: number, fin: boolean, accepted: () => void): void;
  /** The scheduler is done with the response (all sent and accepted, or the stream is gone). */
  finished?(r: T): void;
}

interface Entry<T> {
  id: number;
  response: T;
  bodyBytes: number;
  /** Body bytes handed to the transport. */
  offset: number;
  headersSent: boolean;
  /** Chunks handed and not yet accepted. */
  pending: number;
  gone: boolean;
}

/** The scheduling facts a server records in its settings(). */
export function schedulingSettings(policy: SchedulingPolicy, enforcement: string) {
  return {
    policy,
    enforcedBy: `application scheduler per connection (harness/proto/schedule.ts): ${enforcement}`,
    maxChunksAhead: MAX_CHUNKS_AHEAD,
    chunkBytes: chunkBytesOf(policy),
  };
}

export class ResponseScheduler<T> {
  readonly policy: SchedulingPolicy;
  private readonly sink: ScheduleSink<T>;
  /** Responses with something left to send or to be accepted, in request order (see add). */
  private readonly queue: Entry<T>[] = [];
  private readonly byId = new Map<number, Entry<T>>();
  /** Chunks handed to the transport and not yet accepted, all responses. */
  private pendingChunks = 0;
  /** Round robin: index in `queue` of the next response to send a chunk of (modulo its length). */
  private turn = 0;
  private pumping = false;

  constructor(policy: SchedulingPolicy, sink: ScheduleSink<T>) {
    this.policy = policy;
    this.sink = sink;
  }

  /** Responses not finished yet (for tests and leak checks). */
  get active(): number {
    return this.queue.length;
  }

  /**
   * A response is ready on stream `id`. It queues in stream id order, but never ahead of a response
   * whose body has begun (a request that arrived late, e.g. after a loss, does not preempt).
   */
  add(id: number, response: T, bodyBytes: number): void {
    const e: Entry<T> = { id, response, bodyBytes, offset: 0, headersSent: false, pending: 0, gone: false };
    let at = this.queue.length;
    while (at > 0) {
      const prev = this.queue[at - 1];
      const begun =
        prev !== undefined && (prev.offset > 0 || (this.policy === 'sequential' && prev.headersSent));
      if (prev === undefined || prev.id < id || begun) break;
      at--;
    }
    this.queue.splice(at, 0, e);
    if (at < this.turn) this.turn++;
    this.byId.set(id, e);
    if (this.policy !== 'sequential') this.sendHeaders(e);
    this.pump();
  }

  /** The stream is gone (reset, stopped, closed): forget it, free its share of chunks ahead. */
  cancel(id: number): void {
    const e = this.byId.get(id);
    if (e !== undefined) this.remove(e);
    this.pump();
  }

  /** The connection is gone. */
  clear(): void {
    for (const e of this.queue) e.gone = true;
    this.queue.length = 0;
    this.byId.clear();
    this.pendingChunks = 0;
  }

  private remove(e: Entry<T>): void {
    if (e.gone) return;
    e.gone = true;
    this.pendingChunks -= e.pending;
    e.pending = 0;
    this.byId.delete(e.id);
    const i = this.queue.indexOf(e);
    if (i >= 0) {
      this.queue.splice(i, 1);
      if (i < this.turn) this.turn--;
    }
    this.sink.finished?.(e.response);
  }

  /** Send the response's headers if not done yet; false if the response is finished or gone. */
  private sendHeaders(e: Entry<T>): boolean {
    if (e.gone) return false;
    if (e.headersSent) return true;
    e.headersSent = true;
    try {
      this.sink.headers(e.response, e.bodyBytes === 0);
    } catch {
      this.remove(e);
      return false;
    }
    if (e.bodyBytes > 0) return true;
    this.remove(e);
    return false;
  }

  private done(e: Entry<T>): boolean {
    return e.headersSent && e.offset >= e.bodyBytes && e.pending === 0;
  }

  /** The response whose next chunk goes out now, or undefined to wait. */
  private pick(): Entry<T> | undefined {
    if (this.policy !== 'round-robin') {
      // One body at a time, the next one only when the previous one is all accepted.
      for (;;) {
        const head = this.queue[0];
        if (head === undefined) return undefined;
        if (head.gone || this.done(head)) {
          this.remove(head);
          continue;
        }
        if (!this.sendHeaders(head)) continue;
        return head.offset < head.bodyBytes ? head : undefined;
      }
    }
    const n = this.queue.length;
    for (let k = 0; k < n; k++) {
      const i = (this.turn + k) % n;
      const e = this.queue[i];
      if (e !== undefined && e.offset < e.bodyBytes) {
        this.turn = i + 1;
        return e;
      }
    }
    return undefined;
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.pendingChunks < MAX_CHUNKS_AHEAD) {
        const e = this.pick();
        if (e === undefined) break;
        const offset = e.offset;
        const length = Math.min(chunkBytesOf(this.policy), e.bodyBytes - offset);
        e.offset += length;
        e.pending++;
        this.pendingChunks++;
        let once = false;
        const accepted = (): void => {
          if (once) return;
          once = true;
          this.onAccepted(e);
        };
        try {
          this.sink.chunk(e.response, offset, length, e.offset >= e.bodyBytes, accepted);
        } catch {
          this.remove(e);
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  private onAccepted(e: Entry<T>): void {
    if (e.gone) return;
    e.pending--;
    this.pendingChunks--;
    if (this.done(e)) this.remove(e);
    this.pump();
  }
}
