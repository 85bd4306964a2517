/**
 * The run plan: for each repetition, every protocol once, in a seeded random order, so machine drift
 * over a long run cannot favour one protocol (h1 h2 h3 | h2 h3 h1 | ...).
 */
import { prng, shuffle } from '../../core/prng.js';
import type { PlannedRun } from '../model/result.js';
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
