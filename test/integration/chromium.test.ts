/**
 * `stacks: {client: chromium}` end to end: the compiled CLI runs a small page-load scenario over an
 * emulated link (linkem, 40 ms RTT, 20 Mbit/s) with a real headless Chromium loading the page over
 * h1, h2 and h3 (harness/workload/chromium.ts). Every run must be ok with every resource on the
 * forced protocol, h2 and h3 on one connection, the page timings in order, and neither a Chromium
 * process nor a profile directory left behind. Prints the figures per protocol. Then a client killed
 * with SIGKILL in the middle of a slow load: its Chromium must exit by itself (its DevTools pipe
 * closes) and the run must leave no profile directory (it lives in the run's work directory).
 *
 * Skipped, with the reason, without root (namespaces), a TUN device or Chromium.
 */
import { h3bench as runCli } from '../fixtures/cli.js';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hasNetAdmin, hasTun } from '../../link/netns.js';
import type { ResultFile } from '../../harness/model/result.js';
import { NEXT_HOP_PROTOCOL, findChromium } from '../../harness/workload/chromium.js';
import { PROFILE_PREFIX, readProcessTable } from '../../harness/workload/cdp.js';

const missing = [
  ...(process.getuid?.() === 0 ? [] : ['needs root (network namespaces)']),
  ...[await hasNetAdmin(), await hasTun()].flatMap((c) => (c.ok ? [] : [c.reason])),
  ...(findChromium() === null
    ? ['Chromium is not installed (scripts/setup-apt.sh installs it as root)']
    : []),
];
const skipReason = missing.join('; ');
const haveCaddy = spawnSync('caddy', ['version']).status === 0;
if (skipReason !== '') console.warn(`chromium integration test skipped: ${skipReason}`);

const SCENARIO = `name: chromium-page
description: a small page loaded by headless Chromium over each HTTP version
protocols: [h1, h2, h3]
repetitions: 1
seed: 3
network:
  backend: linkem
  rtt: 40ms
  rate: 20mbit
stacks:
  client: chromium
workload:
  type: page-load
  document: 20KB
  waves:
    - {count: 4, size: 10KB, type: css}
    - {count: 6, size: 20KB, type: img, depth: 2}
`;

/** The same page served by Caddy (quic-go for h3: Reno and paced, what it cannot be told otherwise). */
const CADDY_SCENARIO = SCENARIO.replace('name: chromium-page', 'name: chromium-caddy').replace(
  'stacks:\n  client: chromium',
  'stacks:\n  client: chromium\n  server: caddy\ntransport:\n  congestion: reno\n  pacing: true',
);

/** A slow page over a slow link (several seconds of loading), h2 only: the client is killed meanwhile. */
const SLOW_SCENARIO = `name: chromium-killed
description: a client killed with SIGKILL while its Chromium loads a slow page
protocols: [h2]
repetitions: 1
seed: 3
network:
  backend: linkem
  rtt: 200ms
  rate: 1mbit
stacks:
  client: chromium
workload:
  type: page-load
  document: 20KB
  waves:
    - {count: 4, size: 100KB, type: css}
    - {count: 6, size: 200KB, type: img, depth: 2}
`;

/** Profile directories (cdp.ts PROFILE_PREFIX) directly in `dir`, or at any depth with `deep`. */
function profileDirs(dir: string, deep = false): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      const p = path.join(d, e.name);
      if (e.name.startsWith(PROFILE_PREFIX)) out.push(p);
      else if (deep) walk(p);
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}
/** Live processes whose --user-data-dir (browser and children alike) is a profile under `dir`. */
const chromiumProcesses = (dir: string) =>
  [...readProcessTable().values()].filter(
    (p) => p.state !== 'Z' && p.cmdline?.includes(`--user-data-dir=${dir}`) === true,
  );

/** Runs the CLI; resolves with its exit code and output whatever the code. */
const h3bench = (args: string[]) => runCli(args, 240_000);

describe.skipIf(skipReason !== '')(
  `h3bench run with stacks.client chromium${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'h3bench-browser-it-'));
    afterAll(() => {
      rmSync(tmp, { recursive: true, force: true });
    });

    it('loads the page over h1, h2 and h3, each resource on its protocol, and leaves nothing behind', async () => {
      const scenario = path.join(tmp, 'chromium-page.yaml');
      writeFileSync(scenario, SCENARIO);
      const out = path.join(tmp, 'results');
      const before = new Set(profileDirs(os.tmpdir()));
      const { code, stdout, stderr } = await h3bench(['run', scenario, '--out', out]);
      expect(code, `${stdout}\n${stderr}`).toBe(0);
      expect(stderr).toMatch(/\[3\/3\]/);
      const dir = path.join(out, readdirSync(out)[0] ?? '');
      const result = JSON.parse(readFileSync(path.join(dir, 'result.json'), 'utf8')) as ResultFile;
      expect(result.runs.map((r) => r.protocol).sort()).toEqual(['h1', 'h2', 'h3']);

      const rows: string[] = [];
      for (const run of result.runs) {
        const p = run.protocol;
        expect(run.error, `${p}: ${run.error ?? ''}\n${stdout}`).toBeNull();
        expect(run.ok).toBe(true);
        const c = run.client;
        const b = c?.browser;
        if (c === null || b === undefined) throw new Error(`${p}: no browser report`);
        // Every resource, the document included, over the forced protocol; every page file loaded whole.
        expect(b.protocol).toBe(p);
        expect(b.resources.length).toBeGreaterThanOrEqual(11);
        for (const r of b.resources) expect(r.nextHopProtocol, r.name).toBe(NEXT_HOP_PROTOCOL[p]);
        expect(c.requests).toHaveLength(11);
        const sizes: number[] = [20_000, 10_000, 10_000, 10_000, 10_000];
        expect(c.requests.map((r) => r.bytes)).toEqual([...sizes, ...Array<number>(6).fill(20_000)]);
        for (const r of c.requests) {
          expect(r).toMatchObject({ status: 200, error: null, timedOut: false });
          expect(r.chunks).toEqual([[r.tEnd, r.bytes]]);
        }
        expect(b.pageState).toBe('complete');
        expect(b.clock.method).toBe('monotonic');
        expect(b.clock.spreadMs).toBeLessThan(0.5);
        // Connections: one for h2 and h3 (Chromium's own pool: a few for HTTP/1.1), each with its setup.
        const alpn = NEXT_HOP_PROTOCOL[p];
        if (p === 'h1') expect(c.connections.length).toBeGreaterThanOrEqual(1);
        else expect(c.connections).toHaveLength(1);
        expect(c.connections.length).toBeLessThanOrEqual(6);
        expect(c.metrics.connectionsUsed).toBe(c.connections.length);
        for (const conn of c.connections) {
          expect(conn.alpn).toBe(alpn);
          if (p === 'h3') expect(conn.tTcpConnected).toBeNull();
        }
        const first = c.connections[0];
        expect(first?.tHandshakeDone ?? -1).toBeGreaterThan(first?.tStart ?? Infinity);
        // The handshake over a 40 ms RTT link: TCP + TLS 1.3 = 2 RTT, QUIC = 1 RTT.
        expect((first?.tHandshakeDone ?? 0) - (first?.tStart ?? 0)).toBeGreaterThanOrEqual(
          p === 'h3' ? 38 : 78,
        );
        // Timings in order; the page complete is the run's duration.
        const m = c.metrics;
        const ttfb = m.ttfbMs ?? NaN;
        const fcp = m.firstContentfulPaintMs ?? NaN;
        const lcp = m.largestContentfulPaintMs ?? NaN;
        const complete = m.pageLoadMs ?? NaN;
        expect(ttfb).toBeGreaterThan(0);
        expect(fcp).toBeGreaterThanOrEqual(ttfb);
        expect(complete).toBeGreaterThanOrEqual(fcp);
        expect(lcp).toBeGreaterThanOrEqual(fcp);
        expect(c.durationMs).toBeCloseTo((b.timeOriginMs ?? NaN) + complete, 6);
        expect(c.cpu.userMs).toBeGreaterThan(0);
        expect(b.cpu?.processes).toBeGreaterThan(1);
        rows.push(
          `${p}  TTFB ${ttfb.toFixed(1)}  FCP ${fcp.toFixed(1)}  LCP ${lcp.toFixed(1)}  page complete ${complete.toFixed(1)} ms  (connections ${c.connections.length}, client+browser CPU ${(c.cpu.userMs + c.cpu.systemMs).toFixed(0)} ms)`,
        );
      }
      console.log(
        `Chromium ${result.runs[0]?.client?.browser?.version ?? '?'} over linkem, 40 ms RTT, 20 Mbit/s:\n${rows.join('\n')}`,
      );

      // Nothing left behind: no browser process, no profile directory of these runs.
      expect(chromiumProcesses(out).map((p) => `${p.pid} ${p.cmdline ?? ''}`)).toEqual([]);
      expect(profileDirs(out, true)).toEqual([]);
      expect(profileDirs(os.tmpdir()).filter((n) => !before.has(n))).toEqual([]);
    }, 300_000);

    it.skipIf(!haveCaddy)(
      `loads the page from Caddy over h1, h2 and h3 (a real browser against a real server)${haveCaddy ? '' : ' (skipped: caddy is not installed)'}`,
      async () => {
        const scenario = path.join(tmp, 'chromium-caddy.yaml');
        writeFileSync(scenario, CADDY_SCENARIO);
        const out = path.join(tmp, 'results-caddy');
        const { code, stdout, stderr } = await h3bench(['run', scenario, '--out', out]);
        expect(code, `${stdout}\n${stderr}`).toBe(0);
        const dir = path.join(out, readdirSync(out)[0] ?? '');
        const result = JSON.parse(readFileSync(path.join(dir, 'result.json'), 'utf8')) as ResultFile;
        expect(result.scenario.stacks).toMatchObject({ client: 'chromium', server: 'caddy' });
        const rows: string[] = [];
        for (const run of result.runs) {
          const p = run.protocol;
          expect(run.error, `${p}: ${run.error ?? ''}`).toBeNull();
          const b = run.client?.browser;
          if (b === undefined) throw new Error(`${p}: no browser report`);
          for (const r of b.resources) expect(r.nextHopProtocol, r.name).toBe(NEXT_HOP_PROTOCOL[p]);
          expect(run.client?.requests.map((r) => r.bytes)).toEqual([
            20_000,
            ...Array<number>(4).fill(10_000),
            ...Array<number>(6).fill(20_000),
          ]);
          expect(run.server?.settings['engine']).toBe('caddy');
          rows.push(`${p}  page complete ${(run.client?.metrics.pageLoadMs ?? NaN).toFixed(1)} ms`);
        }
        expect(result.runs.map((r) => r.protocol).sort()).toEqual(['h1', 'h2', 'h3']);
        console.log(`Chromium → Caddy over linkem, 40 ms RTT, 20 Mbit/s:\n${rows.join('\n')}`);
        expect(chromiumProcesses(out)).toEqual([]);
      },
      300_000,
    );

    it('a client killed with SIGKILL mid-load takes its Chromium with it; the run leaves no profile', async () => {
      const scenario = path.join(tmp, 'chromium-killed.yaml');
      writeFileSync(scenario, SLOW_SCENARIO);
      const out = path.join(tmp, 'killed');
      const running = h3bench(['run', scenario, '--out', out]);
      // The browser process of this run: the one without --type= (its children have one).
      let browser: { pid: number; ppid: number } | undefined;
      for (let i = 0; i < 240 && browser === undefined; i++) {
        await new Promise((r) => setTimeout(r, 250));
        browser = chromiumProcesses(out).find((p) => p.cmdline?.includes('--type=') === false);
      }
      if (browser === undefined) throw new Error(`no Chromium started: ${JSON.stringify(await running)}`);
      const client = readProcessTable().get(browser.ppid);
      expect(client?.cmdline).toMatch(/client-main\.js/);
      await new Promise((r) => setTimeout(r, 1000));
      expect(chromiumProcesses(out).length).toBeGreaterThan(1);
      process.kill(browser.ppid, 'SIGKILL');
      const t = Date.now();
      while (chromiumProcesses(out).length > 0 && Date.now() - t < 5000) {
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(chromiumProcesses(out).map((p) => `${p.pid} ${p.cmdline ?? ''}`)).toEqual([]);
      console.log(`Chromium's processes gone ${Date.now() - t} ms after its client was killed`);
      const r = await running;
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(1);
      expect(r.stdout).toMatch(/client exited with SIGKILL/);
      expect(profileDirs(out, true)).toEqual([]);
    }, 300_000);
  },
);
