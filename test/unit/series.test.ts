import { describe, expect, it } from 'vitest';
import { ChangeSeries, monotonicMs } from '../../core/series.js';

describe('ChangeSeries', () => {
  it('stores a row only when some column changed, and reads the last values', () => {
    const s = new ChangeSeries(['a', 'b'] as const);
    expect(s.last('a')).toBeUndefined();
    expect(s.add(1, { a: 1, b: 2 })).toBe(true);
    expect(s.add(2, { a: 1, b: 2 })).toBe(false);
    expect(s.add(3, { a: 1, b: 3 })).toBe(true);
    expect(s.add(4, { a: 1, b: 3 })).toBe(false);
    expect(s.t).toEqual([1, 3]);
    expect(s.columns).toEqual({ a: [1, 1], b: [2, 3] });
    expect(s.length).toBe(2);
    expect(s.last('b')).toBe(3);
  });
});

describe('monotonicMs', () => {
  it('is CLOCK_MONOTONIC in ms: never goes back and moves with performance.now', async () => {
    const a = monotonicMs();
    const p = performance.now();
    await new Promise((r) => setTimeout(r, 20));
    const b = monotonicMs();
    expect(b - a).toBeGreaterThanOrEqual(15);
    expect(Math.abs(b - a - (performance.now() - p))).toBeLessThan(10);
  });
});
