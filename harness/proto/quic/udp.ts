/**
 * What the kernel says about UDP in this network namespace: the UDP counters of /proc/net/snmp
 * (receive-buffer drops are loss that the emulated network did not cause) and sysctl values
 * (socket buffer limits), recorded with each result.
 */
import { readFileSync } from 'node:fs';

/** The kernel's UDP counters in this network namespace (/proc/net/snmp). */
// A type alias (not an interface) so that it is a JSON value where it is recorded.
export type UdpCounters = {
  /** Datagrams dropped because a socket receive buffer was full (non-network loss). */
  rcvbufErrors: number;
  /** Sends that failed for lack of send buffer. */
  sndbufErrors: number;
  /** Datagrams that could not be delivered (includes rcvbufErrors). */
  inErrors: number;
};

/** Read UDP counters, or null when /proc/net/snmp is unavailable. */
export function readUdpCounters(file = '/proc/net/snmp'): UdpCounters | null {
  try {
    const lines = readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('Udp:'));
    const names = lines[0]?.split(/\s+/).slice(1) ?? [];
    const values = lines[1]?.split(/\s+/).slice(1).map(Number) ?? [];
    const get = (n: string) => values[names.indexOf(n)] ?? NaN;
    const c = {
      rcvbufErrors: get('RcvbufErrors'),
      sndbufErrors: get('SndbufErrors'),
      inErrors: get('InErrors'),
    };
    return Number.isFinite(c.rcvbufErrors) ? c : null;
  } catch {
    return null;
  }
}

/** A numeric sysctl (e.g. `net.core.rmem_max`), or null when it cannot be read. */
export function readSysctl(name: string): number | null {
  try {
    const v = Number(readFileSync(`/proc/sys/${name.replaceAll('.', '/')}`, 'utf8').trim());
    return Number.isFinite(v) ? v : null;
  } catch {
    return null;
  }
}
