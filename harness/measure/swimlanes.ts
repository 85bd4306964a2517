/**
 * The per-stream delivery picture of one run (the swimlane figure's data): one lane per stream,
 * grouped by connection in the order streams became active, with body deliveries, stalls
 * (hol.ts) and emulator losses. Deliveries are thinned to at most one per lane and time bucket so
 * a figure stays small whatever the run's size; stalls and losses are never thinned.
 */
import type { RunAnalysis } from './analysis.js';
import type { RunMetrics } from '../model/metrics.js';

export interface Swimlanes {
  /** One lane per stream with a connection: its request-sent → finished span, ms since t0. */
  lanes: { lane: number; request: number; connection: number; from: number; to: number }[];
  /** Body deliveries (thinned), ms since t0. */
  points: { lane: number; t: number }[];
  /** Stalls; `synchronized` when they overlap a synchronized episode of their connection. */
  stalls: { lane: number; start: number; end: number; synchronized: boolean }[];
  /** Emulator drops, ms since t0 (empty without a loss log). */
  losses: number[];
  /** Deliveries before thinning. */
  deliveries: number;
}

/** Bucket count along the time axis used to thin deliveries (about one per pixel). */
const TIME_BUCKETS = 700;

export function swimlanes(a: RunAnalysis): Swimlanes {
  const out: Swimlanes = {
    lanes: [],
    points: [],
    stalls: [],
    losses: [...(a.timeline?.lossTimesMs ?? [])],
    deliveries: 0,
  };
  const tl = a.timeline;
  if (!tl) return out;
  const streams = tl.streams
    .filter((s): s is typeof s & { connection: number } => s.connection !== null)
    .sort((x, y) => x.connection - y.connection || x.tSent - y.tSent || x.request - y.request);
  const laneOf = new Map<number, number>();
  let end = tl.durationMs;
  for (const s of streams) {
    const lane = out.lanes.length;
    laneOf.set(s.request, lane);
    const last = Math.max(
      s.tEnd ?? -Infinity,
      s.dataT[s.dataT.length - 1] ?? -Infinity,
      s.tHeaders ?? -Infinity,
      s.tSent,
    );
    out.lanes.push({ lane, request: s.request, connection: s.connection, from: s.tSent, to: last });
    end = Math.max(end, last);
  }
  const bucketMs = Math.max(end, 1) / TIME_BUCKETS;
  for (const s of streams) {
    const lane = laneOf.get(s.request) ?? 0;
    let lastBucket = -1;
    out.deliveries += s.dataT.length;
    for (const t of s.dataT) {
      const b = Math.floor(t / bucketMs);
      if (b === lastBucket) continue;
      lastBucket = b;
      out.points.push({ lane, t });
    }
  }
  const episodes = a.hol?.episodes ?? [];
  for (const st of a.hol?.stalls ?? []) {
    const lane = laneOf.get(st.request);
    if (lane === undefined) continue;
    const synchronized = episodes.some(
      (e) => e.connection === st.connection && e.start < st.end && e.end > st.start,
    );
    out.stalls.push({ lane, start: st.start, end: st.end, synchronized });
  }
  return out;
}

/** The run to draw for a protocol: the ok run whose workload completion is closest to the median. */
export function representativeRun(runs: readonly RunMetrics[]): RunMetrics | undefined {
  const ok = runs.filter((r) => r.ok && r.workloadMs !== null);
  if (ok.length === 0) return runs[0];
  const sorted = [...ok].sort((x, y) => (x.workloadMs ?? 0) - (y.workloadMs ?? 0) || x.index - y.index);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}
