/** Descriptive statistics over plain samples. */

/** Percentile by linear interpolation between closest ranks (p in 0..100); NaN for no samples. */
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

export function median(samples: readonly number[]): number {
  return percentile(Float64Array.from(samples).sort(), 50);
}
