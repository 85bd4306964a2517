/** What every workload gets (a client factory, the clock, a seed) and what it returns. */
import type { ConnectionRecord, EngineSettings, RequestRecord } from '../model/records.js';
import type { ProtocolClient } from '../proto/types.js';

export interface WorkloadContext {
  /** Opens a new protocol client (its connections open lazily on the first request). */
  newClient: () => Promise<ProtocolClient>;
  /** Monotonic ms since t0. */
  now: () => number;
  /** Seed for workloads with random choices (rpc arrivals). */
  seed: number;
}

export interface WorkloadOutcome {
  requests: RequestRecord[];
  connections: ConnectionRecord[];
  /** Workload completion: the last request finished (ok or failed), ms since t0. */
  durationMs: number;
  /** Workload-level metrics, unit in the name (e.g. pageLoadMs, bodyRateMbit). */
  metrics: Record<string, number>;
  /** Settings of the protocol client used (recorded in the result). */
  clientSettings: EngineSettings;
}
