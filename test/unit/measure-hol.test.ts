import { describe, expect, it } from 'vitest';
import { analyzeRun } from '../../harness/measure/analysis.js';
import {
  analyzeHol,
  holOptionsForRtt,
  lossWindowMs,
  pathRttMs,
  stallThresholdMs,
} from '../../harness/measure/hol.js';
import { client, timeline } from '../fixtures/synthetic.js';

// Path RTT 10 ms: threshold T = max(1.5 × 10, 10) = 15 ms, loss window W = 10 ms.
const OPTS = holOptionsForRtt(10);

describe('stallThresholdMs / lossWindowMs / pathRttMs', () => {
  it('stallThresholdMs is 1.5 RTT with a 10 ms floor', () => {
    expect(stallThresholdMs(40)).toBe(60);
    expect(stallThresholdMs(2)).toBe(10);
    expect(stallThresholdMs(0)).toBe(10);
    expect(lossWindowMs(40)).toBe(40);
    expect(lossWindowMs(1)).toBe(10);
  });
  it('pathRttMs prefers configured, then probe, then the smallest srtt', () => {
    expect(pathRttMs({ configuredRttMs: 40, probeRttMs: 41, transportSrttMs: [39] })).toBe(40);
    expect(pathRttMs({ configuredRttMs: 0, probeRttMs: 41, transportSrttMs: [39] })).toBe(41);
    expect(pathRttMs({ configuredRttMs: null, probeRttMs: null, transportSrttMs: [39, 12] })).toBe(12);
    expect(pathRttMs({})).toBe(0);
  });
});

describe('analyzeHol on synthetic timelines with known answers', () => {
  it('counts one stall of 35 ms in a single stream; no contention without another stream', () => {
    const h = analyzeHol(timeline('h2', [{ data: [0, 5, 40, 45] }], []), OPTS);
    expect(h.thresholdMs).toBe(15);
    expect(h.stallCount).toBe(1);
    expect(h.stallMs).toBeCloseTo(35);
    expect(h.perStream[0]).toMatchObject({ stallCount: 1, activeFrom: 0, activeTo: 45 });
    expect(h.contendedStallMs).toBe(0);
    // No evidence either way: null, not 0 (0 would read as "no head-of-line blocking").
    expect(h.synchronizedStallShare).toBeNull();
    expect(h.stallsWithoutLoss).toBe(1);
  });

  it('a gap equal to the threshold is not a stall (strictly longer only)', () => {
    expect(analyzeHol(timeline('h2', [{ data: [0, 15, 30] }], []), OPTS).stallCount).toBe(0);
  });

  it('TCP-like: two streams stalled together are synchronized; a preceding loss makes it collateral', () => {
    // A stalls (10, 60) = 50 ms, B stalls (12, 60) = 48 ms; both stalled during (12, 60).
    const streams = [{ data: [0, 10, 60, 70] }, { data: [2, 12, 60, 72] }];
    const h = analyzeHol(timeline('h2', streams, [8]), OPTS);
    expect(h.stallCount).toBe(2);
    expect(h.stallMs).toBeCloseTo(98);
    expect(h.contendedStallMs).toBeCloseTo(98);
    expect(h.synchronizedStallMs).toBeCloseTo(96);
    expect(h.synchronizedStallShare).toBeCloseTo(96 / 98);
    expect(h.episodes).toEqual([{ connection: 0, start: 12, end: 60, streams: 2, afterLoss: true }]);
    // One stream's data is being recovered; the other suffers (12, 60) = 48 ms collaterally.
    expect(h.collateralStallMs).toBeCloseTo(48);
    expect(h.stallsAfterLoss).toBe(2);
    expect(h.stallsWithoutLoss).toBe(0);
    expect(h.lossEvents).toBe(1);
  });

  it('QUIC-like: a stream stalls alone while the other keeps receiving: contended, not synchronized', () => {
    const streams = [{ data: [0, 10, 60, 70] }, { data: [2, 12, 22, 32, 42, 52, 62, 72] }];
    const h = analyzeHol(timeline('h3', streams, [8]), OPTS);
    expect(h.stallCount).toBe(1);
    expect(h.stallMs).toBeCloseTo(50);
    expect(h.contendedStallMs).toBeCloseTo(50);
    expect(h.synchronizedStallMs).toBe(0);
    expect(h.synchronizedStallShare).toBe(0);
    expect(h.collateralStallMs).toBe(0);
    expect(h.stallsAfterLoss).toBe(1);
  });

  it('synchronized stalls without a loss nearby are not collateral and count as without loss', () => {
    const streams = [{ data: [0, 10, 60, 70] }, { data: [2, 12, 60, 72] }];
    const h = analyzeHol(timeline('h2', streams, [200]), OPTS);
    expect(h.synchronizedStallMs).toBeCloseTo(96);
    expect(h.collateralStallMs).toBe(0);
    expect(h.stallsAfterLoss).toBe(0);
    expect(h.stallsWithoutLoss).toBe(2);
  });

  it('a loss just after the stall start (within W) is related; one further away is not', () => {
    expect(analyzeHol(timeline('h3', [{ data: [0, 10, 60] }], [19]), OPTS).stallsAfterLoss).toBe(1);
    expect(analyzeHol(timeline('h3', [{ data: [0, 10, 60] }], [20]), OPTS).stallsAfterLoss).toBe(0);
    expect(analyzeHol(timeline('h3', [{ data: [0, 10, 60] }], [0.5]), OPTS).stallsAfterLoss).toBe(1);
    expect(analyzeHol(timeline('h3', [{ data: [0, 10, 60] }], [-0.5]), OPTS).stallsAfterLoss).toBe(0);
  });

  it('sequential (FCFS) sender, TCP-like: streams waiting behind the stalled one are blocked with it', () => {
    // X is served and stalls (10, 60) after a loss at 8; Y and Z got their headers at 1 and wait.
    const streams = [
      { headers: 0, data: [0, 5, 10, 60, 65] },
      { headers: 1, data: [66, 70] },
      { headers: 1, data: [71, 75] },
    ];
    const h = analyzeHol(timeline('h2', streams, [8]), OPTS);
    expect(h.stallCount).toBe(1);
    expect(h.stallMs).toBeCloseTo(50);
    expect(h.contendedStallMs).toBeCloseTo(50);
    expect(h.synchronizedStallShare).toBeCloseTo(1);
    // Y and Z wait collaterally during the whole episode: 2 × 50 ms.
    expect(h.collateralStallMs).toBeCloseTo(100);
  });

  it('sequential sender, QUIC-like: the next stream is delivered while the first recovers', () => {
    // Y's wait for its first body byte ends at 20, inside X's stall (10, 60): synchronized only for (10, 20).
    const streams = [
      { headers: 0, data: [0, 5, 10, 60, 65] },
      { headers: 1, data: [20, 30, 40, 50, 62] },
    ];
    const h = analyzeHol(timeline('h3', streams, [8]), OPTS);
    expect(h.stallCount).toBe(1);
    expect(h.synchronizedStallMs).toBeCloseTo(10);
    expect(h.synchronizedStallShare).toBeCloseTo(0.2);
    expect(h.collateralStallMs).toBeCloseTo(10);
  });

  it('streams on different connections never synchronize', () => {
    const streams = [
      { conn: 0, data: [0, 10, 60, 70] },
      { conn: 1, data: [2, 12, 60, 72] },
    ];
    const h = analyzeHol(timeline('h1', streams, []), OPTS);
    expect(h.stallCount).toBe(2);
    expect(h.contendedStallMs).toBe(0);
    expect(h.synchronizedStallShare).toBeNull();
  });

  it('a stream is active from its first body byte: waiting after headers is not a stall', () => {
    // C got headers at 1 but its body only at 65-66: not active during (12, 60), so A and B stay synchronized.
    const streams = [{ data: [0, 10, 60, 70] }, { data: [2, 12, 60, 72] }, { headers: 1, data: [65, 66] }];
    const h = analyzeHol(timeline('h2', streams, []), OPTS);
    expect(h.stallCount).toBe(2);
    expect(h.synchronizedStallMs).toBeCloseTo(96);
    expect(h.perStream[2]).toMatchObject({ activeFrom: 65, stallCount: 0 });
  });

  it('an unfinished stream is active until its last body byte; its end of stream counts when later', () => {
    const h1 = analyzeHol(timeline('h2', [{ data: [0, 50], end: null, error: 'reset' }], []), OPTS);
    expect(h1.stallCount).toBe(1);
    expect(h1.perStream[0]?.activeTo).toBe(50);
    const h2 = analyzeHol(timeline('h2', [{ data: [0, 5], end: 40 }], []), OPTS);
    expect(h2.stallMs).toBeCloseTo(35);
  });

  it('without a loss log the loss-joined metrics are null, with an empty one they are 0', () => {
    const streams = [{ data: [0, 10, 60, 70] }, { data: [2, 12, 60, 72] }];
    const none = analyzeHol(timeline('h2', streams, null), OPTS);
    expect(none).toMatchObject({
      collateralStallMs: null,
      stallsAfterLoss: null,
      stallsWithoutLoss: null,
      lossEvents: null,
    });
    const empty = analyzeHol(timeline('h2', streams, []), OPTS);
    expect(empty).toMatchObject({
      collateralStallMs: 0,
      stallsAfterLoss: 0,
      stallsWithoutLoss: 2,
      lossEvents: 0,
    });
  });

  it('out-of-order chunks are sorted before analysis', () => {
    const h = analyzeHol(timeline('h2', [{ data: [40, 0, 45, 5], end: 45 }], []), OPTS);
    expect(h.stallCount).toBe(1);
    expect(h.stallMs).toBeCloseTo(35);
  });
});

describe('analyzeRun performance', () => {
  it('analyses a run with 100k chunks in well under a second', () => {
    // 1000 streams on one connection, 100 pieces each, interleaved every 0.1 ms, with a
    // connection-wide 30 ms hole every 2000 pieces.
    const streams = [];
    for (let s = 0; s < 1000; s++) {
      const data: number[] = [];
      for (let k = 0; k < 100; k++) {
        const i = k * 1000 + s;
        data.push(i * 0.01 + Math.floor(i / 2000) * 30);
      }
      streams.push({ data });
    }
    const c = client('h2', streams);
    const t0 = performance.now();
    const a = analyzeRun({
      index: 0,
      repetition: 0,
      protocol: 'h2',
      ok: true,
      client: c,
      server: null,
      lossTimesMs: [],
      configuredRttMs: 10,
      probeRttMs: null,
      probeOk: null,
    });
    const ms = performance.now() - t0;
    expect(a.metrics.hol?.stallCount).toBeGreaterThan(0);
    // Each stall is 40 ms (10 ms spacing + 30 ms hole), of which the 30 ms hole is connection-wide.
    expect(a.metrics.hol?.synchronizedStallShare).toBeCloseTo(0.75, 2);
    expect(ms).toBeLessThan(1000);
  });
});
