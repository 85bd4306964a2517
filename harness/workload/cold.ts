/**
 * Workload `cold`: every request on a brand-new connection (a new client, full handshake, closed
 * after the response), `concurrency` at a time. Measures connection setup: TCP + TLS 1.3 (2 round
 * trips before the request) against QUIC (1). No session resumption or 0-RTT: each client starts
 * with an empty session cache, for every protocol.
 *
 * The next request does not wait for the previous connection to close (a browser does not either):
 * each close runs in the background (QUIC's closing period alone is three PTOs, RFC 9000 §10.2),
 * workload completion is taken when the last request ended, and the closes are awaited after that
 * (teardown.ts).
 */
import type { ConnectionRecord, EngineSettings, RequestRecord } from '../model/records.js';
import { median } from '../../core/stats.js';
import type { ProtocolClient } from '../proto/types.js';
import { teardownMetrics } from './teardown.js';
import type { ColdWorkload } from '../scenario/workload.js';
import type { WorkloadContext, WorkloadOutcome } from './types.js';
import { bytesPath, newRequestRecord, runRequest } from './multiplex.js';

export async function runCold(w: ColdWorkload, ctx: WorkloadContext): Promise<WorkloadOutcome> {
  const requests: RequestRecord[] = [];
  /** Every client in the order of its request, and its close (started, not awaited, after the response). */
  const used: { client: ProtocolClient; rec: RequestRecord; closed: Promise<void> }[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < w.requests) {
      // The client object first (no I/O: its connection opens with the request), then the record,
      // so the request's intended start is when it could really go out.
      const id = next++;
      const client = await ctx.newClient();
      const rec = newRequestRecord(id, ctx.now(), w.sizeBytes);
      requests.push(rec);
      try {
        await runRequest(client, bytesPath(w.sizeBytes, w), rec, w.timeoutMs, ctx.now);
      } finally {
        // Off the critical path: the next request starts now. A close that fails leaves the
        // connection without tClosed (no teardown time), nothing more.
        used.push({ client, rec, closed: client.close().catch(() => undefined) });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(w.concurrency, w.requests) }, worker));
  const durationMs = ctx.now();
  await Promise.all(used.map((u) => u.closed));
  // Renumber each client's connections into the run's sequence (by request id), now that the
  // records carry their teardown times.
  used.sort((a, b) => a.rec.id - b.rec.id);
  const connections: ConnectionRecord[] = [];
  for (const { client, rec } of used) {
    for (const c of client.connections()) {
      const id = connections.length;
      if (rec.connection === c.id) rec.connection = id;
      connections.push({ ...c, id });
    }
  }
  const settings: EngineSettings = used.at(-1)?.client.settings() ?? {};
  requests.sort((a, b) => a.id - b.id);
  const setup = connections
    .filter((c) => c.tHandshakeDone !== null)
    .map((c) => (c.tHandshakeDone ?? 0) - c.tStart);
  const ttfb = requests.filter((r) => r.tHeaders !== null).map((r) => (r.tHeaders ?? 0) - r.tStart);
  return {
    requests,
    connections,
    durationMs,
    metrics: {
      connectionSetupMedianMs: median(setup),
      firstByteMedianMs: median(ttfb),
      ...teardownMetrics(connections),
    },
    clientSettings: settings,
  };
}
