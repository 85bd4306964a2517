import { describe, expect, it } from 'vitest';
import { estimate, estimateRunMs, formatDuration, quickScenario } from '../../harness/runner/budget.js';
import { parseScenario, parseScenarioPoints } from '../../harness/scenario/load.js';

const scenario = (yaml: string) => parseScenario(`name: b\n${yaml}`, '/tmp/b.yaml');

describe('estimate', () => {
  it('counts protocols × repetitions × sweep points', () => {
    const { points } = parseScenarioPoints(
      'name: b\nprotocols: [h1, h2, h3]\nrepetitions: 4\nnetwork: { backend: linkem, rtt: 40ms }\nworkload: { type: bulk }\nsweep: { key: network.loss, values: [0%, 1%, 2%] }\n',
      '/tmp/b.yaml',
    );
    expect(estimate(points).runs).toBe(36);
  });

  it('grows with RTT, bytes over the bottleneck, and loss', () => {
    const fast = scenario(
      'network: { backend: linkem, rtt: 10ms, rate: 100mbit }\nworkload: { type: bulk, size: 10MB }\n',
    );
    const slow = scenario(
      'network: { backend: linkem, rtt: 10ms, rate: 1mbit }\nworkload: { type: bulk, size: 10MB }\n',
    );
    const far = scenario(
      'network: { backend: linkem, rtt: 500ms, rate: 100mbit }\nworkload: { type: bulk, size: 10MB }\n',
    );
    const lossy = scenario(
      'network: { backend: linkem, rtt: 10ms, rate: 100mbit, loss: 1% }\nworkload: { type: bulk, size: 10MB }\n',
    );
    // 10 MB at 1 Mbit/s is 80 s at least.
    expect(estimateRunMs(slow)).toBeGreaterThan(80_000);
    expect(estimateRunMs(fast)).toBeLessThan(estimateRunMs(slow));
    expect(estimateRunMs(far)).toBeGreaterThan(estimateRunMs(fast));
    expect(estimateRunMs(lossy)).toBeGreaterThan(estimateRunMs(fast));
  });

  it('uses the rpc duration', () => {
    expect(estimateRunMs(scenario('workload: { type: rpc, duration: 20s }\n'))).toBeGreaterThan(20_000);
  });
});

describe('quickScenario', () => {
  it('runs one repetition of a smaller workload over the same network', () => {
    const s = scenario(
      'repetitions: 5\nnetwork: { backend: linkem, rtt: 40ms }\nworkload: { type: multiplex, requests: 500, concurrency: 10 }\n',
    );
    const q = quickScenario(s);
    expect(q.repetitions).toBe(1);
    expect(q.workload).toMatchObject({ requests: 20, concurrency: 10 });
    expect(q.network).toEqual(s.network);
    expect(quickScenario(scenario('workload: { type: bulk, size: 50MB }\n')).workload).toMatchObject({
      sizeBytes: 2_000_000,
    });
    expect(quickScenario(scenario('workload: { type: rpc, duration: 30s }\n')).workload).toMatchObject({
      durationMs: 2000,
    });
  });
});

describe('formatDuration', () => {
  it('prints seconds, then minutes and seconds', () => {
    expect(formatDuration(42_300)).toBe('42 s');
    expect(formatDuration(300_000)).toBe('5 min 0 s');
  });
});
