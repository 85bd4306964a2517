/**
 * The quiche-0.29 HTTP/3 engine (@currentspace/http3 0.9.0) on loopback, real UDP and TLS: our
 * workloads byte-exact through it, its records and telemetry, and interop with the quiche-0.18
 * engine both ways and with Caddy (quic-go; skipped when `caddy` is not installed). No root needed.
 */
import { loopbackClient } from '../fixtures/loopback.js';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestRecord } from '../../harness/model/records.js';
import { verifyBody } from '../../harness/proto/handler.js';
import * as q29 from '../../harness/proto/quiche29/engine.js';
import { createClient, createServer } from '../../harness/proto/session.js';
import { generateTlsMaterial } from '../../harness/proto/tls.js';
import type { ProtocolClient, ProtocolServer } from '../../harness/proto/types.js';
import { parseScenario } from '../../harness/scenario/load.js';
import type { H3Stack } from '../../harness/scenario/schema.js';
import { newRequestRecord } from '../../harness/workload/multiplex.js';
import { HAVE_CADDY, NO_CADDY_REASON, startCaddy, type RunningCaddy } from '../fixtures/caddy.js';

const tls = generateTlsMaterial();
const { transport } = parseScenario('name: t\nworkload: { type: multiplex }\n', 'inline.yaml');
const t0 = performance.now();
const now = () => performance.now() - t0;

function verifier() {
  const bad = new Map<number, number>();
  const onBody = (rec: RequestRecord, data: Uint8Array) => {
    if ((bad.get(rec.id) ?? -1) >= 0) return;
    bad.set(rec.id, verifyBody(rec.bytes - data.length, data));
  };
  return { bad, onBody };
}

async function get(client: ProtocolClient, p: string, id: number, size: number) {
  const rec = newRequestRecord(id, now(), size);
  const headers = await client.get(p, rec, new AbortController().signal);
  return { rec, headers };
}

const listen = async (stack: H3Stack): Promise<{ server: ProtocolServer; port: number }> => {
  const server = await createServer(
    'h3',
    { host: '127.0.0.1', port: 0, certPem: tls.certPem, keyPem: tls.keyPem, transport },
    stack,
  );
  return { server, port: await server.listen() };
};

const clientOpts = (port: number) => loopbackClient(port, tls, transport, now);

describe('quiche-0.29 engine on loopback', () => {
  let server: ProtocolServer;
  let client: ProtocolClient;
  const v = verifier();

  beforeAll(async () => {
    const s = await listen('quiche-0.29');
    server = s.server;
    client = q29.createClient(clientOpts(s.port), { onBody: v.onBody });
  });
  afterAll(async () => {
    await client.close();
    await server.close();
  });

  it('delivers a 10 MB body byte-exact with a delivery timeline', async () => {
    const { rec, headers } = await get(client, '/bytes/10000000', 1, 10_000_000);
    expect(rec.status).toBe(200);
    expect(rec.bytes).toBe(10_000_000);
    expect(v.bad.get(1)).toBe(-1);
    expect(headers['content-length']).toBe('10000000');
    expect(rec.chunks.reduce((a, [, n]) => a + n, 0)).toBe(10_000_000);
    const times = rec.chunks.map(([t]) => t);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(rec.tEnd).toBeGreaterThanOrEqual(rec.tHeaders ?? Infinity);
  });

  it('runs 20 concurrent streams on one connection, each byte-exact', async () => {
    const all = await Promise.all(
      Array.from({ length: 20 }, (_, i) => get(client, `/bytes/${50_000 + i}`, 100 + i, 50_000 + i)),
    );
    for (const [i, { rec }] of all.entries()) {
      expect(rec.bytes).toBe(50_000 + i);
      expect(v.bad.get(100 + i)).toBe(-1);
      expect(rec.connection).toBe(0);
    }
    expect(new Set(all.map(({ rec }) => rec.stream)).size).toBe(20);
  });

  it('answers 404 and 400 as the shared handler does', async () => {
    expect((await get(client, '/nope', 200, 0)).rec.status).toBe(404);
    expect((await get(client, '/bytes/x', 201, 0)).rec.status).toBe(400);
  });

  it('fills the connection record, settings and telemetry on both sides', () => {
    const [c] = client.connections();
    expect(c?.alpn).toBe('h3');
    expect(c?.tlsVersion).toBe('TLSv1.3');
    expect(c?.tHandshakeDone).toBeGreaterThan(c?.tStart ?? Infinity);
    expect(c?.transport?.srttMs).toBeGreaterThan(0);
    expect(c?.transport?.cwndBytes).toBeGreaterThan(0);
    expect(client.settings()['engine']).toBe('quiche-0.29');
    expect(server.settings()['engine']).toBe('quiche-0.29');
    const st = server.telemetry?.() ?? [];
    const ct = client.telemetry?.() ?? [];
    expect(st.length).toBeGreaterThan(0);
    expect(ct.length).toBeGreaterThan(0);
    for (const s of [...st, ...ct]) {
      expect(s.source).toBe(q29.TELEMETRY_SOURCE);
      expect(s.t.length).toBeGreaterThan(0);
      expect(s.cwndBytes?.length).toBe(s.t.length);
    }
    expect(server.requestsServed()).toBeGreaterThanOrEqual(23);
  });

  it('refuses a server whose certificate does not match the name', async () => {
    const other = await listen('quiche-0.29');
    const bad = q29.createClient({ ...clientOpts(other.port), serverName: 'other.test' });
    await expect(get(bad, '/bytes/1', 1, 1)).rejects.toThrow();
    await bad.close();
    await other.server.close();
  });

  it('names what it cannot pin', () => {
    expect(q29.QUICHE29_CAPABILITIES.congestion).toEqual(['cubic']);
    expect(q29.quiche29Unsupported({ ...transport, congestion: 'bbr' })).toMatch(/congestion bbr/);
    expect(q29.quiche29Unsupported(transport)).toBeNull();
  });
});

describe.each([
  ['quiche-0.18', 'quiche-0.29'],
  ['quiche-0.29', 'quiche-0.18'],
] as const)('interop: %s client against %s server', (clientStack, serverStack) => {
  let server: ProtocolServer;
  let client: ProtocolClient;
  beforeAll(async () => {
    const s = await listen(serverStack);
    server = s.server;
    client = await createClient('h3', clientOpts(s.port), clientStack);
  });
  afterAll(async () => {
    await client.close();
    await server.close();
  });

  it('1 MB and 20 concurrent bodies arrive whole', async () => {
    const big = await get(client, '/bytes/1000000', 0, 1_000_000);
    expect(big.rec.bytes).toBe(1_000_000);
    const all = await Promise.all(
      Array.from({ length: 20 }, (_, i) => get(client, '/bytes/20000', i + 1, 20_000)),
    );
    expect(all.every(({ rec }) => rec.status === 200 && rec.bytes === 20_000)).toBe(true);
    expect(client.connections()[0]?.alpn).toBe('h3');
  });
});

describe.skipIf(!HAVE_CADDY)(
  `interop: quiche-0.29 client against Caddy${HAVE_CADDY ? '' : ` (skipped: ${NO_CADDY_REASON})`}`,
  () => {
    let dir = '';
    let caddy: RunningCaddy | undefined;
    let client: ProtocolClient | undefined;
    const v = verifier();

    beforeAll(async () => {
      dir = mkdtempSync(path.join(tmpdir(), 'h3bench-q29-caddy-'));
      const www = path.join(dir, 'www');
      mkdirSync(www);
      const body = Buffer.alloc(1_000_000);
      for (let i = 0; i < body.length; i++) body[i] = i % 251;
      writeFileSync(path.join(www, 'medium'), body);
      // Resolves once Caddy's servers, the HTTP/3 one included, are up.
      caddy = await startCaddy(dir, tls);
      const port = caddy.port;
      client = q29.createClient(clientOpts(port), { onBody: v.onBody });
    });
    afterAll(async () => {
      await client?.close();
      await caddy?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('GET /medium (1 MB) arrives byte-exact over h3, and 10 at once', async () => {
      if (client === undefined) throw new Error('no client');
      const c = client;
      const { rec } = await get(c, '/medium', 1, 1_000_000);
      expect(rec.status).toBe(200);
      expect(rec.bytes).toBe(1_000_000);
      expect(v.bad.get(1)).toBe(-1);
      const all = await Promise.all(
        Array.from({ length: 10 }, (_, i) => get(c, '/medium', 10 + i, 1_000_000)),
      );
      expect(all.every(({ rec: r }) => r.bytes === 1_000_000 && v.bad.get(r.id) === -1)).toBe(true);
      expect(c.connections()[0]?.alpn).toBe('h3');
    });
  },
);
