/**
 * Descriptive statistics over plain samples. The one percentile definition of the project (linear
 * interpolation between closest ranks, "type 7" of Hyndman & Fan, R's and NumPy's default): every
 * percentile and median in the analysis, the workloads and the link emulator's checks comes from here.
 */

/** Percentile of ascending samples by linear interpolation between closest ranks (p in 0..100); NaN for no samples. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const a = sorted[lo] ?? NaN;
  const b = sorted[hi] ?? NaN;
  return a + (b - a) * (rank - lo);
}

/** Percentiles of a set of samples (exact, from the raw values), all in the samples' unit. */
export interface Distribution {
  /** Number of samples. */
  n: number;
  p50: number;
  p90: number;
  p99: number;
  /** 99.9th percentile (added in result schema 2). */
  p999: number;
  max: number;
  mean: number;
}

/** Percentile of samples in any order (p in 0..100); NaN for no samples. */
export function percentileOf(samples: readonly number[], p: number): number {
  return percentile(Float64Array.from(samples).sort(), p);
}

export function distribution(samples: readonly number[]): Distribution {
  const s = Float64Array.from(samples).sort();
  const sorted = s;
  let sum = 0;
  for (const v of s) sum += v;
  return {
    n: s.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    p999: percentile(sorted, 99.9),
    max: s.length ? (s[s.length - 1] ?? NaN) : NaN,
    mean: s.length ? sum / s.length : NaN,
  };
}

/** Median of samples in any order (the mean of the two middle values for an even count); NaN for none. */
export function median(samples: readonly number[]): number {
  return percentileOf(samples, 50);
}
