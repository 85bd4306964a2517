/**
 * Attribution of a contrast to setup × single-stream transport × multiplexing from control runs
 * (harness/measure/attribution.ts), and the rule that control runs are never pooled with the
 * workload's runs.
 */
import { describe, expect, it } from 'vitest';
import { prng } from '../../core/prng.js';
import {
  describeFactors,
  estimateFactors,
  pairFactors,
  repetitionFactors,
  type RepetitionFactors,
} from '../../harness/measure/attribution.js';
import { analyzeRun } from '../../harness/measure/analysis.js';
import { runInput } from '../../harness/measure/result-summary.js';
import { stoppingContrasts } from '../../harness/measure/stopping.js';
import type { RunRecord } from '../../harness/model/result.js';
import { ATTRIBUTION_FACTORS } from '../../harness/model/telemetry.js';
import type { Protocol } from '../../harness/scenario/schema.js';
import { controlRun, result, runsWithWorkload, workloadRun } from '../fixtures/synthetic.js';

/** Box–Muller standard normal from the project PRNG. */
function normal(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/**
 * A model of one repetition: the loss draw `c` is shared by every run of the repetition (it slows
 * both protocols alike), each run adds its own noise. Post-setup time of a control D = base ·
 * transport · e^(c + ε); the workload's post-setup time X = D' · mux, D' drawn like D; setup S with
 * jitter.
 */
interface Truth {
  /** Single-stream transport ratio a/b (post-setup control time). */
  transport: number;
  /** Multiplexing ratio a/b (workload post-setup time over its single-stream time). */
  mux: number;
  setupA: number;
  setupB: number;
}

function simulateRep(truth: Truth, rand: () => number) {
  const c = 0.4 * normal(rand);
  const d = (ratio: number) => 1500 * ratio * Math.exp(c + 0.12 * normal(rand));
  const s = (ms: number) => ms * Math.exp(0.1 * normal(rand));
  const ca = { setupMs: s(truth.setupA), post: d(truth.transport) };
  const cb = { setupMs: s(truth.setupB), post: d(1) };
  const wa = { setupMs: s(truth.setupA), post: d(truth.transport) * 1.3 * truth.mux };
  const wb = { setupMs: s(truth.setupB), post: d(1) * 1.3 };
  const times = (x: { setupMs: number; post: number }) => ({
    setupMs: x.setupMs,
    completionMs: x.setupMs + x.post,
  });
  return repetitionFactors(times(wa), times(wb), times(ca), times(cb));
}

/** The estimand of each factor, exp(E log factor), by a large Monte Carlo. */
function estimand(truth: Truth): RepetitionFactors {
  const rand = prng(987654);
  const n = 200_000;
  const sums = { total: 0, setup: 0, transport: 0, multiplexing: 0 };
  for (let i = 0; i < n; i++) {
    const f = simulateRep(truth, rand);
    if (!f) throw new Error('undefined factor in the model');
    for (const k of Object.keys(sums) as (keyof typeof sums)[]) sums[k] += Math.log(f[k]);
  }
  return {
    total: Math.exp(sums.total / n),
    setup: Math.exp(sums.setup / n),
    transport: Math.exp(sums.transport / n),
    multiplexing: Math.exp(sums.multiplexing / n),
  };
}

/** Coverage of each factor's interval over `datasets` simulated datasets of `reps` repetitions. */
function coverage(truth: Truth, reps: number, datasets: number, seed: number) {
  const target = estimand(truth);
  const rand = prng(seed);
  const hits = { total: 0, setup: 0, transport: 0, multiplexing: 0 };
  const errors = { total: 0, setup: 0, transport: 0, multiplexing: 0 };
  for (let d = 0; d < datasets; d++) {
    const rows: RepetitionFactors[] = [];
    for (let r = 0; r < reps; r++) {
      const f = simulateRep(truth, rand);
      if (f) rows.push(f);
    }
    const est = estimateFactors(rows, 1000 + d);
    for (const k of Object.keys(hits) as (keyof typeof hits)[]) {
      const ci = est[k].ci95;
      if (ci && ci[0] <= target[k] && target[k] <= ci[1]) hits[k]++;
      errors[k] += Math.abs(Math.log((est[k].value ?? NaN) / target[k]));
    }
  }
  const share = (x: typeof hits) =>
    Object.fromEntries(Object.entries(x).map(([k, v]) => [k, v / datasets])) as typeof hits;
  return { target, coverage: share(hits), meanAbsLogError: share(errors) };
}

describe('attribution: one repetition', () => {
  it('computes the four factors from the formulas, and they multiply back to the total', () => {
    const f = repetitionFactors(
      { completionMs: 1000, setupMs: 20 },
      { completionMs: 2000, setupMs: 40 },
      { completionMs: 620, setupMs: 20 },
      { completionMs: 1240, setupMs: 40 },
    );
    expect(f?.total).toBeCloseTo(0.5, 12);
    expect(f?.setup).toBeCloseTo(1980 / 2000, 12);
    expect(f?.transport).toBeCloseTo(0.5, 12);
    expect(f?.multiplexing).toBeCloseTo(0.5 / (0.99 * 0.5), 12);
    // A control that spent all its time in setup has no transport ratio.
    const x = { completionMs: 100, setupMs: 100 };
    expect(repetitionFactors(x, x, x, { completionMs: 200, setupMs: 50 })).toBeNull();
  });

  it('estimates multiply back to the estimated total (geometric means are exact in logs)', () => {
    const rand = prng(5);
    const truth = { transport: 0.3, mux: 1, setupA: 30, setupB: 60 };
    const rows = Array.from({ length: 9 }, () => simulateRep(truth, rand)).filter(
      (f): f is RepetitionFactors => f !== null,
    );
    const e = estimateFactors(rows, 42);
    const product = (e.setup.value ?? NaN) * (e.transport.value ?? NaN) * (e.multiplexing.value ?? NaN);
    expect(product).toBeCloseTo(e.total.value ?? NaN, 12);
    // Each value is the geometric mean of its repetitions.
    const geo = Math.exp(rows.reduce((a, r) => a + Math.log(r.transport), 0) / rows.length);
    expect(e.transport.value).toBeCloseTo(geo, 12);
    // Same rows and seed, same interval; one repetition: a value, no interval.
    expect(estimateFactors(rows, 42)).toEqual(e);
    const one = estimateFactors(rows.slice(0, 1), 42);
    expect(one.total.value).toBeCloseTo(rows[0]?.total ?? NaN, 12);
    expect(one.total.ci95).toBeNull();
    expect(estimateFactors([], 42).total).toEqual({ value: null, ci95: null });
  });
});

describe('attribution: simulation with known truth (fixed seeds)', () => {
  it('recovers a transport ratio of 0.3 without a multiplexing effect; every interval covers ≥ 90% of 200 datasets', () => {
    const truth = { transport: 0.3, mux: 1, setupA: 30, setupB: 60 };
    const r = coverage(truth, 10, 200, 2024);
    expect(r.target.transport).toBeCloseTo(0.3, 2);
    // Without a multiplexing effect the factor is 1 up to the setup interaction (at most S_a / X_a).
    expect(Math.abs(Math.log(r.target.multiplexing))).toBeLessThan(0.05);
    for (const k of ['total', ...ATTRIBUTION_FACTORS] as const) {
      expect(r.coverage[k], k).toBeGreaterThanOrEqual(0.9);
      expect(r.meanAbsLogError[k], k).toBeLessThan(0.15);
    }
    // Transport dominates: the estimated shares say so.
    const est = attributionOf(truth, 20, 77);
    expect(est.dominant).toBe('transport');
    // Truth: transport 1.02 of log total, setup 0.01, multiplexing −0.03 (the setup interaction).
    expect(est.shares.transport ?? 0).toBeGreaterThan(0.85);
    expect(est.shares.transport ?? 0).toBeLessThan(1.15);
  });

  it('recovers a pure multiplexing effect (a/b = 0.5 on the workload, equal single streams)', () => {
    const truth = { transport: 1, mux: 0.5, setupA: 40, setupB: 40 };
    const r = coverage(truth, 10, 200, 77);
    expect(r.target.transport).toBeCloseTo(1, 2);
    expect(r.target.multiplexing).toBeCloseTo(0.5, 1);
    for (const k of ['total', ...ATTRIBUTION_FACTORS] as const) {
      expect(r.coverage[k], k).toBeGreaterThanOrEqual(0.9);
    }
    const est = attributionOf(truth, 20, 78);
    expect(est.dominant).toBe('multiplexing');
  });
});

/** The attribution entry of simulated runs (h3 = a, h2 = b) through the result summary. */
function attributionOf(truth: Truth, reps: number, seed: number) {
  const rand = prng(seed);
  const runs: RunRecord[] = [];
  let index = 0;
  for (let r = 0; r < reps; r++) {
    const c = 0.4 * normal(rand);
    const d = (ratio: number) => 1500 * ratio * Math.exp(c + 0.12 * normal(rand));
    const sA = truth.setupA;
    const sB = truth.setupB;
    runs.push(workloadRun(index++, r, 'h3', sA + d(truth.transport) * 1.3 * truth.mux, sA));
    runs.push(workloadRun(index++, r, 'h2', sB + d(1) * 1.3, sB));
    runs.push(controlRun(index++, r, 'h3', sA + d(truth.transport), sA));
    runs.push(controlRun(index++, r, 'h2', sB + d(1), sB));
  }
  const entry = result(runs).summary.attribution?.find((e) => e.pair === 'h3/h2');
  if (!entry) throw new Error('no h3/h2 attribution');
  return entry;
}

describe('attribution entries', () => {
  const rep = (r: number, p: Protocol, t: number, s: number, ct: number, cs: number, first: number) => [
    workloadRun(first, r, p, t, s),
    controlRun(first + 1, r, p, ct, cs),
  ];

  it('one entry per pair present over complete quadruples, with shares, dominant and sentence', () => {
    const runs = [
      ...rep(0, 'h3', 1000, 20, 620, 20, 0),
      ...rep(0, 'h2', 2000, 40, 1240, 40, 2),
      ...rep(0, 'h1', 2100, 40, 1240, 40, 4),
      ...rep(1, 'h3', 1100, 20, 680, 20, 6),
      ...rep(1, 'h2', 2200, 40, 1340, 40, 8),
      ...rep(1, 'h1', 2300, 40, 1340, 40, 10),
    ];
    const entries = result(runs).summary.attribution ?? [];
    expect(entries.map((e) => e.pair)).toEqual(['h3/h2', 'h3/h1', 'h2/h1']);
    const e = entries[0];
    expect(e?.pairs).toBe(2);
    expect(e?.total.value).toBeCloseTo(0.5, 9);
    expect(e?.total.ci95).not.toBeNull();
    const shares = e?.shares ?? { setup: null, transport: null, multiplexing: null };
    expect((shares.setup ?? NaN) + (shares.transport ?? NaN) + (shares.multiplexing ?? NaN)).toBeCloseTo(
      1,
      9,
    );
    expect(e?.dominant).toBe('transport');
    expect(e?.sentence).toMatch(/^h3\/h2 = 0\.50: single-stream transport explains \d+% of it \(0\.\d\d\), /);
    expect(e?.sentence).toMatch(/connection setup -?\d+%/);
  });

  it('leaves out a repetition with a failed or missing run, and is absent without control runs', () => {
    const runs = [
      ...rep(0, 'h3', 1000, 20, 620, 20, 0),
      ...rep(0, 'h2', 2000, 40, 1240, 40, 2),
      workloadRun(4, 1, 'h3', 1000, 20),
      workloadRun(5, 1, 'h2', 2000, 40),
      controlRun(6, 1, 'h3', 620, 20, { ok: false }),
      controlRun(7, 1, 'h2', 1240, 40),
      workloadRun(8, 2, 'h3', 1000, 20),
      workloadRun(9, 2, 'h2', 2000, 40),
      controlRun(10, 2, 'h3', 620, 20),
    ];
    const [e] = result(runs).summary.attribution ?? [];
    expect(e?.pairs).toBe(1);
    expect(e?.total.value).toBeCloseTo(0.5, 9);
    expect(e?.total.ci95).toBeNull();
    expect(result(runs.filter((r) => r.control !== true)).summary.attribution).toBeUndefined();
  });

  it('is per sweep point for a sweep', () => {
    const runs = [0, 1].flatMap((point) =>
      [0, 1].flatMap((r) => {
        const base = point * 100 + r * 10;
        const k = point === 0 ? 1 : 2;
        return [
          workloadRun(base, r, 'h3', 1000 * k + r, 20, { sweepIndex: point }),
          workloadRun(base + 1, r, 'h2', 2000 + r, 40, { sweepIndex: point }),
          controlRun(base + 2, r, 'h3', 620, 20, { sweepIndex: point }),
          controlRun(base + 3, r, 'h2', 1240, 40, { sweepIndex: point }),
        ];
      }),
    );
    const res = result(runs, { extraYaml: 'sweep:\n  key: workload.concurrency\n  values: [1, 2]\n' });
    const entries = res.summary.attribution ?? [];
    expect(entries.map((e) => [e.pair, e.sweepIndex, e.pairs])).toEqual([
      ['h3/h2', 0, 2],
      ['h3/h2', 1, 2],
    ]);
    expect(entries[1]?.total.value ?? 0).toBeGreaterThan(entries[0]?.total.value ?? 0);
  });

  it('takes the cold workload setup as the sum of the setups over the concurrency', () => {
    const runs = [
      workloadRun(0, 0, 'h3', 1000, 20, { connections: 4 }),
      workloadRun(1, 0, 'h2', 2000, 40, { connections: 4 }),
      controlRun(2, 0, 'h3', 620, 20),
      controlRun(3, 0, 'h2', 1240, 40),
    ];
    // Concurrency 2: setups 4 × 20 / 2 = 40 and 4 × 40 / 2 = 80.
    const [f] = pairFactors(runs, 'h3', 'h2', 2);
    expect(f?.setup).toBeCloseTo((2000 - 80 + 40) / 2000, 12);
    const [g] = pairFactors(runs, 'h3', 'h2', null);
    expect(g?.setup).toBeCloseTo((2000 - 40 + 20) / 2000, 12);
  });
});

describe('control runs are never pooled with the workload runs', () => {
  const workload = [
    ...runsWithWorkload('h3', [100, 110, 120, 130, 140]),
    ...runsWithWorkload('h2', [200, 210, 220, 230, 240], 5),
  ];
  // Wildly different control runs (one per protocol and repetition, same repetition seed).
  const controls = [0, 1, 2, 3, 4].flatMap((r) => [
    controlRun(10 + 2 * r, r, 'h3', 5000, 10),
    controlRun(11 + 2 * r, r, 'h2', 9, 1, { ok: r !== 2 }),
  ]);
  const without = result(workload).summary;
  const withControls = result([...workload, ...controls]).summary;

  it('leaves protocol summaries, contrasts, per-run rows and HOL as they are without them', () => {
    for (const p of ['h3', 'h2'] as const) {
      expect(withControls.protocols[p]?.runs).toBe(5);
      expect(withControls.protocols[p]?.metrics).toEqual(without.protocols[p]?.metrics);
      expect(withControls.protocols[p]?.hol).toEqual(without.protocols[p]?.hol);
      expect(withControls.protocols[p]?.workloadMs).toEqual(without.protocols[p]?.workloadMs);
      expect(withControls.protocols[p]?.histograms).toEqual(without.protocols[p]?.histograms);
    }
    expect(withControls.comparisons).toEqual(without.comparisons);
    expect(withControls.runs.map((r) => r.index)).toEqual(without.runs.map((r) => r.index));
    expect(withControls.flags).toEqual(without.flags);
    // A failed control run still makes the result not ok.
    expect(withControls.ok).toBe(false);
    expect(withControls.attribution?.[0]?.pairs).toBe(4);
  });

  it('leaves them out of the stopping rule when marked', () => {
    const res = result([...workload, ...controls]);
    const metrics = res.runs.map((r) => ({
      ...analyzeRun(runInput(r, res.scenario)).metrics,
      control: r.control === true,
    }));
    const unmarked = metrics.filter((m) => !m.control);
    expect(stoppingContrasts(metrics, ['h3', 'h2'], 0, 0.95)).toEqual(
      stoppingContrasts(unmarked, ['h3', 'h2'], 0, 0.95),
    );
    expect(stoppingContrasts(metrics, ['h3', 'h2'], 0, 0.95)[0]?.pairs).toBe(5);
  });
});

describe('describeFactors near no difference', () => {
  const factor = (value: number, ci95: [number, number] | null = null) => ({ value, ci95 });
  it('gives no shares when the total is within 2% of 1 or its interval contains 1', () => {
    for (const total of [factor(1.005, [0.99, 1.02]), factor(1.01), factor(1.1, [0.95, 1.3])]) {
      const d = describeFactors('h2/h1', {
        total,
        setup: factor(1),
        transport: factor(1.02),
        multiplexing: factor(total.value / 1.02),
      });
      expect(d.dominant).toBeNull();
      expect(Object.values(d.shares).every((s) => s === null)).toBe(true);
      expect(d.sentence).toContain('no difference to attribute');
    }
  });

  it('still attributes a clear difference', () => {
    const d = describeFactors('h3/h2', {
      total: factor(0.3, [0.28, 0.33]),
      setup: factor(0.99),
      transport: factor(0.31),
      multiplexing: factor(0.3 / (0.99 * 0.31)),
    });
    expect(d.dominant).toBe('transport');
    expect(d.shares.transport).toBeGreaterThan(0.9);
  });
});
