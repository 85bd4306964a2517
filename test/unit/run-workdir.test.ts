/**
 * Whose `.tmp-*` directory is whose (workdir.ts): the owner record's pid and start time, boot id and
 * pid namespace decide whether its run is alive, dead (salvaged or removed) or in another container
 * (left alone); a salvager's mark in the name keeps a directory live only until the salvager has
 * recorded itself. No root: plain directories and owner records.
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { processStartTime } from '../../link/state.js';
import { foreignLines, salvageStaleRunTemps } from '../../harness/runner/salvage.js';
import { createRunTemp, scanRunTemps } from '../../harness/runner/workdir.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'h3bench-workdir-'));
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
const pidNs = readlinkSync('/proc/self/ns/pid');
const ownStart = processStartTime(process.pid) ?? '';
const OTHER_BOOT = '00000000-0000-4000-8000-000000000000';
const OTHER_NS = 'pid:[1]';

/** The pid and start time of a process that has exited. */
function deadProcess(): { pid: number; start: string } {
  const r = spawnSync(process.execPath, [
    '-e',
    'const s=require("fs").readFileSync("/proc/self/stat","utf8");console.log(process.pid+" "+s.slice(s.lastIndexOf(")")+2).split(" ")[19])',
  ]);
  const [pid = '0', start = ''] = r.stdout.toString().trim().split(' ');
  return { pid: Number(pid), start };
}

let n = 0;
/** A fresh output directory holding `.tmp-<name>` with `owner` (none when null). */
function temp(name: string, owner: string | null): { out: string; dir: string } {
  const out = path.join(tmp, `out-${n++}`);
  const dir = path.join(out, `.tmp-${name}`);
  mkdirSync(dir, { recursive: true });
  if (owner !== null) writeFileSync(path.join(dir, 'owner'), owner);
  return { out, dir };
}

async function stale(out: string): Promise<string[]> {
  return (await scanRunTemps(out)).stale.map((t) => t.dir);
}

describe('owner records', () => {
  it("record this process's pid, start time, boot id and pid namespace", async () => {
    const out = path.join(tmp, 'own');
    const dir = await createRunTemp(out, '20260101-000000-x-abc1234');
    expect(readFileSync(path.join(dir, 'owner'), 'utf8')).toBe(
      `${process.pid} ${ownStart} ${bootId} ${pidNs}\n`,
    );
    expect(await scanRunTemps(out)).toEqual({ stale: [], foreign: [] });
  });

  it('of a dead process (same boot and namespace) are stale', async () => {
    const d = deadProcess();
    const { out, dir } = temp(`x-${d.pid}`, `${d.pid} ${d.start} ${bootId} ${pidNs}\n`);
    expect(await scanRunTemps(out)).toEqual({ stale: [{ dir, pid: d.pid }], foreign: [] });
  });

  it("naming this process's pid with another start time are stale (a container's pid 1 after a restart)", async () => {
    const { out, dir } = temp(`x-${process.pid}`, `${process.pid} 1\n`);
    expect(await stale(out)).toEqual([dir]);
    const now = temp(`y-${process.pid}`, `${process.pid} 1 ${bootId} ${pidNs}\n`);
    expect(await stale(now.out)).toEqual([now.dir]);
  });

  it('from another boot are stale even when the pid and start time match a live process', async () => {
    const { out, dir } = temp(`x-${process.pid}`, `${process.pid} ${ownStart} ${OTHER_BOOT} ${pidNs}\n`);
    expect(await stale(out)).toEqual([dir]);
    // ... in whichever namespace it ran: a reboot ended it too.
    const ns = temp(`y-${process.pid}`, `${process.pid} ${ownStart} ${OTHER_BOOT} ${OTHER_NS}\n`);
    expect(await scanRunTemps(ns.out)).toEqual({ stale: [{ dir: ns.dir, pid: process.pid }], foreign: [] });
  });

  it('of earlier builds (pid and start time only) keep the pid and start time check', async () => {
    const live = temp(`x-${process.pid}`, `${process.pid} ${ownStart}\n`);
    expect(await stale(live.out)).toEqual([]);
    const d = deadProcess();
    const dead = temp(`x-${d.pid}`, `${d.pid} ${d.start}\n`);
    expect(await stale(dead.out)).toEqual([dead.dir]);
  });

  it('of another pid namespace are never touched, and are reported', async () => {
    const d = deadProcess();
    const { out, dir } = temp(`x-${d.pid}`, `${d.pid} ${d.start} ${bootId} ${OTHER_NS}\n`);
    writeFileSync(path.join(dir, 'runs.jsonl'), '');
    const r = await salvageStaleRunTemps(out);
    expect(r.foreign).toEqual([{ dir, pid: d.pid, pidNamespace: OTHER_NS }]);
    expect(r.removed).toEqual([]);
    expect(r.salvaged).toEqual([]);
    expect(r.errors).toEqual([]);
    expect(existsSync(path.join(dir, 'runs.jsonl'))).toBe(true);
    expect(foreignLines(r.foreign)).toEqual([
      expect.stringContaining(
        `left ${dir} alone: its run (pid ${d.pid}) is in another pid namespace (${OTHER_NS}`,
      ),
    ]);
  });
});

describe("a salvager's mark (-salvage-<pid>)", () => {
  it("keeps the directory live while the record still names the dead run's process", async () => {
    const d = deadProcess();
    const { out } = temp(`x-salvage-${process.ppid}`, `${d.pid} ${d.start} ${bootId} ${pidNs}\n`);
    expect(await stale(out)).toEqual([]);
  });

  it('keeps the directory live while there is no record', async () => {
    const { out } = temp(`x-salvage-${process.ppid}`, null);
    expect(await stale(out)).toEqual([]);
  });

  it('no longer counts once the salvager has recorded itself and died (its pid reused)', async () => {
    // The salvager's pid runs again (here: this test's parent), but its record's start time is not
    // that process's: the salvager is dead and the directory is retried.
    const { out, dir } = temp(`x-salvage-${process.ppid}`, `${process.ppid} 1 ${bootId} ${pidNs}\n`);
    expect(await stale(out)).toEqual([dir]);
    const old = temp(`y-salvage-${process.ppid}`, `${process.ppid} 1\n`);
    expect(await stale(old.out)).toEqual([old.dir]);
  });

  it('of a dead salvager with no record is stale', async () => {
    const d = deadProcess();
    const { out, dir } = temp(`x-salvage-${d.pid}`, null);
    expect(await stale(out)).toEqual([dir]);
  });
});
