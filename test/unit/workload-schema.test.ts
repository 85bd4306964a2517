import { describe, expect, it } from 'vitest';
import { ScenarioError } from '../../core/errors.js';
import { parseScenario } from '../../harness/scenario/load.js';
import { describeWorkload, h1Connections } from '../../harness/scenario/workload.js';
import { poissonSchedule } from '../../harness/workload/rpc.js';
import { bytesPath } from '../../harness/workload/multiplex.js';

const load = (workload: string) => parseScenario(`name: t\nworkload:\n${workload}`, '/tmp/w.yaml').workload;
const fail = (workload: string): string => {
  try {
    load(workload);
  } catch (err) {
    if (err instanceof ScenarioError) return err.message;
    throw err;
  }
  throw new Error('expected a ScenarioError');
};

describe('workload schema', () => {
  it('page-load: defaults to a document and two dependent waves', () => {
    const w = load('  type: page-load\n');
    expect(w).toMatchObject({
      type: 'page-load',
      documentBytes: 30_000,
      waves: [
        { count: 8, sizeBytes: 25_000 },
        { count: 20, sizeBytes: 40_000 },
      ],
      connections: 6,
    });
    expect(describeWorkload(w)).toContain('30000 B document, then 8 × 25000 B js, then 20 × 40000 B img');
    // Entries of one depth are one wave.
    const mixed = load(
      '  type: page-load\n  waves:\n    - {count: 2, size: 10KB, type: css}\n    - {count: 3, size: 20KB, type: js, depth: 1}\n    - {count: 4, size: 30KB}\n',
    );
    expect(describeWorkload(mixed)).toContain('then 2 × 10000 B css + 3 × 20000 B js, then 4 × 30000 B img');
  });

  it('page-load: takes custom waves with units', () => {
    const w = load('  type: page-load\n  document: 10KB\n  waves:\n    - { count: 3, size: 1MB }\n');
    expect(w).toMatchObject({ documentBytes: 10_000, waves: [{ count: 3, sizeBytes: 1_000_000 }] });
  });

  it('bulk, cold and rpc resolve with their defaults', () => {
    expect(load('  type: bulk\n  size: 50MB\n')).toMatchObject({
      type: 'bulk',
      sizeBytes: 50_000_000,
      timeoutMs: 120_000,
    });
    expect(load('  type: cold\n')).toMatchObject({
      type: 'cold',
      requests: 20,
      sizeBytes: 1000,
      concurrency: 1,
    });
    const rpc = load('  type: rpc\n  rate: 250\n  duration: 2s\n');
    expect(rpc).toMatchObject({ type: 'rpc', rate: 250, durationMs: 2000, maxInFlight: 1000 });
    expect(h1Connections(rpc)).toBe(6);
    expect(h1Connections(load('  type: bulk\n'))).toBe(1);
  });

  it('names the workload type values when the type is unknown', () => {
    expect(fail('  type: browse\n')).toContain(
      'workload.type must be one of "multiplex", "page-load", "bulk", "cold", "rpc": current value is "browse"',
    );
  });

  it('reports keys of the chosen type with their path', () => {
    expect(fail('  type: page-load\n  waves:\n    - { count: 0, size: 1KB }\n')).toContain(
      'workload.waves.0.count must be >= 1: current value is 0',
    );
    expect(fail('  type: bulk\n  concurrency: 3\n')).toContain('unknown key workload.concurrency');
    expect(fail('  type: rpc\n  rate: -1\n')).toContain('workload.rate must be > 0');
  });

  it('rejects a workload that is not a mapping', () => {
    expect(fail('  - multiplex\n')).toContain('workload must be object');
  });
});

describe('workload.serverCpu', () => {
  it('is a duration, absent from the resolved workload when 0 (the default), on every type', () => {
    expect(load('  type: multiplex\n')).not.toHaveProperty('serverCpuMs');
    expect(load('  type: multiplex\n  serverCpu: 0ms\n')).not.toHaveProperty('serverCpuMs');
    expect(load('  type: multiplex\n  serverCpu: 2.5ms\n')).toMatchObject({ serverCpuMs: 2.5 });
    for (const t of ['page-load', 'bulk', 'cold', 'rpc'])
      expect(load(`  type: ${t}\n  serverCpu: 3ms\n`), t).toMatchObject({ serverCpuMs: 3 });
    expect(load('  type: bulk\n  serverCpu: 1s\n')).toMatchObject({ serverCpuMs: 1000 });
  });

  it('refuses a negative or too large value', () => {
    expect(fail('  type: multiplex\n  serverCpu: 2s\n')).toMatch(/serverCpu/);
    expect(fail('  type: multiplex\n  serverCpu: -1ms\n')).toMatch(/serverCpu/);
  });

  it('is sent with every request as ?cpu=<ms>', () => {
    expect(bytesPath(20_000, {})).toBe('/bytes/20000');
    expect(bytesPath(20_000, { serverCpuMs: 2.5 })).toBe('/bytes/20000?cpu=2.5');
    expect(bytesPath(1, { serverCpuMs: 1 / 3 })).toBe('/bytes/1?cpu=0.333333');
  });
});

describe('poissonSchedule', () => {
  it('has the requested mean rate and is reproducible from its seed', () => {
    const s = poissonSchedule(200, 60_000, 5);
    expect(s.length / 60).toBeGreaterThan(190);
    expect(s.length / 60).toBeLessThan(210);
    expect(poissonSchedule(200, 60_000, 5)).toEqual(s);
    expect(poissonSchedule(200, 60_000, 6)).not.toEqual(s);
    expect([...s].sort((a, b) => a - b)).toEqual(s);
    expect(s.every((t) => t >= 0 && t < 60_000)).toBe(true);
  });

  it('has exponential gaps (coefficient of variation near 1)', () => {
    const s = poissonSchedule(100, 200_000, 9);
    const gaps = s.slice(1).map((t, i) => t - (s[i] ?? 0));
    const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    const sd = Math.sqrt(gaps.reduce((a, b) => a + (b - mean) ** 2, 0) / gaps.length);
    expect(mean).toBeCloseTo(10, 0);
    expect(sd / mean).toBeGreaterThan(0.9);
    expect(sd / mean).toBeLessThan(1.1);
  });
});
