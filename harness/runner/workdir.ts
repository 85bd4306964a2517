/**
 * The temporary directory a run writes into (`<out>/.tmp-<run-id>-<pid>/`, renamed into place when
 * the result is written) and the sweep of those left by runs whose process is gone (kill -9, a
 * crash, a power cut): `h3bench run` salvages or removes them from its output directory at start
 * (salvage.ts), and `h3bench cleanup` from the one it is given. A directory whose process still runs
 * is never touched.
 *
 * The owner is recorded inside as `owner` ("<pid> <start time>", start time from /proc/PID/stat, so
 * a reused pid is not mistaken for the owner); a directory without it (an older build) belongs to
 * the pid at the end of its name. A dead run's directory that is being salvaged (salvage.ts) is
 * first renamed to `.tmp-<run-id>-salvage-<pid>` by the process salvaging it, which then records
 * itself as the owner: the rename makes sure one process salvages it, and the pid in the name
 * keeps it live between the rename and the new owner record.
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isAlive, processStartTime } from '../../link/state.js';

export const TMP_PREFIX = '.tmp-';
const OWNER_FILE = 'owner';

/** Create the temporary directory of a run and record this process as its owner. */
export async function createRunTemp(outRoot: string, runId: string): Promise<string> {
  await mkdir(outRoot, { recursive: true });
  const tmp = path.join(outRoot, `${TMP_PREFIX}${runId}-${process.pid}`);
  await mkdir(tmp, { recursive: true });
  await writeOwner(tmp);
  return tmp;
}

async function writeOwner(dir: string): Promise<void> {
  await writeFile(path.join(dir, OWNER_FILE), `${process.pid} ${processStartTime(process.pid) ?? ''}\n`);
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

/** Whether the process that owns a temporary directory still runs. */
async function ownerAlive(dir: string, name: string): Promise<{ pid: number; alive: boolean } | null> {
  try {
    const [pid = '', start = ''] = (await readFile(path.join(dir, OWNER_FILE), 'utf8')).trim().split(' ');
    if (/^\d+$/.test(pid) && start !== '') return { pid: Number(pid), alive: isAlive(Number(pid), start) };
  } catch {
    /* no owner file: an older build, or the owner is just creating it */
  }
  const m = /-(\d+)$/.exec(name);
  if (!m) return null;
  const pid = Number(m[1]);
  return { pid, alive: processStartTime(pid) !== null };
}

/** Whether a process is salvaging the directory (it renamed it, and may not have recorded itself yet). */
function beingSalvaged(name: string): boolean {
  const m = new RegExp(`${SALVAGE_MARK}(\\d+)$`).exec(name);
  return m !== null && processStartTime(Number(m[1])) !== null;
}

/** `.tmp-*` directories in `outRoot` whose process is gone. */
export async function staleRunTemps(outRoot: string): Promise<StaleTemp[]> {
  let names: string[];
  try {
    names = await readdir(outRoot);
  } catch {
    return [];
  }
  const out: StaleTemp[] = [];
  for (const name of names.filter((n) => n.startsWith(TMP_PREFIX)).sort()) {
    const dir = path.join(outRoot, name);
    const owner = await ownerAlive(dir, name);
    if (owner === null || owner.alive || owner.pid === process.pid || beingSalvaged(name)) continue;
    out.push({ dir, pid: owner.pid });
  }
  return out;
}
