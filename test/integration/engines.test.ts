/**
 * HTTP/1.1 and HTTP/2 engines against each other on loopback, in one process (no root needed).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyBody } from '../../harness/proto/handler.js';
import type { ProtocolClient, ProtocolServer } from '../../harness/proto/types.js';
import { createClient, createServer } from '../../harness/proto/session.js';
import { SERVER_NAME, generateTlsMaterial } from '../../harness/proto/tls.js';
import { parseScenario } from '../../harness/scenario/load.js';
import { newRequestRecord, runMultiplex, runRequest } from '../../harness/workload/multiplex.js';

const tls = generateTlsMaterial();
const { transport } = parseScenario('name: t\nworkload: { type: multiplex }\n', 'inline.yaml');
const t0 = performance.now();
const now = () => performance.now() - t0;

describe.each(['h1', 'h2'] as const)('%s engine on loopback', (protocol) => {
  let server: ProtocolServer;
  let client: ProtocolClient;
  let port: number;

  beforeAll(async () => {
    server = await createServer(protocol, {
      host: '127.0.0.1',
      port: 0,
      certPem: tls.certPem,
      keyPem: tls.keyPem,
      transport,
    });
    port = await server.listen();
    client = await createClient(protocol, {
      host: '127.0.0.1',
      port,
      serverName: SERVER_NAME,
      caPem: tls.caPem,
      transport,
      connections: 4,
      now,
    });
  });
  afterAll(async () => {
    await client.close();
    await server.close();
  });

  it('fetches a body byte-exact with a delivery timeline and an echoed request id', async () => {
    const rec = newRequestRecord(41, now(), 3_000_000);
    const ac = new AbortController();
    const received: Buffer[] = [];
    const headers = await client.get('/bytes/3000000', rec, ac.signal);
    expect(rec.status).toBe(200);
    expect(rec.bytes).toBe(3_000_000);
    expect(headers['x-request-id']).toBe('41');
    expect(headers['content-length']).toBe('3000000');
    expect(rec.chunks.reduce((a, [, n]) => a + n, 0)).toBe(3_000_000);
    const times = rec.chunks.map(([t]) => t);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(rec.tHeaders).not.toBeNull();
    expect(rec.tEnd).toBeGreaterThanOrEqual(rec.tHeaders ?? Infinity);
    expect(received).toHaveLength(0);
  });

  it('records connection setup phases with TLS 1.3 and the right ALPN', () => {
    const c = client.connections()[0];
    expect(c).toBeDefined();
    expect(c?.tlsVersion).toBe('TLSv1.3');
    expect(c?.alpn).toBe(protocol === 'h1' ? 'http/1.1' : 'h2');
    expect(c?.tTcpConnected).toBeGreaterThanOrEqual(c?.tStart ?? Infinity);
    expect(c?.tHandshakeDone).toBeGreaterThanOrEqual(c?.tTcpConnected ?? Infinity);
  });

  it('runs the multiplex workload with no failures and the expected connection use', async () => {
    const recs = await runMultiplex(
      client,
      {
        type: 'multiplex',
        requests: 60,
        sizeBytes: 50_000,
        concurrency: 12,
        connections: 4,
        timeoutMs: 10_000,
        allowedFailures: 0,
      },
      now,
    );
    expect(recs).toHaveLength(60);
    expect(recs.filter((r) => r.error !== null)).toEqual([]);
    const conns = new Set(recs.map((r) => r.connection));
    if (protocol === 'h1') {
      expect(conns.size).toBe(4);
      expect(recs.every((r) => r.stream === null)).toBe(true);
    } else {
      expect(conns.size).toBe(1);
      expect(new Set(recs.map((r) => r.stream)).size).toBe(60);
    }
  });

  it('reports 404 and 400 as failed requests with the status', async () => {
    const a = newRequestRecord(1, now(), 10);
    await runRequest(client, '/nope', a, 5000, now);
    expect(a.status).toBe(404);
    expect(a.error).toBe('HTTP status 404');
    const b = newRequestRecord(2, now(), 10);
    await runRequest(client, '/bytes/xyz', b, 5000, now);
    expect(b.status).toBe(400);
  });

  it('times out a request and records it as failed', async () => {
    const rec = newRequestRecord(3, now(), 200_000_000);
    await runRequest(client, '/bytes/200000000', rec, 30, now);
    expect(rec.timedOut).toBe(true);
    expect(rec.error).toMatch(/timed out after 30 ms/);
    expect(rec.bytes).toBeLessThan(200_000_000);
  });

  it('counts requests served', () => {
    expect(server.requestsServed()).toBeGreaterThanOrEqual(63);
  });
});

describe('body content over the wire', () => {
  it('is the deterministic pattern (h2)', async () => {
    const { default: http2 } = await import('node:http2');
    const server = await createServer('h2', {
      host: '127.0.0.1',
      port: 0,
      certPem: tls.certPem,
      keyPem: tls.keyPem,
      transport,
    });
    const port = await server.listen();
    const session = http2.connect(`https://127.0.0.1:${port}`, {
      ca: tls.caPem,
      servername: SERVER_NAME,
    });
    const body = await new Promise<Buffer>((resolve, reject) => {
      const req = session.request({ ':path': '/bytes/777777' });
      const parts: Buffer[] = [];
      req.on('data', (d: Buffer) => {
        parts.push(d);
      });
      req.on('end', () => {
        resolve(Buffer.concat(parts));
      });
      req.on('error', reject);
    });
    session.close();
    await server.close();
    expect(body.length).toBe(777_777);
    expect(verifyBody(0, body)).toBe(-1);
  });
});
