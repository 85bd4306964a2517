/** The qlog writer: RFC 7464 framing, the qlog 0.3 JSON-SEQ header, bounded memory, the file on close. */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  MAX_PENDING_BYTES,
  QlogWriter,
  RECORD_SEPARATOR,
  jsonSeqRecord,
  qlogHeader,
  type QlogSink,
} from '../../../harness/proto/quic/qlog.js';

const header = {
  vantagePoint: 'client' as const,
  title: 'h3bench client',
  description: 'test',
  referenceTimeMs: 1_700_000_000_000,
  commonFields: { group_id: 'abcd' },
};

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/** Split a JSON-SEQ text into its records, checking the framing of each. */
function parseJsonSeq(text: string): unknown[] {
  expect(text.startsWith(RECORD_SEPARATOR)).toBe(true);
  return text
    .split(RECORD_SEPARATOR)
    .slice(1)
    .map((r) => {
      expect(r.endsWith('\n')).toBe(true);
      expect(r.slice(0, -1)).not.toContain('\n');
      return JSON.parse(r) as unknown;
    });
}

describe('qlog JSON-SEQ', () => {
  it('frames one record as 0x1E, JSON, newline', () => {
    expect(jsonSeqRecord({ a: 'x\ny' })).toBe('\x1e{"a":"x\\ny"}\n');
  });

  it('writes the header first, then the events, to the file on close', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'h3b-qlog-'));
    dirs.push(dir);
    const file = path.join(dir, 'client-abcd.sqlog');
    const w = new QlogWriter(file, header);
    w.event(0, 'connectivity:connection_started', { src_ip: '198.18.0.1' });
    w.event(12.3456, 'recovery:metrics_updated', { smoothed_rtt: 80 });
    await w.close(20);
    const recs = parseJsonSeq(await readFile(file, 'utf8'));
    expect(recs).toHaveLength(3);
    expect(recs[0]).toEqual(qlogHeader(header));
    expect(recs[0]).toMatchObject({
      qlog_version: '0.3',
      qlog_format: 'JSON-SEQ',
      trace: {
        vantage_point: { type: 'client' },
        common_fields: { time_format: 'relative', reference_time: 1_700_000_000_000, group_id: 'abcd' },
      },
    });
    expect(recs[2]).toEqual({ time: 12.346, name: 'recovery:metrics_updated', data: { smoothed_rtt: 80 } });
    // Closing again, or writing after close, changes nothing.
    w.event(30, 'generic:info', {});
    await w.close(30);
    expect(parseJsonSeq(await readFile(file, 'utf8'))).toHaveLength(3);
  });

  it('drops events while the sink is too far behind, and says so in the last record', async () => {
    let written = '';
    const sink: QlogSink = {
      writableLength: 0,
      write(c: string) {
        written += c;
        return true;
      },
      end(cb: () => void) {
        cb();
      },
    };
    const w = new QlogWriter('/nonexistent', header, sink);
    w.event(1, 'a:b', {});
    (sink as { writableLength: number }).writableLength = MAX_PENDING_BYTES + 1;
    w.event(2, 'a:c', {});
    w.event(3, 'a:d', {});
    (sink as { writableLength: number }).writableLength = 0;
    await w.close(4);
    const recs = parseJsonSeq(written) as { name?: string; data?: { message?: string } }[];
    expect(recs.map((r) => r.name)).toEqual([undefined, 'a:b', 'generic:info']);
    expect(recs[2]?.data?.message).toMatch(/^2 events dropped/);
  });
});
