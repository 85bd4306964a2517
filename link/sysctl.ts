/**
 * The sysctls that decide how TCP and UDP behave in the client and server namespaces, applied and
 * read back for every run (ECN, congestion control, buffers, slow start after idle, the metrics cache), and the few host-wide (init_net) ones
 * that must be raised for that: recorded in the state file and restored when no h3bench process needs
 * them any more (also by `h3bench cleanup` after a crash).
 *
 * Per namespace: tcp_congestion_control = transport.congestion; tcp_no_metrics_save=1;
 * tcp_slow_start_after_idle=0; tcp_ecn=0 (ECN off for both: the QUIC driver sends no ECT);
 * tcp_rmem/tcp_wmem max ≥ 2 × (BDP + queue) and ≥ the HTTP/2-HTTP/3 windows.
 * Host-wide: tcp_allowed_congestion_control gains the algorithm when missing (a namespace may only
 * pick an allowed one, else EPERM); net.core.rmem_max/wmem_max (global: EINVAL inside a namespace)
 * are raised to the same need when below it.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { EnvironmentError } from '../core/errors.js';
import { bdpBytes, baseRttMs, type NetworkProfile } from '../core/network.js';
import type { Transport } from '../core/transport.js';
import { execIn } from './netns.js';
import { isAlive, readState, withState } from './state.js';

/** Keys read back from each endpoint namespace and recorded. */
export const NAMESPACE_SYSCTL_KEYS = [
  'net.ipv4.tcp_congestion_control',
  'net.ipv4.tcp_no_metrics_save',
  'net.ipv4.tcp_slow_start_after_idle',
  'net.ipv4.tcp_ecn',
  'net.ipv4.tcp_rmem',
  'net.ipv4.tcp_wmem',
  'net.ipv4.tcp_allowed_congestion_control',
  'net.core.rmem_max',
  'net.core.wmem_max',
] as const;

/** Floor of the socket buffer limits, bytes (quic-go's advice: 7.5 MB, quic-go wiki "UDP Buffer Sizes"). */
export const MIN_BUFFER_BYTES = 7_500_000;

/** Largest socket buffer a run may need, bytes: 2 × (BDP + queue), the windows, 7.5 MB. */
export function requiredBufferBytes(transport: Transport, profile: NetworkProfile): number {
  const rtt = baseRttMs(profile);
  const dirNeed = (d: NetworkProfile['down']) => 2 * (bdpBytes(d.rateKbit, rtt) + (d.queueBytes ?? 0));
  return Math.max(
    MIN_BUFFER_BYTES,
    dirNeed(profile.down),
    dirNeed(profile.up),
    transport.streamWindowBytes,
    transport.connectionWindowBytes,
  );
}

/** "4096 131072 6291456" → [4096, 131072, 6291456]. */
export function parseTriple(value: string): [number, number, number] {
  const parts = value.trim().split(/\s+/).map(Number);
  if (parts.length !== 3 || parts.some((n) => !Number.isFinite(n)))
    throw new Error(`not a sysctl triple: "${value}"`);
  return parts as [number, number, number];
}

/** Values to write in an endpoint namespace, given its current tcp_rmem/tcp_wmem (pure). */
export function namespaceSysctls(
  transport: Transport,
  profile: NetworkProfile,
  current: { tcpRmem: string; tcpWmem: string },
): Record<string, string> {
  const need = requiredBufferBytes(transport, profile);
  const raise = (v: string) => {
    const [min, def, max] = parseTriple(v);
    return `${min} ${def} ${Math.max(max, need)}`;
  };
  return {
    'net.ipv4.tcp_congestion_control': transport.congestion,
    'net.ipv4.tcp_no_metrics_save': '1',
    'net.ipv4.tcp_slow_start_after_idle': '0',
    'net.ipv4.tcp_ecn': '0',
    'net.ipv4.tcp_rmem': raise(current.tcpRmem),
    'net.ipv4.tcp_wmem': raise(current.tcpWmem),
  };
}

function norm(v: string): string {
  return v.trim().replace(/\s+/g, ' ');
}

/** Read sysctls inside a namespace in one call (`sysctl -e k…` prints "k = v"; missing keys skipped). */
export async function readNamespaceSysctls(
  ns: string,
  keys: readonly string[],
): Promise<Record<string, string>> {
  const { stdout } = await execIn(ns, ['sysctl', '-e', ...keys]);
  const found = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const i = line.indexOf(' = ');
    if (i > 0) found.set(line.slice(0, i).trim(), norm(line.slice(i + 3)));
  }
  return Object.fromEntries(keys.map((k) => [k, found.get(k) ?? '(unavailable)']));
}

/**
 * Write the endpoint sysctls in `ns`, read every recorded key back, and fail (naming key, wanted and
 * read value) when a written one did not take.
 */
export async function applyNamespaceSysctls(
  ns: string,
  transport: Transport,
  profile: NetworkProfile,
): Promise<Record<string, string>> {
  const cur = await execIn(ns, ['sysctl', '-n', 'net.ipv4.tcp_rmem', 'net.ipv4.tcp_wmem']);
  const [tcpRmem = '', tcpWmem = ''] = cur.stdout.trim().split('\n');
  const values = namespaceSysctls(transport, profile, { tcpRmem, tcpWmem });
  await execIn(ns, ['sysctl', '-q', '-w', ...Object.entries(values).map(([k, v]) => `${k}=${v}`)]);
  const back = await readNamespaceSysctls(ns, NAMESPACE_SYSCTL_KEYS);
  for (const [k, v] of Object.entries(values)) {
    if (back[k] !== norm(v)) {
      throw new EnvironmentError(
        `Cannot set ${k} in namespace ${ns}: wrote "${v}", read back "${back[k] ?? ''}"`,
      );
    }
  }
  return back;
}

// ---------------------------------------------------------------------------------------------
// Host (init_net) sysctls

function procPath(name: string): string {
  return path.join('/proc/sys', ...name.split('.'));
}

const CHILD_EHASH = 'net.ipv4.tcp_child_ehash_entries';

export function readHostSysctl(name: string): string {
  return norm(readFileSync(procPath(name), 'utf8'));
}

function writeHostSysctl(name: string, value: string): void {
  try {
    writeFileSync(procPath(name), value);
  } catch (err) {
    throw new EnvironmentError(
      `Cannot set host sysctl ${name}=${value}: ${(err as Error).message} (h3bench must run as root in the initial network namespace)`,
      { cause: err },
    );
  }
}

export interface HostChange {
  name: string;
  /** Value before h3bench first changed it (as recorded in the state file). */
  original: string;
  /** Value set now. */
  value: string;
}

/**
 * Buckets of the TCP hash table of each namespace created while h3bench runs
 * (`net.ipv4.tcp_child_ehash_entries`, Linux 6.1+; 0 = share the host's table). A run's namespace
 * holds a handful of sockets; with the host's table (here 262,144 buckets) every sock_diag dump of
 * the TCP telemetry sampler walks all of it, about 1.5 ms of CPU per dump.
 */
export const CHILD_EHASH_ENTRIES = 1024;

/**
 * Host changes needed for a run (pure): the allowed CC list, the global buffer limits, and a small
 * TCP hash table for the namespaces (when the kernel has the sysctl and it is 0, sharing the host's).
 */
export function hostChangesNeeded(
  congestion: string,
  needBytes: number,
  current: { allowed: string; rmemMax: number; wmemMax: number; childEhashEntries?: number | null },
): { name: string; value: string }[] {
  const out: { name: string; value: string }[] = [];
  const allowed = current.allowed.split(/\s+/).filter(Boolean);
  if (!allowed.includes(congestion)) {
    out.push({ name: 'net.ipv4.tcp_allowed_congestion_control', value: [...allowed, congestion].join(' ') });
  }
  if (current.rmemMax < needBytes) out.push({ name: 'net.core.rmem_max', value: String(needBytes) });
  if (current.wmemMax < needBytes) out.push({ name: 'net.core.wmem_max', value: String(needBytes) });
  if (current.childEhashEntries === 0) {
    out.push({ name: 'net.ipv4.tcp_child_ehash_entries', value: String(CHILD_EHASH_ENTRIES) });
  }
  return out;
}

/**
 * Make the host allow `congestion` in namespaces and raise the global socket buffer limits to
 * `needBytes`; every first change records the original value in the state file. Returns the changes
 * in effect (including ones made earlier by another h3bench process).
 */
export function prepareHost(congestion: string, needBytes: number): HostChange[] {
  const available = readHostSysctl('net.ipv4.tcp_available_congestion_control').split(' ');
  if (!available.includes(congestion)) {
    throw new EnvironmentError(
      `Cannot use congestion control "${congestion}": this kernel offers ${available.join(', ')} (load it with "modprobe tcp_${congestion}" as root, or set transport.congestion)`,
    );
  }
  return withState((s) => {
    const wanted = hostChangesNeeded(congestion, needBytes, {
      allowed: readHostSysctl('net.ipv4.tcp_allowed_congestion_control'),
      rmemMax: Number(readHostSysctl('net.core.rmem_max')),
      wmemMax: Number(readHostSysctl('net.core.wmem_max')),
      childEhashEntries: existsSync(procPath(CHILD_EHASH)) ? Number(readHostSysctl(CHILD_EHASH)) : null,
    });
    for (const w of wanted) {
      s.host[w.name] ??= readHostSysctl(w.name);
      writeHostSysctl(w.name, w.value);
    }
    return Object.entries(s.host).map(([name, original]) => ({
      name,
      original,
      value: readHostSysctl(name),
    }));
  });
}

/**
 * Restore every recorded host sysctl when no live h3bench process holds namespaces any more.
 * Returns what was restored (empty when others still need the changes or nothing was changed).
 */
export function restoreHostIfUnused(): HostChange[] {
  const s0 = readState();
  if (Object.keys(s0.host).length === 0) return [];
  return withState((s) => {
    const busy = Object.values(s.owners).some((o) => isAlive(o.pid, o.startTime) && o.namespaces.length > 0);
    if (busy) return [];
    const restored: HostChange[] = [];
    for (const [name, original] of Object.entries(s.host)) {
      const value = readHostSysctl(name);
      if (value !== original) writeHostSysctl(name, original);
      restored.push({ name, original, value });
    }
    s.host = {};
    return restored;
  });
}
