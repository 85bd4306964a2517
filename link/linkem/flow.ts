/** The flow hash linkem writes into its packet log, computed the same way as src/flow.c. */
import { UsageError } from '../../core/errors.js';

function ipBytes(ip: string): number[] {
  if (ip.includes(':')) return ipv6Bytes(ip);
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new UsageError(`Cannot hash address "${ip}": not an IPv4 or IPv6 address`);
  }
  return parts;
}

function ipv6Bytes(ip: string): number[] {
  let text = ip;
  let tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4?.[1] !== undefined) {
    tail = ipBytes(v4[1]);
    text = text.slice(0, -v4[1].length) + '0:0';
  }
  const halves = text.split('::');
  if (halves.length > 2) throw new UsageError(`Cannot hash address "${ip}": more than one "::"`);
  const words = (s: string | undefined) => (s === undefined || s === '' ? [] : s.split(':'));
  const head = words(halves[0]);
  const rest = words(halves[1]);
  const fill = halves.length === 2 ? 8 - head.length - rest.length : 0;
  const all = [...head, ...Array<string>(Math.max(0, fill)).fill('0'), ...rest];
  if (all.length !== 8 || all.some((w) => !/^[0-9a-f]{1,4}$/i.test(w))) {
    throw new UsageError(`Cannot hash address "${ip}": not an IPv6 address`);
  }
  const bytes = all.flatMap((w) => {
    const v = parseInt(w, 16);
    return [v >> 8, v & 0xff];
  });
  if (tail.length === 4) bytes.splice(12, 4, ...tail);
  return bytes;
}

function fnv1a(h: number, bytes: readonly number[]): number {
  let x = h;
  for (const b of bytes) x = Math.imul(x ^ b, 16777619) >>> 0;
  return x;
}

function compareBytes(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** Protocols whose first 4 payload bytes are source and destination ports. */
const PORT_PROTOCOLS = new Set([6, 17, 33, 132, 136]);

/**
 * The flow hash linkem logs for a packet: symmetric (both directions of a connection hash alike),
 * FNV-1a 32 over [lower endpoint][higher endpoint][protocol], endpoint = address bytes + port
 * (big-endian; 0 for protocols without ports).
 */
export function linkemFlowHash(t: {
  src: string;
  dst: string;
  proto: number;
  srcPort?: number;
  dstPort?: number;
}): number {
  const ports = PORT_PROTOCOLS.has(t.proto);
  const port = (p: number | undefined) => {
    const v = ports ? (p ?? 0) : 0;
    return [(v >> 8) & 0xff, v & 0xff];
  };
  let a = { addr: ipBytes(t.src), port: port(t.srcPort) };
  let b = { addr: ipBytes(t.dst), port: port(t.dstPort) };
  const cmp = compareBytes(a.addr, b.addr) || compareBytes(a.port, b.port);
  if (cmp > 0) [a, b] = [b, a];
  let h = 2166136261;
  h = fnv1a(h, a.addr);
  h = fnv1a(h, a.port);
  h = fnv1a(h, b.addr);
  h = fnv1a(h, b.port);
  return fnv1a(h, [t.proto & 0xff]);
}
