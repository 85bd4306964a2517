/** `h3bench run` flags of adaptive repetitions: bad values are usage errors before anything runs. */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../core/errors.js';
import { runCommand } from '../../harness/cli/run.js';
import { estimateAdaptive, quickScenario } from '../../harness/runner/budget.js';
import { parseScenario } from '../../harness/scenario/load.js';

const signal = new AbortController().signal;

describe('h3bench run adaptive flags', () => {
  it.each([
    [['--target', '10'], '--target: value error: must be a percentage such as "1.5%"'],
    [['--target', '0%'], '--target: value error'],
    [['--budget', '30m'], '--budget: value error: must be a duration'],
    [['--min-repetitions', '3'], '--min-repetitions: value error: must be an integer in 5..1000'],
    [['--repetitions', '3', '--target', '5%'], 'a fixed count cannot be combined'],
  ])('%j is refused', async (flags, message) => {
    const run = runCommand(['any-scenario', ...flags], signal);
    await expect(run).rejects.toThrow(UsageError);
    await expect(run).rejects.toThrow(message);
  });
});

describe('budget of an adaptive scenario', () => {
  const s = parseScenario(
    'name: t\nrepetitions: {min: 5, max: 20, target: 10%, budget: 1s}\nnetwork: {backend: none}\nworkload: {type: multiplex}\n',
    '/tmp/t.yaml',
  );
  it('estimates min and max rounds (max capped by the budget)', () => {
    const e = estimateAdaptive([s]);
    expect(e?.min.runs).toBe(15);
    expect(e?.max.runs).toBe(60);
    expect(e?.max.ms).toBeGreaterThanOrEqual(e?.min.ms ?? Infinity);
  });
  it('--quick is one fixed repetition', () => {
    const q = quickScenario(s);
    expect(q.repetitions).toBe(1);
    expect(q.adaptive).toBeUndefined();
  });
});
