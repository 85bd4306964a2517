/**
 * The TCP goodput pair, both sides of its contract: tcp-source (in the server namespace) sends BYTES
 * to the first connection and exits; tcp-sink (in the client namespace) reads to the end and prints
 * one JSON line of timings. Argument lists are built and parsed here, and the sink's line is
 * validated on read, so the parent gets a typed TcpSinkResult.
 */
import { z } from 'zod';
import { intArg, ipArg, numberArg, portArg, positionals } from './cli.js';
import { ProgramOutputError, resultLine } from './launch.js';

export const TCP_SOURCE_USAGE = 'tcp-source HOST PORT BYTES';
export const TCP_SINK_USAGE = 'tcp-sink HOST PORT WARMUP_MS';

export interface TcpSourceArgs {
  /** Address to listen on. */
  host: string;
  port: number;
  /** Bytes sent to the first connection, then the server closes. */
  bytes: number;
}

export interface TcpSinkArgs {
  /** Address of the tcp-source. */
  host: string;
  port: number;
  /** `warmBytes`/`warmAtMs` are taken at the first data event this long after the first byte. */
  warmupMs: number;
}

/** What tcp-sink prints: ms since the sink started, before connecting. */
export interface TcpSinkResult {
  bytes: number;
  connectMs: number;
  /** First and last byte; null when nothing was received. */
  firstMs: number | null;
  lastMs: number | null;
  /** Bytes received by the end of the warm-up, and when; null if the transfer was shorter. */
  warmBytes: number | null;
  warmAtMs: number | null;
}

export function tcpSourceArgv(a: TcpSourceArgs): string[] {
  return [a.host, String(a.port), String(a.bytes)];
}

export function parseTcpSourceArgs(argv: readonly string[]): TcpSourceArgs {
  const [host = '', port = '', bytes = ''] = positionals(argv, ['HOST', 'PORT', 'BYTES']);
  return {
    host: ipArg('HOST', host),
    port: portArg(port),
    bytes: intArg('BYTES', bytes, 0, Number.MAX_SAFE_INTEGER),
  };
}

export function tcpSinkArgv(a: TcpSinkArgs): string[] {
  return [a.host, String(a.port), String(a.warmupMs)];
}

export function parseTcpSinkArgs(argv: readonly string[]): TcpSinkArgs {
  const [host = '', port = '', warmupMs = ''] = positionals(argv, ['HOST', 'PORT', 'WARMUP_MS']);
  return {
    host: ipArg('HOST', host),
    port: portArg(port),
    warmupMs: numberArg('WARMUP_MS', warmupMs, 0, 3_600_000),
  };
}

const ms = z.number().nonnegative();
const tcpSinkSchema = z
  .strictObject({
    bytes: z.number().int().nonnegative(),
    connectMs: ms,
    firstMs: ms.nullable(),
    lastMs: ms.nullable(),
    warmBytes: z.number().int().nonnegative().nullable(),
    warmAtMs: ms.nullable(),
  })
  .refine((r) => (r.firstMs === null) === (r.bytes === 0) && (r.lastMs === null) === (r.bytes === 0), {
    message: 'firstMs and lastMs are null exactly when no byte was received',
  })
  .refine((r) => r.firstMs === null || r.lastMs === null || r.firstMs <= r.lastMs, {
    message: 'firstMs is after lastMs',
  })
  .refine((r) => (r.warmBytes === null) === (r.warmAtMs === null), {
    message: 'warmBytes and warmAtMs are null together',
  })
  .refine((r) => r.warmBytes === null || r.warmBytes <= r.bytes, { message: 'warmBytes exceeds bytes' });

export function formatTcpSinkResult(r: TcpSinkResult): string {
  return JSON.stringify(r);
}

/** Validate tcp-sink's stdout (one JSON line). */
export function parseTcpSinkResult(stdout: string): TcpSinkResult {
  const line = resultLine('tcp-sink', stdout);
  try {
    return tcpSinkSchema.parse(JSON.parse(line));
  } catch (err) {
    throw new ProgramOutputError('tcp-sink', line.slice(0, 300), { cause: err });
  }
}
