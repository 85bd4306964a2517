/**
 * Seeded, deterministic bootstrap confidence intervals (percentile method) for the median of
 * per-run values, and for the ratio and the difference of two medians. The unit of resampling is
 * the run (repetition): requests inside one run share a connection and a network history, so they
 * are not independent samples.
 *
 * Same input and seed → same interval, on every machine (the PRNG is the project's mulberry32,
 * `prng` of runner/plan.ts, over 32-bit integers; no Math.random). Medians are stats.ts's.
 */
import { prng } from './prng.js';
import { median, percentile } from './stats.js';

/** Resamples drawn per interval, and the interval's coverage. */
export const BOOTSTRAP_DEFAULTS = { resamples: 2000, confidence: 0.95 } as const;

export interface BootstrapOptions {
  /** PRNG seed; derive it with `seedOf` from what the interval is about. */
  seed: number;
  /** Number of resamples (default BOOTSTRAP_DEFAULTS.resamples). */
  resamples?: number;
  /** Coverage in (0, 1) (default 0.95). */
  confidence?: number;
}

/** A median over runs with its bootstrap confidence interval, in the unit of the values. */
export interface Estimate {
  /** Median of the per-run values; null when there is no value. */
  median: number | null;
  /** [low, high] 95% bootstrap interval of the median; null with fewer than 2 values. */
  ci95: [number, number] | null;
  /** Number of runs that gave a value. */
  n: number;
}

/** A ratio (a/b) or difference (a-b) of two medians with its bootstrap interval. */
export interface Contrast {
  /** Point estimate from the observed medians; null when undefined (empty side, b = 0 for a ratio). */
  value: number | null;
  /** [low, high] bootstrap interval; null with fewer than 2 runs on either side or a non-finite bound. */
  ci95: [number, number] | null;
  /** Runs on side a and on side b. */
  nA: number;
  nB: number;
}

/** 32-bit FNV-1a hash of the parts joined by "/": a stable seed for one named interval. */
export function seedOf(...parts: readonly (string | number)[]): number {
  let h = 0x811c9dc5;
  const s = parts.join('/');
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Medians of `resamples` bootstrap resamples of `values` (with replacement). */
function resampledMedians(values: readonly number[], rand: () => number, resamples: number): Float64Array {
  const n = values.length;
  const buf = new Float64Array(n);
  const out = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    for (let i = 0; i < n; i++) buf[i] = values[Math.floor(rand() * n)] ?? NaN;
    buf.sort();
    out[b] = percentile(buf, 50);
  }
  return out;
}

/** Percentile-method bounds of bootstrap statistics (sorted in place). */
function bounds(stats: Float64Array, confidence: number): [number, number] | null {
  stats.sort();
  const alpha = (1 - confidence) / 2;
  const last = stats.length - 1;
  const lo = stats[Math.floor(alpha * last)] ?? NaN;
  const hi = stats[Math.ceil((1 - alpha) * last)] ?? NaN;
  return Number.isFinite(lo) && Number.isFinite(hi) ? [lo, hi] : null;
}

function finite(values: readonly (number | null)[]): number[] {
  return values.filter((v): v is number => v !== null && Number.isFinite(v));
}

/** Median of the per-run values with a bootstrap interval. Non-finite and null values are ignored. */
export function medianCI(values: readonly (number | null)[], opts: BootstrapOptions): Estimate {
  const v = finite(values);
  if (v.length === 0) return { median: null, ci95: null, n: 0 };
  const m = median(v);
  if (v.length < 2) return { median: m, ci95: null, n: v.length };
  const stats = resampledMedians(v, prng(opts.seed), opts.resamples ?? BOOTSTRAP_DEFAULTS.resamples);
  return { median: m, ci95: bounds(stats, opts.confidence ?? BOOTSTRAP_DEFAULTS.confidence), n: v.length };
}

function contrast(
  a: readonly (number | null)[],
  b: readonly (number | null)[],
  opts: BootstrapOptions,
  op: (ma: number, mb: number) => number,
): Contrast {
  const va = finite(a);
  const vb = finite(b);
  const nA = va.length;
  const nB = vb.length;
  if (nA === 0 || nB === 0) return { value: null, ci95: null, nA, nB };
  const point = op(median(va), median(vb));
  const value = Number.isFinite(point) ? point : null;
  if (nA < 2 || nB < 2 || value === null) return { value, ci95: null, nA, nB };
  const resamples = opts.resamples ?? BOOTSTRAP_DEFAULTS.resamples;
  const rand = prng(opts.seed);
  const ma = resampledMedians(va, rand, resamples);
  const mb = resampledMedians(vb, rand, resamples);
  const stats = new Float64Array(resamples);
  for (let i = 0; i < resamples; i++) stats[i] = op(ma[i] ?? NaN, mb[i] ?? NaN);
  return { value, ci95: bounds(stats, opts.confidence ?? BOOTSTRAP_DEFAULTS.confidence), nA, nB };
}

/**
 * median(a) / median(b) with a bootstrap interval (a and b resampled independently). Undefined
 * (value null) when median(b) is 0; a resample whose b-median is 0 yields ±Infinity, which makes
 * the interval null if it reaches a bound.
 */
export function ratioCI(
  a: readonly (number | null)[],
  b: readonly (number | null)[],
  opts: BootstrapOptions,
): Contrast {
  return contrast(a, b, opts, (x, y) => (y === 0 ? (x === 0 ? NaN : Infinity) : x / y));
}

/** median(a) - median(b) with a bootstrap interval (a and b resampled independently). */
export function differenceCI(
  a: readonly (number | null)[],
  b: readonly (number | null)[],
  opts: BootstrapOptions,
): Contrast {
  return contrast(a, b, opts, (x, y) => x - y);
}
