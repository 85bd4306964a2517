/**
 * Sharding a study (`run --shard I/N`): shards partition the repetitions, each shard holds whole
 * repetitions (every protocol, sweep point and control run of one: every paired comparison on one
 * machine), slicing never changes the plan, the plan hash tells plans apart, the flags parse, and the
 * estimates of shards add up to the plan's.
 */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../core/errors.js';
import { shardFlags } from '../../harness/cli/run.js';
import { estimateRuns, shardsFor } from '../../harness/runner/budget.js';
import {
  planHash,
  planRuns,
  shardProblem,
  shardRepetitions,
  shardRuns,
  studyPlan,
} from '../../harness/runner/plan.js';
import { parseScenarioPoints, scenarioHash } from '../../harness/scenario/load.js';

const YAML = `name: study
protocols: [h1, h2, h3]
repetitions: 7
seed: 5
network: { backend: none }
workload: { type: multiplex, requests: 10, size: 1000B, concurrency: 10 }
sweep: { key: workload.concurrency, values: [1, 5, 10] }
attribution: true
`;

describe('shardRepetitions', () => {
  it('partitions the repetitions: each once, shards differing by at most one', () => {
    for (let reps = 1; reps <= 12; reps++) {
      for (let count = 1; count <= reps; count++) {
        const shards = [...Array(count).keys()].map((index) => shardRepetitions(reps, { index, count }));
        expect(shards.flat().sort((a, b) => a - b)).toEqual([...Array(reps).keys()]);
        const sizes = shards.map((s) => s.length);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
        expect(Math.min(...sizes)).toBeGreaterThan(0);
      }
    }
  });

  it('gives repetition r to shard r mod N', () => {
    expect(shardRepetitions(7, { index: 1, count: 3 })).toEqual([1, 4]);
    expect(shardRepetitions(7, { index: 0, count: 3 })).toEqual([0, 3, 6]);
  });
});

describe('shardProblem', () => {
  it('refuses more shards than repetitions, saying why', () => {
    expect(shardProblem({ index: 0, count: 4 }, 3)).toMatch(
      /4 shards but the plan has only 3 repetition\(s\).*whole repetitions.*use at most 3 shards/,
    );
    expect(shardProblem({ index: 2, count: 3 }, 3)).toBeNull();
  });

  it('refuses an index out of range (0-based)', () => {
    expect(shardProblem({ index: 3, count: 3 }, 9)).toMatch(/0\.\.2 \(0-based/);
  });
});

describe('shardRuns', () => {
  const plan = planRuns(['h1', 'h2', 'h3'], 7, 5, 3, true);

  it('splits the plan into disjoint shards whose union is the plan, in its order and numbering', () => {
    for (const count of [1, 2, 3, 7]) {
      const shards = [...Array(count).keys()].map((index) => shardRuns(plan, { index, count }));
      const union = shards.flat().sort((a, b) => a.index - b.index);
      expect(union).toEqual(plan);
      for (const s of shards) {
        // The plan's order: indices increase within a shard.
        expect(s.map((r) => r.index)).toEqual([...s.map((r) => r.index)].sort((a, b) => a - b));
      }
    }
  });

  it('keeps every pair on one shard: all runs of a repetition (protocols, points, controls) together', () => {
    const count = 3;
    const shardOf = new Map<string, number>();
    for (let index = 0; index < count; index++) {
      for (const r of shardRuns(plan, { index, count })) {
        // Any two runs compared with each other share repetition and sweep point.
        const key = `${r.repetition}/${r.sweepIndex ?? -1}`;
        expect(shardOf.get(key) ?? index).toBe(index);
        shardOf.set(key, index);
      }
    }
    expect(shardOf.size).toBe(7 * 3);
    for (let index = 0; index < count; index++) {
      const runs = shardRuns(plan, { index, count });
      for (const rep of new Set(runs.map((r) => r.repetition))) {
        // 3 protocols × 3 points × (workload + control) = 18 runs of each repetition.
        expect(runs.filter((r) => r.repetition === rep)).toHaveLength(18);
      }
    }
  });

  it('is deterministic and does not depend on the shard count', () => {
    const again = planRuns(['h1', 'h2', 'h3'], 7, 5, 3, true);
    expect(shardRuns(again, { index: 1, count: 2 })).toEqual(shardRuns(plan, { index: 1, count: 2 }));
    // The runs of repetition 2 are the same whether it is in shard 2 of 3 or shard 0 of 2.
    const rep2 = (runs: typeof plan) => runs.filter((r) => r.repetition === 2);
    expect(rep2(shardRuns(plan, { index: 2, count: 3 }))).toEqual(
      rep2(shardRuns(plan, { index: 0, count: 2 })),
    );
    expect(rep2(shardRuns(plan, { index: 0, count: 2 }))).toEqual(rep2(plan));
  });
});

describe('planHash', () => {
  const { scenario, points } = parseScenarioPoints(YAML, 'study.yaml');
  const hash = scenarioHash(scenario);
  const base = studyPlan(scenario, hash, points.length);

  it('is the sha256 of the scenario hash, the seed and every planned run, stable across calls', () => {
    expect(base.record.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(studyPlan(scenario, hash, points.length).record).toEqual(base.record);
    expect(base.record).toMatchObject({ runs: 7 * 3 * 3 * 2, repetitions: 7, sweepPoints: 3 });
  });

  it('changes with the scenario hash, the seed, the repetitions and any run', () => {
    const hashes = new Set([
      base.record.hash,
      planHash('0'.repeat(64), scenario.seed, base.runs),
      planHash(hash, scenario.seed + 1, base.runs),
      studyPlan({ ...scenario, repetitions: 6 }, hash, points.length).record.hash,
      studyPlan({ ...scenario, seed: 6 }, hash, points.length).record.hash,
      planHash(
        hash,
        scenario.seed,
        base.runs.map((r, i) => (i === 5 ? { ...r, protocol: r.protocol === 'h1' ? 'h2' : 'h1' } : r)),
      ),
    ]);
    expect(hashes.size).toBe(6);
  });
});

describe('shardFlags', () => {
  it('reads I/N, or I with --shards N, from --shard or an environment variable', () => {
    expect(shardFlags({ shard: '1/3' })).toEqual({ index: 1, count: 3 });
    expect(shardFlags({ shard: '2', shards: '3' })).toEqual({ index: 2, count: 3 });
    expect(
      shardFlags({ 'shard-env': 'JOB_COMPLETION_INDEX', shards: '4' }, { JOB_COMPLETION_INDEX: '3' }),
    ).toEqual({ index: 3, count: 4 });
    expect(shardFlags({ 'shard-env': 'SHARD' }, { SHARD: '0/2' })).toEqual({ index: 0, count: 2 });
    expect(shardFlags({})).toBeUndefined();
  });

  it.each([
    [
      { shard: '3/3' },
      {},
      /--shard: value error: .*current value is "3\/3" \(the index is 0-based: 0\.\.2 for 3 shards\)/,
    ],
    [{ shard: '1' }, {}, /a bare index needs --shards N/],
    [{ shard: '1/3', shards: '4' }, {}, /it says 3 shards, --shards says 4/],
    [{ shard: 'one' }, {}, /--shard: value error: must be "I\/N"/],
    [{ shard: '0/2', 'shard-env': 'X' }, { X: '0/2' }, /either --shard or --shard-env/],
    [{ shards: '3' }, {}, /--shards N needs --shard I or --shard-env NAME/],
    [{ 'shard-env': 'NOPE', shards: '3' }, {}, /environment variable NOPE is not set/],
    [
      { 'shard-env': 'X', shards: '3' },
      { X: '1/x' },
      /--shard-env X: value error: .*current value is "1\/x"/,
    ],
    [{ 'shard-env': 'bad-name' }, {}, /must be the name of an environment variable/],
  ])('refuses %j (env %j) with exit 2, naming the flag', (values, env, message) => {
    let err: unknown;
    try {
      shardFlags(values, env);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).exitCode).toBe(2);
    expect((err as Error).message).toMatch(message);
  });
});

describe('shard estimates', () => {
  const { scenario, points } = parseScenarioPoints(YAML, 'study.yaml');
  const plan = studyPlan(scenario, scenarioHash(scenario), points.length).runs;

  it('add up to the estimate of the whole plan', () => {
    const whole = estimateRuns(points, plan);
    const parts = [0, 1, 2].map((index) => estimateRuns(points, shardRuns(plan, { index, count: 3 })));
    expect(parts.reduce((a, p) => a + p.runs, 0)).toBe(whole.runs);
    expect(parts.reduce((a, p) => a + p.ms, 0)).toBeCloseTo(whole.ms, 6);
    // Shard 0 has repetitions 0, 3, 6; shards 1 and 2 have two each.
    expect(parts[0]?.ms).toBeCloseTo(((parts[1]?.ms ?? 0) * 3) / 2, 6);
  });

  it('shardsFor finds the smallest count whose longest shard fits, and none below one repetition', () => {
    const perRep = estimateRuns(points, plan).ms / 7;
    // Budget for 2 repetitions per machine: 7 repetitions need 4 shards.
    expect(shardsFor(points, plan, 7, perRep * 2 + 1).shards).toBe(4);
    expect(shardsFor(points, plan, 7, perRep * 7 + 1).shards).toBe(1);
    expect(shardsFor(points, plan, 7, perRep * 3 + 1)).toMatchObject({ shards: 3 });
    const none = shardsFor(points, plan, 7, perRep / 2);
    expect(none.shards).toBeNull();
    expect(none.longest.runs).toBe(18);
  });
});
