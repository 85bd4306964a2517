/**
 * `h3bench serve` and `h3bench fetch` as a user runs them: the compiled CLI in child processes on
 * loopback.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const execFileP = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
const cli = path.join(root, 'dist/harness/cli/main.js');

async function h3bench(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileP(process.execPath, [cli, ...args], { timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('h3bench serve + fetch (h1, h2)', () => {
  let server: ChildProcess;
  let port = 0;
  let ca = '';

  beforeAll(async () => {
    server = spawn(process.execPath, [cli, 'serve', '--protocols', 'h1,h2', '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    server.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    const deadline = Date.now() + 15_000;
    while (!/try: /.test(out)) {
      if (Date.now() > deadline) throw new Error(`serve did not start: ${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    port = Number(/tcp 127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
    ca = /trust it to verify the server\): (\S+)/.exec(out)?.[1] ?? '';
  });
  afterAll(async () => {
    server.kill('SIGINT');
    await once(server, 'exit');
  });

  it.each([
    ['h1', 'HTTP/1.1 200'],
    ['h2', 'HTTP/2 200'],
  ])(
    'fetches over %s with a verified certificate and prints the timing breakdown',
    async (protocol, status) => {
      const r = await h3bench([
        'fetch',
        '--protocol',
        protocol,
        '--cacert',
        ca,
        `https://localhost:${port}/bytes/12345`,
      ]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout.split('\n')[0]).toBe(status);
      expect(r.stdout).toContain('content-length: 12345');
      expect(r.stdout).toMatch(/^body +12345 bytes/m);
      expect(r.stdout).toMatch(/^connect +\d+\.\d+ ms/m);
      expect(r.stdout).toMatch(/^tls +\d+\.\d+ ms/m);
      expect(r.stdout).toMatch(/^ttfb +\d+\.\d+ ms/m);
      expect(r.stdout).toMatch(/^total +\d+\.\d+ ms/m);
    },
  );

  it('fails certificate verification without the CA, and succeeds with --insecure', async () => {
    const bad = await h3bench(['fetch', `https://localhost:${port}/bytes/1`]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/fetch https:\/\/localhost:\d+\/bytes\/1 over h2 failed/);
    const ok = await h3bench(['fetch', '--insecure', `https://127.0.0.1:${port}/bytes/1`]);
    expect(ok.code).toBe(0);
  });

  it('prints a 404 with its status', async () => {
    const r = await h3bench(['fetch', '--insecure', `https://127.0.0.1:${port}/nothing`]);
    expect(r.stdout.split('\n')[0]).toBe('HTTP/2 404');
  });

  it.each([
    [['fetch', 'http://localhost/'], 'only https:// URLs'],
    [['fetch', '--protocol', 'h4', 'https://localhost/'], '--protocol: value error'],
    [['fetch'], 'expected exactly one URL'],
    [['serve', '--cert', '/nonexistent'], '--cert and --key: value error'],
    [['serve', '--port', '70000'], '--port: value error'],
  ])('exits 2 for %j', async (args, message) => {
    const r = await h3bench(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
  });
});
