/**
 * kill -9 of a running `h3bench run` leaves nothing running: its server, client and emulator end on
 * their own within 2 s (they watch their parent; linkem has PR_SET_PDEATHSIG). What cannot end by
 * itself (namespaces, host sysctls, the `.tmp-*` directory) is removed by the next `h3bench cleanup`
 * or `h3bench run`; the runs finished before the kill (checkpointed in the `.tmp-*` directory) become
 * a partial result instead of being removed. Needs root (namespaces, emulated link).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { isAlive, readState } from '../../link/state.js';
import { listNamespaces } from '../../link/netns.js';
import { readResult } from '../../harness/report/read.js';

const execFileP = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
const cli = path.join(root, 'dist/harness/cli/main.js');
const isRoot = process.getuid?.() === 0;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'h3bench-orphans-'));
const started: ChildProcess[] = [];
afterAll(async () => {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  // Whatever a failed assertion left: the dead runs' namespaces, sysctls and .tmp dirs.
  if (isRoot) {
    await execFileP(process.execPath, [cli, 'cleanup', '--out', tmp, '--older-than', '3600']).catch(
      () => undefined,
    );
  }
  rmSync(tmp, { recursive: true, force: true });
});

/** Children of `pid` (from /proc), with their command line. */
function childrenOf(pid: number): { pid: number; cmd: string }[] {
  const out: { pid: number; cmd: string }[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== pid) continue;
      out.push({ pid: Number(d), cmd: readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ') });
    } catch {
      /* gone */
    }
  }
  return out;
}

/** Running (not a zombie) with the same start time. */
function running(p: { pid: number; startTime: string }): boolean {
  if (!isAlive(p.pid, p.startTime)) return false;
  try {
    const stat = readFileSync(`/proc/${p.pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function startTime(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
}

function kind(cmd: string): string {
  if (cmd.includes('server-main')) return 'server';
  if (cmd.includes('client-main')) return 'client';
  if (cmd.includes('linkem')) return 'linkem';
  return cmd.slice(0, 40);
}

const SCENARIO = [
  'name: orphans',
  'protocols: [h2]',
  'repetitions: 3',
  // A slow link: the client is still transferring when the orchestrator is killed.
  'network: { backend: auto, rtt: 20ms, rate: 2mbit }',
  'workload: { type: bulk, size: 5MB, timeout: 60s }',
  '',
].join('\n');

/**
 * Start `h3bench run`, wait until the client of its run number `run` runs (the runs before it have
 * finished), SIGKILL it; returns what it had started.
 */
async function killRunMidway(
  out: string,
  run = 1,
): Promise<{
  pid: number;
  namespaces: string[];
  children: { pid: number; startTime: string; kind: string }[];
  goneAfterMs: Record<string, number>;
}> {
  const file = path.join(tmp, 'orphans.yaml');
  writeFileSync(file, SCENARIO);
  const cliProc = spawn(process.execPath, [cli, 'run', file, '--out', out], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  started.push(cliProc);
  let stderr = '';
  cliProc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const pid = cliProc.pid ?? 0;
  const deadline = Date.now() + 60_000 * run;
  const clients = new Set<number>();
  let kids = childrenOf(pid);
  for (;;) {
    for (const k of kids) if (k.cmd.includes('client-main')) clients.add(k.pid);
    if (clients.size >= run && kids.some((k) => k.cmd.includes('client-main'))) break;
    if (Date.now() > deadline || cliProc.exitCode !== null) {
      throw new Error(`no client of run ${run} started: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
    kids = childrenOf(pid);
  }
  const children = kids.map((k) => ({ pid: k.pid, startTime: startTime(k.pid), kind: kind(k.cmd) }));
  const namespaces = readState().owners[String(pid)]?.namespaces ?? [];
  const exited = once(cliProc, 'exit');
  const t0 = Date.now();
  cliProc.kill('SIGKILL');
  await exited;
  const goneAfterMs: Record<string, number> = {};
  while (Date.now() - t0 < 5000 && children.some((c) => !(c.kind in goneAfterMs))) {
    for (const c of children)
      if (!(c.kind in goneAfterMs) && !running(c)) goneAfterMs[c.kind] = Date.now() - t0;
    await new Promise((r) => setTimeout(r, 10));
  }
  return { pid, namespaces, children, goneAfterMs };
}

describe.skipIf(!isRoot)('kill -9 of h3bench run (root)', () => {
  it('leaves no server, client or emulator running after 2 s; cleanup removes the rest', async () => {
    const out = path.join(tmp, 'cleanup');
    const k = await killRunMidway(out);
    console.log(`orphans gone after (ms): ${JSON.stringify(k.goneAfterMs)}`);
    expect(k.children.map((c) => c.kind)).toEqual(expect.arrayContaining(['server', 'client']));
    for (const c of k.children) {
      expect(running(c), `${c.kind} ${c.pid} still running`).toBe(false);
      expect(k.goneAfterMs[c.kind], c.kind).toBeLessThan(2000);
    }
    // Left behind until someone cleans: the namespaces and the temporary directory.
    expect(k.namespaces.length).toBeGreaterThan(0);
    const tmpDirs = readdirSync(out).filter((d) => d.startsWith('.tmp-'));
    expect(tmpDirs).toHaveLength(1);
    const r = await execFileP(process.execPath, [cli, 'cleanup', '--out', out, '--older-than', '3600']);
    expect(r.stdout).toContain(`leftovers of h3bench pid ${k.pid}`);
    expect(r.stdout).toContain(`removed ${path.join(out, tmpDirs[0] ?? '')}`);
    expect(readdirSync(out)).toEqual([]);
    const left = new Set(await listNamespaces());
    for (const n of k.namespaces) expect(left.has(n), n).toBe(false);
    const state = readState();
    expect(state.owners[String(k.pid)]).toBeUndefined();
    // Host sysctls are restored once no live h3bench holds namespaces (others may be running).
    const busy = Object.values(state.owners).some(
      (o) => isAlive(o.pid, o.startTime) && o.namespaces.length > 0,
    );
    if (!busy) expect(state.host).toEqual({});
  }, 120_000);

  it('cleanup turns the runs finished before the kill into a partial result', async () => {
    const out = path.join(tmp, 'salvage');
    // Killed during run 2 of 3: run 1 has finished (and is checkpointed), run 2 is lost.
    const k = await killRunMidway(out, 2);
    for (const c of k.children) expect(running(c), `${c.kind} ${c.pid} still running`).toBe(false);
    const tmpDirs = readdirSync(out).filter((d) => d.startsWith('.tmp-'));
    expect(tmpDirs).toHaveLength(1);
    const r = await execFileP(process.execPath, [cli, 'cleanup', '--out', out, '--older-than', '3600']);
    expect(r.stdout).toContain(`leftovers of h3bench pid ${k.pid}`);
    expect(r.stdout).toContain(
      `salvaged 1 of 3 runs of h3bench process ${k.pid}, which is gone, from ${path.join(out, tmpDirs[0] ?? '')} into `,
    );
    const dirs = readdirSync(out);
    expect(dirs).toHaveLength(1);
    const dir = path.join(out, dirs[0] ?? '');
    expect(dirs[0]).toMatch(/-orphans-.*-partial$/);
    const result = readResult(dir);
    expect(result.partial).toEqual({
      reason: `the orchestrator (pid ${k.pid}) died after 1 of 3 runs`,
      runsPlanned: 3,
      runsDone: 1,
    });
    expect(result.runs.map((x) => [x.index, x.ok])).toEqual([[0, true]]);
    expect(result.runs[0]?.link.provenance?.backend).not.toBe('none');
    // Published as a run publishes: reports, no key material (work/), checkpoint or owner file.
    const files = readdirSync(dir);
    expect(files).toContain('report.md');
    for (const f of ['work', 'owner', 'checkpoint.json', 'runs.jsonl']) expect(files).not.toContain(f);
    const left = new Set(await listNamespaces());
    for (const n of k.namespaces) expect(left.has(n), n).toBe(false);
  }, 180_000);

  it('the next h3bench run cleans what a killed run left and says so', async () => {
    const out = path.join(tmp, 'next-run');
    const k = await killRunMidway(out);
    for (const c of k.children) expect(k.goneAfterMs[c.kind], c.kind).toBeLessThan(2000);
    const loop = path.join(tmp, 'loop.yaml');
    writeFileSync(
      loop,
      'name: after\nprotocols: [h1]\nnetwork: { backend: none }\nworkload: { type: multiplex, requests: 5, size: 1KB }\n',
    );
    const r = await execFileP(process.execPath, [cli, 'run', loop, '--out', out], { cwd: root });
    expect(r.stderr).toContain(`the temporary directory of h3bench process ${k.pid}, which is gone`);
    expect(r.stderr).toContain(`cleaned up after h3bench process ${k.pid}`);
    expect(readdirSync(out).filter((d) => d.startsWith('.tmp-'))).toEqual([]);
    expect(readdirSync(out).some((d) => d.includes('-after-'))).toBe(true);
    const left = new Set(await listNamespaces());
    for (const n of k.namespaces) expect(left.has(n), n).toBe(false);
    expect(existsSync(path.join(out, readdirSync(out)[0] ?? '', 'result.json'))).toBe(true);
  }, 120_000);
});

describe.skipIf(isRoot)('kill -9 of h3bench run', () => {
  it.skip('needs root: namespaces and an emulated link (run the integration tests as root)', () => undefined);
});
