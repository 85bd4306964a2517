/**
 * Paired protocol contrasts (core/paired.ts, contrastMetric with `pairs`, protocolContrasts), proven
 * by simulation on a model of benchmark repetitions with fixed seeds:
 * - each repetition has a condition effect shared by both protocols (log-normal, σ = 0.5: the loss
 *   draw and the emulator's timing make one repetition much slower than another), a small
 *   within-pair noise (log-normal, σ = 0.05 per run), and with probability 0.2 a chaotic pair whose
 *   run on one side (either side, or always side a in the "one-sided" variant) is multiplied by a
 *   factor uniform in [2, 5] (a lost handshake packet);
 * - the paired 95% interval must cover the true ratio ≥ 93% of the time with 5 and with 10 pairs,
 *   call an A/A contrast significant ≤ 5% of the time, and be ≥ 3× narrower (log width, median over
 *   simulations) than the unpaired bootstrap interval on the same runs.
 * The numbers are quoted in docs/metrics.md § 4 (paired contrasts).
 */
import { describe, expect, it } from 'vitest';
import { prng } from '../../core/prng.js';
import { pairedDifferenceCI, pairedRatioCI, studentTQuantile, trimmedMeanCI } from '../../core/paired.js';
import { METRICS, contrastMetric, type MetricPair } from '../../harness/measure/metrics.js';
import { intervalLabel, verdictLines } from '../../harness/report/table.js';
import { resummarize } from '../../harness/measure/result-summary.js';
import { lookConfidence } from '../../harness/measure/stopping.js';
import type { MetricContrast, ProtocolContrast } from '../../harness/model/metrics.js';
import { result, runRecord, client } from '../fixtures/synthetic.js';
import type { Protocol } from '../../harness/scenario/schema.js';

interface Model {
  /** True ratio a/b of the protocols' effect. */
  ratio: number;
  /** σ of the log of the per-repetition condition effect (shared by both sides). */
  between: number;
  /** σ of the log of each run's own noise. */
  within: number;
  /** Probability that a pair is chaotic. */
  chaos: number;
  /** The chaotic factor always hits side a (else either side). */
  oneSided: boolean;
}

const MODEL: Model = { ratio: 0.8, between: 0.5, within: 0.05, chaos: 0.2, oneSided: false };

function simulatePairs(rand: () => number, n: number, m: Model): [number, number][] {
  const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const out: [number, number][] = [];
  for (let i = 0; i < n; i++) {
    const condition = Math.exp(m.between * normal());
    let a = 2000 * m.ratio * condition * Math.exp(m.within * normal());
    let b = 2000 * condition * Math.exp(m.within * normal());
    if (rand() < m.chaos) {
      const factor = 2 + 3 * rand();
      if (m.oneSided || rand() < 0.5) a *= factor;
      else b *= factor;
    }
    out.push([a, b]);
  }
  return out;
}

const NAMES = { a: 'h3', b: 'h2' };

/** The contrast of protocolContrasts for simulated pairs: paired, or (pairs left out) unpaired. */
function contrastOf(pairs: readonly [number, number][], seed: number, paired: boolean): MetricContrast {
  return contrastMetric(
    METRICS.workloadMs,
    pairs.map((p) => p[0]),
    pairs.map((p) => p[1]),
    NAMES,
    { seed, resamples: 1000, ...(paired ? { pairs } : {}) },
  );
}

interface SimStats {
  coverage: number;
  falseAlarms: number;
}

function simulate(n: number, m: Model, sims: number, seed: number): SimStats {
  const rand = prng(seed);
  let covered = 0;
  let alarms = 0;
  for (let s = 0; s < sims; s++) {
    const c = contrastOf(simulatePairs(rand, n, m), s, true);
    expect(c.method).toBe('paired');
    if (c.ci95 && c.ci95[0] <= m.ratio && m.ratio <= c.ci95[1]) covered++;
    const aa = contrastOf(simulatePairs(rand, n, { ...m, ratio: 1 }), s, true);
    if (aa.significant !== false) alarms++;
  }
  return { coverage: covered / sims, falseAlarms: alarms / sims };
}

const logWidth = (c: MetricContrast): number => (c.ci95 ? Math.log(c.ci95[1] / c.ci95[0]) : Infinity);
const medianOf = (v: number[]): number => {
  const s = [...v].sort((x, y) => x - y);
  const h = Math.floor(s.length / 2);
  return s.length % 2 ? (s[h] ?? NaN) : ((s[h - 1] ?? NaN) + (s[h] ?? NaN)) / 2;
};

describe('core/paired.ts', () => {
  it('has the textbook t quantiles', () => {
    expect(studentTQuantile(0.975, 1)).toBeCloseTo(12.706, 3);
    expect(studentTQuantile(0.975, 2)).toBeCloseTo(4.303, 3);
    expect(studentTQuantile(0.975, 5)).toBeCloseTo(2.571, 3);
    expect(studentTQuantile(0.975, 30)).toBeCloseTo(2.042, 3);
    expect(studentTQuantile(0.025, 5)).toBeCloseTo(-2.571, 3);
  });

  it('computes the 20%-trimmed mean with Yuen’s interval', () => {
    // n = 5, g = 1: mean of the middle 3; winsorized [2, 2, 3, 4, 4], Σ(w - 3)² = 4; se = √(4 / 6).
    const r = trimmedMeanCI([1, 2, 3, 4, 100]);
    expect(r?.estimate).toBe(3);
    const half = 4.302652729749525 * Math.sqrt(4 / 6);
    expect(r?.ci?.[0]).toBeCloseTo(3 - half, 9);
    expect(r?.ci?.[1]).toBeCloseTo(3 + half, 9);
    // The wild value does not matter beyond its rank.
    expect(trimmedMeanCI([1, 2, 3, 4, 1e9])).toEqual(r);
  });

  it('does not call tied counts certain: a zero winsorized spread falls back to the range', () => {
    // One failed request more in 4 of 5 repetitions: winsorized [1, 1, 1, 1, 1] has no spread, but
    // the pairs do not all agree, so no zero-width interval (which would exclude 0).
    expect(trimmedMeanCI([0, 1, 1, 1, 1])?.ci).toEqual([0, 1]);
    expect(trimmedMeanCI([0, 0, 0, 0, 0])?.ci).toEqual([0, 0]);
  });

  it('works on log-ratios for a ratio, counts pairs, and refuses non-positive values', () => {
    const pairs: MetricPair[] = [
      [80, 100],
      [160, 200],
      [40, 50],
      [null, 10],
      [400, 500],
      [8, 10],
    ];
    const r = pairedRatioCI(pairs);
    expect(r?.pairs).toBe(5);
    expect(r?.value).toBeCloseTo(0.8, 12);
    expect(r?.ci95?.[0]).toBeCloseTo(0.8, 12);
    expect(pairedRatioCI([...pairs, [0, 10]])).toBeNull();
    const d = pairedDifferenceCI([...pairs, [0, 10]]);
    expect(d.pairs).toBe(6);
    expect(pairedRatioCI([])).toEqual({ value: null, ci95: null, pairs: 0 });
  });
});

describe('paired contrasts by simulation (fixed seeds)', () => {
  for (const n of [5, 10]) {
    it(`covers the true ratio ≥ 93% and raises ≤ 5% A/A false alarms with ${n} pairs`, () => {
      const both = simulate(n, MODEL, 2000, 1000 + n);
      expect(both.coverage).toBeGreaterThanOrEqual(0.93);
      expect(both.falseAlarms).toBeLessThanOrEqual(0.05);
      // The chaotic factor always on one side skews the per-pair distribution: still calibrated.
      const oneSided = simulate(n, { ...MODEL, oneSided: true }, 2000, 2000 + n);
      expect(oneSided.coverage).toBeGreaterThanOrEqual(0.93);
      expect(oneSided.falseAlarms).toBeLessThanOrEqual(0.055);
    });

    it(`is ≥ 3× narrower than the unpaired interval with ${n} pairs`, () => {
      const rand = prng(3000 + n);
      const ratios: number[] = [];
      const paired: number[] = [];
      const unpaired: number[] = [];
      for (let s = 0; s < 150; s++) {
        const pairs = simulatePairs(rand, n, MODEL);
        const p = contrastOf(pairs, s, true);
        const u = contrastOf(pairs, s, false);
        expect(u.method).toBe('unpaired');
        paired.push(logWidth(p));
        unpaired.push(logWidth(u));
        ratios.push(logWidth(u) / logWidth(p));
      }
      expect(medianOf(unpaired) / medianOf(paired)).toBeGreaterThanOrEqual(3);
      expect(medianOf(ratios)).toBeGreaterThanOrEqual(3);
    });
  }

  it('is not fooled by one wild pair: the estimate stays with the other four', () => {
    // The real run: per-repetition h3/h2 ratios 1.21, 0.77, 0.76, 0.77, 0.77.
    const ratios = [1.21, 0.77, 0.76, 0.77, 0.77];
    const conditions = [3.1, 0.9, 1.6, 0.7, 2.2];
    const pairs = ratios.map((r, i): [number, number] => [
      r * 1000 * (conditions[i] ?? 1),
      1000 * (conditions[i] ?? 1),
    ]);
    const p = contrastOf(pairs, 1, true);
    expect(p.value).toBeCloseTo(0.77, 2);
    expect(p.significant).toBe(true);
    expect(p.direction).toBe('better');
    expect(contrastOf(pairs, 1, false).significant).toBe(false);
  });
});

/** Runs of one protocol whose only request takes ms[i] (repetition i); `failed` repetitions fail. */
function runs(p: Protocol, ms: readonly number[], first: number, failed: readonly number[] = []) {
  return ms.map((w, i) =>
    runRecord(first + i, i, client(p, [{ data: [w], headers: w, end: w }]), { ok: !failed.includes(i) }),
  );
}

const workload = (cs: readonly ProtocolContrast[]) =>
  cs.find((c) => c.a === 'h3' && c.b === 'h2' && c.metric === 'workloadMs');

describe('protocolContrasts pairs the runs of one repetition', () => {
  // Conditions vary 4× between repetitions; h3 is 20% faster in each (± 1%).
  const h2 = [1000, 3000, 1500, 4000, 2200, 1200];
  const h3 = [795, 2430, 1190, 3220, 1760, 966];

  it('is paired with 5+ complete pairs, and calls what the unpaired interval cannot', () => {
    const r = result([...runs('h2', h2, 0), ...runs('h3', h3, 6)], { protocols: ['h2', 'h3'] });
    const c = workload(r.summary.comparisons);
    expect(c?.method).toBe('paired');
    expect(c?.pairs).toBe(6);
    expect(c?.value).toBeCloseTo(0.8, 2);
    expect(c?.direction).toBe('better');
    expect(c?.verdict).toMatch(/^h3 completes the workload 20% faster than h2/);
    expect(verdictLines(r)).toContain(`h3 vs h2, workload completion (paired, 6 pairs): ${c?.verdict}`);
    // The same runs, unpaired: no significant difference.
    const u = contrastMetric(METRICS.workloadMs, h3, h2, { a: 'h3', b: 'h2' }, { seed: 1 });
    expect(u.significant).toBe(false);
    // Pairing is by repetition: h3's runs in another order are no longer pairs of like conditions.
    const shuffled = [h3[3], h3[0], h3[5], h3[1], h3[4], h3[2]] as number[];
    const s = result([...runs('h2', h2, 0), ...runs('h3', shuffled, 6)], { protocols: ['h2', 'h3'] });
    expect(workload(s.summary.comparisons)?.direction).not.toBe('better');
  });

  it('an adaptive run reports its verdicts at the per-look level of its stopping rule', () => {
    const all = [...runs('h2', h2, 0), ...runs('h3', h3, 6)];
    const fixed = workload(result(all, { protocols: ['h2', 'h3'] }).summary.comparisons);
    const r = result(all, { protocols: ['h2', 'h3'] });
    const adaptive = { min: 5, max: 20, targetPct: 10, budgetMs: null };
    const a = workload(resummarize({ ...r, scenario: { ...r.scenario, adaptive } }).summary.comparisons);
    const width = (c: ProtocolContrast | undefined) => Math.log((c?.ci95?.[1] ?? 1) / (c?.ci95?.[0] ?? 1));
    // 16 looks: each at 1 - 0.05/16, so the interval is wider than the plain 95% one.
    expect(lookConfidence(adaptive)).toBeCloseTo(1 - 0.05 / 16, 12);
    expect(width(a)).toBeGreaterThan(1.5 * width(fixed));
    expect(a?.value).toBeCloseTo(fixed?.value ?? NaN, 12);
    expect(intervalLabel(r)).toBe('95% intervals');
    expect(intervalLabel({ ...r, scenario: { ...r.scenario, adaptive } })).toBe(
      '99.69% intervals: adaptive repetitions, 16 looks',
    );
  });

  it('breaks a pair when either run failed, and falls back to unpaired below 5 pairs', () => {
    // One failed run per side (comparable), in different repetitions: 5 ok runs a side, 4 pairs.
    const r = result([...runs('h2', h2, 0, [0]), ...runs('h3', h3, 6, [1])], { protocols: ['h2', 'h3'] });
    const c = workload(r.summary.comparisons);
    expect(c?.comparable).toBe(true);
    expect(c?.nA).toBe(5);
    expect(c?.method).toBe('unpaired');
    expect(c?.pairs).toBe(4);
    expect(verdictLines(r)).toContain(
      `h3 vs h2, workload completion (unpaired: only 4 pairs): ${c?.verdict}`,
    );
    // The same failures in the same repetition: 5 pairs, paired.
    const same = result([...runs('h2', h2, 0, [0]), ...runs('h3', h3, 6, [0])], { protocols: ['h2', 'h3'] });
    expect(workload(same.summary.comparisons)).toMatchObject({
      method: 'paired',
      pairs: 5,
      direction: 'better',
    });
  });

  it('compare’s contrasts stay unpaired (no pairs given)', () => {
    const u = contrastMetric(METRICS.workloadMs, h3, h2, { a: 'current', b: 'baseline' }, { seed: 1 });
    expect(u).toMatchObject({ method: 'unpaired', pairs: 0 });
  });
});
