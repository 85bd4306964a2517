/** Loss response from sender telemetry (harness/measure/telemetry.ts) on synthetic series with known events. */
import { describe, expect, it } from 'vitest';
import { prng } from '../../core/prng.js';
import {
  congestionEvents,
  downlinkDrops,
  runTransport,
  timeWeightedMean,
  transportSummary,
} from '../../harness/measure/telemetry.js';
import type { RunRecord } from '../../harness/model/result.js';
import type { Protocol } from '../../harness/scenario/schema.js';
import { result, runsWithWorkload, sawtooth, series, withTelemetry } from '../fixtures/synthetic.js';

const SRTT = 50;

/** One synthetic run of a protocol (workload completion 1000 ms). */
function oneRun(p: Protocol): RunRecord {
  const [r] = runsWithWorkload(p, [1000]);
  if (!r) throw new Error('no run');
  return r;
}
const srttOf = (t: readonly number[]) => t.map(() => SRTT);

describe('congestion events', () => {
  it('finds every cut of a CUBIC sawtooth (β 0.7), none undone, the window growing at the next sample', () => {
    const { t, cwnd } = sawtooth({ peak: 100_000, beta: 0.7, cycles: 5, periodMs: 500 });
    const ev = congestionEvents({ t, cwndBytes: cwnd, srttMs: srttOf(t) });
    expect(ev).toHaveLength(5);
    for (const e of ev) {
      expect(e.beforeBytes).toBe(100_000);
      expect(e.afterBytes / e.beforeBytes).toBeCloseTo(0.7, 6);
      expect(e.undone).toBe(false);
    }
    // The last cut has no growth after it.
    expect(ev.slice(0, 4).every((e) => e.recoveryMs === 10)).toBe(true);
    expect(ev[4]?.recoveryMs).toBeNull();
    expect(ev.map((e) => e.t)).toEqual([510, 1020, 1530, 2040, 2550]);
  });

  it('sees Reno halve the window (β 0.5)', () => {
    const { t, cwnd } = sawtooth({ peak: 60_000, beta: 0.5, cycles: 3, periodMs: 300 });
    const ev = congestionEvents({ t, cwndBytes: cwnd, srttMs: srttOf(t) });
    expect(ev).toHaveLength(3);
    for (const e of ev) expect(e.afterBytes / e.beforeBytes).toBeCloseTo(0.5, 6);
  });

  it('counts a PRR-style reduction spread over one RTT once, even with steps under the threshold', () => {
    // 100 kB lowered to 70 kB over ~one RTT in 10 steps of 3 kB (each < 5%), held, then growing.
    const t: number[] = [];
    const w: number[] = [];
    for (let i = 0; i <= 10; i++) {
      t.push(i * 10);
      w.push(100_000);
    }
    for (let k = 1; k <= 10; k++) {
      t.push(100 + k * 5.5);
      w.push(100_000 - 3000 * k);
    }
    for (let k = 1; k <= 5; k++) {
      t.push(160 + k * 10);
      w.push(70_000);
    }
    for (let k = 1; k <= 10; k++) {
      t.push(210 + k * 10);
      w.push(70_000 + 1000 * k);
    }
    const ev = congestionEvents({ t, cwndBytes: w, srttMs: srttOf(t) });
    expect(ev).toHaveLength(1);
    expect(ev[0]).toMatchObject({ t: 105.5, beforeBytes: 100_000, afterBytes: 70_000, undone: false });
    expect(ev[0]?.recoveryMs).toBeCloseTo(220 - 105.5, 6);
  });

  it('separates two cuts more than one RTT apart and merges two within one RTT', () => {
    const t = [0, 10, 20, 30, 100, 110, 200, 210, 230, 300];
    const w = [100, 100, 70, 70, 70, 49, 49, 34, 24, 30].map((x) => x * 1000);
    const ev = congestionEvents({ t, cwndBytes: w, srttMs: srttOf(t) });
    // 20: 100→70; 110: 70→49 (90 ms later: separate); 210 and 230 (20 ms apart: one event 49→24).
    expect(ev.map((e) => [e.t, e.beforeBytes, e.afterBytes])).toEqual([
      [20, 100_000, 70_000],
      [110, 70_000, 49_000],
      [210, 49_000, 24_000],
    ]);
  });

  it('marks a rollback within two smoothed RTTs as undone, and a slow regrowth as not', () => {
    const t = [0, 10, 20, 40, 60, 80, 300, 310, 320, 330, 500];
    const w = [100, 100, 50, 50, 50, 96, 96, 60, 60, 60, 95].map((x) => x * 1000);
    const ev = congestionEvents({ t, cwndBytes: w, srttMs: srttOf(t) });
    expect(ev).toHaveLength(2);
    expect(ev[0]).toMatchObject({ t: 20, afterBytes: 50_000, undone: true, recoveryMs: 60 });
    expect(ev[1]).toMatchObject({ t: 310, beforeBytes: 96_000, afterBytes: 60_000, undone: false });
  });

  it('does not count BBR-like fluctuations of ±2% as events', () => {
    const rand = prng(11);
    const t = Array.from({ length: 2000 }, (_, i) => i * 10);
    const w = t.map(() => Math.round(100_000 * (1 + (rand() * 2 - 1) * 0.02)));
    expect(congestionEvents({ t, cwndBytes: w, srttMs: srttOf(t) })).toEqual([]);
    // A real cut among the fluctuations is still found.
    w[1000] = 60_000;
    const ev = congestionEvents({ t, cwndBytes: w, srttMs: srttOf(t) });
    expect(ev).toHaveLength(1);
    // It starts after the highest wiggle before the cut (at most one RTT earlier), from there.
    expect(ev[0]?.t).toBeGreaterThanOrEqual(10_000 - SRTT);
    expect(ev[0]?.t).toBeLessThanOrEqual(10_000);
    expect(ev[0]?.beforeBytes).toBeGreaterThanOrEqual(Math.max(...w.slice(995, 1000)));
    expect(ev[0]?.afterBytes).toBe(60_000);
  });

  it('groups by the fallback RTT without a smoothed RTT, and by consecutive falls without either', () => {
    const t = [0, 10, 20, 30, 40, 50];
    const w = [100, 90, 90, 80, 80, 90].map((x) => x * 1000);
    // With a 50 ms RTT the two steps are one event; without, two (each > 5%).
    expect(congestionEvents({ t, cwndBytes: w }, { fallbackRttMs: 50 })).toHaveLength(1);
    expect(congestionEvents({ t, cwndBytes: w })).toHaveLength(2);
    expect(congestionEvents({ t })).toEqual([]);
  });
});

describe('per-run loss response', () => {
  it('weights the window by time on a series stored on change', () => {
    expect(timeWeightedMean([0, 90, 100], [10, 20, 20]).mean).toBeCloseTo(11, 9);
    expect(timeWeightedMean([5], [42]).mean).toBe(42);
  });

  it('joins events to the downlink drops: per 100 losses, every "down" reason counted', () => {
    const { t, cwnd } = sawtooth({ peak: 100_000, beta: 0.7, cycles: 3, periodMs: 300 });
    const run = withTelemetry(
      oneRun('h2'),
      [series(t, { cwndBytes: cwnd, srttMs: srttOf(t), timeouts: t.map((_, i) => (i > 20 ? 2 : 0)) })],
      { dropReasons: { 'down loss': 5, 'down queue-bytes': 1, 'up loss': 4 } },
    );
    const r = runTransport(run);
    expect(r.congestionEvents).toBe(3);
    expect(r.downlinkDrops).toBe(6);
    expect(r.congestionEventsPer100Losses).toBeCloseTo(50, 9);
    expect(r.reductionFactor).toBeCloseTo(0.7, 6);
    expect(r.undoneShare).toBe(0);
    expect(r.timeouts).toBe(2);
    expect(r.srttMs).toBe(SRTT);
    expect(r.packetsLost).toBeNull();
    // 2 cuts followed by growth 10 ms later, the last one held to the end of the series (0 ms).
    expect(r.timeInRecoveryMs).toBe(20);
  });

  it('takes the drop count from the downlink drop times without counters; null without either or without drops', () => {
    expect(downlinkDrops({ counters: {}, downlinkLossTimesMs: [1, 2, 3] })).toBe(3);
    expect(downlinkDrops({ counters: {}, lossTimesMs: [1, 2, 3] })).toBeNull();
    const base = oneRun('h3');
    const s = series([0, 10, 20], { transport: 'quic', cwndBytes: [100, 50, 50] });
    expect(
      runTransport(withTelemetry(base, [s], { dropReasons: { 'up loss': 3 } })).congestionEventsPer100Losses,
    ).toBeNull();
    expect(runTransport(withTelemetry(base, [s])).congestionEventsPer100Losses).toBeNull();
  });

  it('sums counters over connections and handles absent columns', () => {
    const base = oneRun('h1');
    const a = series([0, 10], {
      connection: 'a',
      packetsLost: [0, 4],
      timeouts: [0, 1],
      packetsRetransmitted: [1, 5],
    });
    const b = series([0, 10], { connection: 'b', packetsLost: [2, 3], timeouts: [1, 1] });
    const client = { ...series([0], { connection: 'c' }), side: 'client' as const };
    const run = withTelemetry(base, [a, b, client]);
    const r = runTransport(run);
    expect(r.connections).toBe(2);
    expect(r.packetsLost).toBe(7);
    expect(r.timeouts).toBe(2);
    expect(r.packetsRetransmitted).toBe(5);
    // No window column: no events, no mean window, no recovery time.
    expect(r.congestionEvents).toBeNull();
    expect(r.meanCwndBytes).toBeNull();
    expect(r.timeInRecoveryMs).toBeNull();
    expect(r.srttMs).toBeNull();
  });

  it('summarises the ok workload runs of a protocol as medians with intervals; control runs never enter', () => {
    const { t, cwnd } = sawtooth({ peak: 100_000, beta: 0.7, cycles: 4, periodMs: 300 });
    const runs = runsWithWorkload('h3', [900, 1000, 1100, 1200]).map((r, i) =>
      withTelemetry(r, [series(t, { transport: 'quic', cwndBytes: cwnd })], {
        dropReasons: { 'down loss': 4 * (i + 1) },
      }),
    );
    const rs = runs.map((r) => runTransport(r));
    const first = rs[0];
    if (!first) throw new Error('no run');
    const control = { ...first, control: true, congestionEventsPer100Losses: 1e6 };
    const sum = transportSummary([...rs, control], 3, 'h3');
    expect(sum?.runsWithTelemetry).toBe(4);
    expect(sum?.congestionEvents.median).toBe(4);
    // 100, 50, 33.3, 25 per 100 losses: median 41.7.
    expect(sum?.congestionEventsPer100Losses.median).toBeCloseTo(125 / 3, 6);
    expect(sum?.congestionEventsPer100Losses.ci95).not.toBeNull();
    expect(sum?.congestionEventsPer100Losses.n).toBe(4);
    expect(transportSummary([control], 3, 'h3')).toBeNull();

    // Through summarize: set for the protocol with telemetry only.
    const res = result([...runs, ...runsWithWorkload('h2', [1000, 1000, 1000, 1000], 4)]);
    expect(res.summary.protocols.h3?.transport?.congestionEvents.median).toBe(4);
    expect(res.summary.protocols.h2?.transport).toBeUndefined();
  });
});
