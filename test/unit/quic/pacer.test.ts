/**
 * The pacer (pacer.ts) with time passed in: a simulated sender with a backlog of full-size packets
 * runs each flush exactly as QuicConn.sendPackets does and sleeps for the waits the pacer asks for.
 * Every test fails if the pacer lets everything out at once ("send now").
 */
import { describe, expect, it } from 'vitest';
import type { PathEstimate } from '../../../harness/proto/quic/binding.js';
import { Pacer } from '../../../harness/proto/quic/pacer.js';

const MTU = 1472;

/** A path with a fixed (changeable) cwnd and srtt; counts the reads. */
function pathOf(cwndBytes: number, srttMs: number) {
  const p = {
    cwndBytes,
    srttMs,
    reads: 0,
    read: (out: PathEstimate): boolean => {
      p.reads++;
      out.cwndBytes = p.cwndBytes;
      out.srttMs = p.srttMs;
      return true;
    },
  };
  return p;
}

/** One flush as QuicConn.sendPackets runs it: packets sent, and the wait asked for (null: backlog sent). */
function flush(p: Pacer, now: number, backlog: number): { sent: number; waitMs: number | null } {
  let sent = 0;
  p.refill(now);
  if (!p.hasTokens() && !p.refresh(now)) return { sent, waitMs: p.wait(now) };
  while (sent < backlog) {
    sent++;
    if (!p.spend(MTU) && !p.refresh(now)) return { sent, waitMs: p.wait(now) };
  }
  return { sent, waitMs: null };
}

/**
 * Send `packets` from `start`, the pacing timer firing `lateMs` after its due time (a last time
 * after the backlog is sent, as the connection's does); release time of each.
 */
function run(p: Pacer, packets: number, start = 0, lateMs = 0): number[] {
  const times: number[] = [];
  let now = start;
  for (;;) {
    const r = flush(p, now, packets - times.length);
    for (let i = 0; i < r.sent; i++) times.push(now);
    if (r.waitMs === null) break;
    now += r.waitMs + lateMs;
  }
  return times;
}

/** Largest number of packets released at one instant, ignoring the first instant. */
function largestLaterBurst(times: number[]): number {
  const counts = new Map<number, number>();
  for (const t of times) counts.set(t, (counts.get(t) ?? 0) + 1);
  return Math.max(0, ...[...counts].filter(([t]) => t !== times[0]).map(([, n]) => n));
}

describe('Pacer', () => {
  it('releases a backlog at 1.25 × cwnd / srtt, not at once', () => {
    // cwnd 100 kB, srtt 20 ms: 6250 bytes/ms.
    const path = pathOf(100_000, 20);
    const p = new Pacer(MTU, path.read);
    const times = run(p, 200);
    expect(p.rateBytesPerMs).toBe(6250);
    // The first burst (10 packets) is free; the rest follows at the rate.
    expect(times.filter((t) => t === 0)).toHaveLength(10);
    const last = times[times.length - 1] ?? 0;
    const expectedMs = (200 * MTU - 10 * MTU) / 6250; // ~44.7 ms
    expect(last).toBeGreaterThanOrEqual(expectedMs - 2);
    expect(last).toBeLessThanOrEqual(expectedMs + 3);
    // Never ahead of the rate by more than one burst and one packet.
    times.forEach((t, i) => {
      expect((i + 1) * MTU).toBeLessThanOrEqual(10 * MTU + 6250 * t + MTU);
    });
    expect(largestLaterBurst(times)).toBeLessThanOrEqual(Math.ceil(6250 / MTU) + 1);
  });

  it('paces twice as fast for twice the cwnd, and counts srtt below 1 ms as 1 ms', () => {
    const slow = run(new Pacer(MTU, pathOf(100_000, 20).read), 200);
    const fast = run(new Pacer(MTU, pathOf(200_000, 20).read), 200);
    const ratio = (slow[slow.length - 1] ?? 0) / (fast[fast.length - 1] ?? 1);
    expect(ratio).toBeGreaterThan(1.8);
    expect(ratio).toBeLessThan(2.3);
    const p = new Pacer(MTU, pathOf(14_720, 0).read);
    run(p, 50);
    expect(p.rateBytesPerMs).toBe(1.25 * 14_720);
  });

  it('after idle time, lets out one burst only: max(10 packets, 1 ms at the rate)', () => {
    const p = new Pacer(MTU, pathOf(100_000, 20).read);
    const t = run(p, 100);
    const idleEnd = (t[t.length - 1] ?? 0) + 1000;
    // 1000 ms idle earns 6.25 MB at the rate, but the bucket holds 10 packets (1 ms is 6250 bytes).
    expect(flush(p, idleEnd, 10_000).sent).toBe(10);

    // At 125 kB/ms (cwnd 1 MB, srtt 10 ms), 1 ms at the rate is the larger: 85 packets.
    const q = new Pacer(MTU, pathOf(1_000_000, 10).read);
    const u = run(q, 200);
    expect(q.burst).toBe(125_000);
    expect(flush(q, (u[u.length - 1] ?? 0) + 1000, 10_000).sent).toBe(Math.ceil(125_000 / MTU));
  });

  it('credits a late timer with at most 1 ms of sending', () => {
    const onTime = run(new Pacer(MTU, pathOf(100_000, 20).read), 300);
    const late = run(new Pacer(MTU, pathOf(100_000, 20).read), 300, 0, 5);
    // On time: ~6250 bytes (4-5 packets) per 1 ms wake-up. 5 ms late: one burst (10 packets)
    // plus 1 ms of lateness (6250 bytes), not the 6 ms missed.
    expect(largestLaterBurst(onTime)).toBeLessThanOrEqual(5);
    expect(largestLaterBurst(late)).toBeLessThanOrEqual(Math.ceil((10 * MTU + 6250) / MTU) + 1);
    expect(largestLaterBurst(late)).toBeGreaterThan(10);
  });

  it('re-reads cwnd and srtt at most every 2 ms, and follows a change', () => {
    const path = pathOf(100_000, 20);
    const p = new Pacer(MTU, path.read);
    const t = run(p, 200);
    const span = t[t.length - 1] ?? 0;
    expect(path.reads).toBeLessThanOrEqual(Math.floor(span / 2) + 2);
    path.cwndBytes = 50_000;
    run(p, 20, span + 1);
    expect(p.rateBytesPerMs).toBe(3125);
  });

  it('waits 1 ms before it knows the rate, and at most 100 ms', () => {
    const unknown = new Pacer(MTU, () => false);
    const first = flush(unknown, 0, 100);
    expect(first).toEqual({ sent: 10, waitMs: 1 });
    // 1.25 × 1472 / 1000 ms: under 2 bytes/ms, a packet would take ~800 ms.
    const crawl = new Pacer(MTU, pathOf(MTU, 1000).read);
    expect(flush(crawl, 0, 100)).toEqual({ sent: 10, waitMs: 1 });
    expect(flush(crawl, 1, 100)).toEqual({ sent: 1, waitMs: 100 });
  });
});
