/**
 * HTTP/3 engine (our HTTP/3 over our QUIC driver) client ↔ server in one process on loopback.
 * No root needed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyBody } from '../../harness/proto/handler.js';
import { createClient, createServer } from '../../harness/proto/h3/engine.js';
import { QuicClient } from '../../harness/proto/quic/client.js';
import type { QuicCloseEvent } from '../../harness/proto/quic/connection.js';
import type { ProtocolClient, ProtocolServer } from '../../harness/proto/types.js';
import type { RequestRecord } from '../../harness/model/records.js';
import { SERVER_NAME, generateTlsMaterial } from '../../harness/proto/tls.js';
import { parseScenario } from '../../harness/scenario/load.js';
import { newRequestRecord, runRequest } from '../../harness/workload/multiplex.js';

const tls = generateTlsMaterial();
const { transport } = parseScenario('name: t\nworkload: { type: multiplex }\n', 'inline.yaml');
const t0 = performance.now();
const now = () => performance.now() - t0;

/** First bad body offset per request id (-1 = all good so far), checked as the bytes arrive. */
const badOffset = new Map<number, number>();

function onBody(rec: RequestRecord, data: Uint8Array): void {
  if (rec.status !== 200 || (badOffset.get(rec.id) ?? -1) >= 0) return;
  badOffset.set(rec.id, verifyBody(rec.bytes - data.length, data));
}

async function fetchVerified(client: ProtocolClient, path: string, id: number, size: number) {
  const rec = newRequestRecord(id, now(), size);
  const headers = await client.get(path, rec, new AbortController().signal);
  return { rec, headers };
}

describe('h3 engine on loopback', () => {
  let server: ProtocolServer;
  let client: ProtocolClient;
  let port: number;

  beforeAll(async () => {
    server = createServer({
      host: '127.0.0.1',
      port: 0,
      certPem: tls.certPem,
      keyPem: tls.keyPem,
      transport,
    });
    port = await server.listen();
    client = createClient(
      { host: '127.0.0.1', port, serverName: SERVER_NAME, caPem: tls.caPem, transport, connections: 1, now },
      { onBody },
    );
  });
  afterAll(async () => {
    await client.close();
    await server.close();
  });

  it.each([0, 1, 100_000, 10_000_000])(
    'get(/bytes/%i) delivers the body byte-exact with a timeline',
    async (size) => {
      const { rec, headers } = await fetchVerified(client, `/bytes/${size}`, size % 1000, size);
      expect(rec.status).toBe(200);
      expect(rec.bytes).toBe(size);
      expect(badOffset.get(rec.id) ?? -1).toBe(-1);
      expect(headers['content-length']).toBe(String(size));
      expect(rec.chunks.reduce((a, [, n]) => a + n, 0)).toBe(size);
      const times = rec.chunks.map(([t]) => t);
      expect([...times].sort((a, b) => a - b)).toEqual(times);
      expect(rec.tHeaders).not.toBeNull();
      expect(rec.tEnd).toBeGreaterThanOrEqual(rec.tHeaders ?? Infinity);
      expect(rec.connection).toBe(0);
      expect(rec.stream).not.toBeNull();
    },
  );

  it('records the QUIC handshake, ALPN h3 and TLS 1.3 on one connection', () => {
    const conns = client.connections();
    expect(conns).toHaveLength(1);
    const c = conns[0];
    expect(c?.alpn).toBe('h3');
    expect(c?.tlsVersion).toBe('TLSv1.3');
    expect(c?.tTcpConnected).toBeNull();
    expect(c?.tHandshakeDone).toBeGreaterThanOrEqual(c?.tStart ?? Infinity);
    expect(c?.transport?.packetsReceived).toBeGreaterThan(0);
  });

  it('runs 50 concurrent streams on one connection', async () => {
    const recs = Array.from({ length: 50 }, (_, i) => newRequestRecord(1000 + i, now(), 200_000));
    await Promise.all(recs.map((r) => runRequest(client, '/bytes/200000', r, 30_000, now)));
    for (const r of recs) {
      expect(r.error).toBeNull();
      expect(r.bytes).toBe(200_000);
      expect(badOffset.get(r.id)).toBe(-1);
      expect(r.connection).toBe(0);
    }
    expect(new Set(recs.map((r) => r.stream)).size).toBe(50);
    expect(client.connections()).toHaveLength(1);
  });

  it('queues requests beyond the server stream limit (MAX_STREAMS) instead of failing them', async () => {
    const recs = Array.from({ length: 1200 }, (_, i) => newRequestRecord(5000 + i, now(), 10));
    await Promise.all(recs.map((r) => runRequest(client, '/bytes/10', r, 30_000, now)));
    expect(recs.filter((r) => r.error !== null)).toEqual([]);
    expect(client.connections()).toHaveLength(1);
  });

  it('answers 404 for an unknown path and 400 for a bad size, echoing X-Request-ID', async () => {
    const a = await fetchVerified(client, '/nope', 77, 0);
    expect(a.rec.status).toBe(404);
    expect(a.headers['x-request-id']).toBe('77');
    const b = await fetchVerified(client, '/bytes/abc', 78, 0);
    expect(b.rec.status).toBe(400);
    expect(b.headers['x-request-id']).toBe('78');
  });

  it('abort resets the stream and rejects; the connection keeps working', async () => {
    const rec = newRequestRecord(90, now(), 50_000_000);
    const ac = new AbortController();
    const p = client.get('/bytes/50000000', rec, ac.signal);
    setTimeout(() => {
      ac.abort(new Error('test abort'));
    }, 30);
    await expect(p).rejects.toThrow('test abort');
    expect(rec.tEnd).toBeNull();
    const after = await fetchVerified(client, '/bytes/1000', 91, 1000);
    expect(after.rec.bytes).toBe(1000);
  });

  it('survives malformed HTTP/3 from a peer: closes that connection with H3_FRAME_UNEXPECTED, serves others', async () => {
    const raw = new QuicClient({
      host: '127.0.0.1',
      port,
      serverName: SERVER_NAME,
      caPem: tls.caPem,
      transport,
      alpn: ['h3'],
      maxStreamsBidi: 10,
    });
    const closed = new Promise<QuicCloseEvent>((resolve) => {
      void raw.connect({
        onEstablished: () => {
          // A DATA frame (type 0, length 3) before any HEADERS on a request stream.
          raw.conn?.write(0, Uint8Array.of(0x00, 0x03, 1, 2, 3), true);
        },
        onClose: resolve,
      });
    });
    const ev = await closed;
    await raw.close(0);
    expect(ev.peer).toMatchObject({ isApp: true, code: 0x105 });
    const after = await fetchVerified(client, '/bytes/1000', 93, 1000);
    expect(after.rec.bytes).toBe(1000);
  });

  it('rejects quickly, with the connection error recorded, when no server listens', async () => {
    const probe = createClient({
      host: '127.0.0.1',
      port: 9,
      serverName: SERVER_NAME,
      caPem: tls.caPem,
      transport,
      connections: 1,
      now,
    });
    const rec = newRequestRecord(1, now(), 10);
    await expect(probe.get('/bytes/10', rec, new AbortController().signal)).rejects.toThrow(/ECONNREFUSED/);
    expect(probe.connections()[0]?.error).toMatch(/ECONNREFUSED/);
    expect(probe.connections()[0]?.tHandshakeDone).toBeNull();
    await probe.close();
  });

  it('settings() record ALPN, windows, congestion, pacing, socket buffers and UDP counters', () => {
    const s = client.settings();
    expect(s.alpn).toBe('h3');
    const q = s.quic as Record<string, unknown>;
    expect(q.maxUdpPayloadBytes).toBe(1472);
    expect(q.udpGso).toBe(false);
    expect((q.config as Record<string, unknown>).initialMaxData).toBe(transport.connectionWindowBytes);
    expect((q.config as Record<string, unknown>).congestion).toBe(transport.congestion);
    expect((q.socket as Record<string, unknown>).recvBufferBytes).toBeGreaterThan(0);
    expect(server.requestsServed()).toBeGreaterThan(50);
  });
});
