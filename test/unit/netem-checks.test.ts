/** Pure parts of the emulation layer: probe judging, self-test checks, sysctl planning, argv splitting. */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../core/errors.js';
import { parseScenario } from '../../harness/scenario/load.js';
import { unsupportedFeatures, type NetworkProfile } from '../../core/network.js';
import { linkemUnsupported, netemUnsupported } from '../../link/index.js';
import { supportsSeed } from '../../link/apply.js';
import { evaluateProbe, wilson, Z95 } from '../../link/probe.js';
import {
  configuredRttQuantile,
  echoIntervalAt,
  expectedQueueDelayMs,
  expectedUdpGoodputMbit,
  formatChecks,
  lossChecks,
  rttChecks,
} from '../../link/selftest.js';
import { splitCommand } from '../../link/shell.js';
import { hostChangesNeeded, namespaceSysctls, parseTriple, requiredBufferBytes } from '../../link/sysctl.js';

function scenarioOf(network: string, transport = '') {
  return parseScenario(
    `name: t\nnetwork:\n  backend: linkem\n${network}${transport}workload: { type: multiplex }\n`,
    '/tmp/t.yaml',
  );
}
function profileOf(network: string): NetworkProfile {
  return scenarioOf(network).network.profile;
}

describe('wilson', () => {
  it('matches the textbook 95% interval for 10/100', () => {
    const ci = wilson(10, 100, Z95);
    expect(ci.low).toBeCloseTo(0.0552, 3);
    expect(ci.high).toBeCloseTo(0.1744, 3);
  });

  it('stays inside [0, 1] at the edges', () => {
    expect(wilson(0, 50, Z95).low).toBe(0);
    expect(wilson(50, 50, Z95).high).toBe(1);
  });
});

describe('evaluateProbe', () => {
  const p = profileOf('  rtt: 40ms\n');

  it('accepts echoes at the configured RTT', () => {
    const r = evaluateProbe(
      p,
      40,
      Array.from({ length: 40 }, (_, i) => 40.3 + (i % 5) * 0.05),
    );
    expect(r.ok).toBe(true);
    expect(r.configuredRttMs).toBe(40);
    expect(r.measuredRttMs.samples).toBe(40);
    expect(r.measuredLossPct).toBe(0);
  });

  it('flags echoes faster than the link can carry them (traffic bypassing the emulation)', () => {
    const r = evaluateProbe(
      p,
      40,
      Array.from({ length: 40 }, () => 0.2),
    );
    expect(r.ok).toBe(false);
    expect(r.notes.join(' ')).toMatch(/bypasses the emulation/);
  });

  it('flags a link that loses everything', () => {
    const r = evaluateProbe(p, 40, []);
    expect(r.ok).toBe(false);
    expect(r.measuredLossPct).toBe(100);
  });

  it('includes the probe packet serialization in the configured RTT', () => {
    const slow = profileOf('  rtt: 40ms\n  rate: 1mbit\n');
    // 92 B at 1 Mbit/s = 0.736 ms per direction.
    expect(evaluateProbe(slow, 1, [41.5]).configuredRttMs).toBeCloseTo(41.472, 6);
  });

  it('tolerates a few lost echoes on a lossy link but not a dead one', () => {
    const lossy = profileOf('  rtt: 40ms\n  loss: 5%\n');
    const ok = evaluateProbe(
      lossy,
      40,
      Array.from({ length: 36 }, () => 40.4),
    );
    expect(ok.ok).toBe(true);
    expect(ok.configuredLossPct).toBeCloseTo(9.75, 6);
    expect(
      evaluateProbe(
        lossy,
        40,
        Array.from({ length: 10 }, () => 40.4),
      ).ok,
    ).toBe(false);
  });
});

describe('selftest checks', () => {
  it('computes the configured RTT quantiles of uniform jitter', () => {
    const p = profileOf('  delay: 20ms\n  jitter: 5ms\n');
    expect(configuredRttQuantile(p, 0.5)).toBeCloseTo(40, 0);
    // Sum of two U(-5, 5): 99th percentile = 10 - 10·sqrt(0.02) ≈ 8.59 ms above the mean.
    expect(configuredRttQuantile(p, 0.99)).toBeCloseTo(48.59, 0);
  });

  it('judges RTT p50 and p99 against the tolerance', () => {
    const p = profileOf('  rtt: 100ms\n');
    const good = rttChecks(
      p,
      Array.from({ length: 100 }, () => 100.3),
    );
    expect(good.every((c) => c.ok)).toBe(true);
    const late = rttChecks(p, [
      ...Array.from({ length: 90 }, () => 100.3),
      ...Array.from({ length: 10 }, () => 104),
    ]);
    expect(late.find((c) => c.name.startsWith('RTT p99'))?.ok).toBe(false);
  });

  it('judges loss with a Wilson interval widened for bursts, and the mean burst length', () => {
    const d = profileOf('  loss: { rate: 1%, meanBurst: 3 }\n').down;
    const ok = lossChecks('down', d, { sent: 10_000, lost: 110, bursts: 36 });
    expect(ok.map((c) => c.ok)).toEqual([true, true]);
    expect(ok[0]?.tolerance).toContain('n_eff = n/5.00');
    const bad = lossChecks('down', d, { sent: 10_000, lost: 400, bursts: 400 });
    expect(bad.map((c) => c.ok)).toEqual([false, false]);
  });

  it('expects UDP goodput at rate × payload / MTU and queueing delay of queue / rate', () => {
    const p = profileOf('  rate: 10mbit\n  queue: 60ms\n');
    expect(expectedUdpGoodputMbit(p.down, 1500)).toBeCloseTo(9.8133, 3);
    expect(expectedQueueDelayMs(p.down, 1500)).toBeCloseTo(60, 9);
    const pk = profileOf('  rate: 12mbit\n  queue: 20\n');
    expect(expectedQueueDelayMs(pk.up, 1500)).toBeCloseTo(20, 9);
    expect(expectedUdpGoodputMbit(profileOf('  delay: 1ms\n').down, 1500)).toBeNull();
  });

  it('spreads the saturation echoes over every phase of the paced blast', () => {
    // bursty-asym down: 8 Mbit/s, 40 packets → blast of 1000 packets/s, echoes about every 60 ms,
    // which is exactly 60 blast periods: without the offset every echo meets the same phase.
    const pps = 1000;
    const periodUs = 1e6 / pps;
    const interval = echoIntervalAt(60, pps);
    expect(interval).toBeGreaterThan(60_000);
    expect(interval).toBeLessThan(61_000);
    const phases = Array.from({ length: 24 }, (_, k) => ((k * interval) % periodUs) / periodUs).sort(
      (a, b) => a - b,
    );
    const gaps = phases.map((p, i) => (i === 0 ? p + 1 - (phases.at(-1) ?? 0) : p - (phases[i - 1] ?? 0)));
    expect(Math.max(...gaps)).toBeLessThan(0.15);
  });

  it('formats a table with a result column', () => {
    const text = formatChecks([{ name: 'x', configured: '1', measured: '2', tolerance: '±1', ok: false }]);
    expect(text).toMatch(/^check\s+configured\s+measured\s+tolerance\s+result/);
    expect(text).toContain('FAIL');
  });
});

describe('sysctl planning', () => {
  it('pins CC, metrics, idle restart and ECN, and raises buffer maxima to the need', () => {
    const s = scenarioOf('  rtt: 100ms\n  rate: 100mbit\n', 'transport: { congestion: bbr }\n');
    const v = namespaceSysctls(s.transport, s.network.profile, {
      tcpRmem: '4096\t131072\t6291456',
      tcpWmem: '4096 16384 4194304',
    });
    expect(v).toEqual({
      'net.ipv4.tcp_congestion_control': 'bbr',
      'net.ipv4.tcp_no_metrics_save': '1',
      'net.ipv4.tcp_slow_start_after_idle': '0',
      'net.ipv4.tcp_ecn': '0',
      // 2 × (BDP 1.25 MB + queue 1.25 MB) = 5 MB < connection window 16 MB.
      'net.ipv4.tcp_rmem': '4096 131072 16000000',
      'net.ipv4.tcp_wmem': '4096 16384 16000000',
    });
  });

  it('sizes buffers at 2 × (BDP + queue) when that exceeds the windows', () => {
    const s = scenarioOf('  rtt: 200ms\n  rate: 1gbit\n');
    // BDP 25 MB, default queue 1 BDP: 2 × 50 MB.
    expect(requiredBufferBytes(s.transport, s.network.profile)).toBe(100_000_000);
  });

  it('never lowers a maximum that is already larger', () => {
    const s = scenarioOf('  delay: 1ms\n');
    const v = namespaceSysctls(s.transport, s.network.profile, {
      tcpRmem: '1 2 999999999',
      tcpWmem: '1 2 3',
    });
    expect(v['net.ipv4.tcp_rmem']).toBe('1 2 999999999');
  });

  it('asks the host only for what is missing', () => {
    expect(
      hostChangesNeeded('cubic', 16_000_000, {
        allowed: 'reno bbr',
        rmemMax: 4_194_304,
        wmemMax: 20_000_000,
      }),
    ).toEqual([
      { name: 'net.ipv4.tcp_allowed_congestion_control', value: 'reno bbr cubic' },
      { name: 'net.core.rmem_max', value: '16000000' },
    ]);
    expect(hostChangesNeeded('bbr', 1, { allowed: 'reno bbr', rmemMax: 4, wmemMax: 4 })).toEqual([]);
    // Namespaces get their own small TCP hash table where the kernel allows it and none is set.
    const base = { allowed: 'bbr', rmemMax: 4, wmemMax: 4 };
    expect(hostChangesNeeded('bbr', 1, { ...base, childEhashEntries: 0 })).toEqual([
      { name: 'net.ipv4.tcp_child_ehash_entries', value: '1024' },
    ]);
    expect(hostChangesNeeded('bbr', 1, { ...base, childEhashEntries: 4096 })).toEqual([]);
    expect(hostChangesNeeded('bbr', 1, { ...base, childEhashEntries: null })).toEqual([]);
  });

  it('parses sysctl triples', () => {
    expect(parseTriple('4096\t87380  6291456')).toEqual([4096, 87380, 6291456]);
    expect(() => parseTriple('1 2')).toThrow();
  });
});

describe('backend capabilities', () => {
  it('lists what linkem cannot emulate and what netem cannot', () => {
    const p = parseScenario(
      'name: t\nnetwork:\n  backend: netem\n  delay: 10ms\n  jitter: { amount: 1ms, distribution: normal }\n  up: { duplicate: 1% }\nworkload: { type: multiplex }\n',
      '/tmp/t.yaml',
    ).network.profile;
    expect(linkemUnsupported(p)).toEqual([
      'network.down jitter distribution "normal"',
      'network.up jitter distribution "normal"',
      'network.up duplicate',
    ]);
    const both = profileOf('  rate: 1mbit\n  queue: { packets: 10, bytes: 20KB }\n');
    expect(netemUnsupported(both)).toHaveLength(2);
  });

  it('one list of backend limits serves validation, backend choice and linkem argv alike', () => {
    const d = parseScenario(
      'name: t\nnetwork:\n  backend: netem\n  delay: 10ms\n  jitter: { amount: 1ms, distribution: pareto }\n  reorder: 1%\n  corrupt: 2%\nworkload: { type: multiplex }\n',
      '/tmp/t.yaml',
    ).network.profile.down;
    expect(unsupportedFeatures('linkem', d).map((f) => [f.key.join('.'), f.feature])).toEqual([
      ['jitter.distribution', 'jitter distribution "pareto"'],
      ['reorder', 'reorder'],
      ['corrupt', 'corrupt'],
    ]);
    expect(unsupportedFeatures('netem', d)).toEqual([]);
    expect(unsupportedFeatures('auto', d)).toEqual([]);
    // A distribution without any jitter is nothing to emulate.
    expect(unsupportedFeatures('linkem', { ...d, jitterMs: 0, reorderPct: 0, corruptPct: 0 })).toEqual([]);
    expect(unsupportedFeatures('netem', { ...d, queuePackets: 5, queueBytes: 9000 })[0]?.issue).toBe(
      'cannot limit packets and bytes at once with the netem backend (give one; linkem can do both)',
    );
  });

  it('uses netem seed only with iproute2 and kernel >= 6.6', () => {
    expect(supportsSeed('6.1.0', '6.18.4')).toBe(false);
    expect(supportsSeed('6.6.0', '6.6.1')).toBe(true);
    expect(supportsSeed('6.10.0', '5.15.0')).toBe(false);
    expect(supportsSeed(null, '6.18')).toBe(false);
  });
});

describe('splitCommand', () => {
  it('splits on whitespace and keeps quoted words', () => {
    expect(splitCommand(`node -e 'console.log("a b")'   x`)).toEqual([
      'node',
      '-e',
      'console.log("a b")',
      'x',
    ]);
    expect(splitCommand(`a "b \\"c\\" d" e\\ f ''`)).toEqual(['a', 'b "c" d', 'e f', '']);
  });

  it('gives shell operators no meaning', () => {
    expect(splitCommand('echo $HOME | wc > out; rm')).toEqual([
      'echo',
      '$HOME',
      '|',
      'wc',
      '>',
      'out;',
      'rm',
    ]);
  });

  it('rejects an unterminated quote, naming the flag', () => {
    expect(() => splitCommand(`sleep '10`)).toThrow(UsageError);
    expect(() => splitCommand(`sleep '10`)).toThrow(/--server: value error: unterminated ' quote/);
  });
});
