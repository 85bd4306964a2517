/**
 * Namespaces of one emulated link: created fresh for every run (recorded in the state file first),
 * removed afterwards with every process inside them, and swept after a crash.
 *
 * Names come from netns.ts `uniqueName(role)`: `h3b-<role>-<5 chars>`. Roles: `cli` (client), `srv`
 * (server), `lka`/`lkb` (netem link namespaces), `tun` (linkem's TUN devices), `probe` (netem probe).
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  createNamespace,
  deleteNamespace,
  listNamespaces,
  NAMESPACE_PREFIX,
  run,
  uniqueName,
} from './netns.js';
import { restoreHostIfUnused, type HostChange } from './sysctl.js';
import {
  deadOwners,
  forgetNamespaces,
  forgetOwner,
  isAlive,
  liveNamespaces,
  processStartTime,
  readState,
  recordNamespaces,
} from './state.js';

/** Create namespaces for `roles` (recorded before creation); on failure, remove what was made. */
export async function createNamespaces(roles: readonly string[]): Promise<string[]> {
  const names = roles.map((r) => uniqueName(r));
  recordNamespaces(names);
  const made: string[] = [];
  try {
    for (const n of names) {
      await createNamespace(n);
      made.push(n);
    }
  } catch (err) {
    await removeNamespaces(names);
    throw err;
  }
  return names;
}

/** Pids of the processes inside a namespace (`ip netns pids`). */
export async function namespacePids(ns: string): Promise<number[]> {
  try {
    const { stdout } = await run(['ip', 'netns', 'pids', ns]);
    return stdout
      .split(/\s+/)
      .filter((s) => /^\d+$/.test(s))
      .map(Number);
  } catch {
    return [];
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** SIGTERM, then SIGKILL after `graceMs`, the given processes (each checked by start time). */
export async function killProcesses(
  procs: readonly { pid: number; startTime: string }[],
  graceMs = 1000,
): Promise<number> {
  const alive = () => procs.filter((p) => isAlive(p.pid, p.startTime));
  const targets = alive();
  for (const p of targets) {
    try {
      process.kill(p.pid, 'SIGTERM');
    } catch {
      /* gone */
    }
  }
  const deadline = Date.now() + graceMs;
  while (alive().length > 0 && Date.now() < deadline) await sleep(20);
  for (const p of alive()) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  const killDeadline = Date.now() + 2000;
  while (alive().length > 0 && Date.now() < killDeadline) await sleep(20);
  return targets.length;
}

/** Kill every process inside `ns` (never our own). */
export async function killNamespaceProcesses(ns: string, graceMs = 500): Promise<number> {
  const pids = (await namespacePids(ns)).filter((p) => p !== process.pid);
  const procs = pids.flatMap((pid) => {
    const startTime = processStartTime(pid);
    return startTime === null ? [] : [{ pid, startTime }];
  });
  return killProcesses(procs, graceMs);
}

/**
 * Kill what runs inside and delete the namespaces; never throws for a missing one. With `forget`
 * (the default) the ones gone are also dropped from this process's record in the state file; a
 * sweep removing another (dead) owner's namespaces passes false and forgets the owner instead.
 */
export async function removeNamespaces(
  names: readonly string[],
  opts: { forget?: boolean } = {},
): Promise<string[]> {
  const errors: string[] = [];
  for (const n of names) {
    try {
      await killNamespaceProcesses(n);
      await deleteNamespace(n);
    } catch (err) {
      errors.push(`${n}: ${(err as Error).message}`);
    }
  }
  if (opts.forget ?? true) {
    const remaining = new Set(await listNamespaces().catch(() => [] as string[]));
    forgetNamespaces(names.filter((n) => !remaining.has(n)));
  }
  return errors;
}

export interface SweepReport {
  /** Owners found dead, with what was removed for them. */
  owners: { pid: number; command: string; namespaces: string[]; processes: number }[];
  /** Namespaces removed that no h3bench process had recorded (cleanup only). */
  unrecorded: string[];
  /** Namespaces left alone because a live h3bench process owns them. */
  kept: string[];
  /** Host sysctls restored. */
  restored: HostChange[];
  errors: string[];
}

/**
 * Remove what crashed h3bench processes left behind: their processes (checked by start time),
 * their namespaces, their records; then restore host sysctls when nobody needs them. Namespaces
 * nobody recorded are left alone (another tool, or a process still setting up): see `cleanupAll`.
 */
export async function sweepStale(): Promise<SweepReport> {
  const report: SweepReport = { owners: [], unrecorded: [], kept: [], restored: [], errors: [] };
  for (const owner of deadOwners()) {
    const killed = await killProcesses(owner.processes, 1000);
    report.errors.push(...(await removeNamespaces(owner.namespaces, { forget: false })));
    forgetOwner(owner);
    report.owners.push({
      pid: owner.pid,
      command: owner.command,
      namespaces: owner.namespaces,
      processes: killed,
    });
  }
  report.restored = restoreHostIfUnused();
  return report;
}

let swept: Promise<SweepReport> | undefined;
/** sweepStale once per process (at the first emulated link of a run). */
export function sweepStaleOnce(): Promise<SweepReport> {
  swept ??= sweepStale();
  return swept;
}

/** Age of a namespace in seconds (its /run/netns mount point), or null. */
async function namespaceAgeS(ns: string): Promise<number | null> {
  try {
    const st = await stat(path.join('/run/netns', ns));
    return (Date.now() - st.mtimeMs) / 1000;
  } catch {
    return null;
  }
}

export interface CleanupOptions {
  /** Only report what would be removed. */
  dryRun?: boolean;
  /** Also remove namespaces owned by live h3bench processes (stops them working). */
  all?: boolean;
  /** Leave unrecorded namespaces younger than this alone (seconds; default 0 = remove all). */
  olderThanS?: number;
}

/**
 * `h3bench cleanup`: everything with our prefix — dead owners' processes and namespaces (as
 * sweepStale), and every other `h3b-` namespace not owned by a live h3bench process (with
 * `all`, those too) — then host sysctls restored from the state file.
 */
export async function cleanupAll(opts: CleanupOptions = {}): Promise<SweepReport> {
  if (opts.dryRun) {
    const live = liveNamespaces();
    const dead = deadOwners();
    const existing = await listNamespaces(NAMESPACE_PREFIX);
    const recordedDead = new Set(dead.flatMap((o) => o.namespaces));
    const unrecorded: string[] = [];
    for (const n of existing) {
      if (live.has(n) || recordedDead.has(n)) continue;
      const age = await namespaceAgeS(n);
      if (age === null || age >= (opts.olderThanS ?? 0)) unrecorded.push(n);
    }
    return {
      owners: dead.map((o) => ({
        pid: o.pid,
        command: o.command,
        namespaces: o.namespaces,
        processes: o.processes.filter((p) => isAlive(p.pid, p.startTime)).length,
      })),
      unrecorded,
      kept: opts.all ? [] : existing.filter((n) => live.has(n)),
      // Restored only when no running h3bench holds namespaces (as restoreHostIfUnused decides).
      restored:
        live.size > 0 && !opts.all
          ? []
          : Object.entries(readState().host).map(([name, original]) => ({ name, original, value: '' })),
      errors: [],
    };
  }
  const report = await sweepStale();
  const live = liveNamespaces();
  if (opts.all) {
    const s = readState();
    for (const o of Object.values(s.owners)) {
      await killProcesses(o.processes, 1000);
      forgetOwner(o);
    }
  }
  for (const n of await listNamespaces(NAMESPACE_PREFIX)) {
    if (live.has(n) && !opts.all) {
      report.kept.push(n);
      continue;
    }
    const age = await namespaceAgeS(n);
    if (!live.has(n) && age !== null && age < (opts.olderThanS ?? 0)) continue;
    report.errors.push(...(await removeNamespaces([n], { forget: false })));
    report.unrecorded.push(n);
  }
  if (opts.all) {
    // Owners forgotten above: make sure nothing stops the restore.
    report.restored.push(...restoreHostIfUnused());
  } else if (report.restored.length === 0) {
    report.restored = restoreHostIfUnused();
  }
  report.errors.push(
    ...(await strayTunDevices()).map((d) => `TUN device ${d} still exists in the host namespace`),
  );
  return report;
}

/** TUN devices with our prefix in the current (host) namespace — there should never be any. */
export async function strayTunDevices(): Promise<string[]> {
  try {
    const { stdout } = await run(['ip', '-o', 'link', 'show', 'type', 'tun']);
    return stdout
      .split('\n')
      .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1] ?? '')
      .filter((d) => d.startsWith(NAMESPACE_PREFIX));
  } catch {
    return [];
  }
}

/** /proc/net/snmp + /proc/net/netstat counters of a namespace that reveal non-network loss. */
export async function namespaceCounters(ns: string): Promise<Record<string, number>> {
  const wanted = new Set([
    'Udp.InDatagrams',
    'Udp.OutDatagrams',
    'Udp.RcvbufErrors',
    'Udp.SndbufErrors',
    'Udp.InErrors',
    'Tcp.OutSegs',
    'Tcp.RetransSegs',
    'TcpExt.TCPRcvQDrop',
    'TcpExt.TCPLossProbes',
    'TcpExt.TCPSACKReorder',
  ]);
  const out: Record<string, number> = {};
  try {
    const { stdout } = await run(['ip', 'netns', 'exec', ns, 'cat', '/proc/net/snmp', '/proc/net/netstat']);
    const lines = stdout.split('\n');
    for (let i = 0; i + 1 < lines.length; i += 1) {
      const head = lines[i]?.split(/\s+/) ?? [];
      const vals = lines[i + 1]?.split(/\s+/) ?? [];
      const proto = head[0];
      if (!proto?.endsWith(':') || vals[0] !== proto || /^\d/.test(head[1] ?? '')) continue;
      for (let k = 1; k < head.length; k++) {
        const key = `${proto.slice(0, -1)}.${head[k] ?? ''}`;
        if (wanted.has(key)) out[key] = Number(vals[k]);
      }
      i += 1;
    }
  } catch {
    /* namespace gone: no counters */
  }
  return out;
}

/** Kernel release (for provenance). */
export async function kernelRelease(): Promise<string> {
  try {
    return (await readFile('/proc/sys/kernel/osrelease', 'utf8')).trim();
  } catch {
    return 'unknown';
  }
}
