import { describe, expect, it } from 'vitest';
import { ScenarioError } from '../../core/errors.js';
import { parseScenario, scenarioHash } from '../../harness/scenario/load.js';
import { SCENARIO_DEFAULTS } from '../../harness/scenario/schema.js';

const FILE = '/tmp/scenarios/t.yaml';
const base = `name: t
workload:
  type: multiplex
`;

function errorOf(text: string): ScenarioError {
  try {
    parseScenario(text, FILE);
  } catch (err) {
    if (err instanceof ScenarioError) return err;
    throw err;
  }
  throw new Error('expected a ScenarioError');
}

describe('parseScenario', () => {
  it('fills every default in canonical units', () => {
    const s = parseScenario(base, FILE);
    expect(s.protocols).toEqual(SCENARIO_DEFAULTS.protocols);
    expect(s.repetitions).toBe(SCENARIO_DEFAULTS.repetitions);
    expect(s.workload).toEqual({
      type: 'multiplex',
      requests: 100,
      sizeBytes: 20_000,
      concurrency: 10,
      connections: 6,
      timeoutMs: 30_000,
      allowedFailures: 0,
    });
    expect(s.transport).toEqual({
      congestion: 'cubic',
      streamWindowBytes: 8_000_000,
      connectionWindowBytes: 16_000_000,
      hystart: true,
      pacing: false,
    });
    expect(s.network.backend).toBe('none');
    expect(s.network.profile.mtuBytes).toBe(1500);
  });

  it('parses human units into fields named with their unit', () => {
    const s = parseScenario(
      `name: t
transport:
  streamWindow: 1MiB
workload:
  type: multiplex
  size: 1.5MB
  timeout: 2.5s
`,
      FILE,
    );
    expect(s.workload).toMatchObject({ sizeBytes: 1_500_000 });
    expect(s.workload.timeoutMs).toBe(2500);
    expect(s.transport.streamWindowBytes).toBe(1_048_576);
  });

  it('resolves a network profile per direction when a backend is set', () => {
    const s = parseScenario(
      `name: t
network:
  backend: linkem
  rtt: 100ms
  rate: { down: 10mbit, up: 3mbit }
  loss: { rate: 1%, meanBurst: 3 }
  queue: 50ms
workload: { type: multiplex }
`,
      FILE,
    );
    const { down, up } = s.network.profile;
    expect(down.delayMs).toBe(50);
    expect(up.delayMs).toBe(50);
    expect(down.rateKbit).toBe(10_000);
    expect(up.rateKbit).toBe(3000);
    // 50 ms at 10 Mbit/s = 62 500 bytes.
    expect(down.queueBytes).toBe(62_500);
    expect(down.loss.model).toBe('gilbert-elliott');
    if (down.loss.model === 'gilbert-elliott') {
      const p = down.loss.pPct / 100;
      const r = down.loss.rPct / 100;
      expect(p / (p + r)).toBeCloseTo(0.01, 9);
      expect(1 / r).toBeCloseTo(3, 9);
    }
  });

  it('rejects an unknown key naming file, line and key path', () => {
    const e = errorOf(`${base}  colour: red\n`);
    expect(e.message).toContain('/tmp/scenarios/t.yaml');
    expect(e.message).toMatch(/:4:\d+/);
    expect(e.message).toContain('unknown key workload.colour');
    expect(e.exitCode).toBe(2);
  });

  it('rejects a renamed key with a hint at the new name', () => {
    expect(errorOf(`${base}runs: 3\n`).message).toContain('unsupported key runs, use repetitions instead');
  });

  it('rejects a bad unit with the expected form and the current value', () => {
    const e = errorOf(`${base}  size: 20 parsecs\n`);
    expect(e.message).toContain('workload.size must be a size such as "20KB"');
    expect(e.message).toContain('current value is "20 parsecs"');
  });

  it('rejects an out-of-range value with the bound and the value', () => {
    expect(errorOf(`${base}  concurrency: 0\n`).message).toContain(
      'workload.concurrency must be >= 1: current value is 0',
    );
    expect(errorOf(`${base}repetitions: -1\n`).message).toContain(
      'repetitions must be >= 1: current value is -1',
    );
  });

  it('rejects a wrong type and an unknown enum value', () => {
    expect(errorOf(`${base}repetitions: three\n`).message).toContain(
      'repetitions must be an integer in 1..1000 or a mapping {min, max, target} (e.g. {min: 5, max: 30, target: 10%, budget: 30min}): current value is "three"',
    );
    expect(errorOf(`${base}protocols: [h1, h4]\n`).message).toContain(
      'protocols.1 must be one of "h1", "h2", "h3"',
    );
    expect(errorOf(`${base}transport: { congestion: vegas }\n`).message).toContain(
      'transport.congestion must be one of "cubic", "reno", "bbr": current value is "vegas"',
    );
  });

  it('requires name and workload', () => {
    const e = errorOf('description: x\n');
    expect(e.message).toContain('name is required');
    expect(e.message).toContain('workload is required');
  });

  it('rejects impairments without an emulation backend', () => {
    const e = errorOf(`${base}network:\n  delay: 20ms\n`);
    expect(e.message).toContain('network.delay needs an emulation backend');
    expect(e.message).toContain('network.backend is "none"');
  });

  it('reports YAML syntax errors with line and column', () => {
    const e = errorOf('name: t\nworkload: [\n');
    expect(e.message).toMatch(/t\.yaml:\d+:\d+" as YAML/);
  });

  it('rejects a document that is not a mapping', () => {
    expect(errorOf('- a\n- b\n').message).toContain('must be a mapping');
  });

  it('rejects duplicate protocols', () => {
    expect(errorOf(`${base}protocols: [h1, h1]\n`).message).toContain('must not repeat a protocol');
  });
});

describe('scenarioHash', () => {
  it('is stable across key order and changes with content', () => {
    const a = parseScenario(`name: t\nseed: 3\nworkload: { type: multiplex, requests: 5 }\n`, FILE);
    const b = parseScenario(`workload: { requests: 5, type: multiplex }\nseed: 3\nname: t\n`, FILE);
    const c = parseScenario(`name: t\nseed: 4\nworkload: { type: multiplex, requests: 5 }\n`, FILE);
    expect(scenarioHash(a)).toBe(scenarioHash(b));
    expect(scenarioHash(a)).not.toBe(scenarioHash(c));
  });

  it('leaves out report, which changes nothing that is measured', () => {
    const a = parseScenario(`name: t\nworkload: { type: multiplex }\n`, FILE);
    const b = parseScenario(`name: t\nworkload: { type: multiplex }\nreport: { formats: [json] }\n`, FILE);
    expect(b.report).not.toEqual(a.report);
    expect(scenarioHash(a)).toBe(scenarioHash(b));
  });
});
