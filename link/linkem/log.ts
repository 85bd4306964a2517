/**
 * Reading linkem's binary per-packet log (`--log FILE`; format in link/linkem/README.md): the whole
 * file in memory (tests, small logs) or only its drops, one chunk at a time (what a run records).
 */
import { open, readFile } from 'node:fs/promises';
import { z } from 'zod';
import { LinkemError } from './error.js';
import type { JsonObject } from '../../core/json.js';

export const LINKEM_LOG_MAGIC = 'LINKEMLG';
export const LINKEM_LOG_VERSION = 1;
export const LINKEM_LOG_RECORD_BYTES = 32;
const LOG_FIXED_HEADER_BYTES = 40;

export type LinkemDropReason = 'loss' | 'queue-packets' | 'queue-bytes' | 'oversize' | 'write-error';
const EVENT_CODES: readonly { event: 'enqueue' | 'deliver' | 'drop'; reason?: LinkemDropReason }[] = [
  { event: 'enqueue' },
  { event: 'deliver' },
  { event: 'drop', reason: 'loss' },
  { event: 'drop', reason: 'queue-packets' },
  { event: 'drop', reason: 'queue-bytes' },
  { event: 'drop', reason: 'oversize' },
  { event: 'drop', reason: 'write-error' },
];

export interface LinkemLogHeader {
  version: number;
  headerBytes: number;
  recordBytes: number;
  /** CLOCK_MONOTONIC at linkem's start, ns; record times are relative to it. */
  baseMonotonicNs: bigint;
  /** CLOCK_REALTIME matching baseMonotonicNs, ns since the epoch. */
  baseRealtimeNs: bigint;
  /** linkem's configuration and argv, as in READY. */
  config: JsonObject;
}

export interface LinkemLogRecord {
  /** Event time, ns since the header's base. */
  tNs: number;
  /** Scheduled release, ns since base (enqueue and deliver); null for drops. */
  releaseNs: number | null;
  /** Arrival index within the direction, from 0, drops included. */
  seq: number;
  /** Symmetric 5-tuple hash (linkemFlowHash). */
  flow: number;
  /** IP packet length, bytes. */
  ipLen: number;
  dir: 'up' | 'down';
  event: 'enqueue' | 'deliver' | 'drop';
  /** Why a packet was dropped (drops only). */
  reason?: LinkemDropReason;
  /** IP protocol number (6 TCP, 17 UDP, …); 0 if not IP. */
  proto: number;
}

/** Parse the header of a packet log. */
export function parseLinkemLogHeader(buf: Buffer): LinkemLogHeader {
  if (buf.length < LOG_FIXED_HEADER_BYTES || buf.toString('latin1', 0, 8) !== LINKEM_LOG_MAGIC) {
    throw new LinkemError(`Cannot read linkem log: missing "${LINKEM_LOG_MAGIC}" magic`);
  }
  const version = buf.readUInt32LE(8);
  const headerBytes = buf.readUInt32LE(12);
  const recordBytes = buf.readUInt32LE(16);
  const jsonBytes = buf.readUInt32LE(20);
  if (version !== LINKEM_LOG_VERSION || recordBytes !== LINKEM_LOG_RECORD_BYTES) {
    throw new LinkemError(
      `Cannot read linkem log: version ${version}, record size ${recordBytes} (this reader knows version ${LINKEM_LOG_VERSION}, ${LINKEM_LOG_RECORD_BYTES} bytes)`,
    );
  }
  if (headerBytes > buf.length || LOG_FIXED_HEADER_BYTES + jsonBytes > headerBytes) {
    throw new LinkemError('Cannot read linkem log: header is truncated');
  }
  let config: JsonObject;
  try {
    config = z
      .record(z.string(), z.json())
      .parse(JSON.parse(buf.toString('utf8', LOG_FIXED_HEADER_BYTES, LOG_FIXED_HEADER_BYTES + jsonBytes)));
  } catch (err) {
    throw new LinkemError('Cannot read linkem log: header JSON is invalid', { cause: err });
  }
  return {
    version,
    headerBytes,
    recordBytes,
    baseMonotonicNs: buf.readBigUInt64LE(24),
    baseRealtimeNs: buf.readBigUInt64LE(32),
    config,
  };
}

/** Decode the record at byte offset `at`. */
function decodeRecord(buf: Buffer, at: number): LinkemLogRecord {
  const code = buf.readUInt8(at + 27);
  const kind = EVENT_CODES[code];
  if (kind === undefined)
    throw new LinkemError(`Cannot read linkem log: unknown event ${code} at byte ${at}`);
  const release = Number(buf.readBigUInt64LE(at + 8));
  const rec: LinkemLogRecord = {
    tNs: Number(buf.readBigUInt64LE(at)),
    releaseNs: kind.event === 'drop' ? null : release,
    seq: buf.readUInt32LE(at + 16),
    flow: buf.readUInt32LE(at + 20),
    ipLen: buf.readUInt16LE(at + 24),
    dir: buf.readUInt8(at + 26) === 0 ? 'up' : 'down',
    event: kind.event,
    proto: buf.readUInt8(at + 28),
  };
  if (kind.reason !== undefined) rec.reason = kind.reason;
  return rec;
}

/** Records of a log, one at a time (a partial record at the end, from a crash, is skipped). */
export function* linkemLogRecords(
  buf: Buffer,
  header = parseLinkemLogHeader(buf),
): Generator<LinkemLogRecord> {
  for (let at = header.headerBytes; at + header.recordBytes <= buf.length; at += header.recordBytes) {
    yield decodeRecord(buf, at);
  }
}

export interface LinkemLog {
  header: LinkemLogHeader;
  records: LinkemLogRecord[];
  /** Bytes after the last whole record (non-zero only if linkem was killed mid-write). */
  trailingBytes: number;
}

/** Parse a whole log held in memory. */
export function parseLinkemLog(buf: Buffer): LinkemLog {
  const header = parseLinkemLogHeader(buf);
  const records = [...linkemLogRecords(buf, header)];
  return { header, records, trailingBytes: (buf.length - header.headerBytes) % header.recordBytes };
}

/** Read and parse a log file written with `--log` (whole, in memory: tests and small logs only). */
export async function readLinkemLog(file: string): Promise<LinkemLog> {
  return parseLinkemLog(await readFile(file));
}

/** Every drop in a packet log. */
export interface LinkemDrops {
  /** CLOCK_MONOTONIC time of each drop, ms (3 decimals), in log order. */
  dropTimesMonotonicMs: number[];
  /** The subset dropped in the down direction (server → client, the responses' way), same unit. */
  downDropTimesMonotonicMs: number[];
  /** Drops per "<dir> <reason>", e.g. "up loss": 12. */
  dropReasons: Record<string, number>;
}

/** Event codes of drops (see EVENT_CODES): the first one, and the keys per direction. */
const FIRST_DROP_CODE = EVENT_CODES.findIndex((e) => e.event === 'drop');
const DROP_KEYS = (['up', 'down'] as const).map((dir) =>
  EVENT_CODES.map((e) => (e.event === 'drop' ? `${dir} ${e.reason ?? 'unknown'}` : '')),
);

/**
 * The drops of a packet log file, read in fixed-size chunks and decoded record by record in place:
 * memory stays at one chunk plus the drops, whatever the log's size (a bulk run logs millions of
 * records; only drops are wanted). A partial record at the end (linkem killed mid-write) is skipped.
 */
export async function readLinkemDrops(file: string, chunkBytes = 1 << 20): Promise<LinkemDrops> {
  const fh = await open(file, 'r');
  try {
    let head = Buffer.alloc(4096);
    let got = (await fh.read(head, 0, head.length, 0)).bytesRead;
    if (got >= LOG_FIXED_HEADER_BYTES) {
      const headerBytes = head.readUInt32LE(12);
      if (headerBytes > got && headerBytes <= 1 << 24) {
        head = Buffer.alloc(headerBytes);
        got = (await fh.read(head, 0, headerBytes, 0)).bytesRead;
      }
    }
    const header = parseLinkemLogHeader(head.subarray(0, got));
    const rec = header.recordBytes;
    const base = Number(header.baseMonotonicNs / 1000n) / 1000;
    const out: LinkemDrops = { dropTimesMonotonicMs: [], downDropTimesMonotonicMs: [], dropReasons: {} };
    const chunk = Buffer.allocUnsafe(Math.max(rec, chunkBytes - (chunkBytes % rec)));
    for (let pos = header.headerBytes; ;) {
      const { bytesRead } = await fh.read(chunk, 0, chunk.length, pos);
      const whole = bytesRead - (bytesRead % rec);
      if (whole === 0) break;
      for (let at = 0; at < whole; at += rec) {
        const code = chunk[at + 27] ?? 0;
        if (code < FIRST_DROP_CODE) continue;
        const down = chunk[at + 26] !== 0;
        const key = DROP_KEYS[down ? 1 : 0]?.[code];
        if (key === undefined || key === '') {
          throw new LinkemError(`Cannot read linkem log: unknown event ${code} at byte ${pos + at}`);
        }
        const tNs = chunk.readUInt32LE(at) + chunk.readUInt32LE(at + 4) * 0x1_0000_0000;
        const tMs = Math.round((base + tNs / 1e6) * 1000) / 1000;
        out.dropTimesMonotonicMs.push(tMs);
        if (down) out.downDropTimesMonotonicMs.push(tMs);
        out.dropReasons[key] = (out.dropReasons[key] ?? 0) + 1;
      }
      pos += whole;
    }
    return out;
  } finally {
    await fh.close();
  }
}
