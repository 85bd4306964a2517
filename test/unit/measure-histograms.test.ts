import { describe, expect, it } from 'vitest';
import {
  HISTOGRAM_SETTINGS,
  histogramCdf,
  histogramPercentile,
  latencyHistogram,
} from '../../harness/measure/histograms.js';

describe('latencyHistogram', () => {
  const values = Array.from({ length: 1000 }, (_, i) => i + 1); // 1..1000 ms
  const h = latencyHistogram(values);

  it('reads percentiles within the configured precision (3 significant digits)', () => {
    expect(HISTOGRAM_SETTINGS.numberOfSignificantValueDigits).toBe(3);
    expect(h.n).toBe(1000);
    expect(h.p50).toBeCloseTo(500, -0.5);
    expect(Math.abs((h.p90 ?? 0) - 900) / 900).toBeLessThan(0.002);
    expect(Math.abs((h.p99 ?? 0) - 990) / 990).toBeLessThan(0.002);
    expect(Math.abs((h.p999 ?? 0) - 999) / 999).toBeLessThan(0.002);
    expect(Math.abs((h.max ?? 0) - 1000) / 1000).toBeLessThan(0.002);
  });

  it('round-trips through its compressed base64 encoding', () => {
    expect(h.encoded).toMatch(/^[A-Za-z0-9+/=]+$/);
    expect(histogramPercentile(h.encoded, 99)).toBe(h.p99);
  });

  it('gives a monotonic CDF ending at the maximum', () => {
    const cdf = histogramCdf(h.encoded);
    expect(cdf.length).toBeGreaterThan(100);
    for (let i = 1; i < cdf.length; i++) {
      expect(cdf[i]?.percentile ?? 0).toBeGreaterThan(cdf[i - 1]?.percentile ?? 0);
      expect(cdf[i]?.valueMs ?? 0).toBeGreaterThanOrEqual(cdf[i - 1]?.valueMs ?? 0);
    }
    const last = cdf[cdf.length - 1];
    expect(last?.percentile).toBe(100);
    expect(Math.abs((last?.valueMs ?? 0) - 1000) / 1000).toBeLessThan(0.002);
  });

  it('is empty but valid without values, and skips negative or non-finite ones', () => {
    const e = latencyHistogram([-1, NaN]);
    expect(e).toMatchObject({ n: 0, p50: null, max: null });
    expect(histogramCdf(e.encoded)).toEqual([]);
  });
});
