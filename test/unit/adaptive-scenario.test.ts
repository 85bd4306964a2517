/**
 * `repetitions` in its two forms (a count, or {min, max, target, budget}) and the CLI overrides of
 * adaptive repetitions: canonical values, and errors naming file, key path, expected form and value.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ScenarioError, UsageError } from '../../core/errors.js';
import {
  ADAPTIVE_OVERRIDE_DEFAULTS,
  loadScenario,
  parseScenarioPoints,
} from '../../harness/scenario/load.js';

const yaml = (repetitions: string) =>
  `name: t\nrepetitions: ${repetitions}\nnetwork: {backend: none}\nworkload: { type: multiplex, requests: 5, size: 1KB, concurrency: 5, timeout: 10s }\n`;

function parse(repetitions: string) {
  return parseScenarioPoints(yaml(repetitions), '/tmp/x.yaml', {}).scenario;
}

function errorOf(repetitions: string): string {
  try {
    parse(repetitions);
  } catch (err) {
    if (err instanceof ScenarioError) return err.message;
    throw err;
  }
  throw new Error('expected a ScenarioError');
}

describe('repetitions', () => {
  it('a count is fixed', () => {
    const s = parse('7');
    expect(s.repetitions).toBe(7);
    expect(s.adaptive).toBeUndefined();
  });

  it('{min, max, target, budget} is adaptive, planned to max', () => {
    const s = parse('{min: 6, max: 30, target: 10%, budget: 30min}');
    expect(s.repetitions).toBe(30);
    expect(s.adaptive).toEqual({ min: 6, max: 30, targetPct: 10, budgetMs: 1_800_000 });
    expect(parse('{max: 9, target: 5%}').adaptive).toEqual({ min: 5, max: 9, targetPct: 5, budgetMs: null });
  });

  it.each([
    ['{min: 3, max: 30, target: 10%}', 'x.yaml:2:20: repetitions.min must be >= 5: current value is 3'],
    ['{max: 30, target: 10}', 'repetitions.target must be a percentage such as "1.5%": current value is 10'],
    ['{max: 30}', 'repetitions.target must be a percentage such as "1.5%": current value is missing'],
    ['{max: 30, target: 0%}', 'repetitions.target must be > 0: current value is "0%"'],
    ['{max: 30, target: 5%, budget: soon}', 'repetitions.budget must be a duration such as "50ms"'],
    ['{max: 30, target: 5%, foo: 1}', 'unknown key repetitions.foo'],
    [
      '{min: 6, max: 5, target: 5%}',
      'repetitions.max must not be less than repetitions.min: current value is 5',
    ],
    ['0', 'repetitions must be >= 1: current value is 0'],
    ['five', 'repetitions must be an integer in 1..1000 or a mapping {min, max, target}'],
  ])('%s is refused', (value, message) => {
    expect(errorOf(value)).toContain(message);
  });
});

describe('loadScenario overrides of repetitions', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'h3bench-reps-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const file = (name: string, repetitions: string) => {
    const f = path.join(dir, `${name}.yaml`);
    writeFileSync(f, yaml(repetitions));
    return f;
  };

  it('--repetitions makes an adaptive scenario fixed', () => {
    const s = loadScenario(file('a', '{max: 30, target: 5%}'), { repetitions: 4 }).scenario;
    expect(s.repetitions).toBe(4);
    expect(s.adaptive).toBeUndefined();
  });

  it('adaptive flags make a fixed scenario adaptive (defaults for the rest) or change an adaptive one', () => {
    const s = loadScenario(file('b', '3'), { adaptive: { targetPct: 5 } }).scenario;
    expect(s.adaptive).toEqual({ ...ADAPTIVE_OVERRIDE_DEFAULTS, targetPct: 5 });
    expect(s.repetitions).toBe(ADAPTIVE_OVERRIDE_DEFAULTS.max);
    const t = loadScenario(file('c', '{max: 30, target: 5%}'), {
      adaptive: { max: 12, budgetMs: 60_000 },
    }).scenario;
    expect(t.adaptive).toEqual({ min: 5, max: 12, targetPct: 5, budgetMs: 60_000 });
    expect(t.repetitions).toBe(12);
    expect(loadScenario(file('d', '3'), {}).scenario.adaptive).toBeUndefined();
  });

  it('a max below the min is a usage error', () => {
    expect(() => loadScenario(file('e', '{min: 8, max: 30, target: 5%}'), { adaptive: { max: 6 } })).toThrow(
      UsageError,
    );
  });
});
