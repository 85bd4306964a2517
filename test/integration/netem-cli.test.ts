/**
 * The compiled CLI over an emulated link (root only): a small linkem run end to end, SIGINT and
 * crash clean-up, `netem shell`, and the privilege error. Needs `npm run build` first.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ResultFile } from '../../harness/model/result.js';
import { listNamespaces } from '../../link/netns.js';
import { isAlive, readState } from '../../link/state.js';
import { sweepStale } from '../../link/topology.js';

const root = process.getuid?.() === 0;
const repo = path.resolve(import.meta.dirname, '../..');
const cli = path.join(repo, 'dist/harness/cli/main.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'h3bench-netem-cli-'));
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

function h3bench(
  args: string[],
  timeoutMs = 120_000,
  uid?: number,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const argv =
    uid === undefined
      ? [process.execPath, cli, ...args]
      : ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', process.execPath, cli, ...args];
  return new Promise((resolve) => {
    execFile(argv[0] ?? '', argv.slice(1), { cwd: repo, timeout: timeoutMs }, (err, stdout, stderr) => {
      const code =
        err === null
          ? 0
          : typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

function writeScenario(name: string, body: string): string {
  const file = path.join(tmp, `${name}.yaml`);
  writeFileSync(file, `name: ${name}\n${body}`);
  return file;
}

const E2E = `protocols: [h1, h2]
repetitions: 1
network:
  backend: linkem
  rtt: 40ms
  rate: 20mbit
  queue: 20ms
transport:
  pacing: false
workload:
  type: multiplex
  requests: 20
  size: 10KB
  concurrency: 5
`;

const LONG = `protocols: [h1, h2]
repetitions: 5
network:
  backend: linkem
  rtt: 40ms
  rate: 2mbit
transport:
  pacing: false
workload:
  type: multiplex
  requests: 200
  size: 50KB
  concurrency: 5
  timeout: 60s
`;

/** Start the CLI, resolve once its first run is under way (its namespaces are recorded). */
async function startLongRun(
  out: string,
): Promise<{ child: ChildProcess; namespaces: string[]; exit: Promise<number | null> }> {
  const file = writeScenario(`long-${path.basename(out)}`, LONG);
  const child = spawn(process.execPath, [cli, 'run', file, '--out', out], {
    cwd: repo,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exit = new Promise<number | null>((resolve) => {
    child.once('exit', (code, signal) => {
      resolve(code ?? (signal ? -1 : null));
    });
  });
  const deadline = Date.now() + 20_000;
  let namespaces: string[] = [];
  while (Date.now() < deadline) {
    const owner = readState().owners[String(child.pid)];
    namespaces = owner?.namespaces.filter((n) => n.startsWith('h3b-cli') || n.startsWith('h3b-srv')) ?? [];
    if (namespaces.length === 2 && (owner?.processes.length ?? 0) > 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(namespaces).toHaveLength(2);
  // Let the client's workload start.
  await new Promise((r) => setTimeout(r, 1500));
  return { child, namespaces, exit };
}

describe.skipIf(!root)('h3bench over an emulated link (needs root; skipped otherwise)', () => {
  it('runs h1 and h2 through linkem at 40 ms RTT and records the measured RTT', async () => {
    const out = path.join(tmp, 'e2e');
    const r = await h3bench(['run', writeScenario('e2e', E2E), '--out', out]);
    expect(r.stderr).toContain('backend linkem');
    expect(r.code).toBe(0);
    const dirs = readdirSync(out);
    expect(dirs).toHaveLength(1);
    const result = JSON.parse(
      readFileSync(path.join(out, dirs[0] ?? '', 'result.json'), 'utf8'),
    ) as ResultFile;
    expect(result.runs).toHaveLength(2);
    for (const run of result.runs) {
      expect(run.ok, run.error ?? '').toBe(true);
      const probe = run.link.probe;
      expect(probe?.ok, JSON.stringify(probe)).toBe(true);
      expect(probe?.configuredRttMs).toBeCloseTo(40.07, 1);
      expect(probe?.measuredRttMs.p50).toBeGreaterThan(40);
      expect(probe?.measuredRttMs.p50).toBeLessThan(42);
      expect(run.link.provenance?.backend).toBe('linkem');
      expect(run.link.provenance).toHaveProperty('sysctls');
      expect(run.link.provenance).toHaveProperty('kernel');
      expect(run.link.counters).toHaveProperty('linkem');
      // A lossless link with a queue no run fills: the emulator dropped nothing, and the loss log
      // was read (an empty list, not absent) and moved out of the counters.
      expect(run.link.lossTimesMs).toEqual([]);
      expect(run.link.counters).not.toHaveProperty('dropTimesMonotonicMs');
      // Every request crossed the link: handshakes take at least one RTT.
      for (const c of run.client?.connections ?? []) {
        if (c.tHandshakeDone !== null) expect(c.tHandshakeDone - c.tStart).toBeGreaterThanOrEqual(40);
      }
    }
    const left = await listNamespaces();
    for (const run of result.runs) {
      for (const n of run.link.provenance?.topology?.namespaces ?? []) expect(left).not.toContain(n);
    }
  });

  it('stops on SIGINT, exits 130 and leaves nothing of the run behind', async () => {
    const out = path.join(tmp, 'sigint');
    const { child, namespaces, exit } = await startLongRun(out);
    const linkem = readState().owners[String(child.pid)]?.processes ?? [];
    child.kill('SIGINT');
    const code = await Promise.race([
      exit,
      new Promise<'timeout'>((r) => {
        setTimeout(() => {
          r('timeout');
        }, 20_000);
      }),
    ]);
    if (code === 'timeout') {
      // Hung: kill it and remove what it left, so a failure here leaves nothing behind either.
      child.kill('SIGKILL');
      await exit;
      await sweepStale();
    }
    expect(code).toBe(130);
    const left = await listNamespaces();
    for (const n of namespaces) expect(left).not.toContain(n);
    for (const p of linkem) expect(isAlive(p.pid, p.startTime)).toBe(false);
    expect(readState().owners[String(child.pid)]).toBeUndefined();
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
  });

  it('cleanup removes what a killed run left behind', async () => {
    const out = path.join(tmp, 'crash');
    const { child, namespaces, exit } = await startLongRun(out);
    child.kill('SIGKILL');
    await exit;
    expect(await listNamespaces()).toEqual(expect.arrayContaining(namespaces));
    const dry = await h3bench(['cleanup', '--dry-run', '--older-than', '3600']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`would remove leftovers of h3bench pid ${String(child.pid)}`);
    const r = await h3bench(['cleanup', '--older-than', '3600']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`removed leftovers of h3bench pid ${String(child.pid)}`);
    const left = await listNamespaces();
    for (const n of namespaces) expect(left).not.toContain(n);
    expect(readState().owners[String(child.pid)]).toBeUndefined();
  });

  it('netem shell runs a command in the client namespace against a --server command, and returns its exit code', async () => {
    const profile = path.join(tmp, 'shell-profile.yaml');
    writeFileSync(profile, 'network:\n  backend: linkem\n  rtt: 20ms\n');
    const server = `${process.execPath} -e "require('net').createServer((s) => s.end('pong')).listen(9000, process.env.H3BENCH_SERVER)"`;
    const client = `const t = Date.now(); const s = require('net').connect(9000, process.env.H3BENCH_SERVER); let d = ''; s.on('data', (x) => (d += x)); s.on('end', () => { console.log(d, process.env.H3BENCH_SERVER, Date.now() - t); process.exit(7); });`;
    const before = await listNamespaces();
    const r = await h3bench([
      'netem',
      'shell',
      profile,
      '--server',
      server,
      '--',
      process.execPath,
      '-e',
      client,
    ]);
    expect(r.stderr).toContain('link up (linkem)');
    expect(r.code).toBe(7);
    const [word, addr, ms] = r.stdout.trim().split(' ');
    expect([word, addr]).toEqual(['pong', '198.18.0.2']);
    // TCP connect + response: at least two round trips of 20 ms.
    expect(Number(ms)).toBeGreaterThanOrEqual(40);
    const after = await listNamespaces();
    expect(
      after.filter((n) => !before.includes(n) && (n.startsWith('h3b-cli') || n.startsWith('h3b-srv'))),
    ).toEqual([]);
  });

  it('netem shell rejects a missing command and a bad --server value with exit 2', async () => {
    const profile = path.join(tmp, 'shell-profile2.yaml');
    writeFileSync(profile, 'network:\n  backend: linkem\n  rtt: 20ms\n');
    expect((await h3bench(['netem', 'shell', profile])).code).toBe(2);
    const bad = await h3bench(['netem', 'shell', profile, '--server', "sleep '1", '--', 'true']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--server: value error');
  });

  it('says what is missing, with exit 3, when not root; backend none still works', async () => {
    const dir = path.join(tmp, 'nobody');
    mkdirSync(dir, { recursive: true });
    chmodSync(tmp, 0o755);
    chmodSync(dir, 0o777);
    const file = writeScenario('np', E2E);
    chmodSync(file, 0o644);
    const r = await h3bench(['run', file, '--out', path.join(dir, 'a')], 60_000, 65534);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/need root|CAP_NET_ADMIN/);
    expect(r.stderr).toContain('network.backend: none');
    const none = writeScenario(
      'np-none',
      'protocols: [h1]\nrepetitions: 1\nworkload: { type: multiplex, requests: 5 }\n',
    );
    chmodSync(none, 0o644);
    expect((await h3bench(['run', none, '--out', path.join(dir, 'b')], 60_000, 65534)).code).toBe(0);
  });
});
