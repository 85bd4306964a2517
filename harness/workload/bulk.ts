/**
 * Workload `bulk`: one large response body. Besides the catalogue's goodput (`goodputMbit`, 8 × body
 * bytes / workload completion), two rates of the body alone, Mbit/s (docs/metrics.md § 2):
 * `bodyRateMbit` = 8 × body bytes after the first chunk / (last chunk − first chunk), excluding the
 * handshake and the first round trip (as the QUIC interop runner's goodput test measures);
 * `transferRateMbit` = 8 × body bytes / (last chunk − request start), including them.
 */
import type { RequestRecord } from '../model/records.js';
import type { ProtocolClient } from '../proto/types.js';
import type { BulkWorkload } from '../scenario/workload.js';
import { bytesPath, newRequestRecord, runRequest } from './multiplex.js';

export async function runBulk(
  client: ProtocolClient,
  w: BulkWorkload,
  now: () => number,
): Promise<{ requests: RequestRecord[]; metrics: Record<string, number> }> {
  const rec = newRequestRecord(0, now(), w.sizeBytes);
  await runRequest(client, bytesPath(w.sizeBytes, w), rec, w.timeoutMs, now);
  const metrics: Record<string, number> = {};
  const first = rec.chunks[0]?.[0];
  const last = rec.chunks.at(-1)?.[0];
  if (rec.error === null && first !== undefined && last !== undefined && last > first) {
    const firstBytes = rec.chunks[0]?.[1] ?? 0;
    metrics.bodyRateMbit = ((rec.bytes - firstBytes) * 8) / ((last - first) * 1000);
    metrics.transferRateMbit = (rec.bytes * 8) / ((last - rec.tStart) * 1000);
  }
  return { requests: [rec], metrics };
}
