/** The crash-recovery record (link/state.ts), in a private state directory: no root needed. */
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import {
  acquireStateLock,
  breakDeadLock,
  deadOwners,
  forgetNamespaces,
  forgetOwner,
  isAlive,
  liveNamespaces,
  processStartTime,
  readState,
  recordNamespaces,
  recordProcess,
  releaseStateLock,
  stateFile,
  withState,
} from '../../link/state.js';

const repo = path.resolve(import.meta.dirname, '../..');

const dir = mkdtempSync(path.join(os.tmpdir(), 'h3bench-state-'));
process.env.H3BENCH_STATE_DIR = dir;
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  rmSync(stateFile(), { force: true });
});

/** A pid that existed and is gone now, with its start time. */
function deadProcess(): { pid: number; startTime: string } {
  const r = spawnSync(process.execPath, [
    '-e',
    'console.log(process.pid + " " + require("fs").readFileSync("/proc/self/stat","utf8").split(") ")[1].split(" ")[19])',
  ]);
  const [pid = '0', startTime = ''] = r.stdout.toString().trim().split(' ');
  return { pid: Number(pid), startTime };
}

describe('state file', () => {
  it('records namespaces under this process and forgets them, dropping an empty owner', () => {
    recordNamespaces(['h3b-cli-aaaaa', 'h3b-srv-bbbbb']);
    const s = readState();
    const me = s.owners[String(process.pid)];
    expect(me?.namespaces).toEqual(['h3b-cli-aaaaa', 'h3b-srv-bbbbb']);
    expect(me?.startTime).toBe(processStartTime(process.pid));
    expect(liveNamespaces()).toEqual(new Set(['h3b-cli-aaaaa', 'h3b-srv-bbbbb']));
    forgetNamespaces(['h3b-cli-aaaaa', 'h3b-srv-bbbbb']);
    expect(readState().owners).toEqual({});
  });

  it('tells live owners from dead ones by pid and start time (pid reuse safe)', () => {
    expect(isAlive(process.pid, processStartTime(process.pid) ?? '')).toBe(true);
    expect(isAlive(process.pid, '1')).toBe(false);
    const dead = deadProcess();
    expect(isAlive(dead.pid, dead.startTime)).toBe(false);
    withState((s) => {
      s.owners[String(dead.pid)] = {
        ...dead,
        command: 'h3bench run x',
        since: new Date().toISOString(),
        namespaces: ['h3b-cli-zzzzz'],
        processes: [],
      };
    });
    recordNamespaces(['h3b-cli-mine1']);
    const found = deadOwners();
    expect(found.map((o) => o.pid)).toEqual([dead.pid]);
    expect(liveNamespaces()).toEqual(new Set(['h3b-cli-mine1']));
    const owner = found[0];
    expect(owner).toBeDefined();
    if (owner) forgetOwner(owner);
    expect(Object.keys(readState().owners)).toEqual([String(process.pid)]);
    forgetNamespaces(['h3b-cli-mine1']);
  });

  it('records helper processes with their start time', () => {
    recordProcess(process.pid, 'self');
    expect(readState().owners[String(process.pid)]?.processes).toEqual([
      { pid: process.pid, startTime: processStartTime(process.pid), name: 'self' },
    ]);
  });

  it('breaks a lock left by a dead process', () => {
    const dead = deadProcess();
    writeFileSync(path.join(dir, 'state.lock'), `${dead.pid} ${dead.startTime}`);
    recordNamespaces(['h3b-cli-lock1']);
    expect(JSON.parse(readFileSync(stateFile(), 'utf8'))).toMatchObject({ version: 1 });
    forgetNamespaces(['h3b-cli-lock1']);
    expect(existsSync(path.join(dir, 'state.lock'))).toBe(false);
    expect(readdirSync(dir).filter((f) => f.startsWith('state.lock'))).toEqual([]);
  });

  it('never breaks the lock of a live holder, however long it waits', () => {
    const lock = path.join(dir, 'state.lock');
    const holder = `${process.pid} ${processStartTime(process.pid) ?? ''} feedfacefeedface`;
    writeFileSync(lock, holder);
    try {
      expect(() => acquireStateLock(300)).toThrow(new RegExp(`held by running process ${process.pid}`));
      expect(readFileSync(lock, 'utf8')).toBe(holder);
    } finally {
      unlinkSync(lock);
    }
  });

  it('a waiter that saw a dead holder never removes the fresh lock taken after it was broken', () => {
    // Two waiters saw the same dead holder; the first broke its lock and someone took a fresh
    // one; the second one's (late) break must leave that fresh lock alone.
    const lock = path.join(dir, 'state.lock');
    const dead = deadProcess();
    const seen = `${dead.pid} ${dead.startTime} 0123456789abcdef`;
    writeFileSync(lock, seen);
    breakDeadLock(lock, seen); // the first waiter
    expect(existsSync(lock)).toBe(false);
    const fresh = acquireStateLock();
    breakDeadLock(lock, seen); // the second waiter, late
    expect(readFileSync(lock, 'utf8')).toBe(fresh);
    releaseStateLock(fresh);
    expect(existsSync(lock)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.startsWith('state.lock'))).toEqual([]);
  });

  it("loses no update when processes race for the lock, starting from a dead holder's lock", async () => {
    const dead = deadProcess();
    writeFileSync(path.join(dir, 'state.lock'), `${dead.pid} ${dead.startTime}`);
    const workers = 4;
    const each = 40;
    const script = `
      import { withState } from ${JSON.stringify(path.join(repo, 'dist/link/state.js'))};
      for (let i = 0; i < ${each}; i++) withState((s) => { s.host['k' + process.pid + '-' + i] = String(i); });
    `;
    const codes = await Promise.all(
      Array.from(
        { length: workers },
        () =>
          new Promise<number | null>((resolve) => {
            const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
              env: { ...process.env, H3BENCH_STATE_DIR: dir },
              stdio: ['ignore', 'ignore', 'inherit'],
            });
            child.once('exit', resolve);
          }),
      ),
    );
    expect(codes).toEqual(Array<number>(workers).fill(0));
    expect(Object.keys(readState().host)).toHaveLength(workers * each);
    expect(readdirSync(dir).filter((f) => f.startsWith('state.lock'))).toEqual([]);
  });
});
