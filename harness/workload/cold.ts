/**
 * Workload `cold`: every request on a brand-new connection (a new client, full handshake, closed
 * after the response), `concurrency` at a time. Measures connection setup: TCP + TLS 1.3 (2 round
 * trips before the request) against QUIC (1). No session resumption or 0-RTT: each client starts
 * with an empty session cache, for every protocol.
 */
import type { ConnectionRecord, EngineSettings, RequestRecord } from '../model/records.js';
import { median } from '../../core/stats.js';
import type { ColdWorkload } from '../scenario/workload.js';
import type { WorkloadContext, WorkloadOutcome } from './types.js';
import { bytesPath, newRequestRecord, runRequest } from './multiplex.js';

export async function runCold(w: ColdWorkload, ctx: WorkloadContext): Promise<WorkloadOutcome> {
  const requests: RequestRecord[] = [];
  const connections: ConnectionRecord[] = [];
  let settings: EngineSettings = {};
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
        await client.close();
      }
      // Renumber this client's connections into the run's sequence.
      for (const c of client.connections()) {
        const id = connections.length;
        if (rec.connection === c.id) rec.connection = id;
        connections.push({ ...c, id });
      }
      settings = client.settings();
    }
  };
  await Promise.all(Array.from({ length: Math.min(w.concurrency, w.requests) }, worker));
  const durationMs = ctx.now();
  requests.sort((a, b) => a.id - b.id);
  const setup = connections
    .filter((c) => c.tHandshakeDone !== null)
    .map((c) => (c.tHandshakeDone ?? 0) - c.tStart);
  const ttfb = requests.filter((r) => r.tHeaders !== null).map((r) => (r.tHeaders ?? 0) - r.tStart);
  return {
    requests,
    connections,
    durationMs,
    metrics: { connectionSetupMedianMs: median(setup), firstByteMedianMs: median(ttfb) },
    clientSettings: settings,
  };
}
