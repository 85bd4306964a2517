/**
 * A study split into shards and put back together, end to end with the compiled CLI on host
 * loopback (backend none, so it needs no namespaces): a sweep (2 values) × 3 repetitions run as 3
 * shards one after another and merged has exactly the runs of the unsharded plan, renders its
 * report, and compares with an unsharded run of the same scenario pairing every run; shards of
 * different scenarios do not merge (exit 2, naming the difference); an interrupted run resumed
 * with --resume ends with every planned run exactly once.
 */
import { h3bench as runCli } from '../fixtures/cli.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compareResults } from '../../harness/compare/compare.js';
import type { ResultFile } from '../../harness/model/result.js';
import { readResult } from '../../harness/report/read.js';
import { studyPlan } from '../../harness/runner/plan.js';

const root = path.resolve(import.meta.dirname, '../..');
const cli = path.join(root, 'dist/harness/cli/main.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'h3bench-shard-'));
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

const h3bench = (args: string[]) => runCli(args, 240_000);

const file = path.join(tmp, 'study.yaml');
writeFileSync(
  file,
  'name: study\nprotocols: [h1, h3]\nrepetitions: 3\nseed: 7\nnetwork: { backend: none }\n' +
    'workload: { type: multiplex, requests: 20, size: 2KB, concurrency: 5, timeout: 10s }\n' +
    'sweep: { key: workload.concurrency, values: [1, 5] }\n',
);

/** The one result directory in `dir`. */
function onlyResult(dir: string): string {
  const dirs = readdirSync(dir).filter((d) => !d.startsWith('.'));
  expect(dirs).toHaveLength(1);
  return path.join(dir, dirs[0] ?? '');
}

/** "index repetition protocol point" of every planned run of a result's scenario. */
function plannedKeys(r: ResultFile): string[] {
  const plan = studyPlan(r.scenario, r.scenarioHash, r.scenario.sweep?.values.length ?? 0).runs;
  return plan.map((p) => `${p.index} ${p.repetition} ${p.protocol} ${p.sweepIndex ?? '-'}`);
}
const runKeys = (r: ResultFile): string[] =>
  r.runs.map((p) => `${p.index} ${p.repetition} ${p.protocol} ${p.sweepIndex ?? '-'}`);

describe('h3bench run --shard, then h3bench merge', () => {
  const shards = path.join(tmp, 'shards');
  const whole = path.join(tmp, 'whole');
  const merged = path.join(tmp, 'merged');

  it('runs 3 shards whose merge is the unsharded plan, with a report, paired run by run with an unsharded run', async () => {
    for (const i of [0, 1, 2]) {
      const r = await h3bench(['run', file, '--shard', `${i}/3`, '--out', shards]);
      expect(r.stderr).toContain(
        `shard ${i}/3: repetition(s) ${i + 1} of 3 = 4 of the plan's 12 runs; estimated`,
      );
      expect(r.stderr).toMatch(/\[4\/4\] h\d repetition \d \(run \d+ of the plan\): ok/);
      expect(r.code).toBe(0);
    }
    const pieces = readdirSync(shards).sort();
    expect(pieces.map((d) => d.replace(/^.*-shard/, 'shard'))).toEqual([
      'shard0of3',
      'shard1of3',
      'shard2of3',
    ]);
    for (const [i, d] of pieces.entries()) {
      const r = readResult(path.join(shards, d));
      expect(r.shard).toEqual({ index: i, count: 3, repetitions: [i] });
      expect(r.plan?.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(r.environment.hostname).toBe(os.hostname());
      expect(r.runs.every((x) => x.repetition === i && x.ok)).toBe(true);
    }

    const m = await h3bench(['merge', shards, '--out', merged]);
    expect(m.stderr).toContain('merged 12 of 12 planned runs from 3 of 3 shard(s) into');
    expect(m.code).toBe(0);
    const dir = onlyResult(merged);
    expect(path.basename(dir)).toMatch(/-merged$/);
    const result = readResult(dir);
    expect(runKeys(result)).toEqual(plannedKeys(result));
    expect(result.partial).toBeUndefined();
    expect(result.merged?.pieces.map((p) => p.index)).toEqual([0, 1, 2]);
    expect(result.hosts).toHaveLength(3);
    const md = readFileSync(path.join(dir, 'report.md'), 'utf8');
    expect(md).toContain('## Hosts');
    expect(md).toContain('This result merges 3 of 3 shard(s)');
    expect(md).not.toContain('Hosts differ');
    expect(md).toMatch(/\| h3 \|/);
    const rep = await h3bench(['report', dir, '--out', path.join(tmp, 'rerendered')]);
    expect(rep.code).toBe(0);

    const w = await h3bench(['run', file, '--out', whole]);
    expect(w.code).toBe(0);
    const unsharded = readResult(onlyResult(whole));
    // Same plan, same runs: repetition r of protocol p at point i in both.
    expect(unsharded.plan).toEqual(result.plan);
    expect(runKeys(unsharded)).toEqual(runKeys(result));
    const c = await h3bench(['compare', onlyResult(whole), dir]);
    expect(c.code).toBe(0);
    expect(c.stdout).toContain('| h1 |');
    const cmp = compareResults([unsharded], [result], { threshold: 0.05, allowPartial: false });
    const rows = cmp.scenarios[0]?.rows ?? [];
    expect(rows.length).toBeGreaterThan(0);
    // Every run has its partner: 3 complete pairs (one per repetition) for each protocol and point.
    for (const row of rows) expect(row.pairs).toBe(3);
  }, 600_000);

  it('refuses (exit 2) shards of different scenarios, naming the difference, and a missing shard', async () => {
    const other = path.join(tmp, 'other');
    const r = await h3bench(['run', file, '--shard', '2/3', '--seed', '8', '--out', other]);
    expect(r.code).toBe(0);
    const pieces = readdirSync(shards)
      .sort()
      .map((d) => path.join(shards, d));
    const foreign = onlyResult(other);
    const bad = await h3bench([
      'merge',
      pieces[0] ?? '',
      pieces[1] ?? '',
      foreign,
      '--out',
      path.join(tmp, 'bad'),
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(
      /shard 2 \(.*\) has scenario hash [0-9a-f]{12}, shard 0 \(.*\) has [0-9a-f]{12} \(seed: 8 vs 7\)/,
    );
    expect(existsSync(path.join(tmp, 'bad'))).toBe(false);
    const missing = await h3bench([
      'merge',
      pieces[0] ?? '',
      pieces[2] ?? '',
      '--out',
      path.join(tmp, 'bad'),
    ]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('shard 1 of 3 is missing (given: 0, 2)');
  }, 300_000);

  it('refuses impossible shards and answers --shards-for without running anything', async () => {
    const out = path.join(tmp, 'nothing');
    const tooMany = await h3bench(['run', file, '--shard', '0/4', '--out', out]);
    expect(tooMany.code).toBe(2);
    expect(tooMany.stderr).toContain('4 shards but the plan has only 3 repetition(s)');
    const env = await h3bench([
      'run',
      file,
      '--shard-env',
      'H3BENCH_NO_SUCH_VAR',
      '--shards',
      '3',
      '--out',
      out,
    ]);
    expect(env.code).toBe(2);
    expect(env.stderr).toContain('the environment variable H3BENCH_NO_SUCH_VAR is not set');
    const fit = await h3bench(['run', file, '--shards-for', '600min', '--out', out]);
    expect(fit.code).toBe(0);
    expect(fit.stdout.trim()).toBe('1');
    const none = await h3bench(['run', file, '--shards-for', '1ms', '--out', out]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no shard count fits');
    expect(existsSync(out)).toBe(false);
  }, 120_000);
});

function collect(child: ChildProcess): () => string {
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  return () => err;
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('h3bench run --resume', () => {
  it('completes an interrupted run: every planned run exactly once, the finished ones as they were', async () => {
    const out = path.join(tmp, 'resume');
    const child = spawn(process.execPath, [cli, 'run', file, '--out', out], { cwd: root });
    const err = collect(child);
    await until(() => /\[3\/12\] \S+ repetition 1: ok/.test(err()), 120_000, 'three finished runs');
    child.kill('SIGINT');
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(130);
    const partialDir = onlyResult(out);
    expect(partialDir).toMatch(/-partial$/);
    const partial = readResult(partialDir);
    expect(partial.runs.length).toBeGreaterThanOrEqual(3);
    expect(partial.runs.length).toBeLessThan(12);

    // Another scenario (seed) is refused, naming it; nothing is written.
    const other = await h3bench(['run', file, '--seed', '8', '--resume', partialDir]);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(
      /--resume .*: the result is of another scenario: .*\(seed is 8 here, 7 there\)/,
    );
    expect(readdirSync(out)).toEqual([path.basename(partialDir)]);

    // No scenario given: the one the partial result records.
    const r = await h3bench(['run', '--resume', partialDir]);
    expect(r.stderr).toContain(
      `${partial.runs.length} of its 12 planned runs kept, ${12 - partial.runs.length} to run`,
    );
    expect(r.code).toBe(0);
    const names = readdirSync(out).sort();
    expect(names).toEqual([partial.runId, `${partial.runId}-partial`]);
    const done = readResult(path.join(out, partial.runId));
    expect(done.partial).toBeUndefined();
    expect(runKeys(done)).toEqual(plannedKeys(done));
    expect(new Set(done.runs.map((x) => x.index)).size).toBe(12);
    for (const run of partial.runs) expect(done.runs.find((x) => x.index === run.index)).toEqual(run);
    expect(done.resumed).toMatchObject({ fromRunId: partial.runId, kept: partial.runs.length, rerun: [] });
    expect(readFileSync(path.join(out, partial.runId, 'report.md'), 'utf8')).toContain(
      'completes the partial result',
    );
    // The partial result is still there, unchanged.
    expect(readResult(partialDir).runs).toEqual(partial.runs);
  }, 600_000);
});
