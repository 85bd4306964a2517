/**
 * Adaptive repetitions (harness/measure/stopping.ts): the stopping rule applied to the paired
 * estimator, proven by simulation with fixed seeds on the model of benchmark repetitions used for
 * paired contrasts (test/unit/paired-coverage.test.ts): a per-repetition condition shared by both
 * sides (log-normal σ 0.5), within-pair noise (log-normal σ 0.05 per run), and 20% chaotic pairs
 * with one side × U(2, 5). After each round from min to max the runner looks at the paired interval
 * at confidence 1 - 0.05 / L (L looks) and stops when it is narrower than ±target:
 * - the final interval covers the true ratio ≥ 93% of the time, and an A/A contrast is called
 *   different ≤ 5% of the time (docs/metrics.md § "Adaptive repetitions" quotes the numbers);
 * - a quiet model stops early (target-reached), a noisy one runs to max.
 * The decision itself (stopDecision) is checked without simulation.
 */
import { describe, expect, it } from 'vitest';
import { pairedRatioCI } from '../../core/paired.js';
import { prng } from '../../core/prng.js';
import {
  lookConfidence,
  lookCount,
  ratioHalfWidth,
  stopDecision,
  stoppingContrasts,
  targetReached,
  type AdaptiveRepetitions,
  type StopReason,
} from '../../harness/measure/stopping.js';
import type { RunMetrics } from '../../harness/model/metrics.js';

interface Model {
  ratio: number;
  between: number;
  within: number;
  chaos: number;
}

const REALISTIC: Model = { ratio: 0.8, between: 0.5, within: 0.05, chaos: 0.2 };
const ADAPTIVE: AdaptiveRepetitions = { min: 5, max: 20, targetPct: 10, budgetMs: null };

function pairSource(rand: () => number, m: Model): () => [number, number] {
  const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  return () => {
    const condition = Math.exp(m.between * normal());
    let a = 2000 * m.ratio * condition * Math.exp(m.within * normal());
    let b = 2000 * condition * Math.exp(m.within * normal());
    if (rand() < m.chaos) {
      const factor = 2 + 3 * rand();
      if (rand() < 0.5) a *= factor;
      else b *= factor;
    }
    return [a, b];
  };
}

interface Outcome {
  rounds: number;
  reason: StopReason;
  ci: [number, number] | null;
}

/** One adaptive run of one contrast: rounds until the rule stops it. */
function adaptiveRun(next: () => [number, number], a: AdaptiveRepetitions): Outcome {
  const confidence = lookConfidence(a);
  const pairs: [number, number][] = [];
  for (;;) {
    pairs.push(next());
    const rounds = pairs.length;
    let ci: [number, number] | null = null;
    let narrow = false;
    if (rounds >= a.min) {
      const c = pairedRatioCI(pairs, { confidence });
      ci = c?.ci95 ?? null;
      const w = ratioHalfWidth(c?.value ?? null, ci);
      narrow = w !== null && w <= a.targetPct / 100;
    }
    const reason = stopDecision(a, { rounds, elapsedMs: rounds * 1000, narrow });
    if (reason !== null) return { rounds, reason, ci };
  }
}

interface Sim {
  coverage: number;
  early: number;
  meanRounds: number;
}

function simulate(m: Model, a: AdaptiveRepetitions, sims: number, seed: number): Sim {
  const next = pairSource(prng(seed), m);
  let covered = 0;
  let early = 0;
  let rounds = 0;
  for (let s = 0; s < sims; s++) {
    const o = adaptiveRun(next, a);
    if (o.ci && o.ci[0] <= m.ratio && m.ratio <= o.ci[1]) covered++;
    if (o.reason === 'target-reached') early++;
    rounds += o.rounds;
  }
  return { coverage: covered / sims, early: early / sims, meanRounds: rounds / sims };
}

describe('adaptive stopping: coverage by simulation', () => {
  it('keeps coverage ≥ 93% and A/A false alarms ≤ 5% under optional stopping (realistic model)', () => {
    const real = simulate(REALISTIC, ADAPTIVE, 1500, 0xada);
    const aa = simulate({ ...REALISTIC, ratio: 1 }, ADAPTIVE, 1500, 0xa0a0);
    console.log(
      `adaptive min 5 max 20 ±10%: coverage ${(real.coverage * 100).toFixed(1)}% (${(real.early * 100).toFixed(0)}% stopped early, mean ${real.meanRounds.toFixed(1)} rounds); A/A false alarms ${((1 - aa.coverage) * 100).toFixed(1)}%`,
    );
    expect(real.coverage).toBeGreaterThanOrEqual(0.93);
    expect(1 - aa.coverage).toBeLessThanOrEqual(0.05);
    // The rule does stop early on this model (else the coverage check would prove little).
    expect(real.early).toBeGreaterThan(0.3);
  });

  it('a plain 95% interval at every look would under-cover on a model where stopping selects narrow intervals', () => {
    // Why the Bonferroni level: with min = 5 and a target the plain interval reaches by chance, the
    // runs that stop are those whose interval came out narrow (too narrow). This is the failure the
    // rule prevents; it checks the simulation can see it.
    const a: AdaptiveRepetitions = { min: 5, max: 20, targetPct: 6, budgetMs: null };
    const model: Model = { ratio: 0.8, between: 0.5, within: 0.08, chaos: 0 };
    const naive = { ...a, max: a.min }; // lookConfidence(naive) = 0.95
    const next = pairSource(prng(7), model);
    let covered = 0;
    const sims = 1500;
    for (let s = 0; s < sims; s++) {
      const pairs: [number, number][] = [];
      for (;;) {
        pairs.push(next());
        if (pairs.length < a.min) continue;
        const c = pairedRatioCI(pairs, { confidence: lookConfidence(naive) });
        const w = ratioHalfWidth(c?.value ?? null, c?.ci95 ?? null);
        if ((w !== null && w <= a.targetPct / 100) || pairs.length >= a.max) {
          if (c?.ci95 && c.ci95[0] <= model.ratio && model.ratio <= c.ci95[1]) covered++;
          break;
        }
      }
    }
    const adjusted = simulate(model, a, sims, 7);
    console.log(
      `stop-when-narrow, plain 95% at each look: coverage ${((covered / sims) * 100).toFixed(1)}%; Bonferroni: ${(adjusted.coverage * 100).toFixed(1)}%`,
    );
    expect(adjusted.coverage).toBeGreaterThanOrEqual(0.93);
    expect(covered / sims).toBeLessThan(adjusted.coverage);
  });

  it('stops early on a quiet model and runs to max on a noisy one', () => {
    const quiet = simulate({ ratio: 0.8, between: 0.5, within: 0.02, chaos: 0 }, ADAPTIVE, 300, 11);
    const noisy = simulate({ ratio: 0.8, between: 0.5, within: 0.4, chaos: 0.4 }, ADAPTIVE, 300, 12);
    expect(quiet.early).toBe(1);
    expect(quiet.meanRounds).toBeLessThanOrEqual(7);
    expect(noisy.early).toBe(0);
    expect(noisy.meanRounds).toBe(ADAPTIVE.max);
  });
});

describe('stopDecision', () => {
  const a: AdaptiveRepetitions = { min: 5, max: 10, targetPct: 10, budgetMs: 60_000 };
  it('runs min rounds whatever happens, then stops on the target, max, or budget', () => {
    expect(stopDecision(a, { rounds: 4, elapsedMs: 1e9, narrow: true })).toBeNull();
    expect(stopDecision(a, { rounds: 5, elapsedMs: 1000, narrow: true })).toBe('target-reached');
    expect(stopDecision(a, { rounds: 6, elapsedMs: 1000, narrow: false })).toBeNull();
    expect(stopDecision(a, { rounds: 10, elapsedMs: 1000, narrow: false })).toBe('max-repetitions');
    // 6 rounds in 54 s: a 7th (9 s) would end at 63 s > 60 s.
    expect(stopDecision(a, { rounds: 6, elapsedMs: 54_000, narrow: false })).toBe('budget');
    expect(stopDecision(a, { rounds: 6, elapsedMs: 48_000, narrow: false })).toBeNull();
    expect(stopDecision({ ...a, budgetMs: null }, { rounds: 6, elapsedMs: 1e9, narrow: false })).toBeNull();
  });

  it('spends α = 0.05 over the looks from min to max', () => {
    expect(lookCount({ min: 5, max: 5 })).toBe(1);
    expect(lookConfidence({ min: 5, max: 5 })).toBeCloseTo(0.95, 12);
    expect(lookCount({ min: 5, max: 24 })).toBe(20);
    expect(lookConfidence({ min: 5, max: 24 })).toBeCloseTo(0.9975, 12);
  });

  it('measures a ratio interval by its relative half-width', () => {
    expect(ratioHalfWidth(1, [0.9, 1.05])).toBeCloseTo(1 / 0.9 - 1, 12);
    expect(ratioHalfWidth(2, [1.9, 2.3])).toBeCloseTo(0.15, 12);
    expect(ratioHalfWidth(null, [1, 2])).toBeNull();
    expect(ratioHalfWidth(1, null)).toBeNull();
  });
});

describe('stoppingContrasts', () => {
  const run = (index: number, protocol: string, repetition: number, workloadMs: number): RunMetrics =>
    ({ index, protocol, repetition, ok: true, workloadMs }) as unknown as RunMetrics;

  it('watches h3 against the others; a ratio metric with values in every pair decides', () => {
    const runs: RunMetrics[] = [];
    for (let r = 0; r < 6; r++) {
      runs.push(run(runs.length, 'h3', r, 900 + r), run(runs.length + 1, 'h2', r, 1000 + r * 1.1));
    }
    const cs = stoppingContrasts(runs, ['h2', 'h3'], 0, lookConfidence({ min: 5, max: 10 }), ['workloadMs']);
    expect(cs).toHaveLength(1);
    const c = cs[0];
    expect(c?.a).toBe('h3');
    expect(c?.b).toBe('h2');
    expect(c?.decides).toBe(true);
    expect(c?.pairs).toBe(6);
    expect(c?.minDetectableEffect).not.toBeNull();
    expect(targetReached(cs, 10)).toBe(true);
    // Fewer than 5 pairs: not narrow.
    const few = stoppingContrasts(runs.slice(0, 8), ['h2', 'h3'], 0, 0.95, ['workloadMs']);
    expect(few[0]?.minDetectableEffect).toBeNull();
    expect(targetReached(few, 10)).toBe(false);
    // Nothing deciding: never narrow.
    expect(targetReached([], 10)).toBe(false);
  });
});
