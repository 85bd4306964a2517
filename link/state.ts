/**
 * The host-wide record of what h3bench processes have created or changed, so that a crash can be
 * cleaned up later (`h3bench cleanup`, and the sweep at the start of every emulated run):
 *
 *   /run/h3bench/state.json  (directory overridable with H3BENCH_STATE_DIR)
 *   { version: 1,
 *     host:   { "<sysctl>": "<original value>" },      init_net sysctls we changed, to restore
 *     owners: { "<pid>": { pid, startTime, command, since, namespaces: [...], processes: [...] } } }
 *
 * A namespace is recorded BEFORE it is created and forgotten after it is deleted, so anything of ours
 * exists only while its owner is recorded. An owner is alive when its pid exists with the same start
 * time (/proc/PID/stat field 22), which survives pid reuse. Every change happens under a lock file
 * (created whole and exclusively by link(2); the lock of a live holder is never broken, that of a
 * dead one by exactly one waiter: see breakDeadLock).
 */
import { createHash, randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { EnvironmentError } from '../core/errors.js';

export const STATE_VERSION = 1;

export interface OwnedProcess {
  pid: number;
  /** /proc/PID/stat start time (clock ticks since boot), guards against pid reuse. */
  startTime: string;
  /** What it is, e.g. "linkem". */
  name: string;
}

export interface Owner {
  pid: number;
  startTime: string;
  /** argv of the owner, for humans. */
  command: string;
  /** ISO time of the first record. */
  since: string;
  namespaces: string[];
  processes: OwnedProcess[];
}

export interface State {
  version: number;
  /** init_net sysctls changed by h3bench: name → value before the first change. */
  host: Record<string, string>;
  owners: Record<string, Owner>;
}

export function stateDir(): string {
  return process.env.H3BENCH_STATE_DIR ?? '/run/h3bench';
}

export function stateFile(): string {
  return path.join(stateDir(), 'state.json');
}

function emptyState(): State {
  return { version: STATE_VERSION, host: {}, owners: {} };
}

/** Start time of a process (field 22 of /proc/PID/stat), or null when it does not exist. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command (field 2) is in parentheses and may contain spaces: split after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19] ?? null;
  } catch {
    return null;
  }
}

/** True when `pid` runs and is the same process that was recorded. */
export function isAlive(pid: number, startTime: string): boolean {
  return processStartTime(pid) === startTime;
}

export function readState(): State {
  try {
    const raw = JSON.parse(readFileSync(stateFile(), 'utf8')) as Partial<State>;
    return { version: STATE_VERSION, host: raw.host ?? {}, owners: raw.owners ?? {} };
  } catch {
    return emptyState();
  }
}

function writeState(s: State): void {
  const tmp = `${stateFile()}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(s, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, stateFile());
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

/** How long to wait for a live lock holder before giving up (it is never broken), ms. */
export const LOCK_TIMEOUT_MS = 60_000;
/** A break marker older than this belongs to a breaker that died mid-way, ms. */
const BREAK_MARKER_STALE_MS = 10_000;

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

function unlinkQuiet(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    /* already gone */
  }
}

function lockPath(): string {
  return path.join(stateDir(), 'state.lock');
}

/** What a lock file says: "<pid> <start time> <nonce>" (a random nonce makes every lock unique). */
function lockContent(): string {
  return `${process.pid} ${processStartTime(process.pid) ?? ''} ${randomBytes(8).toString('hex')}`;
}

/** The lock's content, or null when there is no lock file. */
function readLock(lock: string): string | null {
  try {
    return readFileSync(lock, 'utf8');
  } catch (err) {
    if (errno(err) === 'ENOENT') return null;
    throw err;
  }
}

/**
 * Whether the holder named in a lock's content is gone. A lock without a readable holder (only an
 * older h3bench could leave one: locks are created whole, below) counts as dead once `lock` is
 * older than BREAK_MARKER_STALE_MS.
 */
function holderDead(lock: string, content: string): boolean {
  const [pid, start] = content.trim().split(' ');
  if (pid !== undefined && /^\d+$/.test(pid) && start !== undefined && start !== '') {
    return !isAlive(Number(pid), start);
  }
  try {
    return Date.now() - statSync(lock).mtimeMs > BREAK_MARKER_STALE_MS;
  } catch {
    return false;
  }
}

/** Create the lock with `content` in one step (hard link of a finished file): false when it exists. */
function tryCreateLock(lock: string, content: string): boolean {
  const tmp = `${lock}.${process.pid}.${content.slice(-16)}.new`;
  writeFileSync(tmp, content, { mode: 0o600 });
  try {
    linkSync(tmp, lock);
    return true;
  } catch (err) {
    if (errno(err) === 'EEXIST') return false;
    throw err;
  } finally {
    unlinkQuiet(tmp);
  }
}

/**
 * Remove the lock whose content was read as `seen` (its holder is dead), unless it has been replaced
 * meanwhile. Only one of several waiters that all saw the same dead holder may remove it: each tries
 * to hard-link the current lock to a marker named after `seen`; link() creates the marker for exactly
 * one of them. A link made to a newer lock (the dead one already broken and retaken) is noticed by
 * its content and undone without touching that lock. The winner removes the lock only while the
 * marker and the lock still are the same file. A marker left by a breaker that died between the two
 * steps goes stale after BREAK_MARKER_STALE_MS; the next attempt then uses the next marker name.
 * Returns false when another waiter is breaking it right now (wait, then look again). Exported for
 * tests.
 */
export function breakDeadLock(lock: string, seen: string): boolean {
  const id = createHash('sha256').update(seen).digest('hex').slice(0, 16);
  for (let k = 0; k < 1000; k++) {
    const marker = `${lock}.${id}.break${k}`;
    try {
      linkSync(lock, marker);
    } catch (err) {
      if (errno(err) === 'ENOENT') return true; // no lock any more
      if (errno(err) !== 'EEXIST') throw err;
      let age: number;
      try {
        age = Date.now() - statSync(marker).ctimeMs;
      } catch {
        continue; // its breaker just finished: try again
      }
      if (age < BREAK_MARKER_STALE_MS) return false; // another waiter is breaking it right now
      continue;
    }
    try {
      if (readFileSync(marker, 'utf8') !== seen) return true; // linked a newer lock: leave it alone
      const m = statSync(marker);
      const l = statSync(lock, { throwIfNoEntry: false });
      if (l !== undefined && l.ino === m.ino && l.dev === m.dev) unlinkSync(lock);
      return true;
    } finally {
      unlinkQuiet(marker);
    }
  }
  return false;
}

/**
 * Take the state lock: create it, or wait while its holder is alive (never breaking it: after
 * `timeoutMs` without the lock changing hands, throw naming the holder), or break it when the holder
 * is dead. Returns the content written, to release it with.
 */
export function acquireStateLock(timeoutMs = LOCK_TIMEOUT_MS): string {
  mkdirSync(stateDir(), { recursive: true, mode: 0o700 });
  const lock = lockPath();
  const mine = lockContent();
  let waitingFor: string | null = null;
  let since = Date.now();
  for (;;) {
    if (tryCreateLock(lock, mine)) return mine;
    const holder = readLock(lock);
    if (holder === null) continue; // released between the two calls
    if (holderDead(lock, holder)) {
      if (!breakDeadLock(lock, holder)) sleepSync(5);
      continue;
    }
    if (holder !== waitingFor) {
      waitingFor = holder;
      since = Date.now();
    } else if (Date.now() - since > timeoutMs) {
      const pid = holder.split(' ')[0] ?? '?';
      throw new EnvironmentError(
        `Cannot update ${stateFile()}: its lock ${lock} has been held by running process ${pid} for over ${Math.round(timeoutMs / 1000)} s. h3bench never breaks the lock of a live process; if ${pid} hangs, stop it`,
      );
    }
    sleepSync(5);
  }
}

/** Release the lock taken with `content` (only if it still is ours). */
export function releaseStateLock(content: string): void {
  const lock = lockPath();
  try {
    if (readFileSync(lock, 'utf8') === content) unlinkSync(lock);
  } catch {
    /* already gone */
  }
}

/** Run `fn` on the state under the lock and write the state back. */
export function withState<T>(fn: (s: State) => T): T {
  const held = acquireStateLock();
  try {
    const s = readState();
    const out = fn(s);
    writeState(s);
    return out;
  } finally {
    releaseStateLock(held);
  }
}

/** This process's owner record, created on first use. */
export function selfOwner(s: State): Owner {
  const key = String(process.pid);
  const start = processStartTime(process.pid) ?? '';
  let o = s.owners[key];
  if (!o || o.startTime !== start) {
    o = {
      pid: process.pid,
      startTime: start,
      command: process.argv.slice(1, 4).join(' '),
      since: new Date().toISOString(),
      namespaces: [],
      processes: [],
    };
    s.owners[key] = o;
  }
  return o;
}

function dropOwner(s: State, key: string): void {
  s.owners = Object.fromEntries(Object.entries(s.owners).filter(([k]) => k !== key));
}

/** Drop this process's record when it holds nothing any more. */
function pruneSelf(s: State): void {
  const o = s.owners[String(process.pid)];
  if (o && o.namespaces.length === 0 && o.processes.length === 0) dropOwner(s, String(process.pid));
}

export function recordNamespaces(names: readonly string[]): void {
  withState((s) => {
    const o = selfOwner(s);
    for (const n of names) if (!o.namespaces.includes(n)) o.namespaces.push(n);
  });
}

export function forgetNamespaces(names: readonly string[]): void {
  withState((s) => {
    const o = s.owners[String(process.pid)];
    if (o) o.namespaces = o.namespaces.filter((n) => !names.includes(n));
    pruneSelf(s);
  });
}

export function recordProcess(pid: number, name: string): void {
  const startTime = processStartTime(pid);
  if (startTime === null) return;
  withState((s) => {
    selfOwner(s).processes.push({ pid, startTime, name });
  });
}

export function forgetProcess(pid: number): void {
  withState((s) => {
    const o = s.owners[String(process.pid)];
    if (o) o.processes = o.processes.filter((p) => p.pid !== pid);
    pruneSelf(s);
  });
}

/** Owners whose process is gone (crashed or killed); their resources are still to clean. */
export function deadOwners(): Owner[] {
  return Object.values(readState().owners).filter((o) => !isAlive(o.pid, o.startTime));
}

/** Remove a dead owner's record once its resources are gone. */
export function forgetOwner(owner: Owner): void {
  withState((s) => {
    const o = s.owners[String(owner.pid)];
    if (o && o.startTime === owner.startTime) dropOwner(s, String(owner.pid));
  });
}

/** Namespaces recorded by owners that are alive (never touched by a sweep). */
export function liveNamespaces(): Set<string> {
  const s = readState();
  const out = new Set<string>();
  for (const o of Object.values(s.owners))
    if (isAlive(o.pid, o.startTime)) for (const n of o.namespaces) out.add(n);
  return out;
}
