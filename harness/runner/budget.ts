/**
 * How long a scenario will take (printed before a run starts) and the `--quick` variant of a
 * scenario for CI smoke checks. The estimate is deliberately simple: process start-up, link set-up,
 * the bytes to move at the bottleneck rate, and the round trips the workload needs.
 */
import type { Scenario } from '../scenario/schema.js';
import { wavesByDepth, type Workload } from '../scenario/workload.js';
import type { PlannedRun } from '../model/result.js';
import { controlWorkload, scenarioOfRun, shardRuns, workloadBytes, type ShardSpec } from './plan.js';

/** Starting a server and a client process and reading their reports, ms (measured here: ~0.5 s). */
const PROCESS_OVERHEAD_MS = 800;
/** Namespaces, emulator start, fidelity probe and teardown, ms. */
const LINK_OVERHEAD_MS = 2500;
/** Throughput assumed when the link has no rate limit, kbit/s (~100 MB/s). */
const UNLIMITED_KBIT = 800_000;

/** Bytes to move (rpc: none, it is paced by its schedule) and the round trips the workload waits. */
function workloadShape(w: Workload): { bytes: number; rounds: number } {
  switch (w.type) {
    case 'multiplex':
      return { bytes: workloadBytes(w), rounds: Math.ceil(w.requests / w.concurrency) };
    case 'page-load':
      return { bytes: workloadBytes(w), rounds: 1 + wavesByDepth(w).length };
    case 'bulk':
      return { bytes: workloadBytes(w), rounds: 1 };
    case 'cold':
      return { bytes: workloadBytes(w), rounds: 3 * Math.ceil(w.requests / w.concurrency) };
    case 'rpc':
      return { bytes: 0, rounds: 0 };
  }
}

/** Estimated wall time of one run of one protocol, ms. */
export function estimateRunMs(s: Scenario): number {
  const p = s.network.profile;
  const rtt = s.network.backend === 'none' ? 0.1 : p.down.delayMs + p.up.delayMs;
  const rateKbit = s.network.backend === 'none' ? UNLIMITED_KBIT : (p.down.rateKbit ?? UNLIMITED_KBIT);
  const { bytes, rounds } = workloadShape(s.workload);
  // Handshake (2 RTT for TCP+TLS), then the rounds, then the bytes at the bottleneck (slow start and
  // loss make real transfers slower; this is a floor, rounded up by 50%).
  let workMs = (2 + rounds) * rtt + (bytes * 8) / rateKbit;
  if (s.workload.type === 'rpc') workMs = s.workload.durationMs + rtt * 3;
  const lossy = p.down.loss.model !== 'none' ? 1.5 : 1;
  return PROCESS_OVERHEAD_MS + (s.network.backend === 'none' ? 0 : LINK_OVERHEAD_MS) + workMs * 1.5 * lossy;
}

export interface RunEstimate {
  runs: number;
  ms: number;
}

/**
 * Runs and estimated wall time of a whole scenario (all sweep points). For adaptive repetitions
 * this is the max plan (`repetitions` = `adaptive.max`); `estimateAdaptive` gives the range.
 */
export function estimate(points: readonly Scenario[]): RunEstimate {
  let runs = 0;
  let ms = 0;
  for (const s of points) {
    const n = s.protocols.length * s.repetitions;
    runs += n;
    ms += n * estimateRunMs(s);
    if (s.attribution) {
      // One control run per protocol and repetition (runner/plan.ts).
      runs += n;
      ms += n * estimateRunMs({ ...s, workload: controlWorkload(s.workload) });
    }
  }
  return { runs, ms };
}

/**
 * Runs and estimated wall time of some planned runs (a shard, the runs a resume has left): each run
 * at its sweep point (`points[sweepIndex]`), a control run with its control workload.
 */
export function estimateRuns(points: readonly Scenario[], runs: readonly PlannedRun[]): RunEstimate {
  let ms = 0;
  for (const r of runs) {
    const point = points[r.sweepIndex ?? 0] ?? points[0];
    if (point) ms += estimateRunMs(scenarioOfRun(point, r));
  }
  return { runs: runs.length, ms };
}

/** How many shards a time budget per machine needs (`run --shards-for`). */
export interface ShardsFor {
  /** Smallest shard count whose longest shard fits the budget; null when none does. */
  shards: number | null;
  /** The longest shard's estimate at that count (at `repetitions` shards when none fits). */
  longest: RunEstimate;
  /** The whole plan's estimate on one machine. */
  total: RunEstimate;
}

/**
 * The smallest number of shards (runner/plan.ts `shardRuns`: whole repetitions) whose longest shard
 * is estimated to end within `budgetMs`. A repetition is the unit: when one repetition alone takes
 * longer than the budget, no count fits (`shards: null`).
 */
export function shardsFor(
  points: readonly Scenario[],
  plan: readonly PlannedRun[],
  repetitions: number,
  budgetMs: number,
): ShardsFor {
  const total = estimateRuns(points, plan);
  const longestAt = (count: number): RunEstimate => {
    let worst: RunEstimate = { runs: 0, ms: 0 };
    for (let index = 0; index < count; index++) {
      const e = estimateRuns(points, shardRuns(plan, { index, count } satisfies ShardSpec));
      if (e.ms > worst.ms) worst = e;
    }
    return worst;
  };
  // Every repetition plans the same runs, so the longest shard (ceil(repetitions / count) of them)
  // only shrinks as the count grows: the smallest count that fits is found by bisection.
  const most = Math.max(1, repetitions);
  const atMost = longestAt(most);
  if (atMost.ms > budgetMs) return { shards: null, longest: atMost, total };
  let lo = 1;
  let hi = most;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (longestAt(mid).ms <= budgetMs) hi = mid;
    else lo = mid + 1;
  }
  return { shards: lo, longest: longestAt(lo), total };
}

/** Adaptive repetitions: runs and time of the min rounds and of the max (capped by the budget). */
export function estimateAdaptive(points: readonly Scenario[]): { min: RunEstimate; max: RunEstimate } | null {
  const a = points[0]?.adaptive;
  if (!a) return null;
  const at = (rounds: number) => estimate(points.map((p) => ({ ...p, repetitions: rounds })));
  const min = at(a.min);
  const max = at(a.max);
  if (a.budgetMs !== null && max.ms > a.budgetMs) max.ms = Math.max(min.ms, a.budgetMs);
  return { min, max };
}

/**
 * The `--quick` version of a scenario: one repetition and a smaller workload, same network and
 * protocols, so CI can check that everything still works end to end in about a minute.
 */
export function quickScenario(s: Scenario): Scenario {
  const w = s.workload;
  let workload: Workload;
  switch (w.type) {
    case 'multiplex':
      workload = { ...w, requests: Math.min(w.requests, Math.max(20, w.concurrency)) };
      break;
    case 'page-load':
      workload = w;
      break;
    case 'bulk':
      workload = { ...w, sizeBytes: Math.min(w.sizeBytes, 2_000_000) };
      break;
    case 'cold':
      workload = { ...w, requests: Math.min(w.requests, 5) };
      break;
    case 'rpc':
      workload = { ...w, durationMs: Math.min(w.durationMs, 2000) };
      break;
  }
  const { adaptive: _adaptive, ...fixed } = s;
  return { ...fixed, repetitions: 1, workload };
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 90 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}
