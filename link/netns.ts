/**
 * Network namespace helpers: create, delete, list and enter the namespaces the harness owns.
 *
 * Every name is validated against NAMESPACE_NAME_RE (`h3b-` prefix), so nothing here can touch a
 * namespace the harness did not create, and every command is an argv array run with `execFile`
 * (never a shell). A failed command throws a CommandError naming the command, its exit status and
 * its stderr.
 */
import { execFile, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import { EnvironmentError, ExitCode, H3BenchError, UsageError } from '../core/errors.js';

/** Prefix of every namespace (and device) the harness creates; `cleanup` sweeps by it. */
export const NAMESPACE_PREFIX = 'h3b-';
/** Names the helpers accept. */
export const NAMESPACE_NAME_RE = /^h3b-[a-z0-9-]{1,20}$/;
/** Longest network device name Linux accepts (IFNAMSIZ = 16 including the NUL). */
export const MAX_DEVICE_NAME_LENGTH = 15;
/** Roles usable in uniqueName(): short so that the name also fits a device. */
export const ROLE_RE = /^[a-z0-9]{1,5}$/;

/** Default time limit of one helper command, ms. */
const DEFAULT_TIMEOUT_MS = 30_000;

/** A command run by the harness failed (non-zero exit, signal, timeout or missing executable). */
export class CommandError extends H3BenchError {
  /** The command as run. */
  readonly argv: readonly string[];
  /** Exit status, null when killed by a signal or not started. */
  readonly status: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  constructor(
    argv: readonly string[],
    detail: { status: number | null; signal: string | null; stdout: string; stderr: string; why: string },
    options?: { cause?: unknown },
  ) {
    const err = detail.stderr.trim();
    super(
      'BENCH_COMMAND_FAILED',
      `Command failed: ${argv.join(' ')} (${detail.why})${err ? `: ${err}` : ''}`,
      ExitCode.Environment,
      options,
    );
    this.argv = argv;
    this.status = detail.status;
    this.signal = detail.signal;
    this.stdout = detail.stdout;
    this.stderr = detail.stderr;
  }
}

export interface RunOptions {
  /** Kill the command after this many ms (default 30 000). */
  timeoutMs?: number;
  /** Largest stdout/stderr kept, bytes (default 64 MiB). */
  maxBufferBytes?: number;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Run argv (no shell); resolve with its output, or throw a CommandError. */
export function run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new UsageError('run(): empty argv'));
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      {
        encoding: 'utf8',
        // execFile wants whole milliseconds.
        timeout: Math.max(1, Math.ceil(options.timeoutMs ?? DEFAULT_TIMEOUT_MS)),
        maxBuffer: options.maxBufferBytes ?? 64 * 1024 * 1024,
        killSignal: 'SIGKILL',
      },
      (error, stdout, stderr) => {
        if (error === null) {
          resolve({ stdout, stderr });
          return;
        }
        const e = error as { code?: unknown; signal?: unknown; killed?: unknown; message: string };
        const status = typeof e.code === 'number' ? e.code : null;
        const signal = typeof e.signal === 'string' ? e.signal : null;
        let why: string;
        if (e.code === 'ENOENT') why = `${file}: not found`;
        else if (e.killed === true && signal === 'SIGKILL')
          why = `timed out after ${options.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms`;
        else if (status !== null) why = `exit ${status}`;
        else if (signal !== null) why = `killed by ${signal}`;
        else why = e.message;
        reject(new CommandError(argv, { status, signal, stdout, stderr, why }, { cause: error }));
      },
    );
  });
}

/** Throw unless `name` is a namespace name the harness owns. */
export function assertNamespaceName(name: string): void {
  if (!NAMESPACE_NAME_RE.test(name)) {
    throw new UsageError(
      `Cannot use network namespace "${name}": names must match ${String(NAMESPACE_NAME_RE)} (harness-owned)`,
    );
  }
}

/** Throw unless `name` is a usable device name the harness owns (prefix, ≤ 15 characters). */
export function assertDeviceName(name: string): void {
  if (!NAMESPACE_NAME_RE.test(name) || name.length > MAX_DEVICE_NAME_LENGTH) {
    throw new UsageError(
      `Cannot use device name "${name}": names must match ${String(NAMESPACE_NAME_RE)} and have at most ${MAX_DEVICE_NAME_LENGTH} characters`,
    );
  }
}

/** Five base-36 characters of id. */
const NAME_SPACE = 36 ** 5;
/** Ids this process has handed out. */
const used = new Set<number>();

/**
 * A fresh name `h3b-<role>-<5 base-36 characters>` (at most 15 characters, so it also fits a device
 * name). Role: 1..5 characters [a-z0-9].
 */
export function uniqueName(role: string): string {
  if (!ROLE_RE.test(role)) {
    throw new UsageError(`Cannot make a unique name for role "${role}": roles must match ${String(ROLE_RE)}`);
  }
  // Random, so that concurrent processes are unlikely to meet, and never repeated within a process
  // (random draws alone would repeat, by the birthday bound, about 3% of the time in 2000 names).
  let id: number;
  do id = randomInt(NAME_SPACE);
  while (used.has(id));
  used.add(id);
  return `${NAMESPACE_PREFIX}${role}-${id.toString(36).padStart(5, '0')}`;
}

/** `ip netns add NAME`, then bring its loopback up. */
export async function createNamespace(name: string): Promise<void> {
  assertNamespaceName(name);
  await run(['ip', 'netns', 'add', name]);
  try {
    await run(['ip', '-n', name, 'link', 'set', 'dev', 'lo', 'up']);
  } catch (err) {
    await deleteNamespace(name);
    throw err;
  }
}

/** `ip netns del NAME`; a namespace that does not exist is not an error. */
export async function deleteNamespace(name: string): Promise<void> {
  assertNamespaceName(name);
  try {
    await run(['ip', 'netns', 'del', name]);
  } catch (err) {
    if (err instanceof CommandError && /No such file or directory|not found/i.test(err.stderr)) return;
    if (!(await listNamespaces(name)).includes(name)) return;
    throw err;
  }
}

/** Names of the existing namespaces starting with `prefix`. */
export async function listNamespaces(prefix: string = NAMESPACE_PREFIX): Promise<string[]> {
  const { stdout } = await run(['ip', 'netns', 'list']);
  return stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((name) => name !== '' && name.startsWith(prefix));
}

/** Run argv inside namespace `ns` (`ip netns exec NS argv…`). */
export function execIn(ns: string, argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  assertNamespaceName(ns);
  return run(['ip', 'netns', 'exec', ns, ...argv], options);
}

/** Start argv inside namespace `ns` without waiting for it (servers, long runs). */
export function spawnIn(ns: string, argv: readonly string[], options: SpawnOptions = {}): ChildProcess {
  assertNamespaceName(ns);
  return spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], ...options });
}

/**
 * Wait until a child prints a line equal to `want` (surrounding whitespace ignored) on stdout.
 * Rejects, with the child's stderr, when it exits or fails to start first, or after `timeoutMs`.
 * `makeError` builds the rejection (default: a plain Error).
 */
export function waitForLine(
  child: ChildProcess,
  want: string,
  timeoutMs: number,
  what: string,
  makeError: (message: string) => Error = (m) => new Error(m),
): Promise<void> {
  return new Promise((resolve, reject) => {
    let partial = '';
    let err = '';
    const onOut = (d: Buffer) => {
      const lines = (partial + d.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      if (lines.some((l) => l.trim() === want)) settle(null);
    };
    const onErr = (d: Buffer) => {
      err = (err + d.toString('utf8')).slice(-8192);
    };
    const onClose = (code: number | null, sig: NodeJS.Signals | null) => {
      // A last line without a newline still counts.
      settle(partial.trim() === want ? null : `exited (${sig ?? `status ${code ?? '?'}`}) before ${want}`);
    };
    const onError = (e: Error) => {
      settle(`could not start (${e.message})`);
    };
    const timer = setTimeout(() => {
      settle(`did not print ${want} within ${timeoutMs} ms`);
    }, timeoutMs);
    function settle(failure: string | null): void {
      clearTimeout(timer);
      child.stdout?.off('data', onOut);
      child.stderr?.off('data', onErr);
      child.off('close', onClose);
      child.off('error', onError);
      if (failure === null) resolve();
      else reject(makeError(`${what} ${failure}: ${err.trim()}`));
    }
    child.stdout?.on('data', onOut);
    child.stderr?.on('data', onErr);
    child.once('close', onClose);
    child.once('error', onError);
  });
}

/** `ip -n NS args…`. */
export function ipIn(ns: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  assertNamespaceName(ns);
  return run(['ip', '-n', ns, ...args], options);
}

/** Result of an environment check. */
export type Check = { ok: true } | { ok: false; reason: string };

const CAP_NET_ADMIN = 12;
const CAP_SYS_ADMIN = 21;

/** Effective capability set of this process, from /proc/self/status (null if unreadable). */
async function effectiveCaps(): Promise<bigint | null> {
  try {
    const status = await readFile('/proc/self/status', 'utf8');
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
    return m?.[1] === undefined ? null : BigInt('0x' + m[1]);
  } catch {
    return null;
  }
}

/**
 * Whether this process may create namespaces and configure links: CAP_NET_ADMIN and CAP_SYS_ADMIN
 * (mounting /run/netns), and iproute2's `ip` on PATH.
 */
export async function hasNetAdmin(): Promise<Check> {
  const caps = await effectiveCaps();
  const has = (bit: number) => caps !== null && (caps & (1n << BigInt(bit))) !== 0n;
  if (!has(CAP_NET_ADMIN) || !has(CAP_SYS_ADMIN)) {
    const uid = process.getuid?.();
    return {
      ok: false,
      reason: `network namespaces need root (CAP_NET_ADMIN and CAP_SYS_ADMIN); running as uid ${uid ?? '?'} without them`,
    };
  }
  try {
    await run(['ip', '-V'], { timeoutMs: 5_000 });
  } catch {
    return { ok: false, reason: 'the `ip` command (iproute2) is missing: install iproute2' };
  }
  return { ok: true };
}

/** Whether /dev/net/tun exists and can be opened. */
export async function hasTun(): Promise<Check> {
  try {
    const fh = await open('/dev/net/tun', 'r+');
    await fh.close();
    return { ok: true };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      return {
        ok: false,
        reason:
          '/dev/net/tun is missing: load the tun module (modprobe tun) or give the container the device',
      };
    }
    return {
      ok: false,
      reason: `cannot open /dev/net/tun (${code ?? String(err)}): needs root or CAP_NET_ADMIN`,
    };
  }
}

/** Throw an EnvironmentError naming every missing requirement of the linkem backend. */
export async function requireNamespacesAndTun(): Promise<void> {
  const reasons = [await hasNetAdmin(), await hasTun()].flatMap((c) => (c.ok ? [] : [c.reason]));
  if (reasons.length > 0) throw new EnvironmentError(`Cannot emulate a link here: ${reasons.join('; ')}`);
}
