/**
 * The temporary directory a run writes into (`<out>/.tmp-<run-id>-<pid>/`, renamed into place when
 * the result is written) and the sweep of those left by runs whose process is gone (kill -9, a
 * crash, a power cut): `h3bench run` salvages or removes them from its output directory at start
 * (salvage.ts), and `h3bench cleanup` from the one it is given. A directory whose process still runs
 * is never touched.
 *
 * The owner is recorded inside as `owner`: "<pid> <start time> <boot id> <pid namespace>" (start
 * time from /proc/PID/stat, so a reused pid is not mistaken for the owner; the boot id from
 * /proc/sys/kernel/random/boot_id, so an owner from before a reboot is dead even when its pid and
 * start time come back, as they do for a container's pid 1; the pid namespace from
 * /proc/self/ns/pid, so the directory of a run in another container sharing the results directory,
 * whose pids mean nothing here, is never touched). A record of an earlier build has only the pid
 * and start time, and is checked by those; a directory without one (an older build still) belongs
 * to the pid at the end of its name. A dead run's directory that is being salvaged (salvage.ts) is
 * first renamed to `.tmp-<run-id>-salvage-<pid>` by the process salvaging it, which then records
 * itself as the owner: the rename makes sure one process salvages it, and the pid in the name
 * keeps it live between the rename and the new owner record (while the record still names the dead
 * run, or there is none); once the salvager has recorded itself, its record alone decides.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isAlive, processStartTime } from '../../link/state.js';

export const TMP_PREFIX = '.tmp-';
const OWNER_FILE = 'owner';
/** An owner field that could not be read when it was written. */
const UNKNOWN = '-';

/** What tells this process's owner records from those of another boot or another pid namespace. */
interface Identity {
  bootId: string;
  pidNamespace: string;
}

let identity: Identity | undefined;

function readOr(read: () => string): string {
  try {
    return read().trim() || UNKNOWN;
  } catch {
    return UNKNOWN;
  }
}

function ownIdentity(): Identity {
  identity ??= {
    bootId: readOr(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8')),
    pidNamespace: readOr(() => readlinkSync('/proc/self/ns/pid')),
  };
  return identity;
}

/** Create the temporary directory of a run and record this process as its owner. */
export async function createRunTemp(outRoot: string, runId: string): Promise<string> {
  await mkdir(outRoot, { recursive: true });
  const tmp = path.join(outRoot, `${TMP_PREFIX}${runId}-${process.pid}`);
  await mkdir(tmp, { recursive: true });
  await writeOwner(tmp);
  return tmp;
}

/** The owner record of this process (the content of an `owner` file). */
export function ownerRecord(): string {
  const { bootId, pidNamespace } = ownIdentity();
  const start = processStartTime(process.pid) ?? UNKNOWN;
  return `${process.pid} ${start} ${bootId} ${pidNamespace}\n`;
}

async function writeOwner(dir: string): Promise<void> {
  await writeFile(path.join(dir, OWNER_FILE), ownerRecord());
}

const SALVAGE_MARK = '-salvage-';

/**
 * Take a dead run's temporary directory over for this process (to salvage it): rename it to
 * `.tmp-<runId>-salvage-<pid>` and record this process as its owner. Returns the new path, or null
 * when it is gone (another process took it first).
 */
export async function claimRunTemp(dir: string, runId: string): Promise<string | null> {
  const claimed = path.join(path.dirname(dir), `${TMP_PREFIX}${runId}${SALVAGE_MARK}${process.pid}`);
  try {
    await rename(dir, claimed);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  await writeOwner(claimed);
  return claimed;
}

/** Remove the owner record before the directory becomes a result. */
export async function releaseRunTemp(tmp: string): Promise<void> {
  await rm(path.join(tmp, OWNER_FILE), { force: true });
}

export interface StaleTemp {
  dir: string;
  pid: number;
}

/** A temporary directory whose owner ran in another pid namespace (another container). */
export interface ForeignTemp extends StaleTemp {
  /** The owner's pid namespace (`readlink /proc/PID/ns/pid`). */
  pidNamespace: string;
}

export interface RunTemps {
  /** Directories whose process is gone: to be salvaged or removed. */
  stale: StaleTemp[];
  /**
   * Directories of another pid namespace (another container sharing the results directory): their
   * owner cannot be checked from here, so they are never touched.
   */
  foreign: ForeignTemp[];
}

interface OwnerFile {
  pid: number;
  /** Unknown when the owner could not read its own start time. */
  start: string | null;
  /** Absent in the records of earlier builds, or when the owner could not read them. */
  bootId: string | null;
  pidNamespace: string | null;
}

/** A directory's owner record; null when there is none (or it is not one). */
async function readOwner(dir: string): Promise<OwnerFile | null> {
  let text: string;
  try {
    text = await readFile(path.join(dir, OWNER_FILE), 'utf8');
  } catch {
    return null; // no owner file: an older build, or the owner is just creating it
  }
  const [pid = '', start = '', bootId = '', pidNamespace = ''] = text.trim().split(/\s+/);
  if (!/^\d+$/.test(pid)) return null;
  const known = (v: string) => (v === '' || v === UNKNOWN ? null : v);
  return { pid: Number(pid), start: known(start), bootId: known(bootId), pidNamespace: known(pidNamespace) };
}

/** Whether a recorded owner runs, is gone, or ran in another pid namespace (and cannot be checked). */
function ownerState(owner: OwnerFile): 'alive' | 'dead' | 'foreign' {
  const here = ownIdentity();
  const differs = (theirs: string | null, ours: string) =>
    theirs !== null && ours !== UNKNOWN && theirs !== ours;
  // Another boot: every process of it is gone, whichever namespace it ran in.
  if (differs(owner.bootId, here.bootId)) return 'dead';
  if (differs(owner.pidNamespace, here.pidNamespace)) return 'foreign';
  if (owner.start === null) return processStartTime(owner.pid) !== null ? 'alive' : 'dead';
  return isAlive(owner.pid, owner.start) ? 'alive' : 'dead';
}

/** The pid of the process that renamed a directory to salvage it, from its name; null when none did. */
function salvagerPid(name: string): number | null {
  const m = new RegExp(`${SALVAGE_MARK}(\\d+)$`).exec(name);
  return m ? Number(m[1]) : null;
}

/** The `.tmp-*` directories in `outRoot` whose process is gone, and those of other pid namespaces. */
export async function scanRunTemps(outRoot: string): Promise<RunTemps> {
  let names: string[];
  try {
    names = await readdir(outRoot);
  } catch {
    return { stale: [], foreign: [] };
  }
  const out: RunTemps = { stale: [], foreign: [] };
  for (const name of names.filter((n) => n.startsWith(TMP_PREFIX)).sort()) {
    const dir = path.join(outRoot, name);
    const owner = await readOwner(dir);
    if (owner === null) {
      // No record: the pid at the end of the name (an older build's run, a run creating its
      // directory, or a salvager between its rename and its record) decides.
      const m = /-(\d+)$/.exec(name);
      if (!m) continue;
      const pid = Number(m[1]);
      if (processStartTime(pid) === null) out.stale.push({ dir, pid });
      continue;
    }
    const state = ownerState(owner);
    if (state === 'foreign') {
      out.foreign.push({ dir, pid: owner.pid, pidNamespace: owner.pidNamespace ?? UNKNOWN });
      continue;
    }
    if (state === 'alive') continue;
    // The record names a dead process. When it is not the salvager named in the directory's name,
    // it is the dead run's: a salvager renamed the directory and has not recorded itself yet, and
    // it is live while that salvager runs. A salvager's own record decides alone (its pid may
    // have been reused since it died).
    const salvager = salvagerPid(name);
    if (salvager !== null && salvager !== owner.pid && processStartTime(salvager) !== null) continue;
    out.stale.push({ dir, pid: owner.pid });
  }
  return out;
}
