/**
 * The compiled CLI on loopback (no root): Ctrl-C keeps the finished runs as a partial result and
 * exits 130 naming it; an alias bomb is bad input (exit 2); `serve` leaves no temporary directory.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { readResult } from '../../harness/report/read.js';
import { ALIAS_BOMB } from '../fixtures/alias-bomb.js';

const execFileP = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
const cli = path.join(root, 'dist/harness/cli/main.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'h3bench-lifecycle-'));
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

function collect(child: ChildProcess): { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  return { out: () => out, err: () => err };
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('h3bench run interrupted', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)(
    '%s keeps the finished runs as a partial result, prints its path and exits 130',
    async (sig) => {
      const out = path.join(tmp, `results-${sig}`);
      const file = path.join(tmp, 'loop.yaml');
      writeFileSync(
        file,
        'name: loop\nprotocols: [h1, h2]\nrepetitions: 20\nnetwork: { backend: none }\n' +
          'workload: { type: multiplex, requests: 20, size: 2KB, concurrency: 5, timeout: 10s }\n',
      );
      const child = spawn(process.execPath, [cli, 'run', file, '--out', out], { cwd: root });
      const io = collect(child);
      await until(() => /\[2\/40\] \S+ repetition 1: ok/.test(io.err()), 60_000, 'two finished runs');
      child.kill(sig);
      const [code] = (await once(child, 'exit')) as [number | null];
      expect(code).toBe(130);
      const dirs = readdirSync(out);
      expect(dirs).toHaveLength(1);
      const dir = dirs[0] ?? '';
      expect(dir).toMatch(/-partial$/);
      expect(io.err()).toContain(`kept in ${path.relative(root, path.join(out, dir))}`);
      const result = readResult(path.join(out, dir));
      expect(result.partial?.reason).toBe(`interrupted by ${sig}`);
      expect(result.partial?.runsPlanned).toBe(40);
      expect(result.partial?.runsDone).toBe(result.runs.length);
      expect(result.runs.length).toBeGreaterThanOrEqual(2);
      expect(result.runs.every((r) => r.ok)).toBe(true);
      expect(existsSync(path.join(out, dir, 'report.md'))).toBe(true);
    },
    90_000,
  );
});

describe('h3bench validate', () => {
  it('exits 2 on an alias bomb, naming the file', async () => {
    const file = path.join(tmp, 'bomb.yaml');
    writeFileSync(file, ALIAS_BOMB);
    const r = await execFileP(process.execPath, [cli, 'validate', file], { timeout: 30_000 }).then(
      () => ({ code: 0, stderr: '' }),
      (err: unknown) => {
        const e = err as { code?: number; stderr?: string };
        return { code: e.code ?? -1, stderr: e.stderr ?? '' };
      },
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('bomb.yaml');
    expect(r.stderr).toContain('alias expansions');
    expect(r.stderr).not.toContain('internal error');
  });
});

describe('h3bench serve', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)('removes its CA directory on %s', async (sig) => {
    const child = spawn(process.execPath, [cli, 'serve', '--protocols', 'h1', '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const io = collect(child);
    await until(() => /try: /.test(io.out()), 15_000, 'serve to start');
    const ca = /trust it to verify the server\): (\S+)/.exec(io.out())?.[1] ?? '';
    expect(existsSync(ca)).toBe(true);
    child.kill(sig);
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
    expect(existsSync(ca)).toBe(false);
    expect(existsSync(path.dirname(ca))).toBe(false);
  });
});
