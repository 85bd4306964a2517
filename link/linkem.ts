/**
 * Driver of linkem, the userspace link emulator in link/linkem/ (C): build it, plan its argv from a
 * NetworkProfile (pure), start and stop it, configure its TUN pair, read its packet log, and probe
 * the link it emulates (RTT, UDP loss/throughput, TCP goodput).
 *
 * Topology: client namespace ── TUN a ⇄ linkem ⇄ TUN b ── server namespace. `up` = client → server
 * (a → b), `down` = server → client (b → a). Addresses come from 198.18.0.0/15 only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { open, readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import { z } from 'zod';
import { EnvironmentError, ExitCode, H3BenchError, UnsupportedError, UsageError } from '../core/errors.js';
import { projectRoot } from '../core/paths.js';
import {
  unsupportedFeatures,
  type DirectionProfile,
  type LossModel,
  type NetworkProfile,
} from '../core/network.js';
import {
  assertDeviceName,
  assertNamespaceName,
  CommandError,
  createNamespace,
  deleteNamespace,
  execIn,
  run,
  spawnIn,
  uniqueName,
  waitForLine,
} from './netns.js';

// ---------------------------------------------------------------------------------------------
// Errors and paths

/** linkem failed to build, start, stop, or its output could not be read. */
export class LinkemError extends H3BenchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BENCH_LINKEM', message, ExitCode.RunFailed, options);
  }
}

/** Directory of the C sources and their Makefile. */
export function linkemSourceDir(): string {
  return path.join(projectRoot(), 'link', 'linkem');
}

/** The emulator binary. */
export function linkemBinary(): string {
  return path.join(linkemSourceDir(), 'build', 'linkem');
}

/** The measuring tool (UDP echo, RTT, blast, sink) used by the probes below. */
export function linkemProbeBinary(): string {
  return path.join(linkemSourceDir(), 'build', 'linkem-probe');
}

// ---------------------------------------------------------------------------------------------
// Build

async function mtimeMs(file: string): Promise<number | null> {
  try {
    return (await stat(file)).mtimeMs;
  } catch {
    return null;
  }
}

/** Whether a binary is missing or older than any source file or the Makefile. */
async function isStale(binary: string): Promise<boolean> {
  const built = await mtimeMs(binary);
  if (built === null) return true;
  const dir = linkemSourceDir();
  const sources = (await readdir(path.join(dir, 'src'))).map((f) => path.join(dir, 'src', f));
  for (const f of [...sources, path.join(dir, 'Makefile')]) {
    const m = await mtimeMs(f);
    if (m !== null && m > built) return true;
  }
  return false;
}

/**
 * Build linkem and linkem-probe with the system C compiler (`make -C link/linkem`) when a binary is
 * missing or older than its sources. Throws an EnvironmentError naming what to install when there is
 * no `make` or no C compiler.
 */
export async function buildLinkemIfNeeded(): Promise<{ binary: string; probe: string; built: boolean }> {
  const binary = linkemBinary();
  const probe = linkemProbeBinary();
  if (!(await isStale(binary)) && !(await isStale(probe))) return { binary, probe, built: false };
  for (const [tool, pkg] of [
    ['make', 'make'],
    ['cc', 'a C compiler (gcc or clang)'],
  ] as const) {
    try {
      await run([tool, '--version'], { timeoutMs: 10_000 });
    } catch (err) {
      throw new EnvironmentError(
        `Cannot build linkem: \`${tool}\` is not available; install ${pkg} (Debian/Ubuntu: apt-get install build-essential)`,
        { cause: err },
      );
    }
  }
  try {
    await run(['make', '-C', linkemSourceDir()], { timeoutMs: 120_000 });
  } catch (err) {
    throw new LinkemError(`Cannot build linkem with make -C ${linkemSourceDir()}`, { cause: err });
  }
  return { binary, probe, built: true };
}

// ---------------------------------------------------------------------------------------------
// Planning argv from a profile (pure)

/** Packets a direction may hold when nothing limits it (no rate, or no packet limit): the ring size. */
export const LINKEM_UNLIMITED_PACKETS = 100_000;
/** Largest packet limit linkem accepts. */
export const LINKEM_MAX_PACKETS = 1_000_000;

/** What linkem holds per direction: the bottleneck queue plus the delay line (netem `limit`). */
export interface LinkemLimits {
  /** Packets held at most, delay line included. */
  packets: number;
  /** IP bytes held at most, delay line included; null = no byte limit. */
  bytes: number | null;
  /** Bytes the delay line holds at the link rate over delay + jitter (0 without a rate). */
  delayLineBytes: number;
}

/**
 * Limits of one direction. linkem (like netem) counts packets still in the delay line toward its
 * limit, so the profile's bottleneck queue is enlarged by what the delay line holds at the link rate:
 * `bytes = queueBytes + rate × (delay + jitter)`, `packets = queuePackets + ⌈that / MTU⌉ + 1`.
 * Without a rate there is no bottleneck: only the ring size (LINKEM_UNLIMITED_PACKETS) applies.
 */
export function linkemLimits(dir: DirectionProfile, mtuBytes: number): LinkemLimits {
  if (dir.rateKbit === null) return { packets: LINKEM_UNLIMITED_PACKETS, bytes: null, delayLineBytes: 0 };
  // kbit/s × ms = bit.
  const delayLineBytes = Math.ceil((dir.rateKbit * (dir.delayMs + dir.jitterMs)) / 8);
  const packets =
    dir.queuePackets === null
      ? LINKEM_UNLIMITED_PACKETS
      : Math.min(LINKEM_MAX_PACKETS, dir.queuePackets + Math.ceil(delayLineBytes / mtuBytes) + 1);
  const bytes = dir.queueBytes === null ? null : dir.queueBytes + delayLineBytes;
  return { packets, bytes, delayLineBytes };
}

/** A number as linkem parses it: plain decimal, at most 9 decimals. */
function num(x: number): string {
  if (!Number.isFinite(x) || x < 0) throw new UsageError(`linkem: cannot pass ${x} as a non-negative number`);
  return Number.isInteger(x) ? String(x) : x.toFixed(9).replace(/0+$/, '').replace(/\.$/, '');
}

/** The `--up-loss` / `--down-loss` value of a loss model. */
export function linkemLossSpec(loss: LossModel): string {
  switch (loss.model) {
    case 'none':
      return 'none';
    case 'random':
      return `random:${num(loss.pct)}`;
    case 'gilbert-elliott':
      return `ge:${[loss.pPct, loss.rPct, loss.lossInBadPct, loss.lossInGoodPct].map(num).join(',')}`;
    case 'four-state':
      return `4state:${[loss.p13Pct, loss.p31Pct, loss.p32Pct, loss.p23Pct, loss.p14Pct].map(num).join(',')}`;
  }
}

export interface LinkemOptions {
  /** Namespace of side a (the client). */
  clientNetns: string;
  /** Namespace of side b (the server). */
  serverNetns: string;
  /** TUN device to create in the client namespace (≤ 15 characters, `h3b-` prefix). */
  clientDev: string;
  /** TUN device to create in the server namespace. */
  serverDev: string;
  profile: NetworkProfile;
  /** Binary per-packet log (format in link/linkem/README.md). */
  logFile?: string;
  /** Spin this many µs before each release instead of sleeping (precision for CPU). Default 0. */
  busyPollUs?: number;
  /** Keep polling input this many µs after each packet instead of sleeping. Default 0. */
  rxPollUs?: number;
  /** Spin (both kinds) at most this share (%) of each 10 ms window. linkem's default is 50. */
  busyPollMaxPct?: number;
  /** Ask for SCHED_FIFO (falls back silently; the result says which policy ran). Default true. */
  fifo?: boolean;
  /** mlockall the emulator. Default false. */
  mlock?: boolean;
  /** How long to wait for READY, ms. Default 5000. */
  readyTimeoutMs?: number;
}

/** Throw UnsupportedError for profile features linkem does not emulate. */
function assertSupported(dir: DirectionProfile, name: 'up' | 'down'): void {
  const unsupported = unsupportedFeatures('linkem', dir).map((f) => f.feature);
  if (unsupported.length > 0) {
    throw new UnsupportedError(
      `The linkem backend cannot emulate ${unsupported.join(', ')} (direction ${name}); use backend netem on a kernel with sch_netem`,
    );
  }
}

function directionArgs(name: 'up' | 'down', dir: DirectionProfile, mtuBytes: number): string[] {
  assertSupported(dir, name);
  const limits = linkemLimits(dir, mtuBytes);
  return [
    `--${name}-delay-us`,
    String(Math.round(dir.delayMs * 1000)),
    `--${name}-jitter-us`,
    String(Math.round(dir.jitterMs * 1000)),
    `--${name}-rate-kbit`,
    dir.rateKbit === null ? '0' : num(dir.rateKbit),
    `--${name}-loss`,
    linkemLossSpec(dir.loss),
    `--${name}-queue-packets`,
    String(limits.packets),
    `--${name}-queue-bytes`,
    String(limits.bytes ?? 0),
  ];
}

/** linkem's arguments (without the binary) for these options. Pure; validates names and features. */
export function linkemArgs(options: LinkemOptions): string[] {
  assertNamespaceName(options.clientNetns);
  assertNamespaceName(options.serverNetns);
  assertDeviceName(options.clientDev);
  assertDeviceName(options.serverDev);
  const p = options.profile;
  const args = [
    '--a-netns',
    options.clientNetns,
    '--a-dev',
    options.clientDev,
    '--b-netns',
    options.serverNetns,
    '--b-dev',
    options.serverDev,
    '--mtu',
    String(p.mtuBytes),
    '--seed',
    String(p.seed),
    ...directionArgs('up', p.up, p.mtuBytes),
    ...directionArgs('down', p.down, p.mtuBytes),
  ];
  if (options.logFile !== undefined) args.push('--log', options.logFile);
  if (options.busyPollUs !== undefined && options.busyPollUs > 0) {
    args.push('--busy-poll-us', String(Math.round(options.busyPollUs)));
  }
  if (options.rxPollUs !== undefined && options.rxPollUs > 0) {
    args.push('--rx-poll-us', String(Math.round(options.rxPollUs)));
  }
  if (options.busyPollMaxPct !== undefined) {
    args.push('--busy-poll-max-pct', String(Math.round(options.busyPollMaxPct)));
  }
  if (options.fifo ?? true) args.push('--fifo');
  if (options.mlock === true) args.push('--mlock');
  return args;
}

// ---------------------------------------------------------------------------------------------
// READY / STATS lines

const readySchema = z.object({
  pid: z.number().int(),
  sched: z.string(),
  timer_slack_ns: z.number(),
  mlock: z.boolean(),
  config: z.record(z.string(), z.unknown()),
});

const latenessSchema = z.object({
  count: z.number(),
  mean: z.number(),
  p50: z.number(),
  p99: z.number(),
  p999: z.number(),
  max: z.number(),
});

const directionStatsSchema = z
  .object({
    packets_in: z.number(),
    bytes_in: z.number(),
    delivered: z.number(),
    bytes_delivered: z.number(),
    dropped: z.object({
      loss: z.number(),
      queue_packets: z.number(),
      queue_bytes: z.number(),
      oversize: z.number(),
      write_error: z.number(),
    }),
    pending_at_exit: z.number(),
    max_queue_packets: z.number(),
    max_queue_bytes: z.number(),
    read_errors: z.number(),
    lateness_us: latenessSchema,
  })
  .transform((s) => ({
    packetsIn: s.packets_in,
    bytesIn: s.bytes_in,
    delivered: s.delivered,
    bytesDelivered: s.bytes_delivered,
    dropped: {
      loss: s.dropped.loss,
      queuePackets: s.dropped.queue_packets,
      queueBytes: s.dropped.queue_bytes,
      oversize: s.dropped.oversize,
      writeError: s.dropped.write_error,
    },
    pendingAtExit: s.pending_at_exit,
    maxQueuePackets: s.max_queue_packets,
    maxQueueBytes: s.max_queue_bytes,
    readErrors: s.read_errors,
    latenessUs: s.lateness_us,
  }));

const statsSchema = z
  .object({
    up: directionStatsSchema,
    down: directionStatsSchema,
    sched: z.string(),
    mlock: z.boolean(),
    busy_poll_us: z.number(),
    rx_poll_us: z.number(),
    busy_poll_spin_s: z.number(),
    elapsed_s: z.number(),
    log: z.object({ records: z.number(), stalls: z.number(), write_errors: z.number() }),
  })
  .transform((s) => ({
    up: s.up,
    down: s.down,
    sched: s.sched,
    mlock: s.mlock,
    busyPollUs: s.busy_poll_us,
    rxPollUs: s.rx_poll_us,
    /** Seconds spent spinning (before releases and polling input). */
    busyPollSpinS: s.busy_poll_spin_s,
    elapsedS: s.elapsed_s,
    log: { records: s.log.records, stalls: s.log.stalls, writeErrors: s.log.write_errors },
  }));

/**
 * Counters of one direction. packetsIn = delivered + every dropped.* + pendingAtExit. Lateness is
 * write time − scheduled release, µs (delivered packets only).
 */
export type LinkemDirectionStats = z.output<typeof directionStatsSchema>;
/** linkem's final counters (its STATS line). */
export type LinkemStats = z.output<typeof statsSchema>;

/** linkem's READY line: process id, scheduling policy obtained, and its configuration. */
export interface LinkemReady {
  pid: number;
  /** "fifo:50", "other", or "other (SCHED_FIFO: <error>)". */
  sched: string;
  timerSlackNs: number;
  mlock: boolean;
  /** linkem's own view of its configuration, including argv. */
  config: Record<string, unknown>;
}

function parseJsonLine<T>(prefix: string, line: string, schema: z.ZodType<T>): T {
  try {
    return schema.parse(JSON.parse(line.slice(prefix.length)));
  } catch (err) {
    throw new LinkemError(`Cannot parse linkem's ${prefix.trim()} line: ${line.slice(0, 300)}`, {
      cause: err,
    });
  }
}

/** Parse a `STATS {json}` line (exported for tests). */
export function parseLinkemStatsLine(line: string): LinkemStats {
  return parseJsonLine('STATS ', line, statsSchema);
}

/** Parse a `READY {json}` line (exported for tests). */
export function parseLinkemReadyLine(line: string): LinkemReady {
  const r = parseJsonLine('READY ', line, readySchema);
  return { pid: r.pid, sched: r.sched, timerSlackNs: r.timer_slack_ns, mlock: r.mlock, config: r.config };
}

// ---------------------------------------------------------------------------------------------
// Process handle

/** What to record in a result about the emulation. */
export interface LinkemRecord {
  backend: 'linkem';
  binary: string;
  argv: string[];
  sched: string;
  mlock: boolean;
  busyPollUs: number;
  limits: { up: LinkemLimits; down: LinkemLimits };
  /** linkem's own configuration as printed in READY. */
  linkem: Record<string, unknown>;
}

export interface LinkemHandle {
  readonly pid: number;
  /** Full command line, binary first. */
  readonly argv: readonly string[];
  readonly ready: LinkemReady;
  /** JSON-safe description to record in results. */
  readonly config: LinkemRecord;
  /** Settles when the process has exited and its output is read. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /**
   * SIGTERM, then read the STATS line; SIGKILL after `timeoutMs` (default 5000). Idempotent: every
   * call returns the same promise. Rejects if linkem exited without STATS (crash, kill).
   */
  stop(timeoutMs?: number): Promise<LinkemStats>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** Start linkem (building it first if needed) and wait for READY. The TUNs are up but unconfigured. */
export async function startLinkem(options: LinkemOptions): Promise<LinkemHandle> {
  const args = linkemArgs(options);
  const { binary } = await buildLinkemIfNeeded();
  const argv = [binary, ...args];
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], env: {} });
  live.add(child);
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    stderr = (stderr + d).slice(-8192);
  });
  let stats: LinkemStats | null = null;
  let statsError: LinkemError | null = null;
  let onReady: ((r: LinkemReady) => void) | null = null;
  let onReadyError: ((e: unknown) => void) | null = null;
  const lines = readline.createInterface({ input: child.stdout, crlfDelay: Infinity });
  lines.on('line', (line) => {
    try {
      if (line.startsWith('READY ')) onReady?.(parseLinkemReadyLine(line));
      else if (line.startsWith('STATS ')) stats = parseLinkemStatsLine(line);
    } catch (err) {
      if (line.startsWith('READY ')) onReadyError?.(err);
      else statsError = err instanceof LinkemError ? err : new LinkemError(String(err));
    }
  });
  let spawnError: Error | null = null;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('error', (err) => {
      spawnError = err;
      live.delete(child);
      resolve({ code: null, signal: null });
    });
    child.once('close', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    });
  });
  const describeExit = (e: { code: number | null; signal: NodeJS.Signals | null }) =>
    spawnError !== null
      ? `could not start (${spawnError.message})`
      : e.signal !== null
        ? `was killed by ${e.signal}`
        : `exited with status ${e.code ?? '?'}`;

  const timeoutMs = options.readyTimeoutMs ?? 5000;
  let timer: NodeJS.Timeout | undefined;
  let ready: LinkemReady;
  try {
    ready = await new Promise<LinkemReady>((resolve, reject) => {
      onReady = resolve;
      onReadyError = reject;
      timer = setTimeout(() => {
        reject(new LinkemError(`linkem did not print READY within ${timeoutMs} ms: ${stderr.trim()}`));
      }, timeoutMs);
      void exited.then((e) => {
        reject(new LinkemError(`linkem ${describeExit(e)} before READY: ${stderr.trim() || '(no message)'}`));
      });
    });
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    throw err;
  } finally {
    clearTimeout(timer);
  }

  let stopping: Promise<LinkemStats> | null = null;
  const stop = (stopTimeoutMs = 5000): Promise<LinkemStats> => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
      const e = await exited;
      clearTimeout(killer);
      if (statsError !== null) throw statsError;
      if (stats === null) {
        throw new LinkemError(
          `linkem ${describeExit(e)} without printing STATS: ${stderr.trim() || '(no message)'}`,
        );
      }
      return stats;
    })();
    return stopping;
  };

  const up = linkemLimits(options.profile.up, options.profile.mtuBytes);
  const down = linkemLimits(options.profile.down, options.profile.mtuBytes);
  return {
    pid: ready.pid,
    argv,
    ready,
    config: {
      backend: 'linkem',
      binary,
      argv,
      sched: ready.sched,
      mlock: ready.mlock,
      busyPollUs: options.busyPollUs ?? 0,
      limits: { up, down },
      linkem: ready.config,
    },
    exited,
    stop,
  };
}

// ---------------------------------------------------------------------------------------------
// TUN pair configuration

/** Client side address of the emulated link. */
export const CLIENT_ADDRESS = '198.18.0.1';
/** Server side address of the emulated link. */
export const SERVER_ADDRESS = '198.18.0.2';

export interface TunPairSpec {
  clientNetns: string;
  serverNetns: string;
  clientDev: string;
  serverDev: string;
  mtuBytes: number;
  /** Default 198.18.0.1. */
  clientAddress?: string;
  /** Default 198.18.0.2. */
  serverAddress?: string;
  /** Device transmit queue (and TUN ring) length, packets. Default 10000. */
  txQueueLen?: number;
}

/** Whether an IPv4 address is inside 198.18.0.0/15 (RFC 2544 benchmarking). */
export function isBenchmarkAddress(ip: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (m === null) return false;
  const octets = m.slice(1).map(Number);
  return octets.every((o) => o <= 255) && octets[0] === 198 && (octets[1] === 18 || octets[1] === 19);
}

/**
 * Commands giving each TUN its point-to-point address, MTU and queue length, no IPv6 link-local
 * address (so nothing but the test traffic crosses the link), and bringing it and lo up. Pure.
 */
export function tunPairCommands(spec: TunPairSpec): string[][] {
  const client = spec.clientAddress ?? CLIENT_ADDRESS;
  const server = spec.serverAddress ?? SERVER_ADDRESS;
  for (const ip of [client, server]) {
    if (!isBenchmarkAddress(ip))
      throw new UsageError(`Cannot use address "${ip}": only 198.18.0.0/15 is allowed`);
  }
  assertNamespaceName(spec.clientNetns);
  assertNamespaceName(spec.serverNetns);
  assertDeviceName(spec.clientDev);
  assertDeviceName(spec.serverDev);
  const qlen = String(spec.txQueueLen ?? 10_000);
  const side = (ns: string, dev: string, local: string, peer: string): string[][] => [
    ['ip', '-n', ns, 'link', 'set', 'dev', dev, 'addrgenmode', 'none'],
    ['ip', '-n', ns, 'link', 'set', 'dev', dev, 'mtu', String(spec.mtuBytes), 'txqueuelen', qlen],
    ['ip', '-n', ns, 'addr', 'add', `${local}/32`, 'peer', `${peer}/32`, 'dev', dev],
    ['ip', '-n', ns, 'link', 'set', 'dev', dev, 'up'],
    ['ip', '-n', ns, 'link', 'set', 'dev', 'lo', 'up'],
  ];
  return [
    ...side(spec.clientNetns, spec.clientDev, client, server),
    ...side(spec.serverNetns, spec.serverDev, server, client),
  ];
}

/** Apply tunPairCommands (after startLinkem has created the devices). */
export async function configureTunPair(spec: TunPairSpec): Promise<void> {
  for (const argv of tunPairCommands(spec)) await run(argv);
}

// ---------------------------------------------------------------------------------------------
// A whole link: two namespaces, linkem, addresses

export type LinkemLinkOptions = Pick<
  LinkemOptions,
  'profile' | 'logFile' | 'busyPollUs' | 'rxPollUs' | 'busyPollMaxPct' | 'fifo' | 'mlock'
>;

export interface LinkemLink {
  clientNetns: string;
  serverNetns: string;
  clientDev: string;
  serverDev: string;
  clientAddress: string;
  serverAddress: string;
  linkem: LinkemHandle;
  /** Stop linkem and delete both namespaces (idempotent). Returns linkem's STATS. */
  close(): Promise<LinkemStats>;
}

/**
 * Create a client and a server namespace, start linkem between them and configure addresses.
 * Everything created is removed again if a step fails.
 */
export async function openLinkemLink(options: LinkemLinkOptions): Promise<LinkemLink> {
  const clientNetns = uniqueName('cli');
  const serverNetns = uniqueName('srv');
  const clientDev = uniqueName('tun');
  const serverDev = uniqueName('tun');
  const created: string[] = [];
  let linkem: LinkemHandle | null = null;
  try {
    for (const ns of [clientNetns, serverNetns]) {
      await createNamespace(ns);
      created.push(ns);
    }
    linkem = await startLinkem({ ...options, clientNetns, serverNetns, clientDev, serverDev });
    await configureTunPair({
      clientNetns,
      serverNetns,
      clientDev,
      serverDev,
      mtuBytes: options.profile.mtuBytes,
    });
  } catch (err) {
    await linkem?.stop().catch(() => undefined);
    for (const ns of created) await deleteNamespace(ns).catch(() => undefined);
    throw err;
  }
  const handle = linkem;
  let closing: Promise<LinkemStats> | null = null;
  return {
    clientNetns,
    serverNetns,
    clientDev,
    serverDev,
    clientAddress: CLIENT_ADDRESS,
    serverAddress: SERVER_ADDRESS,
    linkem: handle,
    close: () => {
      closing ??= (async () => {
        try {
          return await handle.stop();
        } finally {
          for (const ns of created) await deleteNamespace(ns);
        }
      })();
      return closing;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Packet log

export const LINKEM_LOG_MAGIC = 'LINKEMLG';
export const LINKEM_LOG_VERSION = 1;
export const LINKEM_LOG_RECORD_BYTES = 32;
const LOG_FIXED_HEADER_BYTES = 40;

export type LinkemDropReason = 'loss' | 'queue-packets' | 'queue-bytes' | 'oversize' | 'write-error';
const EVENT_CODES: readonly { event: 'enqueue' | 'deliver' | 'drop'; reason?: LinkemDropReason }[] = [
  { event: 'enqueue' },
  { event: 'deliver' },
  { event: 'drop', reason: 'loss' },
  { event: 'drop', reason: 'queue-packets' },
  { event: 'drop', reason: 'queue-bytes' },
  { event: 'drop', reason: 'oversize' },
  { event: 'drop', reason: 'write-error' },
];

export interface LinkemLogHeader {
  version: number;
  headerBytes: number;
  recordBytes: number;
  /** CLOCK_MONOTONIC at linkem's start, ns; record times are relative to it. */
  baseMonotonicNs: bigint;
  /** CLOCK_REALTIME matching baseMonotonicNs, ns since the epoch. */
  baseRealtimeNs: bigint;
  /** linkem's configuration and argv, as in READY. */
  config: Record<string, unknown>;
}

export interface LinkemLogRecord {
  /** Event time, ns since the header's base. */
  tNs: number;
  /** Scheduled release, ns since base (enqueue and deliver); null for drops. */
  releaseNs: number | null;
  /** Arrival index within the direction, from 0, drops included. */
  seq: number;
  /** Symmetric 5-tuple hash (linkemFlowHash). */
  flow: number;
  /** IP packet length, bytes. */
  ipLen: number;
  dir: 'up' | 'down';
  event: 'enqueue' | 'deliver' | 'drop';
  /** Why a packet was dropped (drops only). */
  reason?: LinkemDropReason;
  /** IP protocol number (6 TCP, 17 UDP, …); 0 if not IP. */
  proto: number;
}

/** Parse the header of a packet log. */
export function parseLinkemLogHeader(buf: Buffer): LinkemLogHeader {
  if (buf.length < LOG_FIXED_HEADER_BYTES || buf.toString('latin1', 0, 8) !== LINKEM_LOG_MAGIC) {
    throw new LinkemError(`Cannot read linkem log: missing "${LINKEM_LOG_MAGIC}" magic`);
  }
  const version = buf.readUInt32LE(8);
  const headerBytes = buf.readUInt32LE(12);
  const recordBytes = buf.readUInt32LE(16);
  const jsonBytes = buf.readUInt32LE(20);
  if (version !== LINKEM_LOG_VERSION || recordBytes !== LINKEM_LOG_RECORD_BYTES) {
    throw new LinkemError(
      `Cannot read linkem log: version ${version}, record size ${recordBytes} (this reader knows version ${LINKEM_LOG_VERSION}, ${LINKEM_LOG_RECORD_BYTES} bytes)`,
    );
  }
  if (headerBytes > buf.length || LOG_FIXED_HEADER_BYTES + jsonBytes > headerBytes) {
    throw new LinkemError('Cannot read linkem log: header is truncated');
  }
  let config: Record<string, unknown>;
  try {
    config = z
      .record(z.string(), z.unknown())
      .parse(JSON.parse(buf.toString('utf8', LOG_FIXED_HEADER_BYTES, LOG_FIXED_HEADER_BYTES + jsonBytes)));
  } catch (err) {
    throw new LinkemError('Cannot read linkem log: header JSON is invalid', { cause: err });
  }
  return {
    version,
    headerBytes,
    recordBytes,
    baseMonotonicNs: buf.readBigUInt64LE(24),
    baseRealtimeNs: buf.readBigUInt64LE(32),
    config,
  };
}

/** Decode the record at byte offset `at`. */
function decodeRecord(buf: Buffer, at: number): LinkemLogRecord {
  const code = buf.readUInt8(at + 27);
  const kind = EVENT_CODES[code];
  if (kind === undefined)
    throw new LinkemError(`Cannot read linkem log: unknown event ${code} at byte ${at}`);
  const release = Number(buf.readBigUInt64LE(at + 8));
  const rec: LinkemLogRecord = {
    tNs: Number(buf.readBigUInt64LE(at)),
    releaseNs: kind.event === 'drop' ? null : release,
    seq: buf.readUInt32LE(at + 16),
    flow: buf.readUInt32LE(at + 20),
    ipLen: buf.readUInt16LE(at + 24),
    dir: buf.readUInt8(at + 26) === 0 ? 'up' : 'down',
    event: kind.event,
    proto: buf.readUInt8(at + 28),
  };
  if (kind.reason !== undefined) rec.reason = kind.reason;
  return rec;
}

/** Records of a log, one at a time (a partial record at the end, from a crash, is skipped). */
export function* linkemLogRecords(
  buf: Buffer,
  header = parseLinkemLogHeader(buf),
): Generator<LinkemLogRecord> {
  for (let at = header.headerBytes; at + header.recordBytes <= buf.length; at += header.recordBytes) {
    yield decodeRecord(buf, at);
  }
}

export interface LinkemLog {
  header: LinkemLogHeader;
  records: LinkemLogRecord[];
  /** Bytes after the last whole record (non-zero only if linkem was killed mid-write). */
  trailingBytes: number;
}

/** Parse a whole log held in memory. */
export function parseLinkemLog(buf: Buffer): LinkemLog {
  const header = parseLinkemLogHeader(buf);
  const records = [...linkemLogRecords(buf, header)];
  return { header, records, trailingBytes: (buf.length - header.headerBytes) % header.recordBytes };
}

/** Read and parse a log file written with `--log` (whole, in memory: tests and small logs only). */
export async function readLinkemLog(file: string): Promise<LinkemLog> {
  return parseLinkemLog(await readFile(file));
}

/** Every drop in a packet log. */
export interface LinkemDrops {
  /** CLOCK_MONOTONIC time of each drop, ms (3 decimals), in log order. */
  dropTimesMonotonicMs: number[];
  /** Drops per "<dir> <reason>", e.g. "up loss": 12. */
  dropReasons: Record<string, number>;
}

/** Event codes of drops (see EVENT_CODES): the first one, and the keys per direction. */
const FIRST_DROP_CODE = EVENT_CODES.findIndex((e) => e.event === 'drop');
const DROP_KEYS = (['up', 'down'] as const).map((dir) =>
  EVENT_CODES.map((e) => (e.event === 'drop' ? `${dir} ${e.reason ?? 'unknown'}` : '')),
);

/**
 * The drops of a packet log file, read in fixed-size chunks and decoded record by record in place:
 * memory stays at one chunk plus the drops, whatever the log's size (a bulk run logs millions of
 * records; only drops are wanted). A partial record at the end (linkem killed mid-write) is skipped.
 */
export async function readLinkemDrops(file: string, chunkBytes = 1 << 20): Promise<LinkemDrops> {
  const fh = await open(file, 'r');
  try {
    let head = Buffer.alloc(4096);
    let got = (await fh.read(head, 0, head.length, 0)).bytesRead;
    if (got >= LOG_FIXED_HEADER_BYTES) {
      const headerBytes = head.readUInt32LE(12);
      if (headerBytes > got && headerBytes <= 1 << 24) {
        head = Buffer.alloc(headerBytes);
        got = (await fh.read(head, 0, headerBytes, 0)).bytesRead;
      }
    }
    const header = parseLinkemLogHeader(head.subarray(0, got));
    const rec = header.recordBytes;
    const base = Number(header.baseMonotonicNs / 1000n) / 1000;
    const out: LinkemDrops = { dropTimesMonotonicMs: [], dropReasons: {} };
    const chunk = Buffer.allocUnsafe(Math.max(rec, chunkBytes - (chunkBytes % rec)));
    for (let pos = header.headerBytes; ;) {
      const { bytesRead } = await fh.read(chunk, 0, chunk.length, pos);
      const whole = bytesRead - (bytesRead % rec);
      if (whole === 0) break;
      for (let at = 0; at < whole; at += rec) {
        const code = chunk[at + 27] ?? 0;
        if (code < FIRST_DROP_CODE) continue;
        const key = DROP_KEYS[chunk[at + 26] === 0 ? 0 : 1]?.[code];
        if (key === undefined || key === '') {
          throw new LinkemError(`Cannot read linkem log: unknown event ${code} at byte ${pos + at}`);
        }
        const tNs = chunk.readUInt32LE(at) + chunk.readUInt32LE(at + 4) * 0x1_0000_0000;
        out.dropTimesMonotonicMs.push(Math.round((base + tNs / 1e6) * 1000) / 1000);
        out.dropReasons[key] = (out.dropReasons[key] ?? 0) + 1;
      }
      pos += whole;
    }
    return out;
  } finally {
    await fh.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Flow hash (same as link/linkem/src/flow.c)

function ipBytes(ip: string): number[] {
  if (ip.includes(':')) return ipv6Bytes(ip);
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new UsageError(`Cannot hash address "${ip}": not an IPv4 or IPv6 address`);
  }
  return parts;
}

function ipv6Bytes(ip: string): number[] {
  let text = ip;
  let tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4?.[1] !== undefined) {
    tail = ipBytes(v4[1]);
    text = text.slice(0, -v4[1].length) + '0:0';
  }
  const halves = text.split('::');
  if (halves.length > 2) throw new UsageError(`Cannot hash address "${ip}": more than one "::"`);
  const words = (s: string | undefined) => (s === undefined || s === '' ? [] : s.split(':'));
  const head = words(halves[0]);
  const rest = words(halves[1]);
  const fill = halves.length === 2 ? 8 - head.length - rest.length : 0;
  const all = [...head, ...Array<string>(Math.max(0, fill)).fill('0'), ...rest];
  if (all.length !== 8 || all.some((w) => !/^[0-9a-f]{1,4}$/i.test(w))) {
    throw new UsageError(`Cannot hash address "${ip}": not an IPv6 address`);
  }
  const bytes = all.flatMap((w) => {
    const v = parseInt(w, 16);
    return [v >> 8, v & 0xff];
  });
  if (tail.length === 4) bytes.splice(12, 4, ...tail);
  return bytes;
}

function fnv1a(h: number, bytes: readonly number[]): number {
  let x = h;
  for (const b of bytes) x = Math.imul(x ^ b, 16777619) >>> 0;
  return x;
}

function compareBytes(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** Protocols whose first 4 payload bytes are source and destination ports. */
const PORT_PROTOCOLS = new Set([6, 17, 33, 132, 136]);

/**
 * The flow hash linkem logs for a packet: symmetric (both directions of a connection hash alike),
 * FNV-1a 32 over [lower endpoint][higher endpoint][protocol], endpoint = address bytes + port
 * (big-endian; 0 for protocols without ports).
 */
export function linkemFlowHash(t: {
  src: string;
  dst: string;
  proto: number;
  srcPort?: number;
  dstPort?: number;
}): number {
  const ports = PORT_PROTOCOLS.has(t.proto);
  const port = (p: number | undefined) => {
    const v = ports ? (p ?? 0) : 0;
    return [(v >> 8) & 0xff, v & 0xff];
  };
  let a = { addr: ipBytes(t.src), port: port(t.srcPort) };
  let b = { addr: ipBytes(t.dst), port: port(t.dstPort) };
  const cmp = compareBytes(a.addr, b.addr) || compareBytes(a.port, b.port);
  if (cmp > 0) [a, b] = [b, a];
  let h = 2166136261;
  h = fnv1a(h, a.addr);
  h = fnv1a(h, a.port);
  h = fnv1a(h, b.addr);
  h = fnv1a(h, b.port);
  return fnv1a(h, [t.proto & 0xff]);
}

// ---------------------------------------------------------------------------------------------
// Probes of an emulated link (run inside the namespaces)

/** Collect a child's stdout until it exits; resolves with the output and status. */
function collect(child: ChildProcess): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.once('close', (code) => {
      resolve({ stdout, stderr, code });
    });
  });
}

/** The last JSON line of a probe's output. */
function lastJson(stdout: string, what: string): unknown {
  const line = stdout
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  if (line === undefined) throw new LinkemError(`${what} printed no result: ${stdout.slice(0, 300)}`);
  return JSON.parse(line);
}

/**
 * Run a server-side probe for the duration of `body`; then stop it with `stopSignal` (null: wait for
 * it to exit by itself) and return its output.
 */
async function withServer<T>(
  ns: string,
  argv: readonly string[],
  what: string,
  body: () => Promise<T>,
  stopSignal: NodeJS.Signals | null = 'SIGTERM',
): Promise<{ result: T; serverStdout: string }> {
  const server = spawnIn(ns, argv);
  const done = collect(server);
  try {
    await waitForLine(server, 'LISTENING', 5000, what, (m) => new LinkemError(m));
    const result = await body();
    if (stopSignal !== null) server.kill(stopSignal);
    const out = await done;
    return { result, serverStdout: out.stdout };
  } finally {
    if (server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
  }
}

export interface RttProbeOptions {
  clientNetns: string;
  serverNetns: string;
  serverAddress: string;
  /** UDP port of the echo server. Default 47000. */
  port?: number;
  count: number;
  intervalUs: number;
  /** UDP payload bytes (≥ 24). Default 64. */
  sizeBytes?: number;
  /** How long to wait for the last echoes, ms. Default 2000. */
  waitMs?: number;
}

export interface RttProbeResult {
  sent: number;
  received: number;
  /** Round-trip times, µs, with the echo server's own dwell time removed (kernel receive stamps). */
  rttUs: number[];
  /** Same without removing the echo dwell. */
  rawRttUs: number[];
}

const rttOutputSchema = z.object({
  sent: z.number(),
  received: z.number(),
  samples: z.array(z.tuple([z.number(), z.number(), z.number()])),
});

/** UDP echo RTT from the client namespace to the server namespace. */
export async function probeRtt(o: RttProbeOptions): Promise<RttProbeResult> {
  const { probe } = await buildLinkemIfNeeded();
  const target = `${o.serverAddress}:${o.port ?? 47000}`;
  const { result } = await withServer(
    o.serverNetns,
    [probe, 'echo', '--bind', target],
    'linkem-probe echo',
    async () => {
      const timeoutMs = Math.ceil((o.count * o.intervalUs) / 1000 + (o.waitMs ?? 2000) + 10_000);
      const { stdout } = await execIn(
        o.clientNetns,
        [
          probe,
          'rtt',
          '--to',
          target,
          '--count',
          String(o.count),
          '--interval-us',
          String(Math.round(o.intervalUs)),
          '--size',
          String(o.sizeBytes ?? 64),
          '--wait-ms',
          String(o.waitMs ?? 2000),
        ],
        { timeoutMs },
      );
      return rttOutputSchema.parse(lastJson(stdout, 'linkem-probe rtt'));
    },
  );
  return {
    sent: result.sent,
    received: result.received,
    rttUs: result.samples.map(([, raw, dwell]) => raw - dwell),
    rawRttUs: result.samples.map(([, raw]) => raw),
  };
}

export interface UdpBlastOptions {
  fromNetns: string;
  toNetns: string;
  toAddress: string;
  /** Default 47001. */
  port?: number;
  /** Packets per second offered. */
  pps: number;
  count: number;
  /** UDP payload bytes (IP length = payload + 28). */
  sizeBytes: number;
  /** The sink stops after this long without packets, ms. Default 1000. */
  idleMs?: number;
}

const blastSchema = z.object({
  sent: z.number(),
  send_errors: z.number(),
  elapsed_s: z.number(),
  pps: z.number(),
});
const sinkSchema = z.object({
  received: z.number(),
  bytes: z.number(),
  max_seq: z.number(),
  lost: z.number(),
  bursts: z.number(),
  reordered: z.number(),
  rcvbuf_drops: z.number(),
  duration_s: z.number(),
  pps: z.number(),
  mbit_s: z.number(),
});

export interface UdpBlastResult {
  sent: number;
  sendErrors: number;
  /** Rate the sender achieved, packets/s. */
  sentPps: number;
  received: number;
  /** Sequence numbers never received (trailing ones included). */
  lost: number;
  /** Runs of consecutive lost sequence numbers. */
  lossBursts: number;
  reordered: number;
  /** Datagrams the receiving socket dropped (SO_RXQ_OVFL): not the link's doing. */
  rcvbufDrops: number;
  /** First to last received packet, s. */
  durationS: number;
  receivedPps: number;
  /** UDP payload rate at the receiver, Mbit/s. */
  receivedMbitS: number;
}

/** Paced UDP from one namespace to another; the receiver counts sequence gaps. */
export async function udpBlast(o: UdpBlastOptions): Promise<UdpBlastResult> {
  const { probe } = await buildLinkemIfNeeded();
  const target = `${o.toAddress}:${o.port ?? 47001}`;
  const idleMs = o.idleMs ?? 1000;
  const sinkArgv = [
    probe,
    'sink',
    '--bind',
    target,
    '--idle-ms',
    String(idleMs),
    '--expect',
    String(o.count),
  ];
  const { result, serverStdout } = await withServer(
    o.toNetns,
    sinkArgv,
    'linkem-probe sink',
    async () => {
      const { stdout } = await execIn(
        o.fromNetns,
        [
          probe,
          'blast',
          '--to',
          target,
          '--pps',
          String(Math.round(o.pps)),
          '--count',
          String(o.count),
          '--size',
          String(o.sizeBytes),
        ],
        { timeoutMs: Math.ceil((o.count / o.pps) * 3000 + 30_000) },
      );
      return blastSchema.parse(lastJson(stdout, 'linkem-probe blast'));
    },
    null,
  );
  const sink = sinkSchema.parse(lastJson(serverStdout, 'linkem-probe sink'));
  return {
    sent: result.sent,
    sendErrors: result.send_errors,
    sentPps: result.pps,
    received: sink.received,
    lost: sink.lost,
    lossBursts: sink.bursts,
    reordered: sink.reordered,
    rcvbufDrops: sink.rcvbuf_drops,
    durationS: sink.duration_s,
    receivedPps: sink.pps,
    receivedMbitS: sink.mbit_s,
  };
}

/** TCP server (node, CommonJS): sends argv[3] bytes to the first connection, then exits. */
const TCP_SERVER_JS = `
const net = require('node:net');
const [host, port, total] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
const chunk = Buffer.alloc(65536, 120);
const srv = net.createServer((s) => {
  let left = total;
  s.on('error', () => {});
  s.on('close', () => srv.close());
  const pump = () => {
    while (left > 0) {
      const n = Math.min(left, chunk.length);
      left -= n;
      if (!s.write(n === chunk.length ? chunk : chunk.subarray(0, n))) { s.once('drain', pump); return; }
    }
    s.end();
  };
  pump();
});
srv.listen(port, host, () => console.log('LISTENING'));
`;

/** TCP client (node, CommonJS): reads to the end and prints timing JSON. */
const TCP_CLIENT_JS = `
const net = require('node:net');
const [host, port, warmupMs] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
const now = () => Number(process.hrtime.bigint()) / 1e6;
const t0 = now();
let connected = null, first = null, last = null, bytes = 0, warmBytes = null, warmAt = null;
const s = net.connect(port, host, () => { connected = now(); });
s.on('data', (d) => {
  const t = now();
  if (first === null) first = t;
  bytes += d.length;
  if (warmBytes === null && t - first >= warmupMs) { warmBytes = bytes; warmAt = t; }
  last = t;
});
s.on('end', () => {
  console.log(JSON.stringify({ bytes, connectMs: connected - t0, firstMs: first - t0, lastMs: last - t0,
    warmBytes, warmAtMs: warmAt === null ? null : warmAt - t0 }));
});
s.on('error', (e) => { console.error(String(e)); process.exit(1); });
`;

export interface TcpGoodputOptions {
  clientNetns: string;
  serverNetns: string;
  serverAddress: string;
  /** Default 47002. */
  port?: number;
  /** Bytes the server sends (down direction). */
  bytes: number;
  /** Steady-state goodput leaves out the first `warmupMs` after the first byte. Default 1000. */
  warmupMs?: number;
}

export interface TcpGoodputResult {
  bytes: number;
  connectMs: number;
  /** First to last byte, ms. */
  durationMs: number;
  /** Payload bits per second over first → last byte, Mbit/s. */
  goodputMbit: number;
  /** Payload Mbit/s after the warm-up (slow start excluded); null if the transfer was shorter. */
  steadyGoodputMbit: number | null;
}

const tcpClientSchema = z.object({
  bytes: z.number(),
  connectMs: z.number(),
  firstMs: z.number(),
  lastMs: z.number(),
  warmBytes: z.number().nullable(),
  warmAtMs: z.number().nullable(),
});

/** Download `bytes` over TCP (node `net`) from the server namespace to the client namespace. */
export async function tcpGoodput(o: TcpGoodputOptions): Promise<TcpGoodputResult> {
  const port = String(o.port ?? 47002);
  const node = process.execPath;
  const { result } = await withServer(
    o.serverNetns,
    [node, '-e', TCP_SERVER_JS, o.serverAddress, port, String(o.bytes)],
    'TCP goodput server',
    async () => {
      const { stdout } = await execIn(
        o.clientNetns,
        [node, '-e', TCP_CLIENT_JS, o.serverAddress, port, String(o.warmupMs ?? 1000)],
        { timeoutMs: 300_000 },
      );
      return tcpClientSchema.parse(lastJson(stdout, 'TCP goodput client'));
    },
    null,
  );
  const durationMs = result.lastMs - result.firstMs;
  const steady =
    result.warmBytes === null || result.warmAtMs === null || result.lastMs <= result.warmAtMs
      ? null
      : ((result.bytes - result.warmBytes) * 8) / ((result.lastMs - result.warmAtMs) * 1000);
  return {
    bytes: result.bytes,
    connectMs: result.connectMs,
    durationMs,
    goodputMbit: durationMs > 0 ? (result.bytes * 8) / (durationMs * 1000) : 0,
    steadyGoodputMbit: steady,
  };
}

/** TX/RX counters of a device in a namespace (`ip -s -j link show`), to spot drops at the TUN ring. */
export async function deviceCounters(
  ns: string,
  dev: string,
): Promise<{ txPackets: number; txDropped: number; rxPackets: number; rxDropped: number }> {
  assertNamespaceName(ns);
  assertDeviceName(dev);
  const { stdout } = await run(['ip', '-n', ns, '-s', '-j', 'link', 'show', 'dev', dev]);
  const parsed = z
    .array(
      z.object({
        stats64: z.object({
          rx: z.object({ packets: z.number(), dropped: z.number() }),
          tx: z.object({ packets: z.number(), dropped: z.number() }),
        }),
      }),
    )
    .parse(JSON.parse(stdout));
  const s = parsed[0]?.stats64;
  if (s === undefined)
    throw new CommandError(['ip', '-n', ns, '-s', '-j', 'link', 'show', 'dev', dev], {
      status: 0,
      signal: null,
      stdout,
      stderr: '',
      why: 'no device in output',
    });
  return {
    txPackets: s.tx.packets,
    txDropped: s.tx.dropped,
    rxPackets: s.rx.packets,
    rxDropped: s.rx.dropped,
  };
}

/** linkem's version string from its sources (for provenance without running it). */
export function linkemVersion(): string | null {
  try {
    const m = /#define LINKEM_VERSION "([^"]+)"/.exec(
      readFileSync(path.join(linkemSourceDir(), 'src', 'config.h'), 'utf8'),
    );
    return m?.[1] ?? null;
  } catch {
    return null;
  }
}
