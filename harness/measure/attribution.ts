/**
 * Attribution of a contrast of workload completion to connection setup × single-stream transport ×
 * multiplexing (docs/metrics.md § "Attribution"), from the control runs of `attribution: true`: per
 * protocol and repetition, one stream on one connection carrying the workload's total bytes over the
 * same link and seed.
 *
 * Per repetition r with all four runs ok (a and b, workload and control):
 *   total        = T_a / T_b
 *   setup        = (T_b − S_b + S_a) / T_b      (b's completion with a's setup in place of its own)
 *   transport    = (C_a − Sc_a) / (C_b − Sc_b)  (the controls' completion after their setup)
 *   multiplexing = total / (setup × transport)  (the rest)
 * T = workload completion, S = connection setup on the critical path, C = control completion, Sc =
 * the control's setup. Each factor is estimated by its geometric mean over repetitions, exp(mean
 * log), so the estimates multiply back to the estimated total exactly. The interval resamples
 * repetitions (each repetition's factors together) and takes the expanded percentile interval of the
 * mean log (Hesterberg 2015, "What teachers should know about the bootstrap", The American
 * Statistician 69(4)): the plain percentile interval of a mean is too narrow with few repetitions
 * (it covers about 90% at n = 10); widening the percentile levels so that the normal quantile
 * becomes sqrt(n / (n − 1)) × the Student t quantile corrects that (test/unit/measure-attribution.test.ts).
 */
import { prng } from '../../core/prng.js';
import { seedOf } from '../../core/bootstrap.js';
import { studentTQuantile } from '../../core/paired.js';
import { BOOTSTRAP_DEFAULTS } from '../../core/bootstrap.js';
import type { RunRecord } from '../model/result.js';
import {
  ATTRIBUTION_FACTORS,
  type AttributionEntry,
  type AttributionFactor,
  type AttributionFactorName,
} from '../model/telemetry.js';
import type { Scenario } from '../scenario/schema.js';
import { PROTOCOL_PAIRS } from './summary.js';

/** The quantities of one run the decomposition reads. */
export interface RunTimes {
  /** Completion (client.durationMs), ms. */
  completionMs: number;
  /** Connection setup on the critical path, ms. */
  setupMs: number;
}

/** One repetition's factors (all four runs ok and every quantity positive). */
export type RepetitionFactors = Record<'total' | AttributionFactorName, number>;

/**
 * Completion and critical-path setup of a run; null when it has no client report or no finished
 * handshake. Setup: the first connection's tHandshakeDone − tStart; for the cold workload, where
 * every request opens its own connection, the sum of the setups divided by the concurrency (the
 * setups run `concurrency` at a time: an estimate, docs/metrics.md).
 */
export function runTimes(run: RunRecord, coldConcurrency: number | null): RunTimes | null {
  const c = run.client;
  if (!c || !(c.durationMs > 0)) return null;
  const setups = c.connections.map((x) => (x.tHandshakeDone === null ? NaN : x.tHandshakeDone - x.tStart));
  let setupMs: number;
  if (coldConcurrency !== null && !run.control) {
    const done = setups.filter((v) => Number.isFinite(v) && v >= 0);
    if (done.length === 0) return null;
    setupMs = done.reduce((a, b) => a + b, 0) / coldConcurrency;
  } else {
    setupMs = setups[0] ?? NaN;
  }
  if (!Number.isFinite(setupMs) || setupMs < 0) return null;
  return { completionMs: c.durationMs, setupMs };
}

/**
 * The factors of one repetition from the workload (w) and control (c) times of a and b; null when one
 * is undefined (a non-positive completion, or a control that spent all its time in setup).
 */
export function repetitionFactors(
  wa: RunTimes,
  wb: RunTimes,
  ca: RunTimes,
  cb: RunTimes,
): RepetitionFactors | null {
  const total = wa.completionMs / wb.completionMs;
  const setup = (wb.completionMs - wb.setupMs + wa.setupMs) / wb.completionMs;
  const transport = (ca.completionMs - ca.setupMs) / (cb.completionMs - cb.setupMs);
  const multiplexing = total / (setup * transport);
  const all = [total, setup, transport, multiplexing];
  return all.every((v) => Number.isFinite(v) && v > 0) ? { total, setup, transport, multiplexing } : null;
}

/** Φ(x), the standard normal CDF (Abramowitz and Stegun 7.1.26, |error| < 1.5e-7). */
function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t *
      Math.exp(-z * z);
  return x >= 0 ? 0.5 * (1 + y) : 0.5 * (1 - y);
}

/**
 * Lower tail probability of the expanded percentile interval for n values at `confidence`: α'/2 =
 * Φ(−sqrt(n / (n − 1)) · t_{1−α/2, n−1}) (Hesterberg 2015).
 */
export function expandedTail(n: number, confidence: number): number {
  const t = studentTQuantile(1 - (1 - confidence) / 2, n - 1);
  return normalCdf(-Math.sqrt(n / (n - 1)) * t);
}

const KEYS = ['total', ...ATTRIBUTION_FACTORS] as const;

/**
 * Geometric means of each factor over the repetitions with their paired bootstrap intervals (null
 * with fewer than 2 repetitions).
 */
export function estimateFactors(
  reps: readonly RepetitionFactors[],
  seed: number,
  opts: { resamples?: number; confidence?: number } = {},
): Record<(typeof KEYS)[number], AttributionFactor> {
  const n = reps.length;
  const logs = KEYS.map((k) => reps.map((r) => Math.log(r[k])));
  const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const out = {} as Record<(typeof KEYS)[number], AttributionFactor>;
  const B = opts.resamples ?? BOOTSTRAP_DEFAULTS.resamples;
  const confidence = opts.confidence ?? BOOTSTRAP_DEFAULTS.confidence;
  const boot = KEYS.map(() => new Float64Array(B));
  if (n >= 2) {
    const rand = prng(seed);
    for (let b = 0; b < B; b++) {
      const sums = KEYS.map(() => 0);
      for (let i = 0; i < n; i++) {
        const j = Math.floor(rand() * n);
        for (let k = 0; k < KEYS.length; k++) sums[k] = (sums[k] ?? 0) + (logs[k]?.[j] ?? NaN);
      }
      for (let k = 0; k < KEYS.length; k++) (boot[k] as Float64Array)[b] = (sums[k] ?? NaN) / n;
    }
  }
  const tail = n >= 2 ? expandedTail(n, confidence) : NaN;
  KEYS.forEach((key, k) => {
    if (n === 0) {
      out[key] = { value: null, ci95: null };
      return;
    }
    const value = Math.exp(mean(logs[k] ?? []));
    let ci95: [number, number] | null = null;
    if (n >= 2) {
      const s = (boot[k] as Float64Array).sort();
      const last = s.length - 1;
      const lo = Math.exp(s[Math.max(0, Math.floor(tail * last))] ?? NaN);
      const hi = Math.exp(s[Math.min(last, Math.ceil((1 - tail) * last))] ?? NaN);
      if (Number.isFinite(lo) && Number.isFinite(hi)) ci95 = [lo, hi];
    }
    out[key] = { value, ci95 };
  });
  return out;
}

const FACTOR_WORDS: Record<AttributionFactorName, string> = {
  setup: 'connection setup',
  transport: 'single-stream transport',
  multiplexing: 'multiplexing',
};

const pct = (x: number): string => `${Math.round(x * 100)}%`;

/**
 * Smallest contrast whose factors get shares: |total − 1| of 2%. Below it, or when the total's
 * interval contains 1, log(total) is near 0 and dividing by it turns noise into shares of ±1000%.
 */
export const MIN_ATTRIBUTABLE_CHANGE = 0.02;

/** Shares, dominant factor and sentence of an entry from its factors. */
export function describeFactors(
  pair: string,
  f: Record<(typeof KEYS)[number], AttributionFactor>,
): Pick<AttributionEntry, 'shares' | 'dominant' | 'sentence'> {
  const total = f.total.value;
  const logTotal = total === null ? NaN : Math.log(total);
  const ci = f.total.ci95;
  const defined =
    Number.isFinite(logTotal) &&
    Math.abs(logTotal) >= Math.log1p(MIN_ATTRIBUTABLE_CHANGE) &&
    (ci === null || ci[0] > 1 || ci[1] < 1);
  const shares = {} as Record<AttributionFactorName, number | null>;
  for (const k of ATTRIBUTION_FACTORS) {
    const v = f[k].value;
    shares[k] = defined && v !== null ? Math.log(v) / logTotal : null;
  }
  if (total === null)
    return { shares, dominant: null, sentence: `${pair}: no complete repetition to attribute.` };
  if (!defined) {
    const interval = ci === null ? '' : ` [${ci[0].toFixed(2)}, ${ci[1].toFixed(2)}]`;
    return {
      shares,
      dominant: null,
      sentence: `${pair} = ${total.toFixed(2)}${interval}: no difference to attribute (within ±${MIN_ATTRIBUTABLE_CHANGE * 100}% of 1, or its interval contains 1).`,
    };
  }
  const order = [...ATTRIBUTION_FACTORS].sort((x, y) => (shares[y] ?? -Infinity) - (shares[x] ?? -Infinity));
  const dominant = order[0] ?? null;
  const rest = order.slice(1).map((k) => `${FACTOR_WORDS[k]} ${pct(shares[k] ?? NaN)}`);
  const head =
    dominant === null
      ? ''
      : `${FACTOR_WORDS[dominant]} explains ${pct(shares[dominant] ?? NaN)} of it (${(f[dominant].value ?? NaN).toFixed(2)})`;
  const against = ATTRIBUTION_FACTORS.some((k) => (shares[k] ?? 0) < 0)
    ? ' (a negative share pushes the other way)'
    : '';
  return {
    shares,
    dominant,
    sentence: `${pair} = ${total.toFixed(2)}: ${head}, ${rest.join(', ')}${against}.`,
  };
}

/** Runs of one protocol and kind by repetition; a repetition with two such runs gives none. */
function byRepetition(runs: readonly RunRecord[]): Map<number, RunRecord | null> {
  const m = new Map<number, RunRecord | null>();
  for (const r of runs) m.set(r.repetition, m.has(r.repetition) ? null : r);
  return m;
}

/** The per-repetition factors of pair a/b over the given runs (one condition: one sweep point or none). */
export function pairFactors(
  runs: readonly RunRecord[],
  a: string,
  b: string,
  coldConcurrency: number | null,
): RepetitionFactors[] {
  const pick = (p: string, control: boolean) =>
    byRepetition(runs.filter((r) => r.protocol === p && (r.control === true) === control));
  const [wa, wb, ca, cb] = [pick(a, false), pick(b, false), pick(a, true), pick(b, true)];
  const out: RepetitionFactors[] = [];
  for (const rep of [...wa.keys()].sort((x, y) => x - y)) {
    const quad = [wa.get(rep), wb.get(rep), ca.get(rep), cb.get(rep)];
    if (!quad.every((r) => r?.ok === true)) continue;
    const times = quad.map((r) => (r ? runTimes(r, coldConcurrency) : null));
    const [xa, xb, ya, yb] = times;
    if (!xa || !xb || !ya || !yb) continue;
    const f = repetitionFactors(xa, xb, ya, yb);
    if (f) out.push(f);
  }
  return out;
}

/**
 * The attribution entries of a result: one per pair present (and per sweep point), from the
 * repetitions with a complete quadruple; null when the result has no control run.
 */
export function attribution(
  runs: readonly RunRecord[],
  protocols: readonly string[],
  scenario?: Scenario,
): AttributionEntry[] | null {
  if (!runs.some((r) => r.control === true)) return null;
  const w = scenario?.workload;
  const cold = w?.type === 'cold' ? w.concurrency : null;
  const seedBase = scenario?.seed ?? 0;
  const points = scenario?.sweep ? scenario.sweep.values.map((_, i) => i) : [undefined];
  const out: AttributionEntry[] = [];
  for (const point of points) {
    const here = point === undefined ? runs : runs.filter((r) => r.sweepIndex === point);
    for (const [a, b] of PROTOCOL_PAIRS) {
      if (!protocols.includes(a) || !protocols.includes(b)) continue;
      const reps = pairFactors(here, a, b, cold);
      const f = estimateFactors(reps, seedOf(seedBase, 'attribution', a, b, point ?? 'all'));
      const pair = `${a}/${b}`;
      out.push({
        pair,
        a,
        b,
        metric: 'workloadMs',
        ...(point === undefined ? {} : { sweepIndex: point }),
        pairs: reps.length,
        total: f.total,
        setup: f.setup,
        transport: f.transport,
        multiplexing: f.multiplexing,
        ...describeFactors(pair, f),
      });
    }
  }
  return out;
}
