/**
 * In-memory QUIC stand-in for H3Connection tests (aioquic `FakeQuicConnection`, quinn `Pair`):
 * a FakeSink records what a connection asks of the transport, and a Pair delivers each side's
 * stream writes to the other side, whole or one byte at a time.
 */
import {
  H3Connection,
  type H3ConnectionOptions,
  type H3Role,
  type QuicStreamSink,
} from '../../../harness/proto/h3/connection.js';
import type { H3Event } from '../../../harness/proto/h3/events.js';

export type SinkAction =
  | { op: 'data'; streamId: number; data: Uint8Array; fin: boolean }
  | { op: 'reset'; streamId: number; code: number }
  | { op: 'stopSending'; streamId: number; code: number };

export class FakeSink implements QuicStreamSink {
  /** Everything asked of the transport, in order; `pending` is what the pair has not delivered yet. */
  readonly log: SinkAction[] = [];
  pending: SinkAction[] = [];
  closed: { code: number; reason: string } | undefined;
  closeCalls = 0;
  private nextBidi: number;
  private nextUni: number;

  constructor(role: H3Role) {
    this.nextBidi = role === 'client' ? 0 : 1;
    this.nextUni = role === 'client' ? 2 : 3;
  }

  sendStreamData(streamId: number, data: Uint8Array, fin: boolean): void {
    const action: SinkAction = { op: 'data', streamId, data, fin };
    this.log.push(action);
    this.pending.push(action);
  }
  openUniStream(): number {
    const id = this.nextUni;
    this.nextUni += 4;
    return id;
  }
  openBidiStream(): number {
    const id = this.nextBidi;
    this.nextBidi += 4;
    return id;
  }
  resetStream(streamId: number, code: number): void {
    const action: SinkAction = { op: 'reset', streamId, code };
    this.log.push(action);
    this.pending.push(action);
  }
  stopSending(streamId: number, code: number): void {
    this.log.push({ op: 'stopSending', streamId, code });
  }
  closeConnection(code: number, reason: string): void {
    this.closeCalls++;
    this.closed = { code, reason };
  }

  /** Bytes written to `streamId`, concatenated. */
  written(streamId: number): Uint8Array {
    const parts = this.log.filter(
      (a): a is Extract<SinkAction, { op: 'data' }> => a.op === 'data' && a.streamId === streamId,
    );
    return concat(parts.map((p) => p.data));
  }
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export function hex(text: string): Uint8Array {
  return Uint8Array.from(Buffer.from(text.replace(/\s+/g, ''), 'hex'));
}

/** Delivers `action` to `conn`, optionally one byte per call; copies data views the caller keeps. */
function deliver(conn: H3Connection, action: SinkAction, byteByByte: boolean, events: H3Event[]): void {
  if (action.op === 'reset') {
    events.push(...conn.handleStreamReset(action.streamId, action.code));
    return;
  }
  if (action.op !== 'data') return;
  const { streamId, data, fin } = action;
  const keep = (evs: H3Event[]): void => {
    // DataReceived views are only valid during the call: keep copies.
    for (const e of evs) events.push(e.type === 'DataReceived' ? { ...e, data: e.data.slice() } : e);
  };
  if (!byteByByte || data.length <= 1) {
    keep(conn.handleStreamData(streamId, data, fin));
    return;
  }
  for (let i = 0; i < data.length; i++) {
    keep(conn.handleStreamData(streamId, data.subarray(i, i + 1), fin && i === data.length - 1));
  }
}

export class Pair {
  readonly clientSink = new FakeSink('client');
  readonly serverSink = new FakeSink('server');
  readonly client: H3Connection;
  readonly server: H3Connection;
  readonly clientEvents: H3Event[] = [];
  readonly serverEvents: H3Event[] = [];

  constructor(
    options: {
      byteByByte?: boolean;
      client?: Partial<H3ConnectionOptions>;
      server?: Partial<H3ConnectionOptions>;
    } = {},
  ) {
    this.byteByByte = options.byteByByte ?? false;
    this.client = new H3Connection(this.clientSink, { ...options.client, role: 'client' });
    this.server = new H3Connection(this.serverSink, { ...options.server, role: 'server' });
  }

  private readonly byteByByte: boolean;

  /** Delivers everything pending in both directions until both queues are empty. */
  pump(): void {
    for (let round = 0; round < 100; round++) {
      const toServer = this.clientSink.pending;
      const toClient = this.serverSink.pending;
      if (toServer.length === 0 && toClient.length === 0) return;
      this.clientSink.pending = [];
      this.serverSink.pending = [];
      for (const a of toServer) deliver(this.server, a, this.byteByByte, this.serverEvents);
      for (const a of toClient) deliver(this.client, a, this.byteByByte, this.clientEvents);
    }
    throw new Error('Pair.pump did not settle in 100 rounds');
  }

  /** Initializes both sides and exchanges SETTINGS. */
  connect(): this {
    this.client.initialize();
    this.server.initialize();
    this.pump();
    return this;
  }
}

/** Concatenated DataReceived bytes for `streamId`. */
export function bodyOf(events: readonly H3Event[], streamId: number): Uint8Array {
  return concat(
    events.flatMap((e) => (e.type === 'DataReceived' && e.streamId === streamId ? [e.data] : [])),
  );
}
