/**
 * TCP sender telemetry without a kernel: tcpstat's lines (header, samples, END) parsed and
 * validated, series built from fabricated samples (columns, dedupe, counters, the TCP_CA_Loss count,
 * ssthresh before and after it is set), and the driver's process handling against a fake helper (a
 * shell script printing fixed lines), so no root and no C compiler are needed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  TCP_INFINITE_SSTHRESH,
  TCPSTAT_FIELDS,
  TIMEOUTS_FROM_KERNEL,
  TcpSeriesBuilder,
  TcpTelemetryError,
  TcpstatReader,
  parseTcpstatEnd,
  parseTcpstatHeader,
  parseTcpstatSample,
  recoveryState,
  startTcpTelemetry,
  tcpstatArgs,
  timeoutsFromSampler,
  type TcpstatSample,
} from '../../harness/runner/tcp-telemetry.js';

const HEADER = `TCPSTAT 1 kernel=6.1.0-test side=server port=443 interval_ms=10 discover_ms=auto family=all fields=${TCPSTAT_FIELDS.join(',')}`;
const END = 'END rounds=10 late=0 lines=3 sockets_max=1 dumps=2 lookups=8 dump_cpu_ms=1.250';

const base: TcpstatSample = {
  tMs: 1000,
  cookie: '1a',
  local: '198.18.0.2:443',
  peer: '198.18.0.1:51234',
  state: 1,
  caState: 0,
  cc: 'cubic',
  cwnd: 10,
  mss: 1448,
  ssthresh: TCP_INFINITE_SSTHRESH,
  rttUs: 40_000,
  minRttUs: 40_000,
  deliveryRate: 1_250_000,
  unacked: 10,
  sacked: 0,
  lost: 0,
  retrans: 0,
  totalRetrans: 0,
  segsOut: 12,
  dataSegsOut: 10,
  bytesSent: 14_480,
  bytesRetrans: 0,
  backoff: 0,
  retransmits: 0,
  totalRto: null,
};

/** The line tcpstat would print for a sample. */
function line(s: Partial<TcpstatSample> = {}): string {
  const x = { ...base, ...s };
  return [
    'S',
    x.tMs.toFixed(3),
    x.cookie,
    x.local,
    x.peer,
    x.state,
    x.caState,
    x.cc,
    x.cwnd,
    x.mss,
    x.ssthresh,
    x.rttUs,
    x.minRttUs,
    x.deliveryRate,
    x.unacked,
    x.sacked,
    x.lost,
    x.retrans,
    x.totalRetrans,
    x.segsOut,
    x.dataSegsOut,
    x.bytesSent,
    x.bytesRetrans,
    x.backoff,
    x.retransmits,
    x.totalRto ?? '-',
  ].join(' ');
}

function build(samples: Partial<TcpstatSample>[]) {
  const b = new TcpSeriesBuilder('server', '6.1.0-test', 10, '198.18.0.2:443 198.18.0.1:51234');
  let t = 1000;
  for (const s of samples) b.add({ ...base, tMs: (t += 10), ...s });
  const series = b.finish();
  if (series === null) throw new Error('no series');
  return series;
}

describe('tcpstat lines', () => {
  it('parses the header', () => {
    expect(parseTcpstatHeader(HEADER)).toEqual({
      kernel: '6.1.0-test',
      side: 'server',
      port: 443,
      intervalMs: 10,
      discoverMs: 'auto',
      family: 'all',
    });
    expect(parseTcpstatHeader(HEADER.replace('discover_ms=auto', 'discover_ms=50')).discoverMs).toBe(50);
  });

  it('rejects a header with other fields, a missing key or another version', () => {
    expect(() => parseTcpstatHeader(HEADER.replace(',total_rto', ''))).toThrow(/unexpected fields/);
    expect(() => parseTcpstatHeader(HEADER.replace(' side=server', ''))).toThrow(/no side=/);
    expect(() => parseTcpstatHeader(HEADER.replace('TCPSTAT 1', 'TCPSTAT 2'))).toThrow(TcpTelemetryError);
    expect(() => parseTcpstatHeader(line())).toThrow(/header/);
  });

  it('parses a sample line back to the values printed', () => {
    expect(parseTcpstatSample(line())).toEqual(base);
    const v6 = { local: '[2001:db8::1]:443', peer: '[2001:db8::2]:40000', totalRto: 3 };
    expect(parseTcpstatSample(line(v6))).toEqual({ ...base, ...v6 });
  });

  it('rejects a malformed sample, naming the line', () => {
    const good = line();
    const bad: [string, RegExp][] = [
      [good.replace(' cubic ', ' cu bic '), /expected 25 fields/],
      [good.replace(/ 1448 /, ' 14x8 '), /snd_mss "14x8"/],
      [good.replace(/^S 1000\.000/, 'S 1000.5'), /t_ms/],
      [good.replace('198.18.0.1:51234', 'somewhere'), /peer address/],
      [good.replace(' 1 0 cubic', ' 10 0 cubic'), /state 10 is not a connected state/],
      [good.replace(' 1 0 cubic', ' 1 5 cubic'), /ca_state 5 is out of range/],
      [good.replace(' 1a ', ' 1G '), /cookie/],
      [good.replace(/ -$/, ' 70000'), /total_rto 70000 is out of range/],
      [good.replace(/ 40000 40000 /, ' 4294967296 40000 '), /rtt_us 4294967296 is out of range/],
      ['X 1 2 3', /expected a sample line/],
    ];
    for (const [text, why] of bad) {
      let err: unknown;
      try {
        parseTcpstatSample(text);
      } catch (e) {
        err = e;
      }
      expect(err, text).toBeInstanceOf(TcpTelemetryError);
      expect(String(err), text).toMatch(why);
      expect(String(err), text).toContain(JSON.stringify(text).slice(1, 30));
    }
  });

  it('parses the END line', () => {
    expect(parseTcpstatEnd(END)).toEqual({
      rounds: 10,
      late: 0,
      lines: 3,
      socketsMax: 1,
      dumps: 2,
      lookups: 8,
      dumpCpuMs: 1.25,
    });
    expect(() => parseTcpstatEnd('END rounds=10')).toThrow(TcpTelemetryError);
  });
});

describe('tcp series', () => {
  it('computes the columns from tcp_info', () => {
    const s = build([
      { cwnd: 20, mss: 1000, unacked: 15, sacked: 3, lost: 2, retrans: 1, rttUs: 41_500, minRttUs: 40_250 },
    ]);
    expect(s).toMatchObject({
      side: 'server',
      transport: 'tcp',
      connection: '198.18.0.2:443 198.18.0.1:51234',
      source: 'tcp_info via sock_diag (Linux 6.1.0-test, cubic)',
      intervalMs: 10,
      t: [1010],
      cwndBytes: [20_000],
      bytesInFlight: [11_000],
      ssthreshBytes: [0],
      srttMs: [41.5],
      minRttMs: [40.25],
      deliveryRateMbit: [10],
      packetsSent: [10],
      packetsRetransmitted: [0],
      timeouts: [0],
      recoveryState: [0],
    });
    expect(s.packetsLost).toBeUndefined();
  });

  it('holds ssthresh at 0 until the kernel sets one, then in bytes', () => {
    const s = build([{ ssthresh: TCP_INFINITE_SSTHRESH }, { ssthresh: 7, cwnd: 7, caState: 3 }]);
    expect(s.ssthreshBytes).toEqual([0, 7 * 1448]);
  });

  it('reads "no RTT sample yet" as 0', () => {
    expect(build([{ rttUs: 0, minRttUs: 0xffffffff }]).minRttMs).toEqual([0]);
  });

  it('drops samples equal to the previous one in every column', () => {
    // segs_out and bytes_sent are not columns: these three samples are one row.
    const s = build([{}, { segsOut: 13 }, { bytesSent: 20_000 }, { cwnd: 11 }, { cwnd: 11 }, { cwnd: 10 }]);
    expect(s.t).toEqual([1010, 1040, 1060]);
    expect(s.cwndBytes).toEqual([10 * 1448, 11 * 1448, 10 * 1448]);
  });

  it('maps tcp_ca_state to recoveryState 0/1/2', () => {
    expect([0, 1, 2, 3, 4].map(recoveryState)).toEqual([0, 0, 1, 1, 2]);
    const s = build([0, 1, 2, 3, 4, 0].map((caState) => ({ caState })));
    // Open and Disorder are one row, CWR and Recovery another.
    expect(s.recoveryState).toEqual([0, 1, 2, 0]);
  });

  it('keeps counters cumulative as the kernel reports them', () => {
    const s = build([
      { dataSegsOut: 10, totalRetrans: 0 },
      { dataSegsOut: 30, totalRetrans: 2 },
      { dataSegsOut: 50, totalRetrans: 5 },
    ]);
    expect(s.packetsSent).toEqual([10, 30, 50]);
    expect(s.packetsRetransmitted).toEqual([0, 2, 5]);
  });

  it('counts entries into TCP_CA_Loss, once per episode', () => {
    const s = build([0, 4, 4, 4, 0, 3, 4, 0].map((caState) => ({ caState })));
    // Rows (repeats dropped): Open, Loss, Open, Recovery, Loss, Open.
    expect(s.recoveryState).toEqual([0, 2, 0, 1, 2, 0]);
    expect(s.timeouts).toEqual([0, 1, 1, 1, 2, 2]);
    expect(s.timeoutsSource).toBe(timeoutsFromSampler(10));
  });

  it('counts backoff increases: repeated RTOs within one Loss episode, and an episode between samples', () => {
    const s = build([
      { caState: 0, backoff: 0 },
      { caState: 4, backoff: 1 }, // an RTO: one, not two (Loss entry and backoff together)
      { caState: 4, backoff: 3 }, // two more timeouts, backed off twice
      { caState: 0, backoff: 0 }, // acked: backoff reset
      { caState: 0, backoff: 1 }, // an RTO whose Loss state ended before this sample
    ]);
    expect(s.timeouts).toEqual([0, 1, 3, 3, 4]);
  });

  it('uses tcpi_total_rto when the kernel has it', () => {
    const s = build([{ totalRto: 0 }, { totalRto: 2, caState: 4, backoff: 2 }, { totalRto: 2, caState: 0 }]);
    expect(s.timeouts).toEqual([0, 2, 2]);
    expect(s.timeoutsSource).toBe(TIMEOUTS_FROM_KERNEL);
  });
});

describe('TcpstatReader', () => {
  it('builds one series per socket cookie, in order of first sample', () => {
    const r = new TcpstatReader();
    for (const l of [
      HEADER,
      line({ cookie: 'b', peer: '198.18.0.1:40002', tMs: 1 }),
      line({ cookie: 'a', peer: '198.18.0.1:40001', tMs: 1 }),
      line({ cookie: 'b', peer: '198.18.0.1:40002', tMs: 2, cwnd: 20 }),
      END,
    ])
      r.line(l);
    const series = r.series();
    expect(series.map((s) => [s.connection, s.t])).toEqual([
      ['198.18.0.2:443 198.18.0.1:40002', [1, 2]],
      ['198.18.0.2:443 198.18.0.1:40001', [1]],
    ]);
    expect(r.end?.rounds).toBe(10);
  });

  it('a reused 4-tuple with a new cookie is a new connection', () => {
    const r = new TcpstatReader();
    for (const l of [HEADER, line({ cookie: 'a', tMs: 1 }), line({ cookie: 'c', tMs: 5 })]) r.line(l);
    expect(r.series()).toHaveLength(2);
  });

  it('rejects lines out of order or inconsistent', () => {
    const cases: [string[], RegExp][] = [
      [[line()], /header/],
      [[HEADER, END, line()], /after END/],
      [[HEADER, line({ tMs: 5 }), line({ tMs: 4, cwnd: 3 })], /time went backwards/],
      [[HEADER, line({ totalRto: 0 }), line({ tMs: 2000 })], /total_rto present in some samples only/],
      [[HEADER, line(), line({ tMs: 2000, peer: '198.18.0.1:1' })], /changed its addresses/],
    ];
    for (const [lines, why] of cases) {
      const r = new TcpstatReader();
      expect(() => {
        for (const l of lines) r.line(l);
      }).toThrow(why);
    }
  });
});

describe('tcpstatArgs', () => {
  it('plans the helper argv', () => {
    expect(tcpstatArgs({ port: 443, side: 'client' })).toEqual([
      '--port',
      '443',
      '--side',
      'client',
      '--interval-ms',
      '10',
      '--discover-ms',
      'auto',
      '--family',
      'all',
    ]);
    expect(tcpstatArgs({ port: 1, side: 'server', intervalMs: 5, discoverMs: 50, family: '4' })).toContain(
      '50',
    );
  });

  it('refuses values that are not what they claim', () => {
    expect(() => tcpstatArgs({ port: 0, side: 'server' })).toThrow(/port 0/);
    expect(() => tcpstatArgs({ port: 80.5, side: 'server' })).toThrow(/port/);
    expect(() => tcpstatArgs({ port: 80, side: 'server', intervalMs: 0 })).toThrow(/intervalMs/);
    expect(() => tcpstatArgs({ port: 80, side: 'server', discoverMs: -1 })).toThrow(/discoverMs/);
    const side = 'server; reboot' as 'server';
    expect(() => tcpstatArgs({ port: 80, side })).toThrow(/side/);
  });
});

describe('startTcpTelemetry with a fake helper', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'h3b-tcptel-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A script printing `lines`, then waiting for stdin EOF and printing `tail`, exiting `code`. */
  async function fake(name: string, lines: string[], tail: string[], code = 0): Promise<string> {
    const file = path.join(dir, name);
    const echo = (ls: string[]) => ls.map((l) => `printf '%s\\n' '${l}'`).join('\n');
    await writeFile(
      file,
      `#!/bin/sh\ntrap '' TERM\n${echo(lines)}\ncat >/dev/null\n${echo(tail)}\necho 'fake: done' >&2\nexit ${code}\n`,
    );
    await chmod(file, 0o755);
    return file;
  }

  it('returns the series when the helper ends with END', async () => {
    const binary = await fake('ok.sh', [HEADER, line({ tMs: 1 }), line({ tMs: 2, cwnd: 11 })], [END]);
    const tel = startTcpTelemetry({ netns: null, port: 443, side: 'server', binary });
    expect((await tel.ready()).kernel).toBe('6.1.0-test');
    const series = await tel.stop();
    expect(series).toHaveLength(1);
    expect(series[0]?.cwndBytes).toEqual([10 * 1448, 11 * 1448]);
    expect(tel.end?.dumps).toBe(2);
    expect(await tel.stop()).toBe(series); // idempotent
  });

  it('rejects naming a malformed line', async () => {
    const binary = await fake('bad.sh', [HEADER, 'S 1.000 zz'], [END]);
    const tel = startTcpTelemetry({ netns: null, port: 443, side: 'server', binary });
    await expect(tel.stop()).rejects.toThrow(/malformed line.*S 1\.000 zz/);
  });

  it('rejects when the helper fails, with its message', async () => {
    const binary = await fake('fail.sh', [HEADER], [], 1);
    const tel = startTcpTelemetry({ netns: null, port: 443, side: 'server', binary });
    await expect(tel.stop()).rejects.toThrow(/exited with status 1: fake: done/);
  });

  it('rejects when the helper ends without END', async () => {
    const binary = await fake('noend.sh', [HEADER], []);
    const tel = startTcpTelemetry({ netns: null, port: 443, side: 'server', binary });
    await expect(tel.stop()).rejects.toThrow(/no END line/);
  });

  it('rejects when the helper samples another port than asked', async () => {
    const binary = await fake('port.sh', [HEADER], [END]);
    const tel = startTcpTelemetry({ netns: null, port: 8443, side: 'server', binary });
    await expect(tel.ready()).rejects.toThrow(/names server port 443, not server port 8443/);
    await expect(tel.stop()).rejects.toThrow(TcpTelemetryError);
  });

  it('does not throw when the binary is missing: ready and stop reject', async () => {
    const tel = startTcpTelemetry({ netns: null, port: 443, side: 'server', binary: path.join(dir, 'none') });
    await expect(tel.ready()).rejects.toThrow(/is not built/);
    await expect(tel.stop()).rejects.toThrow(/is not built/);
    expect(tel.end).toBeNull();
  });

  it('refuses a namespace name it would not enter', async () => {
    const binary = await fake('ns.sh', [HEADER], [END]);
    const tel = startTcpTelemetry({ netns: 'x;rm', port: 443, side: 'server', binary });
    await expect(tel.stop()).rejects.toThrow(/cannot start/);
  });
});
