/**
 * The `network` section of a scenario: which emulation backend, and the link profile it applies.
 *
 * YAML keys use human units (`delay: 40ms`); the parsed profile is canonical and per direction
 * (`down` = server → client, `up` = client → server) with units in the field names, which is what the
 * emulation backends consume.
 */
import { z } from 'zod';
import { count, durationMs, percent, rateKbit, sizeBytes } from './fields.js';

export const BACKENDS = ['auto', 'netem', 'linkem', 'none'] as const;
export type Backend = (typeof BACKENDS)[number];

/** Loss model of one direction, canonical. Probabilities in percent (0..100). */
export type LossModel =
  | { model: 'none' }
  /** Independent (Bernoulli) loss of each packet with probability `pct`. */
  | { model: 'random'; pct: number }
  /**
   * Gilbert-Elliott as netem `gemodel p r 1-h 1-k`: `pPct` = P(Good→Bad), `rPct` = P(Bad→Good),
   * `lossInBadPct` = 1-h, `lossInGoodPct` = 1-k.
   */
  | { model: 'gilbert-elliott'; pPct: number; rPct: number; lossInBadPct: number; lossInGoodPct: number };

/** One direction of the emulated link. */
export interface DirectionProfile {
  /** Added one-way delay, ms. */
  delayMs: number;
  /** Delay variation, ms (uniform in [delay - jitter, delay + jitter]; never reorders without `reorder`). */
  jitterMs: number;
  loss: LossModel;
  /** Bottleneck rate, kbit/s (1 kbit = 1000 bit); null = unlimited. */
  rateKbit: number | null;
  /** Bottleneck queue limit in packets; null = backend default derived from BDP. */
  queuePackets: number | null;
  /** Bottleneck queue limit in bytes; null = none. */
  queueBytes: number | null;
}

export interface NetworkProfile {
  down: DirectionProfile;
  up: DirectionProfile;
  /** Link MTU in bytes, every hop. */
  mtuBytes: number;
  /** Seed of the emulator's random choices (loss, jitter). */
  seed: number;
}

export interface Network {
  backend: Backend;
  profile: NetworkProfile;
  /** YAML keys that set an impairment (used to reject impairments with `backend: none`). */
  impairments: string[];
}

const lossSchema = z.union([
  percent(),
  z
    .object({
      rate: percent(),
      meanBurst: z.number().min(1),
    })
    .strict(),
  z
    .object({
      p: percent(),
      r: percent(),
      h: percent().optional(),
      k: percent().optional(),
    })
    .strict(),
]);

const rateSchema = z.union([
  rateKbit(),
  z.object({ down: rateKbit().optional(), up: rateKbit().optional() }).strict(),
]);

const queueSchema = z.union([
  count(1).transform((packets) => ({ packets, bytes: undefined, ms: undefined })),
  durationMs().transform((ms) => ({ packets: undefined, bytes: undefined, ms })),
  z
    .object({ packets: count(1).optional(), bytes: sizeBytes().optional() })
    .strict()
    .transform((q) => ({ ...q, ms: undefined })),
]);

export const networkInputSchema = z
  .object({
    backend: z.enum(BACKENDS).default('none'),
    /** One-way delay applied in each direction. */
    delay: durationMs().optional(),
    /** Round-trip time, split evenly between the directions (exclusive with `delay`). */
    rtt: durationMs().optional(),
    jitter: durationMs().optional(),
    loss: lossSchema.optional(),
    rate: rateSchema.optional(),
    queue: queueSchema.optional(),
    mtu: count(1280).max(9000).default(1500),
    seed: z.number().int().min(0).optional(),
  })
  .strict();

export type NetworkInput = z.output<typeof networkInputSchema>;

function toLoss(loss: NetworkInput['loss']): LossModel {
  if (loss === undefined || loss === 0) return { model: 'none' };
  if (typeof loss === 'number') return { model: 'random', pct: loss };
  if ('meanBurst' in loss) {
    // Simple Gilbert: all packets lost in Bad, none in Good. Loss L = p/(p+r), mean burst = 1/r.
    const r = 100 / loss.meanBurst;
    const l = loss.rate / 100;
    if (l >= 1) return { model: 'random', pct: 100 };
    const p = (r * l) / (1 - l);
    return { model: 'gilbert-elliott', pPct: p, rPct: r, lossInBadPct: 100, lossInGoodPct: 0 };
  }
  return {
    model: 'gilbert-elliott',
    pPct: loss.p,
    rPct: loss.r,
    lossInBadPct: loss.h ?? 100,
    lossInGoodPct: loss.k ?? 0,
  };
}

/** Resolve the YAML network section into the canonical per-direction profile. */
export function resolveNetwork(input: NetworkInput, scenarioSeed: number): Network {
  const oneWay = input.delay ?? (input.rtt === undefined ? 0 : input.rtt / 2);
  const loss = toLoss(input.loss);
  const rate = input.rate;
  const rateDown = rate === undefined ? null : typeof rate === 'number' ? rate : (rate.down ?? null);
  const rateUp = rate === undefined ? null : typeof rate === 'number' ? rate : (rate.up ?? null);
  const direction = (rateKbitValue: number | null): DirectionProfile => {
    const q = input.queue;
    let queueBytes = q?.bytes ?? null;
    if (q?.ms !== undefined && rateKbitValue !== null) {
      // A queue given as time holds that many ms of traffic at the link rate (at least one MTU).
      queueBytes = Math.max(input.mtu, Math.round((rateKbitValue * q.ms) / 8));
    }
    return {
      delayMs: oneWay,
      jitterMs: input.jitter ?? 0,
      loss,
      rateKbit: rateKbitValue,
      queuePackets: q?.packets ?? null,
      queueBytes,
    };
  };
  const impairments = (['delay', 'rtt', 'jitter', 'loss', 'rate', 'queue'] as const).filter(
    (k) => input[k] !== undefined,
  );
  return {
    backend: input.backend,
    profile: {
      down: direction(rateDown),
      up: direction(rateUp),
      mtuBytes: input.mtu,
      seed: input.seed ?? scenarioSeed,
    },
    impairments,
  };
}
