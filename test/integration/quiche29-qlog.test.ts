/**
 * qlog from the quiche-0.29 engine (`report.qlog: true`): one file per connection and side, written
 * by quiche 0.29 itself as JSON-SEQ (RFC 7464 records; qlog's sequential serialization, draft
 * event schemas quic-12 / http3-12), each record parseable, on loopback (no root needed).
 */
import { loopbackClient } from '../fixtures/loopback.js';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createClient, createServer } from '../../harness/proto/session.js';
import { generateTlsMaterial } from '../../harness/proto/tls.js';
import { parseScenario } from '../../harness/scenario/load.js';
import { newRequestRecord } from '../../harness/workload/multiplex.js';

const dir = mkdtempSync(path.join(tmpdir(), 'h3bench-q29-qlog-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('quiche-0.29 qlog', () => {
  it('writes one parseable JSON-SEQ qlog per side of a connection', async () => {
    const tls = generateTlsMaterial();
    const { transport } = parseScenario('name: t\nworkload: { type: multiplex }\n', 'inline.yaml');
    const t0 = performance.now();
    const now = () => performance.now() - t0;
    const server = await createServer(
      'h3',
      { host: '127.0.0.1', port: 0, certPem: tls.certPem, keyPem: tls.keyPem, transport, qlogDir: dir },
      'quiche-0.29',
    );
    const port = await server.listen();
    const client = await createClient(
      'h3',
      loopbackClient(port, tls, transport, now, { qlogDir: dir }),
      'quiche-0.29',
    );
    try {
      const rec = newRequestRecord(0, now(), 300_000);
      await client.get('/bytes/300000', rec, new AbortController().signal);
      expect(rec.bytes).toBe(300_000);
    } finally {
      await client.close();
      await server.close();
    }
    const files = readdirSync(dir).sort();
    expect(files).toHaveLength(2);
    expect(files[0]).toMatch(/^client-[0-9a-f]+\.qlog$/);
    expect(files[1]).toMatch(/^server-[0-9a-f]+\.qlog$/);
    for (const f of files) {
      const records = readFileSync(path.join(dir, f), 'utf8')
        .split('\x1e')
        .map((r) => r.trim())
        .filter((r) => r.length > 0)
        .map((r) => JSON.parse(r) as { serialization_format?: string; name?: string; trace?: unknown });
      expect(records[0]).toMatchObject({ serialization_format: 'JSON-SEQ' });
      const names = new Set(records.slice(1).map((r) => r.name));
      // The server sends the 300 KB body, the client receives it: both log packets both ways.
      expect(names).toContain('quic:packet_sent');
      expect(names).toContain('quic:packet_received');
      expect(names).toContain('http3:frame_created');
      expect(records.length).toBeGreaterThan(20);
    }
  }, 60_000);
});
