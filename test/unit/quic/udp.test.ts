/** The kernel UDP counters reader (udp.ts). */
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readUdpCounters } from '../../../harness/proto/quic/udp.js';

describe('readUdpCounters', () => {
  it('parses /proc/net/snmp', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'snmp-'));
    const file = path.join(dir, 'snmp');
    writeFileSync(
      file,
      [
        'Ip: Forwarding DefaultTTL',
        'Ip: 1 64',
        'Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors',
        'Udp: 100 0 7 90 5 1 0',
        'UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors',
        'UdpLite: 0 0 0 0 0 0 0',
      ].join('\n'),
    );
    expect(readUdpCounters(file)).toEqual({ rcvbufErrors: 5, sndbufErrors: 1, inErrors: 7 });
    expect(readUdpCounters(path.join(dir, 'missing'))).toBeNull();
  });
});
