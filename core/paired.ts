/**
 * Paired contrasts: side a against side b when the runs come in pairs that share their conditions
 * (one repetition of each protocol gets the same emulator and workload seeds). The unit of analysis
 * is the pair: its log-ratio log(a_i / b_i) for a ratio, its difference a_i - b_i for a difference.
 * What varies between repetitions (the loss draw, the emulator's timing) cancels within a pair, so
 * the interval is much narrower than one that resamples each side on its own (bootstrap.ts).
 *
 * Method: the 20%-trimmed mean of the per-pair values with Yuen's interval (the Tukey–McLaughlin
 * standard error from the winsorized variance, Student t with h - 1 degrees of freedom, h the number
 * of pairs kept after trimming g = floor(0.2 n) from each end). Why (docs/metrics.md § 4, paired contrasts):
 * - robust to a wild pair: about one repetition in five is chaotic (a lost handshake packet costs
 *   seconds on one side). Trimming drops it from the estimate and winsorizing caps its weight in the
 *   standard error, so one such pair among 5 neither moves the estimate nor blows up the interval;
 * - narrow with 5-10 pairs, where distribution-free intervals cannot be: the exact sign-test or
 *   Wilcoxon signed-rank interval for 5 pairs is [min, max] of the pairs at 93.75% confidence (no
 *   distribution-free interval reaches 95% with 5 pairs), so the one chaotic pair sets a bound, and
 *   its A/A false-alarm rate is 6.25%;
 * - calibrated: coverage, A/A false alarms and width are checked by simulation on a model of
 *   benchmark repetitions (test/unit/paired-coverage.test.ts); the confidence is the nominal 95% of
 *   an approximate method, and the simulated coverage is what docs/metrics.md reports.
 *
 * Deterministic (no resampling, hence no seed): the same pairs give the same interval everywhere.
 */

/** Fraction trimmed from each end of the sorted per-pair values. */
export const PAIRED_TRIM = 0.2;

/** A paired contrast: estimate, interval, and the number of pairs it used. */
export interface PairedContrast {
  /** Back-transformed trimmed mean: exp(…) of the log-ratios for a ratio, the differences' for a difference. */
  value: number | null;
  /** [low, high] interval (nominal `confidence`); null with fewer than 2 pairs. */
  ci95: [number, number] | null;
  /** Pairs used (both values finite, and positive for a ratio). */
  pairs: number;
}

export interface PairedOptions {
  /** Nominal coverage in (0, 1) (default 0.95). */
  confidence?: number;
  /** Fraction trimmed from each end (default PAIRED_TRIM). */
  trim?: number;
}

/** Trimmed mean of `values` with Yuen's interval; null with fewer than 2 values. */
export function trimmedMeanCI(
  values: readonly number[],
  opts: PairedOptions = {},
): { estimate: number; ci: [number, number] | null } | null {
  const x = Float64Array.from(values).sort();
  const n = x.length;
  if (n === 0) return null;
  const g = Math.floor((opts.trim ?? PAIRED_TRIM) * n);
  const h = n - 2 * g;
  let sum = 0;
  for (let i = g; i < n - g; i++) sum += x[i] ?? NaN;
  const estimate = sum / h;
  if (n < 2 || h < 2) return { estimate, ci: null };
  const lo = x[g] ?? NaN;
  const hi = x[n - g - 1] ?? NaN;
  let wsum = 0;
  for (let i = 0; i < n; i++) wsum += Math.min(hi, Math.max(lo, x[i] ?? NaN));
  const wmean = wsum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (Math.min(hi, Math.max(lo, x[i] ?? NaN)) - wmean) ** 2;
  // Ties (counts: stalls, failed requests) can make every winsorized value equal although the
  // values differ: a zero standard error would call any such difference certain. Then the interval
  // is the range of the values, the sign test's (93.75% with 5 pairs).
  if (ss === 0) return { estimate, ci: [x[0] ?? NaN, x[n - 1] ?? NaN] };
  // Yuen: d = (n - 1) s_w² / (h (h - 1)) = Σ (w - w̄)² / (h (h - 1)).
  const se = Math.sqrt(ss / (h * (h - 1)));
  const t = studentTQuantile(1 - (1 - (opts.confidence ?? 0.95)) / 2, h - 1);
  const ci: [number, number] = [estimate - t * se, estimate + t * se];
  return Number.isFinite(ci[0]) && Number.isFinite(ci[1]) ? { estimate, ci } : { estimate, ci: null };
}

type Pair = readonly [number | null, number | null];

const finitePairs = (pairs: readonly Pair[]): [number, number][] =>
  pairs.filter(
    (p): p is [number, number] =>
      p[0] !== null && p[1] !== null && Number.isFinite(p[0]) && Number.isFinite(p[1]),
  );

/** True when every complete pair has two positive values, so that a paired ratio is defined. */
export function ratioDefined(pairs: readonly Pair[]): boolean {
  const f = finitePairs(pairs);
  return f.length > 0 && f.every(([a, b]) => a > 0 && b > 0);
}

/**
 * Paired ratio a/b: exp of the trimmed mean of log(a_i / b_i), interval exp'd likewise. Null when a
 * complete pair has a non-positive value (the ratio is undefined: use pairedDifferenceCI).
 */
export function pairedRatioCI(pairs: readonly Pair[], opts: PairedOptions = {}): PairedContrast | null {
  const f = finitePairs(pairs);
  if (!ratioDefined(f)) return f.length === 0 ? { value: null, ci95: null, pairs: 0 } : null;
  const r = trimmedMeanCI(
    f.map(([a, b]) => Math.log(a / b)),
    opts,
  );
  if (r === null) return { value: null, ci95: null, pairs: 0 };
  return {
    value: Math.exp(r.estimate),
    ci95: r.ci ? [Math.exp(r.ci[0]), Math.exp(r.ci[1])] : null,
    pairs: f.length,
  };
}

/** Paired difference a - b: trimmed mean of a_i - b_i with Yuen's interval. */
export function pairedDifferenceCI(pairs: readonly Pair[], opts: PairedOptions = {}): PairedContrast {
  const f = finitePairs(pairs);
  const r = trimmedMeanCI(
    f.map(([a, b]) => a - b),
    opts,
  );
  if (r === null) return { value: null, ci95: null, pairs: 0 };
  return { value: r.estimate, ci95: r.ci, pairs: f.length };
}

// --- Student t quantile -------------------------------------------------------------------------

/** log Γ(x) for x > 0 (Lanczos, g = 7). */
function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const xx = x - 1;
  let a = c[0] ?? 0;
  const t = xx + 7.5;
  for (let i = 1; i < 9; i++) a += (c[i] ?? 0) / (xx + i);
  return 0.5 * Math.log(2 * Math.PI) + (xx + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the regularized incomplete beta (modified Lentz). */
function betaCf(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

/** Regularized incomplete beta I_x(a, b). */
function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lbt = logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x);
  const bt = Math.exp(lbt);
  return x < (a + 1) / (a + b + 2) ? (bt * betaCf(a, b, x)) / a : 1 - (bt * betaCf(b, a, 1 - x)) / b;
}

/** P(T ≤ t) for Student's t with `df` degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** The p-quantile (0 < p < 1) of Student's t with `df` > 0 degrees of freedom (bisection on the CDF). */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1) || !(df > 0)) return NaN;
  if (p === 0.5) return 0;
  let lo = -1;
  let hi = 1;
  while (studentTCdf(lo, df) > p) lo *= 2;
  while (studentTCdf(hi, df) < p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * Math.max(1, Math.abs(hi)); i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}
