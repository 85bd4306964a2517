/** stacks.h3, stacks.client, stacks.server: the scenario keys, the refusal of what an engine cannot pin (exit 127), the fairness warnings. */
import { describe, expect, it } from 'vitest';
import { ExitCode, UnsupportedError } from '../../core/errors.js';
import { fairnessWarnings } from '../../harness/report/table.js';
import { checkEndpoints as checkStacks } from '../../harness/runner/endpoints.js';
import { loadScenario, parseScenarioPoints } from '../../harness/scenario/load.js';
import { clientStackFlag, h3StackFlag, serverStackFlag } from '../../harness/cli/args.js';
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

describe('stacks.client and stacks.server', () => {
  const PAGE = 'name: x\nworkload: {type: page-load}\n';
  const refusal = (yaml: string): string => {
    try {
      checkStacks(loaded(yaml));
    } catch (e) {
      expect(e).toBeInstanceOf(UnsupportedError);
      expect((e as UnsupportedError).exitCode).toBe(ExitCode.Unsupported);
      return (e as Error).message;
    }
    return '';
  };

  it('default to h3bench for both', () => {
    expect(loaded(BASE).scenario.stacks).toEqual({ h3: 'quiche-0.18', server: 'h3bench', client: 'h3bench' });
    expect(() => loaded(`${BASE}stacks: {client: firefox}\n`)).toThrow(/stacks\.client/);
    expect(() => loaded(`${BASE}stacks: {server: nginx}\n`)).toThrow(/stacks\.server/);
  });

  it('refuses Chromium on a workload that is not a page load', () => {
    expect(refusal(`${BASE}stacks: {client: chromium}\n`)).toMatch(
      /stacks\.client chromium loads pages: workload\.type must be page-load, not bulk/,
    );
    expect(refusal(`${PAGE}stacks: {client: chromium}\n`)).toBe('');
  });

  it('refuses Chromium against an HTTP/3 engine it cannot talk to, only when h3 runs', () => {
    expect(refusal(`${PAGE}stacks: {client: chromium, h3: quiche-0.29}\n`)).toMatch(
      /Chromium cannot load from stacks\.h3 quiche-0\.29 over h3: .*PACKET_TOO_LARGE/,
    );
    expect(refusal(`${PAGE}protocols: [h1, h2]\nstacks: {client: chromium, h3: quiche-0.29}\n`)).toBe('');
  });

  it('refuses server CPU per request with Caddy', () => {
    expect(
      refusal(`${BASE.replace('size: 1MB', 'size: 1MB, serverCpu: 2ms')}stacks: {server: caddy}\n`),
    ).toMatch(/stacks\.server caddy serves files: it cannot burn workload\.serverCpu/);
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

describe('stack overrides on the command line (run --h3-stack, --client, --server)', () => {
  it('replace the scenario keys for every point, and reject unknown names naming the flag', () => {
    const l = loadScenario('hol-blocking', {
      h3Stack: 'quiche-0.29',
      clientStack: 'h3bench',
      serverStack: 'caddy',
    });
    for (const s of [l.scenario, ...l.points]) {
      expect(s.stacks).toEqual({ h3: 'quiche-0.29', client: 'h3bench', server: 'caddy' });
    }
    expect(loadScenario('page-load-browser', { clientStack: 'h3bench' }).scenario.stacks.client).toBe(
      'h3bench',
    );
    expect(() => clientStackFlag('firefox')).toThrow(
      /--client: value error: must be one of h3bench, chromium: current value is "firefox"/,
    );
    expect(() => serverStackFlag('nginx')).toThrow(/--server: value error: must be one of h3bench, caddy/);
    expect(() => h3StackFlag('quiche-1')).toThrow(/--h3-stack: value error/);
    expect(serverStackFlag(undefined)).toBeUndefined();
  });
});
