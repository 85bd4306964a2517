/**
 * Is the comparison fair? What TCP (kernel) and QUIC (the driver, quiche) actually get for
 * congestion control, pacing and HyStart, judged from what was applied and read back (sysctls,
 * `tc qdisc show` on the endpoints' egress), never from what was asked. Every mismatch is a warning
 * recorded in the result's `link.provenance.warnings` (and printed once per process).
 *
 * Facts of Linux this relies on:
 * - TCP is paced by the `fq` qdisc, or by the stack itself when the congestion control asks for
 *   pacing and the qdisc is not fq (BBR does: "internal pacing", Linux ≥ 4.13). CUBIC and Reno do not.
 * - Linux CUBIC uses HyStart (tcp_cubic module parameter `hystart`, host-wide, default 1); Linux Reno
 *   and BBR have none. quiche applies HyStart++ to its CUBIC and Reno when enabled; its BBR ignores it.
 * - The QUIC driver paces only with transport.pacing.
 */
import { readFileSync } from 'node:fs';
import { CONGESTION_CONTROLS, type Transport } from '../core/transport.js';
import { run } from './netns.js';

/** What TCP gets on this link, as read back. */
export interface TcpFacts {
  /** The link is host loopback (backend none): nothing was set up for the run. */
  loopback: boolean;
  /** tcp_congestion_control where the endpoints run (both namespaces, or the host's). */
  congestion: string;
  /** Root qdisc kind on each endpoint's egress device ("fq", "pfifo", "noqueue", …; "unknown"). */
  qdisc: { client: string; server: string };
  /** The devices, for the text ("c0/s0", "lo", …). */
  devices: string;
  /** The kernel has sch_fq. */
  fqAvailable: boolean;
  /** tcp_cubic's `hystart` module parameter ("1" or "0"), null when it cannot be read. */
  cubicHystart: string | null;
}

export interface Fairness {
  congestion: string;
  pacing: string;
  hystart: string;
  /** One sentence per unfair difference between TCP and QUIC. */
  warnings: string[];
}

type Knobs = Pick<Transport, 'congestion' | 'pacing' | 'hystart'>;

function qdiscText(f: TcpFacts): string {
  const q =
    f.qdisc.client === f.qdisc.server ? f.qdisc.client : `client ${f.qdisc.client}, server ${f.qdisc.server}`;
  return `${q} on ${f.devices}`;
}

function congestionOf(t: Knobs, f: TcpFacts): { text: string; warning: string | null } {
  if (f.loopback) {
    const text = `TCP: ${f.congestion} (the host's net.ipv4.tcp_congestion_control: host loopback cannot set it per run); QUIC: ${t.congestion} (driver)`;
    if (f.congestion === t.congestion) return { text, warning: null };
    const fix = (CONGESTION_CONTROLS as readonly string[]).includes(f.congestion)
      ? `set transport.congestion: ${f.congestion}, or use an emulated backend`
      : 'use an emulated backend (it sets TCP congestion control per namespace)';
    return {
      text,
      warning: `network.backend none (host loopback): TCP uses the host's congestion control "${f.congestion}" while QUIC uses transport.congestion "${t.congestion}" (unfair); ${fix}`,
    };
  }
  if (f.congestion === t.congestion) {
    return {
      text: `${t.congestion} for TCP (tcp_congestion_control in both namespaces) and QUIC (driver)`,
      warning: null,
    };
  }
  return {
    text: `TCP: ${f.congestion} (read back in the namespaces); QUIC: ${t.congestion} (driver)`,
    warning: `TCP runs congestion control "${f.congestion}" while QUIC runs transport.congestion "${t.congestion}" (unfair)`,
  };
}

function pacingOf(t: Knobs, f: TcpFacts): { text: string; warning: string | null } {
  const fqClient = f.qdisc.client === 'fq';
  const fqServer = f.qdisc.server === 'fq';
  const selfPaced = f.congestion === 'bbr';
  const where = qdiscText(f);
  // How TCP is paced on each side: fq, BBR's own pacing, or not at all.
  let tcp: 'fq' | 'bbr' | 'none' | 'partial';
  if (fqClient && fqServer) tcp = 'fq';
  else if (selfPaced) tcp = 'bbr';
  else if (fqClient || fqServer) tcp = 'partial';
  else tcp = 'none';
  const quic = t.pacing;
  const tcpText =
    tcp === 'fq'
      ? `fq on ${f.devices}`
      : tcp === 'bbr'
        ? `BBR paces itself (${where}, no fq)`
        : tcp === 'partial'
          ? `only where fq is (${where})`
          : `${where}, no fq; ${f.congestion} does not pace`;
  if (tcp !== 'none' && tcp !== 'partial' && quic) {
    return { text: `on for both (TCP: ${tcpText}; QUIC: the driver paces)`, warning: null };
  }
  if (tcp === 'none' && !quic) {
    return { text: `off for both (TCP: ${tcpText}; QUIC: driver pacing off)`, warning: null };
  }
  if (!quic) {
    const text = `TCP paced (${tcpText}), QUIC NOT paced (transport.pacing: false)`;
    const warning =
      tcp === 'bbr' && t.congestion === 'bbr'
        ? 'transport.congestion bbr with transport.pacing false: Linux TCP BBR paces itself while the QUIC driver does not pace (unfair); set transport.pacing: true'
        : `TCP is paced (${tcpText}) while the QUIC driver does not (transport.pacing: false): unfair`;
    return { text, warning };
  }
  // QUIC paced, TCP not (or on one side only).
  if (!f.loopback && !f.fqAvailable) {
    return {
      text: 'QUIC paced by the driver, TCP NOT paced (no sch_fq in this kernel)',
      warning:
        'transport.pacing is on but this kernel has no sch_fq: TCP is NOT paced while the QUIC driver paces (unfair); set transport.pacing: false for a fair comparison here',
    };
  }
  return {
    text: `QUIC paced by the driver, TCP NOT paced (${tcpText})`,
    warning: f.loopback
      ? `transport.pacing is on but on host loopback TCP is NOT paced (${where}, no fq) while the QUIC driver paces (unfair); set transport.pacing: false, or use an emulated backend`
      : `transport.pacing is on but TCP is NOT paced (${tcpText}) while the QUIC driver paces (unfair)`,
  };
}

function hystartOf(t: Knobs, f: TcpFacts): { text: string; warning: string | null } {
  if (t.congestion === 'bbr' && f.congestion === 'bbr') {
    return { text: 'not used: BBR has its own startup (TCP and QUIC)', warning: null };
  }
  const quicUses = t.hystart && t.congestion !== 'bbr';
  const quicText = quicUses
    ? `QUIC: HyStart++ (transport.hystart, quiche ${t.congestion})`
    : t.congestion === 'bbr'
      ? 'QUIC: none (quiche BBR)'
      : 'QUIC: off (transport.hystart: false)';
  const param = f.cubicHystart ?? '1 (assumed: unreadable)';
  const tcpUses = f.congestion === 'cubic' && f.cubicHystart !== '0';
  const tcpText =
    f.congestion === 'cubic'
      ? `TCP: ${tcpUses ? 'HyStart' : 'off'} (Linux CUBIC, tcp_cubic hystart=${param}, host-wide)`
      : `TCP: none (Linux ${f.congestion} has no HyStart)`;
  const text = `${tcpText}; ${quicText}`;
  // Different congestion controls (host loopback) differ in slow start anyway: warned about there.
  if (tcpUses === quicUses || f.congestion !== t.congestion) return { text, warning: null };
  let warning: string;
  if (tcpUses && t.congestion === 'cubic') {
    warning =
      'transport.hystart: false turns HyStart++ off for QUIC only: Linux CUBIC (TCP) always uses HyStart (tcp_cubic hystart=1, a host-wide module parameter), so their slow starts differ (unfair); set transport.hystart: true';
  } else if (quicUses && f.congestion === 'reno') {
    warning =
      'transport.congestion reno with transport.hystart: true: QUIC (quiche Reno) leaves slow start with HyStart++, Linux TCP Reno has no HyStart (unfair); set transport.hystart: false';
  } else {
    warning = `slow start differs: ${text} (unfair)`;
  }
  return { text, warning };
}

/** Judge congestion control, pacing and HyStart of TCP against QUIC (pure). */
export function judgeFairness(t: Knobs, f: TcpFacts): Fairness {
  const parts = [congestionOf(t, f), pacingOf(t, f), hystartOf(t, f)];
  return {
    congestion: parts[0]?.text ?? '',
    pacing: parts[1]?.text ?? '',
    hystart: parts[2]?.text ?? '',
    warnings: parts.flatMap((p) => (p.warning === null ? [] : [p.warning])),
  };
}

/** The kind of the root qdisc in `tc qdisc show` output of one device ("pfifo", "fq", …). */
export function parseRootQdisc(text: string): string {
  for (const line of text.split('\n')) {
    const m = /^qdisc (\S+) \S+ (?:dev \S+ )?root\b/.exec(line.trim());
    if (m?.[1] !== undefined) return m[1];
  }
  return 'unknown';
}

/** Root qdisc kind of a device, read back (`tc [-n NS] qdisc show dev DEV`); "unknown" on failure. */
export async function rootQdisc(ns: string | null, dev: string): Promise<string> {
  try {
    const argv =
      ns === null ? ['tc', 'qdisc', 'show', 'dev', dev] : ['tc', '-n', ns, 'qdisc', 'show', 'dev', dev];
    return parseRootQdisc((await run(argv)).stdout);
  } catch {
    return 'unknown';
  }
}

/** tcp_cubic's `hystart` module parameter ("1"/"0"), or null when it cannot be read. */
export function cubicHystartParam(): string | null {
  try {
    return readFileSync('/sys/module/tcp_cubic/parameters/hystart', 'utf8').trim();
  } catch {
    return null;
  }
}

/** The host's (current namespace's) default TCP congestion control, or "unknown". */
export function hostCongestion(): string {
  try {
    return readFileSync('/proc/sys/net/ipv4/tcp_congestion_control', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}
