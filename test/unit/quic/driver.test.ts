/**
 * The QUIC driver with a client and a server endpoint on loopback in one process, raw streams (no
 * HTTP/3): transfers byte-exact, many streams, resets, close, idle timeout, junk datagrams, retry,
 * version negotiation. Loopback UDP only; no root needed.
 */
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { PacketType, parseHeader } from '../../../harness/proto/quic/binding.js';
import { QuicClient } from '../../../harness/proto/quic/client.js';
import type { QuicCloseEvent, QuicConn, QuicConnHandler } from '../../../harness/proto/quic/connection.js';
import { QuicServer } from '../../../harness/proto/quic/server.js';
import { BODY_CHUNK_BYTES, bodySlice, verifyBody } from '../../../harness/proto/handler.js';
import { SERVER_NAME, generateTlsMaterial } from '../../../harness/proto/tls.js';
import type { Transport } from '../../../harness/scenario/schema.js';

const tls = generateTlsMaterial();
const transport: Transport = {
  congestion: 'cubic',
  streamWindowBytes: 4_000_000,
  connectionWindowBytes: 8_000_000,
  hystart: true,
  pacing: false,
};

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * A server whose streams answer a request "N" (ASCII, fin) with N pattern bytes (handler.ts
 * content), written with backpressure.
 */
async function startServer(
  extra: Partial<ConstructorParameters<typeof QuicServer>[0]> = {},
  hooks: Partial<QuicConnHandler> = {},
) {
  const serverConns: QuicConn[] = [];
  const server = new QuicServer(
    {
      host: '127.0.0.1',
      port: 0,
      certPem: tls.certPem,
      keyPem: tls.keyPem,
      transport,
      alpn: ['h3'],
      maxStreamsBidi: 1000,
      ...extra,
    },
    (conn) => {
      serverConns.push(conn);
      const want = new Map<number, { total: number; off: number }>();
      const requests = new Map<number, string>();
      const pump = (id: number) => {
        const w = want.get(id);
        if (w === undefined) return;
        while (w.off < w.total) {
          const n = Math.min(BODY_CHUNK_BYTES, w.total - w.off);
          const data = bodySlice(w.off, n);
          w.off += n;
          if (!conn.write(id, data, w.off === w.total)) {
            conn.wantWritable(id);
            return;
          }
        }
        want.delete(id);
      };
      conn.setHandler({
        onStreamData: (id, data, fin) => {
          requests.set(id, (requests.get(id) ?? '') + Buffer.from(data).toString());
          if (!fin) return;
          const total = Number(requests.get(id));
          requests.delete(id);
          if (total === 0) conn.write(id, new Uint8Array(0), true);
          else {
            want.set(id, { total, off: 0 });
            pump(id);
          }
        },
        onStreamWritable: pump,
        ...hooks,
      });
    },
  );
  const port = await server.listen();
  cleanups.push(() => server.close(0));
  return { server, port, serverConns };
}

interface Received {
  bytes: number;
  bad: number;
  fin: boolean;
}

/** A client connection that records, per stream, bytes received and the first bad offset. */
async function startClient(port: number, extra: Partial<ConstructorParameters<typeof QuicClient>[0]> = {}) {
  const client = new QuicClient({
    host: '127.0.0.1',
    port,
    serverName: SERVER_NAME,
    caPem: tls.caPem,
    transport,
    alpn: ['h3'],
    maxStreamsBidi: 1000,
    ...extra,
  });
  const streams = new Map<number, Received>();
  const waiters = new Map<number, () => void>();
  let established!: () => void;
  let closed!: (ev: QuicCloseEvent) => void;
  const ready = new Promise<void>((r) => (established = r));
  const closedP = new Promise<QuicCloseEvent>((r) => (closed = r));
  const resets = new Map<number, number>();
  const conn = await client.connect({
    onEstablished: () => {
      established();
    },
    onStreamData: (id, data, fin) => {
      const s = streams.get(id) ?? { bytes: 0, bad: -1, fin: false };
      streams.set(id, s);
      if (s.bad < 0) s.bad = verifyBody(s.bytes, data);
      s.bytes += data.length;
      if (fin) {
        s.fin = true;
        waiters.get(id)?.();
      }
    },
    onStreamReset: (id, code) => {
      resets.set(id, code);
      waiters.get(id)?.();
    },
    onClose: (ev) => {
      closed(ev);
    },
  });
  cleanups.push(() => client.close(0));
  /** Ask for `n` bytes on a new stream; resolves with what arrived. */
  const fetch = (n: number): Promise<Received> => {
    const id = conn.openBidi();
    const done = new Promise<void>((r) => waiters.set(id, r));
    conn.write(id, Buffer.from(String(n)), true);
    return done.then(() => streams.get(id) ?? { bytes: 0, bad: -1, fin: false });
  };
  return { client, conn, ready, closed: closedP, fetch, resets };
}

describe('QuicServer / QuicClient on loopback', () => {
  it('handshakes and records the connection', async () => {
    const { port } = await startServer();
    const c = await startClient(port);
    await c.ready;
    expect(c.conn.established).toBe(true);
    expect(c.conn.alpn()).toBe('h3');
    expect(c.conn.tEstablished).toBeGreaterThanOrEqual(c.conn.tStart);
  });

  it('transfers 20 MB on one stream byte-exact', async () => {
    const { port } = await startServer();
    const c = await startClient(port);
    await c.ready;
    const r = await c.fetch(20_000_000);
    expect(r).toEqual({ bytes: 20_000_000, bad: -1, fin: true });
    const st = c.conn.stats();
    expect(st.packetsReceived).toBeGreaterThan(20_000_000 / 1472);
    expect(st.bytesReceived).toBeGreaterThan(20_000_000);
    // Delayed ACK: at most one ACK per two datagrams received.
    expect(st.packetsSent).toBeLessThan((st.packetsReceived ?? 0) / 2 + 10);
  });

  it('runs 300 concurrent streams, each byte-exact', async () => {
    const { port } = await startServer();
    const c = await startClient(port);
    await c.ready;
    const results = await Promise.all(Array.from({ length: 300 }, (_, i) => c.fetch(1000 + i * 97)));
    results.forEach((r, i) => {
      expect(r).toEqual({ bytes: 1000 + i * 97, bad: -1, fin: true });
    });
  });

  it('delivers an empty stream with fin', async () => {
    const { port } = await startServer();
    const c = await startClient(port);
    await c.ready;
    expect(await c.fetch(0)).toEqual({ bytes: 0, bad: -1, fin: true });
  });

  it('stopSending stops the peer writer (onStreamStopped) and resetStream reaches the peer (onStreamReset)', async () => {
    const serverResets = new Map<number, number>();
    const stopped = new Map<number, number>();
    const { port } = await startServer(
      {},
      {
        onStreamReset: (id, code) => serverResets.set(id, code),
        onStreamStopped: (id, code) => stopped.set(id, code),
      },
    );
    const c = await startClient(port);
    await c.ready;
    const id = c.conn.openBidi();
    c.conn.write(id, Buffer.from('50000000'), true);
    await new Promise((r) => setTimeout(r, 50));
    c.conn.stopSending(id, 0x10c);
    await new Promise((r) => setTimeout(r, 100));
    expect(stopped.get(id)).toBe(0x10c);
    // We stopped reading that stream, so the server's answering RESET_STREAM is not reported.
    expect(c.resets.has(id)).toBe(false);

    const id2 = c.conn.openBidi();
    c.conn.write(id2, Buffer.from('1'), false);
    c.conn.resetStream(id2, 0x10d);
    await new Promise((r) => setTimeout(r, 100));
    expect(serverResets.get(id2)).toBe(0x10d);
    // The connection is still usable.
    expect(await c.fetch(10_000)).toEqual({ bytes: 10_000, bad: -1, fin: true });
  });

  // Retried: with both CPUs starved (the unit suite in parallel, or two busy loops), about 1 run in
  // 20 ends its handshake with neither side able to decrypt the other's later packets (quiche
  // counts 2-3 packets received while 10-270 datagrams reached each socket), so the close never
  // arrives. It happens with the driver of before this change too; left open, see CHANGELOG.
  it(
    'close() sends CONNECTION_CLOSE: the server sees the code and forgets the connection',
    { retry: 2 },
    async () => {
      let serverClose: QuicCloseEvent | null = null;
      const { server, port } = await startServer({}, { onClose: (ev) => (serverClose = ev) });
      const c = await startClient(port);
      await c.ready;
      expect(server.connections()).toHaveLength(1);
      await c.client.close(0x100, 'done');
      const ev = await c.closed;
      expect(ev.local).toEqual({ isApp: true, code: 0x100, reason: 'done' });
      // The server's draining period (3 PTOs) ends on its own timer: wait for it, not a fixed 200 ms
      // (a loaded machine ran past that).
      const seen = (): boolean => serverClose !== null;
      for (let waited = 0; !seen() && waited < 5000; waited += 20) {
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(serverClose).toMatchObject({
        peer: { isApp: true, code: 0x100, reason: 'done' },
        timedOut: false,
      });
      expect(server.connections()).toHaveLength(0);
    },
  );

  it('closes a client closed before the handshake is confirmed, with a PTO probe due (quiche would send forever)', async () => {
    const serverCloses: QuicCloseEvent[] = [];
    const { port } = await startServer({}, { onClose: (ev) => serverCloses.push(ev) });
    const c = await startClient(port);
    await c.ready;
    // Established, the client's Finished sent, HANDSHAKE_DONE not read yet (nothing is read while
    // this runs): wait out the PTO, fire it as the driver's timer would, and close at once.
    const t0 = performance.now();
    let t = c.conn.quic.timeout();
    while (t !== null && t > 0 && performance.now() - t0 < 5000) t = c.conn.quic.timeout();
    expect(t).toBe(0);
    c.conn.quic.onTimeout();
    const before = c.client.datagramsOut;
    await c.client.close(0x100);
    const ev = await c.closed;
    expect(ev.local).toMatchObject({ isApp: true, code: 0x100 });
    // Bounded (16 per flush, 4096 in all); before the bound this loop never returned. The server may
    // not see this close: quiche sends it in Handshake packets the server, confirmed, cannot read.
    expect(c.client.datagramsOut - before).toBeLessThan(4096);
    expect(serverCloses.every((e) => e.peer?.code === 0x100)).toBe(true);
  });

  it('closes both ends when the idle timeout expires', async () => {
    const { server, port } = await startServer({ idleTimeoutMs: 300 });
    const c = await startClient(port, { idleTimeoutMs: 300 });
    await c.ready;
    const ev = await c.closed;
    expect(ev.timedOut).toBe(true);
    expect(ev.handshakeFailed).toBe(false);
    await new Promise((r) => setTimeout(r, 200));
    expect(server.connections()).toHaveLength(0);
  });

  it('reports a failed handshake (wrong CA) through onClose', async () => {
    const { port } = await startServer();
    const c = await startClient(port, { caPem: generateTlsMaterial().caPem });
    const ev = await c.closed;
    expect(ev.handshakeFailed).toBe(true);
    expect(ev.local?.isApp).toBe(false);
  });

  it('fails the handshake at once when nothing listens on the port (ICMP unreachable)', async () => {
    const probe = dgram.createSocket('udp4');
    const port = await new Promise<number>((r) =>
      probe.bind(0, '127.0.0.1', () => {
        r(probe.address().port);
      }),
    );
    await new Promise<void>((r) =>
      probe.close(() => {
        r();
      }),
    );
    const t = performance.now();
    const c = await startClient(port);
    const ev = await c.closed;
    expect(performance.now() - t).toBeLessThan(1000);
    expect(ev.handshakeFailed).toBe(true);
    expect(ev.local?.reason).toMatch(/^ECONNREFUSED/);
  });

  it('ignores junk datagrams and keeps serving', async () => {
    const { server, port } = await startServer();
    const sock = dgram.createSocket('udp4');
    cleanups.push(
      () =>
        new Promise((r) =>
          sock.close(() => {
            r();
          }),
        ),
    );
    const junk = [
      Buffer.alloc(0),
      Buffer.from([0x40]),
      Buffer.alloc(100, 0x41), // short header, unknown connection id
      Buffer.from([0xc0, 0, 0, 0, 1, 30]), // long header cut short
      Buffer.concat([Buffer.from([0xc0, 0, 0, 0, 1, 8]), Buffer.alloc(200, 7)]), // Initial below 1200 bytes
      Buffer.alloc(1300, 0xff),
    ];
    for (const j of junk) sock.send(j, port, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 100));
    expect(server.badDatagrams).toBeGreaterThanOrEqual(4);
    const c = await startClient(port);
    await c.ready;
    expect(await c.fetch(5000)).toEqual({ bytes: 5000, bad: -1, fin: true });
  });

  it('answers an unknown version with version negotiation', async () => {
    const { port } = await startServer();
    const sock = dgram.createSocket('udp4');
    cleanups.push(
      () =>
        new Promise((r) =>
          sock.close(() => {
            r();
          }),
        ),
    );
    const got = new Promise<Buffer>((r) => sock.once('message', r));
    const pkt = Buffer.alloc(1200);
    // Long header, version 0x1a2a3a4a, DCID len 8, SCID len 8.
    Buffer.from([0xc0, 0x1a, 0x2a, 0x3a, 0x4a, 8, 1, 2, 3, 4, 5, 6, 7, 8, 8, 9, 9, 9, 9, 9, 9, 9, 9]).copy(
      pkt,
    );
    sock.send(pkt, port, '127.0.0.1');
    const vn = await got;
    expect(parseHeader(vn, 8)?.type).toBe(PacketType.VersionNegotiation);
  });

  it('works with stateless retry on', async () => {
    const { server, port } = await startServer({ retry: true });
    const c = await startClient(port);
    await c.ready;
    expect(await c.fetch(100_000)).toEqual({ bytes: 100_000, bad: -1, fin: true });
    expect(server.settings().retry).toBe(true);
  });

  it('paces when transport.pacing is on, and records settings', async () => {
    const paced = { ...transport, pacing: true };
    const { server, port } = await startServer({ transport: paced });
    const c = await startClient(port, { transport: paced });
    await c.ready;
    expect(await c.fetch(2_000_000)).toEqual({ bytes: 2_000_000, bad: -1, fin: true });
    const s = c.client.settings();
    expect(s.pacing).toMatchObject({ mode: 'driver', quichePacing: false });
    expect(s.maxUdpPayloadBytes).toBe(1472);
    expect(s.udpGso).toBe(false);
    expect((s.config as Record<string, unknown>).initialMaxStreamsBidi).toBe(1000);
    expect((s.socket as Record<string, unknown>).recvBufferBytes).toBeGreaterThan(0);
    expect(server.settings().pacing).toMatchObject({ mode: 'driver' });
  });
});
