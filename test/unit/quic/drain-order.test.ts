/**
 * The order in which the driver feeds its per-stream write queues to quiche (connection.ts,
 * drainQueues): the order quiche serves streams in (RFC 9218 §4 semantics), by the priority set
 * with `setPriority`, not the order the queues were created in. A fake quiche connection takes at
 * most `budget` bytes per flush (as quiche takes no more than its congestion window and flow
 * control allow) and logs what it took.
 */
import { describe, expect, it } from 'vitest';
import type { QuicConnection } from '../../../harness/proto/quic/binding.js';
import {
  QuicConn,
  ROUND_ROBIN_TURN_BYTES,
  type ConnEndpoint,
} from '../../../harness/proto/quic/connection.js';

interface Taken {
  id: number;
  n: number;
}

/** The part of quiche's connection a flush uses; streamSend takes what `budget` allows. */
class FakeQuiche {
  budget = 0;
  readonly taken: Taken[] = [];
  readonly priorities = new Map<number, [number, boolean]>();

  /** Streams quiche was asked to open (any streamSend opens its stream). */
  readonly opened = new Set<number>();

  streamSend(id: number, data: Uint8Array, _fin: boolean): number | null {
    this.opened.add(id);
    if (data.length > 0 && this.budget === 0) return null;
    const n = Math.min(this.budget, data.length);
    if (n === 0) return 0;
    this.budget -= n;
    const last = this.taken.at(-1);
    if (last !== undefined && last.id === id) last.n += n;
    else this.taken.push({ id, n });
    return n;
  }
  streamPriority(id: number, urgency: number, incremental: boolean): void {
    this.priorities.set(id, [urgency, incremental]);
  }
  isEstablished(): boolean {
    return true;
  }
  isReadable(): boolean {
    return false;
  }
  isDraining(): boolean {
    return false;
  }
  isClosed(): boolean {
    return false;
  }
  send(): number {
    return 0;
  }
  timeout(): number | null {
    return null;
  }
}

function setup() {
  const fake = new FakeQuiche();
  const ep: ConnEndpoint = {
    maxUdpPayloadBytes: 1350,
    pacing: 'none',
    sendBuf: Buffer.alloc(1500),
    streamBuf: Buffer.alloc(65536),
    badDatagrams: 0,
    markDirty: () => undefined,
    transmit: () => undefined,
    forget: () => undefined,
  };
  const conn = new QuicConn(
    ep,
    fake as unknown as QuicConnection,
    false,
    { host: '127.0.0.1', port: 1 },
    { host: '127.0.0.1', port: 2 },
  );
  /** One flush with room for `budget` bytes; returns what quiche took, in order. */
  const flush = (budget: number): Taken[] => {
    fake.budget = budget;
    fake.taken.length = 0;
    conn.process();
    return fake.taken.splice(0);
  };
  flush(0); // the handshake is "complete": the first flush only notes it
  return { conn, fake, flush };
}

const bytes = (n: number) => new Uint8Array(n);

describe('QuicConn drain order', () => {
  it("a later stream's urgency-2 HEADERS go before an earlier stream's queued urgency-3 body", () => {
    const { conn, flush } = setup();
    // Stream 1's body is queued (quiche has no room), then stream 5's HEADERS arrive.
    conn.setPriority(1, 3, false);
    conn.write(1, bytes(100_000), false);
    conn.setPriority(5, 2, false);
    conn.write(5, bytes(50), false);
    expect(conn.buffered(5)).toBe(50);
    // Room for 1,000 bytes: the HEADERS first, then the body with what is left.
    expect(flush(1_000)).toEqual([
      { id: 5, n: 50 },
      { id: 1, n: 950 },
    ]);
    expect(conn.buffered(5)).toBe(0);
    expect(conn.buffered(1)).toBe(99_050);
  });

  it('a write does not go straight into quiche ahead of a queued more urgent stream', () => {
    const { conn, fake, flush } = setup();
    conn.setPriority(5, 2, false);
    conn.write(5, bytes(50), false); // queued: no room
    conn.setPriority(1, 3, false);
    fake.budget = 10_000; // room opened (ACKs), before the flush that drains the queues
    conn.write(1, bytes(5_000), false);
    expect(fake.taken).toEqual([]);
    // ...but quiche opened the stream (the peer's stream limit counts it now).
    expect(fake.opened.has(1)).toBe(true);
    expect(flush(10_000)).toEqual([
      { id: 5, n: 50 },
      { id: 1, n: 5_000 },
    ]);
  });

  it('non-incremental streams of one urgency go one after another by stream id', () => {
    const { conn, flush } = setup();
    for (const id of [9, 1, 5]) {
      conn.setPriority(id, 3, false);
      conn.write(id, bytes(3_000), false);
    }
    expect(flush(1_000)).toEqual([{ id: 1, n: 1_000 }]);
    expect(flush(4_000)).toEqual([
      { id: 1, n: 2_000 },
      { id: 5, n: 2_000 },
    ]);
    expect(flush(10_000)).toEqual([
      { id: 5, n: 1_000 },
      { id: 9, n: 3_000 },
    ]);
  });

  it('incremental streams of one urgency alternate, turn by turn', () => {
    const { conn, flush } = setup();
    const turn = ROUND_ROBIN_TURN_BYTES;
    for (const id of [1, 5, 9]) {
      conn.setPriority(id, 3, true);
      for (let k = 0; k < 3; k++) conn.write(id, bytes(turn), k === 2);
    }
    // The three queued while quiche had no room; now room for six turns.
    expect(flush(6 * turn).map((t) => t.id)).toEqual([1, 5, 9, 1, 5, 9]);
    expect(flush(3 * turn).map((t) => t.id)).toEqual([1, 5, 9]);
  });

  it('non-incremental before incremental within an urgency, and a changed priority moves a queued stream', () => {
    const { conn, flush } = setup();
    conn.setPriority(1, 3, true);
    conn.write(1, bytes(1_000), false);
    conn.setPriority(5, 3, false);
    conn.write(5, bytes(1_000), false);
    conn.write(9, bytes(1_000), false); // quiche's default: urgency 127, incremental
    conn.setPriority(9, 0, false); // now the most urgent
    expect(flush(100_000)).toEqual([
      { id: 9, n: 1_000 },
      { id: 5, n: 1_000 },
      { id: 1, n: 1_000 },
    ]);
  });
});
