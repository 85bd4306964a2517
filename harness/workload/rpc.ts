/**
 * Workload `rpc`: open-loop Poisson arrivals of small requests at a mean `rate` per second for
 * `durationMs`. A request is sent at its scheduled time whether or not earlier ones have finished,
 * and its latency is measured from that intended time (tEnd − tIntended), so a slow server cannot
 * hide its queueing (no coordinated omission). Arrivals are seeded: every protocol gets the same
 * schedule in a repetition.
 */
import type { RequestRecord } from '../model/records.js';
import { percentile } from '../../core/stats.js';
import type { ProtocolClient } from '../proto/types.js';
import type { RpcWorkload } from '../scenario/workload.js';
import { prng } from '../../core/prng.js';
import { bytesPath, newRequestRecord, runRequest } from './multiplex.js';

/** Arrival times (ms from start) of a Poisson process with `rate` per second over `durationMs`. */
export function poissonSchedule(rate: number, durationMs: number, seed: number): number[] {
  const rand = prng(seed);
  const out: number[] = [];
  for (let t = 0; ;) {
    t += (-Math.log(1 - rand()) / rate) * 1000;
    if (t >= durationMs) return out;
    out.push(t);
  }
}

export async function runRpc(
  client: ProtocolClient,
  w: RpcWorkload,
  now: () => number,
  seed: number,
): Promise<{ requests: RequestRecord[]; metrics: Record<string, number> }> {
  const schedule = poissonSchedule(w.rate, w.durationMs, seed);
  const start = now();
  const requests: RequestRecord[] = [];
  const inflight = new Set<Promise<void>>();
  let overloaded = 0;
  let lateMs = 0;
  for (const [i, at] of schedule.entries()) {
    const intended = start + at;
    // Timers have millisecond granularity and may fire a little early: never send before `intended`.
    for (let wait = intended - now(); wait > 0; wait = intended - now()) {
      await new Promise((r) => setTimeout(r, Math.ceil(wait)));
    }
    lateMs = Math.max(lateMs, now() - intended);
    if (inflight.size >= w.maxInFlight) overloaded++;
    const rec = newRequestRecord(i, intended, w.sizeBytes);
    requests.push(rec);
    const p = runRequest(client, bytesPath(w.sizeBytes, w), rec, w.timeoutMs, now).finally(() =>
      inflight.delete(p),
    );
    inflight.add(p);
  }
  await Promise.all(inflight);
  const latency = requests
    .filter((r) => r.error === null && r.tEnd !== null)
    .map((r) => (r.tEnd ?? 0) - r.tIntended)
    .sort((a, b) => a - b);
  return {
    requests,
    metrics: {
      offeredRatePerS: (schedule.length / w.durationMs) * 1000,
      latencyP50Ms: percentile(latency, 50),
      latencyP99Ms: percentile(latency, 99),
      overloadedArrivals: overloaded,
      maxSendLatenessMs: lateMs,
    },
  };
}
