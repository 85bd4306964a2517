/**
 * Interop: OUR HTTP/3 client against Caddy (Debian package, quic-go) serving a temp directory over
 * h1/h2/h3 on one port with the per-run certificate. Skipped when `caddy` is not installed
 * (`make` installs it through scripts/setup-apt.sh). No root needed; loopback only.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import dgram from 'node:dgram';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestRecord } from '../../harness/model/records.js';
import { verifyBody } from '../../harness/proto/handler.js';
import { createClient } from '../../harness/proto/h3/engine.js';
import type { ProtocolClient } from '../../harness/proto/types.js';
import { SERVER_NAME, generateTlsMaterial } from '../../harness/proto/tls.js';
import { parseScenario } from '../../harness/scenario/load.js';
import { newRequestRecord, runRequest } from '../../harness/workload/multiplex.js';
import { startCaddy, stopCaddy } from '../fixtures/caddy.js';

const CADDY = spawnSync('caddy', ['version'], { encoding: 'utf8' });
const haveCaddy = CADDY.status === 0;
const SKIP_REASON = 'caddy is not installed (make installs it via scripts/setup-apt.sh)';

const { transport } = parseScenario('name: t\nworkload: { type: multiplex }\n', 'inline.yaml');
const t0 = performance.now();
const now = () => performance.now() - t0;
const FILES = { empty: 0, one: 1, small: 100_000, medium: 1_000_000, big: 10_000_000 } as const;

function patternFile(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = i % 251;
  return b;
}

/** A port free for both TCP and UDP on 127.0.0.1, in the high range. */
async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 40_000);
    const tcpOk = await new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once('error', () => {
        resolve(false);
      });
      s.listen(port, '127.0.0.1', () =>
        s.close(() => {
          resolve(true);
        }),
      );
    });
    if (!tcpOk) continue;
    const udpOk = await new Promise<boolean>((resolve) => {
      const s = dgram.createSocket('udp4');
      s.once('error', () => {
        resolve(false);
      });
      s.bind(port, '127.0.0.1', () =>
        s.close(() => {
          resolve(true);
        }),
      );
    });
    if (udpOk) return port;
  }
}

async function waitTcp(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`caddy exited: ${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => {
        resolve(false);
      });
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`caddy did not listen on ${port}: ${log()}`);
}

describe.skipIf(!haveCaddy)(
  `our HTTP/3 client against Caddy${haveCaddy ? '' : ` (skipped: ${SKIP_REASON})`}`,
  () => {
    const tls = generateTlsMaterial();
    let dir = '';
    let caddy: ChildProcess | undefined;
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
      dir = mkdtempSync(path.join(tmpdir(), 'h3bench-caddy-'));
      const www = path.join(dir, 'www');
      mkdirSync(www);
      for (const [name, size] of Object.entries(FILES))
        writeFileSync(path.join(www, name), patternFile(size));
      const port = await freePort();
      const started = startCaddy(dir, port, www, tls);
      caddy = started.proc;
      await waitTcp(port, caddy, started.log);
      client = createClient(
        {
          host: '127.0.0.1',
          port,
          serverName: SERVER_NAME,
          caPem: tls.caPem,
          transport,
          connections: 1,
          now,
        },
        { onBody },
      );
    });

    afterAll(async () => {
      await client?.close();
      await stopCaddy(caddy);
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
