/**
 * The DevTools pipe client (harness/workload/cdp.ts): NUL framing, commands answered by id, events,
 * the three ways a call fails (protocol error, timeout, the browser gone), and a launched "browser"
 * (a Node script speaking the pipe protocol on fds 3 and 4) always ended and its profile removed.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  CdpClient,
  CdpError,
  ChromiumProcess,
  NulFramer,
  descendants,
  parseProcStat,
} from '../../harness/workload/cdp.js';

describe('NulFramer', () => {
  it('splits on NUL bytes, joins messages split across chunks, keeps multi-byte characters whole', () => {
    const f = new NulFramer();
    expect(f.push(Buffer.from('{"a":1}\0{"b":'))).toEqual(['{"a":1}']);
    expect(f.buffered).toBe(5);
    const euro = Buffer.from('"€"', 'utf8');
    // The 3-byte € split between two chunks.
    expect(f.push(euro.subarray(0, 2))).toEqual([]);
    expect(f.push(Buffer.concat([euro.subarray(2), Buffer.from('}\0\0{"c":3}\0')]))).toEqual([
      '{"b":"€"}',
      '',
      '{"c":3}',
    ]);
    expect(f.buffered).toBe(0);
  });
});

/** A client on two in-memory pipes, and the browser's side of them. */
function fakePipes(timeoutMs = 1000) {
  const toBrowser = new PassThrough();
  const fromBrowser = new PassThrough();
  const sent: Record<string, unknown>[] = [];
  const framer = new NulFramer();
  toBrowser.on('data', (b: Buffer) => {
    for (const m of framer.push(b)) sent.push(JSON.parse(m) as Record<string, unknown>);
  });
  const client = new CdpClient(toBrowser, fromBrowser, timeoutMs);
  const reply = (msg: unknown) => fromBrowser.write(`${JSON.stringify(msg)}\0`);
  return { client, sent, reply, fromBrowser };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('CdpClient', () => {
  it('sends NUL-terminated JSON with increasing ids and resolves each answer by its id', async () => {
    const { client, sent, reply } = fakePipes();
    const a = client.send('Browser.getVersion');
    const b = client.send('Page.navigate', { url: 'https://x/' }, { sessionId: 'S1' });
    await flush();
    expect(sent).toEqual([
      { id: 1, method: 'Browser.getVersion', params: {} },
      { id: 2, method: 'Page.navigate', params: { url: 'https://x/' }, sessionId: 'S1' },
    ]);
    // Answers out of order, in one write.
    reply({ id: 2, result: { frameId: 'F' }, sessionId: 'S1' });
    reply({ id: 1, result: { product: 'Chrome/156' } });
    await expect(a).resolves.toEqual({ product: 'Chrome/156' });
    await expect(b).resolves.toEqual({ frameId: 'F' });
  });

  it('rejects a protocol error with the method, message, code and data', async () => {
    const { client, reply } = fakePipes();
    const p = client.send('Target.attachToTarget', { targetId: 'nope' });
    reply({ id: 1, error: { code: -32602, message: 'No target with given id found', data: 'nope' } });
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CdpError);
    expect((err as CdpError).kind).toBe('protocol');
    expect((err as CdpError).message).toBe(
      'Target.attachToTarget: No target with given id found [-32602] (nope)',
    );
  });

  it('rejects a command left unanswered with a timeout error, and ignores its late answer', async () => {
    const { client, reply } = fakePipes(50);
    const err = await client.send('Runtime.evaluate').catch((e: unknown) => e);
    expect((err as CdpError).kind).toBe('timeout');
    expect((err as CdpError).message).toMatch(/^Runtime\.evaluate: no answer from the browser within 50 ms$/);
    reply({ id: 1, result: {} });
    await flush();
    expect(client.error).toBeNull();
  });

  it('delivers events with their session to listeners, and waits for a matching one', async () => {
    const { client, reply } = fakePipes();
    const seen: string[] = [];
    const off = client.onEvent((e) => seen.push(`${e.method}@${e.sessionId ?? '-'}`));
    const waited = client.waitForEvent('Page.loadEventFired', 500, {
      sessionId: 'S1',
      match: (p) => p.timestamp === 2,
    });
    reply({ method: 'Page.loadEventFired', params: { timestamp: 1 }, sessionId: 'S1' });
    reply({ method: 'Page.loadEventFired', params: { timestamp: 2 }, sessionId: 'S2' });
    reply({ method: 'Page.loadEventFired', params: { timestamp: 2 }, sessionId: 'S1' });
    await expect(waited).resolves.toEqual({ timestamp: 2 });
    off();
    reply({ method: 'Target.targetCreated', params: {} });
    await flush();
    expect(seen).toEqual(['Page.loadEventFired@S1', 'Page.loadEventFired@S2', 'Page.loadEventFired@S1']);
  });

  it('fails everything pending, and every later call, once the browser closes its pipe', async () => {
    const { client, fromBrowser } = fakePipes();
    const pending = client.send('Page.navigate');
    const waiting = client.waitForEvent('Page.loadEventFired', 5000);
    fromBrowser.end();
    await expect(pending).rejects.toMatchObject({
      kind: 'exited',
      message: /^Page\.navigate: the browser closed/,
    });
    await expect(waiting).rejects.toMatchObject({ kind: 'exited' });
    await expect(client.send('Browser.close')).rejects.toMatchObject({ kind: 'exited' });
  });

  it('fails with a protocol error on a message that is not JSON', async () => {
    const { client, fromBrowser } = fakePipes();
    const pending = client.send('Browser.getVersion');
    fromBrowser.write('not json\0');
    await expect(pending).rejects.toMatchObject({ kind: 'protocol', message: /not JSON: not json/ });
  });
});

describe('/proc helpers', () => {
  it('parses a stat line whose command name has spaces and parentheses', () => {
    // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime ...
    const line = '4242 (Chrome_(IO) x) S 4200 4200 4200 0 -1 4194560 100 0 0 0 37 12 5 3 20 0 9 0';
    expect(parseProcStat(line)).toEqual({
      pid: 4242,
      ppid: 4200,
      state: 'S',
      userTicks: 42,
      systemTicks: 15,
    });
    expect(parseProcStat('garbage')).toBeNull();
  });

  it('finds a process and all its descendants, not its siblings', () => {
    const table = new Map([
      [1, { ppid: 0 }],
      [10, { ppid: 1 }],
      [11, { ppid: 10 }],
      [12, { ppid: 11 }],
      [13, { ppid: 10 }],
      [20, { ppid: 1 }],
    ]);
    expect(descendants(10, table).sort()).toEqual([10, 11, 12, 13]);
    expect(descendants(99, table)).toEqual([]);
  });
});

/**
 * A stand-in browser: reads commands on fd 3, answers on fd 4; `Browser.getVersion` answers,
 * `Browser.close` exits unless the mode says to hang, `Crash` exits 3 after a line on stderr. It
 * leaves a file in its profile directory, as a browser would.
 */
const FAKE_BROWSER = `
const fs = require('node:fs');
const mode = process.argv[2];
const dir = process.argv.find((a) => a.startsWith('--user-data-dir=')).slice('--user-data-dir='.length);
fs.writeFileSync(dir + '/Local State', '{}');
const out = fs.createWriteStream(null, { fd: 4 });
const send = (m) => out.write(JSON.stringify(m) + '\\0');
let buf = '';
fs.createReadStream(null, { fd: 3 }).on('data', (d) => {
  buf += d.toString();
  let i;
  while ((i = buf.indexOf('\\0')) >= 0) {
    const m = JSON.parse(buf.slice(0, i));
    buf = buf.slice(i + 1);
    if (m.method === 'Browser.getVersion') send({ id: m.id, result: { product: 'Fake/1.0' } });
    else if (m.method === 'Browser.close' && mode !== 'hang') { send({ id: m.id, result: {} }); process.exit(0); }
    else if (m.method === 'Crash') { process.stderr.write('fake: about to crash\\n'); process.exit(3); }
  }
});
setInterval(() => {}, 1000);
`;

describe('ChromiumProcess', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'h3bench-cdp-test-'));
  const script = path.join(dir, 'fake-browser.cjs');
  writeFileSync(script, FAKE_BROWSER);
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  // Every browser a test starts is closed after it, also when an assertion failed half-way.
  const launched: ChromiumProcess[] = [];
  afterEach(async () => {
    await Promise.all(launched.splice(0).map((b) => b.close(300)));
  });
  const launch = (mode: string, executable = process.execPath) => {
    const b = ChromiumProcess.launch({ executable, args: [script, mode], commandTimeoutMs: 2000 });
    launched.push(b);
    return b;
  };

  it('talks over fds 3 and 4, passes the profile directory, and removes it when closed', async () => {
    const b = launch('normal');
    expect(b.argv).toEqual([
      process.execPath,
      script,
      'normal',
      `--user-data-dir=${b.profileDir}`,
      '--remote-debugging-pipe',
    ]);
    await expect(b.cdp.send('Browser.getVersion')).resolves.toEqual({ product: 'Fake/1.0' });
    expect(readFileSync(path.join(b.profileDir, 'Local State'), 'utf8')).toBe('{}');
    expect(b.processTree()).toContain(b.pid);
    await b.close();
    expect(await b.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(b.profileDir)).toBe(false);
    expect(b.survivors()).toEqual([]);
    await expect(b.cdp.send('Browser.getVersion')).rejects.toMatchObject({ kind: 'exited' });
  });

  it('kills a browser that ignores Browser.close after the grace period', async () => {
    const b = launch('hang');
    await b.cdp.send('Browser.getVersion');
    const t = Date.now();
    await b.close(300);
    expect(Date.now() - t).toBeGreaterThanOrEqual(250);
    expect((await b.exited).signal).toBe('SIGKILL');
    expect(existsSync(b.profileDir)).toBe(false);
  });

  it('fails pending commands with the exit status and the last stderr lines when the browser dies', async () => {
    const b = launch('normal');
    await b.cdp.send('Browser.getVersion');
    const err = await b.cdp.send('Crash').catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'exited' });
    expect((err as Error).message).toMatch(
      /^Crash: the browser exited with status 3; stderr: fake: about to crash$/,
    );
    await b.close();
    expect(existsSync(b.profileDir)).toBe(false);
  });

  it('reports a binary that cannot start as an exited browser', async () => {
    const b = launch('normal', path.join(dir, 'no-such-browser'));
    await expect(b.cdp.send('Browser.getVersion')).rejects.toMatchObject({
      kind: 'exited',
      message: /could not start .*no-such-browser: spawn .* ENOENT/,
    });
    await b.close();
    expect(existsSync(b.profileDir)).toBe(false);
  });
});
