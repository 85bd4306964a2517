/** Parse-time failures of any kind are ScenarioErrors (exit 2) naming the file: the alias bomb too. */
import { describe, expect, it } from 'vitest';
import { ExitCode, ScenarioError } from '../../core/errors.js';
import { MAX_ALIAS_COUNT, parseScenario } from '../../harness/scenario/load.js';
import { ALIAS_BOMB } from '../fixtures/alias-bomb.js';

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('scenario parse failures', () => {
  it('refuses an alias bomb with a ScenarioError (exit 2) naming the file', () => {
    const t0 = performance.now();
    const err = thrown(() => parseScenario(ALIAS_BOMB, '/tmp/bomb.yaml'));
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(err).toBeInstanceOf(ScenarioError);
    expect((err as ScenarioError).exitCode).toBe(ExitCode.BadInput);
    expect((err as Error).message).toContain('bomb.yaml');
    expect((err as Error).message).toContain(`more than ${MAX_ALIAS_COUNT} alias expansions`);
  });

  it('still accepts a few anchors and aliases, and names an unresolved one', () => {
    const t = parseScenario(
      'name: &n ok2\ndescription: *n\nworkload: { type: multiplex, requests: 4 }\n',
      '/tmp/ok2.yaml',
    );
    expect(t.description).toBe('ok2');
    const err = thrown(() => parseScenario('name: *nope\nworkload: { type: bulk }\n', '/tmp/u.yaml'));
    expect(err).toBeInstanceOf(ScenarioError);
    expect((err as Error).message).toMatch(/u\.yaml.*Unresolved alias/);
    expect((err as Error).message).not.toContain('billion');
  });

  it('keeps file:line and the key path for a malformed value', () => {
    const err = thrown(() =>
      parseScenario('name: x\nworkload:\n  type: multiplex\n  concurrency: lots\n', '/tmp/x.yaml'),
    );
    expect(err).toBeInstanceOf(ScenarioError);
    expect((err as Error).message).toMatch(/x\.yaml:4:\d+: workload\.concurrency must be number/);
  });
});
