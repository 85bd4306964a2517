/**
 * `server.scheduling` on the wire: loopback h2 and h3 servers under each policy, one client with
 * N concurrent requests on one connection, and the same assertions for both protocols on what the
 * client saw (tHeaders and the body chunk timeline of each request, in stream id order). Without
 * the scheduler (harness/proto/schedule.ts), i.e. with the writers it replaced, they fail: Node's
 * HTTP/2 server sends every HEADERS at once and interleaves the bodies, and on loopback our HTTP/3
 * server interleaved them too (quiche takes each stream's data as fast as it is written), so
 * `sequential` and `headers-first` fail on both. With the QUIC driver feeding its write queues to
 * quiche in creation order rather than by stream priority (harness/proto/quic/connection.ts), the
 * h3 `headers-first` and `round-robin` cases fail: the later HEADERS wait behind the first body's
 * queued chunks (some 120-140 KB of it arrived first on loopback, against some 42 KB in priority
 * order and none with h2). No root needed.
 */
import { loopbackClient } from '../fixtures/loopback.js';
import { afterAll, describe, expect, it } from 'vitest';
import type { RequestRecord } from '../../harness/model/records.js';
import { BODY_CHUNK_BYTES } from '../../harness/proto/handler.js';
import { createClient, createServer } from '../../harness/proto/session.js';
import { generateTlsMaterial } from '../../harness/proto/tls.js';
import type { ProtocolClient, ProtocolServer } from '../../harness/proto/types.js';
import { parseScenario } from '../../harness/scenario/load.js';
import type { SchedulingPolicy } from '../../harness/scenario/schema.js';
import { newRequestRecord, runRequest } from '../../harness/workload/multiplex.js';

const tls = generateTlsMaterial();
const { transport } = parseScenario('name: t\nworkload: { type: multiplex }\n', 'inline.yaml');
const N = 4;
const SIZE = 1_000_000;
/** Slack for event-loop ordering on the client (a frame and the next one read in one go). */
const SLACK_MS = 1;
/**
 * How much of the first body may arrive before the last response's HEADERS when HEADERS go first
 * (`headers-first`, `round-robin`): one body chunk. The server hands the transport up to
 * MAX_CHUNKS_AHEAD (2) chunks of the first body before the later requests' HEADERS; HEADERS that
 * queue behind those (h3: in the QUIC driver's per-stream queues while quiche has no room, if the
 * driver fed its queues in creation order instead of by quiche's stream priority) arrive after
 * more than one chunk of it.
 */
const HEADERS_LEAD_BYTES = BODY_CHUNK_BYTES;

interface Seen {
  headers: number;
  first: number;
  last: number;
  chunks: [number, number][];
}

function seen(r: RequestRecord): Seen {
  expect(r.error).toBeNull();
  expect(r.bytes).toBe(SIZE);
  return {
    headers: r.tHeaders ?? NaN,
    first: r.chunks[0]?.[0] ?? NaN,
    last: r.chunks.at(-1)?.[0] ?? NaN,
    chunks: r.chunks,
  };
}

/** Body bytes of `r` delivered before time `t`. */
function bytesBefore(r: Seen | undefined, t: number): number {
  let n = 0;
  for (const [at, bytes] of r?.chunks ?? []) if (at < t) n += bytes;
  return n;
}

/** Every response's HEADERS arrived before the first body was one chunk along. */
function expectHeadersAhead(s: Seen[]): void {
  const lead = s.map((r) => bytesBefore(s[0], r.headers));
  for (const n of lead) expect(n).toBeLessThanOrEqual(HEADERS_LEAD_BYTES);
}

describe.each(['h2', 'h3'] as const)('server.scheduling over %s', (protocol) => {
  const servers: ProtocolServer[] = [];
  const clients: ProtocolClient[] = [];
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all(servers.map((s) => s.close()));
  });

  /** N concurrent requests on a warm connection; their timelines in stream id order. */
  const fetchConcurrent = async (
    policy: SchedulingPolicy,
  ): Promise<{ seen: Seen[]; server: ProtocolServer }> => {
    const server = await createServer(protocol, {
      host: '127.0.0.1',
      port: 0,
      certPem: tls.certPem,
      keyPem: tls.keyPem,
      transport,
      scheduling: policy,
    });
    servers.push(server);
    const port = await server.listen();
    const t0 = performance.now();
    const now = () => performance.now() - t0;
    const client = await createClient(protocol, loopbackClient(port, tls, transport, now));
    clients.push(client);
    const warm = newRequestRecord(-1, now(), 1);
    await runRequest(client, '/bytes/1', warm, 10_000, now);
    expect(warm.error).toBeNull();
    const recs = Array.from({ length: N }, (_, i) => newRequestRecord(i, now(), SIZE));
    await Promise.all(recs.map((r) => runRequest(client, `/bytes/${SIZE}`, r, 30_000, now)));
    recs.sort((a, b) => (a.stream ?? 0) - (b.stream ?? 0));
    return { seen: recs.map(seen), server };
  };

  it('sequential: each response starts (HEADERS) after the previous body ended', async () => {
    const { seen: s, server } = await fetchConcurrent('sequential');
    for (let i = 1; i < N; i++) {
      const prev = s[i - 1];
      const cur = s[i];
      if (prev === undefined || cur === undefined) throw new Error('missing request');
      expect(cur.headers).toBeGreaterThanOrEqual(prev.last - SLACK_MS);
      expect(cur.first).toBeGreaterThanOrEqual(prev.last - SLACK_MS);
    }
    expect(server.settings()).toMatchObject({ scheduling: { policy: 'sequential' } });
  });

  it('headers-first: every HEADERS before the second body, then the bodies in turn', async () => {
    const { seen: s, server } = await fetchConcurrent('headers-first');
    expectHeadersAhead(s);
    const secondBody = s[1]?.first ?? NaN;
    for (const r of s) expect(r.headers).toBeLessThan(secondBody);
    for (let i = 1; i < N; i++) {
      expect(s[i]?.first).toBeGreaterThanOrEqual((s[i - 1]?.last ?? Infinity) - SLACK_MS);
    }
    expect(server.settings()).toMatchObject({ scheduling: { policy: 'headers-first' } });
  });

  it('round-robin: HEADERS at once, every body under way before any ends', async () => {
    const { seen: s, server } = await fetchConcurrent('round-robin');
    expectHeadersAhead(s);
    const firstEnd = Math.min(...s.map((r) => r.last));
    for (const r of s) {
      expect(r.headers).toBeLessThan(firstEnd);
      expect(r.first).toBeLessThan(firstEnd);
    }
    expect(server.settings()).toMatchObject({ scheduling: { policy: 'round-robin' } });
  });
});
