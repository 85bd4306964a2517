/**
 * The runner's loop with adaptive repetitions: rounds run until the stopping rule says stop, and the
 * result records why (schema 6 `stopping`). Loopback (backend none), no root; the server and client
 * processes are the compiled ones (vitest's global setup builds dist/).
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readResult } from '../../harness/report/read.js';
import { loadScenario } from '../../harness/scenario/load.js';
import { runScenario } from '../../harness/runner/run.js';
import { readCheckpoint } from '../../harness/runner/checkpoint.js';
import { RESULT_SCHEMA_VERSION } from '../../harness/model/result.js';
import { lookConfidence } from '../../harness/measure/stopping.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'h3bench-adaptive-'));
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

function scenario(name: string, repetitions: string): ReturnType<typeof loadScenario> {
  const file = path.join(tmp, `${name}.yaml`);
  writeFileSync(
    file,
    `name: ${name}\nprotocols: [h1, h2]\nrepetitions: ${repetitions}\nnetwork: { backend: none }\n` +
      `workload: { type: multiplex, requests: 4, size: 1KB, concurrency: 4, timeout: 10s }\nreport: { formats: [json] }\n`,
  );
  return loadScenario(file);
}

describe('runScenario with adaptive repetitions', () => {
  it('stops on the time budget after min rounds, plans (and checkpoints) the max, and records why', async () => {
    const out = path.join(tmp, 'budget');
    const loaded = scenario('adaptive', '{min: 5, max: 40, target: 1%, budget: 1ms}');
    expect(loaded.scenario.repetitions).toBe(40);
    let runsPlanned: number | undefined;
    const totals = new Set<number>();
    const { result, dir } = await runScenario(loaded, {
      outRoot: out,
      onProgress: (ev) => {
        totals.add(ev.total);
      },
      onNotice: () => undefined,
      linkUp: async (network, transport, ctx) => {
        if (runsPlanned === undefined) {
          const temp = readdirSync(out).find((d) => d.startsWith('.tmp-'));
          runsPlanned = (await readCheckpoint(path.join(out, temp ?? ''))).header?.runsPlanned;
        }
        const { linkUp } = await import('../../link/index.js');
        return linkUp(network, transport, ctx);
      },
    });
    expect(runsPlanned).toBe(80);
    expect([...totals]).toEqual([80]);
    expect(result.partial).toBeUndefined();
    expect(result.runs).toHaveLength(10);
    expect(new Set(result.runs.map((r) => r.repetition))).toEqual(new Set([0, 1, 2, 3, 4]));
    expect(result.stopping).toMatchObject({
      reason: 'budget',
      rounds: 5,
      rule: 'bonferroni-looks',
      looks: 36,
      min: 5,
      max: 40,
      targetPct: 1,
      budgetMs: 1,
    });
    expect(result.stopping?.confidence).toBeCloseTo(lookConfidence({ min: 5, max: 40 }), 12);
    const workload = result.stopping?.contrasts.find((c) => c.metric === 'workloadMs');
    expect(workload).toMatchObject({ a: 'h2', b: 'h1', kind: 'ratio', decides: true, pairs: 5 });
    expect(workload?.minDetectableEffect).toBeGreaterThan(0);
    const back = readResult(dir);
    expect(back.schemaVersion).toBe(RESULT_SCHEMA_VERSION);
    expect(back.stopping).toEqual(result.stopping);
  }, 120_000);

  it('runs to max when the target is out of reach', async () => {
    const out = path.join(tmp, 'max');
    const { result } = await runScenario(scenario('tomax', '{min: 5, max: 6, target: 0.01%}'), {
      outRoot: out,
      onNotice: () => undefined,
    });
    expect(result.runs).toHaveLength(12);
    expect(result.stopping).toMatchObject({ reason: 'max-repetitions', rounds: 6, looks: 2 });
  }, 120_000);

  it('a fixed count records reason fixed at the nominal 95%', async () => {
    const out = path.join(tmp, 'fixed');
    const { result } = await runScenario(scenario('fixed', '1'), { outRoot: out, onNotice: () => undefined });
    expect(result.stopping).toMatchObject({
      reason: 'fixed',
      rounds: 1,
      rule: 'none',
      looks: 1,
      confidence: 0.95,
    });
  }, 60_000);
});
