/**
 * Pure planning of the netem backend: profile + namespace names → argv arrays for
 * ip, tc, ethtool and sysctl. Nothing here touches the system; `apply.ts` runs the plan.
 *
 * Topology (tc-netem(8): emulate on a router, not on the sending host): impairments live only in forwarding "link" namespaces, never on an
 * endpoint's own egress, so packets are orphaned from the sending socket before they are shaped. The
 * endpoints' own egress gets `fq` (TCP pacing) or an explicit `pfifo` (endpointQdiscArgs), never the
 * host's default qdisc.
 *
 *   single stage:  client c0 ── l0 [link A] l1 ── s0 server
 *   two stages:    client c0 ── l0 [link A] l1 ── m0 [link B] m1 ── s0 server
 *
 * Addresses (198.18.0.0/15, RFC 2544), /31 point-to-point segments:
 *   client c0 198.18.0.1/31 ↔ link A l0 198.18.0.0/31
 *   server s0 198.18.0.2/31 ↔ (link A l1 | link B m1) 198.18.0.3/31
 *   link A l1 198.18.0.4/31 ↔ link B m0 198.18.0.5/31 (two stages only)
 *
 * Per direction, the FIRST link egress carries one `netem` (delay, jitter, loss, reorder, duplicate,
 * corrupt, seed); the link rate goes:
 * - with a queue in packets (or no queue): into that same netem (`rate R -14 limit BDP+queue`), one
 *   qdisc per direction, netem's own `rate` (its queue shares `limit` with the delay line);
 * - with a queue in bytes (the default: 1 BDP): into a `tbf rate R burst 2·MTU limit QUEUE_BYTES` on the
 *   SECOND link egress (for a byte-limited queue: delay-only netem with a huge limit, then a
 *   byte-limited rate stage). Both directions then see loss → delay line → queue → rate, and the queue
 *   counts IP bytes like linkem's.
 * Rates count IP bytes on both backends: netem's packet overhead is -14 (veth counts the Ethernet
 * header) and tbf gets a size table with overhead -14.
 * Jitter never reorders: netem computes `time_to_send = max(now + delay, last) + len/rate` when a rate
 * is set, so a netem with jitter and no rate of its own gets a 100 Gbit/s one (0.12 µs per 1500 B),
 * unless `reorder` is asked for.
 */
import {
  baseRttMs,
  type Direction,
  type DirectionProfile,
  type LossModel,
  type NetworkProfile,
} from '../core/network.js';
import { BENCH_PREFIX, CLIENT_ADDRESS, SERVER_ADDRESS } from './addresses.js';

/** L2 header bytes a veth counts that an IP-length rate must not (Ethernet, no FCS). */
export const VETH_L2_OVERHEAD = 14;
/** netem `limit` of a stage that holds only a delay line (packets in the delay line count toward it). */
export const DELAY_LINE_LIMIT = 100_000;
/** Rate given to a netem with jitter and no rate of its own, so it never reorders (kbit/s). */
export const NO_REORDER_RATE_KBIT = 100_000_000;
/** Offloads turned off on every veth (netem acts per skb: a TSO/GSO super-packet would be lost whole). */
export const OFFLOADS_OFF = ['tso', 'off', 'gso', 'off', 'gro', 'off', 'tx-udp-segmentation', 'off'] as const;

/** Namespaces of a netem topology (created by the caller before the plan runs). */
export interface NetemTopology {
  clientNs: string;
  serverNs: string;
  /** Link A (client side). */
  linkNs: string;
  /** Link B (server side); required when `needsSecondStage(profile)`. */
  link2Ns: string | null;
}

export interface PlanOptions {
  /** tc understands netem `seed` (iproute2 ≥ 6.6, kernel ≥ 6.6). */
  tcSeed: boolean;
  /** Put `fq` on the endpoints' egress (TCP pacing; transport.pacing), else `pfifo`. */
  pacing: boolean;
}

/** Where one direction's qdiscs go. */
export interface DirectionStages {
  /** Namespace and device of the netem. */
  netem: { ns: string; dev: string };
  /** Namespace and device of the tbf stage, or null when the rate (if any) is inside netem. */
  tbf: { ns: string; dev: string } | null;
}

/** A direction whose bottleneck queue is in bytes needs the tbf stage. */
export function usesTbf(d: DirectionProfile): boolean {
  return d.rateKbit !== null && d.queueBytes !== null;
}

export function needsSecondStage(profile: NetworkProfile): boolean {
  return usesTbf(profile.down) || usesTbf(profile.up);
}

/** Per-direction seed derived from the profile seed (independent streams, stable across features). */
export function directionSeed(seed: number, dir: Direction): number {
  let h = (seed ^ (dir === 'down' ? 0x9e3779b9 : 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** Percent as tc reads it ("0.337%"), at most 6 decimals. */
export function pct(v: number): string {
  return `${+v.toFixed(6)}%`;
}

/** A time in whole microseconds ("50000us"). */
export function usec(ms: number): string {
  return `${Math.round(ms * 1000)}us`;
}

/** A rate in bit/s ("10000000bit"). */
export function bitRate(kbit: number): string {
  return `${Math.round(kbit * 1000)}bit`;
}

export function lossArgs(loss: LossModel): string[] {
  switch (loss.model) {
    case 'none':
      return [];
    case 'random':
      return ['loss', 'random', pct(loss.pct)];
    case 'gilbert-elliott':
      return [
        'loss',
        'gemodel',
        pct(loss.pPct),
        pct(loss.rPct),
        pct(loss.lossInBadPct),
        pct(loss.lossInGoodPct),
      ];
    case 'four-state':
      return [
        'loss',
        'state',
        pct(loss.p13Pct),
        pct(loss.p31Pct),
        pct(loss.p32Pct),
        pct(loss.p23Pct),
        pct(loss.p14Pct),
      ];
  }
}

/** Packets a direction's delay line can hold at line rate (full-size packets), rounded up. */
export function delayLinePackets(d: DirectionProfile, mtuBytes: number): number {
  if (d.rateKbit === null) return DELAY_LINE_LIMIT;
  return Math.ceil((d.rateKbit * (d.delayMs + d.jitterMs)) / 8 / mtuBytes);
}

/** netem `limit` for a direction: delay line + bottleneck queue (the delay line counts toward the limit, tc-netem(8)). */
export function netemLimit(d: DirectionProfile, mtuBytes: number): number {
  if (d.rateKbit === null || usesTbf(d)) return DELAY_LINE_LIMIT;
  // A packet queue; with no queue given at all, 1 BDP at the base delay (never < 10 packets).
  const queue = d.queuePackets ?? Math.max(10, delayLinePackets(d, mtuBytes));
  return delayLinePackets(d, mtuBytes) + queue;
}

/** The netem qdisc options of one direction (after `netem`). */
export function netemArgs(
  d: DirectionProfile,
  profile: NetworkProfile,
  dir: Direction,
  opts: PlanOptions,
): string[] {
  const args = ['limit', String(netemLimit(d, profile.mtuBytes))];
  if (d.delayMs > 0 || d.jitterMs > 0) {
    args.push('delay', usec(d.delayMs));
    if (d.jitterMs > 0) {
      args.push(usec(d.jitterMs));
      // tc sends a distribution table only when asked; none = uniform (tc-netem(8)).
      if (d.jitterDistribution !== 'uniform') args.push('distribution', d.jitterDistribution);
    }
  }
  args.push(...lossArgs(d.loss));
  const rateInNetem = d.rateKbit !== null && !usesTbf(d);
  if (rateInNetem && d.rateKbit !== null) {
    args.push('rate', bitRate(d.rateKbit), String(-VETH_L2_OVERHEAD));
  } else if (d.jitterMs > 0 && d.reorderPct === 0) {
    args.push('rate', bitRate(NO_REORDER_RATE_KBIT), String(-VETH_L2_OVERHEAD));
  }
  if (d.reorderPct > 0) args.push('reorder', pct(d.reorderPct));
  if (d.duplicatePct > 0) args.push('duplicate', pct(d.duplicatePct));
  if (d.corruptPct > 0) args.push('corrupt', pct(d.corruptPct));
  if (opts.tcSeed) args.push('seed', String(directionSeed(profile.seed, dir)));
  return args;
}

/** tbf `burst`: two full packets, or 1 ms at the rate when that is more (timer granularity). */
export function tbfBurstBytes(rateKbitValue: number, mtuBytes: number): number {
  return Math.max(2 * mtuBytes, Math.ceil(rateKbitValue / 8));
}

/** The tbf stage of a direction (rate + byte queue, IP bytes via a size table). */
export function tbfArgs(d: DirectionProfile, mtuBytes: number): string[] {
  if (d.rateKbit === null || d.queueBytes === null)
    throw new Error('tbf stage needs a rate and a byte queue');
  return [
    'stab',
    'overhead',
    String(-VETH_L2_OVERHEAD),
    'tbf',
    'rate',
    bitRate(d.rateKbit),
    'burst',
    String(tbfBurstBytes(d.rateKbit, mtuBytes)),
    'limit',
    String(d.queueBytes),
  ];
}

/** Where each direction's qdiscs go in a topology. */
export function stagesOf(profile: NetworkProfile, topo: NetemTopology): Record<Direction, DirectionStages> {
  const two = needsSecondStage(profile);
  if (two && topo.link2Ns === null) throw new Error('this profile needs a second link namespace (link2Ns)');
  if (!two || topo.link2Ns === null) {
    return {
      down: { netem: { ns: topo.linkNs, dev: 'l0' }, tbf: null },
      up: { netem: { ns: topo.linkNs, dev: 'l1' }, tbf: null },
    };
  }
  // Downlink enters at link B, uplink at link A: the netem sits on the first hop of each direction.
  return {
    down: {
      netem: { ns: topo.link2Ns, dev: 'm0' },
      tbf: usesTbf(profile.down) ? { ns: topo.linkNs, dev: 'l0' } : null,
    },
    up: {
      netem: { ns: topo.linkNs, dev: 'l1' },
      tbf: usesTbf(profile.up) ? { ns: topo.link2Ns, dev: 'm1' } : null,
    },
  };
}

/** Every veth of the topology: [namespace, device]. */
export function vethsOf(profile: NetworkProfile, topo: NetemTopology): [string, string][] {
  const list: [string, string][] = [
    [topo.clientNs, 'c0'],
    [topo.linkNs, 'l0'],
    [topo.linkNs, 'l1'],
  ];
  if (needsSecondStage(profile) && topo.link2Ns !== null)
    list.push([topo.link2Ns, 'm0'], [topo.link2Ns, 'm1']);
  list.push([topo.serverNs, 's0']);
  return list;
}

/** The endpoint devices (client, server) the harness's processes send from. */
export function endpointDevices(topo: NetemTopology): { client: [string, string]; server: [string, string] } {
  return { client: [topo.clientNs, 'c0'], server: [topo.serverNs, 's0'] };
}

/** A deterministic, locally administered MAC for an address ("h3b" + last octet). */
export function macFor(address: string): string {
  const last = Number(address.split('.').pop());
  return `02:68:33:62:00:${last.toString(16).padStart(2, '0')}`;
}

/** One veth segment: two ends, each [namespace, device, address]. */
type End = [ns: string, dev: string, address: string];

/** The /31 segments of a topology, client side first. */
export function segmentsOf(profile: NetworkProfile, topo: NetemTopology): [End, End][] {
  if (needsSecondStage(profile) && topo.link2Ns !== null) {
    return [
      [
        [topo.clientNs, 'c0', CLIENT_ADDRESS],
        [topo.linkNs, 'l0', '198.18.0.0'],
      ],
      [
        [topo.linkNs, 'l1', '198.18.0.4'],
        [topo.link2Ns, 'm0', '198.18.0.5'],
      ],
      [
        [topo.link2Ns, 'm1', '198.18.0.3'],
        [topo.serverNs, 's0', SERVER_ADDRESS],
      ],
    ];
  }
  return [
    [
      [topo.clientNs, 'c0', CLIENT_ADDRESS],
      [topo.linkNs, 'l0', '198.18.0.0'],
    ],
    [
      [topo.linkNs, 'l1', '198.18.0.3'],
      [topo.serverNs, 's0', SERVER_ADDRESS],
    ],
  ];
}

/** The whole netem set-up as argv arrays, in order. The namespaces must exist. */
export function plan(profile: NetworkProfile, topo: NetemTopology, opts: PlanOptions): string[][] {
  const two = needsSecondStage(profile);
  const link2 = topo.link2Ns;
  if (two && link2 === null) throw new Error('this profile needs a second link namespace (link2Ns)');
  const cmds: string[][] = [];
  const all = [topo.clientNs, topo.linkNs, ...(two && link2 ? [link2] : []), topo.serverNs];
  for (const ns of all) cmds.push(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);

  // Wiring: veth pairs created directly in their namespaces, fixed MACs, /31 addresses, no IPv6
  // (nothing but the test traffic crosses the link) and static neighbours (no ARP through netem,
  // where it would be delayed and lost like data).
  const segments = segmentsOf(profile, topo);
  for (const [a, b] of segments) {
    cmds.push([
      'ip',
      'link',
      'add',
      a[1],
      'netns',
      a[0],
      'address',
      macFor(a[2]),
      'type',
      'veth',
      'peer',
      'name',
      b[1],
      'netns',
      b[0],
      'address',
      macFor(b[2]),
    ]);
  }
  for (const [a, b] of segments) {
    for (const [ns, dev, address] of [a, b]) {
      cmds.push(['ip', '-n', ns, 'link', 'set', 'dev', dev, 'addrgenmode', 'none']);
      cmds.push(['ip', '-n', ns, 'addr', 'add', `${address}/31`, 'dev', dev]);
    }
  }

  // MTU, offloads off (before the devices carry traffic), up.
  for (const [ns, dev] of vethsOf(profile, topo)) {
    cmds.push(['ip', '-n', ns, 'link', 'set', 'dev', dev, 'mtu', String(profile.mtuBytes)]);
    cmds.push(['ip', 'netns', 'exec', ns, 'ethtool', '-K', dev, ...OFFLOADS_OFF]);
  }
  for (const [ns, dev] of vethsOf(profile, topo))
    cmds.push(['ip', '-n', ns, 'link', 'set', 'dev', dev, 'up']);
  for (const [a, b] of segments) {
    cmds.push([
      'ip',
      '-n',
      a[0],
      'neigh',
      'replace',
      b[2],
      'lladdr',
      macFor(b[2]),
      'dev',
      a[1],
      'nud',
      'permanent',
    ]);
    cmds.push([
      'ip',
      '-n',
      b[0],
      'neigh',
      'replace',
      a[2],
      'lladdr',
      macFor(a[2]),
      'dev',
      b[1],
      'nud',
      'permanent',
    ]);
  }

  // Routing: endpoints send everything in the bench range to their router; routers forward.
  cmds.push(['ip', '-n', topo.clientNs, 'route', 'add', BENCH_PREFIX, 'via', '198.18.0.0', 'dev', 'c0']);
  cmds.push(['ip', '-n', topo.serverNs, 'route', 'add', BENCH_PREFIX, 'via', '198.18.0.3', 'dev', 's0']);
  if (two && link2) {
    cmds.push(['ip', '-n', topo.linkNs, 'route', 'add', '198.18.0.2/31', 'via', '198.18.0.5', 'dev', 'l1']);
    cmds.push(['ip', '-n', link2, 'route', 'add', '198.18.0.0/31', 'via', '198.18.0.4', 'dev', 'm0']);
  }
  for (const ns of [topo.linkNs, ...(two && link2 ? [link2] : [])]) {
    cmds.push(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
  }

  // Emulation: one netem per direction on its first link egress, plus tbf stages for byte queues.
  const stages = stagesOf(profile, topo);
  for (const dir of ['down', 'up'] as const) {
    const d = profile[dir];
    const s = stages[dir];
    cmds.push([
      'tc',
      '-n',
      s.netem.ns,
      'qdisc',
      'replace',
      'dev',
      s.netem.dev,
      'root',
      'handle',
      '1:',
      'netem',
      ...netemArgs(d, profile, dir, opts),
    ]);
    if (s.tbf) {
      cmds.push([
        'tc',
        '-n',
        s.tbf.ns,
        'qdisc',
        'replace',
        'dev',
        s.tbf.dev,
        'root',
        'handle',
        '1:',
        ...tbfArgs(d, profile.mtuBytes),
      ]);
    }
  }

  // The endpoints' egress: fq (TCP pacing: Linux TCP paces only under fq or BBR) or an explicit FIFO.
  const ep = endpointDevices(topo);
  cmds.push(...endpointQdiscCommands([ep.client, ep.server], opts.pacing));
  return cmds;
}

/** Packets the endpoints' FIFO holds (pfifo `limit`): far more than any socket queues there. */
export const ENDPOINT_FIFO_LIMIT = 10_000;

/**
 * Root qdisc of the devices the endpoints send from (both backends): `fq` when TCP is to be paced,
 * else an explicit `pfifo`, so what TCP gets never depends on the host's net.core.default_qdisc (fq
 * would pace TCP and not QUIC; fq_codel would drop at the sender, out of the emulator's sight).
 */
export function endpointQdiscArgs(pacing: boolean): string[] {
  return pacing ? ['fq'] : ['pfifo', 'limit', String(ENDPOINT_FIFO_LIMIT)];
}

/** `tc qdisc replace … root` of endpointQdiscArgs on each [namespace, device]. */
export function endpointQdiscCommands(
  devices: readonly (readonly [string, string])[],
  pacing: boolean,
): string[][] {
  return devices.map(([ns, dev]) => [
    'tc',
    '-n',
    ns,
    'qdisc',
    'replace',
    'dev',
    dev,
    'root',
    ...endpointQdiscArgs(pacing),
  ]);
}

/** Human description of the configured path (for provenance and messages). */
export function describeStages(profile: NetworkProfile, topo: NetemTopology): Record<Direction, string> {
  const stages = stagesOf(profile, topo);
  const one = (dir: Direction) => {
    const s = stages[dir];
    return `netem on ${s.netem.ns}/${s.netem.dev}${s.tbf ? `, tbf on ${s.tbf.ns}/${s.tbf.dev}` : ''}`;
  };
  return { down: one('down'), up: one('up') };
}

/** Configured RTT a small probe packet sees: both delays plus its serialization at each rate. */
export function probeRttMs(profile: NetworkProfile, probeBytes: number): number {
  const ser = (d: DirectionProfile) => (d.rateKbit === null ? 0 : (probeBytes * 8) / d.rateKbit);
  return baseRttMs(profile) + ser(profile.down) + ser(profile.up);
}
