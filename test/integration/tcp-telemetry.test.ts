/**
 * TCP sender telemetry from the real kernel: tcpstat (link/linkem/src/tcpstat.c) sampling a real
 * transfer, read through startTcpTelemetry.
 *
 * - over loopback in this namespace (no root needed: sock_diag dumps are open to every user);
 * - through linkem between two namespaces at 40 ms RTT and 1% loss, Reno in both namespaces (always
 *   in tcp_allowed_congestion_control, and it sets ssthresh on loss where BBR does not)
 *   (root and /dev/net/tun; skipped with the reason otherwise): the sender's smoothed RTT, window,
 *   threshold and retransmissions are what such a link must produce, and samples come about every
 *   10 ms while the connection is busy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import { median, percentileOf } from '../../core/stats.js';
import { linkProfile } from '../../core/network.js';
import { buildLinkemIfNeeded, buildTcpstatIfNeeded } from '../../link/linkem/build.js';
import { openLinkemLink, type LinkemLink } from '../../link/linkem/link.js';
import { tcpGoodput } from '../../link/linkem/probes.js';
import { hasNetAdmin, hasTun, listNamespaces, run } from '../../link/netns.js';
import { TCP_COLUMNS, startTcpTelemetry } from '../../harness/runner/tcp-telemetry.js';
import type { TelemetrySeries } from '../../harness/model/telemetry.js';

const cc = await run(['cc', '--version']).then(
  () => null,
  () => 'no C compiler (cc) on PATH',
);
if (cc !== null) console.warn(`tcp telemetry integration tests skipped: ${cc}`);
const missing = [await hasNetAdmin(), await hasTun()].flatMap((c) => (c.ok ? [] : [c.reason]));
const nsSkip = cc ?? (missing.length > 0 ? missing.join('; ') : null);
if (nsSkip !== null && cc === null) console.warn(`tcp telemetry through linkem skipped: ${nsSkip}`);

/** Gaps between consecutive samples, ms. */
const gaps = (t: readonly number[]): number[] => t.slice(1).map((x, i) => x - (t[i] ?? x));

/** The last value of a column (throws when absent or empty). */
function last(s: TelemetrySeries, col: keyof TelemetrySeries): number {
  const v = s[col];
  if (!Array.isArray(v) || v.length === 0) throw new Error(`no ${col}`);
  const x = v[v.length - 1];
  if (typeof x !== 'number') throw new Error(`${col} is not numeric`);
  return x;
}

function checkShape(s: TelemetrySeries): void {
  const n = s.t.length;
  for (const col of TCP_COLUMNS) {
    expect(s[col], col).toHaveLength(n);
  }
  expect(s.packetsLost).toBeUndefined();
  for (let i = 1; i < n; i++) {
    expect(s.t[i]).toBeGreaterThanOrEqual(s.t[i - 1] ?? 0);
    for (const col of ['packetsSent', 'packetsRetransmitted', 'timeouts'] as const) {
      expect(s[col]?.[i], `${col} is cumulative`).toBeGreaterThanOrEqual(s[col]?.[i - 1] ?? 0);
    }
  }
  expect(s.transport).toBe('tcp');
  expect(s.source).toMatch(/^tcp_info via sock_diag \(Linux \S+/);
}

describe.skipIf(cc !== null)('tcp telemetry over loopback', () => {
  beforeAll(async () => {
    await buildTcpstatIfNeeded();
  }, 120_000);

  it('samples both ends of one connection, each as its own sender', async () => {
    const bytes = 64 * 1024 * 1024;
    const server = net.createServer((socket) => {
      socket.on('error', () => undefined);
      const chunk = Buffer.alloc(1 << 20, 1);
      let left = bytes;
      const pump = (): void => {
        while (left > 0) {
          left -= chunk.length;
          if (!socket.write(chunk)) {
            socket.once('drain', pump);
            return;
          }
        }
        socket.end();
      };
      pump();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    const port = address.port;
    // A loopback transfer lasts milliseconds: look for new connections every round (the default
    // paces these dumps to a CPU budget and could miss so short a connection).
    const srv = startTcpTelemetry({ netns: null, port, side: 'server', discoverMs: 10 });
    const cli = startTcpTelemetry({ netns: null, port, side: 'client', discoverMs: 10 });
    try {
      await Promise.all([srv.ready(), cli.ready()]);
      const received = await new Promise<number>((resolve, reject) => {
        let n = 0;
        const c = net.connect(port, '127.0.0.1');
        c.on('data', (d: Buffer) => (n += d.length));
        c.on('end', () => {
          resolve(n);
        });
        c.on('error', reject);
      });
      expect(received).toBe(bytes);
      await new Promise((r) => setTimeout(r, 30));
    } finally {
      server.close();
    }
    const [s, c] = await Promise.all([srv.stop(), cli.stop()]);
    expect(s).toHaveLength(1);
    expect(c).toHaveLength(1);
    const ss = s[0];
    const cs = c[0];
    if (ss === undefined || cs === undefined) throw new Error('no series');
    checkShape(ss);
    checkShape(cs);
    const [local, peer] = ss.connection.split(' ');
    expect(local).toBe(`127.0.0.1:${port}`);
    expect(cs.connection).toBe(`${peer ?? ''} ${local ?? ''}`);
    expect(ss.side).toBe('server');
    expect(cs.side).toBe('client');
    // The server sent the 64 MiB, the client only its handshake's and FIN's few segments.
    expect(last(ss, 'packetsSent')).toBeGreaterThan(bytes / 65_536 / 2);
    expect(last(cs, 'packetsSent')).toBeLessThan(10);
    expect(Math.max(...(ss.cwndBytes ?? []))).toBeGreaterThan(0);
    expect(srv.end?.dumps).toBeGreaterThan(0);
  }, 60_000);
});

describe.skipIf(nsSkip !== null)('tcp telemetry through linkem (40 ms RTT, 1% loss)', () => {
  let link: LinkemLink | null = null;

  beforeAll(async () => {
    await buildLinkemIfNeeded();
    await buildTcpstatIfNeeded();
  }, 120_000);

  afterAll(async () => {
    const ours = link === null ? [] : [link.clientNetns, link.serverNetns];
    await link?.close().catch(() => undefined);
    expect((await listNamespaces()).filter((ns) => ours.includes(ns))).toEqual([]);
  });

  it('shows the RTT, window, threshold and retransmissions of a lossy transfer', async () => {
    const lossy = { delayMs: 20, loss: { model: 'random' as const, pct: 1 }, rateKbit: 20_000 };
    link = await openLinkemLink({ profile: linkProfile(lossy, lossy, 20_251_106) });
    for (const ns of [link.serverNetns, link.clientNetns]) {
      await run(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv4.tcp_congestion_control=reno']);
    }
    const port = 47_123;
    const srv = startTcpTelemetry({ netns: link.serverNetns, port, side: 'server', family: '4' });
    const cli = startTcpTelemetry({ netns: link.clientNetns, port, side: 'client', family: '4' });
    let series: [TelemetrySeries[], TelemetrySeries[]];
    try {
      await Promise.all([srv.ready(), cli.ready()]);
      const r = await tcpGoodput({
        clientNetns: link.clientNetns,
        serverNetns: link.serverNetns,
        serverAddress: link.serverAddress,
        port,
        bytes: 3_000_000,
        warmupMs: 0,
      });
      expect(r.bytes).toBe(3_000_000);
    } finally {
      series = await Promise.all([srv.stop(), cli.stop()]);
    }
    const [s, c] = series;
    expect(s).toHaveLength(1);
    expect(c).toHaveLength(1);
    const ss = s[0];
    const cs = c[0];
    if (ss === undefined || cs === undefined) throw new Error('no series');
    checkShape(ss);
    checkShape(cs);
    expect(ss.connection).toMatch(new RegExp(`^${link.serverAddress.replace(/\./g, '\\.')}:${port} `));
    expect(ss.source).toContain('reno');

    const srtt = (ss.srttMs ?? []).filter((x) => x > 0);
    const cwnd = ss.cwndBytes ?? [];
    const figures = {
      samples: ss.t.length,
      durationMs: last(ss, 't') - (ss.t[0] ?? 0),
      medianGapMs: median(gaps(ss.t)),
      p10GapMs: percentileOf(gaps(ss.t), 10),
      srttMedianMs: median(srtt),
      cwndDistinct: new Set(cwnd).size,
      cwndMaxBytes: Math.max(...cwnd),
      ssthreshSet: (ss.ssthreshBytes ?? []).some((x) => x > 0),
      packetsSent: last(ss, 'packetsSent'),
      retransmitted: last(ss, 'packetsRetransmitted'),
      timeouts: last(ss, 'timeouts'),
      timeoutsSource: ss.timeoutsSource,
      recoverySamples: (ss.recoveryState ?? []).filter((x) => x > 0).length,
      helper: srv.end,
    };
    console.log(`tcp telemetry through linkem: ${JSON.stringify(figures)}`);
    expect(figures.srttMedianMs).toBeGreaterThanOrEqual(40);
    expect(figures.srttMedianMs).toBeLessThanOrEqual(120);
    expect(Math.min(...(ss.minRttMs ?? []).filter((x) => x > 0))).toBeGreaterThanOrEqual(39);
    expect(figures.cwndMaxBytes).toBeGreaterThan(0);
    expect(figures.cwndDistinct).toBeGreaterThan(3);
    expect(figures.ssthreshSet).toBe(true);
    expect(figures.retransmitted).toBeGreaterThan(0);
    expect(figures.recoverySamples).toBeGreaterThan(0);
    // Busy for seconds: the helper sampled every 10 ms and kept its period. Only a sample that differs
    // from the one before in some column is stored, so how many are stored depends on the transfer
    // (a connection waiting out a loss changes nothing for tens of ms); the shortest gaps show the
    // period, and the helper's own round count shows it kept sampling the whole time.
    expect(figures.durationMs).toBeGreaterThan(500);
    expect(figures.p10GapMs).toBeGreaterThanOrEqual(8);
    expect(figures.p10GapMs).toBeLessThanOrEqual(12);
    expect(figures.samples).toBeGreaterThan(figures.durationMs / 10 / 10);
    const helper = srv.end;
    if (helper === null) throw new Error('no END from the helper');
    expect(helper.rounds).toBeGreaterThan((figures.durationMs / 10) * 0.8);
    expect(helper.late).toBeLessThan(helper.rounds * 0.1);
    // The client sends acks only: no data retransmissions, and its peer is the server.
    expect(cs.connection.split(' ')[1]).toBe(`${link.serverAddress}:${port}`);
    expect(last(cs, 'packetsSent')).toBeLessThan(10);
  }, 120_000);
});
