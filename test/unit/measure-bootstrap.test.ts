import { describe, expect, it } from 'vitest';
import { differenceCI, medianCI, ratioCI, seedOf } from '../../core/bootstrap.js';
import { METRICS, contrastMetric } from '../../harness/measure/metrics.js';
import { median } from '../../core/stats.js';
import { prng } from '../../core/prng.js';

const A = [10, 11, 12, 10.5, 11.5, 10.8, 11.2];
const B = [20, 21, 22, 20.5, 21.5, 20.8, 21.2];

describe('prng / seedOf', () => {
  it('prng (mulberry32) repeats its sequence for a seed', () => {
    const a = prng(42);
    const b = prng(42);
    const xs = Array.from({ length: 5 }, () => a());
    expect(Array.from({ length: 5 }, () => b())).toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  });
  it('seedOf is stable and tells inputs apart', () => {
    expect(seedOf('h3', 'h2', 'workloadMs')).toBe(seedOf('h3', 'h2', 'workloadMs'));
    expect(seedOf('h3', 'h2', 'workloadMs')).not.toBe(seedOf('h3', 'h1', 'workloadMs'));
  });
});

describe('medianCI', () => {
  it('is deterministic for a seed: same input, same interval', () => {
    expect(medianCI(A, { seed: 7 })).toEqual(medianCI(A, { seed: 7 }));
  });
  it('brackets the median with an interval inside the sample range', () => {
    const e = medianCI(A, { seed: 1 });
    expect(e.median).toBe(11);
    expect(e.n).toBe(7);
    const [lo, hi] = e.ci95 ?? [NaN, NaN];
    expect(lo).toBeLessThanOrEqual(11);
    expect(hi).toBeGreaterThanOrEqual(11);
    expect(lo).toBeGreaterThanOrEqual(10);
    expect(hi).toBeLessThanOrEqual(12);
  });
  it('gives a zero-width interval for constant values, none for a single value, nothing for none', () => {
    expect(medianCI([5, 5, 5], { seed: 1 }).ci95).toEqual([5, 5]);
    expect(medianCI([5], { seed: 1 })).toEqual({ median: 5, ci95: null, n: 1 });
    expect(medianCI([], { seed: 1 })).toEqual({ median: null, ci95: null, n: 0 });
  });
  it('ignores null and non-finite values', () => {
    expect(medianCI([1, null, NaN, 3], { seed: 1 }).n).toBe(2);
    expect(median([3, 1, 2])).toBe(2);
  });
});

describe('ratioCI / differenceCI', () => {
  it('ratioCI of clearly separated samples excludes 1', () => {
    const r = ratioCI(A, B, { seed: 3 });
    expect(r.value).toBeCloseTo(11 / 21);
    const [lo, hi] = r.ci95 ?? [NaN, NaN];
    expect(lo).toBeGreaterThan(0.45);
    expect(hi).toBeLessThan(0.6);
  });
  it('ratioCI is undefined against a zero median', () => {
    expect(ratioCI([1, 2], [0, 0], { seed: 3 }).value).toBeNull();
  });
  it('differenceCI of identical samples includes 0', () => {
    const d = differenceCI(A, A, { seed: 3 });
    expect(d.value).toBe(0);
    expect((d.ci95?.[0] ?? 1) <= 0 && (d.ci95?.[1] ?? -1) >= 0).toBe(true);
  });
});

describe('contrastMetric verdicts', () => {
  it('states a significant improvement in plain language with its interval', () => {
    const c = contrastMetric(METRICS.workloadMs, A, B, { a: 'h3', b: 'h2' }, { seed: 9 });
    expect(c.significant).toBe(true);
    expect(c.direction).toBe('better');
    expect(c.verdict).toMatch(/^h3 completes the workload 4\d% faster than h2 \[\d+%, \d+%\]$/);
  });
  it('says "no significant difference" for overlapping samples', () => {
    const c = contrastMetric(
      METRICS.workloadMs,
      [10, 12, 11, 13, 9],
      [11, 10, 12, 13, 9.5],
      { a: 'h3', b: 'h2' },
      { seed: 9 },
    );
    expect(c.significant).toBe(false);
    expect(c.direction).toBe('same');
    expect(c.verdict).toMatch(/^no significant difference \(h3\/h2 = /);
  });
  it('higher-is-better metrics read the other way round', () => {
    const c = contrastMetric(METRICS.goodputMbit, B, A, { a: 'h3', b: 'h2' }, { seed: 9 });
    expect(c.direction).toBe('better');
    expect(c.verdict).toMatch(/^h3 reaches \d+% higher goodput than h2/);
  });
  it('falls back to the difference when the baseline median is 0', () => {
    const c = contrastMetric(
      METRICS.stallMs,
      [50, 60, 55, 52, 58],
      [0, 0, 0, 0, 0],
      { a: 'h2', b: 'h3' },
      { seed: 9 },
    );
    expect(c.kind).toBe('difference');
    expect(c.direction).toBe('worse');
    expect(c.verdict).toMatch(/^h2 has 5\d\.\d ms more stall time than h3/);
    const zeros = [0, 0, 0, 0, 0];
    const z = contrastMetric(METRICS.stallMs, zeros, zeros, { a: 'h2', b: 'h3' }, { seed: 9 });
    expect(z.verdict).toBe('no difference: stall time is 0 for h2 and h3');
  });
  it('gives no verdict with fewer than 5 ok runs on a side, however separated the samples', () => {
    // 3 vs 3 completely separated: the bootstrap interval excludes 1, but with 3 runs per side it
    // does so for ~10% of same-distribution pairs (twice the nominal 5%): no verdict.
    const c = contrastMetric(
      METRICS.workloadMs,
      [10, 11, 12],
      [20, 21, 22],
      { a: 'h3', b: 'h2' },
      { seed: 9 },
    );
    expect(c.ci95?.[1]).toBeLessThan(1);
    expect(c.significant).toBeNull();
    expect(c.direction).toBeNull();
    expect(c.verdict).toBe('too few runs for a verdict (n=3; need 5): h3/h2 = 0.52');
    const d = contrastMetric(METRICS.workloadMs, [10], [20, 21], { a: 'h3', b: 'h2' }, { seed: 9 });
    expect(d.significant).toBeNull();
    expect(d.verdict).toMatch(/^too few runs for a verdict \(n=1 and 2; need 5\)/);
    const ok = contrastMetric(
      METRICS.workloadMs,
      [10, 11, 12, 10.5, 11.5],
      [20, 21, 22, 20.5, 21.5],
      { a: 'h3', b: 'h2' },
      { seed: 9 },
    );
    expect(ok.significant).toBe(true);
    expect(ok.verdict).toMatch(/^h3 completes the workload \d+% faster than h2/);
  });
  it('is not comparable when the sides lost different numbers of runs (survivorship)', () => {
    const c = contrastMetric(
      METRICS.workloadMs,
      [10, 11, 12, 10.5, 11.5],
      [20, 21, 22, 20.5, 21.5],
      { a: 'h3', b: 'h2' },
      { seed: 9, failedRuns: { a: 2, b: 0 } },
    );
    expect(c.comparable).toBe(false);
    expect(c.significant).toBeNull();
    expect(c.direction).toBeNull();
    expect(c.verdict).toMatch(/^not comparable: 2 failed runs \(h3 2, h2 0\)/);
    const same = contrastMetric(
      METRICS.workloadMs,
      [10, 11, 12, 10.5, 11.5],
      [20, 21, 22, 20.5, 21.5],
      { a: 'h3', b: 'h2' },
      { seed: 9, failedRuns: { a: 1, b: 1 } },
    );
    expect(same.comparable).toBe(true);
    expect(same.significant).toBe(true);
  });
});
