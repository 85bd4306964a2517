/**
 * The run plan: for each repetition, every protocol once, in a seeded random order, so machine drift
 * over a long run cannot favour one protocol (h1 h2 h3 | h2 h3 h1 | ...).
 */
import { prng, shuffle } from '../../core/prng.js';
import type { Protocol } from '../scenario/schema.js';

export interface PlannedRun {
  /** 0-based index in execution order. */
  index: number;
  /** 0-based repetition. */
  repetition: number;
  protocol: Protocol;
  /** Index into scenario.sweep.values when the scenario is a sweep (the point this run measures). */
  sweepIndex?: number;
}

/**
 * `sweepPoints` > 0 plans a sweep: within each repetition the points come in a seeded random order
 * too, so drift cannot line up with the swept value either.
 */
export function planRuns(
  protocols: readonly Protocol[],
  repetitions: number,
  seed: number,
  sweepPoints = 0,
): PlannedRun[] {
  const rand = prng(seed);
  const runs: PlannedRun[] = [];
  const points = sweepPoints > 0 ? [...Array(sweepPoints).keys()] : [undefined];
  for (let r = 0; r < repetitions; r++) {
    for (const sweepIndex of shuffle(points, rand)) {
      for (const protocol of shuffle(protocols, rand)) {
        runs.push({
          index: runs.length,
          repetition: r,
          protocol,
          ...(sweepIndex === undefined ? {} : { sweepIndex }),
        });
      }
    }
  }
  return runs;
}
