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
      /\| h3 \| workload completion \| .* \| \+\d+\.\d% \[\+\d+\.\d%, \+\d+\.\d%\] \| 8→8 \| paired \(8\) \| 🔴 regression \|/,
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

/**
 * Baseline/current pairs as two runs of one commit produce them: repetition i of both results met
 * the same emulator and workload draws (same seeds), which moves both runs alike (`shared`, here up
 * to ±50%), while the runs themselves differ by a little noise (±1.5%).
 */
describe('compareResults: paired by repetition (same seeds)', () => {
  const REPS = 5;
  /** Shared repetition effects: 1 ± 50%, the same for both sides of a comparison. */
  const conditions = (seed: number, reps = REPS): number[] => {
    const rand = prng(seed);
    return Array.from({ length: reps }, () => 1 + 0.5 * (2 * rand() - 1));
  };
  /** An h2-only result: run i takes 1000 ms × shared[i] × slow × (1 ± noise) (× chaos[i] if given). */
  function sameSeedRun(
    seed: number,
    shared: readonly number[],
    opts: { slow?: number; noise?: number; chaos?: Record<number, number>; runId?: string } = {},
  ): ResultFile {
    const rand = prng(seed);
    const noise = opts.noise ?? 0.015;
    const ms = shared.map(
      (e, i) => 1000 * e * (opts.slow ?? 1) * (1 + noise * (2 * rand() - 1)) * (opts.chaos?.[i] ?? 1),
    );
    return result(runsWithWorkload('h2', ms), { protocols: ['h2'], runId: opts.runId ?? `same-${seed}` });
  }
  const wl = (c: ReturnType<typeof compareResults>) =>
    c.scenarios[0]?.rows.find((r) => r.protocol === 'h2' && r.metric === 'workloadMs');
  const cmp = (b: ResultFile, c: ResultFile, threshold = 0.02) =>
    compareResults([b], [c], { threshold, metrics: ['workloadMs'] });

  it('two runs of one commit: paired interval within ±5%, no regression; unpaired it spans a doubling', () => {
    const shared = conditions(11);
    const c = cmp(sameSeedRun(1, shared), sameSeedRun(2, shared));
    const row = wl(c);
    expect(row).toMatchObject({ method: 'paired', pairs: 5, verdict: 'no change', kind: 'ratio' });
    const [lo, hi] = row?.relativeCi95 ?? [NaN, NaN];
    console.log(
      `paired compare, same commit: ${(100 * (row?.relativeChange ?? NaN)).toFixed(2)}% [${(100 * lo).toFixed(2)}%, ${(100 * hi).toFixed(2)}%]`,
    );
    expect(lo).toBeGreaterThan(-0.05);
    expect(hi).toBeLessThan(0.05);
    expect(c.regressions).toBe(0);
    expect(c.scenarios[0]?.pairing).toMatchObject({ sameSeeds: true, minPairs: 5, maxPairs: 5 });
    expect(comparisonMarkdown(c)).toMatch(/Runs paired by repetition: 5 pairs\./);
    expect(comparisonMarkdown(c)).toMatch(/\| 5→5 \| paired \(5\) \| no change \|/);
    // The same data without the pairing (the current run under another seed): the shared ±50%
    // repetition effect is seen twice and the interval is far wider.
    const other = sameSeedRun(2, shared);
    other.scenario = {
      ...other.scenario,
      seed: 4,
      network: { ...other.scenario.network, profile: { ...other.scenario.network.profile, seed: 4 } },
    };
    const u = wl(cmp(sameSeedRun(1, shared), other));
    expect(u?.method).toBe('unpaired');
    const [ulo, uhi] = u?.relativeCi95 ?? [NaN, NaN];
    console.log(`unpaired, same data: [${(100 * ulo).toFixed(1)}%, ${(100 * uhi).toFixed(1)}%]`);
    expect(uhi - ulo).toBeGreaterThan(5 * (hi - lo));
  });

  it('exit 0 for two same-seed runs, 1 for a 10% slowdown at --threshold 2%', () => {
    const shared = conditions(12);
    const dir = (name: string, r: ResultFile) => {
      const d = path.join(tmp, name);
      mkdirSync(d, { recursive: true });
      writeFileSync(path.join(d, 'result.json'), resultJson(r));
      return d;
    };
    const a = dir('paired-a', sameSeedRun(1, shared, { runId: 'paired-a' }));
    const b = dir('paired-b', sameSeedRun(2, shared, { runId: 'paired-b' }));
    const slow = dir('paired-slow', sameSeedRun(3, shared, { slow: 1.1, runId: 'paired-slow' }));
    expect(compareCommand([a, b, '--threshold', '2%'])).toBe(0);
    expect(compareCommand([a, slow, '--threshold', '2%'])).toBe(1);
  });

  it('a 10% slowdown in every repetition is a regression at threshold 2%', () => {
    for (let s = 0; s < 20; s++) {
      const shared = conditions(100 + s);
      const c = cmp(sameSeedRun(200 + s, shared), sameSeedRun(300 + s, shared, { slow: 1.1 }));
      const row = wl(c);
      expect(row?.method, `seed ${s}`).toBe('paired');
      expect(row?.verdict, `seed ${s}`).toBe('regression');
      expect(row?.relativeCi95?.[0], `seed ${s}`).toBeGreaterThan(0.02);
      expect(row?.relativeCi95?.[1], `seed ${s}`).toBeLessThan(0.18);
    }
  });

  it('one chaotic pair does not flip the verdict', () => {
    for (const chaos of [3, 1 / 3]) {
      for (const rep of [0, 2, 4]) {
        const shared = conditions(13);
        const aa = wl(cmp(sameSeedRun(1, shared), sameSeedRun(2, shared, { chaos: { [rep]: chaos } })));
        expect(aa?.verdict, `A/A, repetition ${rep} × ${chaos}`).toBe('no change');
        const slow = wl(
          cmp(sameSeedRun(1, shared), sameSeedRun(3, shared, { slow: 1.1, chaos: { [rep]: chaos } })),
        );
        expect(slow?.verdict, `slowdown, repetition ${rep} × ${chaos}`).toBe('regression');
      }
    }
  });

  it('different seeds: unpaired, with a note; too few complete pairs: unpaired, with a note', () => {
    const shared = conditions(14);
    const other = sameSeedRun(2, shared, { slow: 1.1 });
    other.scenario = {
      ...other.scenario,
      seed: 9,
      network: { ...other.scenario.network, profile: { ...other.scenario.network.profile, seed: 9 } },
    };
    const c = cmp(sameSeedRun(1, shared), other);
    expect(wl(c)).toMatchObject({ method: 'unpaired', pairs: 0 });
    expect(wl(c)?.verdict).toBe('no change');
    expect(c.scenarios[0]?.pairing.sameSeeds).toBe(false);
    expect(c.notes.join('\n')).toMatch(
      /not paired by repetition as the seeds differ \(seed 3 vs 9, network seed 3 vs 9\)/,
    );
    expect(comparisonMarkdown(c)).toMatch(/Runs unpaired: the seeds differ/);
    // 4 repetitions on the current side: 4 pairs < 5.
    const four = sameSeedRun(2, shared.slice(0, 4));
    const f = cmp(sameSeedRun(1, shared), four);
    expect(wl(f)).toMatchObject({ method: 'unpaired', pairs: 4, verdict: 'insufficient data' });
    expect(f.notes.join('\n')).toMatch(/h2: only 4 complete pairs of runs \(need 5/);
  });

  it('A/A: false alarms over 400 simulated same-seed pairs stay at or below 5%', () => {
    let significant = 0;
    let regressions = 0;
    const N = 400;
    for (let s = 0; s < N; s++) {
      const shared = conditions(1000 + s);
      // One chaotic repetition in five on average, on either side.
      const r = prng(5000 + s);
      const chaos: Record<number, number> = {};
      for (let i = 0; i < REPS; i++) if (r() < 0.2) chaos[i] = r() < 0.5 ? 2 + 3 * r() : 1 / (2 + 3 * r());
      const b = sameSeedRun(2000 + s, shared);
      const c = sameSeedRun(3000 + s, shared, { chaos });
      // Threshold 0: any interval excluding 1 counts as an alarm.
      const row = wl(cmp(b, c, 0));
      if (row?.verdict === 'regression' || row?.verdict === 'improvement') significant++;
      if (wl(cmp(b, c, 0.02))?.verdict === 'regression') regressions++;
    }
    console.log(
      `paired compare A/A: ${significant}/${N} significant at threshold 0, ${regressions}/${N} regressions at 2%`,
    );
    expect(significant / N).toBeLessThanOrEqual(0.05);
    expect(regressions / N).toBeLessThanOrEqual(0.025);
  }, 120_000);
});
