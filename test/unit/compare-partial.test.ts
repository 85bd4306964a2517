/** `h3bench compare` refuses a partial result (exit 2) unless --allow-partial. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { H3BenchError } from '../../core/errors.js';
import { compareCommand } from '../../harness/cli/compare.js';
import { CompareInputError, compareResults, loadResults } from '../../harness/compare/compare.js';
import { readResult, resultJson } from '../../harness/report/read.js';
import type { ResultFile } from '../../harness/model/result.js';
import { result, runsWithWorkload } from '../fixtures/synthetic.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'h3bench-compare-partial-'));
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

function complete(runId: string): ResultFile {
  const runs = runsWithWorkload('h2', [100, 101, 99, 100, 102, 98], 0);
  return result(runs, { protocols: ['h2'], runId });
}

function partial(runId: string): ResultFile {
  return {
    ...complete(runId),
    partial: { reason: 'interrupted by SIGINT', runsPlanned: 10, runsDone: 6 },
  };
}

function write(r: ResultFile): string {
  const dir = path.join(tmp, r.runId);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'result.json'), resultJson(r));
  return dir;
}

function exitCode(fn: () => number): number {
  try {
    return fn();
  } catch (err) {
    if (err instanceof H3BenchError) return err.exitCode;
    throw err;
  }
}

describe('compare and partial results', () => {
  it('a partial result is written and read back with partial set', () => {
    expect(readResult(write(partial('p-read'))).partial).toEqual({
      reason: 'interrupted by SIGINT',
      runsPlanned: 10,
      runsDone: 6,
    });
  });

  it('compareResults refuses a partial side, naming it, unless allowPartial', () => {
    const base = complete('base');
    const cur = partial('cur');
    expect(() => compareResults([base], [cur], { threshold: 0.05 })).toThrow(CompareInputError);
    expect(() => compareResults([base], [cur], { threshold: 0.05 })).toThrow(
      /current "cur" of scenario ".*" is a partial result \(6 of 10 runs: interrupted by SIGINT\).*--allow-partial/,
    );
    expect(() => compareResults([cur], [base], { threshold: 0.05 })).toThrow(/baseline "cur"/);
    const c = compareResults([base], [cur], { threshold: 0.05, allowPartial: true });
    expect(c.notes.join('\n')).toContain('is a partial result');
    expect(compareResults([base], [complete('cur2')], { threshold: 0.05 }).notes.join()).not.toContain(
      'partial',
    );
  });

  it('h3bench compare exits 2 on a partial result and compares it with --allow-partial', () => {
    const base = write(complete('cli-base'));
    const cur = write(partial('cli-cur'));
    expect(exitCode(() => compareCommand([base, cur]))).toBe(2);
    expect(exitCode(() => compareCommand([base, cur, '--allow-partial']))).toBe(0);
  });

  it('a directory of results yields the newest complete one, the newest partial one only when allowed', () => {
    const dir = path.join(tmp, 'results-dir');
    mkdirSync(dir);
    const older = { ...complete('dir-old'), createdAt: '2026-01-01T00:00:00.000Z' };
    const newer = { ...partial('dir-new'), createdAt: '2026-01-02T00:00:00.000Z' };
    for (const r of [older, newer]) {
      mkdirSync(path.join(dir, r.runId));
      writeFileSync(path.join(dir, r.runId, 'result.json'), resultJson(r));
    }
    expect(loadResults(dir).map((r) => r.runId)).toEqual(['dir-old']);
    expect(loadResults(dir, true).map((r) => r.runId)).toEqual(['dir-new']);
  });
});
