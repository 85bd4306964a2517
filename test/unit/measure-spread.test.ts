/** Spread over repetitions and emulator drops per run (harness/measure/spread.ts). */
import { describe, expect, it } from 'vitest';
import {
  coefficientOfVariation,
  protocolSpread,
  repetitionPairRows,
  runDrops,
} from '../../harness/measure/spread.js';
import { client, result, runRecord } from '../fixtures/synthetic.js';
import type { Protocol } from '../../harness/scenario/schema.js';

const run = (i: number, rep: number, p: Protocol, ms: number, lossTimesMs?: number[], ok = true) =>
  runRecord(i, rep, client(p, [{ data: [ms], headers: ms, end: ms }]), {
    ok,
    ...(lossTimesMs ? { lossTimesMs } : {}),
  });

describe('runDrops', () => {
  it('counts the loss log, else the drop reasons, else null', () => {
    expect(runDrops({ counters: {}, lossTimesMs: [1, 2, 3] })).toBe(3);
    expect(runDrops({ counters: { dropReasons: { 'up loss': 2, 'down queue': 5 } } })).toBe(7);
    expect(runDrops({ counters: {} })).toBeNull();
  });
});

describe('coefficientOfVariation', () => {
  it('is the sample standard deviation over the mean, ignoring nulls', () => {
    expect(coefficientOfVariation([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(Math.sqrt(32 / 7) / 5, 12);
    expect(coefficientOfVariation([10, null, 10])).toBe(0);
    expect(coefficientOfVariation([10])).toBeNull();
    expect(coefficientOfVariation([0, 0])).toBeNull();
  });
});

describe('protocolSpread and repetitionPairRows', () => {
  const r = result([
    run(0, 0, 'h2', 200, [1, 2]),
    run(1, 0, 'h3', 100, [1, 2, 3]),
    run(2, 1, 'h3', 150, []),
    run(3, 1, 'h2', 300, [5]),
    run(4, 2, 'h2', 250, [1, 1, 1, 1], false),
    run(5, 2, 'h3', 120),
  ]);

  it('lists a protocol’s runs in repetition order with values (null when failed) and drops', () => {
    const s = protocolSpread(r.summary.runs, r.runs, 'h2');
    expect(s.runs).toEqual([
      { repetition: 0, run: 0, ok: true, value: 200, drops: 2 },
      { repetition: 1, run: 3, ok: true, value: 300, drops: 1 },
      { repetition: 2, run: 4, ok: false, value: null, drops: 4 },
    ]);
    expect(s.range).toEqual({ min: 200, median: 250, max: 300 });
    expect(s.cv).toBeCloseTo(Math.sqrt(5000) / 250, 12);
    expect(s.drops).toEqual({ min: 1, median: 2, max: 4 });
    // A run without a loss log has no drop count; the others still give a range.
    expect(protocolSpread(r.summary.runs, r.runs, 'h3').drops).toEqual({ min: 0, median: 1.5, max: 3 });
  });

  it('pairs the runs of a repetition: ratio a/b only when both have a value', () => {
    expect(repetitionPairRows(r.summary.runs, r.runs, 'h3', 'h2')).toEqual([
      { repetition: 0, valueA: 100, valueB: 200, ratio: 0.5, dropsA: 3, dropsB: 2 },
      { repetition: 1, valueA: 150, valueB: 300, ratio: 0.5, dropsA: 0, dropsB: 1 },
      { repetition: 2, valueA: 120, valueB: null, ratio: null, dropsA: null, dropsB: 4 },
    ]);
  });
});
