/** stacks.h3: the scenario key, the refusal of what an engine cannot pin (exit 127), the fairness warnings. */
import { describe, expect, it } from 'vitest';
import { ExitCode, UnsupportedError } from '../../core/errors.js';
import { fairnessWarnings } from '../../harness/report/table.js';
import { checkStacks } from '../../harness/runner/run.js';
import { parseScenarioPoints } from '../../harness/scenario/load.js';
import { result, workloadRun } from '../fixtures/synthetic.js';

function loaded(yaml: string) {
  const { scenario, points } = parseScenarioPoints(yaml, 'x.yaml');
  return { scenario, points, file: '/tmp/x.yaml', hash: 'h' };
}

const BASE = 'name: x\nworkload: {type: bulk, size: 1MB}\n';

describe('stacks.h3', () => {
  it('defaults to quiche-0.18 and accepts quiche-0.29', () => {
    expect(loaded(BASE).scenario.stacks.h3).toBe('quiche-0.18');
    expect(loaded(`${BASE}stacks: {h3: quiche-0.29}\n`).scenario.stacks.h3).toBe('quiche-0.29');
  });

  it('rejects an unknown stack with the key path', () => {
    expect(() => loaded(`${BASE}stacks: {h3: msquic}\n`)).toThrow(/stacks\.h3/);
  });

  it('refuses, with exit 127, a transport setting quiche-0.29 cannot pin', () => {
    const bad = loaded(`${BASE}stacks: {h3: quiche-0.29}\ntransport: {congestion: bbr}\n`);
    let err: unknown;
    try {
      checkStacks(bad);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UnsupportedError);
    expect((err as UnsupportedError).exitCode).toBe(ExitCode.Unsupported);
    expect((err as Error).message).toMatch(/quiche-0\.29 cannot pin congestion bbr/);
    // Fine: what it can pin, or no h3 at all, or the other engine.
    expect(() => {
      checkStacks(loaded(`${BASE}stacks: {h3: quiche-0.29}\n`));
    }).not.toThrow();
    expect(() => {
      checkStacks(
        loaded(`${BASE}protocols: [h1, h2]\nstacks: {h3: quiche-0.29}\ntransport: {congestion: bbr}\n`),
      );
    }).not.toThrow();
    expect(() => {
      checkStacks(loaded(`${BASE}transport: {congestion: bbr}\n`));
    }).not.toThrow();
  });
});

describe('fairnessWarnings', () => {
  it('lists each warning once with the protocols that carried it', () => {
    const runs = [0, 1].flatMap((r) =>
      (['h2', 'h3'] as const).map((p, i) => {
        const run = workloadRun(2 * r + i, r, p, 1000, 30);
        const warnings = p === 'h3' ? ['h3 engine quiche-0.29 does not pin pacing: x'] : [];
        return {
          ...run,
          link: {
            ...run.link,
            provenance: {
              backend: 'linkem' as const,
              warnings: [...warnings, 'TCP uses bbr'],
              fairness: { congestion: 'c', pacing: 'p', hystart: 'h' },
            },
          },
        };
      }),
    );
    expect(fairnessWarnings(result(runs))).toEqual([
      'TCP uses bbr (runs of h2, h3)',
      'h3 engine quiche-0.29 does not pin pacing: x (runs of h3)',
    ]);
  });
});
