/**
 * The UDP echo pair of the fidelity probe's Node fallback, both sides of its contract: udp-echo (in
 * the server namespace) returns every datagram to its sender; udp-ping (in the client namespace)
 * sends COUNT datagrams of SIZE bytes, sequence number in the first 4 (big-endian), one every
 * INTERVAL_MS, waits WAIT_MS after the last and prints one JSON line. Argument lists are built and
 * parsed here, and the ping's line is validated on read, so the parent gets a typed UdpPingResult.
 */
import { z } from 'zod';
import { intArg, ipv4Arg, numberArg, portArg, positionals } from './cli.js';
import { ProgramOutputError, resultLine } from './launch.js';

export const UDP_ECHO_USAGE = 'udp-echo HOST PORT';
export const UDP_PING_USAGE = 'udp-ping HOST PORT COUNT INTERVAL_MS SIZE WAIT_MS';

/** Bytes at the start of every ping: its sequence number, u32 big-endian. */
export const PING_SEQ_BYTES = 4;
/** Largest UDP payload over IPv4. */
export const MAX_UDP_PAYLOAD = 65_507;

export interface UdpEchoArgs {
  /** IPv4 address to bind. */
  host: string;
  port: number;
}

export interface UdpPingArgs {
  /** IPv4 address of the echo server. */
  host: string;
  port: number;
  count: number;
  intervalMs: number;
  /** UDP payload bytes (≥ 4: the sequence number). */
  sizeBytes: number;
  /** How long to wait for echoes after the last send, ms. */
  waitMs: number;
}

/** What udp-ping prints. */
export interface UdpPingResult {
  sent: number;
  /** Round-trip time of each echo that came back, ms, in arrival order. */
  rttMs: number[];
}

export function udpEchoArgv(a: UdpEchoArgs): string[] {
  return [a.host, String(a.port)];
}

export function parseUdpEchoArgs(argv: readonly string[]): UdpEchoArgs {
  const [host = '', port = ''] = positionals(argv, ['HOST', 'PORT']);
  return { host: ipv4Arg('HOST', host), port: portArg(port) };
}

export function udpPingArgv(a: UdpPingArgs): string[] {
  return [a.host, a.port, a.count, a.intervalMs, a.sizeBytes, a.waitMs].map(String);
}

export function parseUdpPingArgs(argv: readonly string[]): UdpPingArgs {
  const [host = '', port = '', count = '', intervalMs = '', size = '', waitMs = ''] = positionals(argv, [
    'HOST',
    'PORT',
    'COUNT',
    'INTERVAL_MS',
    'SIZE',
    'WAIT_MS',
  ]);
  return {
    host: ipv4Arg('HOST', host),
    port: portArg(port),
    count: intArg('COUNT', count, 0, 1_000_000),
    intervalMs: numberArg('INTERVAL_MS', intervalMs, 0, 60_000),
    sizeBytes: intArg('SIZE', size, PING_SEQ_BYTES, MAX_UDP_PAYLOAD),
    waitMs: numberArg('WAIT_MS', waitMs, 0, 600_000),
  };
}

const udpPingSchema = z
  .strictObject({
    sent: z.number().int().nonnegative(),
    rttMs: z.array(z.number().nonnegative()),
  })
  .refine((r) => r.rttMs.length <= r.sent, { message: 'more echoes than pings sent' });

export function formatUdpPingResult(r: UdpPingResult): string {
  return JSON.stringify(r);
}

/** Validate udp-ping's stdout (one JSON line). */
export function parseUdpPingResult(stdout: string): UdpPingResult {
  const line = resultLine('udp-ping', stdout);
  try {
    return udpPingSchema.parse(JSON.parse(line));
  } catch (err) {
    throw new ProgramOutputError('udp-ping', line.slice(0, 300), { cause: err });
  }
}
