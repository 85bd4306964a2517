/**
 * `h3bench merge`: analysing the union of a study's shards equals analysing the runs of one
 * unsharded result split by hand; pieces that do not belong together are refused (exit 2) naming
 * the first difference; missing and partial shards need --allow-missing; hosts are recorded and
 * flagged when they differ.
 */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../core/errors.js';
import { mergePieces, type Piece } from '../../harness/cli/merge.js';
import { summarize } from '../../harness/measure/result-summary.js';
import type { ResultFile, RunRecord } from '../../harness/model/result.js';
import { hostDifferences, hostsSection } from '../../harness/report/hosts.js';
import { parseResult, resultJson } from '../../harness/report/read.js';
import { renderAll } from '../../harness/report/index.js';
import { shardRepetitions, shardRuns, studyPlan } from '../../harness/runner/plan.js';
import { parseScenarioPoints, scenarioHash } from '../../harness/scenario/load.js';
import { client, controlRun, runRecord, studyResult } from '../fixtures/synthetic.js';

const YAML = `name: study
protocols: [h1, h2, h3]
repetitions: 6
seed: 5
network: { backend: none }
workload: { type: multiplex, requests: 10, size: 1000B, concurrency: 10 }
sweep: { key: workload.concurrency, values: [1, 5] }
attribution: true
`;

const { scenario, points } = parseScenarioPoints(YAML, 'study.yaml');
const hash = scenarioHash(scenario);
const { runs: plan, record } = studyPlan(scenario, hash, points.length);

/** A run of the plan with a workload time that differs by protocol, repetition and point. */
function synthetic(p: (typeof plan)[number]): RunRecord {
  const k = ['h1', 'h2', 'h3'].indexOf(p.protocol);
  const ms = 100 + ((p.repetition * 37 + k * 13 + (p.sweepIndex ?? 0) * 7) % 50) + k * 20;
  const opts = p.sweepIndex === undefined ? {} : { sweepIndex: p.sweepIndex };
  if (p.control === true) return { ...controlRun(p.index, p.repetition, p.protocol, ms * 0.8, 5, opts) };
  return runRecord(
    p.index,
    p.repetition,
    client(p.protocol, [{ data: [ms], headers: ms / 2, end: ms }]),
    opts,
  );
}

const allRuns = plan.map(synthetic);

const resultOf = (runs: RunRecord[], over: Partial<ResultFile> = {}): ResultFile =>
  studyResult(scenario, hash, runs, { hostname: 'runner-0' }, { plan: record, ...over });

/** Shard `index` of `count` of the unsharded result, as `run --shard` would have written it. */
function shardPiece(index: number, count: number, over: Partial<ResultFile> = {}): Piece {
  const runs = shardRuns(allRuns, { index, count });
  const base = resultOf(runs);
  return {
    dir: `shards/s${index}`,
    result: resultOf(runs, {
      runId: `2026010${index + 1}-000000-study-abc1234-shard${index}of${count}`,
      createdAt: `2026-01-0${index + 1}T00:00:00.000Z`,
      shard: { index, count, repetitions: shardRepetitions(6, { index, count }) },
      environment: { ...base.environment, hostname: `runner-${index}` },
      ...over,
    }),
  };
}

const now = new Date('2026-02-01T12:00:00Z');
const merge = (pieces: Piece[], allowMissing = false) => mergePieces(pieces, { allowMissing, now });

function refusal(pieces: Piece[], allowMissing = false): UsageError {
  try {
    merge(pieces, allowMissing);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).exitCode).toBe(2);
    return err as UsageError;
  }
  throw new Error('the merge was not refused');
}

describe('merge equivalence', () => {
  it('the union of the shards is analysed exactly as the unsharded runs', () => {
    const whole = resultOf(allRuns);
    for (const count of [2, 3, 6]) {
      const pieces = [...Array(count).keys()].reverse().map((i) => shardPiece(i, count));
      const { result, notices } = merge(pieces);
      expect(notices).toEqual([]);
      expect(result.runs).toEqual(whole.runs);
      expect(result.summary).toEqual(whole.summary);
      expect(result.partial).toBeUndefined();
      expect(result.stopping).toMatchObject({ reason: 'fixed', rounds: 6 });
      expect(result.plan).toEqual(record);
      expect(result.shard).toBeUndefined();
      expect(result.merged).toEqual({
        shardCount: count,
        pieces: [...Array(count).keys()].map((i) => ({
          index: i,
          runId: `2026010${i + 1}-000000-study-abc1234-shard${i}of${count}`,
          runs: shardRuns(allRuns, { index: i, count }).length,
        })),
        missingShards: [],
      });
      expect(result.hosts?.map((h) => [h.hostname, h.shard?.index, h.runIndices.length])).toEqual(
        [...Array(count).keys()].map((i) => [`runner-${i}`, i, shardRuns(plan, { index: i, count }).length]),
      );
      expect(result.createdAt).toBe('2026-01-01T00:00:00.000Z');
      expect(result.runId).toBe('20260201-120000-study-abc1234-merged');
    }
  });

  it('writes a result that validates and reads back with the same analysis', () => {
    const { result } = merge([0, 1, 2].map((i) => shardPiece(i, 3)));
    const back = parseResult(JSON.parse(resultJson(result)), 'merged.json');
    expect(back.summary).toEqual(resultOf(allRuns).summary);
    expect(back.merged?.shardCount).toBe(3);
    expect(back.hosts).toHaveLength(3);
  });
});

describe('merge checks', () => {
  it('names a different scenario hash and where the scenarios differ', () => {
    const other = { ...scenario, repetitions: 6, workload: { ...scenario.workload, requests: 11 } };
    const bad = shardPiece(2, 3, { scenario: other, scenarioHash: scenarioHash(other) });
    const err = refusal([shardPiece(0, 3), shardPiece(1, 3), bad]);
    expect(err.message).toMatch(
      new RegExp(
        `shard 2 \\(shards/s2\\) has scenario hash ${scenarioHash(other).slice(0, 12)}, shard 0 \\(shards/s0\\) has ${hash.slice(0, 12)} \\(workload.requests: 11 vs 10\\)`,
      ),
    );
  });

  it('names a different code commit', () => {
    const base = shardPiece(1, 2);
    const bad = {
      ...base,
      result: { ...base.result, environment: { ...base.result.environment, gitCommit: 'fff' } },
    };
    expect(refusal([shardPiece(0, 2), bad]).message).toMatch(
      /shard 1 \(shards\/s1\) has code commit fff, shard 0 \(shards\/s0\) has abc1234/,
    );
  });

  it('names a different emulator backend', () => {
    const base = shardPiece(1, 2);
    const runs = base.result.runs.map((r) =>
      r.link.provenance
        ? { ...r, link: { ...r.link, provenance: { ...r.link.provenance, backend: 'netem' as const } } }
        : r,
    );
    expect(refusal([shardPiece(0, 2), { ...base, result: { ...base.result, runs } }]).message).toMatch(
      /shard 1 \(shards\/s1\) has runs on emulator backend netem, shard 0 \(shards\/s0\) has none/,
    );
  });

  it('names a different plan hash, and a plan this build does not make', () => {
    const tampered = { ...record, hash: 'a'.repeat(64) };
    expect(refusal([shardPiece(0, 2), shardPiece(1, 2, { plan: tampered })]).message).toMatch(
      /shard 1 \(shards\/s1\) has plan hash aaaaaaaaaaaa, shard 0 \(shards\/s0\) has/,
    );
    expect(
      refusal([shardPiece(0, 2, { plan: tampered }), shardPiece(1, 2, { plan: tampered })]).message,
    ).toMatch(/has plan hash aaaaaaaaaaaa, but its scenario plans to/);
  });

  it('names a different shard count', () => {
    expect(refusal([shardPiece(0, 2), shardPiece(1, 3)]).message).toMatch(
      /shard 1 \(shards\/s1\) has shard count 3, shard 0 \(shards\/s0\) has 2/,
    );
  });

  it('refuses a shard given twice', () => {
    const twice = { ...shardPiece(1, 3), dir: 'elsewhere/s1' };
    expect(refusal([shardPiece(0, 3), shardPiece(1, 3), twice, shardPiece(2, 3)]).message).toMatch(
      /shard 1 is given twice: .*s1 .* and .*s1/,
    );
  });

  it('refuses a piece holding a run that is not its shard’s', () => {
    const p = shardPiece(1, 2);
    const stray = allRuns.find((r) => r.repetition === 0);
    if (!stray) throw new Error('no run');
    const bad = { ...p, result: { ...p.result, runs: [...p.result.runs, stray] } };
    expect(refusal([shardPiece(0, 2), bad]).message).toMatch(
      /holds run \d+ \(.*repetition 1.*\), which is not one of its shard's 36 planned runs/,
    );
  });

  it('refuses a result without a plan record', () => {
    const p = shardPiece(0, 1);
    const { plan: _plan, ...old } = p.result;
    expect(refusal([{ ...p, result: old }]).message).toMatch(/has no plan record/);
  });

  it('refuses a missing shard, or merges without it as a partial result with --allow-missing', () => {
    expect(refusal([shardPiece(0, 3), shardPiece(2, 3)]).message).toMatch(
      /shard 1 of 3 is missing \(given: 0, 2\).*--allow-missing/,
    );
    const { result, notices } = merge([shardPiece(0, 3), shardPiece(2, 3)], true);
    expect(result.partial).toEqual({
      reason: 'merged with --allow-missing: shard 1 missing',
      runsPlanned: plan.length,
      runsDone: plan.length - shardRuns(plan, { index: 1, count: 3 }).length,
    });
    expect(result.stopping).toBeUndefined();
    expect(result.merged?.missingShards).toEqual([1]);
    expect(notices).toContain('shard 1 of 3 is missing: its runs are not in the result');
    // Analysed as the runs it holds.
    expect(result.summary).toEqual(summarize(scenario.protocols, result.runs, scenario));
  });

  it('refuses a partial shard without --allow-missing, and skips one its resume completed', () => {
    const full = shardPiece(1, 2);
    const partial: Piece = {
      dir: 'shards/s1-partial',
      result: {
        ...full.result,
        runs: full.result.runs.slice(0, 5),
        partial: { reason: 'interrupted by SIGINT', runsPlanned: full.result.runs.length, runsDone: 5 },
      },
    };
    expect(refusal([shardPiece(0, 2), partial]).message).toMatch(
      /shard 1 \(shards\/s1-partial\) is a partial result \(5 of 36 runs: interrupted by SIGINT\): complete it with "h3bench run --resume shards\/s1-partial"/,
    );
    const resumed: Piece = {
      ...full,
      result: {
        ...full.result,
        resumed: {
          fromRunId: full.result.runId,
          fromDir: 's1-partial',
          at: '2026-01-03T00:00:00Z',
          kept: 5,
          rerun: [],
        },
      },
    };
    const { result, notices } = merge([shardPiece(0, 2), partial, resumed]);
    expect(notices).toEqual([
      'skipped shards/s1-partial: a partial result completed by its resume shards/s1',
    ]);
    expect(result.runs).toEqual(allRuns);
  });
});

describe('hosts', () => {
  it('flags hosts that differ in CPU model or kernel, in report.md too', async () => {
    const odd = shardPiece(1, 2);
    odd.result.environment = { ...odd.result.environment, cpuModel: 'Other CPU', kernel: '6.8.0' };
    const { result, notices } = merge([shardPiece(0, 2), odd]);
    expect(notices).toEqual([
      'hosts differ: CPU model: Synthetic CPU (shard 0/2); Other CPU (shard 1/2)',
      'hosts differ: kernel: 6.1.0 (shard 0/2); 6.8.0 (shard 1/2)',
    ]);
    const section = hostsSection(result).join('\n');
    expect(section).toContain('## Hosts');
    expect(section).toContain('This result merges 2 of 2 shard(s)');
    expect(section).toMatch(/\*\*Hosts differ\*\* — CPU model: .*; kernel: /);
    const md = (await renderAll(result, ['md']))['report.md'] ?? '';
    expect(md).toContain('| 1/2 | 20260102-000000-study-abc1234-shard1of2 | runner-1 | Other CPU |');
    const html = (await renderAll(result, ['html']))['report.html'] ?? '';
    expect(html).toContain('<h2>Hosts</h2>');
    expect(html).toContain('<td>Other CPU</td>');
    expect(html).toMatch(/<strong>Hosts differ — CPU model: /);
  });

  it('says nothing when the hosts agree (hostnames may differ)', () => {
    const { result } = merge([shardPiece(0, 2), shardPiece(1, 2)]);
    expect(hostDifferences(result.hosts ?? [])).toEqual([]);
    expect(hostsSection(result).join('\n')).not.toContain('Hosts differ');
    expect(hostsSection(resultOf(allRuns))).toEqual([]);
  });
});
