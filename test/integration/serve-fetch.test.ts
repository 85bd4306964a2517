/**
 * `h3bench serve` and `h3bench fetch` as a user runs them: the compiled CLI in child processes on
 * loopback.
 */
import { h3bench as runCli } from '../fixtures/cli.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOCUMENT_PATH, pageFiles } from '../../harness/proto/pages.js';
import { loadPageProfile } from '../../harness/scenario/pages.js';

const root = path.resolve(import.meta.dirname, '../..');
const cli = path.join(root, 'dist/harness/cli/main.js');

const h3bench = (args: string[]) => runCli(args, 30_000);

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

  it.each(['h1', 'h2'])('fetches the generated page and a subresource over %s', async (protocol) => {
    // serve's default page profile: median-mobile.
    const files = pageFiles(loadPageProfile('median-mobile'));
    const css = files.find((f) => f.kind === 'css');
    const img = files.find((f) => f.kind === 'img' && f.depth === 3);
    for (const f of [files[0], css, img]) {
      if (f === undefined) throw new Error('median-mobile has a document, CSS and depth-3 images');
      const r = await h3bench([
        'fetch',
        '--protocol',
        protocol,
        '--cacert',
        ca,
        `https://localhost:${port}${f.path}`,
      ]);
      expect(r.code).toBe(0);
      expect(r.stdout.split('\n')[0]).toBe(protocol === 'h1' ? 'HTTP/1.1 200' : 'HTTP/2 200');
      expect(r.stdout).toContain(`content-type: ${f.contentType}`);
      expect(r.stdout).toContain(`content-length: ${f.bytes}`);
      expect(r.stdout).toContain('cache-control: no-store');
      expect(r.stdout).toMatch(new RegExp(`^body +${f.bytes} bytes`, 'm'));
    }
    expect(files[0]?.path).toBe(DOCUMENT_PATH);
    const missing = await h3bench([
      'fetch',
      '--protocol',
      protocol,
      '--cacert',
      ca,
      `https://localhost:${port}/page/x.css`,
    ]);
    expect(missing.stdout).toMatch(/^HTTP\/[\d.]+ 404/);
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
    [['serve', '--h3-stack', 'quiche-9'], '--h3-stack: value error: must be one of quiche-0.18, quiche-0.29'],
    [['serve', '--page', 'nope'], '--page: value error: must be a page profile in scenarios/pages/ (one of '],
    [['fetch', '--h3-stack', 'x', 'https://localhost/'], '--h3-stack: value error'],
  ])('exits 2 for %j', async (args, message) => {
    const r = await h3bench(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
  });
});

async function startServe(args: string[]): Promise<{ child: ChildProcess; out: () => string }> {
  const child = spawn(process.execPath, [cli, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 20_000;
  while (!/try: /.test(out)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`serve did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, out: () => out };
}

describe.each(['quiche-0.18', 'quiche-0.29'])('h3bench serve --h3-stack %s + fetch', (stack) => {
  let serve: Awaited<ReturnType<typeof startServe>>;
  beforeAll(async () => {
    serve = await startServe(['--h3-stack', stack, '--port', '0', '--page', 'small']);
  }, 30_000);
  afterAll(async () => {
    serve.child.kill('SIGINT');
    await once(serve.child, 'exit');
  });

  it('serves h3 with that engine and h1/h2 beside it, and prints the SPKI hash and a Chromium command', async () => {
    const out = serve.out();
    const udp = Number(/serving h3 on udp 127\.0\.0\.1:(\d+) \((quiche-[\d.]+)\)/.exec(out)?.[1]);
    expect(out).toContain(`(${stack})`);
    const tcp = Number(/serving h1 \+ h2 on tcp 127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
    expect(udp).toBeGreaterThan(0);
    expect(tcp).toBeGreaterThan(0);
    // quiche-0.29's server also binds TCP on its UDP port, so h1/h2 take another one.
    if (stack === 'quiche-0.29') expect(tcp).not.toBe(udp);
    else expect(tcp).toBe(udp);
    const h3 = await h3bench([
      'fetch',
      '--protocol',
      'h3',
      '--h3-stack',
      stack,
      '--insecure',
      `https://127.0.0.1:${udp}/bytes/54321`,
    ]);
    expect(h3.stderr).toBe('');
    expect(h3.stdout.split('\n')[0]).toBe('HTTP/3 200');
    expect(h3.stdout).toMatch(/^body +54321 bytes/m);
    // The page (--page small) over h3 with that engine: the document and a depth-2 image.
    const files = pageFiles(loadPageProfile('small'));
    for (const f of [files[0], files.at(-1)]) {
      const r = await h3bench([
        'fetch',
        '--protocol',
        'h3',
        '--h3-stack',
        stack,
        '--insecure',
        `https://127.0.0.1:${udp}${f?.path ?? ''}`,
      ]);
      expect(r.stdout.split('\n')[0]).toBe('HTTP/3 200');
      expect(r.stdout).toContain(`content-type: ${f?.contentType ?? ''}`);
      expect(r.stdout).toMatch(new RegExp(`^body +${f?.bytes ?? -1} bytes`, 'm'));
    }
    expect(out).toMatch(
      /^page small: 9 files, 120000 bytes: https:\/\/127\.0\.0\.1:\d+\/page\/index\.html$/m,
    );
    const h2 = await h3bench(['fetch', '--protocol', 'h2', '--insecure', `https://127.0.0.1:${tcp}/bytes/7`]);
    expect(h2.stdout.split('\n')[0]).toBe('HTTP/2 200');
    expect(h2.stdout).toContain(`alt-svc: h3=":${udp}"`);
    // The SPKI hash, checked against openssl's: sha256 of the DER SubjectPublicKeyInfo, base64.
    const spki = /certificate SPKI sha256: (\S+)/.exec(out)?.[1] ?? '';
    expect(spki).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    if (stack === 'quiche-0.29') {
      expect(out).toMatch(/chromium over h3: not with quiche-0\.29: .*PACKET_TOO_LARGE/);
    } else {
      expect(out).toContain(
        `chromium over h3: chromium --headless=new --user-data-dir=$(mktemp -d) --enable-quic --origin-to-force-quic-on=127.0.0.1:${udp} --ignore-certificate-errors-spki-list=${spki} --dump-dom https://127.0.0.1:${udp}/page/index.html\n`,
      );
    }
  }, 60_000);
});
