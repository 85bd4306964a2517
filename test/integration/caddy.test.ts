/**
 * Interop: OUR HTTP/3 client against Caddy (Debian package, quic-go) serving a temp directory over
 * h1/h2/h3 on one port with the per-run certificate. Skipped when `caddy` is not installed
 * (`make` installs it through scripts/setup-apt.sh). No root needed; loopback only.
 */
import { loopbackClient } from '../fixtures/loopback.js';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestRecord } from '../../harness/model/records.js';
import { verifyBody } from '../../harness/proto/handler.js';
import { createClient } from '../../harness/proto/h3/engine.js';
import type { ProtocolClient } from '../../harness/proto/types.js';
import { generateTlsMaterial } from '../../harness/proto/tls.js';
import { parseScenario } from '../../harness/scenario/load.js';
import { newRequestRecord, runRequest } from '../../harness/workload/multiplex.js';
import { HAVE_CADDY, NO_CADDY_REASON, startCaddy, type RunningCaddy } from '../fixtures/caddy.js';

const { transport } = parseScenario('name: t\nworkload: { type: multiplex }\n', 'inline.yaml');
const t0 = performance.now();
const now = () => performance.now() - t0;
const FILES = { empty: 0, one: 1, small: 100_000, medium: 1_000_000, big: 10_000_000 } as const;

function patternFile(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = i % 251;
  return b;
}

describe.skipIf(!HAVE_CADDY)(
  `our HTTP/3 client against Caddy${HAVE_CADDY ? '' : ` (skipped: ${NO_CADDY_REASON})`}`,
  () => {
    const tls = generateTlsMaterial();
    let dir = '';
    let caddy: RunningCaddy | undefined;
    let client: ProtocolClient | undefined;
    const bad = new Map<number, number>();
    const h3 = (): ProtocolClient => {
      if (client === undefined) throw new Error('client not started');
      return client;
    };
    const onBody = (rec: RequestRecord, data: Uint8Array) => {
      if ((bad.get(rec.id) ?? -1) >= 0) return;
      bad.set(rec.id, verifyBody(rec.bytes - data.length, data));
    };

    beforeAll(async () => {
      dir = mkdtempSync(path.join(tmpdir(), 'h3bench-caddy-test-'));
      const www = path.join(dir, 'www');
      mkdirSync(www);
      for (const [name, size] of Object.entries(FILES))
        writeFileSync(path.join(www, name), patternFile(size));
      caddy = await startCaddy(dir, tls);
      const port = caddy.port;
      client = createClient(loopbackClient(port, tls, transport, now), { onBody });
    });

    afterAll(async () => {
      await client?.close();
      await caddy?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it.each(Object.entries(FILES))('GET /%s (%i bytes) arrives byte-exact over h3', async (name, size) => {
      const rec = newRequestRecord(size, now(), size);
      await runRequest(h3(), `/${name}`, rec, 30_000, now);
      expect(rec.error).toBeNull();
      expect(rec.status).toBe(200);
      expect(rec.bytes).toBe(size);
      expect(bad.get(rec.id) ?? -1).toBe(-1);
    });

    it('fetches 20 files concurrently on one connection', async () => {
      const recs = Array.from({ length: 20 }, (_, i) => newRequestRecord(100 + i, now(), FILES.medium));
      await Promise.all(recs.map((r) => runRequest(h3(), '/medium', r, 30_000, now)));
      for (const r of recs) {
        expect(r.error).toBeNull();
        expect(r.bytes).toBe(FILES.medium);
        expect(bad.get(r.id)).toBe(-1);
      }
      expect(new Set(recs.map((r) => r.stream)).size).toBe(20);
      const conns = h3().connections();
      expect(conns).toHaveLength(1);
      expect(conns[0]?.alpn).toBe('h3');
    });

    it('gets 404 for a missing file', async () => {
      const rec = newRequestRecord(500, now(), 0);
      await h3().get('/missing', rec, new AbortController().signal);
      expect(rec.status).toBe(404);
    });
  },
);
