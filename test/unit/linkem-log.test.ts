/**
 * linkem's binary packet log (format in link/linkem/README.md) and its flow hash.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { linkemFlowHash } from '../../link/linkem/flow.js';
import {
  LINKEM_LOG_RECORD_BYTES,
  parseLinkemLog,
  parseLinkemLogHeader,
  readLinkemDrops,
  type LinkemDrops,
} from '../../link/linkem/log.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'h3bench-linkem-log-'));
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

/** The drops as the orchestrator computed them before, from fully decoded records. */
function dropsOf(buf: Buffer): LinkemDrops {
  const log = parseLinkemLog(buf);
  const base = Number(log.header.baseMonotonicNs / 1000n) / 1000;
  const out: LinkemDrops = { dropTimesMonotonicMs: [], downDropTimesMonotonicMs: [], dropReasons: {} };
  for (const r of log.records) {
    if (r.event !== 'drop') continue;
    const t = Math.round((base + r.tNs / 1e6) * 1000) / 1000;
    out.dropTimesMonotonicMs.push(t);
    if (r.dir === 'down') out.downDropTimesMonotonicMs.push(t);
    const key = `${r.dir} ${r.reason ?? 'unknown'}`;
    out.dropReasons[key] = (out.dropReasons[key] ?? 0) + 1;
  }
  return out;
}

function fileOf(name: string, buf: Buffer): string {
  const file = path.join(tmp, name);
  writeFileSync(file, buf);
  return file;
}

/** A log as linkem writes it: fixed header, JSON, NUL padding to 32 bytes, then records. */
function makeLog(records: Buffer[], json = '{"mtu":1500,"argv":["linkem"]}'): Buffer {
  const fixed = 40;
  const headerBytes = Math.ceil((fixed + json.length + 1) / 32) * 32;
  const h = Buffer.alloc(headerBytes);
  h.write('LINKEMLG', 0, 'latin1');
  h.writeUInt32LE(1, 8);
  h.writeUInt32LE(headerBytes, 12);
  h.writeUInt32LE(32, 16);
  h.writeUInt32LE(json.length, 20);
  h.writeBigUInt64LE(123_000_000n, 24);
  h.writeBigUInt64LE(1_700_000_000_000_000_000n, 32);
  h.write(json, fixed, 'utf8');
  return Buffer.concat([h, ...records]);
}

function record(f: {
  t: number;
  aux: number;
  seq: number;
  flow: number;
  len: number;
  dir: number;
  ev: number;
  proto: number;
}): Buffer {
  const b = Buffer.alloc(LINKEM_LOG_RECORD_BYTES);
  b.writeBigUInt64LE(BigInt(f.t), 0);
  b.writeBigUInt64LE(BigInt(f.aux), 8);
  b.writeUInt32LE(f.seq, 16);
  b.writeUInt32LE(f.flow, 20);
  b.writeUInt16LE(f.len, 24);
  b.writeUInt8(f.dir, 26);
  b.writeUInt8(f.ev, 27);
  b.writeUInt8(f.proto, 28);
  return b;
}

describe('parseLinkemLog', () => {
  const log = makeLog([
    record({ t: 1000, aux: 21_000, seq: 0, flow: 99, len: 1378, dir: 0, ev: 0, proto: 17 }),
    record({ t: 21_050, aux: 21_000, seq: 0, flow: 99, len: 1378, dir: 0, ev: 1, proto: 17 }),
    record({ t: 22_000, aux: 0, seq: 1, flow: 99, len: 1378, dir: 1, ev: 2, proto: 6 }),
    record({ t: 23_000, aux: 0, seq: 2, flow: 99, len: 52, dir: 1, ev: 4, proto: 6 }),
  ]);

  it('parseLinkemLog reads the header base times and configuration', () => {
    const { header } = parseLinkemLog(log);
    expect(header.baseMonotonicNs).toBe(123_000_000n);
    expect(header.baseRealtimeNs).toBe(1_700_000_000_000_000_000n);
    expect(header.config).toEqual({ mtu: 1500, argv: ['linkem'] });
    expect(header.headerBytes % 32).toBe(0);
  });

  it('parseLinkemLog decodes enqueue, deliver and drops with their reason', () => {
    const { records, trailingBytes } = parseLinkemLog(log);
    expect(trailingBytes).toBe(0);
    expect(records).toEqual([
      { tNs: 1000, releaseNs: 21_000, seq: 0, flow: 99, ipLen: 1378, dir: 'up', event: 'enqueue', proto: 17 },
      {
        tNs: 21_050,
        releaseNs: 21_000,
        seq: 0,
        flow: 99,
        ipLen: 1378,
        dir: 'up',
        event: 'deliver',
        proto: 17,
      },
      {
        tNs: 22_000,
        releaseNs: null,
        seq: 1,
        flow: 99,
        ipLen: 1378,
        dir: 'down',
        event: 'drop',
        reason: 'loss',
        proto: 6,
      },
      {
        tNs: 23_000,
        releaseNs: null,
        seq: 2,
        flow: 99,
        ipLen: 52,
        dir: 'down',
        event: 'drop',
        reason: 'queue-bytes',
        proto: 6,
      },
    ]);
  });

  it('parseLinkemLog skips a partial last record and reports its size', () => {
    const cut = log.subarray(0, log.length - 5);
    const parsed = parseLinkemLog(cut);
    expect(parsed.records).toHaveLength(3);
    expect(parsed.trailingBytes).toBe(27);
  });

  it('parseLinkemLogHeader rejects every truncated prefix of the header cleanly', () => {
    const headerBytes = parseLinkemLogHeader(log).headerBytes;
    for (let n = 0; n < headerBytes; n++) {
      expect(() => parseLinkemLogHeader(log.subarray(0, n))).toThrow(/linkem log/);
    }
  });

  it('parseLinkemLogHeader rejects another magic or version', () => {
    const bad = Buffer.from(log);
    bad.write('XXXX', 0, 'latin1');
    expect(() => parseLinkemLogHeader(bad)).toThrow(/magic/);
    const v2 = Buffer.from(log);
    v2.writeUInt32LE(2, 8);
    expect(() => parseLinkemLogHeader(v2)).toThrow(/version 2/);
  });

  it('parseLinkemLog rejects an unknown event code', () => {
    const bad = makeLog([record({ t: 1, aux: 0, seq: 0, flow: 0, len: 20, dir: 0, ev: 9, proto: 0 })]);
    expect(() => parseLinkemLog(bad)).toThrow(/unknown event 9/);
  });
});

describe('readLinkemDrops', () => {
  // Every event code, both directions, times beyond 2^32 ns, a long header (JSON > 4 KiB).
  const records: Buffer[] = [];
  for (let i = 0; i < 5000; i++) {
    records.push(
      record({
        t: 5_000_000_000 + i * 1_234_567,
        aux: 0,
        seq: i,
        flow: 7,
        len: 1200,
        dir: i % 3 === 0 ? 1 : 0,
        ev: i % 7,
        proto: 17,
      }),
    );
  }
  const big = makeLog(records, JSON.stringify({ argv: ['linkem'], pad: 'x'.repeat(6000) }));

  it('returns what decoding every record gave, whatever the chunk size', async () => {
    const want = dropsOf(big);
    expect(want.dropTimesMonotonicMs.length).toBeGreaterThan(3000);
    const file = fileOf('big.log', big);
    expect(await readLinkemDrops(file)).toEqual(want);
    for (const chunk of [32, 96, 4000, 65_536]) expect(await readLinkemDrops(file, chunk)).toEqual(want);
    expect(Object.keys(want.dropReasons).sort()).toEqual(
      ['loss', 'queue-packets', 'queue-bytes', 'oversize', 'write-error']
        .flatMap((r) => [`up ${r}`, `down ${r}`])
        .sort(),
    );
  });

  it('skips a partial last record and reads a log with no records', async () => {
    const cut = big.subarray(0, big.length - 5);
    expect(await readLinkemDrops(fileOf('cut.log', cut), 64)).toEqual(dropsOf(cut));
    expect(await readLinkemDrops(fileOf('empty.log', makeLog([])))).toEqual({
      dropTimesMonotonicMs: [],
      downDropTimesMonotonicMs: [],
      dropReasons: {},
    });
  });

  it('rejects an unknown event code and a file that is not a log', async () => {
    const bad = makeLog([record({ t: 1, aux: 0, seq: 0, flow: 0, len: 20, dir: 0, ev: 9, proto: 0 })]);
    await expect(readLinkemDrops(fileOf('bad.log', bad))).rejects.toThrow(/unknown event 9/);
    await expect(readLinkemDrops(fileOf('junk.log', Buffer.from('hello')))).rejects.toThrow(/magic/);
  });
});

describe('linkemFlowHash', () => {
  it('linkemFlowHash equals the C hash for a known UDP tuple (linkem-selftest prints it)', () => {
    expect(
      linkemFlowHash({ src: '198.18.0.1', dst: '198.18.0.2', proto: 17, srcPort: 40000, dstPort: 443 }),
    ).toBe(71475311);
  });

  it('linkemFlowHash is symmetric and ignores ports of protocols without ports', () => {
    const a = linkemFlowHash({ src: '198.18.0.1', dst: '198.18.0.2', proto: 6, srcPort: 1, dstPort: 2 });
    expect(linkemFlowHash({ src: '198.18.0.2', dst: '198.18.0.1', proto: 6, srcPort: 2, dstPort: 1 })).toBe(
      a,
    );
    expect(linkemFlowHash({ src: '198.18.0.1', dst: '198.18.0.2', proto: 1, srcPort: 5 })).toBe(
      linkemFlowHash({ src: '198.18.0.1', dst: '198.18.0.2', proto: 1 }),
    );
  });

  it('linkemFlowHash reads IPv6 in every notation', () => {
    const full = linkemFlowHash({
      src: '2001:db8:0:0:0:0:0:1',
      dst: '2001:db8::2',
      proto: 17,
      srcPort: 1,
      dstPort: 2,
    });
    expect(
      linkemFlowHash({ src: '2001:db8::1', dst: '2001:db8:0::2', proto: 17, srcPort: 1, dstPort: 2 }),
    ).toBe(full);
    expect(linkemFlowHash({ src: '::ffff:198.18.0.1', dst: '::1', proto: 17 })).toBe(
      linkemFlowHash({ src: '0:0:0:0:0:ffff:c612:1', dst: '::1', proto: 17 }),
    );
    expect(() => linkemFlowHash({ src: '1::2::3', dst: '::1', proto: 17 })).toThrow(/::/);
  });
});
