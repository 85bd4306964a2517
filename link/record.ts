/**
 * What the link layer records about one emulated (or loopback) link, typed end to end: the
 * provenance when it came up, the fidelity probe, the counters at teardown, and the emulator's drop
 * times. The orchestrator stores these in `RunRecord.link`; the reports and `compare` read them by
 * these types, so renaming a field is a compile error, not a silent "absent".
 */
import type { Direction, NetworkProfile } from '../core/network.js';
import type { LinkemStats } from './linkem/lines.js';
import type { LinkemRecord } from './linkem/process.js';
import type { HostChange } from './sysctl.js';

export type LinkBackend = 'none' | 'netem' | 'linkem';

/** Measured path properties vs configured (filled by the fidelity probe). */
export interface FidelityProbe {
  /** Both one-way delays plus the probe packet's serialization, ms. */
  configuredRttMs: number;
  measuredRttMs: { p50: number; p99: number; samples: number };
  /** Round-trip (echo) loss expected from the profile, percent. */
  configuredLossPct: number;
  /** Echoes that did not come back, percent. */
  measuredLossPct: number;
  /** True when the measurement is inside tolerance. */
  ok: boolean;
  notes: string[];
}

/** How each knob that could favour TCP or QUIC was set, in words (the result's fairness block). */
export interface LinkFairness {
  congestion: string;
  pacing: string;
  hystart: string;
  /** Emulated links only. */
  ecn?: string;
  tcpMetrics?: string;
  slowStartAfterIdle?: string;
  socketBuffers?: string;
  mtu?: string;
}

/** Everything that defines the emulation of a run, recorded in `RunRecord.link.provenance`. */
export interface LinkProvenance {
  backend: LinkBackend;
  /** One sentence per unfair difference between TCP and QUIC (also printed once per process). */
  warnings: string[];
  fairness: LinkFairness;
  /** Backend none: what the path is. */
  path?: string;
  /** Emulated backends: why this backend (`network.backend`, or what `auto` found). */
  backendChoice?: string;
  kernel?: string;
  iproute2?: string | null;
  profile?: NetworkProfile;
  profileSummary?: { down: string; up: string; baseRttMs: number };
  topology?: {
    clientNetns: string;
    serverNetns: string;
    namespaces: string[];
    clientAddress: string;
    serverAddress: string;
  };
  /** Sysctls read back per namespace. */
  sysctls?: Record<string, Record<string, string>>;
  hostSysctlChanges?: HostChange[];
  netem?: {
    commands: string[][];
    stages: Record<Direction, string>;
    seed: string;
    qdiscs: Record<string, string>;
    offloads: Record<string, Record<string, string>>;
  };
  linkem?: LinkemRecord & {
    pid: number;
    packetLog: string;
    devices: { client: string; server: string };
    endpointQdiscCommands: string[][];
  };
  /** Qdisc dumps per namespace after setup (linkem). */
  qdiscs?: Record<string, string>;
}

/** /proc/net/snmp and /proc/net/netstat counters of one namespace, by "Group.Name". */
export type NamespaceCounters = Record<string, number>;

/** Counters read when the link is torn down, recorded in `RunRecord.link.counters`. */
export interface LinkCounters {
  /** Kernel socket counters per endpoint namespace (socket-buffer drops are not the network's loss). */
  sockets?: { client: NamespaceCounters; server: NamespaceCounters };
  /** Qdisc dumps per namespace at teardown (sender-side drops). */
  qdiscsAfter?: Record<string, string>;
  /** linkem's STATS line. */
  linkem?: LinkemStats;
  /** linkem's release lateness per direction, µs. */
  releaseLatenessUs?: { up: LinkemStats['up']['latenessUs']; down: LinkemStats['down']['latenessUs'] };
  /** Emulator drops per "<dir> <reason>", from linkem's packet log. */
  dropReasons?: Record<string, number>;
  /** Why the drop times could not be read (the HOL loss join is then absent). */
  dropTimesError?: string;
  /** Why linkem's statistics could not be read. */
  linkemError?: string;
  /** An error while reading counters. */
  error?: string;
  teardownErrors?: string[];
  hostSysctlsRestored?: HostChange[];
}

/** What `LinkHandle.down()` returns: the counters, and the drop times kept apart from them. */
export interface LinkTeardown {
  counters: LinkCounters;
  /**
   * Every packet the emulator dropped (loss or a full queue, both directions), as CLOCK_MONOTONIC
   * times in ms; null when the backend keeps no packet log or it could not be read.
   */
  dropTimesMonotonicMs: number[] | null;
  /** The subset dropped in the down direction (server → client); absent with dropTimesMonotonicMs null. */
  downDropTimesMonotonicMs?: number[];
}

/** A link's record in a run (`RunRecord.link`). */
export interface LinkRecord {
  /** Null when the link never came up (the run failed before). */
  provenance: LinkProvenance | null;
  probe: FidelityProbe | null;
  counters: LinkCounters;
  /**
   * Times the emulator dropped a packet (either direction), ms since the client's t0, from its
   * per-packet log. Absent when the backend keeps no log (HOL loss joins are then unknown unless
   * the path is lossless).
   */
  lossTimesMs?: number[];
  /** The subset of lossTimesMs dropped server → client (the direction the responses take). */
  downlinkLossTimesMs?: number[];
}
