/**
 * `h3bench netem selftest --quick` on three profiles (root only): a lossless rate-limited path, a
 * bursty-loss asymmetric path with a packet queue, and a jittery lossy path without a rate limit.
 * Each must pass every check. Needs `npm run build` first.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { SelftestResult } from '../../link/selftest.js';

const root = process.getuid?.() === 0;
const repo = path.resolve(import.meta.dirname, '../..');
const cli = path.join(repo, 'dist/harness/cli/main.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'h3bench-selftest-'));
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

const PROFILES: Record<string, string> = {
  'lossless-40ms': 'network:\n  backend: auto\n  rtt: 40ms\n  rate: 20mbit\n  queue: 30ms\n',
  'bursty-asym':
    'network:\n  backend: auto\n  rtt: 60ms\n  rate: { down: 8mbit, up: 2mbit }\n  loss: { rate: 2%, meanBurst: 2 }\n  queue: 40\n',
  'jitter-loss': 'network:\n  backend: auto\n  delay: 15ms\n  jitter: 3ms\n  loss: 1%\n',
};

function selftest(file: string): Promise<{ code: number; result: SelftestResult | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cli, 'netem', 'selftest', file, '--quick', '--json'],
      { cwd: repo, timeout: 120_000 },
      (err, stdout, stderr) => {
        const code =
          err === null
            ? 0
            : typeof (err as { code?: unknown }).code === 'number'
              ? (err as { code: number }).code
              : -1;
        let result: SelftestResult | null = null;
        try {
          result = JSON.parse(stdout) as SelftestResult;
        } catch {
          /* no JSON: reported through code/stderr */
        }
        resolve({ code, result, stderr });
      },
    );
  });
}

describe.skipIf(!root)('h3bench netem selftest (needs root; skipped otherwise)', () => {
  for (const [name, yaml] of Object.entries(PROFILES)) {
    it(`passes for ${name}`, async () => {
      const file = path.join(tmp, `${name}.yaml`);
      writeFileSync(file, yaml);
      // A measurement on a shared 2-core VM: one retry absorbs a burst of load from other jobs.
      let r = await selftest(file);
      if (r.code !== 0) r = await selftest(file);
      const failed = r.result?.checks.filter((c) => c.ok === false) ?? [];
      expect(failed, JSON.stringify(failed, null, 2)).toEqual([]);
      expect(r.code, r.stderr).toBe(0);
      const names = r.result?.checks.map((c) => c.name) ?? [];
      expect(names).toEqual(
        expect.arrayContaining(['RTT p50 (idle)', 'RTT p99 (idle)', 'loss down', 'loss up']),
      );
      if (name !== 'jitter-loss') {
        expect(names).toEqual(
          expect.arrayContaining([
            'UDP goodput down',
            'UDP goodput up',
            'queueing delay down (saturated)',
            'TCP goodput down',
          ]),
        );
      }
      if (name === 'bursty-asym') expect(names).toContain('mean loss burst down');
    });
  }
});
