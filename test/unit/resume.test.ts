/**
 * `h3bench run --resume DIR`: what a resume keeps and runs (`resumePlan`): ok runs and runs whose
 * client ran and failed are kept, runs that failed before their client ran are run again, the rest
 * of the slice is run; another scenario, code commit, plan or shard is refused naming the
 * difference. End to end on loopback (no root): an interrupted shard resumed ends with every planned
 * run of the shard exactly once, the finished runs unchanged, and the partial result left in place.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../core/errors.js';
import type { ResultFile, RunRecord } from '../../harness/model/result.js';
import { readResult } from '../../harness/report/read.js';
import { shardRepetitions, shardRuns, studyPlan } from '../../harness/runner/plan.js';
import { failedBeforeClient, resumePlan, runScenario } from '../../harness/runner/run.js';
import { salvageStaleRunTemps } from '../../harness/runner/salvage.js';
import { loadScenario, parseScenarioPoints, scenarioHash } from '../../harness/scenario/load.js';
import { client, runRecord, studyResult } from '../fixtures/synthetic.js';

const YAML = `name: study
protocols: [h1, h2]
repetitions: 4
seed: 9
network: { backend: none }
workload: { type: multiplex, requests: 10, size: 1000B, concurrency: 10 }
`;
const { scenario } = parseScenarioPoints(YAML, 'study.yaml');
const hash = scenarioHash(scenario);
const loaded = { scenario, hash };
const { runs: plan, record } = studyPlan(scenario, hash, 0);
const COMMIT = 'abc1234abc1234abc1234abc1234abc1234abc12';

const ok = (p: (typeof plan)[number]): RunRecord =>
  runRecord(p.index, p.repetition, client(p.protocol, [{ data: [100], end: 100 }]));
const failed = (p: (typeof plan)[number], error: string): RunRecord => ({ ...ok(p), ok: false, error });

const partialOf = (runs: RunRecord[], over: Partial<ResultFile> = {}): ResultFile =>
  studyResult(
    scenario,
    hash,
    runs,
    { cpuModel: null, gitCommit: COMMIT },
    {
      partial: { reason: 'interrupted by SIGINT', runsPlanned: plan.length, runsDone: runs.length },
      plan: record,
      ...over,
    },
  );

function refusal(from: ResultFile, opts: { commit?: string; shard?: { index: number; count: number } } = {}) {
  try {
    resumePlan(loaded, plan, record, from, 'results/x-partial', opts.commit ?? COMMIT, opts.shard);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).exitCode).toBe(2);
    return (err as Error).message;
  }
  throw new Error('not refused');
}

describe('failedBeforeClient', () => {
  it('is true only for runs that failed in the set-up, link, probe or server phase', () => {
    const p = plan[0];
    if (!p) throw new Error('no plan');
    expect(failedBeforeClient(failed(p, 'link did not come up: linkem did not print READY'))).toBe(true);
    expect(failedBeforeClient(failed(p, 'server did not start: bind EADDRINUSE'))).toBe(true);
    expect(failedBeforeClient(failed(p, 'fidelity probe failed: timeout'))).toBe(true);
    expect(failedBeforeClient(failed(p, 'client failed: h2 client exited with code 1'))).toBe(false);
    expect(failedBeforeClient(failed(p, '3 of 10 requests failed (allowed: 0)'))).toBe(false);
    expect(failedBeforeClient(ok(p))).toBe(false);
  });
});

describe('resumePlan', () => {
  it('keeps ok runs and runs whose client failed, reruns set-up failures, runs the rest', () => {
    const [a, b, c, d] = plan;
    if (!a || !b || !c || !d) throw new Error('short plan');
    const runs = [ok(a), failed(b, 'client failed: crashed'), failed(c, 'link did not come up: boom'), ok(d)];
    const r = resumePlan(loaded, plan, record, partialOf(runs), 'results/x-partial', COMMIT);
    expect(r.keep.map((x) => x.index)).toEqual([0, 1, 3]);
    expect(r.keep[1]).toEqual(runs[1]);
    expect(r.rerun.map((x) => x.index)).toEqual([2]);
    expect(r.todo.map((x) => x.index)).toEqual([2, ...plan.slice(4).map((x) => x.index)]);
    expect(r.todo).toEqual(plan.filter((x) => x.index === 2 || x.index >= 4));
    expect(r.shard).toBeUndefined();
  });

  it('resumes a shard as that shard: only its repetitions', () => {
    const slice = shardRuns(plan, { index: 1, count: 2 });
    const from = partialOf(slice.slice(0, 1).map(ok), {
      shard: { index: 1, count: 2, repetitions: shardRepetitions(4, { index: 1, count: 2 }) },
    });
    const r = resumePlan(loaded, plan, record, from, 'd', COMMIT);
    expect(r.shard).toEqual({ index: 1, count: 2 });
    expect(r.todo).toEqual(slice.slice(1));
    expect(r.todo.every((x) => x.repetition % 2 === 1)).toBe(true);
    expect(refusal(from, { shard: { index: 0, count: 2 } })).toMatch(
      /--shard 0\/2 was given, but the result is shard 1\/2/,
    );
  });

  it('refuses another scenario, naming the key that differs', () => {
    const other = { ...scenario, repetitions: 5 };
    expect(refusal(partialOf([], { scenario: other, scenarioHash: scenarioHash(other) }))).toMatch(
      /^--resume results\/x-partial: the result is of another scenario: its scenario hash is [0-9a-f]{12}, this one's is [0-9a-f]{12} \(repetitions is 4 here, 5 there\)/,
    );
  });

  it('refuses another code commit, and another plan', () => {
    expect(refusal(partialOf([]), { commit: 'fff' })).toMatch(
      /the result was run by code commit abc1234.*, this checkout is fff/,
    );
    expect(refusal(partialOf([], { plan: { ...record, hash: 'b'.repeat(64) } }))).toMatch(
      /the result's plan hash is bbbbbbbbbbbb, this scenario's plan is/,
    );
  });

  it('refuses runs that are not the plan’s, twice, or nothing left to run', () => {
    const [a, b] = plan;
    if (!a || !b) throw new Error('short plan');
    expect(refusal(partialOf([{ ...ok(a), protocol: a.protocol === 'h1' ? 'h2' : 'h1' }]))).toMatch(
      /its run 1 is h\d repetition 1, the plan's is h\d repetition 1/,
    );
    expect(refusal(partialOf([ok(a), ok(a)]))).toMatch(/it holds run 1 twice/);
    expect(refusal(partialOf(plan.map(ok)))).toMatch(
      /every planned run of the plan is in it \(8 runs\): nothing to resume/,
    );
  });
});

describe('runScenario --resume (loopback)', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'h3bench-resume-'));
  afterAll(() => {
    rmSync(tmp, { recursive: true, force: true });
  });

  it('completes an interrupted shard: every planned run once, finished runs unchanged', async () => {
    const file = path.join(tmp, 'tiny.yaml');
    writeFileSync(
      file,
      'name: tiny\nprotocols: [h1, h2]\nrepetitions: 4\nnetwork: { backend: none }\n' +
        'workload: { type: multiplex, requests: 5, size: 1KB, concurrency: 5, timeout: 10s }\nreport: { formats: [json] }\n',
    );
    const out = path.join(tmp, 'out');
    const shard = { index: 1, count: 2 };
    const ac = new AbortController();
    const first = await runScenario(loadScenario(file), {
      outRoot: out,
      shard,
      signal: ac.signal,
      onProgress: (ev) => {
        if (ev.phase === 'done' && ev.position === 3) ac.abort(new Error('interrupted by SIGINT'));
      },
    });
    expect(first.result.partial).toMatchObject({ runsPlanned: 4, runsDone: 3 });
    expect(first.result.shard).toEqual({ index: 1, count: 2, repetitions: [1, 3] });
    expect(path.basename(first.dir)).toMatch(/-shard1of2-partial$/);
    const partial = readResult(first.dir);

    const positions: number[] = [];
    const second = await runScenario(loadScenario(file), {
      outRoot: out,
      resume: { result: partial, dir: first.dir },
      onProgress: (ev) => {
        if (ev.phase === 'done') positions.push(ev.run.index);
      },
    });
    const slice = shardRuns(studyPlan(partial.scenario, partial.scenarioHash, 0).runs, shard);
    expect(second.result.partial).toBeUndefined();
    expect(second.result.runs.map((r) => r.index)).toEqual(slice.map((r) => r.index));
    // Only the missing run ran; the three finished ones are exactly those of the partial result.
    expect(positions).toEqual([slice[3]?.index]);
    expect(second.result.runs.slice(0, 3)).toEqual(partial.runs);
    expect(second.result.runId).toBe(partial.runId);
    expect(second.result.shard).toEqual(partial.shard);
    expect(second.result.resumed).toMatchObject({ fromRunId: partial.runId, kept: 3, rerun: [] });
    expect(second.result.hosts?.map((h) => h.runIndices)).toEqual([
      slice.slice(0, 3).map((r) => r.index),
      [slice[3]?.index],
    ]);
    expect(second.result.stopping).toMatchObject({ reason: 'fixed', rounds: 2 });
    // Published next to the partial result, which is left as it was.
    expect(readdirSync(out).sort()).toEqual([path.basename(second.dir), path.basename(first.dir)].sort());
    expect(path.basename(second.dir)).toBe(partial.runId);
    const onDisk = readResult(second.dir).runs;
    expect(onDisk).toHaveLength(4);
    expect(onDisk.slice(0, 3)).toEqual(readResult(first.dir).runs);
    expect(readResult(first.dir).runs).toEqual(partial.runs);
  });
});

/** A resume in a child node (compiled, dist/) that SIGKILLs itself once its first new run finished. */
const CHILD = `
const [runJs, loadJs, readJs, file, out, partialDir] = process.argv.slice(1);
const { runScenario } = await import(runJs);
const { loadScenario } = await import(loadJs);
const { readResult } = await import(readJs);
await runScenario(loadScenario(file), {
  outRoot: out,
  resume: { result: readResult(partialDir), dir: partialDir },
  onProgress: (ev) => {
    if (ev.phase === 'done' && ev.position === 1) process.kill(process.pid, 'SIGKILL');
  },
});
process.exit(3);
`;

describe('a resume killed (SIGKILL) while running', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'h3bench-resume-kill-'));
  afterAll(() => {
    rmSync(tmp, { recursive: true, force: true });
  });

  it('is salvaged into a partial result holding the kept runs and its own, with both sessions as hosts', async () => {
    const file = path.join(tmp, 'tiny.yaml');
    writeFileSync(
      file,
      'name: tiny\nprotocols: [h1, h2]\nrepetitions: 3\nnetwork: { backend: none }\n' +
        'workload: { type: multiplex, requests: 5, size: 1KB, concurrency: 5, timeout: 10s }\nreport: { formats: [json] }\n',
    );
    const out = path.join(tmp, 'out');
    const ac = new AbortController();
    const first = await runScenario(loadScenario(file), {
      outRoot: out,
      signal: ac.signal,
      onProgress: (ev) => {
        if (ev.phase === 'done' && ev.position === 2) ac.abort(new Error('interrupted by SIGINT'));
      },
    });
    expect(first.result.runs).toHaveLength(2);
    const root = path.resolve(import.meta.dirname, '../..');
    const dist = (p: string) => pathToFileURL(path.join(root, 'dist', p)).href;
    const child = spawn(process.execPath, [
      '--input-type=module',
      '-e',
      CHILD,
      dist('harness/runner/run.js'),
      dist('harness/scenario/load.js'),
      dist('harness/report/read.js'),
      file,
      out,
      first.dir,
    ]);
    const [, signal] = (await once(child, 'exit')) as [number | null, string | null];
    expect(signal).toBe('SIGKILL');
    const swept = await salvageStaleRunTemps(out);
    expect(swept.errors).toEqual([]);
    expect(swept.salvaged).toHaveLength(1);
    const salvaged = readResult(swept.salvaged[0]?.resultDir ?? '');
    expect(path.basename(swept.salvaged[0]?.resultDir ?? '')).toBe(`${first.result.runId}-partial-2`);
    expect(salvaged.partial).toMatchObject({ runsPlanned: 6, runsDone: 3 });
    expect(salvaged.runs.slice(0, 2)).toEqual(readResult(first.dir).runs);
    expect(salvaged.runs.map((r) => r.index)).toEqual([0, 1, 2]);
    expect(salvaged.resumed).toMatchObject({ fromRunId: first.result.runId, kept: 2 });
    expect(salvaged.hosts?.map((h) => h.runIndices)).toEqual([[0, 1], [2]]);
    // The first partial result is untouched, and the salvaged one resumes in turn.
    expect(readResult(first.dir).runs).toHaveLength(2);
    const last = await runScenario(loadScenario(file), {
      outRoot: out,
      resume: { result: salvaged, dir: swept.salvaged[0]?.resultDir ?? '' },
    });
    expect(last.result.partial).toBeUndefined();
    expect(last.result.runs.map((r) => r.index)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(last.result.runs.slice(0, 3)).toEqual(salvaged.runs);
    expect(last.result.hosts?.map((h) => h.runIndices)).toEqual([[0, 1], [2], [3, 4, 5]]);
  });
});
