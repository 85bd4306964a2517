import type { LinkBackend } from '../../link/record.js';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compareCommand } from '../../harness/cli/compare.js';
import {
  CompareInputError,
  compareResults,
  comparisonMarkdown,
  historyLines,
} from '../../harness/compare/compare.js';
import { resultJson } from '../../harness/report/read.js';
import type { ResultFile } from '../../harness/model/result.js';
import { prng } from '../../core/prng.js';
import type { Protocol } from '../../harness/scenario/schema.js';
import { client, result, runRecord, runsWithWorkload } from '../fixtures/synthetic.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'h3bench-compare-'));
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

/** A result of h2 and h3 whose per-run latencies are `base` × (1 ± noise), seeded. */
function noisy(
  seed: number,
  scale: { h2: number; h3: number },
  noise = 0.05,
  reps = 8,
  opts: { name?: string; extraYaml?: string } = {},
): ResultFile {
  const rand = prng(seed);
  const runs = (['h2', 'h3'] as Protocol[]).flatMap((p, k) =>
    runsWithWorkload(
      p,
      Array.from({ length: reps }, () => 100 * scale[p as 'h2' | 'h3'] * (1 + noise * (2 * rand() - 1))),
      k * reps,
    ),
  );
  return result(runs, { protocols: ['h2', 'h3'], runId: `run-${seed}`, ...opts });
}

describe('compareResults', () => {
  it('catches a 20% slowdown of h3 as a regression and leaves h2 alone', () => {
    const c = compareResults([noisy(1, { h2: 1, h3: 1 })], [noisy(2, { h2: 1, h3: 1.2 })], {
      threshold: 0.05,
    });
    const rows = c.scenarios[0]?.rows ?? [];
    expect(rows.find((r) => r.protocol === 'h3' && r.metric === 'workloadMs')?.verdict).toBe('regression');
    expect(rows.filter((r) => r.protocol === 'h2').every((r) => r.verdict === 'no change')).toBe(true);
    expect(c.regressions).toBeGreaterThan(0);
    const row = rows.find((r) => r.protocol === 'h3' && r.metric === 'workloadMs');
    expect(row?.relativeChange).toBeGreaterThan(0.1);
    expect(row?.ci95?.[0]).toBeGreaterThan(1.05);
  });

  it('does not flag noise: 20 pairs of same-distribution results give no regression', () => {
    for (let s = 0; s < 20; s++) {
      const c = compareResults([noisy(100 + s, { h2: 1, h3: 1 })], [noisy(200 + s, { h2: 1, h3: 1 })], {
        threshold: 0.05,
      });
      expect(c.regressions, `seed ${s}`).toBe(0);
    }
  });

  it('a significant change below the threshold is "no change"; a big speed-up is an improvement', () => {
    const small = compareResults(
      [noisy(3, { h2: 1, h3: 1 }, 0.005)],
      [noisy(4, { h2: 1, h3: 1.03 }, 0.005)],
      { threshold: 0.05 },
    );
    const r = small.scenarios[0]?.rows.find((x) => x.protocol === 'h3' && x.metric === 'workloadMs');
    expect(r?.ci95?.[0]).toBeGreaterThan(1);
    expect(r?.verdict).toBe('no change');
    const fast = compareResults([noisy(5, { h2: 1, h3: 1 })], [noisy(6, { h2: 1, h3: 0.7 })], {
      threshold: 0.05,
    });
    expect(fast.improvements).toBeGreaterThan(0);
    expect(fast.regressions).toBe(0);
  });

  it('one run per side is insufficient data, never a regression', () => {
    const c = compareResults([noisy(7, { h2: 1, h3: 1 }, 0.05, 1)], [noisy(8, { h2: 2, h3: 2 }, 0.05, 1)], {
      threshold: 0.05,
    });
    expect(c.regressions).toBe(0);
    expect(c.scenarios[0]?.rows.every((r) => r.verdict === 'insufficient data')).toBe(true);
  });

  it('refuses different scenarios (name, or network/transport/workload)', () => {
    expect(() =>
      compareResults([noisy(1, { h2: 1, h3: 1 })], [noisy(2, { h2: 1, h3: 1 }, 0.05, 8, { name: 'other' })], {
        threshold: 0.05,
      }),
    ).toThrow(CompareInputError);
    const otherWorkload = noisy(2, { h2: 1, h3: 1 }, 0.05, 8, { extraYaml: '' });
    otherWorkload.scenario = {
      ...otherWorkload.scenario,
      workload: { ...otherWorkload.scenario.workload, timeoutMs: 1 },
    };
    expect(() => compareResults([noisy(1, { h2: 1, h3: 1 })], [otherWorkload], { threshold: 0.05 })).toThrow(
      /workload differ/,
    );
  });

  it('pairs several results by scenario name and notes the unmatched ones', () => {
    const c = compareResults(
      [noisy(1, { h2: 1, h3: 1 }), noisy(3, { h2: 1, h3: 1 }, 0.05, 8, { name: 'gone' })],
      [noisy(2, { h2: 1, h3: 1 }), noisy(4, { h2: 1, h3: 1 }, 0.05, 8, { name: 'new' })],
      { threshold: 0.05 },
    );
    expect(c.scenarios.map((s) => s.scenario)).toEqual(['synthetic']);
    expect(c.notes.join('\n')).toMatch(/"new" has no baseline/);
    expect(c.notes.join('\n')).toMatch(/"gone" has no current result/);
  });

  it('renders Markdown and one history line per scenario', () => {
    const c = compareResults([noisy(1, { h2: 1, h3: 1 })], [noisy(2, { h2: 1, h3: 1.2 })], {
      threshold: 0.05,
    });
    const md = comparisonMarkdown(c);
    expect(md).toMatch(/\*\*\d+ significant regression\(s\) beyond 5%\*\*/);
    expect(md).toMatch(
      /\| h3 \| workload completion \| .* \| \+\d+\.\d% \[\+\d+\.\d%, \+\d+\.\d%\] \| 8→8 \| 🔴 regression \|/,
    );
    const lines = historyLines(c, new Date('2026-01-01T00:00:00Z'));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({
      scenario: 'synthetic',
      time: '2026-01-01T00:00:00.000Z',
      threshold: 0.05,
    });
  });
});

const SWEEP = 'sweep:\n  key: workload.concurrency\n  values: [1, 2]\n';

/** A sweep result of h2 and h3 over two points; `scale[i]` multiplies h3's latencies at point i. */
function noisySweep(seed: number, scale: [number, number], reps = 6, backend?: LinkBackend): ResultFile {
  const rand = prng(seed);
  let index = 0;
  const runs = [0, 1].flatMap((point) =>
    (['h2', 'h3'] as Protocol[]).flatMap((p) => {
      const ms = Array.from(
        { length: reps },
        () => 100 * (p === 'h3' ? scale[point as 0 | 1] : 1) * (1 + 0.05 * (2 * rand() - 1)),
      );
      const rs = runsWithWorkload(p, ms, index, { sweepIndex: point, ...(backend ? { backend } : {}) });
      index += reps;
      return rs;
    }),
  );
  return result(runs, { protocols: ['h2', 'h3'], runId: `sweep-${seed}`, extraYaml: SWEEP });
}

describe('compareResults on sweeps', () => {
  it('compares point by point: opposite changes at two points are not averaged away', () => {
    // h3 30% faster at point 0 and 30% slower at point 1: pooled, the medians barely move.
    const c = compareResults([noisySweep(1, [1, 1])], [noisySweep(2, [0.7, 1.3])], { threshold: 0.05 });
    const rows = c.scenarios[0]?.rows ?? [];
    expect(rows).toHaveLength(2 * 2 * 5);
    const wl = (point: number, p: string) =>
      rows.find((r) => r.point?.index === point && r.protocol === p && r.metric === 'workloadMs');
    expect(wl(0, 'h3')?.verdict).toBe('improvement');
    expect(wl(1, 'h3')?.verdict).toBe('regression');
    expect(wl(1, 'h3')?.point).toEqual({ index: 1, value: 2, label: 'workload.concurrency = 2' });
    expect(wl(1, 'h2')?.verdict).toBe('no change');
    expect(wl(0, 'h3')?.nCurrent).toBe(6);
    expect(c.regressions).toBeGreaterThan(0);
    expect(comparisonMarkdown(c)).toMatch(
      /\| workload\.concurrency = 2 \| h3 \| workload completion \| .* 🔴 regression \|/,
    );
    const hist = JSON.parse(historyLines(c)[0] ?? '{}') as { rows: { point?: { index: number } }[] };
    expect(hist.rows.some((r) => r.point?.index === 1)).toBe(true);
  });

  it('refuses results whose sweeps differ, or that used different emulator backends', () => {
    const other = noisySweep(2, [1, 1]);
    other.scenario = {
      ...other.scenario,
      sweep: other.scenario.sweep && { ...other.scenario.sweep, values: [1, 3] },
    };
    expect(() => compareResults([noisySweep(1, [1, 1])], [other], { threshold: 0.05 })).toThrow(
      /sweep \(workload\.concurrency over \[1, 2\] vs workload\.concurrency over \[1, 3\]\) differs/,
    );
    expect(() =>
      compareResults([noisy(1, { h2: 1, h3: 1 })], [noisySweep(2, [1, 1])], { threshold: 0.05 }),
    ).toThrow(CompareInputError);
    expect(() =>
      compareResults([noisySweep(1, [1, 1], 6, 'netem')], [noisySweep(2, [1, 1], 6, 'linkem')], {
        threshold: 0.05,
      }),
    ).toThrow(/emulator backend used \(netem vs linkem: not the same link\) differs/);
  });
});

describe('compareResults: failures and small samples', () => {
  /** h2 and h3 with `reps` runs each; h3's runs from `failFrom` on failed; `failedRequests` per h3 run. */
  function withFailures(
    seed: number,
    opts: { reps?: number; h3Scale?: number; failFrom?: number; failedRequests?: number } = {},
  ): ResultFile {
    const reps = opts.reps ?? 6;
    const rand = prng(seed);
    const runs = (['h2', 'h3'] as Protocol[]).flatMap((p, k) =>
      Array.from({ length: reps }, (_, i) => {
        const w = 100 * (p === 'h3' ? (opts.h3Scale ?? 1) : 1) * (1 + 0.05 * (2 * rand() - 1));
        const failing = p === 'h3' ? (opts.failedRequests ?? 0) : 0;
        const streams = [
          { data: [w], headers: w, end: w },
          ...Array.from({ length: failing }, () => ({ data: [1], end: null })),
        ];
        const failed = p === 'h3' && opts.failFrom !== undefined && i >= opts.failFrom;
        return runRecord(k * reps + i, i, client(p, streams), { ok: !failed });
      }),
    );
    return result(runs, { protocols: ['h2', 'h3'], runId: `fail-${seed}` });
  }
  const rel = (c: ReturnType<typeof compareResults>, p: string, check: string) =>
    c.scenarios[0]?.reliability.find((r) => r.protocol === p && r.check === check);

  it('fewer usable runs is a regression, even when the surviving runs got faster', () => {
    const c = compareResults([withFailures(1)], [withFailures(2, { h3Scale: 0.6, failFrom: 4 })], {
      threshold: 0.05,
    });
    expect(rel(c, 'h3', 'failed runs')).toMatchObject({
      verdict: 'regression',
      baseline: { failed: 0, of: 6 },
      current: { failed: 2, of: 6 },
    });
    const wl = c.scenarios[0]?.rows.find((r) => r.protocol === 'h3' && r.metric === 'workloadMs');
    expect(wl?.verdict).toBe('not comparable');
    expect(wl?.failedCurrent).toBe(2);
    expect(rel(c, 'h2', 'failed runs')?.verdict).toBe('no change');
    expect(c.regressions).toBe(1);
    expect(c.improvements).toBe(0);
    expect(comparisonMarkdown(c)).toMatch(
      /\| h3 \| failed runs \| 0\/6 \(0%\) \| 2\/6 \(33\.3%\) \| 🔴 regression \|/,
    );
  });

  it('a rise in failed requests is a regression', () => {
    const c = compareResults([withFailures(1)], [withFailures(2, { failedRequests: 1 })], {
      threshold: 0.05,
    });
    expect(rel(c, 'h3', 'failed requests')).toMatchObject({
      verdict: 'regression',
      baseline: { failed: 0, of: 6 },
      current: { failed: 6, of: 12 },
    });
    expect(rel(c, 'h3', 'failed runs')?.verdict).toBe('no change');
    expect(c.regressions).toBe(1);
  });

  it('three runs per side are insufficient data, however large the change', () => {
    const c = compareResults([noisy(7, { h2: 1, h3: 1 }, 0.01, 3)], [noisy(8, { h2: 1, h3: 2 }, 0.01, 3)], {
      threshold: 0.05,
    });
    expect(c.regressions).toBe(0);
    expect(c.scenarios[0]?.rows.every((r) => r.verdict === 'insufficient data')).toBe(true);
    expect(c.scenarios[0]?.rows.find((r) => r.protocol === 'h3')?.text).toMatch(
      /^too few runs for a verdict \(n=3; need 5\)/,
    );
  });
});

describe('h3bench compare (command)', () => {
  const write = (name: string, r: ResultFile): string => {
    const dir = path.join(tmp, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'result.json'), resultJson(r));
    return dir;
  };
  const base = write('base', noisy(1, { h2: 1, h3: 1 }));
  const same = write('same', noisy(2, { h2: 1, h3: 1 }));
  const slow = write('slow', noisy(3, { h2: 1, h3: 1.3 }));

  it('exits 0 without regression and 1 with one; --markdown and --history write files', () => {
    const md = path.join(tmp, 'summary.md');
    const hist = path.join(tmp, 'history.jsonl');
    expect(compareCommand([base, same, '--threshold', '5%', '--markdown', md, '--history', hist])).toBe(0);
    expect(compareCommand([base, slow, '--history', hist, '--metric', 'workloadMs,ttfbP50Ms'])).toBe(1);
    expect(readFileSync(md, 'utf8')).toMatch(/^# h3bench compare/);
    const lines = readFileSync(hist, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(2);
    expect((JSON.parse(lines[1] ?? '{}') as { rows: unknown[] }).rows).toHaveLength(4);
  });

  it('bad input is exit code 2: unknown schema version, missing path, bad flags', () => {
    const bad = path.join(tmp, 'bad');
    mkdirSync(bad, { recursive: true });
    writeFileSync(path.join(bad, 'result.json'), JSON.stringify({ schemaVersion: 7 }));
    const code = (f: () => unknown) => {
      try {
        f();
        return 0;
      } catch (err) {
        return (err as { exitCode?: number }).exitCode;
      }
    };
    expect(code(() => compareCommand([base, bad]))).toBe(2);
    expect(code(() => compareCommand([base, path.join(tmp, 'nope')]))).toBe(2);
    expect(code(() => compareCommand([base, same, '--threshold', 'x']))).toBe(2);
    expect(code(() => compareCommand([base, same, '--metric', 'nope']))).toBe(2);
    expect(code(() => compareCommand([base]))).toBe(2);
    expect(existsSync(path.join(tmp, 'nope'))).toBe(false);
  });
});
