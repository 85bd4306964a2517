/**
 * `stacks.server: caddy` (harness/proto/caddy/): Caddy through the ProtocolServer API on loopback,
 * fetched by h3bench's own clients over h1, h2 and h3 (both HTTP/3 engines), byte-exact, its
 * refusals and its settings, nothing left behind, not even when the process that runs it is killed;
 * then, as root, a whole `h3bench run` over an emulated link with Caddy serving. Skipped without
 * `caddy` (scripts/setup-apt.sh installs it), the run also without root.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import http2 from 'node:http2';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import type { Json, JsonObject } from '../../core/json.js';
import type { ServerConfig, ServerEvent } from '../../harness/model/messages.js';
import type { RequestRecord } from '../../harness/model/records.js';
import type { ResultFile } from '../../harness/model/result.js';
import { CPU_REFUSAL } from '../../harness/proto/caddy/config.js';
import { DIR_PREFIX } from '../../harness/proto/caddy/files.js';
import * as q18 from '../../harness/proto/h3/engine.js';
import { verifyBody } from '../../harness/proto/handler.js';
import { pageBody, pageFiles, type PageSpec } from '../../harness/proto/pages.js';
import * as q29 from '../../harness/proto/quiche29/engine.js';
import { createClient, createServer } from '../../harness/proto/session.js';
import { SERVER_NAME, generateTlsMaterial } from '../../harness/proto/tls.js';
import type { ClientOptions, ProtocolServer, ServerOptions } from '../../harness/proto/types.js';
import { parseScenario } from '../../harness/scenario/load.js';
import type { H3Stack, Protocol } from '../../harness/scenario/schema.js';
import { pageOf } from '../../harness/scenario/workload.js';
import { newRequestRecord } from '../../harness/workload/multiplex.js';
import { HAVE_CADDY, NO_CADDY_REASON } from '../fixtures/caddy.js';

const execFileP = promisify(execFile);
const ROOT = process.getuid?.() === 0;
const repo = path.resolve(import.meta.dirname, '../..');
const tls = generateTlsMaterial();
const scenario = parseScenario(
  'name: t\nworkload: {type: page-load}\ntransport: {congestion: reno, pacing: true}\n',
  'inline.yaml',
);
const { transport } = scenario;
const PAGE: PageSpec = (() => {
  const p = pageOf(scenario.workload);
  if (p === null) throw new Error('no page');
  return p;
})();
const SIZES = [0, 1, 20_000, 1_000_000, 10_000_000];
const HOST = '127.0.0.1';
const t0 = performance.now();
const now = () => performance.now() - t0;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'h3bench-caddy-it-'));
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

function serverOptions(extra: Partial<ServerOptions> = {}): ServerOptions {
  return {
    host: HOST,
    port: 0,
    certPem: tls.certPem,
    keyPem: tls.keyPem,
    transport,
    bodySizes: SIZES,
    page: PAGE,
    ...extra,
  };
}

function clientOptions(port: number): ClientOptions {
  return { host: HOST, port, serverName: SERVER_NAME, caPem: tls.caPem, transport, connections: 1, now };
}

/** obj[k1][k2]... of a JSON value. */
function at(v: Json | undefined, ...keys: (string | number)[]): Json | undefined {
  let cur = v;
  for (const k of keys) {
    if (cur === null || cur === undefined || typeof cur !== 'object') return undefined;
    cur = Array.isArray(cur) ? cur[k as number] : cur[k as string];
  }
  return cur;
}

/** Caddy's private directory, from the config it was given (its storage lives there). */
function dirOf(server: ProtocolServer): string {
  const root = at(server.settings()['config'], 'storage', 'root');
  if (typeof root !== 'string') throw new Error('no storage root in the settings');
  return path.dirname(root);
}

/** Pids of running processes whose command line contains `needle`, with their parent pids. */
function processesWith(needle: string): { pid: number; ppid: number }[] {
  const out: { pid: number; ppid: number }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      if (!cmd.some((a) => a.includes(needle))) continue;
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      out.push({ pid: Number(name), ppid });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** A body fetched with Node's own HTTPS (no ALPN: HTTP/1.1) or HTTP/2 client, which our TCP engines use. */
async function nodeGet(
  protocol: 'h1' | 'h2',
  port: number,
  p: string,
  method = 'GET',
): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  if (protocol === 'h1') {
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: HOST,
          port,
          path: p,
          method,
          ca: tls.caPem,
          servername: SERVER_NAME,
        },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (d: Buffer) => parts.push(d));
          res.on('end', () => {
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) });
          });
        },
      );
      req.on('error', reject);
      req.end();
    });
  }
  const session = http2.connect(`https://${HOST}:${port}`, { ca: tls.caPem, servername: SERVER_NAME });
  try {
    return await new Promise((resolve, reject) => {
      const req = session.request({ ':path': p, ':method': method });
      const parts: Buffer[] = [];
      let headers: Record<string, unknown> = {};
      req.on('response', (h) => (headers = h));
      req.on('data', (d: Buffer) => parts.push(d));
      req.on('end', () => {
        resolve({ status: Number(headers[':status']), headers, body: Buffer.concat(parts) });
      });
      req.on('error', reject);
      req.end();
    });
  } finally {
    session.close();
  }
}

/** Bodies fetched with one of h3bench's HTTP/3 engines, collected as they arrive. */
async function h3Bodies(h3Stack: H3Stack, port: number, paths: string[]): Promise<Map<string, Buffer>> {
  const parts = new Map<number, Buffer[]>();
  const onBody = (rec: RequestRecord, data: Uint8Array) => {
    parts.set(rec.id, [...(parts.get(rec.id) ?? []), Buffer.from(data)]);
  };
  const engine = h3Stack === 'quiche-0.18' ? q18 : q29;
  const client = engine.createClient(clientOptions(port), { onBody });
  try {
    const out = new Map<string, Buffer>();
    await Promise.all(
      paths.map(async (p, i) => {
        const rec = newRequestRecord(i, now(), 0);
        await client.get(p, rec, AbortSignal.timeout(30_000));
        out.set(p, Buffer.concat(parts.get(i) ?? []));
      }),
    );
    return out;
  } finally {
    await client.close();
  }
}

const CASES: [string, Protocol, H3Stack | undefined][] = [
  ['h1', 'h1', undefined],
  ['h2', 'h2', undefined],
  ['h3 (quiche-0.18 client)', 'h3', 'quiche-0.18'],
  ['h3 (quiche-0.29 client)', 'h3', 'quiche-0.29'],
];

describe.skipIf(!HAVE_CADDY)(
  `createServer(…, 'caddy') on loopback${HAVE_CADDY ? '' : ` (skipped: ${NO_CADDY_REASON})`}`,
  () => {
    it.each(CASES)(
      '%s: /bytes and page files byte-exact with their headers, settings recorded, nothing left',
      async (_name, protocol, h3Stack) => {
        const server = await createServer(protocol, serverOptions(), undefined, 'caddy');
        let dir: string;
        try {
          const port = await server.listen();
          dir = dirOf(server);
          expect(path.basename(dir).startsWith(`${DIR_PREFIX}${process.pid}-`)).toBe(true);
          const files = [
            ...SIZES.map((n) => ({ path: `/bytes/${n}`, type: 'application/octet-stream', size: n })),
            ...pageFiles(PAGE).map((f) => ({ path: f.path, type: f.contentType, size: f.bytes })),
          ];
          // h3bench's client of this protocol (session.ts), as a run uses it.
          const client = await createClient(protocol, clientOptions(port), h3Stack);
          try {
            await Promise.all(
              files.map(async (f, i) => {
                const rec = newRequestRecord(i, now(), f.size);
                const headers = await client.get(f.path, rec, AbortSignal.timeout(30_000));
                expect([f.path, rec.status, rec.bytes, rec.error]).toEqual([f.path, 200, f.size, null]);
                expect(headers['content-type']).toBe(f.type);
                expect(headers['cache-control']).toBe('no-store');
                expect(headers['x-request-id']).toBe(String(i));
              }),
            );
            const missing = newRequestRecord(999, now(), 0);
            await client.get('/bytes/7', missing, AbortSignal.timeout(30_000));
            expect(missing.status).toBe(404);
            expect(
              client.connections().every((c) => c.alpn === (protocol === 'h1' ? 'http/1.1' : protocol)),
            ).toBe(true);
          } finally {
            await client.close();
          }
          // The bytes themselves: our HTTP/3 engines hand them over; h1 and h2 through Node's clients.
          const bodies =
            h3Stack !== undefined
              ? await h3Bodies(
                  h3Stack,
                  port,
                  files.map((f) => f.path),
                )
              : new Map(
                  await Promise.all(
                    files.map(
                      async (f) =>
                        [f.path, (await nodeGet(protocol as 'h1' | 'h2', port, f.path)).body] as const,
                    ),
                  ),
                );
          for (const f of files) {
            const body = bodies.get(f.path) ?? Buffer.alloc(0);
            expect([f.path, body.length]).toEqual([f.path, f.size]);
            if (f.path.startsWith('/bytes/')) expect([f.path, verifyBody(0, body)]).toEqual([f.path, -1]);
            else expect(body.equals(pageBody(PAGE, f.path) ?? Buffer.alloc(0)), f.path).toBe(true);
          }
          await server.close();
          // Every request counted from Caddy's access log: twice the files and the 404.
          expect(server.requestsServed()).toBe(2 * files.length + 1);
          const s = server.settings();
          const version = (await execFileP('caddy', ['version'])).stdout.trim().split(/\s+/)[0];
          expect(s).toMatchObject({
            engine: 'caddy',
            version,
            files: { bytes: SIZES, pageFiles: files.length - 5 },
          });
          expect(at(s, 'library', 'http')).toMatch(/^Go net\/http/);
          expect(at(s, 'config', 'apps', 'http', 'servers', 'h3bench', 'listen')).toEqual([
            `${HOST}:${port}`,
          ]);
          expect(at(s, 'protocols')).toEqual(protocol === 'h2' ? ['h1', 'h2'] : [protocol]);
          expect(Object.keys(s['notPinned'] as JsonObject).length).toBeGreaterThan(0);
          expect(at(s, 'processCpuMs', 'user')).toEqual(expect.any(Number));
          if (protocol === 'h3') expect(at(s, 'library', 'quic')).toMatch(/^quic-go /);
          console.log(
            `caddy ${String(version)} ${protocol}${h3Stack ? ` (${h3Stack} client)` : ''}: ${files.length} files twice, served ${server.requestsServed()}, library ${JSON.stringify(s['library'])}, caddy cpu ${JSON.stringify(s['processCpuMs'])} ms`,
          );
        } finally {
          await server.close();
        }
        expect(existsSync(dir)).toBe(false);
        expect(processesWith(dir)).toEqual([]);
      },
    );

    it('answers ?cpu= with 501 and methods other than GET/HEAD with 405, never the file', async () => {
      const server = await createServer('h2', serverOptions(), undefined, 'caddy');
      try {
        const port = await server.listen();
        const cpu = await nodeGet('h2', port, '/bytes/20000?cpu=5');
        expect([cpu.status, cpu.body.toString()]).toEqual([CPU_REFUSAL.status, CPU_REFUSAL.body]);
        expect((await nodeGet('h2', port, '/bytes/20000', 'POST')).status).toBe(405);
        // HEAD over HTTP/1.1 from this h2 server: Caddy 2.6.2 serves h2 only with h1 on, and a client
        // offering no ALPN (Node's https) is answered over HTTP/1.1 (its settings: notPinned.http1).
        const head = await nodeGet('h1', port, '/bytes/20000', 'HEAD');
        expect([head.status, head.headers['content-length'], head.body.length]).toEqual([200, '20000', 0]);
      } finally {
        await server.close();
      }
    });

    it("rejects listen() with Caddy's own words when the port is taken, and leaves nothing", async () => {
      const blocker = net.createServer();
      const port = await new Promise<number>((resolve) => {
        blocker.listen(0, HOST, () => {
          resolve((blocker.address() as net.AddressInfo).port);
        });
      });
      const before = readdirSync(os.tmpdir()).filter((n) => n.startsWith(`${DIR_PREFIX}${process.pid}-`));
      const server = await createServer('h1', serverOptions({ port }), undefined, 'caddy');
      try {
        await expect(server.listen()).rejects.toThrow(
          /caddy exited with status 1 before serving[\s\S]*address already in use/,
        );
      } finally {
        await server.close();
        blocker.close();
      }
      expect(readdirSync(os.tmpdir()).filter((n) => n.startsWith(`${DIR_PREFIX}${process.pid}-`))).toEqual(
        before,
      );
    });

    it('dies with the server process when that is killed (SIGKILL), and the next server removes its directory', async () => {
      const cfg: ServerConfig = {
        protocol: 'h3',
        host: HOST,
        port: 0,
        certPem: tls.certPem,
        keyPem: tls.keyPem,
        transport,
        scheduling: 'sequential',
        qlogDir: null,
        h3Stack: 'quiche-0.18',
        serverStack: 'caddy',
        page: null,
        bodySizes: [1000],
      };
      const file = path.join(tmp, 'server.json');
      writeFileSync(file, JSON.stringify(cfg), { mode: 0o600 });
      const main = spawn(process.execPath, [path.join(repo, 'dist/harness/runner/server-main.js'), file], {
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      const exited = new Promise((resolve) => main.once('exit', resolve));
      try {
        const first = await new Promise<ServerEvent>((resolve, reject) => {
          createInterface({ input: main.stdout }).once('line', (l) => {
            resolve(JSON.parse(l) as ServerEvent);
          });
          main.once('exit', () => {
            reject(new Error('server-main exited'));
          });
        });
        expect(first.event).toBe('ready');
        const caddy = processesWith('caddy').filter((p) => p.ppid === main.pid);
        expect(caddy).toHaveLength(1);
        const dirName = readdirSync(os.tmpdir()).find((n) => n.startsWith(`${DIR_PREFIX}${main.pid}-`));
        expect(dirName).toBeDefined();
        main.kill('SIGKILL');
        await exited;
        const deadline = Date.now() + 2000;
        while (existsSync(`/proc/${caddy[0]?.pid}`) && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 50));
        expect(existsSync(`/proc/${caddy[0]?.pid}`)).toBe(false);
        // Killed: its directory stays until the next Caddy server starts.
        const dir = path.join(os.tmpdir(), dirName ?? '');
        expect(existsSync(dir)).toBe(true);
        const next = await createServer(
          'h1',
          serverOptions({ page: null, bodySizes: [1] }),
          undefined,
          'caddy',
        );
        await next.listen();
        await next.close();
        expect(existsSync(dir)).toBe(false);
      } finally {
        main.kill('SIGKILL');
      }
    });
  },
);

const runSkip = !HAVE_CADDY ? NO_CADDY_REASON : !ROOT ? 'not root (the emulated link needs namespaces)' : '';

describe.skipIf(runSkip !== '')(
  `h3bench run with stacks.server caddy over linkem${runSkip ? ` (skipped: ${runSkip})` : ''}`,
  () => {
    it('runs h1, h2 and h3, every run ok with no failed request, Caddy recorded as the server', async () => {
      const dir = path.join(tmp, 'run');
      const file = path.join(tmp, 'caddy-run.yaml');
      writeFileSync(
        file,
        [
          'name: caddy-server',
          'protocols: [h1, h2, h3]',
          'repetitions: 1',
          'network: {backend: linkem, rtt: 20ms, rate: 50mbit}',
          // What quic-go can pin (capabilities.ts): the runner refuses anything else over h3.
          'transport: {congestion: reno, pacing: true}',
          'workload: {type: multiplex, requests: 60, size: 100KB, concurrency: 10}',
          'stacks: {server: caddy}',
          'report: {formats: [json]}',
          '',
        ].join('\n'),
      );
      const dirsBefore = new Set(readdirSync(os.tmpdir()).filter((n) => n.startsWith(DIR_PREFIX)));
      const caddyBefore = new Set(processesWith(DIR_PREFIX).map((p) => p.pid));
      const r = await execFileP(
        process.execPath,
        [path.join(repo, 'dist/harness/cli/main.js'), 'run', file, '--out', dir],
        {
          cwd: repo,
          timeout: 300_000,
        },
      ).then(
        (x) => ({ code: 0, ...x }),
        (err: unknown) => {
          const e = err as { code?: number; stdout?: string; stderr?: string };
          return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
        },
      );
      expect(r.code, r.stderr).toBe(0);
      const out = path.join(dir, readdirSync(dir)[0] ?? '');
      const result = JSON.parse(readFileSync(path.join(out, 'result.json'), 'utf8')) as ResultFile;
      expect(result.runs.map((x) => x.protocol).sort()).toEqual(['h1', 'h2', 'h3']);
      const lines: string[] = [];
      for (const run of result.runs) {
        expect([run.protocol, run.ok, run.error]).toEqual([run.protocol, true, null]);
        const reqs = run.client?.requests ?? [];
        expect(reqs).toHaveLength(60);
        expect(reqs.filter((q) => q.status !== 200 || q.bytes !== 100_000 || q.error !== null)).toEqual([]);
        expect(run.server?.requests).toBe(60);
        const settings = run.server?.settings ?? {};
        expect(settings).toMatchObject({ engine: 'caddy', version: expect.any(String) as string });
        expect(at(settings, 'config', 'apps', 'http', 'servers', 'h3bench', 'protocols')).toEqual(
          run.protocol === 'h2' ? ['h1', 'h2'] : [run.protocol],
        );
        expect(
          run.client?.connections.every(
            (c) => c.alpn === (run.protocol === 'h1' ? 'http/1.1' : run.protocol),
          ),
        ).toBe(true);
        const sum = result.summary.protocols[run.protocol];
        expect(sum?.requests).toMatchObject({ ok: 60, failed: 0 });
        lines.push(
          `${run.protocol}: workload completion ${run.client?.durationMs.toFixed(0)} ms (completion p50 ${sum?.completionMs.p50.toFixed(1)} ms, ttfb p50 ${sum?.ttfbMs.p50.toFixed(1)} ms), caddy cpu ${JSON.stringify(settings['processCpuMs'])} ms`,
        );
      }
      console.log(
        `h3bench run, stacks.server caddy, linkem rtt 20 ms 50 Mbit/s, 60 × 100 KB at concurrency 10:\n${lines.join('\n')}`,
      );
      // Nothing of Caddy's outlives the run.
      expect(readdirSync(os.tmpdir()).filter((n) => n.startsWith(DIR_PREFIX) && !dirsBefore.has(n))).toEqual(
        [],
      );
      expect(processesWith(DIR_PREFIX).filter((p) => !caddyBefore.has(p.pid))).toEqual([]);
    }, 320_000);
  },
);
