/**
 * Bringing the emulated link up and down for one run, whatever the backend. The orchestrator only
 * sees a LinkHandle: where to run the server and the client, which address to use, what to record.
 */
import { UnsupportedError } from '../harness/errors.js';
import type { Network } from '../harness/scenario/network.js';
import type { Transport } from '../harness/scenario/schema.js';

/** Measured path properties vs configured (filled by the fidelity probe). */
export interface FidelityProbe {
  configuredRttMs: number;
  measuredRttMs: { p50: number; p99: number; samples: number };
  configuredLossPct: number;
  measuredLossPct: number;
  /** True when the measurement is inside tolerance. */
  ok: boolean;
  notes: string[];
}

export interface LinkHandle {
  backend: 'none' | 'netem' | 'linkem';
  /** Namespace the client runs in; null = the current one. */
  clientNetns: string | null;
  /** Namespace the server runs in; null = the current one. */
  serverNetns: string | null;
  /** Address the server binds and the client connects to. */
  serverAddress: string;
  /** Everything that defines the emulation, recorded in the result. */
  provenance(): Record<string, unknown>;
  /** Short measurement of RTT and loss on the link (null when there is no emulation). */
  probe(): Promise<FidelityProbe | null>;
  /** Tear everything down (idempotent); returns counters to record. */
  down(): Promise<Record<string, unknown>>;
}

export interface LinkContext {
  /** Unique, short id of this run, usable in namespace names ([a-z0-9]). */
  runTag: string;
  /** Directory for emulator logs of this run. */
  workDir: string;
}

/** Loopback in the current namespace: no emulation at all. */
function loopback(): LinkHandle {
  return {
    backend: 'none',
    clientNetns: null,
    serverNetns: null,
    serverAddress: '127.0.0.1',
    provenance: () => ({ backend: 'none', path: 'host loopback (127.0.0.1), no emulation' }),
    probe: () => Promise.resolve(null),
    down: () => Promise.resolve({}),
  };
}

export function linkUp(network: Network, _transport: Transport, _ctx: LinkContext): Promise<LinkHandle> {
  if (network.backend === 'none') return Promise.resolve(loopback());
  return Promise.reject(
    new UnsupportedError(`network.backend "${network.backend}" is not available in this build; use "none"`),
  );
}
