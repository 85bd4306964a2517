/**
 * The run plan: for each repetition, every protocol once, in a seeded random order, so machine drift
 * over a long run cannot favour one protocol (h1 h2 h3 | h2 h3 h1 | ...).
 */
import { createHash } from 'node:crypto';
import { prng, shuffle } from '../../core/prng.js';
import type { HostRecord, PlanRecord, PlannedRun, ResultFile, RunRecord } from '../model/result.js';
import { canonicalJson } from '../scenario/load.js';
import type { Protocol, Scenario } from '../scenario/schema.js';
import { WORKLOAD_DEFAULTS, type BulkWorkload, type Workload } from '../scenario/workload.js';

/**
 * `sweepPoints` > 0 plans a sweep: within each repetition the points come in a seeded random order
 * too, so drift cannot line up with the swept value either. `control` (scenario `attribution: true`)
 * adds one control run per protocol to every repetition (and point), shuffled in with the workload
 * runs; without it the plan is what it always was.
 */
export function planRuns(
  protocols: readonly Protocol[],
  repetitions: number,
  seed: number,
  sweepPoints = 0,
  control = false,
): PlannedRun[] {
  const rand = prng(seed);
  const runs: PlannedRun[] = [];
  const points = sweepPoints > 0 ? [...Array(sweepPoints).keys()] : [undefined];
  const slots = control
    ? protocols.flatMap((protocol) => [
        { protocol, control: false },
        { protocol, control: true },
      ])
    : protocols.map((protocol) => ({ protocol, control: false }));
  for (let r = 0; r < repetitions; r++) {
    for (const sweepIndex of shuffle(points, rand)) {
      for (const { protocol, control: isControl } of shuffle(slots, rand)) {
        runs.push({
          index: runs.length,
          repetition: r,
          protocol,
          ...(sweepIndex === undefined ? {} : { sweepIndex }),
          ...(isControl ? { control: true } : {}),
        });
      }
    }
  }
  return runs;
}

/** Body bytes a workload asks for in total (rpc: at its mean rate over its duration). */
export function workloadBytes(w: Workload): number {
  switch (w.type) {
    case 'multiplex':
    case 'cold':
      return w.requests * w.sizeBytes;
    case 'page-load':
      return w.documentBytes + w.waves.reduce((sum, x) => sum + x.count * x.sizeBytes, 0);
    case 'bulk':
      return w.sizeBytes;
    case 'rpc':
      return Math.round((w.rate * w.durationMs) / 1000) * w.sizeBytes;
  }
}

/**
 * The workload of an attribution control run: one stream (a bulk GET on one connection) carrying
 * the workload's total bytes, with no server CPU per request, so that it measures the transport's
 * single-stream behaviour over the same link (docs/metrics.md § "Attribution").
 */
export function controlWorkload(w: Workload): BulkWorkload {
  return {
    type: 'bulk',
    sizeBytes: Math.max(1, workloadBytes(w)),
    timeoutMs: Math.max(w.timeoutMs, WORKLOAD_DEFAULTS.bulk.timeoutMs),
    allowedFailures: 0,
  };
}

/** The scenario a planned run executes: a control run gets the control workload. */
export function scenarioOfRun(s: Scenario, planned: PlannedRun): Scenario {
  return planned.control === true ? { ...s, workload: controlWorkload(s.workload) } : s;
}

/** The seeds of one repetition. */
export interface RepetitionSeeds {
  /** The emulator's seed (loss, jitter): `network.profile.seed` moved along by the repetition. */
  emulator: number;
  /** The workload's seed (rpc arrival schedule): `seed` moved along by the repetition. */
  workload: number;
}

/** Keeps the workload's seed sequence apart from the emulator's when both start from one seed. */
const WORKLOAD_SEED_STREAM = 0x5eed_0001;

function stepSeed(base: number, repetition: number): number {
  return (base + Math.imul(repetition, 0x9e3779b1)) >>> 0;
}

/**
 * The one derivation of a repetition's seeds from the scenario's. Every protocol (and every sweep
 * point) of a repetition gets the same seeds — common random numbers: the same loss and jitter draws
 * and the same rpc arrival schedule — and repetitions differ, so they are independent samples of the
 * loss and jitter processes rather than one pattern replayed.
 */
export function repetitionSeeds(
  s: { seed: number; network: { profile: { seed: number } } },
  repetition: number,
): RepetitionSeeds {
  return {
    emulator: stepSeed(s.network.profile.seed, repetition),
    workload: stepSeed((s.seed ^ WORKLOAD_SEED_STREAM) >>> 0, repetition),
  };
}

/** The scenario with the emulator seed of one repetition (`repetitionSeeds().emulator`). */
export function withRepetitionSeed(s: Scenario, repetition: number): Scenario {
  const seed = repetitionSeeds(s, repetition).emulator;
  return { ...s, network: { ...s.network, profile: { ...s.network.profile, seed } } };
}

/**
 * The full plan of a study and its record (schema 8 `ResultFile.plan`): `sweepPoints` is the number
 * of points each repetition covers (whatever the sweep's shape), `hash` its `planHash`.
 */
export function studyPlan(
  s: Pick<Scenario, 'protocols' | 'repetitions' | 'seed' | 'attribution'>,
  scenarioHash: string,
  sweepPoints: number,
): { runs: PlannedRun[]; record: PlanRecord } {
  const runs = planRuns(s.protocols, s.repetitions, s.seed, sweepPoints, s.attribution);
  return {
    runs,
    record: {
      hash: planHash(scenarioHash, s.seed, runs),
      runs: runs.length,
      repetitions: s.repetitions,
      sweepPoints,
    },
  };
}

/**
 * sha256 of a plan: the scenario hash, the seed and every planned run (index, repetition, protocol,
 * sweep point, control) in order, as canonical JSON. Two results of one study carry the same hash;
 * a different scenario, seed or planning rule (another build) gives another.
 */
export function planHash(scenarioHash: string, seed: number, runs: readonly PlannedRun[]): string {
  const planned = runs.map((r) => ({
    index: r.index,
    repetition: r.repetition,
    protocol: r.protocol,
    sweepIndex: r.sweepIndex ?? null,
    control: r.control === true,
  }));
  return createHash('sha256')
    .update(canonicalJson({ scenarioHash, seed, runs: planned }))
    .digest('hex');
}

/** A shard of a study: 0-based `index` of `count`. */
export interface ShardSpec {
  index: number;
  count: number;
}

/**
 * The repetitions of one shard. The unit of a shard is a whole repetition — every protocol, every
 * sweep point and every control run of it — so each paired comparison (same repetition, same seeds)
 * is measured on one machine. Repetition r goes to shard r mod count: shards differ by at most one
 * repetition, and shard i has none only when count > repetitions (which `checkShard` refuses).
 */
export function shardRepetitions(repetitions: number, shard: ShardSpec): number[] {
  const out: number[] = [];
  for (let r = shard.index; r < repetitions; r += shard.count) out.push(r);
  return out;
}

/** Why a shard cannot be run (null when it can): out of range, or more shards than repetitions. */
export function shardProblem(shard: ShardSpec, repetitions: number): string | null {
  if (!Number.isInteger(shard.count) || shard.count < 1) return `the shard count must be at least 1`;
  if (!Number.isInteger(shard.index) || shard.index < 0 || shard.index >= shard.count)
    return `the shard index must be in 0..${shard.count - 1} (0-based, as JOB_COMPLETION_INDEX)`;
  if (shard.count > repetitions)
    return `${shard.count} shards but the plan has only ${repetitions} repetition(s), and a shard runs whole repetitions (every protocol and sweep point of one, so that each paired comparison stays on one machine): use at most ${repetitions} shards`;
  return null;
}

/** The runs of one shard, in the plan's order, with the plan's run indices. */
export function shardRuns<T extends PlannedRun>(plan: readonly T[], shard: ShardSpec): T[] {
  return plan.filter((r) => r.repetition % shard.count === shard.index);
}

/** The runs of the plan in `shard`, or every run without one. */
export function sliceOf<T extends PlannedRun>(plan: readonly T[], shard: ShardSpec | undefined): T[] {
  return shard ? shardRuns(plan, shard) : [...plan];
}

/** Whether a recorded run is the planned run of its index (same repetition, protocol, point, control). */
export function samePlannedRun(a: PlannedRun, b: PlannedRun): boolean {
  return (
    a.index === b.index &&
    a.repetition === b.repetition &&
    a.protocol === b.protocol &&
    (a.sweepIndex ?? null) === (b.sweepIndex ?? null) &&
    (a.control === true) === (b.control === true)
  );
}

/** "h2 repetition 3 at sweep point 1 (control)": a planned run for messages (1-based repetition). */
export function describePlanned(r: PlannedRun): string {
  return (
    `${r.protocol}${r.control === true ? ' control' : ''} repetition ${r.repetition + 1}` +
    (r.sweepIndex === undefined ? '' : ` at sweep point ${r.sweepIndex}`)
  );
}

/** Where two JSON-like values first differ: a dotted key path and both values (null when equal). */
export function firstDifference(
  a: unknown,
  b: unknown,
  at = '',
): { path: string; a: unknown; b: unknown } | null {
  if (canonicalJson(a) === canonicalJson(b)) return null;
  const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object';
  if (isObj(a) && isObj(b) && Array.isArray(a) === Array.isArray(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const k of keys) {
      const d = firstDifference(a[k], b[k], at ? `${at}.${k}` : k);
      if (d) return d;
    }
  }
  return { path: at || '(top level)', a, b };
}

/** A value for a message: JSON, cut at 60 characters. */
export function showValue(v: unknown): string {
  if (v === undefined) return 'absent';
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** The emulator backends a result's runs actually used (link provenance), sorted. */
export function backendsOf(runs: readonly RunRecord[]): string[] {
  const b = new Set<string>();
  for (const r of runs) {
    const v = r.link.provenance?.backend;
    if (v !== undefined) b.add(v);
  }
  return [...b].sort();
}

/** The host record of one session (a result's environment) for the runs it contributed. */
export function hostRecord(
  r: Pick<ResultFile, 'runId' | 'createdAt' | 'environment' | 'shard'>,
  runs: readonly RunRecord[],
): HostRecord {
  const e = r.environment;
  return {
    runId: r.runId,
    createdAt: r.createdAt,
    ...(r.shard ? { shard: { index: r.shard.index, count: r.shard.count } } : {}),
    hostname: e.hostname ?? null,
    cpuModel: e.cpuModel,
    cpus: e.cpus,
    kernel: e.kernel,
    gitCommit: e.gitCommit,
    backends: backendsOf(runs),
    runIndices: runs.map((x) => x.index).sort((x, y) => x - y),
  };
}

/**
 * The hosts of a result from its runs: the entries given, each keeping only the runs still in
 * `runs`, and the last entry (the session that wrote the result, whose runs were not known when its
 * checkpoint was written) getting every run no earlier entry has.
 */
export function hostsWithRuns(hosts: readonly HostRecord[], runs: readonly RunRecord[]): HostRecord[] {
  const present = new Set(runs.map((r) => r.index));
  const earlier = hosts.slice(0, -1).map((h) => {
    const own = new Set(h.runIndices);
    const mine = runs.filter((r) => own.has(r.index));
    return { ...h, runIndices: h.runIndices.filter((i) => present.has(i)), backends: backendsOf(mine) };
  });
  const last = hosts.at(-1);
  if (last === undefined) return [];
  const taken = new Set(earlier.flatMap((h) => h.runIndices));
  const rest = runs.filter((r) => !taken.has(r.index));
  return [
    ...earlier,
    { ...last, runIndices: rest.map((r) => r.index).sort((x, y) => x - y), backends: backendsOf(rest) },
  ];
}
