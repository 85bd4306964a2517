/**
 * Name validation of the namespace helpers (no root: nothing here touches the system).
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  CommandError,
  assertDeviceName,
  assertNamespaceName,
  MAX_DEVICE_NAME_LENGTH,
  NAMESPACE_NAME_RE,
  run,
  uniqueName,
  waitForLine,
} from '../../link/netns.js';

function node(script: string) {
  return spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('assertNamespaceName', () => {
  it('assertNamespaceName accepts h3b- names and rejects anything else', () => {
    expect(() => {
      assertNamespaceName('h3b-cli-0a1b2');
    }).not.toThrow();
    for (const bad of [
      '',
      'h3b-',
      'default',
      'h3b-UPPER',
      'h3b-a/b',
      'h3b-../x',
      'h3b-' + 'a'.repeat(21),
      ' h3b-a',
    ]) {
      expect(() => {
        assertNamespaceName(bad);
      }).toThrow(/h3b-/);
    }
  });

  it('assertDeviceName also enforces IFNAMSIZ', () => {
    expect(() => {
      assertDeviceName('h3b-tun-abcde');
    }).not.toThrow();
    expect(() => {
      assertDeviceName('h3b-tun-abcdefgh');
    }).toThrow(/15 characters/);
  });
});

describe('uniqueName', () => {
  it('uniqueName fits a device name and the namespace pattern, and does not repeat', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const n = uniqueName('srv');
      expect(n).toMatch(NAMESPACE_NAME_RE);
      expect(n.length).toBeLessThanOrEqual(MAX_DEVICE_NAME_LENGTH);
      seen.add(n);
    }
    expect(seen.size).toBe(2000);
    expect(uniqueName('abcde').length).toBe(15);
  });

  it('uniqueName rejects roles that would not fit', () => {
    expect(() => uniqueName('client')).toThrow(/role/);
    expect(() => uniqueName('A')).toThrow(/role/);
  });
});

describe('run', () => {
  it('run throws a CommandError naming the command, status and stderr', async () => {
    const err = await run([process.execPath, '-e', 'console.error("boom"); process.exit(3)']).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CommandError);
    const ce = err as CommandError;
    expect(ce.status).toBe(3);
    expect(ce.message).toMatch(/exit 3/);
    expect(ce.message).toMatch(/boom/);
    expect(ce.message).toContain(process.execPath);
  });

  it('run reports a missing executable as not found', async () => {
    await expect(run(['h3b-no-such-tool-xyz'])).rejects.toThrow(/not found/);
  });

  it('run accepts a fractional time limit', async () => {
    await expect(run([process.execPath, '-e', ''], { timeoutMs: 5000.5 })).resolves.toEqual({
      stdout: '',
      stderr: '',
    });
  });

  it('run kills a command at its time limit', async () => {
    await expect(
      run([process.execPath, '-e', 'setTimeout(() => {}, 10000)'], { timeoutMs: 200 }),
    ).rejects.toThrow(/timed out after 200 ms/);
  });
});

describe('waitForLine', () => {
  it('resolves on the line, even split across writes or last without a newline', async () => {
    const a = node(
      'process.stdout.write("hello\\nLIST"); setTimeout(() => { process.stdout.write("ENING\\n"); setTimeout(() => {}, 300); }, 50)',
    );
    await expect(waitForLine(a, 'LISTENING', 5000, 'a')).resolves.toBeUndefined();
    a.kill();
    const b = node('process.stdout.write("  LISTENING  ")');
    await expect(waitForLine(b, 'LISTENING', 5000, 'b')).resolves.toBeUndefined();
  });

  it('rejects with stderr when the child exits first, cannot start, or is too slow', async () => {
    const exits = node('console.error("bind failed"); process.exit(4)');
    await expect(waitForLine(exits, 'LISTENING', 5000, 'echo server')).rejects.toThrow(
      /^echo server exited \(status 4\) before LISTENING: bind failed$/,
    );
    const missing = spawn('/nonexistent/h3bench-no-such-binary', [], { stdio: ['ignore', 'pipe', 'pipe'] });
    await expect(waitForLine(missing, 'LISTENING', 5000, 'x')).rejects.toThrow(/could not start|exited/);
    const slow = node('setTimeout(() => {}, 5000)');
    class Custom extends Error {}
    await expect(waitForLine(slow, 'LISTENING', 100, 'slow', (m) => new Custom(m))).rejects.toBeInstanceOf(
      Custom,
    );
    slow.kill();
  });
});
