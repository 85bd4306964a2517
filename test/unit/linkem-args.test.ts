/**
 * linkem's argv planned from a NetworkProfile, its limits, and the TUN pair commands (pure).
 */
import { describe, expect, it } from 'vitest';
import { isBenchmarkAddress } from '../../link/addresses.js';
import {
  LINKEM_UNLIMITED_PACKETS,
  linkemArgs,
  linkemLimits,
  linkemLossSpec,
} from '../../link/linkem/args.js';
import { parseLinkemReadyLine, parseLinkemStatsLine } from '../../link/linkem/lines.js';
import { tunPairCommands } from '../../link/linkem/tun.js';
import {
  UNIMPAIRED_DIRECTION,
  linkProfile,
  type DirectionProfile,
  type NetworkProfile,
} from '../../core/network.js';

const dir = (over: Partial<DirectionProfile> = {}): DirectionProfile => ({
  ...UNIMPAIRED_DIRECTION,
  ...over,
});

function profile(up: Partial<DirectionProfile>, down: Partial<DirectionProfile>): NetworkProfile {
  return linkProfile(up, down, 7);
}

const names = {
  clientNetns: 'h3b-cli-a1',
  serverNetns: 'h3b-srv-a1',
  clientDev: 'h3b-tun-a',
  serverDev: 'h3b-tun-b',
};

/** The value following `flag` in argv. */
function flag(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i < 0 ? undefined : argv[i + 1];
}

describe('linkemArgs', () => {
  it('linkemArgs maps each direction to its own flags, in µs and kbit/s', () => {
    const argv = linkemArgs({
      ...names,
      profile: profile(
        { delayMs: 20, jitterMs: 1.5, rateKbit: 2000, loss: { model: 'random', pct: 1 } },
        { delayMs: 25.0004, rateKbit: 10_000 },
      ),
    });
    expect(argv.slice(0, 12)).toEqual([
      '--a-netns',
      'h3b-cli-a1',
      '--a-dev',
      'h3b-tun-a',
      '--b-netns',
      'h3b-srv-a1',
      '--b-dev',
      'h3b-tun-b',
      '--mtu',
      '1500',
      '--seed',
      '7',
    ]);
    expect(flag(argv, '--up-delay-us')).toBe('20000');
    expect(flag(argv, '--up-jitter-us')).toBe('1500');
    expect(flag(argv, '--up-rate-kbit')).toBe('2000');
    expect(flag(argv, '--up-loss')).toBe('random:1');
    expect(flag(argv, '--down-delay-us')).toBe('25000');
    expect(flag(argv, '--down-rate-kbit')).toBe('10000');
    expect(flag(argv, '--down-loss')).toBe('none');
    expect(argv).toContain('--fifo');
    expect(argv).not.toContain('--busy-poll-us');
  });

  it('linkemArgs passes an unlimited rate as 0 and optional flags only when set', () => {
    const argv = linkemArgs({
      ...names,
      profile: profile({}, {}),
      fifo: false,
      busyPollUs: 200,
      mlock: true,
      logFile: '/tmp/x.log',
    });
    expect(flag(argv, '--up-rate-kbit')).toBe('0');
    expect(flag(argv, '--down-queue-bytes')).toBe('0');
    expect(flag(argv, '--busy-poll-us')).toBe('200');
    expect(flag(argv, '--log')).toBe('/tmp/x.log');
    expect(argv).toContain('--mlock');
    expect(argv).not.toContain('--fifo');
  });

  it('linkemArgs rejects names outside the h3b- namespace and devices longer than 15 characters', () => {
    expect(() => linkemArgs({ ...names, clientNetns: 'default', profile: profile({}, {}) })).toThrow(/h3b-/);
    expect(() => linkemArgs({ ...names, clientDev: 'h3b-much-too-long', profile: profile({}, {}) })).toThrow(
      /15 characters/,
    );
  });

  it('linkemArgs rejects features linkem does not emulate, naming them', () => {
    expect(() => linkemArgs({ ...names, profile: profile({ reorderPct: 1 }, {}) })).toThrow(/reorder.*up/);
    expect(() =>
      linkemArgs({ ...names, profile: profile({}, { jitterMs: 2, jitterDistribution: 'normal' }) }),
    ).toThrow(/normal/);
  });
});

describe('linkemLossSpec', () => {
  it('linkemLossSpec writes every model in percent', () => {
    expect(linkemLossSpec({ model: 'none' })).toBe('none');
    expect(linkemLossSpec({ model: 'random', pct: 0.5 })).toBe('random:0.5');
    expect(
      linkemLossSpec({
        model: 'gilbert-elliott',
        pPct: 1 / 3,
        rPct: 33.3,
        lossInBadPct: 100,
        lossInGoodPct: 0,
      }),
    ).toBe('ge:0.333333333,33.3,100,0');
    expect(
      linkemLossSpec({ model: 'four-state', p13Pct: 1, p31Pct: 99, p32Pct: 0, p23Pct: 100, p14Pct: 0.5 }),
    ).toBe('4state:1,99,0,100,0.5');
  });
});

describe('linkemLimits', () => {
  it('linkemLimits adds the delay line at the link rate to the bottleneck queue', () => {
    // 10 Mbit/s × 20 ms = 25 000 bytes in flight; ⌈25000/1500⌉ + 1 = 18 packets.
    const l = linkemLimits(
      dir({ rateKbit: 10_000, delayMs: 20, queuePackets: 50, queueBytes: 30_000 }),
      1500,
    );
    expect(l).toEqual({ packets: 68, bytes: 55_000, delayLineBytes: 25_000 });
  });

  it('linkemLimits counts jitter as delay line', () => {
    expect(
      linkemLimits(dir({ rateKbit: 8000, delayMs: 10, jitterMs: 5, queueBytes: 1000 }), 1500).bytes,
    ).toBe(16_000);
  });

  it('linkemLimits leaves a direction without a rate unbounded but for the ring size', () => {
    expect(linkemLimits(dir({ delayMs: 50, queuePackets: 10 }), 1500)).toEqual({
      packets: LINKEM_UNLIMITED_PACKETS,
      bytes: null,
      delayLineBytes: 0,
    });
  });

  it('linkemLimits uses the ring size when only bytes are limited', () => {
    const l = linkemLimits(dir({ rateKbit: 1000, queueBytes: 15_000 }), 1500);
    expect(l.packets).toBe(LINKEM_UNLIMITED_PACKETS);
    expect(l.bytes).toBe(15_000);
  });
});

describe('tunPairCommands', () => {
  it('tunPairCommands configures both sides point-to-point without IPv6 link-local', () => {
    const cmds = tunPairCommands({ ...names, mtuBytes: 1400 });
    expect(cmds).toContainEqual([
      'ip',
      '-n',
      'h3b-cli-a1',
      'link',
      'set',
      'dev',
      'h3b-tun-a',
      'addrgenmode',
      'none',
    ]);
    expect(cmds).toContainEqual([
      'ip',
      '-n',
      'h3b-cli-a1',
      'addr',
      'add',
      '198.18.0.1/32',
      'peer',
      '198.18.0.2/32',
      'dev',
      'h3b-tun-a',
    ]);
    expect(cmds).toContainEqual([
      'ip',
      '-n',
      'h3b-srv-a1',
      'addr',
      'add',
      '198.18.0.2/32',
      'peer',
      '198.18.0.1/32',
      'dev',
      'h3b-tun-b',
    ]);
    expect(cmds).toContainEqual([
      'ip',
      '-n',
      'h3b-srv-a1',
      'link',
      'set',
      'dev',
      'h3b-tun-b',
      'mtu',
      '1400',
      'txqueuelen',
      '10000',
    ]);
    // addrgenmode must precede `up`, or the kernel has already made a link-local address.
    const gen = cmds.findIndex((c) => c.includes('addrgenmode') && c.includes('h3b-tun-a'));
    const up = cmds.findIndex((c) => c.at(-1) === 'up' && c.includes('h3b-tun-a'));
    expect(gen).toBeLessThan(up);
  });

  it('tunPairCommands refuses addresses outside 198.18.0.0/15', () => {
    expect(() => tunPairCommands({ ...names, mtuBytes: 1500, clientAddress: '10.0.0.1' })).toThrow(/198\.18/);
    expect(isBenchmarkAddress('198.19.255.1')).toBe(true);
    expect(isBenchmarkAddress('198.20.0.1')).toBe(false);
  });
});

describe('parseLinkemStatsLine', () => {
  const direction = {
    packets_in: 10,
    bytes_in: 1000,
    delivered: 8,
    bytes_delivered: 800,
    dropped: { loss: 1, queue_packets: 1, queue_bytes: 0, oversize: 0, write_error: 0 },
    pending_at_exit: 0,
    max_queue_packets: 3,
    max_queue_bytes: 300,
    read_errors: 0,
    lateness_us: { count: 8, mean: 1.5, p50: 1, p99: 4, p999: 4, max: 4 },
  };

  it('parseLinkemStatsLine converts to camelCase counters', () => {
    const s = parseLinkemStatsLine(
      'STATS ' +
        JSON.stringify({
          up: direction,
          down: direction,
          sched: 'fifo:50',
          mlock: false,
          busy_poll_us: 0,
          rx_poll_us: 0,
          busy_poll_spin_s: 0,
          elapsed_s: 1.5,
          log: { records: 0, stalls: 0, write_errors: 0 },
        }),
    );
    expect(s.up.dropped.queuePackets).toBe(1);
    expect(s.down.latenessUs.p99).toBe(4);
    expect(s.elapsedS).toBe(1.5);
  });

  it('parseLinkemStatsLine rejects a line missing fields, quoting it', () => {
    expect(() => parseLinkemStatsLine('STATS {"up":{}}')).toThrow(/STATS line/);
  });

  it('parseLinkemReadyLine reads pid, policy and configuration', () => {
    const r = parseLinkemReadyLine(
      'READY {"pid":12,"sched":"other (SCHED_FIFO: Operation not permitted)","timer_slack_ns":1,"mlock":false,"config":{"mtu":1500}}',
    );
    expect(r).toEqual({
      pid: 12,
      sched: 'other (SCHED_FIFO: Operation not permitted)',
      timerSlackNs: 1,
      mlock: false,
      config: { mtu: 1500 },
    });
  });
});
