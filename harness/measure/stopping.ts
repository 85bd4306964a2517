/**
 * Adaptive repetitions (docs/metrics.md § "Adaptive repetitions"): the runner runs rounds (every
 * protocol once, every sweep point) until every stopping contrast is narrow enough, or `max` rounds,
 * or the time budget; never fewer than `min`. Everything here is pure: the runner feeds it the
 * per-run metrics of the rounds so far and gets a decision back.
 *
 * Optional stopping without losing coverage — Bonferroni over the looks: the runner looks after
 * every round from `min` to `max`, L = max - min + 1 looks, and every interval it looks at is the
 * paired interval (core/paired.ts) at confidence 1 - α/L (α = 0.05). The interval reported when the
 * run stops is the one of the last look, at the same confidence. Whatever rule picks the round T at
 * which the run stops, the final interval misses only if the interval of some look misses:
 * P(miss at T) ≤ P(∪ₖ miss at look k) ≤ Σₖ α/L = α. The price is width: each look's interval is
 * wider than a plain 95% one, so an adaptive run needs a few more rounds for the same target than a
 * fixed one would; the simulation (test/unit/adaptive-coverage.test.ts) checks coverage, A/A false
 * alarms and that quiet conditions still stop early.
 *
 * Which contrasts decide: the headline metrics (HEADLINE_METRICS) of h3 against every other protocol
 * present (h2/h1 when h3 is not run), per sweep point (every point must be narrow: the rounds run
 * all points), for the metrics compared by ratio whose paired ratio is defined (every complete pair
 * positive). A metric that is zero in some run (stalls, failed requests on a clean path) has no
 * ratio and does not decide; a deciding contrast with fewer than MIN_RUNS_FOR_VERDICT complete pairs
 * is not narrow.
 *
 * Narrow: for a ratio with estimate v and interval [lo, hi], the relative half-width
 * max(hi / v, v / lo) - 1 ≤ target, i.e. both bounds within [v / (1 + t), v · (1 + t)]. That
 * relative half-width at the end is recorded as the contrast's minimum detectable effect: a true
 * ratio further than that from 1 would (at that confidence) have been told apart from no difference.
 */
import { pairedDifferenceCI, pairedRatioCI, ratioDefined } from '../../core/paired.js';
import type { RunMetrics } from '../model/metrics.js';
import { STOP_REASONS, type StopReason, type StoppingContrastRecord } from '../model/result.js';
import type { AdaptiveRepetitions } from '../scenario/schema.js';
import { HEADLINE_METRICS, MIN_RUNS_FOR_VERDICT, completePair, metricDef } from './metrics.js';
import { median } from '../../core/stats.js';
import { PROTOCOL_PAIRS, repetitionPairs, runsAtPoint } from './summary.js';

/** Family-wise error rate spent over all the looks of an adaptive run. */
export const ADAPTIVE_ALPHA = 0.05;

export { STOP_REASONS, type StopReason };

export type { AdaptiveRepetitions };

/** Number of looks of an adaptive run: one after every round from min to max. */
export function lookCount(a: Pick<AdaptiveRepetitions, 'min' | 'max'>): number {
  return Math.max(1, a.max - a.min + 1);
}

/** Confidence of every interval an adaptive run looks at and reports: 1 - α / L. */
export function lookConfidence(a: Pick<AdaptiveRepetitions, 'min' | 'max'>): number {
  return 1 - ADAPTIVE_ALPHA / lookCount(a);
}

/** One contrast as the stopping rule sees it: what the result records (`minDetectableEffect` is the relative half-width). */
export type StoppingContrast = StoppingContrastRecord;

/** Relative half-width of a ratio interval: max(hi / v, v / lo) - 1 (null when undefined). */
export function ratioHalfWidth(value: number | null, ci: readonly [number, number] | null): number | null {
  if (value === null || ci === null || !(value > 0) || !(ci[0] > 0) || !(ci[1] > 0)) return null;
  const w = Math.max(ci[1] / value, value / ci[0]) - 1;
  return Number.isFinite(w) ? w : null;
}

/** The contrast of one metric from the runs of side a and side b, at `confidence`. */
export function stoppingContrast(
  ra: readonly RunMetrics[],
  rb: readonly RunMetrics[],
  names: { a: string; b: string; sweepIndex?: number },
  metric: string,
  confidence: number,
): StoppingContrast {
  const def = metricDef(metric);
  const pairs = repetitionPairs(ra, rb, metric).filter(completePair);
  const enough = pairs.length >= MIN_RUNS_FOR_VERDICT;
  const base = { a: names.a, b: names.b, metric, pairs: pairs.length };
  const where = names.sweepIndex === undefined ? {} : { sweepIndex: names.sweepIndex };
  if (def?.compareBy === 'ratio' && pairs.length > 0 && ratioDefined(pairs)) {
    const r = pairedRatioCI(pairs, { confidence });
    const ci = enough ? (r?.ci95 ?? null) : null;
    const value = r?.value ?? null;
    return {
      ...base,
      ...where,
      kind: 'ratio',
      decides: true,
      value,
      ci,
      minDetectableEffect: ratioHalfWidth(value, ci),
    };
  }
  const d = pairedDifferenceCI(pairs, { confidence });
  const ci = enough ? d.ci95 : null;
  const scale = pairs.length === 0 ? null : median(pairs.map((p) => p[1]));
  const minDetectableEffect =
    ci === null || d.value === null || scale === null || scale === 0
      ? null
      : Math.max(ci[1] - d.value, d.value - ci[0]) / Math.abs(scale);
  return { ...base, ...where, kind: 'difference', decides: false, value: d.value, ci, minDetectableEffect };
}

/**
 * The contrasts an adaptive run watches: headline metrics of h3 against each other protocol present
 * (h2/h1 without h3), per sweep point (`sweepPoints` > 0), at `confidence`. Workload runs only: runs
 * marked `control: true` are left out.
 */
export function stoppingContrasts(
  all: readonly (RunMetrics & { control?: boolean })[],
  protocols: readonly string[],
  sweepPoints: number,
  confidence: number,
  metrics: readonly string[] = HEADLINE_METRICS,
): StoppingContrast[] {
  // An attribution control run (one stream, not the workload) never decides: RunMetrics carry no
  // control mark, so callers leave control runs out or pass them marked (`control: true`).
  const runs = all.filter((r) => r.control !== true);
  const present = PROTOCOL_PAIRS.filter(([a, b]) => protocols.includes(a) && protocols.includes(b));
  const withH3 = present.filter(([a]) => a === 'h3');
  const pairs = withH3.length > 0 ? withH3 : present;
  const points = sweepPoints > 0 ? [...Array(sweepPoints).keys()] : [undefined];
  const out: StoppingContrast[] = [];
  for (const point of points) {
    const here = point === undefined ? runs : runsAtPoint(runs, point);
    for (const [a, b] of pairs) {
      const ra = here.filter((r) => r.protocol === a);
      const rb = here.filter((r) => r.protocol === b);
      for (const m of metrics) {
        out.push(
          stoppingContrast(
            ra,
            rb,
            point === undefined ? { a, b } : { a, b, sweepIndex: point },
            m,
            confidence,
          ),
        );
      }
    }
  }
  return out;
}

/** True when every deciding contrast is narrower than ±target (and there is at least one). */
export function targetReached(contrasts: readonly StoppingContrast[], targetPct: number): boolean {
  const deciding = contrasts.filter((c) => c.decides);
  return (
    deciding.length > 0 &&
    deciding.every((c) => c.minDetectableEffect !== null && c.minDetectableEffect <= targetPct / 100)
  );
}

export interface StopState {
  /** Rounds finished so far. */
  rounds: number;
  /** Wall time since the first round started, ms. */
  elapsedMs: number;
  /** Whether every deciding contrast is narrow after these rounds (targetReached). */
  narrow: boolean;
}

/**
 * After a round: stop (and why), or null to run another. `min` rounds always run; then the target,
 * then `max`, then the budget (no round is started that would end after it at the mean round time
 * so far).
 */
export function stopDecision(a: AdaptiveRepetitions, st: StopState): StopReason | null {
  if (st.rounds < a.min) return null;
  if (st.narrow) return 'target-reached';
  if (st.rounds >= a.max) return 'max-repetitions';
  if (a.budgetMs !== null && st.rounds > 0 && st.elapsedMs + st.elapsedMs / st.rounds > a.budgetMs) {
    return 'budget';
  }
  return null;
}
