import { describe, expect, it } from 'vitest';
import { ScenarioError } from '../../core/errors.js';
import { parseScenarioPoints } from '../../harness/scenario/load.js';

const base = `name: sw
network: { backend: linkem, rtt: 40ms, rate: 10mbit }
workload: { type: multiplex, requests: 10 }
`;
const points = (sweep: string) => parseScenarioPoints(`${base}${sweep}`, '/tmp/sw.yaml');
const fail = (sweep: string): string => {
  try {
    points(sweep);
  } catch (err) {
    if (err instanceof ScenarioError) return err.message;
    throw err;
  }
  throw new Error('expected a ScenarioError');
};

describe('sweep', () => {
  it('expands network.loss into one validated scenario per value, in canonical units', () => {
    const r = points('sweep: { key: network.loss, values: [0%, 0.1%, 1%, 5%] }\n');
    expect(r.scenario.sweep).toEqual({
      key: 'network.loss',
      unit: '%',
      values: [0, 0.1, 1, 5],
      labels: ['0%', '0.1%', '1%', '5%'],
    });
    expect(r.points).toHaveLength(4);
    expect(r.points.map((p) => p.network.profile.down.loss)).toEqual([
      { model: 'none' },
      { model: 'random', pct: 0.1 },
      { model: 'random', pct: 1 },
      { model: 'random', pct: 5 },
    ]);
    // Everything else is the base scenario.
    expect(new Set(r.points.map((p) => p.network.profile.down.rateKbit))).toEqual(new Set([10_000]));
    expect(r.points.every((p) => p.sweep?.key === 'network.loss')).toBe(true);
  });

  it('sweeps workload keys and keys absent from the file', () => {
    const r = points('sweep: { key: workload.concurrency, values: [1, 10, 100] }\n');
    expect(r.points.map((p) => (p.workload.type === 'multiplex' ? p.workload.concurrency : 0))).toEqual([
      1, 10, 100,
    ]);
    const j = points('sweep: { key: network.jitter, values: [0ms, 5ms] }\n');
    expect(j.points.map((p) => p.network.profile.down.jitterMs)).toEqual([0, 5]);
    expect(j.scenario.sweep?.unit).toBe('ms');
  });

  it('rejects a value the key does not accept, naming the sweep value', () => {
    expect(fail('sweep: { key: workload.concurrency, values: [1, 0] }\n')).toContain(
      'at sweep value 1 (workload.concurrency = 0)',
    );
  });

  it('rejects malformed sweeps with the key path', () => {
    expect(fail('sweep: { key: name, values: [a, b] }\n')).toContain('sweep.key must be the dotted path');
    expect(fail('sweep: { key: network.loss, values: [1%] }\n')).toContain(
      'sweep.values must be a list of 2 to 50 values',
    );
    expect(fail('sweep: { key: network.loss, values: [1%, {rate: 1%}] }\n')).toContain(
      'sweep.values.1 must be a number',
    );
    expect(fail('sweep: { key: network.rtt, values: [10ms, 1%] }\n')).toContain(
      'must all have the same unit',
    );
    expect(fail('sweep: { key: network.loss, values: [1%, 2%], step: 1 }\n')).toContain(
      'unknown key sweep.step',
    );
  });

  it('gives a scenario without a sweep exactly one point', () => {
    const r = points('');
    expect(r.points).toEqual([r.scenario]);
    expect(r.scenario.sweep).toBeNull();
  });
});
