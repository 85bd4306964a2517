/**
 * The runner keeps what finished: an infrastructure failure fails one run and the scenario goes on;
 * MAX_CONSECUTIVE_INFRA_FAILURES in a row, or an abort, write a partial result that reads back with
 * `partial` set. Loopback (backend none) and a stand-in `linkUp` (RunOptions test seam): no root.
 * The server and client processes are the compiled ones (vitest's global setup builds dist/).
 */
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EnvironmentError } from '../../core/errors.js';
import { linkUp, type LinkHandle } from '../../link/index.js';
import { processStartTime } from '../../link/state.js';
import { readResult } from '../../harness/report/read.js';
import { loadScenario } from '../../harness/scenario/load.js';
import {
  MAX_CONSECUTIVE_INFRA_FAILURES,
  PARTIAL_SUFFIX,
  describeError,
  runScenario,
  type LinkUpFn,
} from '../../harness/runner/run.js';
import { RESULT_SCHEMA_VERSION, type ResultFile } from '../../harness/model/result.js';
import { CHECKPOINT_FILE, RUNS_FILE, readCheckpoint } from '../../harness/runner/checkpoint.js';
import { INVALID_RESULT_FILE, publishResult } from '../../harness/runner/publish.js';
import { salvageStaleRunTemps } from '../../harness/runner/salvage.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'h3bench-partial-'));
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

function scenario(repetitions: number, workload?: string): ReturnType<typeof loadScenario> {
  const file = path.join(tmp, `tiny-${repetitions}${workload ? '-custom' : ''}.yaml`);
  writeFileSync(
    file,
    `name: tiny\nprotocols: [h1]\nrepetitions: ${repetitions}\nnetwork: { backend: none }\n` +
      `workload: ${workload ?? '{ type: multiplex, requests: 5, size: 1KB, concurrency: 5, timeout: 10s }'}\nreport: { formats: [json] }\n`,
  );
  return loadScenario(file);
}

/** The temporary directory of the run going on in `out`. */
function runTemp(out: string): string {
  const temps = readdirSync(out).filter((d) => d.startsWith('.tmp-'));
  expect(temps).toHaveLength(1);
  return path.join(out, temps[0] ?? '');
}

/** The pid and start time of a process that has exited. */
function deadProcess(): { pid: string; start: string } {
  const r = spawnSync(process.execPath, [
    '-e',
    'console.log(process.pid + " " + require("fs").readFileSync("/proc/self/stat","utf8").split(") ")[1].split(" ")[19])',
  ]);
  const [pid = '0', start = ''] = r.stdout.toString().trim().split(' ');
  return { pid, start };
}

/** linkUp that fails (as an emulator that never printed READY would) on the runs in `failing`. */
function failingOn(failing: (index: number) => boolean): { fn: LinkUpFn; calls: () => number } {
  let n = 0;
  const fn: LinkUpFn = (network, transport, ctx) => {
    const index = n++;
    if (failing(index)) {
      return Promise.reject(
        new EnvironmentError(`injected: link of run ${index + 1} did not come up`, {
          cause: new Error('linkem did not print READY within 5000 ms'),
        }),
      );
    }
    return linkUp(network, transport, ctx);
  };
  return { fn, calls: () => n };
}

describe('runScenario with infrastructure failures', () => {
  it('fails only the run whose link did not come up, keeps runs 1..k-1, and completes', async () => {
    const out = path.join(tmp, 'one-failure');
    const k = 3;
    const link = failingOn((i) => i === k - 1);
    const { result, dir } = await runScenario(scenario(5), { outRoot: out, linkUp: link.fn });
    expect(link.calls()).toBe(5);
    expect(result.partial).toBeUndefined();
    expect(path.basename(dir)).not.toContain(PARTIAL_SUFFIX);
    expect(result.runs).toHaveLength(5);
    expect(result.runs.slice(0, k - 1).every((r) => r.ok)).toBe(true);
    const failed = result.runs[k - 1];
    expect(failed?.ok).toBe(false);
    expect(failed?.error).toContain('link did not come up');
    expect(failed?.error).toContain(`injected: link of run ${k} did not come up`);
    expect(failed?.error).toContain('cause: linkem did not print READY');
    expect(failed?.link.provenance).toBeNull();
    expect(result.runs.slice(k).every((r) => r.ok)).toBe(true);
    expect(result.summary.ok).toBe(false);
    const back = readResult(dir);
    expect(back.schemaVersion).toBe(RESULT_SCHEMA_VERSION);
    expect(back.partial).toBeUndefined();
    expect(back.runs[k - 1]?.link.provenance).toBeNull();
    expect(readdirSync(out)).toEqual([path.basename(dir)]);
  });

  it(`stops after ${MAX_CONSECUTIVE_INFRA_FAILURES} consecutive infrastructure failures with a partial result on disk`, async () => {
    const out = path.join(tmp, 'abort');
    // Run 1 ok, run 2 fails, run 3 ok (resets the count), then runs 4, 5, 6 fail: stop there.
    const link = failingOn((i) => i === 1 || i >= 3);
    const outcome = await runScenario(scenario(10), { outRoot: out, linkUp: link.fn });
    expect(link.calls()).toBe(3 + MAX_CONSECUTIVE_INFRA_FAILURES);
    const { result, dir } = outcome;
    expect(result.runs.map((r) => r.ok)).toEqual([true, false, true, false, false, false]);
    expect(result.partial).toMatchObject({ runsPlanned: 10, runsDone: 6 });
    expect(result.partial?.reason).toMatch(/3 consecutive infrastructure failures \(runs 4, 5, 6\)/);
    expect(outcome.abortedBy).toBeInstanceOf(EnvironmentError);
    expect(path.basename(dir).endsWith(PARTIAL_SUFFIX)).toBe(true);
    const back = readResult(dir);
    expect(back.partial).toEqual(result.partial);
    expect(back.runs).toHaveLength(6);
    // Nothing else left in the output directory (no .tmp-*).
    expect(readdirSync(out)).toEqual([path.basename(dir)]);
  });
});

describe('runScenario interrupted', () => {
  it('keeps the runs finished before the abort as a partial result', async () => {
    const out = path.join(tmp, 'interrupt');
    const ac = new AbortController();
    const { result, dir } = await runScenario(scenario(10), {
      outRoot: out,
      signal: ac.signal,
      onProgress: (ev) => {
        if (ev.phase === 'done' && ev.run.index === 1) ac.abort(new Error('interrupted by SIGINT'));
      },
    });
    expect(result.runs).toHaveLength(2);
    expect(result.runs.every((r) => r.ok)).toBe(true);
    expect(result.partial).toEqual({ reason: 'interrupted by SIGINT', runsPlanned: 10, runsDone: 2 });
    expect(path.basename(dir).endsWith(PARTIAL_SUFFIX)).toBe(true);
    expect(readResult(dir).partial).toEqual(result.partial);
    expect(readdirSync(out)).toEqual([path.basename(dir)]);
  });

  it('rejects with the abort reason and leaves nothing when no run had finished', async () => {
    const out = path.join(tmp, 'interrupt-early');
    const ac = new AbortController();
    ac.abort(new Error('interrupted by SIGTERM'));
    await expect(runScenario(scenario(2), { outRoot: out, signal: ac.signal })).rejects.toThrow(
      'interrupted by SIGTERM',
    );
    expect(readdirSync(out)).toEqual([]);
  });
});

describe('runScenario and dead runs', () => {
  it("removes the .tmp-* directories of dead processes at start, never a live process's", async () => {
    const out = path.join(tmp, 'stale');
    mkdirSync(out, { recursive: true });
    const r = spawnSync(process.execPath, [
      '-e',
      'console.log(process.pid + " " + require("fs").readFileSync("/proc/self/stat","utf8").split(") ")[1].split(" ")[19])',
    ]);
    const [deadPid = '0', deadStart = ''] = r.stdout.toString().trim().split(' ');
    const dead = path.join(out, `.tmp-20260101-000000-x-abc1234-${deadPid}`);
    mkdirSync(path.join(dead, 'work'), { recursive: true });
    writeFileSync(path.join(dead, 'owner'), `${deadPid} ${deadStart}\n`);
    const live = path.join(out, `.tmp-20260101-000000-y-abc1234-${process.ppid}`);
    mkdirSync(live);
    writeFileSync(path.join(live, 'owner'), `${process.ppid} ${processStartTime(process.ppid) ?? ''}\n`);
    const notices: string[] = [];
    await runScenario(scenario(1), { outRoot: out, onNotice: (m) => notices.push(m) });
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(notices.join('\n')).toContain(`h3bench process ${deadPid}, which is gone`);
  });
});

describe('runScenario interrupted between two steps', () => {
  // The link's server address is read right before each config file is written: aborting there
  // interrupts the run while it awaits that write, before the server (1st read) or the client (2nd
  // read) is launched. The client's workload would run for 30 s.
  it.each([
    ['the server', 1],
    ['the client', 2],
  ])(
    'launches no process once interrupted before %s is',
    async (_what, read) => {
      const out = path.join(tmp, `interrupt-before-launch-${read}`);
      const ac = new AbortController();
      const fn: LinkUpFn = async (network, transport, ctx) => {
        const link = await linkUp(network, transport, ctx);
        let reads = 0;
        return new Proxy(link, {
          get(target, prop) {
            if (prop === 'serverAddress' && ++reads === read) ac.abort(new Error('interrupted by SIGINT'));
            const v: unknown = Reflect.get(target, prop, target);
            return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
          },
        }) satisfies LinkHandle;
      };
      const t0 = performance.now();
      await expect(
        runScenario(scenario(1, '{ type: rpc, rate: 20, duration: 30s, size: 1KB }'), {
          outRoot: out,
          signal: ac.signal,
          linkUp: fn,
        }),
      ).rejects.toThrow('interrupted by SIGINT');
      expect(performance.now() - t0).toBeLessThan(10_000);
      expect(readdirSync(out)).toEqual([]);
    },
    60_000,
  );
});

describe('runScenario and failures of its own files', () => {
  it('fails only the run whose directory cannot be created, as an infrastructure failure', async () => {
    const out = path.join(tmp, 'mkdir-fails');
    const { result, dir } = await runScenario(scenario(3), {
      outRoot: out,
      onProgress: (ev) => {
        // A file where run 2's directory goes: its mkdir fails (as on a full disk).
        if (ev.phase === 'start' && ev.run.index === 1)
          writeFileSync(path.join(runTemp(out), 'work', 'run-1'), '');
      },
    });
    expect(result.partial).toBeUndefined();
    expect(result.runs.map((r) => r.ok)).toEqual([true, false, true]);
    expect(result.runs[1]?.error).toMatch(/^run directory could not be created: .*EEXIST/);
    expect(readResult(dir).runs).toHaveLength(3);
  });

  it('publishes the result when its checkpoint files cannot be removed afterwards, with a notice', async () => {
    const out = path.join(tmp, 'checkpoint-stays');
    const notices: string[] = [];
    const { result, dir } = await runScenario(scenario(1), {
      outRoot: out,
      onNotice: (m) => notices.push(m),
      onProgress: (ev) => {
        if (ev.phase !== 'done') return;
        // runs.jsonl made a directory once the last run is in it: removing it fails.
        const runs = path.join(runTemp(out), RUNS_FILE);
        renameSync(runs, `${runs}.x`);
        mkdirSync(path.join(runs, 'x'), { recursive: true });
      },
    });
    expect(result.runs).toHaveLength(1);
    expect(readResult(dir).runs).toHaveLength(1);
    expect(readdirSync(out)).toEqual([path.basename(dir)]);
    expect(notices.join('\n')).toContain(`the result is in ${dir}, but its checkpoint files`);
    expect(notices.join('\n')).not.toContain('are kept in');
  });

  it('records why it stopped early in the checkpoint before publishing, for the salvage', async () => {
    const out = path.join(tmp, 'dies-publishing');
    const ac = new AbortController();
    let tmpDir = '';
    await expect(
      runScenario(scenario(10), {
        outRoot: out,
        signal: ac.signal,
        onProgress: (ev) => {
          if (ev.phase !== 'done' || ev.run.index !== 1) return;
          ac.abort(new Error('interrupted by SIGINT'));
          // Publishing fails (as if the process had died there): result.json cannot be written.
          tmpDir = runTemp(out);
          mkdirSync(path.join(tmpDir, 'result.json', 'x'), { recursive: true });
        },
      }),
    ).rejects.toThrow(/EISDIR/);
    const cp = await readCheckpoint(tmpDir);
    expect(cp.header?.orchestratorPid).toBe(process.pid);
    expect(cp.header?.partial).toEqual({ reason: 'interrupted by SIGINT', runsPlanned: 10, runsDone: 2 });
    // Its salvage, once its process is gone, gives that reason.
    const again = path.join(tmp, 'dies-publishing-salvage');
    const copy = path.join(again, path.basename(tmpDir));
    cpSync(tmpDir, copy, { recursive: true });
    rmSync(path.join(copy, 'result.json'), { recursive: true });
    const d = deadProcess();
    writeFileSync(path.join(copy, 'owner'), `${d.pid} ${d.start}\n`);
    const r = await salvageStaleRunTemps(again);
    expect(r.errors).toEqual([]);
    expect(readResult(r.salvaged[0]?.resultDir ?? '').partial).toEqual({
      reason: 'interrupted by SIGINT',
      runsPlanned: 10,
      runsDone: 2,
    });
  });

  it('keeps a result that does not match the schema as result.invalid.json, and fails with exit code 1', async () => {
    const out = path.join(tmp, 'invalid');
    const { result } = await runScenario(scenario(1), { outRoot: out });
    const bad = { ...result, createdAt: 42 } as unknown as ResultFile;
    const dir = path.join(out, `.tmp-${result.runId}-${process.pid}`);
    mkdirSync(path.join(dir, 'work'), { recursive: true });
    writeFileSync(path.join(dir, CHECKPOINT_FILE), '{}');
    writeFileSync(path.join(dir, RUNS_FILE), '');
    const before = readdirSync(out);
    const err = await publishResult(bad, dir, out).then(
      () => null,
      (e: unknown) => e as Error & { exitCode?: number },
    );
    expect(err?.exitCode).toBe(1);
    expect(err?.message).toContain(dir);
    expect(err?.message).toContain(INVALID_RESULT_FILE);
    expect(readdirSync(out).sort()).toEqual(before.sort());
    expect(readdirSync(dir).sort()).toEqual([CHECKPOINT_FILE, INVALID_RESULT_FILE, RUNS_FILE].sort());
    expect(JSON.parse(readFileSync(path.join(dir, INVALID_RESULT_FILE), 'utf8'))).toMatchObject({
      runId: result.runId,
      createdAt: 42,
    });
  });
});

describe('describeError', () => {
  it('names the cause chain once', () => {
    const e = new Error('server did not start', { cause: new Error('EADDRINUSE') });
    expect(describeError(e)).toBe('server did not start; cause: EADDRINUSE');
    expect(describeError(new Error('a: EADDRINUSE', { cause: new Error('EADDRINUSE') }))).toBe(
      'a: EADDRINUSE',
    );
  });
});
