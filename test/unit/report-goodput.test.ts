/** One goodput: the catalogue's `goodputMbit` (Mbit/s); other rates have other names; old keys read. */
import { describe, expect, it } from 'vitest';
import { METRICS, metricDef } from '../../harness/measure/metrics.js';
import { METRIC_NAMES } from '../../harness/model/metrics.js';
import { renderCsv } from '../../harness/report/csv.js';
import { parseResult, resultJson } from '../../harness/report/read.js';
import { client, result, runRecord } from '../fixtures/synthetic.js';

describe('goodput', () => {
  it('is one catalogue metric, goodputMbit, in Mbit/s: 8 × body bytes / workload completion', () => {
    expect(METRIC_NAMES.filter((n) => /goodput/i.test(n))).toEqual(['goodputMbit']);
    expect(METRICS.goodputMbit.unit).toBe('Mbit/s');
    // 3 streams × 1000 B delivered by 40 ms: 24 000 bit / 40 ms = 0.6 Mbit/s.
    const r = result([runRecord(0, 0, client('h2', [{ data: [10] }, { data: [20] }, { data: [40] }]))]);
    expect(r.summary.runs[0]?.goodputMbit).toBeCloseTo((3000 * 8) / 40 / 1000, 9);
  });

  it("names bulk's own rates differently, in the same unit", () => {
    for (const key of ['bodyRateMbit', 'transferRateMbit']) {
      const def = metricDef(`workload.${key}`);
      expect(def?.unit).toBe('Mbit/s');
      expect(def?.better).toBe('higher');
    }
  });

  it('reads the old workload keys of earlier result files under their current names', () => {
    const old = client('h3', [{ data: [10, 20] }], { metrics: { goodputMbps: 9.5, transferMbps: 8.25 } });
    const r = parseResult(JSON.parse(resultJson(result([runRecord(0, 0, old)]))), 'old.json');
    expect(r.runs[0]?.client?.metrics).toEqual({ goodputMbps: 9.5, transferMbps: 8.25 });
    expect(r.summary.runs[0]?.workload).toEqual({ bodyRateMbit: 9.5, transferRateMbit: 8.25 });
    expect(Object.keys(r.summary.protocols.h3?.workloadMetrics ?? {})).toEqual([
      'bodyRateMbit',
      'transferRateMbit',
    ]);
    expect(renderCsv(r)).toContain('"{""bodyRateMbit"":9.5,""transferRateMbit"":8.25}"');
    expect(metricDef('workload.goodputMbps')?.name).toBe('workload.bodyRateMbit');
    const run = r.summary.runs[0];
    expect(run && metricDef('workload.goodputMbps')?.value(run)).toBe(9.5);
  });
});
