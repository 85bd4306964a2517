/**
 * HDR histograms of latencies: the only place their settings live. Values are
 * recorded in integer microseconds; results keep the histogram encoded in the standard HdrHistogram
 * compressed base64 form (readable by any HdrHistogram implementation) next to the percentiles read
 * from it, while the raw samples stay in the per-request records of result.json.
 */
import * as hdr from 'hdr-histogram-js';
import type { LatencyHistogram } from '../model/metrics.js';

/** Histogram settings. Changing them changes the encoded histograms: bump the result schema. */
export const HISTOGRAM_SETTINGS = {
  /** Recorded unit: microseconds (1 ms = 1000 units). */
  unitsPerMs: 1000,
  /** Smallest value told apart from 0: 1 µs. */
  lowestDiscernibleValue: 1,
  /** Initial highest trackable value: 1 hour in µs (the histogram grows past it if needed). */
  highestTrackableValue: 3_600_000_000,
  /** Relative precision: values are kept to 3 significant digits (≤ 0.1% error). */
  numberOfSignificantValueDigits: 3,
  bitBucketSize: 32,
} as const;

/**
 * Quantile grid for CDF figures: dense in the body, then ever finer towards the tail
 * (0..90 by 1, then 90 + 9·(1 - 10^-k) steps up to 99.999, then 100).
 */
export const CDF_QUANTILES: readonly number[] = (() => {
  const q: number[] = [];
  for (let p = 0; p < 90; p += 1) q.push(p);
  for (let k = 0; k <= 40; k++) q.push(100 - 10 * 10 ** (-k / 10));
  q.push(100);
  return q.filter((p, i, a) => p >= 0 && (i === 0 || p > (a[i - 1] ?? -1)));
})();

function newHistogram(): hdr.Histogram {
  return hdr.build({
    lowestDiscernibleValue: HISTOGRAM_SETTINGS.lowestDiscernibleValue,
    highestTrackableValue: HISTOGRAM_SETTINGS.highestTrackableValue,
    numberOfSignificantValueDigits: HISTOGRAM_SETTINGS.numberOfSignificantValueDigits,
    bitBucketSize: HISTOGRAM_SETTINGS.bitBucketSize,
    autoResize: true,
    useWebAssembly: false,
  });
}

const toUnits = (ms: number): number => Math.max(0, Math.round(ms * HISTOGRAM_SETTINGS.unitsPerMs));
const toMs = (units: number): number => units / HISTOGRAM_SETTINGS.unitsPerMs;

/** Record latencies (ms; negative and non-finite values are skipped) into a histogram. */
export function latencyHistogram(valuesMs: Iterable<number>): LatencyHistogram {
  const h = newHistogram();
  for (const v of valuesMs) if (Number.isFinite(v) && v >= 0) h.recordValue(toUnits(v));
  const n = h.totalCount;
  const at = (p: number): number | null => (n === 0 ? null : toMs(h.getValueAtPercentile(p)));
  const out: LatencyHistogram = {
    n,
    p50: at(50),
    p90: at(90),
    p99: at(99),
    p999: at(99.9),
    max: n === 0 ? null : toMs(h.maxValue),
    encoded: hdr.encodeIntoCompressedBase64(h),
  };
  h.destroy();
  return out;
}

/** One point of a cumulative distribution: `valueMs` is the `percentile`-th percentile. */
export interface CdfPoint {
  percentile: number;
  valueMs: number;
}

/** The CDF of an encoded histogram on the CDF_QUANTILES grid (empty for an empty histogram). */
export function histogramCdf(encoded: string): CdfPoint[] {
  const h = hdr.decodeFromCompressedBase64(encoded, HISTOGRAM_SETTINGS.bitBucketSize);
  const out: CdfPoint[] = [];
  if (h.totalCount > 0) {
    for (const p of CDF_QUANTILES) {
      const v = p === 0 ? h.minNonZeroValue : p === 100 ? h.maxValue : h.getValueAtPercentile(p);
      out.push({ percentile: p, valueMs: toMs(v) });
    }
  }
  h.destroy();
  return out;
}

/** Decode an encoded histogram and read one percentile (ms); null when empty. */
export function histogramPercentile(encoded: string, p: number): number | null {
  const h = hdr.decodeFromCompressedBase64(encoded, HISTOGRAM_SETTINGS.bitBucketSize);
  const v = h.totalCount === 0 ? null : toMs(h.getValueAtPercentile(p));
  h.destroy();
  return v;
}
