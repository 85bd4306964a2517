/**
 * The orchestrator: plan → for each run (fresh link, fresh server and client processes) → result
 * files. Everything is written to a temporary directory first and renamed into place only when
 * complete, so an interrupted or failed run never leaves a half result behind.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { H3BenchError, RunError, toError } from '../../core/errors.js';
import type { ClientReport } from '../model/records.js';
import { captureEnvironment } from '../measure/env.js';
import { isOk } from '../measure/outcome.js';
import { projectRoot } from '../../core/paths.js';
import { SERVER_NAME, generateTlsMaterial, type TlsMaterial } from '../proto/tls.js';
import { renderAll } from '../report/index.js';
import { RESULT_SCHEMA_VERSION, type ResultFile, type RunRecord } from '../model/result.js';
import { summarize } from '../measure/result-summary.js';
import type { LoadedScenario } from '../scenario/load.js';
import type { Scenario } from '../scenario/schema.js';
import { linkUp, type LinkHandle } from '../../link/index.js';
import { launch } from './launcher.js';
import type { ClientConfig, ServerConfig, ServerEvent } from '../model/messages.js';
import { planRuns, type PlannedRun } from './plan.js';

const execFileP = promisify(execFile);

/** How long a server may take to report ready. */
const SERVER_READY_TIMEOUT_MS = 20_000;
/** How long a server may take to stop and report. */
const SERVER_STOP_TIMEOUT_MS = 5_000;

export interface ProgressEvent {
  run: PlannedRun;
  total: number;
  phase: 'start' | 'done';
  elapsedMs: number;
  record?: RunRecord;
}

export interface RunOptions {
  /** Directory under which `<run-id>/` is created. */
  outRoot: string;
  onProgress?: (ev: ProgressEvent) => void;
  /** Aborting stops the run, cleans up, and rejects with the abort reason. */
  signal?: AbortSignal;
}

export interface RunOutcome {
  result: ResultFile;
  /** Final directory holding result.json and the reports. */
  dir: string;
}

async function shortCommit(): Promise<string> {
  try {
    const { stdout } = await execFileP('git', ['rev-parse', '--short=7', 'HEAD'], { cwd: projectRoot() });
    return stdout.trim() || 'nogit';
  } catch {
    return 'nogit';
  }
}

function timestamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

/** Lines of JSON from a child's stdout, as an async queue of events. */
function serverEvents(child: ChildProcess): { next(timeoutMs: number): Promise<ServerEvent> } {
  const queue: ServerEvent[] = [];
  const waiters: ((ev: ServerEvent | Error) => void)[] = [];
  let ended: Error | null = null;
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const push = (ev: ServerEvent | Error) => {
    const w = waiters.shift();
    if (w) w(ev);
    else if (!(ev instanceof Error)) queue.push(ev);
  };
  if (child.stdout) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        push(JSON.parse(line) as ServerEvent);
      } catch {
        /* not an event line: ignore */
      }
    });
  }
  child.once('exit', (code, sig) => {
    ended = new Error(
      `server exited (${sig ?? `code ${String(code)}`})${stderr ? `: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`,
    );
    // Let pending stdout lines arrive first.
    setImmediate(() => {
      while (waiters.length) waiters.shift()?.(ended as Error);
    });
  });
  return {
    next: (timeoutMs) =>
      new Promise((resolve, reject) => {
        const ev = queue.shift();
        if (ev) {
          resolve(ev);
          return;
        }
        if (ended) {
          reject(ended);
          return;
        }
        const timer = setTimeout(() => {
          const i = waiters.indexOf(cb);
          if (i >= 0) waiters.splice(i, 1);
          reject(new Error(`server did not answer within ${timeoutMs} ms`));
        }, timeoutMs);
        const cb = (v: ServerEvent | Error) => {
          clearTimeout(timer);
          if (v instanceof Error) reject(v);
          else resolve(v);
        };
        waiters.push(cb);
      }),
  };
}

function waitExit(child: ChildProcess, timeoutMs: number): Promise<{ code: number | null; stderr: string }> {
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      stderr += `\nkilled after ${timeoutMs} ms`;
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

/**
 * The emulator's drop times on the client's timeline (ms since t0), for the HOL analysis; drops
 * before t0 (the fidelity probe's) are left out.
 */
export function lossTimes(
  dropTimesMonotonicMs: readonly number[] | null,
  client: ClientReport | null,
): number[] | undefined {
  if (dropTimesMonotonicMs === null || client?.t0MonotonicNs === undefined) return undefined;
  const t0 = Number(BigInt(client.t0MonotonicNs) / 1000n) / 1000;
  return dropTimesMonotonicMs.map((t) => Math.round((t - t0) * 1000) / 1000).filter((t) => t >= 0);
}

/**
 * The emulator seed of one repetition: every protocol of a repetition sees the same random draws
 * (common random numbers), and repetitions differ, so they are independent samples of the loss
 * and jitter processes rather than one pattern replayed.
 */
export function withRepetitionSeed(s: Scenario, repetition: number): Scenario {
  const seed = (s.network.profile.seed + Math.imul(repetition, 0x9e3779b1)) >>> 0;
  return { ...s, network: { ...s.network, profile: { ...s.network.profile, seed } } };
}

/** Upper bound on a client's run time, from its workload. */
export function clientDeadlineMs(s: Scenario): number {
  const w = s.workload;
  let rounds: number;
  switch (w.type) {
    case 'multiplex':
    case 'cold':
      rounds = Math.ceil(w.requests / Math.max(1, Math.min(w.concurrency, w.requests)));
      break;
    case 'page-load':
      rounds = 1 + w.waves.length;
      break;
    case 'bulk':
      rounds = 1;
      break;
    case 'rpc':
      rounds = Math.ceil(w.durationMs / w.timeoutMs) + 1;
      break;
  }
  return Math.min(w.timeoutMs * (rounds + 1) + 30_000, 6 * 3600_000);
}

async function runOne(
  s: Scenario,
  planned: PlannedRun,
  tls: TlsMaterial,
  workDir: string,
  signal: AbortSignal | undefined,
): Promise<RunRecord> {
  const dir = path.join(workDir, `run-${planned.index}`);
  await mkdir(dir, { recursive: true });
  const record: RunRecord = {
    ...planned,
    ok: false,
    error: null,
    client: null,
    server: null,
    link: { provenance: null, probe: null, counters: {} },
  };
  let link: LinkHandle | undefined;
  let server: ChildProcess | undefined;
  let client: ChildProcess | undefined;
  const onAbort = () => {
    server?.kill('SIGKILL');
    client?.kill('SIGKILL');
  };
  signal?.addEventListener('abort', onAbort);
  try {
    link = await linkUp(s.network, s.transport, {
      workDir: dir,
      signal,
    });
    record.link.provenance = link.provenance();
    record.link.probe = await link.probe();
    signal?.throwIfAborted();

    const serverCfg: ServerConfig = {
      protocol: planned.protocol,
      host: link.serverAddress,
      port: 0,
      certPem: tls.certPem,
      keyPem: tls.keyPem,
      transport: s.transport,
    };
    const serverFile = path.join(dir, 'server.json');
    await writeFile(serverFile, JSON.stringify(serverCfg), { mode: 0o600 });
    server = launch({ module: 'harness/runner/server-main.js', args: [serverFile], netns: link.serverNetns });
    const events = serverEvents(server);
    const ready = await events.next(SERVER_READY_TIMEOUT_MS);
    if (ready.event !== 'ready') {
      throw new RunError(`server did not start: ${ready.event === 'error' ? ready.message : ready.event}`);
    }

    const reportFile = path.join(dir, 'client-report.json');
    const clientCfg: ClientConfig = {
      protocol: planned.protocol,
      host: link.serverAddress,
      port: ready.port,
      serverName: SERVER_NAME,
      caPem: tls.caPem,
      transport: s.transport,
      workload: s.workload,
      // The same seed for every protocol of a repetition: same rpc arrival schedule.
      seed: (s.seed + planned.repetition * 7919) >>> 0,
      reportFile,
    };
    const clientFile = path.join(dir, 'client.json');
    await writeFile(clientFile, JSON.stringify(clientCfg));
    client = launch({
      module: 'harness/runner/client-main.js',
      args: [clientFile],
      netns: link.clientNetns,
      stdout: 'ignore',
    });
    const exit = await waitExit(client, clientDeadlineMs(s));
    signal?.throwIfAborted();
    if (exit.code !== 0) {
      throw new RunError(
        `client exited with code ${String(exit.code)}: ${exit.stderr.trim().split('\n').slice(-3).join(' | ')}`,
      );
    }
    record.client = JSON.parse(await readFile(reportFile, 'utf8')) as ClientReport;

    server.stdin?.write('stop\n');
    const stopped = await events.next(SERVER_STOP_TIMEOUT_MS);
    if (stopped.event === 'stopped') record.server = stopped.report;

    const failed = record.client.requests.filter((r) => !isOk(r));
    if (failed.length > s.workload.allowedFailures) {
      const first = failed[0];
      record.error = `${failed.length} of ${record.client.requests.length} requests failed (allowed: ${s.workload.allowedFailures}); first: request ${first?.id ?? '?'}: ${first?.error ?? ''}`;
    } else {
      record.ok = true;
    }
  } catch (err) {
    signal?.throwIfAborted();
    if (err instanceof H3BenchError && !(err instanceof RunError)) throw err;
    record.error = toError(err).message;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    // A child killed by a signal keeps exitCode null: check signalCode too, or this waits forever.
    if (server && server.exitCode === null && server.signalCode === null) {
      server.kill('SIGKILL');
      await once(server, 'exit').catch(() => undefined);
    }
    if (client && client.exitCode === null) client.kill('SIGKILL');
    if (link) {
      const down = await link.down();
      record.link.counters = down.counters;
      const loss = lossTimes(down.dropTimesMonotonicMs, record.client);
      if (loss !== undefined) record.link.lossTimesMs = loss;
    }
  }
  return record;
}

export async function runScenario(loaded: LoadedScenario, opts: RunOptions): Promise<RunOutcome> {
  const s = loaded.scenario;
  const started = new Date();
  const runId = `${timestamp(started)}-${s.name}-${await shortCommit()}`;
  await mkdir(opts.outRoot, { recursive: true });
  const tmp = path.join(opts.outRoot, `.tmp-${runId}-${process.pid}`);
  const workDir = path.join(tmp, 'work');
  await mkdir(workDir, { recursive: true });
  try {
    const environment = await captureEnvironment();
    const tls = generateTlsMaterial();
    environment.tlsCertificateSha256 = tls.fingerprint256;
    const plan = planRuns(s.protocols, s.repetitions, s.seed, s.sweep ? loaded.points.length : 0);
    const runs: RunRecord[] = [];
    const t0 = performance.now();
    for (const planned of plan) {
      opts.signal?.throwIfAborted();
      opts.onProgress?.({
        run: planned,
        total: plan.length,
        phase: 'start',
        elapsedMs: performance.now() - t0,
      });
      const point = withRepetitionSeed(loaded.points[planned.sweepIndex ?? 0] ?? s, planned.repetition);
      const record = await runOne(point, planned, tls, workDir, opts.signal);
      runs.push(record);
      opts.onProgress?.({
        run: planned,
        total: plan.length,
        phase: 'done',
        elapsedMs: performance.now() - t0,
        record,
      });
    }
    const result: ResultFile = {
      schemaVersion: RESULT_SCHEMA_VERSION,
      runId,
      createdAt: started.toISOString(),
      scenarioFile: path.relative(projectRoot(), loaded.file) || loaded.file,
      scenarioHash: loaded.hash,
      scenario: s,
      environment,
      runs,
      summary: summarize(s.protocols, runs, s),
    };
    // Key material and child configs never reach the results directory.
    await rm(workDir, { recursive: true, force: true });
    for (const [name, content] of Object.entries(await renderAll(result, s.report.formats))) {
      await writeFile(path.join(tmp, name), content);
    }
    let dir = path.join(opts.outRoot, runId);
    for (let i = 2; ; i++) {
      try {
        await rename(tmp, dir);
        break;
      } catch (err) {
        if (
          (err as NodeJS.ErrnoException).code !== 'ENOTEMPTY' &&
          (err as NodeJS.ErrnoException).code !== 'EEXIST'
        )
          throw err;
        dir = path.join(opts.outRoot, `${runId}-${i}`);
      }
    }
    return { result, dir };
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}
