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
 * (O_EXCL; a lock whose holder is dead is broken).
 */
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

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

/** Run `fn` on the state under the lock and write the state back. */
export function withState<T>(fn: (s: State) => T): T {
  mkdirSync(stateDir(), { recursive: true, mode: 0o700 });
  const lock = path.join(stateDir(), 'state.lock');
  const me = `${process.pid} ${processStartTime(process.pid) ?? ''}`;
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(lock, 'wx', 0o600);
      writeFileSync(fd, me);
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let holder: string;
      try {
        holder = readFileSync(lock, 'utf8');
      } catch {
        continue;
      }
      const [pid, start] = holder.split(' ');
      const dead = pid !== undefined && start !== undefined && !isAlive(Number(pid), start);
      if (dead || attempt > 2000) {
        try {
          unlinkSync(lock);
        } catch {
          /* someone else broke it */
        }
        continue;
      }
      sleepSync(5);
    }
  }
  try {
    const s = readState();
    const out = fn(s);
    writeState(s);
    return out;
  } finally {
    try {
      unlinkSync(lock);
    } catch {
      /* already gone */
    }
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
