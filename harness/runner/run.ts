/**
 * The orchestrator: plan → for each run (fresh link, fresh server and client processes) → result
 * files. Everything is written to a temporary directory first (`<out>/.tmp-<run-id>-<pid>/`) and
 * renamed into place when the result is written.
 *
 * Nothing finished is lost: any failure while running one run — the link not coming up, the
 * emulator crashing, the server not starting, a process crash, too many failed requests — fails
 * that run (its `RunRecord.error` says why, with the cause) and the scenario goes on. Only
 * MAX_CONSECUTIVE_INFRA_FAILURES infrastructure failures in a row (the machine, not the protocol:
 * nothing later would work either) stop it early; then, and on an interrupt (the AbortSignal), the
 * runs finished so far are written as a partial result (`ResultFile.partial`, directory
 * `<run-id>-partial`). A run in progress when interrupted is not kept.
 *
 * Each finished run is also appended durably to a checkpoint in the temporary directory
 * (checkpoint.ts): when the orchestrator itself is killed (SIGKILL, a crash, a power cut), the next
 * run or `h3bench cleanup` turns the runs it had finished into a partial result (salvage.ts).
 *
 * At start, what dead runs left behind is cleaned: `.tmp-*` directories of dead processes in the
 * output directory (salvaged when they hold finished runs, removed otherwise), and (as root) the
 * namespaces, emulators and host sysctls of dead h3bench processes; without root, a notice says to
 * run `h3bench cleanup`.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { RunError, UsageError, toError } from '../../core/errors.js';
import type { ClientReport } from '../model/records.js';
import type { TelemetrySeries } from '../model/telemetry.js';
import { captureEnvironment } from '../measure/env.js';
import { isOk } from '../measure/outcome.js';
import { projectRoot } from '../../core/paths.js';
import { SERVER_NAME, generateTlsMaterial, type TlsMaterial } from '../proto/tls.js';
import { TRANSPORT_OF } from '../proto/types.js';
import { startTcpTelemetry, type TcpTelemetry } from './tcp-telemetry.js';
import { buildTcpstatIfNeeded } from '../../link/linkem/build.js';
import {
  RESULT_SCHEMA_VERSION,
  type Environment,
  type HostRecord,
  type PartialRun,
  type PlanRecord,
  type PlannedRun,
  type ResultFile,
  type ResumeRecord,
  type RunRecord,
  type ShardMark,
  type StopReason,
  type StoppingRecord,
} from '../model/result.js';
import { runInput, summarize, workloadRuns } from '../measure/result-summary.js';
import { analyzeRun } from '../measure/analysis.js';
import {
  lookConfidence,
  lookCount,
  stopDecision,
  stoppingContrasts,
  targetReached,
} from '../measure/stopping.js';
import type { RunMetrics } from '../model/metrics.js';
import type { LoadedScenario } from '../scenario/load.js';
import { SCENARIO_DEFAULTS, type Scenario } from '../scenario/schema.js';
import { pageOf, responseSizes, wavesByDepth } from '../scenario/workload.js';
import { checkPrivileges, linkUp as realLinkUp, type LinkHandle } from '../../link/index.js';
import { deadOwners } from '../../link/state.js';
import { sweepStaleOnce } from '../../link/topology.js';
import { checkEndpoints, endpointWarnings } from './endpoints.js';
import { launch } from './launcher.js';
import type { ClientConfig, ServerConfig } from '../model/messages.js';
import { killAndWait, lastLines, readClientReport, serverEvents, waitExit } from './children.js';
import {
  describePlanned,
  firstDifference,
  hostRecord,
  hostsWithRuns,
  repetitionSeeds,
  samePlannedRun,
  scenarioOfRun,
  shardProblem,
  shardRepetitions,
  showValue,
  sliceOf,
  studyPlan,
  withRepetitionSeed,
  type ShardSpec,
} from './plan.js';
import { createRunTemp } from './workdir.js';
import { appendRunRecord, writeCheckpoint, type CheckpointHeader, type ResultHeader } from './checkpoint.js';
import { PARTIAL_SUFFIX, UnpublishableResultError, WORK_DIR, publishResult } from './publish.js';
import { foreignLines, salvageStaleRunTemps, salvagedLines } from './salvage.js';

export { PARTIAL_SUFFIX, withRepetitionSeed };

const execFileP = promisify(execFile);

/** How long a server may take to report ready. */
const SERVER_READY_TIMEOUT_MS = 20_000;
/** How long a server may take to stop and report. */
const SERVER_STOP_TIMEOUT_MS = 5_000;

/**
 * Infrastructure failures in a row (the link did not come up, the emulator or the server failed
 * before the client ran) after which the scenario stops with a partial result. One or two are
 * recorded as failed runs and the scenario goes on (a transient failure costs one run, not the
 * hours of runs before it); three in a row mean the machine cannot run it, and going on would only
 * add failed runs.
 */
export const MAX_CONSECUTIVE_INFRA_FAILURES = 3;

export interface ProgressEvent {
  run: PlannedRun;
  /** Runs this session runs (a shard's, or those a resume has left; the plan's otherwise). */
  total: number;
  /** 1-based position of `run` among them. */
  position: number;
  phase: 'start' | 'done';
  elapsedMs: number;
  record?: RunRecord;
}

/** Brings one run's link up: `linkUp` of link/index.ts, or a stand-in in tests. */
export type LinkUpFn = typeof realLinkUp;

export interface RunOptions {
  /** Directory under which `<run-id>/` is created. */
  outRoot: string;
  onProgress?: (ev: ProgressEvent) => void;
  /** Things the user should know that are not a run's progress (stale state cleaned...). */
  onNotice?: (message: string) => void;
  /**
   * Aborting stops the run in progress and cleans it up; the runs finished before are written as a
   * partial result (rejects with the abort reason when none had finished).
   */
  signal?: AbortSignal;
  /** Test seam: how a run's link comes up (default: link/index.ts `linkUp`). */
  linkUp?: LinkUpFn;
  /**
   * Run one shard of the plan (`run --shard I/N`): the repetitions r with r mod N = I, each with all
   * of its runs (runner/plan.ts `shardRepetitions`); the result is marked with the shard.
   */
  shard?: ShardSpec;
  /**
   * Complete a partial result (`run --resume DIR`): run only the planned runs it lacks (see
   * `resumePlan`) and publish the completed result under its run id; the partial result is left as
   * it is.
   */
  resume?: { result: ResultFile; dir: string };
  /** Called once the session's runs are known, before anything is set up or run. */
  onPlanned?: (p: PlannedSession) => void;
}

/** What a session runs: the full plan, its slice (a shard's runs, or all), and the runs left to run. */
export interface PlannedSession {
  plan: readonly PlannedRun[];
  slice: readonly PlannedRun[];
  todo: readonly PlannedRun[];
  shard?: ShardMark;
  resume?: ResumePlan;
}

export interface RunOutcome {
  result: ResultFile;
  /** Final directory holding result.json and the reports. */
  dir: string;
  /** Set when the scenario stopped early on infrastructure failures: the last one. */
  abortedBy?: Error;
  /** Set when the reports other than result.json could not be rendered. */
  reportError?: Error;
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

/**
 * CLOCK_MONOTONIC times in ms (the emulator's log, the telemetry samplers: every namespace shares
 * the clock) as ms since the client's t0, 3 decimals; undefined without the client's t0.
 */
function sinceT0(client: ClientReport | null): ((t: number) => number) | undefined {
  if (client?.t0MonotonicNs === undefined) return undefined;
  const t0 = Number(BigInt(client.t0MonotonicNs) / 1000n) / 1000;
  return (t) => Math.round((t - t0) * 1000) / 1000;
}

/**
 * The emulator's drop times on the client's timeline (ms since t0), for the HOL analysis; drops
 * before t0 (the fidelity probe's) are left out.
 */
export function lossTimes(
  dropTimesMonotonicMs: readonly number[] | null,
  client: ClientReport | null,
): number[] | undefined {
  const at = sinceT0(client);
  if (dropTimesMonotonicMs === null || at === undefined) return undefined;
  return dropTimesMonotonicMs.map(at).filter((t) => t >= 0);
}

/**
 * Telemetry series as the samplers wrote them (CLOCK_MONOTONIC ms) moved onto the run's timeline.
 * Without the client's t0 the series cannot be placed and are dropped.
 */
export function onRunTimeline(
  series: readonly TelemetrySeries[],
  client: ClientReport | null,
): TelemetrySeries[] | undefined {
  const at = sinceT0(client);
  if (at === undefined) return undefined;
  return series.map((s) => ({ ...s, t: s.t.map(at) }));
}

/** Stops both samplers; what failed is added to `errors` (telemetry never fails a run). */
async function stopTcpTelemetry(
  t: { server: TcpTelemetry; client: TcpTelemetry },
  errors: string[],
): Promise<{ server: TelemetrySeries[]; client: TelemetrySeries[] }> {
  const stop = (x: TcpTelemetry, side: string) =>
    x.stop().catch((err: unknown) => {
      errors.push(`${side}: ${toError(err).message}`);
      return [];
    });
  const [server, client] = await Promise.all([stop(t.server, 'server'), stop(t.client, 'client')]);
  return { server, client };
}

/** Directory of a result holding the QUIC qlogs (`report.qlog: true`): qlog/run-<index>-<protocol>/. */
export const QLOG_DIR = 'qlog';

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
      rounds = 1 + wavesByDepth(w).length;
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

/** An error's message followed by its causes (`error.cause` chain), each once. */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    const msg = toError(e).message.trim();
    if (msg && !parts.some((p) => p.includes(msg))) parts.push(msg);
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.join('; cause: ') || 'unknown error';
}

/** Where in a run a failure happened: the first four are the infrastructure's. */
type Phase = 'setup' | 'link' | 'probe' | 'server' | 'client' | 'server-stop';
const PHASE_LABEL: Record<Phase, string> = {
  setup: 'run directory could not be created',
  link: 'link did not come up',
  probe: 'fidelity probe failed',
  server: 'server did not start',
  client: 'client failed',
  'server-stop': 'server did not stop cleanly',
};

/** The phases whose failure means the run's client never ran: it measured nothing. */
const BEFORE_CLIENT: readonly Phase[] = ['setup', 'link', 'probe', 'server'];

/**
 * Whether a recorded run failed before its client ran (its run directory, link, fidelity probe or
 * server; `RunRecord.error` starts with that phase's label): such a run measured nothing of the
 * protocol, so a resume runs it again. A run whose client ran and failed is a measurement and is kept.
 */
export function failedBeforeClient(r: Pick<RunRecord, 'ok' | 'error'>): boolean {
  if (r.ok || r.error === null) return false;
  const error = r.error;
  return BEFORE_CLIENT.some((p) => error.startsWith(`${PHASE_LABEL[p]}: `));
}

interface RunOneResult {
  record: RunRecord;
  /** The run failed before its client could run (link, emulator, server): not the protocol's doing. */
  infrastructureFailure: boolean;
  /** What made the run fail, when something was thrown. */
  cause?: Error;
}

async function runOne(
  s: Scenario,
  planned: PlannedRun,
  workloadSeed: number,
  tls: TlsMaterial,
  workDir: string,
  linkUp: LinkUpFn,
  signal: AbortSignal | undefined,
): Promise<RunOneResult> {
  const dir = path.join(workDir, `run-${planned.index}`);
  const record: RunRecord = {
    ...planned,
    ok: false,
    error: null,
    client: null,
    server: null,
    link: { provenance: null, probe: null, counters: {} },
  };
  let infrastructureFailure = false;
  let cause: Error | undefined;
  let phase: Phase = 'setup';
  let link: LinkHandle | undefined;
  let server: ChildProcess | undefined;
  let client: ChildProcess | undefined;
  const onAbort = () => {
    server?.kill('SIGKILL');
    client?.kill('SIGKILL');
  };
  signal?.addEventListener('abort', onAbort);
  // TCP sender telemetry (tcp_info sampled in each namespace); QUIC samples itself in the driver.
  let tcpTelemetry: { server: TcpTelemetry; client: TcpTelemetry } | undefined;
  const telemetryErrors: string[] = [];
  // qlogs live beside result.json (the work directory is removed on publication).
  const qlogDir =
    s.report.qlog && TRANSPORT_OF[planned.protocol] === 'udp'
      ? path.join(path.dirname(workDir), QLOG_DIR, `run-${planned.index}-${planned.protocol}`)
      : null;
  try {
    await mkdir(dir, { recursive: true });
    if (qlogDir !== null) await mkdir(qlogDir, { recursive: true });
    phase = 'link';
    link = await linkUp(s.network, s.transport, { workDir: dir, signal });
    const provenance = link.provenance();
    record.link.provenance = {
      ...provenance,
      warnings: [...provenance.warnings, ...endpointWarnings(s, planned.protocol)],
    };
    phase = 'probe';
    record.link.probe = await link.probe();
    signal?.throwIfAborted();

    phase = 'server';
    const serverCfg: ServerConfig = {
      protocol: planned.protocol,
      host: link.serverAddress,
      port: 0,
      certPem: tls.certPem,
      keyPem: tls.keyPem,
      transport: s.transport,
      scheduling: s.server.scheduling ?? SCENARIO_DEFAULTS.server.scheduling,
      qlogDir,
      h3Stack: s.stacks.h3,
      serverStack: s.stacks.server,
      page: pageOf(s.workload),
      bodySizes: responseSizes(s.workload),
    };
    const serverFile = path.join(dir, 'server.json');
    await writeFile(serverFile, JSON.stringify(serverCfg), { mode: 0o600 });
    // An abort while awaiting found no process to kill: launch none. From here until the listener
    // is removed, an abort finds `server` set (launch is synchronous) and kills it.
    signal?.throwIfAborted();
    server = launch({ module: 'harness/runner/server-main.js', args: [serverFile], netns: link.serverNetns });
    const events = serverEvents(server, `${planned.protocol} server`);
    const ready = await events.next(SERVER_READY_TIMEOUT_MS);
    if (ready.event !== 'ready') {
      throw new RunError(ready.event === 'error' ? ready.message : `unexpected event "${ready.event}"`);
    }

    if (TRANSPORT_OF[planned.protocol] === 'tcp') {
      const at = (netns: string | null, side: 'server' | 'client') =>
        startTcpTelemetry({ netns, port: ready.port, side, family: '4' });
      tcpTelemetry = { server: at(link.serverNetns, 'server'), client: at(link.clientNetns, 'client') };
      // Sampling has begun before the client connects (a failure is recorded, never fatal).
      await Promise.all(
        [tcpTelemetry.server, tcpTelemetry.client].map((t) =>
          t.ready().catch((err: unknown) => telemetryErrors.push(toError(err).message)),
        ),
      );
    }

    phase = 'client';
    const reportFile = path.join(dir, 'client-report.json');
    const clientCfg: ClientConfig = {
      protocol: planned.protocol,
      host: link.serverAddress,
      port: ready.port,
      serverName: SERVER_NAME,
      caPem: tls.caPem,
      certPem: tls.certPem,
      transport: s.transport,
      workload: s.workload,
      seed: workloadSeed,
      reportFile,
      qlogDir,
      h3Stack: s.stacks.h3,
      clientStack: s.stacks.client,
    };
    const clientFile = path.join(dir, 'client.json');
    await writeFile(clientFile, JSON.stringify(clientCfg));
    signal?.throwIfAborted();
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
        `${planned.protocol} client exited with ${exit.signal ?? `code ${String(exit.code)}`}: ${lastLines(exit.stderr)}`,
      );
    }
    record.client = await readClientReport(reportFile, `${planned.protocol} client`);
    const tcpSeries = tcpTelemetry ? await stopTcpTelemetry(tcpTelemetry, telemetryErrors) : undefined;

    phase = 'server-stop';
    server.stdin?.write('stop\n');
    const stopped = await events.next(SERVER_STOP_TIMEOUT_MS);
    if (stopped.event === 'stopped') record.server = stopped.report;
    if (tcpSeries !== undefined) {
      if (tcpSeries.client.length > 0) record.client.telemetry = tcpSeries.client;
      if (record.server !== null && tcpSeries.server.length > 0) record.server.telemetry = tcpSeries.server;
    }

    const failed = record.client.requests.filter((r) => !isOk(r));
    if (failed.length > s.workload.allowedFailures) {
      const first = failed[0];
      record.error = `${failed.length} of ${record.client.requests.length} requests failed (allowed: ${s.workload.allowedFailures}); first: request ${first?.id ?? '?'}: ${first?.error ?? ''}`;
    } else {
      record.ok = true;
    }
  } catch (err) {
    if (signal?.aborted) throw toError(signal.reason);
    // The link, the emulator or the server failed (any error class), or something other than the
    // protocol's processes failed later on: the infrastructure's, not the protocol's failure.
    infrastructureFailure =
      phase === 'setup' ||
      phase === 'link' ||
      phase === 'probe' ||
      phase === 'server' ||
      !(err instanceof RunError);
    record.ok = false;
    record.error = `${PHASE_LABEL[phase]}: ${describeError(err)}`;
    cause = toError(err);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await killAndWait(server);
    await killAndWait(client);
    // Idempotent: ends the samplers of a run that failed before they were stopped.
    if (tcpTelemetry) await stopTcpTelemetry(tcpTelemetry, []);
    if (telemetryErrors.length > 0) record.telemetryErrors = telemetryErrors;
    if (link) {
      const down = await link.down();
      record.link.counters = down.counters;
      const loss = lossTimes(down.dropTimesMonotonicMs, record.client);
      if (loss !== undefined) record.link.lossTimesMs = loss;
      const downLoss = lossTimes(down.downDropTimesMonotonicMs ?? null, record.client);
      if (downLoss !== undefined) record.link.downlinkLossTimesMs = downLoss;
    }
    for (const side of [record.client, record.server]) {
      if (side?.telemetry === undefined) continue;
      const placed = onRunTimeline(side.telemetry, record.client);
      if (placed === undefined) delete side.telemetry;
      else side.telemetry = placed;
    }
  }
  return cause ? { record, infrastructureFailure, cause } : { record, infrastructureFailure };
}

/**
 * Before anything runs: the backends need privileges (an EnvironmentError, exit 3, with nothing
 * written), and what dead runs left behind is cleaned or reported.
 */
async function prepare(loaded: LoadedScenario, outRoot: string, notice: (m: string) => void): Promise<void> {
  checkEndpoints(loaded);
  const backends = new Set(loaded.points.map((p) => p.network.backend));
  for (const b of backends) if (b !== 'none') await checkPrivileges(b);
  // The TCP telemetry helper (make setup builds it; the netem backend would not otherwise).
  if (loaded.points.some((p) => p.protocols.some((x) => TRANSPORT_OF[x] === 'tcp'))) {
    await buildTcpstatIfNeeded().catch((err: unknown) => {
      notice(`TCP telemetry will be missing: tcpstat could not be built: ${toError(err).message}`);
    });
  }
  const temps = await salvageStaleRunTemps(outRoot);
  for (const line of salvagedLines(temps.salvaged)) notice(line);
  for (const t of temps.removed)
    notice(`removed ${t.dir}, the temporary directory of h3bench process ${t.pid}, which is gone`);
  for (const e of temps.errors) notice(`could not salvage or remove a dead run's temporary directory: ${e}`);
  for (const line of foreignLines(temps.foreign)) notice(line);
  if (process.getuid?.() === 0) {
    const swept = await sweepStaleOnce();
    for (const o of swept.owners) {
      notice(
        `cleaned up after h3bench process ${o.pid} (${o.command}), which is gone: namespaces ${o.namespaces.join(', ') || '-'}, ${o.processes} process(es)`,
      );
    }
    for (const h of swept.restored) notice(`restored host sysctl ${h.name} to "${h.original}"`);
    for (const e of swept.errors) notice(`cleanup of a dead run: ${e}`);
  } else {
    const dead = deadOwners();
    if (dead.length > 0) {
      notice(
        `h3bench process(es) ${dead.map((o) => o.pid).join(', ')} died and left namespaces or host settings behind: run "sudo h3bench cleanup"`,
      );
    }
  }
}

/**
 * How many rounds ran and why, with the headline contrasts at the end (schema 6): for adaptive
 * repetitions at the confidence the stopping rule used (Bonferroni over its looks), for a fixed count
 * at the nominal 95%.
 */
export function stoppingRecord(
  s: Scenario,
  points: readonly Scenario[],
  runs: readonly RunRecord[],
  rounds: number,
  reason: StopReason,
): StoppingRecord {
  const a = s.adaptive;
  const confidence = a ? lookConfidence(a) : 0.95;
  const sweepPoints = s.sweep ? points.length : 0;
  // Attribution control runs are not the workload's: the rule never sees them.
  const metrics = workloadRuns(runs).map(
    (r) => analyzeRun(runInput(r, points[r.sweepIndex ?? 0] ?? s)).metrics,
  );
  const contrasts = stoppingContrasts(metrics, s.protocols, sweepPoints, confidence);
  return {
    reason: a ? reason : 'fixed',
    rounds,
    rule: a ? 'bonferroni-looks' : 'none',
    looks: a ? lookCount(a) : 1,
    confidence,
    ...(a ? { min: a.min, max: a.max, targetPct: a.targetPct, budgetMs: a.budgetMs } : {}),
    contrasts,
  };
}

/** What a resume runs and keeps (`resumePlan`). */
export interface ResumePlan {
  /** The shard of the partial result (and of the resumed one), if it was one. */
  shard?: ShardSpec;
  /** Runs of the partial result kept as they are (ok runs, and runs whose client ran and failed). */
  keep: RunRecord[];
  /** Runs of the partial result that failed before their client ran: run again, and recorded. */
  rerun: RunRecord[];
  /** The planned runs to run now, in the plan's order. */
  todo: PlannedRun[];
}

/**
 * What resuming the partial result `from` (directory `dir`) runs: it must be of this scenario (same
 * scenario hash), code commit and plan, its runs must be the plan's runs of its slice (its shard, or
 * the whole plan), and some planned run must be left. Runs that failed before their client ran are
 * run again (`failedBeforeClient`); every other recorded run, ok or failed, is kept as it is and
 * never run again. Throws a UsageError (exit 2) naming the first difference.
 */
export function resumePlan(
  loaded: Pick<LoadedScenario, 'scenario' | 'hash'>,
  plan: readonly PlannedRun[],
  planRecord: PlanRecord,
  from: ResultFile,
  dir: string,
  gitCommit: string | null,
  shard?: ShardSpec,
): ResumePlan {
  const bad = (why: string): never => {
    throw new UsageError(`--resume ${dir}: ${why}`);
  };
  if (from.scenarioHash !== loaded.hash) {
    const { report: _a, ...here } = loaded.scenario;
    const { report: _b, ...there } = from.scenario;
    const d = firstDifference(here, there);
    bad(
      `the result is of another scenario: its scenario hash is ${from.scenarioHash.slice(0, 12)}, this one's is ${loaded.hash.slice(0, 12)}` +
        (d ? ` (${d.path} is ${showValue(d.a)} here, ${showValue(d.b)} there)` : '') +
        '; give the scenario and the flags (--repetitions, --protocols, --seed, --profile, --h3-stack, --quick) the interrupted run had',
    );
  }
  if (from.environment.gitCommit !== gitCommit) {
    bad(
      `the result was run by code commit ${from.environment.gitCommit ?? '(none: not a git checkout)'}, this checkout is ${gitCommit ?? '(none: not a git checkout)'}: resume it with the code that ran it (check that commit out and rebuild)`,
    );
  }
  if (from.plan && from.plan.hash !== planRecord.hash) {
    bad(
      `the result's plan hash is ${from.plan.hash.slice(0, 12)}, this scenario's plan is ${planRecord.hash.slice(0, 12)}: the runs were planned differently`,
    );
  }
  const own: ShardSpec | undefined = from.shard
    ? { index: from.shard.index, count: from.shard.count }
    : undefined;
  if (shard && (own?.index !== shard.index || own.count !== shard.count)) {
    bad(
      `--shard ${shard.index}/${shard.count} was given, but the result is ${own ? `shard ${own.index}/${own.count}` : 'not a shard (it holds the whole plan)'}: the shard of a resume is the result's (leave --shard out)`,
    );
  }
  const slice = sliceOf(plan, own);
  const inSlice = new Map(slice.map((r) => [r.index, r]));
  const seen = new Set<number>();
  const keep: RunRecord[] = [];
  const rerun: RunRecord[] = [];
  for (const r of from.runs) {
    const planned = inSlice.get(r.index);
    if (!planned) {
      bad(
        `its run ${r.index + 1} (${describePlanned(r)}) is not one of the ${slice.length} planned runs of ${own ? `shard ${own.index}/${own.count}` : 'the plan'}`,
      );
    } else if (!samePlannedRun(r, planned)) {
      bad(`its run ${r.index + 1} is ${describePlanned(r)}, the plan's is ${describePlanned(planned)}`);
    }
    if (seen.has(r.index)) bad(`it holds run ${r.index + 1} twice`);
    seen.add(r.index);
    (failedBeforeClient(r) ? rerun : keep).push(r);
  }
  const kept = new Set(keep.map((r) => r.index));
  const todo = slice.filter((r) => !kept.has(r.index));
  if (todo.length === 0) {
    bad(
      `every planned run of ${own ? `shard ${own.index}/${own.count}` : 'the plan'} is in it (${keep.length} runs): nothing to resume`,
    );
  }
  return { ...(own ? { shard: own } : {}), keep, rerun, todo };
}

/** The run id of a new run: start time, scenario name, short commit, and the shard when sharded. */
function newRunId(started: Date, name: string, commit: string, shard: ShardSpec | undefined): string {
  return `${timestamp(started)}-${name}-${commit}${shard ? `-shard${shard.index}of${shard.count}` : ''}`;
}

export async function runScenario(loaded: LoadedScenario, opts: RunOptions): Promise<RunOutcome> {
  const s = loaded.scenario;
  const linkUp = opts.linkUp ?? realLinkUp;
  const notice = opts.onNotice ?? (() => undefined);
  const started = new Date();
  if (s.adaptive && (opts.shard || opts.resume)) {
    throw new UsageError(
      `${opts.shard ? '--shard' : '--resume'}: the scenario has adaptive repetitions (${s.adaptive.min}..${s.adaptive.max} rounds until a target), whose stopping rule looks at every round's runs together after each round, so they can be neither split across machines nor continued from a partial result: give a fixed count (--repetitions N)`,
    );
  }
  if (opts.shard) {
    const problem = shardProblem(opts.shard, s.repetitions);
    if (problem !== null) throw new UsageError(`--shard ${opts.shard.index}/${opts.shard.count}: ${problem}`);
  }
  // An adaptive run plans its max rounds (`s.repetitions` = `adaptive.max`): rounds are the plan's
  // repetitions in order, so the rounds it runs are those (seeds, order) of a fixed run of as many.
  const sweepPoints = s.sweep ? loaded.points.length : 0;
  const { runs: plan, record: planRecord } = studyPlan(s, loaded.hash, sweepPoints);
  const environment: Environment = { ...(await captureEnvironment()), hostname: os.hostname() };
  const resume = opts.resume
    ? resumePlan(
        loaded,
        plan,
        planRecord,
        opts.resume.result,
        opts.resume.dir,
        environment.gitCommit,
        opts.shard,
      )
    : undefined;
  const shard = resume ? resume.shard : opts.shard;
  const slice = sliceOf(plan, shard);
  // The runs this session runs (a resume: those the partial result lacks), in the plan's order.
  const todo = resume ? resume.todo : slice;
  const from = opts.resume?.result;
  const runId = from ? from.runId : newRunId(started, s.name, await shortCommit(), shard);
  const shardMark: ShardMark | undefined = shard
    ? { ...shard, repetitions: shardRepetitions(s.repetitions, shard) }
    : undefined;
  opts.onPlanned?.({
    plan,
    slice,
    todo,
    ...(shardMark ? { shard: shardMark } : {}),
    ...(resume ? { resume } : {}),
  });
  await prepare(loaded, opts.outRoot, notice);
  const tmp = await createRunTemp(opts.outRoot, runId);
  const workDir = path.join(tmp, WORK_DIR);
  await mkdir(workDir, { recursive: true });
  const kept = resume?.keep ?? [];
  const runs: RunRecord[] = [...kept];
  let checkpointed = false;
  try {
    const tls = generateTlsMaterial();
    environment.tlsCertificateSha256 = tls.fingerprint256;
    const session = { runId, createdAt: started.toISOString(), environment, shard: shardMark };
    // A resume keeps the partial result's start (the study's) and run id; the sessions that ran
    // its runs are its hosts, the last one this.
    const hosts: HostRecord[] | undefined =
      from && opts.resume
        ? [
            ...hostsWithRuns(
              [...(from.hosts ?? [hostRecord(from, from.runs)]), hostRecord(session, [])],
              kept,
            ),
          ]
        : undefined;
    const resumed: ResumeRecord | undefined =
      from && opts.resume && resume
        ? {
            fromRunId: from.runId,
            fromDir: path.basename(opts.resume.dir),
            at: started.toISOString(),
            kept: resume.keep.length,
            rerun: resume.rerun.map((r) => ({ index: r.index, error: r.error ?? '' })),
          }
        : undefined;
    const header: ResultHeader = {
      runId,
      createdAt: from ? from.createdAt : started.toISOString(),
      scenarioFile: from ? from.scenarioFile : path.relative(projectRoot(), loaded.file) || loaded.file,
      scenarioHash: loaded.hash,
      scenario: s,
      environment,
      plan: planRecord,
      ...(shardMark ? { shard: shardMark } : {}),
      ...(hosts ? { hosts } : {}),
      ...(resumed ? { resumed } : {}),
    };
    // What a result needs besides its runs, so that a killed orchestrator's finished runs can be
    // made a result (salvage.ts); each finished run is appended below (a resume's kept runs just
    // before its first new one: a salvage then holds them too, and a resume killed before it had
    // finished anything leaves nothing to salvage but its partial result, where it was).
    const checkpoint: CheckpointHeader = {
      runsPlanned: slice.length,
      result: header,
      orchestratorPid: process.pid,
    };
    await writeCheckpoint(tmp, checkpoint);
    checkpointed = true;
    let appendFailed = false;
    let newRuns = 0;
    const t0 = performance.now();
    let partial: PartialRun | undefined;
    let abortedBy: Error | undefined;
    const infraFailures: RunRecord[] = [];
    // Per-run metrics of the runs so far, for the stopping rule of adaptive repetitions.
    const metrics: RunMetrics[] = [];
    let stopReason: StopReason = 'fixed';
    let rounds = 0;
    try {
      for (const [i, planned] of todo.entries()) {
        opts.signal?.throwIfAborted();
        opts.onProgress?.({
          run: planned,
          total: todo.length,
          position: i + 1,
          phase: 'start',
          elapsedMs: performance.now() - t0,
        });
        const point = loaded.points[planned.sweepIndex ?? 0] ?? s;
        const seeds = repetitionSeeds(point, planned.repetition);
        const { record, infrastructureFailure, cause } = await runOne(
          scenarioOfRun(withRepetitionSeed(point, planned.repetition), planned),
          planned,
          seeds.workload,
          tls,
          workDir,
          linkUp,
          opts.signal,
        );
        runs.push(record);
        newRuns++;
        // Control runs never count as the workload's (docs/metrics.md § "Attribution").
        if (s.adaptive && planned.control !== true) metrics.push(analyzeRun(runInput(record, point)).metrics);
        try {
          for (const k of newRuns === 1 ? kept : []) await appendRunRecord(tmp, k, appendFailed);
          await appendRunRecord(tmp, record, appendFailed);
        } catch (err) {
          // The run is still in memory and in the result; only a kill before the end would lose it.
          appendFailed = true;
          notice(`could not checkpoint run ${planned.index + 1}: ${describeError(err)}`);
        }
        opts.onProgress?.({
          run: planned,
          total: todo.length,
          position: i + 1,
          phase: 'done',
          elapsedMs: performance.now() - t0,
          record,
        });
        const roundDone = todo[i + 1]?.repetition !== planned.repetition;
        if (roundDone) rounds = planned.repetition + 1;
        if (roundDone && s.adaptive) {
          const a = s.adaptive;
          const narrow =
            rounds >= a.min &&
            targetReached(
              stoppingContrasts(metrics, s.protocols, sweepPoints, lookConfidence(a)),
              a.targetPct,
            );
          const reason = stopDecision(a, { rounds, elapsedMs: performance.now() - t0, narrow });
          if (reason !== null) {
            stopReason = reason;
            break;
          }
        }
        if (!infrastructureFailure) {
          infraFailures.length = 0;
          continue;
        }
        infraFailures.push(record);
        if (infraFailures.length >= MAX_CONSECUTIVE_INFRA_FAILURES && i + 1 < todo.length) {
          const which = infraFailures.map((r) => r.index + 1).join(', ');
          abortedBy = cause ?? new RunError(record.error ?? 'infrastructure failure');
          partial = {
            reason: `stopped after ${infraFailures.length} consecutive infrastructure failures (runs ${which}); last: ${record.error ?? '?'}`,
            runsPlanned: slice.length,
            runsDone: runs.length,
          };
          break;
        }
      }
    } catch (err) {
      // Interrupted: keep what finished (the run in progress is not kept). A resume that finished
      // nothing new publishes nothing: its partial result is still where it was.
      if (!opts.signal?.aborted || newRuns === 0) throw err;
      partial = {
        reason: toError(opts.signal.reason ?? err).message || 'interrupted',
        runsPlanned: slice.length,
        runsDone: runs.length,
      };
    }
    // In the plan's order (a resume's kept runs and its new ones interleave).
    runs.sort((a, b) => a.index - b.index);
    // A fixed count's rounds: the repetitions run (a shard's, a resume's with its kept ones).
    if (!s.adaptive) rounds = new Set(runs.map((r) => r.repetition)).size;
    const result: ResultFile = {
      schemaVersion: RESULT_SCHEMA_VERSION,
      ...header,
      ...(hosts ? { hosts: hostsWithRuns(hosts, runs) } : {}),
      runs,
      summary: summarize(s.protocols, runs, s),
      ...(partial ? { partial } : { stopping: stoppingRecord(s, loaded.points, runs, rounds, stopReason) }),
    };
    if (partial) {
      // Should this process die while publishing, the salvage of the checkpoint gives this reason.
      try {
        await writeCheckpoint(tmp, { ...checkpoint, partial });
      } catch (err) {
        notice(`could not record in the checkpoint why the run stopped early: ${describeError(err)}`);
      }
    }
    // Removes work/ first: key material and child configs never reach the results directory.
    const written = await publishResult(result, tmp, opts.outRoot);
    if (written.checkpointError) {
      notice(
        `the result is in ${written.dir}, but its checkpoint files (checkpoint.json, runs.jsonl) could not be removed from it: ${describeError(written.checkpointError)}`,
      );
    }
    return {
      result,
      dir: written.dir,
      ...(abortedBy ? { abortedBy } : {}),
      ...(written.reportError ? { reportError: written.reportError } : {}),
    };
  } catch (err) {
    if (err instanceof UnpublishableResultError) {
      // Kept as it is: its message names the directory and what it holds.
    } else if (checkpointed && runs.length > kept.length) {
      // Finished runs are never thrown away: the checkpoint holds them, and once this process is
      // gone the next run or `h3bench cleanup` makes them a partial result (salvage.ts).
      await rm(workDir, { recursive: true, force: true });
      notice(
        `the ${runs.length} finished run(s) are kept in ${tmp}; once this process has exited, "h3bench cleanup --out ${opts.outRoot}" or the next run there makes them a partial result`,
      );
    } else {
      await rm(tmp, { recursive: true, force: true });
    }
    throw err;
  }
}
