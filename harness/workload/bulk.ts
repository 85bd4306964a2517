/**
 * Workload `bulk`: one large response body. Goodput = body bytes / (last byte − first byte), so the
 * handshake and the first round trip are excluded (as the QUIC interop runner's goodput measurement);
 * `transferMbps` includes them (body bytes / (last byte − request start)).
 */
import type { RequestRecord } from '../model/records.js';
import type { ProtocolClient } from '../proto/types.js';
import type { BulkWorkload } from '../scenario/workload.js';
import { newRequestRecord, runRequest } from './multiplex.js';

export async function runBulk(
  client: ProtocolClient,
  w: BulkWorkload,
  now: () => number,
): Promise<{ requests: RequestRecord[]; metrics: Record<string, number> }> {
  const rec = newRequestRecord(0, now(), w.sizeBytes);
  await runRequest(client, `/bytes/${w.sizeBytes}`, rec, w.timeoutMs, now);
  const metrics: Record<string, number> = {};
  const first = rec.chunks[0]?.[0];
  const last = rec.chunks.at(-1)?.[0];
  if (rec.error === null && first !== undefined && last !== undefined && last > first) {
    const firstBytes = rec.chunks[0]?.[1] ?? 0;
    metrics.goodputMbps = ((rec.bytes - firstBytes) * 8) / ((last - first) * 1000);
    metrics.transferMbps = (rec.bytes * 8) / ((last - rec.tStart) * 1000);
  }
  return { requests: [rec], metrics };
}
