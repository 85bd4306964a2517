/**
 * linkem between two real namespaces (root and /dev/net/tun; skipped with the reason otherwise):
 * traffic crosses the emulated link with the configured delay, loss, rate and queue, bad flags exit
 * 2, SIGTERM prints STATS and removes the TUN devices, and every namespace is deleted.
 *
 * Tolerances are functional, not performance targets (those are in bench/netem.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { median } from '../../core/stats.js';
import { linkProfile, type DirectionProfile, type NetworkProfile } from '../../core/network.js';
import { buildLinkemIfNeeded, linkemBinary } from '../../link/linkem/build.js';
import { openLinkemLink, type LinkemLink } from '../../link/linkem/link.js';
import { readLinkemDrops, readLinkemLog } from '../../link/linkem/log.js';
import { probeRtt, tcpGoodput, udpBlast } from '../../link/linkem/probes.js';
import {
  CommandError,
  createNamespace,
  deleteNamespace,
  execIn,
  hasNetAdmin,
  hasTun,
  ipIn,
  listNamespaces,
  run,
  spawnIn,
  uniqueName,
  waitForLine,
} from '../../link/netns.js';
import { programArgv } from '../../link/programs/launch.js';
import { parseUdpPingResult, udpEchoArgv, udpPingArgv } from '../../link/programs/udp.js';

const missing = [await hasNetAdmin(), await hasTun()].flatMap((c) => (c.ok ? [] : [c.reason]));
const skipReason = missing.join('; ');
if (skipReason !== '') console.warn(`linkem integration tests skipped: ${skipReason}`);

function profile(up: Partial<DirectionProfile>, down: Partial<DirectionProfile> = up): NetworkProfile {
  return linkProfile(up, down, 1234);
}

describe.skipIf(skipReason !== '')('linkem between two namespaces', () => {
  const links: LinkemLink[] = [];
  let tmp = '';

  beforeAll(async () => {
    await buildLinkemIfNeeded();
    tmp = await mkdtemp(path.join(os.tmpdir(), 'h3b-linkem-'));
  }, 120_000);

  afterAll(async () => {
    for (const link of links) await link.close().catch(() => undefined);
    if (tmp !== '') await rm(tmp, { recursive: true, force: true });
    // Only the namespaces this file created: other runs may own other h3b- namespaces meanwhile.
    const ours = links.flatMap((l) => [l.clientNetns, l.serverNetns]);
    const leftover = (await listNamespaces()).filter((ns) => ours.includes(ns));
    for (const ns of leftover) await deleteNamespace(ns);
    expect(leftover).toEqual([]);
  });

  async function open(
    p: NetworkProfile,
    extra: { logFile?: string; busyPollUs?: number } = {},
  ): Promise<LinkemLink> {
    const link = await openLinkemLink({ profile: p, ...extra });
    links.push(link);
    return link;
  }

  it('linkem exits 2 naming the flag when a flag is bad', async () => {
    const cases: [string[], RegExp][] = [
      [
        ['--a-netns', 'h3b-x', '--a-dev', 'd', '--b-netns', 'h3b-y', '--b-dev', 'e', '--up-delay-us', 'soon'],
        /--up-delay-us: expected an integer/,
      ],
      [
        ['--a-netns', 'h3b-x', '--a-dev', 'd', '--b-netns', 'h3b-y', '--b-dev', 'e', '--down-loss', 'ge:1'],
        /--down-loss: expected none, random/,
      ],
      [['--a-netns', 'h3b-x', '--a-dev', 'd', '--b-netns', 'h3b-y'], /--b-dev: required/],
      [
        ['--a-netns', 'h3b-x', '--a-dev', 'd', '--b-netns', 'h3b-y', '--b-dev', 'e', '--bogus'],
        /--bogus: unknown flag/,
      ],
      [
        ['--a-netns', '../etc', '--a-dev', 'd', '--b-netns', 'h3b-y', '--b-dev', 'e'],
        /--a-netns: expected a namespace name/,
      ],
    ];
    for (const [args, message] of cases) {
      const err = await run([linkemBinary(), ...args]).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(CommandError);
      expect((err as CommandError).status).toBe(2);
      expect((err as CommandError).stderr).toMatch(message);
    }
  });

  it('linkem fails with the namespace in the message when it does not exist', async () => {
    const err = await run([
      linkemBinary(),
      '--a-netns',
      'h3b-absent-1',
      '--a-dev',
      'h3b-t1',
      '--b-netns',
      'h3b-absent-2',
      '--b-dev',
      'h3b-t2',
    ]).then(
      () => null,
      (e: unknown) => e,
    );
    expect((err as CommandError).status).toBe(1);
    expect((err as CommandError).stderr).toMatch(/\/run\/netns\/h3b-absent-1/);
  });

  it('probeRtt measures twice the 20 ms one-way delay; SIGTERM prints STATS and removes the TUNs', async () => {
    const link = await open(profile({ delayMs: 20 }), { busyPollUs: 200 });
    expect(link.linkem.ready.config).toMatchObject({ mtu: 1500, seed: 1234 });
    const r = await probeRtt({
      clientNetns: link.clientNetns,
      serverNetns: link.serverNetns,
      serverAddress: link.serverAddress,
      count: 60,
      intervalUs: 10_000,
    });
    expect(r.received).toBe(60);
    // Never early; a loaded VM can be late, so the upper bound is loose.
    expect(Math.min(...r.rttUs)).toBeGreaterThanOrEqual(40_000);
    expect(median(r.rttUs)).toBeLessThan(42_000);

    const stats = await link.linkem.stop();
    expect(stats.up.delivered).toBeGreaterThanOrEqual(60);
    expect(stats.down.delivered).toBeGreaterThanOrEqual(60);
    expect(stats.up.packetsIn).toBe(stats.up.delivered + stats.up.pendingAtExit);
    expect(stats.up.latenessUs.count).toBe(stats.up.delivered);
    for (const [ns, dev] of [
      [link.clientNetns, link.clientDev],
      [link.serverNetns, link.serverDev],
    ] as const) {
      await expect(ipIn(ns, ['link', 'show', 'dev', dev])).rejects.toThrow(/does not exist/);
    }
    expect(await link.linkem.stop()).toBe(stats);
  });

  it('udp-echo and udp-ping (the fidelity probe without linkem-probe) measure the RTT across the link', async () => {
    const link = await open(profile({ delayMs: 10 }));
    const host = link.serverAddress;
    const echo = spawnIn(link.serverNetns, programArgv('udp-echo', udpEchoArgv({ host, port: 47100 })));
    try {
      await waitForLine(echo, 'LISTENING', 10_000, 'udp-echo');
      const ping = { host, port: 47100, count: 20, intervalMs: 5, sizeBytes: 64, waitMs: 500 };
      const { stdout } = await execIn(link.clientNetns, programArgv('udp-ping', udpPingArgv(ping)));
      const r = parseUdpPingResult(stdout);
      expect(r.sent).toBe(20);
      expect(r.rttMs).toHaveLength(20);
      expect(Math.min(...r.rttMs)).toBeGreaterThanOrEqual(20);
      expect(median(r.rttMs)).toBeLessThan(25);
    } finally {
      echo.kill('SIGTERM');
    }
  });

  it('udpBlast sees 10% random loss inside its 95% binomial interval, matching the log', async () => {
    const logFile = path.join(tmp, 'loss.log');
    const link = await open(profile({ loss: { model: 'random', pct: 10 } }, {}), { logFile });
    const n = 4000;
    const r = await udpBlast({
      fromNetns: link.clientNetns,
      toNetns: link.serverNetns,
      toAddress: link.serverAddress,
      pps: 8000,
      count: n,
      sizeBytes: 1200,
      idleMs: 500,
    });
    expect(r.sent).toBe(n);
    const half = 1.96 * Math.sqrt(n * 0.1 * 0.9);
    expect(Math.abs(r.lost - n * 0.1)).toBeLessThanOrEqual(half);
    expect(r.received + r.lost).toBe(n);

    const stats = await link.close();
    expect(stats.up.dropped.loss).toBe(r.lost);
    const drops = await readLinkemDrops(logFile);
    expect(drops.dropReasons['up loss']).toBe(r.lost);
    expect(drops.dropTimesMonotonicMs).toHaveLength(r.lost);
    const log = await readLinkemLog(logFile);
    expect(log.trailingBytes).toBe(0);
    expect(log.header.config).toMatchObject({ log: logFile });
    const udp = log.records.filter((x) => x.dir === 'up' && x.proto === 17);
    expect(udp.filter((x) => x.event === 'drop' && x.reason === 'loss')).toHaveLength(r.lost);
    expect(udp.filter((x) => x.event === 'deliver')).toHaveLength(r.received);
    expect(new Set(udp.map((x) => x.flow)).size).toBe(1);
    // Enqueue and deliver of one packet carry the same scheduled release.
    const enq = udp.find((x) => x.event === 'enqueue');
    const del = udp.find((x) => x.event === 'deliver' && x.seq === enq?.seq);
    expect(del?.releaseNs).toBe(enq?.releaseNs);
    expect(del?.tNs).toBeGreaterThanOrEqual(del?.releaseNs ?? Infinity);
  });

  it('tcpGoodput through a 10 Mbit/s link stays within 10% of the rate and never above it', async () => {
    const link = await open(profile({ delayMs: 5, rateKbit: 10_000, queueBytes: 50_000 }));
    const r = await tcpGoodput({
      clientNetns: link.clientNetns,
      serverNetns: link.serverNetns,
      serverAddress: link.serverAddress,
      bytes: 4_000_000,
      warmupMs: 500,
    });
    expect(r.bytes).toBe(4_000_000);
    expect(r.steadyGoodputMbit).not.toBeNull();
    expect(r.steadyGoodputMbit ?? 0).toBeGreaterThan(9.0);
    expect(r.steadyGoodputMbit ?? Infinity).toBeLessThanOrEqual(10.0);
    const stats = await link.close();
    expect(stats.down.bytesDelivered).toBeGreaterThan(4_000_000);
  });

  it('linkem drops the tail of a burst at the packet limit (up) and the byte limit (down)', async () => {
    // 1 Mbit/s, no delay: the delay line holds nothing, so the limits are the queues themselves.
    const link = await open(
      profile({ rateKbit: 1000, queuePackets: 20 }, { rateKbit: 1000, queueBytes: 20 * 1028 }),
    );
    const burst = { pps: 20_000, count: 300, sizeBytes: 1000, idleMs: 500 };
    const up = await udpBlast({
      fromNetns: link.clientNetns,
      toNetns: link.serverNetns,
      toAddress: link.serverAddress,
      ...burst,
    });
    const down = await udpBlast({
      fromNetns: link.serverNetns,
      toNetns: link.clientNetns,
      toAddress: link.clientAddress,
      ...burst,
    });
    const stats = await link.close();
    // linkem plans packets = queue + ⌈0 / MTU⌉ + 1 = 21.
    expect(stats.up.maxQueuePackets).toBeLessThanOrEqual(21);
    expect(stats.up.dropped.queuePackets).toBe(up.lost);
    expect(up.received).toBeLessThan(40);
    expect(stats.down.maxQueueBytes).toBeLessThanOrEqual(20 * 1028);
    expect(stats.down.dropped.queueBytes).toBe(down.lost);
    expect(down.received).toBeLessThan(40);
    for (const d of [stats.up, stats.down]) {
      const dropped = Object.values(d.dropped).reduce((a, b) => a + b, 0);
      expect(d.packetsIn).toBe(d.delivered + dropped + d.pendingAtExit);
    }
  });

  it('createNamespace and deleteNamespace are idempotent-safe and listed by prefix', async () => {
    const ns = uniqueName('nst');
    await createNamespace(ns);
    expect(await listNamespaces()).toContain(ns);
    await deleteNamespace(ns);
    await deleteNamespace(ns);
    expect(await listNamespaces()).not.toContain(ns);
  });
});
