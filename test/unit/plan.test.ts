import { describe, expect, it } from 'vitest';
import { prng } from '../../core/prng.js';
import { controlWorkload, planRuns, scenarioOfRun, workloadBytes } from '../../harness/runner/plan.js';
import { estimate } from '../../harness/runner/budget.js';
import { parseScenario } from '../../harness/scenario/load.js';
import { launchArgv } from '../../harness/runner/launcher.js';

describe('planRuns', () => {
  it('runs every protocol once per repetition, interleaved', () => {
    const plan = planRuns(['h1', 'h2', 'h3'], 4, 7);
    expect(plan).toHaveLength(12);
    for (let r = 0; r < 4; r++) {
      expect(
        plan
          .filter((p) => p.repetition === r)
          .map((p) => p.protocol)
          .sort(),
      ).toEqual(['h1', 'h2', 'h3']);
    }
    expect(plan.map((p) => p.index)).toEqual([...Array(12).keys()]);
  });

  it('is deterministic for a seed and varies the order across seeds', () => {
    const order = (seed: number) =>
      planRuns(['h1', 'h2', 'h3'], 6, seed)
        .map((p) => p.protocol)
        .join(',');
    expect(order(1)).toBe(order(1));
    const orders = new Set([1, 2, 3, 4, 5].map(order));
    expect(orders.size).toBeGreaterThan(1);
  });

  it('does not always put the same protocol first', () => {
    const firsts = new Set(
      planRuns(['h1', 'h2'], 20, 3)
        .filter((p) => p.index % 2 === 0)
        .map((p) => p.protocol),
    );
    expect(firsts.size).toBe(2);
  });
});

describe('planRuns with a sweep', () => {
  it('runs every protocol at every point once per repetition, points in a seeded order', () => {
    const plan = planRuns(['h1', 'h2'], 3, 5, 4);
    expect(plan).toHaveLength(24);
    for (let r = 0; r < 3; r++) {
      const rep = plan.filter((p) => p.repetition === r);
      expect(rep.map((p) => `${p.sweepIndex ?? -1}${p.protocol}`).sort()).toEqual(
        [0, 1, 2, 3].flatMap((i) => [`${i}h1`, `${i}h2`]),
      );
    }
    const orders = new Set(
      [0, 1, 2].map((r) =>
        plan
          .filter((p) => p.repetition === r)
          .map((p) => p.sweepIndex)
          .join(),
      ),
    );
    expect(orders.size).toBeGreaterThan(1);
  });

  it('leaves sweepIndex out when there is no sweep', () => {
    expect(planRuns(['h1'], 2, 1).every((p) => !('sweepIndex' in p))).toBe(true);
  });
});

describe('planRuns with attribution control runs', () => {
  it('adds one control run per protocol per repetition, shuffled in, and leaves other plans alone', () => {
    const plan = planRuns(['h1', 'h2', 'h3'], 3, 9, 0, true);
    expect(plan).toHaveLength(18);
    for (let r = 0; r < 3; r++) {
      const rep = plan.filter((p) => p.repetition === r);
      expect(rep.map((p) => `${p.protocol}${p.control === true ? 'c' : ''}`).sort()).toEqual([
        'h1',
        'h1c',
        'h2',
        'h2c',
        'h3',
        'h3c',
      ]);
    }
    // Controls are not always last: they are shuffled with the workload runs.
    expect(new Set(plan.filter((p) => p.control === true).map((p) => p.index % 6)).size).toBeGreaterThan(1);
    expect(planRuns(['h1', 'h2'], 4, 3, 0, false)).toEqual(planRuns(['h1', 'h2'], 4, 3));
    expect(planRuns(['h1', 'h2'], 4, 3).some((p) => 'control' in p)).toBe(false);
  });

  it("gives a control run one stream of the workload's total bytes", () => {
    const s = parseScenario(
      'name: t\nattribution: true\nworkload: {type: page-load, document: 10kB, waves: [{count: 2, size: 5kB}]}\n',
      't.yaml',
    );
    expect(workloadBytes(s.workload)).toBe(20_000);
    expect(controlWorkload(s.workload)).toMatchObject({
      type: 'bulk',
      sizeBytes: 20_000,
      allowedFailures: 0,
    });
    expect(scenarioOfRun(s, { index: 0, repetition: 0, protocol: 'h2', control: true }).workload.type).toBe(
      'bulk',
    );
    expect(scenarioOfRun(s, { index: 0, repetition: 0, protocol: 'h2' }).workload.type).toBe('page-load');
    const withControls = estimate([s]);
    const without = estimate([{ ...s, attribution: false }]);
    expect(withControls.runs).toBe(2 * without.runs);
    expect(withControls.ms).toBeGreaterThan(without.ms);
  });
});

describe('prng', () => {
  it('yields floats in [0, 1)', () => {
    const r = prng(42);
    for (let i = 0; i < 1000; i++) {
      const v = r();
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThan(1);
    }
  });
});

describe('launchArgv', () => {
  it('prefixes ip netns exec for a namespace and never a shell', () => {
    const argv = launchArgv(
      { module: 'harness/runner/server-main.js', args: ['/tmp/c.json'], netns: 'h3b-s-1' },
      '/n',
    );
    expect(argv.slice(0, 5)).toEqual(['ip', 'netns', 'exec', 'h3b-s-1', '/n']);
    expect(argv.at(-1)).toBe('/tmp/c.json');
  });
  it('rejects a namespace name outside our prefix', () => {
    expect(() => launchArgv({ module: 'x.js', args: [], netns: 'foo; rm -rf /' })).toThrow(/unexpected name/);
  });
});

describe('withRepetitionSeed', () => {
  it('gives every repetition its own emulator seed, deterministically', async () => {
    const { withRepetitionSeed } = await import('../../harness/runner/run.js');
    const { parseScenario } = await import('../../harness/scenario/load.js');
    const s = parseScenario(
      'name: t\nnetwork: { backend: linkem, rtt: 10ms, loss: 1% }\nworkload: { type: bulk }\n',
      '/t.yaml',
    );
    const seeds = [0, 1, 2, 3].map((r) => withRepetitionSeed(s, r).network.profile.seed);
    expect(new Set(seeds).size).toBe(4);
    expect(seeds[0]).toBe(s.network.profile.seed);
    expect(withRepetitionSeed(s, 2).network.profile.seed).toBe(seeds[2]);
    expect(s.network.profile.seed).toBe(seeds[0]);
  });
});

describe('repetitionSeeds', () => {
  it('derives the emulator seed exactly as before and one workload seed per repetition', async () => {
    const { repetitionSeeds } = await import('../../harness/runner/plan.js');
    const s = { seed: 7, network: { profile: { seed: 1234 } } };
    for (const r of [0, 1, 2, 17]) {
      // The emulator derivation the figures were made with (loss patterns stay the same).
      expect(repetitionSeeds(s, r).emulator).toBe((1234 + Math.imul(r, 0x9e3779b1)) >>> 0);
    }
    const workload = [0, 1, 2, 3].map((r) => repetitionSeeds(s, r).workload);
    expect(new Set(workload).size).toBe(4);
    expect(repetitionSeeds(s, 2).workload).toBe(workload[2]);
    // Not the emulator's sequence even when both start from the same seed.
    const same = { seed: 5, network: { profile: { seed: 5 } } };
    expect(repetitionSeeds(same, 1).workload).not.toBe(repetitionSeeds(same, 1).emulator);
    expect(repetitionSeeds({ ...s, seed: 8 }, 1).workload).not.toBe(repetitionSeeds(s, 1).workload);
  });
});
