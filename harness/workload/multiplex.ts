/**
 * Workload `multiplex`: `requests` GETs of `/bytes/<sizeBytes>`, `concurrency` in flight at once,
 * on whatever connections the protocol client uses (h2/h3: streams on one connection; h1: queued
 * over `connections` keep-alive sockets). Closed-loop: a request is sent when another completes, so
 * the intended start is the moment a slot frees up. Every request has a timeout; failures are
 * recorded, never dropped.
 */
import type { RequestRecord } from '../model/records.js';
import type { ProtocolClient } from '../proto/types.js';
import type { MultiplexWorkload } from '../scenario/schema.js';

export function newRequestRecord(id: number, tIntended: number, bytesExpected: number): RequestRecord {
  return {
    id,
    connection: null,
    stream: null,
    tIntended,
    tStart: tIntended,
    tHeaders: null,
    tEnd: null,
    status: 0,
    bytesExpected,
    bytes: 0,
    error: null,
    timedOut: false,
    chunks: [],
  };
}

/**
 * The path every workload requests: `/bytes/<n>`, plus `?cpu=<ms>` when the workload asks the
 * server to burn CPU per request (`serverCpuMs`, checked by harness/proto/handler.ts). The one
 * place request paths are built.
 */
export function bytesPath(sizeBytes: number, w: { serverCpuMs?: number }): string {
  const cpu = w.serverCpuMs ?? 0;
  return cpu > 0 ? `/bytes/${sizeBytes}?cpu=${String(Number(cpu.toFixed(6)))}` : `/bytes/${sizeBytes}`;
}

/** Run one request to completion or failure; never throws. */
export async function runRequest(
  client: ProtocolClient,
  path: string,
  rec: RequestRecord,
  timeoutMs: number,
  now: () => number,
): Promise<void> {
  const ac = new AbortController();
  const timer = setTimeout(() => {
    rec.timedOut = true;
    ac.abort(new Error(`timed out after ${timeoutMs} ms`));
  }, timeoutMs);
  rec.tStart = now();
  try {
    await client.get(path, rec, ac.signal);
    if (rec.status !== 200) rec.error = `HTTP status ${rec.status}`;
    else if (rec.bytes !== rec.bytesExpected) {
      rec.error = `received ${rec.bytes} of ${rec.bytesExpected} body bytes`;
    }
  } catch (err) {
    rec.error = rec.timedOut
      ? `timed out after ${timeoutMs} ms`
      : err instanceof Error
        ? err.message
        : String(err);
  } finally {
    clearTimeout(timer);
  }
}

export async function runMultiplex(
  client: ProtocolClient,
  w: MultiplexWorkload,
  now: () => number,
): Promise<RequestRecord[]> {
  const records: RequestRecord[] = [];
  let next = 0;
  const path = bytesPath(w.sizeBytes, w);
  const worker = async (): Promise<void> => {
    while (next < w.requests) {
      const rec = newRequestRecord(next++, now(), w.sizeBytes);
      records.push(rec);
      await runRequest(client, path, rec, w.timeoutMs, now);
    }
  };
  await Promise.all(Array.from({ length: Math.min(w.concurrency, w.requests) }, worker));
  return records.sort((a, b) => a.id - b.id);
}
