import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../harness/scenario/load.js';
import type { NetworkProfile } from '../../core/network.js';
import {
  DELAY_LINE_LIMIT,
  ENDPOINT_FIFO_LIMIT,
  directionSeed,
  endpointQdiscArgs,
  endpointQdiscCommands,
  needsSecondStage,
  netemArgs,
  plan,
  stagesOf,
  type NetemTopology,
  type PlanOptions,
} from '../../link/plan.js';

const TOPO: NetemTopology = { clientNs: 'h3b-c', serverNs: 'h3b-s', linkNs: 'h3b-la', link2Ns: 'h3b-lb' };
const ONE: NetemTopology = { ...TOPO, link2Ns: null };
const OPTS: PlanOptions = { tcSeed: true, pacing: true };

function profileOf(network: string): NetworkProfile {
  const text = `name: t\nseed: 5\nnetwork:\n  backend: netem\n${network}workload: { type: multiplex }\n`;
  return parseScenario(text, '/tmp/t.yaml').network.profile;
}

/** The netem command of a direction, as one string. */
function netemCmd(cmds: string[][], ns: string, dev: string): string {
  const c = cmds.find((a) => a[0] === 'tc' && a[2] === ns && a[6] === dev && a.includes('netem'));
  if (!c) throw new Error(`no netem on ${ns}/${dev}`);
  return c.join(' ');
}

function tcOn(cmds: string[][], ns: string, dev: string): string[] {
  return cmds.filter((a) => a[0] === 'tc' && a[2] === ns && a[6] === dev).map((a) => a.join(' '));
}

describe('plan: wiring', () => {
  it('builds client ─ link ─ server with 198.18.0.1 and 198.18.0.2, lo up, offloads off on every veth', () => {
    const p = profileOf('  delay: 10ms\n');
    const cmds = plan(p, ONE, OPTS);
    const flat = cmds.map((c) => c.join(' '));
    for (const ns of ['h3b-c', 'h3b-la', 'h3b-s']) expect(flat).toContain(`ip -n ${ns} link set lo up`);
    expect(flat).toContain(
      'ip link add c0 netns h3b-c address 02:68:33:62:00:01 type veth peer name l0 netns h3b-la address 02:68:33:62:00:00',
    );
    expect(flat).toContain(
      'ip link add l1 netns h3b-la address 02:68:33:62:00:03 type veth peer name s0 netns h3b-s address 02:68:33:62:00:02',
    );
    // Static neighbours: no ARP crosses the emulated link; no IPv6 either.
    expect(flat).toContain(
      'ip -n h3b-c neigh replace 198.18.0.0 lladdr 02:68:33:62:00:00 dev c0 nud permanent',
    );
    expect(flat).toContain(
      'ip -n h3b-s neigh replace 198.18.0.3 lladdr 02:68:33:62:00:03 dev s0 nud permanent',
    );
    expect(flat).toContain('ip -n h3b-la link set dev l1 addrgenmode none');
    expect(flat).toContain('ip -n h3b-c addr add 198.18.0.1/31 dev c0');
    expect(flat).toContain('ip -n h3b-s addr add 198.18.0.2/31 dev s0');
    expect(flat).toContain('ip -n h3b-c route add 198.18.0.0/15 via 198.18.0.0 dev c0');
    expect(flat).toContain('ip -n h3b-s route add 198.18.0.0/15 via 198.18.0.3 dev s0');
    expect(flat).toContain('ip netns exec h3b-la sysctl -q -w net.ipv4.ip_forward=1');
    for (const [ns, dev] of [
      ['h3b-c', 'c0'],
      ['h3b-la', 'l0'],
      ['h3b-la', 'l1'],
      ['h3b-s', 's0'],
    ] as const) {
      expect(flat).toContain(
        `ip netns exec ${ns} ethtool -K ${dev} tso off gso off gro off tx-udp-segmentation off`,
      );
      expect(flat).toContain(`ip -n ${ns} link set dev ${dev} mtu 1500`);
    }
    // Offloads go off before the devices come up.
    const off = flat.findIndex((c) => c.includes('ethtool -K l0'));
    const up = flat.findIndex((c) => c === 'ip -n h3b-la link set dev l0 up');
    expect(off).toBeLessThan(up);
    // Never a shell, never an address outside 198.18.0.0/15.
    for (const c of cmds) {
      expect(['ip', 'tc']).toContain(c[0]);
      for (const a of c) if (/^\d+\.\d+\.\d+\.\d+/.test(a)) expect(a).toMatch(/^198\.1[89]\./);
    }
  });

  it('uses the profile MTU on every hop', () => {
    const flat = plan(profileOf('  delay: 1ms\n  mtu: 1400\n'), ONE, OPTS).map((c) => c.join(' '));
    expect(flat.filter((c) => c.endsWith('mtu 1400'))).toHaveLength(4);
  });

  it('shapes only link namespaces: one netem per direction on the link egress, none on endpoints', () => {
    const cmds = plan(profileOf('  delay: 10ms\n'), ONE, { tcSeed: false, pacing: false });
    const netems = cmds.filter((c) => c.includes('netem'));
    expect(netems).toHaveLength(2);
    for (const c of netems) expect(c[2]).toBe('h3b-la');
    expect(netemCmd(cmds, 'h3b-la', 'l0')).toContain('delay 10000us');
    expect(netemCmd(cmds, 'h3b-la', 'l1')).toContain('delay 10000us');
    expect(cmds.some((c) => c.includes('fq'))).toBe(false);
  });

  it('puts fq on both endpoints when pacing is on', () => {
    const flat = plan(profileOf('  delay: 1ms\n'), ONE, OPTS).map((c) => c.join(' '));
    expect(flat).toContain('tc -n h3b-c qdisc replace dev c0 root fq');
    expect(flat).toContain('tc -n h3b-s qdisc replace dev s0 root fq');
    expect(flat.some((c) => c.includes('pfifo'))).toBe(false);
  });

  it("puts an explicit pfifo on both endpoints when pacing is off (never the host's default_qdisc)", () => {
    const flat = plan(profileOf('  delay: 1ms\n'), ONE, { tcSeed: false, pacing: false }).map((c) =>
      c.join(' '),
    );
    expect(flat).toContain(`tc -n h3b-c qdisc replace dev c0 root pfifo limit ${ENDPOINT_FIFO_LIMIT}`);
    expect(flat).toContain(`tc -n h3b-s qdisc replace dev s0 root pfifo limit ${ENDPOINT_FIFO_LIMIT}`);
    // Only the endpoints: the link namespaces keep their netem/tbf stages.
    expect(flat.filter((c) => c.includes('pfifo'))).toHaveLength(2);
  });

  it('endpointQdiscCommands gives linkem the same endpoint qdiscs as the netem plan', () => {
    const tuns = [
      ['h3b-c', 'h3b-tun-aaaaa'],
      ['h3b-s', 'h3b-tun-bbbbb'],
    ] as const;
    expect(endpointQdiscCommands(tuns, false).map((c) => c.join(' '))).toEqual([
      'tc -n h3b-c qdisc replace dev h3b-tun-aaaaa root pfifo limit 10000',
      'tc -n h3b-s qdisc replace dev h3b-tun-bbbbb root pfifo limit 10000',
    ]);
    expect(endpointQdiscCommands(tuns, true).map((c) => c.at(-1))).toEqual(['fq', 'fq']);
    expect(endpointQdiscArgs(false)).toEqual(['pfifo', 'limit', '10000']);
  });
});

describe('plan: netem options', () => {
  it('plans delay per direction from rtt and per-direction overrides', () => {
    const cmds = plan(profileOf('  rtt: 100ms\n  down: { delay: 70ms }\n'), ONE, OPTS);
    expect(netemCmd(cmds, 'h3b-la', 'l0')).toContain('delay 70000us');
    expect(netemCmd(cmds, 'h3b-la', 'l1')).toContain('delay 30000us');
  });

  it('adds jitter with its distribution (none written for uniform) and a rate so it never reorders', () => {
    const u = netemArgs(
      profileOf('  delay: 20ms\n  jitter: 5ms\n').down,
      profileOf('  delay: 20ms\n'),
      'down',
      OPTS,
    ).join(' ');
    expect(u).toContain('delay 20000us 5000us rate 100000000000bit -14');
    expect(u).not.toContain('distribution');
    const p = profileOf('  delay: 20ms\n  jitter: { amount: 4ms, distribution: paretonormal }\n');
    expect(netemArgs(p.up, p, 'up', OPTS).join(' ')).toContain(
      'delay 20000us 4000us distribution paretonormal',
    );
  });

  it('does not add the no-reorder rate when reorder is asked for', () => {
    const p = profileOf('  delay: 20ms\n  jitter: 5ms\n  reorder: 10%\n');
    const a = netemArgs(p.down, p, 'down', OPTS).join(' ');
    expect(a).not.toContain('rate');
    expect(a).toContain('reorder 10%');
  });

  it('puts the rate in netem with limit = delay line + queue packets when the queue is in packets', () => {
    const p = profileOf('  delay: 50ms\n  rate: 10mbit\n  queue: 40\n');
    expect(needsSecondStage(p)).toBe(false);
    // Delay line: 10 Mbit/s × 50 ms = 62 500 B = 42 packets of 1500 B; + 40 queued.
    expect(netemCmd(plan(p, ONE, OPTS), 'h3b-la', 'l0')).toContain(
      'netem limit 82 delay 50000us rate 10000000bit -14',
    );
  });

  it('counts jitter in the delay line of the limit', () => {
    const p = profileOf('  delay: 50ms\n  jitter: 10ms\n  rate: 10mbit\n  queue: 40\n');
    expect(netemArgs(p.down, p, 'down', OPTS).slice(0, 2)).toEqual(['limit', String(50 + 40)]);
  });

  it('uses a huge limit with no rate (nothing but a delay line)', () => {
    const p = profileOf('  delay: 300ms\n');
    expect(netemArgs(p.down, p, 'down', OPTS).slice(0, 2)).toEqual(['limit', String(DELAY_LINE_LIMIT)]);
  });

  it('writes random, Gilbert-Elliott and 4-state loss', () => {
    const r = profileOf('  loss: 1.5%\n');
    expect(netemArgs(r.down, r, 'down', OPTS).join(' ')).toContain('loss random 1.5%');
    const g = profileOf('  loss: { rate: 1%, meanBurst: 3 }\n');
    // tc-netem(8) gemodel p r 1-h 1-k: 1 % loss with mean burst 3 → gemodel 0.337% 33.3% 100% 0%.
    expect(netemArgs(g.down, g, 'down', OPTS).join(' ')).toContain('loss gemodel 0.3367% 33.333333% 100% 0%');
    const s = profileOf('  loss: { p13: 1%, p31: 30%, p32: 5%, p23: 80%, p14: 0.5% }\n');
    expect(netemArgs(s.up, s, 'up', OPTS).join(' ')).toContain('loss state 1% 30% 5% 80% 0.5%');
  });

  it('writes duplicate and corrupt', () => {
    const p = profileOf('  delay: 1ms\n  duplicate: 2%\n  corrupt: 0.1%\n');
    const a = netemArgs(p.down, p, 'down', OPTS).join(' ');
    expect(a).toContain('duplicate 2%');
    expect(a).toContain('corrupt 0.1%');
  });

  it('seeds each direction differently, only when tc supports seed', () => {
    const p = profileOf('  loss: 1%\n');
    const down = netemArgs(p.down, p, 'down', OPTS);
    const up = netemArgs(p.up, p, 'up', OPTS);
    expect(down.slice(-2)).toEqual(['seed', String(directionSeed(5, 'down'))]);
    expect(up.slice(-2)).toEqual(['seed', String(directionSeed(5, 'up'))]);
    expect(directionSeed(5, 'down')).not.toBe(directionSeed(5, 'up'));
    expect(netemArgs(p.down, p, 'down', { ...OPTS, tcSeed: false })).not.toContain('seed');
  });

  it('applies per-direction loss and rate', () => {
    const p = profileOf(
      '  delay: 10ms\n  rate: { down: 10mbit, up: 4mbit }\n  queue: 30\n  up: { loss: 2% }\n',
    );
    const cmds = plan(p, ONE, OPTS);
    expect(netemCmd(cmds, 'h3b-la', 'l0')).toContain('rate 10000000bit');
    expect(netemCmd(cmds, 'h3b-la', 'l0')).not.toContain('loss');
    expect(netemCmd(cmds, 'h3b-la', 'l1')).toContain('rate 4000000bit');
    expect(netemCmd(cmds, 'h3b-la', 'l1')).toContain('loss random 2%');
  });
});

describe('plan: byte queues (two link stages)', () => {
  const p = profileOf(
    '  rtt: 80ms\n  jitter: 2ms\n  rate: { down: 10mbit, up: 4mbit }\n  queue: 60KB\n  loss: 1%\n',
  );

  it('needs a second link namespace and wires client ─ A ─ B ─ server', () => {
    expect(needsSecondStage(p)).toBe(true);
    expect(() => plan(p, ONE, OPTS)).toThrow(/second link namespace/);
    const flat = plan(p, TOPO, OPTS).map((c) => c.join(' '));
    expect(flat).toContain(
      'ip link add l1 netns h3b-la address 02:68:33:62:00:04 type veth peer name m0 netns h3b-lb address 02:68:33:62:00:05',
    );
    expect(flat).toContain(
      'ip link add m1 netns h3b-lb address 02:68:33:62:00:03 type veth peer name s0 netns h3b-s address 02:68:33:62:00:02',
    );
    expect(flat).toContain(
      'ip -n h3b-la neigh replace 198.18.0.5 lladdr 02:68:33:62:00:05 dev l1 nud permanent',
    );
    expect(flat).toContain('ip -n h3b-la route add 198.18.0.2/31 via 198.18.0.5 dev l1');
    expect(flat).toContain('ip -n h3b-lb route add 198.18.0.0/31 via 198.18.0.4 dev m0');
    expect(flat).toContain('ip netns exec h3b-lb sysctl -q -w net.ipv4.ip_forward=1');
    expect(flat.filter((c) => c.includes('ethtool -K'))).toHaveLength(6);
  });

  it('puts netem (delay, loss, jitter, no-reorder rate) first and tbf (rate, byte limit) second, per direction', () => {
    const cmds = plan(p, TOPO, OPTS);
    const st = stagesOf(p, TOPO);
    expect(st.down).toEqual({ netem: { ns: 'h3b-lb', dev: 'm0' }, tbf: { ns: 'h3b-la', dev: 'l0' } });
    expect(st.up).toEqual({ netem: { ns: 'h3b-la', dev: 'l1' }, tbf: { ns: 'h3b-lb', dev: 'm1' } });
    const downNetem = netemCmd(cmds, 'h3b-lb', 'm0');
    expect(downNetem).toContain(
      `limit ${DELAY_LINE_LIMIT} delay 40000us 2000us loss random 1% rate 100000000000bit -14`,
    );
    expect(tcOn(cmds, 'h3b-la', 'l0')).toEqual([
      'tc -n h3b-la qdisc replace dev l0 root handle 1: stab overhead -14 tbf rate 10000000bit burst 3000 limit 60000',
    ]);
    expect(tcOn(cmds, 'h3b-lb', 'm1')).toEqual([
      'tc -n h3b-lb qdisc replace dev m1 root handle 1: stab overhead -14 tbf rate 4000000bit burst 3000 limit 60000',
    ]);
  });

  it('sizes tbf burst at 1 ms of the rate for fast links', () => {
    const fast = profileOf('  rate: 1gbit\n  queue: 1MB\n');
    const flat = plan(fast, TOPO, OPTS).map((c) => c.join(' '));
    expect(flat.some((c) => c.endsWith('tbf rate 1000000000bit burst 125000 limit 1000000'))).toBe(true);
  });

  it('is pure: the same input gives the same plan', () => {
    expect(plan(p, TOPO, OPTS)).toEqual(plan(p, TOPO, OPTS));
  });
});
