/**
 * Configuration of the TUN pair linkem creates: point-to-point addresses, MTU, queue length, up.
 */
import { UsageError } from '../../core/errors.js';
import { CLIENT_ADDRESS, SERVER_ADDRESS, isBenchmarkAddress } from '../addresses.js';
import { assertDeviceName, assertNamespaceName, run } from '../netns.js';

export interface TunPairSpec {
  clientNetns: string;
  serverNetns: string;
  clientDev: string;
  serverDev: string;
  mtuBytes: number;
  /** Default 198.18.0.1. */
  clientAddress?: string;
  /** Default 198.18.0.2. */
  serverAddress?: string;
  /** Device transmit queue (and TUN ring) length, packets. Default 10000. */
  txQueueLen?: number;
}

/**
 * Commands giving each TUN its point-to-point address, MTU and queue length, no IPv6 link-local
 * address (so nothing but the test traffic crosses the link), and bringing it and lo up. Pure.
 */
export function tunPairCommands(spec: TunPairSpec): string[][] {
  const client = spec.clientAddress ?? CLIENT_ADDRESS;
  const server = spec.serverAddress ?? SERVER_ADDRESS;
  for (const ip of [client, server]) {
    if (!isBenchmarkAddress(ip))
      throw new UsageError(`Cannot use address "${ip}": only 198.18.0.0/15 is allowed`);
  }
  assertNamespaceName(spec.clientNetns);
  assertNamespaceName(spec.serverNetns);
  assertDeviceName(spec.clientDev);
  assertDeviceName(spec.serverDev);
  const qlen = String(spec.txQueueLen ?? 10_000);
  const side = (ns: string, dev: string, local: string, peer: string): string[][] => [
    ['ip', '-n', ns, 'link', 'set', 'dev', dev, 'addrgenmode', 'none'],
    ['ip', '-n', ns, 'link', 'set', 'dev', dev, 'mtu', String(spec.mtuBytes), 'txqueuelen', qlen],
    ['ip', '-n', ns, 'addr', 'add', `${local}/32`, 'peer', `${peer}/32`, 'dev', dev],
    ['ip', '-n', ns, 'link', 'set', 'dev', dev, 'up'],
    ['ip', '-n', ns, 'link', 'set', 'dev', 'lo', 'up'],
  ];
  return [
    ...side(spec.clientNetns, spec.clientDev, client, server),
    ...side(spec.serverNetns, spec.serverDev, server, client),
  ];
}

/** Apply tunPairCommands (after startLinkem has created the devices). */
export async function configureTunPair(spec: TunPairSpec): Promise<void> {
  for (const argv of tunPairCommands(spec)) await run(argv);
}
