/**
 * The helper programs of link/programs/ (tcp-source, tcp-sink, udp-echo, udp-ping): their argument
 * lists (built by the parent, parsed and checked by the program), the result lines the parent
 * validates on read, and the compiled programs themselves on loopback (no root needed): a bad
 * argument exits 2 with the usage, and each pair does its job.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { intArg, numberArg, ProgramUsageError } from '../../link/programs/cli.js';
import { programArgv, ProgramOutputError } from '../../link/programs/launch.js';
import {
  parseTcpSinkArgs,
  parseTcpSinkResult,
  parseTcpSourceArgs,
  tcpSinkArgv,
  tcpSourceArgv,
  type TcpSinkResult,
} from '../../link/programs/tcp.js';
import {
  parseUdpEchoArgs,
  parseUdpPingArgs,
  parseUdpPingResult,
  udpEchoArgv,
  udpPingArgv,
} from '../../link/programs/udp.js';

describe('argument lists', () => {
  it('round-trip through the argv the parent builds', () => {
    const source = { host: '198.18.0.2', port: 47002, bytes: 25_000_000 };
    expect(tcpSourceArgv(source)).toEqual(['198.18.0.2', '47002', '25000000']);
    expect(parseTcpSourceArgs(tcpSourceArgv(source))).toEqual(source);
    const sink = { host: '198.18.0.2', port: 47002, warmupMs: 1000 };
    expect(parseTcpSinkArgs(tcpSinkArgv(sink))).toEqual(sink);
    const echo = { host: '198.18.0.2', port: 47100 };
    expect(parseUdpEchoArgs(udpEchoArgv(echo))).toEqual(echo);
    const ping = { host: '198.18.0.2', port: 47100, count: 40, intervalMs: 5, sizeBytes: 64, waitMs: 581 };
    expect(udpPingArgv(ping)).toEqual(['198.18.0.2', '47100', '40', '5', '64', '581']);
    expect(parseUdpPingArgs(udpPingArgv(ping))).toEqual(ping);
    expect(parseUdpPingArgs(udpPingArgv({ ...ping, intervalMs: 0.25 })).intervalMs).toBe(0.25);
    expect(parseTcpSinkArgs(['::1', '80', '0']).host).toBe('::1');
  });

  it.each([
    ['tcp-source, too few', () => parseTcpSourceArgs(['198.18.0.2', '47002']), /expected 3 arguments/],
    ['tcp-source, host', () => parseTcpSourceArgs(['localhost', '1', '2']), /HOST "localhost"/],
    ['tcp-source, port 0', () => parseTcpSourceArgs(['198.18.0.2', '0', '2']), /PORT "0"/],
    ['tcp-source, port text', () => parseTcpSourceArgs(['198.18.0.2', '80x', '2']), /PORT "80x"/],
    ['tcp-source, bytes < 0', () => parseTcpSourceArgs(['198.18.0.2', '1', '-1']), /BYTES "-1"/],
    ['tcp-source, bytes 1.5', () => parseTcpSourceArgs(['198.18.0.2', '1', '1.5']), /not an integer/],
    ['tcp-sink, warm-up', () => parseTcpSinkArgs(['198.18.0.2', '1', 'NaN']), /WARMUP_MS "NaN"/],
    ['udp-echo, IPv6', () => parseUdpEchoArgs(['::1', '47100']), /not an IPv4 address/],
    ['udp-echo, too many', () => parseUdpEchoArgs(['198.18.0.2', '1', '2']), /expected 2 arguments/],
    ['udp-ping, size < 4', () => parseUdpPingArgs(['198.18.0.2', '1', '1', '1', '3', '1']), /SIZE "3"/],
    ['udp-ping, size > 65507', () => parseUdpPingArgs(['198.18.0.2', '1', '1', '1', '65508', '1']), /SIZE/],
    ['udp-ping, count', () => parseUdpPingArgs(['198.18.0.2', '1', '', '1', '64', '1']), /COUNT ""/],
    ['udp-ping, interval', () => parseUdpPingArgs(['198.18.0.2', '1', '1', '-5', '64', '1']), /INTERVAL_MS/],
  ])('rejects a bad argument: %s', (_, parse, message) => {
    expect(parse).toThrow(ProgramUsageError);
    expect(parse).toThrow(message);
  });

  it('numbers are decimal and bounded; blanks and hex are not numbers', () => {
    expect(numberArg('X', '1e3', 0, 10_000)).toBe(1000);
    expect(() => numberArg('X', ' ', 0, 1)).toThrow(ProgramUsageError);
    expect(() => intArg('X', '0x10', 0, 100)).toThrow(ProgramUsageError);
    expect(() => intArg('X', '101', 0, 100)).toThrow(/\[0, 100\]/);
  });
});

describe('result lines, validated on read', () => {
  const good: TcpSinkResult = {
    bytes: 1000,
    connectMs: 0.5,
    firstMs: 1,
    lastMs: 9,
    warmBytes: 500,
    warmAtMs: 5,
  };

  it('tcp-sink: one JSON line with consistent fields', () => {
    expect(parseTcpSinkResult(JSON.stringify(good) + '\n')).toEqual(good);
    const empty = { ...good, bytes: 0, firstMs: null, lastMs: null, warmBytes: null, warmAtMs: null };
    expect(parseTcpSinkResult(JSON.stringify(empty))).toEqual(empty);
  });

  it.each([
    ['no line', ''],
    ['two lines', `${JSON.stringify(good)}\n${JSON.stringify(good)}`],
    ['not JSON', 'bytes=1000'],
    ['a field missing', JSON.stringify({ ...good, connectMs: undefined })],
    ['an unknown field', JSON.stringify({ ...good, extra: 1 })],
    ['a string number', JSON.stringify({ ...good, bytes: '1000' })],
    ['negative time', JSON.stringify({ ...good, connectMs: -1 })],
    ['bytes but no first byte', JSON.stringify({ ...good, firstMs: null })],
    ['last before first', JSON.stringify({ ...good, firstMs: 10 })],
    ['warm-up half null', JSON.stringify({ ...good, warmAtMs: null })],
    ['warm bytes above bytes', JSON.stringify({ ...good, warmBytes: 2000 })],
  ])('tcp-sink: rejects %s', (_, stdout) => {
    expect(() => parseTcpSinkResult(stdout)).toThrow(ProgramOutputError);
  });

  it('udp-ping: sent and RTTs; never more echoes than pings', () => {
    expect(parseUdpPingResult('{"sent":3,"rttMs":[1.5,2]}\n')).toEqual({ sent: 3, rttMs: [1.5, 2] });
    expect(() => parseUdpPingResult('{"sent":1,"rttMs":[1,2]}')).toThrow(
      /Cannot read the result of udp-ping/,
    );
    expect(() => parseUdpPingResult('{"sent":1,"rttMs":[-1]}')).toThrow(ProgramOutputError);
    expect(() => parseUdpPingResult('{"sent":1.5,"rttMs":[]}')).toThrow(ProgramOutputError);
    expect(() => parseUdpPingResult('{"sent":1}')).toThrow(ProgramOutputError);
  });
});

/** Run a compiled program to its end. */
function runToEnd(argv: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const [cmd = '', ...args] = argv;
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}

/** Start a compiled server program and wait for its LISTENING line. */
function startServer(argv: string[]): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const [cmd = '', ...args] = argv;
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      if (d.includes('LISTENING')) resolve(child);
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      reject(new Error(`${argv[1] ?? ''} exited with ${code ?? 'a signal'} before LISTENING`));
    });
  });
}

const port = () => 20_000 + Math.floor(Math.random() * 20_000);

describe('the compiled programs (loopback)', () => {
  it.each([
    ['tcp-source', ['127.0.0.1', '1']],
    ['tcp-sink', ['127.0.0.1', 'http', '1000']],
    ['udp-echo', ['localhost', '47100']],
    ['udp-ping', ['127.0.0.1', '47100', '40', '5', '2', '100']],
  ] as const)('%s exits 2 with its usage on a bad argument', async (name, args) => {
    const r = await runToEnd(programArgv(name, args));
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`^${name}: .+\\nusage: ${name} `));
  });

  it('udp-ping gets every echo back from udp-echo', async () => {
    const p = port();
    const echo = await startServer(programArgv('udp-echo', udpEchoArgv({ host: '127.0.0.1', port: p })));
    try {
      const ping = { host: '127.0.0.1', port: p, count: 10, intervalMs: 2, sizeBytes: 64, waitMs: 200 };
      const r = await runToEnd(programArgv('udp-ping', udpPingArgv(ping)));
      expect(r.code).toBe(0);
      const result = parseUdpPingResult(r.stdout);
      expect(result.sent).toBe(10);
      expect(result.rttMs).toHaveLength(10);
      for (const rtt of result.rttMs) expect(rtt).toBeLessThan(200);
    } finally {
      echo.kill('SIGTERM');
    }
  });

  it('tcp-sink receives exactly what tcp-source sends, then tcp-source exits', async () => {
    const p = port();
    const bytes = 3 * 65_536 + 123;
    const source = await startServer(
      programArgv('tcp-source', tcpSourceArgv({ host: '127.0.0.1', port: p, bytes })),
    );
    const sourceExit = new Promise<number | null>((resolve) => source.once('exit', resolve));
    try {
      const r = await runToEnd(
        programArgv('tcp-sink', tcpSinkArgv({ host: '127.0.0.1', port: p, warmupMs: 0 })),
      );
      expect(r.code).toBe(0);
      const result = parseTcpSinkResult(r.stdout);
      expect(result.bytes).toBe(bytes);
      expect(result.firstMs).not.toBeNull();
      expect(result.warmBytes).not.toBeNull();
      expect(await sourceExit).toBe(0);
    } finally {
      source.kill('SIGKILL');
    }
  });

  it('a program ends within 2 s when the process that started it dies', async () => {
    // A parent that starts udp-echo, prints its pid and exits without stopping it (as a SIGKILLed
    // orchestrator would): the echo server is re-parented and must notice.
    const argv = programArgv('udp-echo', udpEchoArgv({ host: '127.0.0.1', port: port() }));
    const parentJs = [
      "const { spawn } = require('node:child_process');",
      "const c = spawn(process.argv[1], process.argv.slice(2), { stdio: ['ignore', 'ignore', 'ignore'] });",
      'console.log(c.pid);',
      'setTimeout(() => process.exit(0), 300);',
    ].join('\n');
    const r = await runToEnd([process.execPath, '-e', parentJs, ...argv]);
    expect(r.code).toBe(0);
    const pid = Number(r.stdout.trim());
    expect(Number.isSafeInteger(pid) && pid > 0).toBe(true);
    // Running (a zombie waiting for its new parent to reap it has ended).
    const alive = () => {
      try {
        return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      } catch {
        return false;
      }
    };
    const t0 = Date.now();
    while (alive() && Date.now() - t0 < 2000) await new Promise((res) => setTimeout(res, 50));
    const stillAlive = alive();
    console.log(`udp-echo gone after ${Date.now() - t0} ms`);
    if (stillAlive) process.kill(pid, 'SIGKILL');
    expect(stillAlive).toBe(false);
  });
});
