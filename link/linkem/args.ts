/**
 * linkem's command line planned from a NetworkProfile (pure): per-direction delay, jitter, rate,
 * loss and the limits that make linkem's queue mean what netem's `limit` means (tc-netem(8)).
 */
import { UnsupportedError, UsageError } from '../../core/errors.js';
import {
  unsupportedFeatures,
  type DirectionProfile,
  type LossModel,
  type NetworkProfile,
} from '../../core/network.js';
import { assertDeviceName, assertNamespaceName } from '../netns.js';

/** Packets a direction may hold when nothing limits it (no rate, or no packet limit): the ring size. */
export const LINKEM_UNLIMITED_PACKETS = 100_000;
/** Largest packet limit linkem accepts. */
export const LINKEM_MAX_PACKETS = 1_000_000;

/** What linkem holds per direction: the bottleneck queue plus the delay line (netem `limit`). */
export interface LinkemLimits {
  /** Packets held at most, delay line included. */
  packets: number;
  /** IP bytes held at most, delay line included; null = no byte limit. */
  bytes: number | null;
  /** Bytes the delay line holds at the link rate over delay + jitter (0 without a rate). */
  delayLineBytes: number;
}

/**
 * Limits of one direction. linkem (like netem) counts packets still in the delay line toward its
 * limit, so the profile's bottleneck queue is enlarged by what the delay line holds at the link rate:
 * `bytes = queueBytes + rate × (delay + jitter)`, `packets = queuePackets + ⌈that / MTU⌉ + 1`.
 * Without a rate there is no bottleneck: only the ring size (LINKEM_UNLIMITED_PACKETS) applies.
 */
export function linkemLimits(dir: DirectionProfile, mtuBytes: number): LinkemLimits {
  if (dir.rateKbit === null) return { packets: LINKEM_UNLIMITED_PACKETS, bytes: null, delayLineBytes: 0 };
  // kbit/s × ms = bit.
  const delayLineBytes = Math.ceil((dir.rateKbit * (dir.delayMs + dir.jitterMs)) / 8);
  const packets =
    dir.queuePackets === null
      ? LINKEM_UNLIMITED_PACKETS
      : Math.min(LINKEM_MAX_PACKETS, dir.queuePackets + Math.ceil(delayLineBytes / mtuBytes) + 1);
  const bytes = dir.queueBytes === null ? null : dir.queueBytes + delayLineBytes;
  return { packets, bytes, delayLineBytes };
}

/** A number as linkem parses it: plain decimal, at most 9 decimals. */
function num(x: number): string {
  if (!Number.isFinite(x) || x < 0) throw new UsageError(`linkem: cannot pass ${x} as a non-negative number`);
  return Number.isInteger(x) ? String(x) : x.toFixed(9).replace(/0+$/, '').replace(/\.$/, '');
}

/** The `--up-loss` / `--down-loss` value of a loss model. */
export function linkemLossSpec(loss: LossModel): string {
  switch (loss.model) {
    case 'none':
      return 'none';
    case 'random':
      return `random:${num(loss.pct)}`;
    case 'gilbert-elliott':
      return `ge:${[loss.pPct, loss.rPct, loss.lossInBadPct, loss.lossInGoodPct].map(num).join(',')}`;
    case 'four-state':
      return `4state:${[loss.p13Pct, loss.p31Pct, loss.p32Pct, loss.p23Pct, loss.p14Pct].map(num).join(',')}`;
  }
}

export interface LinkemOptions {
  /** Namespace of side a (the client). */
  clientNetns: string;
  /** Namespace of side b (the server). */
  serverNetns: string;
  /** TUN device to create in the client namespace (≤ 15 characters, `h3b-` prefix). */
  clientDev: string;
  /** TUN device to create in the server namespace. */
  serverDev: string;
  profile: NetworkProfile;
  /** Binary per-packet log (format in link/linkem/README.md). */
  logFile?: string;
  /** Spin this many µs before each release instead of sleeping (precision for CPU). Default 0. */
  busyPollUs?: number;
  /** Keep polling input this many µs after each packet instead of sleeping. Default 0. */
  rxPollUs?: number;
  /** Spin (both kinds) at most this share (%) of each 10 ms window. linkem's default is 50. */
  busyPollMaxPct?: number;
  /** Ask for SCHED_FIFO (falls back silently; the result says which policy ran). Default true. */
  fifo?: boolean;
  /** mlockall the emulator. Default false. */
  mlock?: boolean;
  /** How long to wait for READY, ms. Default 5000. */
  readyTimeoutMs?: number;
}

/** Throw UnsupportedError for profile features linkem does not emulate. */
function assertSupported(dir: DirectionProfile, name: 'up' | 'down'): void {
  const unsupported = unsupportedFeatures('linkem', dir).map((f) => f.feature);
  if (unsupported.length > 0) {
    throw new UnsupportedError(
      `The linkem backend cannot emulate ${unsupported.join(', ')} (direction ${name}); use backend netem on a kernel with sch_netem`,
    );
  }
}

function directionArgs(name: 'up' | 'down', dir: DirectionProfile, mtuBytes: number): string[] {
  assertSupported(dir, name);
  const limits = linkemLimits(dir, mtuBytes);
  return [
    `--${name}-delay-us`,
    String(Math.round(dir.delayMs * 1000)),
    `--${name}-jitter-us`,
    String(Math.round(dir.jitterMs * 1000)),
    `--${name}-rate-kbit`,
    dir.rateKbit === null ? '0' : num(dir.rateKbit),
    `--${name}-loss`,
    linkemLossSpec(dir.loss),
    `--${name}-queue-packets`,
    String(limits.packets),
    `--${name}-queue-bytes`,
    String(limits.bytes ?? 0),
  ];
}

/** linkem's arguments (without the binary) for these options. Pure; validates names and features. */
export function linkemArgs(options: LinkemOptions): string[] {
  assertNamespaceName(options.clientNetns);
  assertNamespaceName(options.serverNetns);
  assertDeviceName(options.clientDev);
  assertDeviceName(options.serverDev);
  const p = options.profile;
  const args = [
    '--a-netns',
    options.clientNetns,
    '--a-dev',
    options.clientDev,
    '--b-netns',
    options.serverNetns,
    '--b-dev',
    options.serverDev,
    '--mtu',
    String(p.mtuBytes),
    '--seed',
    String(p.seed),
    ...directionArgs('up', p.up, p.mtuBytes),
    ...directionArgs('down', p.down, p.mtuBytes),
  ];
  if (options.logFile !== undefined) args.push('--log', options.logFile);
  if (options.busyPollUs !== undefined && options.busyPollUs > 0) {
    args.push('--busy-poll-us', String(Math.round(options.busyPollUs)));
  }
  if (options.rxPollUs !== undefined && options.rxPollUs > 0) {
    args.push('--rx-poll-us', String(Math.round(options.rxPollUs)));
  }
  if (options.busyPollMaxPct !== undefined) {
    args.push('--busy-poll-max-pct', String(Math.round(options.busyPollMaxPct)));
  }
  if (options.fifo ?? true) args.push('--fifo');
  if (options.mlock === true) args.push('--mlock');
  return args;
}
