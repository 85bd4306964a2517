/**
 * End to end: the compiled CLI runs scenarios/smoke.yaml into a temp directory and the result file
 * says what the issue promises; bad input exits 2 and writes nothing.
 */
import { h3bench as runCli } from '../fixtures/cli.js';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ResultFile } from '../../harness/model/result.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'h3bench-cli-'));
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

const h3bench = (args: string[]) => runCli(args, 120_000);

describe('h3bench run scenarios/smoke.yaml', () => {
  const out = path.join(tmp, 'results');

  it('runs h1 and h2, prints the table and writes a complete result', async () => {
    const r = await h3bench([
      'run',
      'scenarios/smoke.yaml',
      '--out',
      out,
      '--protocols',
      'h1,h2',
      '--repetitions',
      '2',
    ]);
    expect(r.stderr).toMatch(/\[4\/4\]/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^h1 /m);
    expect(r.stdout).toMatch(/^h2 /m);
    const dirs = readdirSync(out);
    expect(dirs).toHaveLength(1);
    const dir = path.join(out, dirs[0] ?? '');
    expect(readdirSync(dir).sort()).toEqual(expect.arrayContaining(['report.md', 'result.json']));
    expect(readdirSync(dir)).not.toContain('work');
    const result = JSON.parse(readFileSync(path.join(dir, 'result.json'), 'utf8')) as ResultFile;
    expect(result.schemaVersion).toBeGreaterThanOrEqual(1);
    expect(result.scenario.name).toBe('smoke');
    expect(result.scenarioHash).toMatch(/^[0-9a-f]{64}$/);
    expect(result.environment).toMatchObject({ node: process.version });
    expect(result.runs).toHaveLength(4);
    // Interleaved: each repetition has one run per protocol.
    for (const rep of [0, 1]) {
      expect(
        result.runs
          .filter((x) => x.repetition === rep)
          .map((x) => x.protocol)
          .sort(),
      ).toEqual(['h1', 'h2']);
    }
    for (const run of result.runs) {
      expect(run.ok).toBe(true);
      expect(run.client?.requests).toHaveLength(200);
      expect(run.client?.cpu.userMs).toBeGreaterThan(0);
      expect(run.server?.cpu.userMs).toBeGreaterThan(0);
      expect(run.server?.requests).toBe(200);
      const req = run.client?.requests[0];
      expect(req?.chunks.length).toBeGreaterThan(0);
      expect(req?.bytes).toBe(20_000);
    }
    for (const p of ['h1', 'h2'] as const) {
      const s = result.summary.protocols[p];
      expect(s?.requests).toMatchObject({ ok: 400, failed: 0 });
      expect(s?.completionMs.p50).toBeGreaterThan(0);
      expect(s?.ttfbMs.p50).toBeGreaterThan(0);
      expect(s?.ttfbMs.p50).toBeLessThanOrEqual(s?.completionMs.p50 ?? 0);
    }
    expect(readFileSync(path.join(dir, 'report.md'), 'utf8')).toMatch(/\| h2 \|/);
    // No key material reaches the results.
    expect(readFileSync(path.join(dir, 'result.json'), 'utf8')).not.toContain('PRIVATE KEY');
  });
});

describe('h3bench run with a sweep', () => {
  it('runs every point and summarises each', async () => {
    const file = path.join(tmp, 'sweep.yaml');
    writeFileSync(
      file,
      'name: sw\nprotocols: [h1, h2]\nrepetitions: 1\nworkload: { type: multiplex, requests: 20, size: 2KB }\nsweep: { key: workload.concurrency, values: [1, 5] }\n',
    );
    const out = path.join(tmp, 'sweep-results');
    const r = await h3bench(['run', file, '--out', out]);
    expect(r.stderr).toContain('× 2 values of workload.concurrency = 4 runs');
    expect(r.code).toBe(0);
    const dir = path.join(out, readdirSync(out)[0] ?? '');
    const result = JSON.parse(readFileSync(path.join(dir, 'result.json'), 'utf8')) as ResultFile;
    expect(result.runs.map((x) => x.sweepIndex).sort()).toEqual([0, 0, 1, 1]);
    expect(result.summary.sweep?.map((p) => p.value)).toEqual([1, 5]);
    expect(Object.keys(result.summary.sweep?.[1]?.protocols ?? {}).sort()).toEqual(['h1', 'h2']);
  });
});

describe('h3bench bad input', () => {
  const out = path.join(tmp, 'bad-results');

  it('exits 2 naming the file and key path for a malformed scenario, and writes nothing', async () => {
    const file = path.join(tmp, 'broken.yaml');
    writeFileSync(file, 'name: broken\nworkload:\n  type: multiplex\n  concurrency: lots\n');
    const r = await h3bench(['run', file, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('broken.yaml:4:');
    expect(r.stderr).toContain('workload.concurrency must be number: current value is "lots"');
    expect(() => readdirSync(out)).toThrow();
  });

  it.each([
    [['run', 'smoke', '--repetitions', 'many'], '--repetitions: value error'],
    [['run', 'smoke', '--protocols', 'h1,h9'], '--protocols: value error'],
    [['run', 'smoke', '--bogus'], "Unknown option '--bogus'"],
    [['run'], 'expected exactly one scenario'],
    [['run', 'no-such-scenario'], 'the file does not exist'],
    [['frobnicate'], 'unknown command "frobnicate"'],
  ])('exits 2 for %j', async (args, message) => {
    const r = await h3bench([...args, ...(args[0] === 'run' ? ['--out', out] : [])]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(() => readdirSync(out)).toThrow();
  });

  it('validate prints the resolved scenario and exits 0', async () => {
    const r = await h3bench(['validate', 'smoke']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      scenario: { name: 'smoke', workload: { sizeBytes: 20_000 } },
    });
  });

  it('has --help for every command', async () => {
    for (const cmd of ['run', 'validate', 'list']) {
      const r = await h3bench([cmd, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Usage: h3bench ${cmd}`);
    }
  });
});
