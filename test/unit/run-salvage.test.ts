/**
 * A killed orchestrator loses only the run in progress: `runScenario` checkpoints each finished run
 * in its temporary directory, and the sweep of dead runs' `.tmp-*` directories (the next run's, and
 * `h3bench cleanup`'s) turns them into a partial result instead of deleting them. The orchestrator
 * here is a real `runScenario` (compiled, dist/) in a child `node` that SIGKILLs itself once its
 * second run has finished. Loopback (backend none): no root.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processStartTime } from '../../link/state.js';
import { readResult } from '../../harness/report/read.js';
import { loadScenario } from '../../harness/scenario/load.js';
import { PARTIAL_SUFFIX, runScenario } from '../../harness/runner/run.js';
import { CHECKPOINT_FILE, RUNS_FILE, readCheckpoint } from '../../harness/runner/checkpoint.js';
import { salvageStaleRunTemps } from '../../harness/runner/salvage.js';

const root = path.resolve(import.meta.dirname, '../..');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'h3bench-salvage-'));
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

const PLANNED = 5;
const KILLED_AFTER = 2;

function scenarioFile(repetitions: number): string {
  const file = path.join(tmp, `tiny-${repetitions}.yaml`);
  writeFileSync(
    file,
    `name: tiny\nprotocols: [h1]\nrepetitions: ${repetitions}\nnetwork: { backend: none }\n` +
      'workload: { type: multiplex, requests: 5, size: 1KB, concurrency: 5, timeout: 10s }\n' +
      'report: { formats: [json, csv] }\n',
  );
  return file;
}

/** The orchestrator, in a child node: SIGKILLs itself once run `killAfter` has finished. */
const CHILD = `
const [runJs, loadJs, file, out, killAfter] = process.argv.slice(1);
const { runScenario } = await import(runJs);
const { loadScenario } = await import(loadJs);
await runScenario(loadScenario(file), {
  outRoot: out,
  onProgress: (ev) => {
    if (ev.phase === 'done' && ev.run.index + 1 === Number(killAfter)) process.kill(process.pid, 'SIGKILL');
  },
});
process.exit(3);
`;

/** Run the scenario in a child orchestrator killed after `killAfter` runs; its .tmp-* directory. */
async function killedRun(out: string, killAfter: number): Promise<{ pid: number; dir: string }> {
  const dist = (p: string) => pathToFileURL(path.join(root, 'dist', p)).href;
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      CHILD,
      dist('harness/runner/run.js'),
      dist('harness/scenario/load.js'),
      scenarioFile(PLANNED),
      out,
      String(killAfter),
    ],
    { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  expect(signal, `orchestrator exited with ${String(code)}: ${stderr}`).toBe('SIGKILL');
  const temps = readdirSync(out).filter((d) => d.startsWith('.tmp-'));
  expect(temps).toHaveLength(1);
  return { pid: child.pid ?? 0, dir: path.join(out, temps[0] ?? '') };
}

/** A copy of the dead run's directory in a fresh output directory. */
function copyOf(dead: string, name: string): { out: string; dir: string } {
  const out = path.join(tmp, name);
  mkdirSync(out, { recursive: true });
  const dir = path.join(out, path.basename(dead));
  cpSync(dead, dir, { recursive: true });
  return { out, dir };
}

let dead: { pid: number; dir: string };
/** A pristine copy of what the killed orchestrator left (the salvage tests each take a copy). */
let pristine: string;

beforeAll(async () => {
  const out = path.join(tmp, 'killed');
  dead = await killedRun(out, KILLED_AFTER);
  pristine = path.join(tmp, 'pristine', path.basename(dead.dir));
  cpSync(dead.dir, pristine, { recursive: true });
}, 60_000);

describe('the checkpoint of a killed orchestrator', () => {
  it('holds the header and every finished run, durably; key material stays in work/', async () => {
    expect(existsSync(path.join(dead.dir, CHECKPOINT_FILE))).toBe(true);
    const lines = readFileSync(path.join(dead.dir, RUNS_FILE), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(KILLED_AFTER);
    const cp = await readCheckpoint(dead.dir);
    expect(cp.header?.runsPlanned).toBe(PLANNED);
    expect(cp.runs.map((r) => r.index)).toEqual([0, 1]);
    expect(cp.skipped).toEqual([]);
    expect(readFileSync(path.join(dead.dir, CHECKPOINT_FILE), 'utf8')).not.toContain('PRIVATE KEY');
    expect(readFileSync(path.join(dead.dir, RUNS_FILE), 'utf8')).not.toContain('PRIVATE KEY');
  });
});

describe('salvage of dead runs', () => {
  it('turns the finished runs into <run-id>-partial/ that reads back as a partial result', async () => {
    const { out, dir } = copyOf(pristine, 'salvage');
    const r = await salvageStaleRunTemps(out);
    expect(r.errors).toEqual([]);
    expect(r.removed).toEqual([]);
    expect(r.salvaged).toHaveLength(1);
    const s = r.salvaged[0];
    expect(s?.dir).toBe(dir);
    expect(s?.pid).toBe(dead.pid);
    expect(s?.partial).toBe(true);
    const resultDir = s?.resultDir ?? '';
    const cp = await readCheckpoint(pristine);
    expect(path.basename(resultDir)).toBe(`${cp.header?.result.runId ?? '?'}${PARTIAL_SUFFIX}`);
    const back = readResult(resultDir);
    expect(back.partial).toEqual({
      reason: `the orchestrator (pid ${dead.pid}) died after ${KILLED_AFTER} of ${PLANNED} runs`,
      runsPlanned: PLANNED,
      runsDone: KILLED_AFTER,
    });
    expect(back.runs.map((x) => x.index)).toEqual([0, 1]);
    expect(back.runs.every((x) => x.ok && x.client !== null)).toBe(true);
    expect(back.summary.protocols.h1?.runs).toBe(KILLED_AFTER);
    expect(back.scenario.repetitions).toBe(PLANNED);
    expect(back.environment.tlsCertificateSha256).toMatch(/^[0-9A-F:]+$/i);
    // Published like a run's result: the reports, and no work/ (key material), checkpoint or owner.
    expect(readdirSync(resultDir).sort()).toEqual(['result.json', 'runs.csv'].sort());
    expect(readdirSync(out)).toEqual([path.basename(resultDir)]);
  });

  it('skips a truncated last checkpoint line (a crash while appending)', async () => {
    const { out } = copyOf(pristine, 'truncated');
    const runsFile = path.join(out, path.basename(pristine), RUNS_FILE);
    const third = readFileSync(runsFile, 'utf8').split('\n')[1] ?? '';
    appendFileSync(runsFile, third.replace('"index":1', '"index":2').slice(0, 200));
    const r = await salvageStaleRunTemps(out);
    expect(r.errors).toEqual([]);
    expect(r.salvaged).toHaveLength(1);
    expect(r.salvaged[0]?.skipped).toEqual([
      `${RUNS_FILE} line 3: truncated (the process died while writing it)`,
    ]);
    const back = readResult(r.salvaged[0]?.resultDir ?? '');
    expect(back.runs.map((x) => x.index)).toEqual([0, 1]);
    expect(back.partial?.runsDone).toBe(KILLED_AFTER);
  });

  it('makes a complete result when every planned run had finished', async () => {
    const { out, dir } = copyOf(pristine, 'complete');
    const file = path.join(dir, CHECKPOINT_FILE);
    const header = JSON.parse(readFileSync(file, 'utf8')) as { runsPlanned: number };
    writeFileSync(file, JSON.stringify({ ...header, runsPlanned: KILLED_AFTER }));
    const r = await salvageStaleRunTemps(out);
    expect(r.salvaged[0]?.partial).toBe(false);
    const resultDir = r.salvaged[0]?.resultDir ?? '';
    expect(resultDir.endsWith(PARTIAL_SUFFIX)).toBe(false);
    const back = readResult(resultDir);
    expect(back.partial).toBeUndefined();
    expect(back.runs).toHaveLength(KILLED_AFTER);
  });

  it('removes a directory with no finished run, or without a checkpoint', async () => {
    const { out, dir } = copyOf(pristine, 'empty');
    writeFileSync(path.join(dir, RUNS_FILE), '{"index":0,"repetition":0,"proto');
    const name = `.tmp-20260101-000000-x-abc1234-${dead.pid}`;
    cpSync(path.join(dir, 'owner'), path.join(out, name, 'owner'));
    const r = await salvageStaleRunTemps(out);
    expect(r.salvaged).toEqual([]);
    expect(r.removed.map((t) => path.basename(t.dir)).sort()).toEqual([path.basename(dir), name].sort());
    expect(readdirSync(out)).toEqual([]);
  });

  it("keeps finished runs it cannot make a result, and never touches a live process's directory", async () => {
    const { out, dir } = copyOf(pristine, 'kept');
    writeFileSync(path.join(dir, CHECKPOINT_FILE), '{"checkpointVersion":1,"runsPl');
    // Live: the owner runs (this test's parent), or a live process is salvaging it (renamed it).
    const live = path.join(out, `.tmp-20260101-000000-y-abc1234-${process.ppid}`);
    cpSync(pristine, live, { recursive: true });
    writeFileSync(path.join(live, 'owner'), `${process.ppid} ${processStartTime(process.ppid) ?? ''}\n`);
    const claimed = path.join(out, `.tmp-20260101-000000-z-abc1234-salvage-${process.ppid}`);
    cpSync(pristine, claimed, { recursive: true });
    const r = await salvageStaleRunTemps(out);
    expect(r.salvaged).toEqual([]);
    expect(r.removed).toEqual([]);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toContain(
      `kept, as it holds ${KILLED_AFTER} finished run(s) but no usable checkpoint header`,
    );
    expect(readdirSync(out).sort()).toEqual(
      [path.basename(dir), path.basename(live), path.basename(claimed)].sort(),
    );
  });

  it('names the orchestrator that died, not a salvager that died after it', async () => {
    const cp = await readCheckpoint(pristine);
    expect(cp.header?.orchestratorPid).toBe(dead.pid);
    // A salvager took the directory over, recorded itself, and died.
    const r0 = spawnSync(process.execPath, [
      '-e',
      'console.log(process.pid + " " + require("fs").readFileSync("/proc/self/stat","utf8").split(") ")[1].split(" ")[19])',
    ]);
    const [salvager = '0', start = ''] = r0.stdout.toString().trim().split(' ');
    const out = path.join(tmp, 'resalvage');
    const dir = path.join(out, `.tmp-${cp.header?.result.runId ?? '?'}-salvage-${salvager}`);
    cpSync(pristine, dir, { recursive: true });
    writeFileSync(path.join(dir, 'owner'), `${salvager} ${start}\n`);
    const r = await salvageStaleRunTemps(out);
    expect(r.errors).toEqual([]);
    expect(r.salvaged.map((x) => x.pid)).toEqual([Number(salvager)]);
    expect(readResult(r.salvaged[0]?.resultDir ?? '').partial?.reason).toBe(
      `the orchestrator (pid ${dead.pid}) died after ${KILLED_AFTER} of ${PLANNED} runs`,
    );
  });

  it('gives the reason the run had stopped early for, when it died while publishing', async () => {
    const { out, dir } = copyOf(pristine, 'stopped-early');
    const file = path.join(dir, CHECKPOINT_FILE);
    const reason = 'stopped after 3 consecutive infrastructure failures (runs 1, 2, 3); last: x';
    const header = JSON.parse(readFileSync(file, 'utf8')) as object;
    writeFileSync(
      file,
      JSON.stringify({ ...header, partial: { reason, runsPlanned: PLANNED, runsDone: 2 } }),
    );
    const r = await salvageStaleRunTemps(out);
    expect(r.errors).toEqual([]);
    expect(readResult(r.salvaged[0]?.resultDir ?? '').partial).toEqual({
      reason,
      runsPlanned: PLANNED,
      runsDone: KILLED_AFTER,
    });
  });

  it('is what the next run does at its start, and says so', async () => {
    const { out } = copyOf(pristine, 'next-run');
    const notices: string[] = [];
    const { dir } = await runScenario(loadScenario(scenarioFile(1)), {
      outRoot: out,
      onNotice: (m) => notices.push(m),
    });
    // The run's own result is published without its checkpoint.
    expect(readdirSync(dir).sort()).toEqual(['result.json', 'runs.csv'].sort());
    const salvaged = readdirSync(out).filter((d) => d.endsWith(PARTIAL_SUFFIX));
    expect(salvaged).toHaveLength(1);
    expect(readResult(path.join(out, salvaged[0] ?? '')).runs).toHaveLength(KILLED_AFTER);
    expect(notices.join('\n')).toContain(
      `salvaged ${KILLED_AFTER} of ${PLANNED} runs of h3bench process ${dead.pid}, which is gone, from ${path.join(out, path.basename(pristine))} into ${path.join(out, salvaged[0] ?? '')}`,
    );
    expect(readdirSync(out).filter((d) => d.startsWith('.tmp-'))).toEqual([]);
  });
});
