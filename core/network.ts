/**
 * The `network` section of a scenario: which emulation backend, and the link profile it applies.
 *
 * YAML keys use human units (`delay: 40ms`); the parsed profile is canonical and per direction
 * (`down` = server → client, `up` = client → server) with units in the field names, which is what the
 * emulation backends consume. Every key is documented in scenarios/README.md (section `network`).
 *
 * Delay: `delay` is ONE-WAY (added in each direction); `rtt` is the ROUND TRIP, split evenly between
 * the directions. They are exclusive. A per-direction `down.delay` / `up.delay` overrides one side;
 * with `rtt`, the other side gets the rest of the round trip.
 */
import { z } from 'zod';
import { count, durationMs, percent, rateKbit, sizeBytes } from './fields.js';

export const BACKENDS = ['auto', 'netem', 'linkem', 'none'] as const;
export type Backend = (typeof BACKENDS)[number];

/** Jitter distributions (netem `distribution`; none given = uniform). linkem supports uniform only. */
export const JITTER_DISTRIBUTIONS = ['uniform', 'normal', 'pareto', 'paretonormal'] as const;
export type JitterDistribution = (typeof JITTER_DISTRIBUTIONS)[number];

/** Loss model of one direction, canonical. Probabilities in percent (0..100). */
export type LossModel =
  | { model: 'none' }
  /** Independent (Bernoulli) loss of each packet with probability `pct`. */
  | { model: 'random'; pct: number }
  /**
   * Gilbert-Elliott as netem `gemodel p r 1-h 1-k`: `pPct` = P(Good→Bad), `rPct` = P(Bad→Good),
   * `lossInBadPct` = 1-h, `lossInGoodPct` = 1-k.
   */
  | { model: 'gilbert-elliott'; pPct: number; rPct: number; lossInBadPct: number; lossInGoodPct: number }
  /**
   * 4-state Markov model as netem `state p13 p31 p32 p23 p14` (states: 1 gap reception, 2 burst
   * reception, 3 burst loss, 4 isolated loss; a packet is lost when the chain enters 3 or 4). Every
   * transition is explicit here (netem/tc defaults filled in: p31 = 100 - p13, p32 = 0, p23 = 100,
   * p14 = 0).
   */
  | { model: 'four-state'; p13Pct: number; p31Pct: number; p32Pct: number; p23Pct: number; p14Pct: number };

/** One direction of the emulated link. */
export interface DirectionProfile {
  /** Added one-way delay, ms. */
  delayMs: number;
  /** Delay variation, ms: the half-width for `uniform` ([delay - jitter, delay + jitter]), the
   * standard deviation for the other distributions. Never reorders packets unless `reorderPct` > 0. */
  jitterMs: number;
  /** Shape of the delay variation (meaningful when jitterMs > 0). */
  jitterDistribution: JitterDistribution;
  loss: LossModel;
  /** Bottleneck rate, kbit/s (1 kbit = 1000 bit), counting IP bytes; null = unlimited. */
  rateKbit: number | null;
  /**
   * Bottleneck queue (the buffer in front of the rate limit), packets; null = no packet limit. Backends
   * add the packets in flight in the delay line to this (netem `limit` ≥ BDP + queue).
   */
  queuePackets: number | null;
  /** Bottleneck queue, IP bytes; null = no byte limit. Defaults to 1 BDP when a rate is set. */
  queueBytes: number | null;
  /** Packets sent immediately (ahead of delayed ones), percent; 0 = never reorder. netem only. */
  reorderPct: number;
  /** Packets duplicated, percent. netem only. */
  duplicatePct: number;
  /** Packets with a single-bit error, percent. netem only. */
  corruptPct: number;
}

export interface NetworkProfile {
  down: DirectionProfile;
  up: DirectionProfile;
  /** Link MTU in bytes, every hop. */
  mtuBytes: number;
  /** Seed of the emulator's random choices (loss, jitter); each direction derives its own stream. */
  seed: number;
}

export interface Network {
  backend: Backend;
  profile: NetworkProfile;
  /** YAML keys that set an impairment (used to reject impairments with `backend: none`). */
  impairments: string[];
}

// ---------------------------------------------------------------------------------------------
// Input schema

const lossSchema = z.union([
  percent(),
  z
    .object({
      /** Mean loss rate (percent) of a simple Gilbert model (all lost in Bad, none in Good). */
      rate: percent(),
      /** Mean burst length, packets (>= 1). */
      meanBurst: z.number().min(1),
    })
    .strict(),
  z
    .object({
      /** P(Good→Bad) per packet. */
      p: percent(),
      /** P(Bad→Good) per packet. */
      r: percent(),
      /** P(packet delivered | Bad) (classic Gilbert-Elliott h; loss in Bad = 1-h). Default 0%. */
      h: percent().optional(),
      /** P(packet delivered | Good) (classic k; loss in Good = 1-k). Default 100%. */
      k: percent().optional(),
    })
    .strict(),
  z
    .object({
      p13: percent(),
      p31: percent().optional(),
      p32: percent().optional(),
      p23: percent().optional(),
      p14: percent().optional(),
    })
    .strict(),
]);
type LossInput = z.output<typeof lossSchema>;

const jitterSchema = z.union([
  durationMs().transform((ms) => ({ ms, distribution: 'uniform' as JitterDistribution })),
  z
    .object({ amount: durationMs(), distribution: z.enum(JITTER_DISTRIBUTIONS).default('uniform') })
    .strict()
    .transform((j) => ({ ms: j.amount, distribution: j.distribution })),
]);
type JitterInput = z.output<typeof jitterSchema>;

const rateSchema = z.union([
  rateKbit(),
  z.object({ down: rateKbit().optional(), up: rateKbit().optional() }).strict(),
]);

/** A bare integer or `{packets}` = packets; a size string or `{bytes}` = bytes; a duration or `{time}`
 * = that long at the direction's rate (converted to bytes). */
const queueSchema = z.union([
  count(1).transform((packets) => ({ packets, bytes: undefined, ms: undefined })),
  durationMs().transform((ms) => ({ packets: undefined, bytes: undefined, ms })),
  sizeBytes().transform((bytes) => ({ packets: undefined, bytes, ms: undefined })),
  z
    .object({ packets: count(1).optional(), bytes: sizeBytes().optional(), time: durationMs().optional() })
    .strict()
    .transform((q) => ({ packets: q.packets, bytes: q.bytes, ms: q.time })),
]);
type QueueInput = z.output<typeof queueSchema>;

/** Keys a `down:` / `up:` block may override. */
const directionSchema = z
  .object({
    delay: durationMs().optional(),
    jitter: jitterSchema.optional(),
    loss: lossSchema.optional(),
    rate: rateKbit().optional(),
    queue: queueSchema.optional(),
    reorder: percent().optional(),
    duplicate: percent().optional(),
    corrupt: percent().optional(),
  })
  .strict();
type DirectionInput = z.output<typeof directionSchema>;

const baseNetworkSchema = z
  .object({
    backend: z.enum(BACKENDS).default('none'),
    /** One-way delay applied in each direction. */
    delay: durationMs().optional(),
    /** Round-trip time, split evenly between the directions (exclusive with `delay`). */
    rtt: durationMs().optional(),
    jitter: jitterSchema.optional(),
    loss: lossSchema.optional(),
    rate: rateSchema.optional(),
    queue: queueSchema.optional(),
    reorder: percent().optional(),
    duplicate: percent().optional(),
    corrupt: percent().optional(),
    mtu: count(1280).max(9000).default(1500),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 32 - 1)
      .optional(),
    down: directionSchema.optional(),
    up: directionSchema.optional(),
  })
  .strict();

export type NetworkInput = z.output<typeof baseNetworkSchema>;

export const DIRECTIONS = ['down', 'up'] as const;
export type Direction = (typeof DIRECTIONS)[number];

/** A validation problem: key path under `network`, message (without the value), and the value. */
export interface NetworkIssue {
  path: (string | number)[];
  message: string;
}

export const networkInputSchema = baseNetworkSchema.superRefine((input, ctx) => {
  for (const issue of validateNetwork(input)) {
    ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
  }
});

// ---------------------------------------------------------------------------------------------
// Resolution

function toLoss(loss: LossInput | undefined): LossModel {
  if (loss === undefined || loss === 0) return { model: 'none' };
  if (typeof loss === 'number') return { model: 'random', pct: loss };
  if ('meanBurst' in loss) {
    // Simple Gilbert: all packets lost in Bad, none in Good. Loss L = p/(p+r), mean burst = 1/r.
    if (loss.rate === 0) return { model: 'none' };
    const r = 100 / loss.meanBurst;
    const l = loss.rate / 100;
    const p = (r * l) / (1 - l);
    return { model: 'gilbert-elliott', pPct: p, rPct: r, lossInBadPct: 100, lossInGoodPct: 0 };
  }
  if ('p13' in loss) {
    return {
      model: 'four-state',
      p13Pct: loss.p13,
      p31Pct: loss.p31 ?? 100 - loss.p13,
      p32Pct: loss.p32 ?? 0,
      p23Pct: loss.p23 ?? 100,
      p14Pct: loss.p14 ?? 0,
    };
  }
  return {
    model: 'gilbert-elliott',
    pPct: loss.p,
    rPct: loss.r,
    lossInBadPct: 100 - (loss.h ?? 0),
    lossInGoodPct: 100 - (loss.k ?? 100),
  };
}

/** Per-direction value of `rate` (top-level number, `rate.{down,up}`, or `down.rate`/`up.rate`). */
function rateOf(input: NetworkInput, dir: Direction): number | null {
  const own = input[dir]?.rate;
  if (own !== undefined) return own;
  const r = input.rate;
  if (r === undefined) return null;
  if (typeof r === 'number') return r;
  return r[dir] ?? null;
}

/** One-way delay of a direction (ms). */
function delayOf(input: NetworkInput, dir: Direction): number {
  const own = input[dir]?.delay;
  if (own !== undefined) return own;
  if (input.delay !== undefined) return input.delay;
  if (input.rtt !== undefined) {
    const other = input[dir === 'down' ? 'up' : 'down']?.delay;
    return other !== undefined ? input.rtt - other : input.rtt / 2;
  }
  return 0;
}

/** Base round-trip time of a resolved profile (sum of the one-way delays), ms. */
export function baseRttMs(profile: NetworkProfile): number {
  return profile.down.delayMs + profile.up.delayMs;
}

/** Bandwidth-delay product of a direction at the base RTT, bytes (0 without a rate). */
export function bdpBytes(rateKbitValue: number | null, rttMs: number): number {
  if (rateKbitValue === null) return 0;
  return Math.ceil((rateKbitValue * rttMs) / 8);
}

/** Default bottleneck queue when a rate is set and no queue is given: 1 BDP, at least 10 MTU. */
export const DEFAULT_QUEUE_MIN_PACKETS = 10;

function queueOf(
  input: NetworkInput,
  dir: Direction,
  rate: number | null,
  rttMs: number,
): { queuePackets: number | null; queueBytes: number | null } {
  const q: QueueInput | undefined = input[dir]?.queue ?? input.queue;
  if (rate === null) return { queuePackets: q?.packets ?? null, queueBytes: q?.bytes ?? null };
  if (q === undefined) {
    return {
      queuePackets: null,
      queueBytes: Math.max(bdpBytes(rate, rttMs), DEFAULT_QUEUE_MIN_PACKETS * input.mtu),
    };
  }
  let queueBytes = q.bytes ?? null;
  if (q.ms !== undefined) queueBytes = Math.max(input.mtu, Math.round((rate * q.ms) / 8));
  return { queuePackets: q.packets ?? null, queueBytes };
}

function directionProfile(input: NetworkInput, dir: Direction, rttMs: number): DirectionProfile {
  const d: DirectionInput | undefined = input[dir];
  const jitter: JitterInput | undefined = d?.jitter ?? input.jitter;
  const rate = rateOf(input, dir);
  return {
    delayMs: delayOf(input, dir),
    jitterMs: jitter?.ms ?? 0,
    jitterDistribution: jitter?.distribution ?? 'uniform',
    loss: toLoss(d?.loss ?? input.loss),
    rateKbit: rate,
    ...queueOf(input, dir, rate, rttMs),
    reorderPct: d?.reorder ?? input.reorder ?? 0,
    duplicatePct: d?.duplicate ?? input.duplicate ?? 0,
    corruptPct: d?.corrupt ?? input.corrupt ?? 0,
  };
}

/** A direction with nothing emulated: no delay, loss, rate limit, queue limit or reordering. */
export const UNIMPAIRED_DIRECTION: Readonly<DirectionProfile> = {
  delayMs: 0,
  jitterMs: 0,
  jitterDistribution: 'uniform',
  loss: { model: 'none' },
  rateKbit: null,
  queuePackets: null,
  queueBytes: null,
  reorderPct: 0,
  duplicatePct: 0,
  corruptPct: 0,
};

/**
 * A canonical profile built directly (benchmarks and tests), without YAML: each direction is
 * UNIMPAIRED_DIRECTION with the given fields; MTU 1500.
 */
export function linkProfile(
  up: Partial<DirectionProfile>,
  down: Partial<DirectionProfile> = up,
  seed = 1,
): NetworkProfile {
  return {
    up: { ...UNIMPAIRED_DIRECTION, ...up },
    down: { ...UNIMPAIRED_DIRECTION, ...down },
    mtuBytes: 1500,
    seed,
  };
}

/** Keys whose presence means "emulate something". */
const IMPAIRMENT_KEYS = [
  'delay',
  'rtt',
  'jitter',
  'loss',
  'rate',
  'queue',
  'reorder',
  'duplicate',
  'corrupt',
  'down',
  'up',
] as const;

/** Resolve the YAML network section into the canonical per-direction profile. */
export function resolveNetwork(input: NetworkInput, scenarioSeed: number): Network {
  const rttMs = delayOf(input, 'down') + delayOf(input, 'up');
  const impairments = IMPAIRMENT_KEYS.filter((k) => input[k] !== undefined);
  return {
    backend: input.backend,
    profile: {
      down: directionProfile(input, 'down', rttMs),
      up: directionProfile(input, 'up', rttMs),
      mtuBytes: input.mtu,
      seed: input.seed ?? scenarioSeed,
    },
    impairments,
  };
}

// ---------------------------------------------------------------------------------------------
// Validation of combinations (single fields are checked by their zod types)

function fmtMs(ms: number): string {
  return `${+ms.toFixed(3)}ms`;
}

function validateLoss(loss: LossInput | undefined, path: (string | number)[], out: NetworkIssue[]): void {
  if (loss === undefined || typeof loss === 'number') return;
  if ('meanBurst' in loss) {
    if (loss.rate >= 100) {
      out.push({
        path: [...path, 'rate'],
        message: 'must be < 100% with meanBurst (use loss: 100% for a dead link)',
      });
      return;
    }
    const r = 100 / loss.meanBurst;
    const l = loss.rate / 100;
    const p = (r * l) / (1 - l);
    if (p > 100) {
      out.push({
        path: [...path, 'meanBurst'],
        message: `is too short for a ${loss.rate}% loss rate: the Gilbert model would need P(Good→Bad) = ${+p.toFixed(1)}% > 100% (use meanBurst >= ${+(l / (1 - l)).toFixed(3)})`,
      });
    }
    return;
  }
  if ('p13' in loss) {
    if (loss.p13 + (loss.p14 ?? 0) > 100) {
      out.push({ path: [...path, 'p14'], message: 'p13 + p14 must be <= 100% (they leave state 1)' });
    }
    if ((loss.p31 ?? 100 - loss.p13) + (loss.p32 ?? 0) > 100) {
      out.push({ path: [...path, 'p32'], message: 'p31 + p32 must be <= 100% (they leave state 3)' });
    }
    return;
  }
  if (loss.p > 0 && loss.r === 0) {
    out.push({
      path: [...path, 'r'],
      message: 'must be > 0 when p > 0: with r = 0 the chain never leaves the Bad state',
    });
  }
}

// ---------------------------------------------------------------------------------------------
// What each emulation backend can do (the one list: validation, backend choice and linkem's argv
// all ask here)

/** The fields of a direction that decide whether a backend can emulate it. */
export type BackendFeatures = Pick<
  DirectionProfile,
  | 'jitterMs'
  | 'jitterDistribution'
  | 'reorderPct'
  | 'duplicatePct'
  | 'corruptPct'
  | 'queuePackets'
  | 'queueBytes'
>;

/** A feature of one direction that a backend cannot emulate. */
export interface UnsupportedFeature {
  /** YAML key path of the feature inside a direction (or the top-level network) block. */
  key: string[];
  /** What it is, e.g. `jitter distribution "normal"`. */
  feature: string;
  /** The validation message on that key (after the key path). */
  issue: string;
}

const LINKEM_CANNOT = 'is not supported by the linkem backend';
const USE_NETEM = 'use backend netem on a kernel with sch_netem';

/** Features of one direction that `backend` cannot emulate (none for `auto`/`none`). */
export function unsupportedFeatures(backend: Backend, d: BackendFeatures): UnsupportedFeature[] {
  const out: UnsupportedFeature[] = [];
  if (backend === 'linkem') {
    if (d.jitterMs > 0 && d.jitterDistribution !== 'uniform') {
      out.push({
        key: ['jitter', 'distribution'],
        feature: `jitter distribution "${d.jitterDistribution}"`,
        issue: `${LINKEM_CANNOT} (uniform only; ${USE_NETEM})`,
      });
    }
    for (const [key, pct] of [
      ['reorder', d.reorderPct],
      ['duplicate', d.duplicatePct],
      ['corrupt', d.corruptPct],
    ] as const) {
      if (pct > 0) out.push({ key: [key], feature: key, issue: `${LINKEM_CANNOT} (${USE_NETEM})` });
    }
  }
  if (backend === 'netem' && d.queuePackets !== null && d.queueBytes !== null) {
    out.push({
      key: ['queue'],
      feature: 'queue limited in packets and bytes at once',
      issue: 'cannot limit packets and bytes at once with the netem backend (give one; linkem can do both)',
    });
  }
  return out;
}

/** The backend-relevant features a YAML block (top level, `down:` or `up:`) asks for itself. */
function blockFeatures(block: DirectionInput | NetworkInput): BackendFeatures {
  const q = block.queue;
  return {
    jitterMs: block.jitter?.ms ?? 0,
    jitterDistribution: block.jitter?.distribution ?? 'uniform',
    reorderPct: block.reorder ?? 0,
    duplicatePct: block.duplicate ?? 0,
    corruptPct: block.corrupt ?? 0,
    queuePackets: q?.packets ?? null,
    // A time becomes bytes once the rate is known: here only "is there a byte limit" matters.
    queueBytes: q === undefined ? null : (q.bytes ?? (q.ms === undefined ? null : q.ms)),
  };
}

/** Features a backend cannot emulate, as issues on the YAML keys that ask for them. */
function backendIssues(input: NetworkInput, out: NetworkIssue[]): void {
  const scopes: { path: (string | number)[]; block: DirectionInput | NetworkInput }[] = [
    { path: [], block: input },
  ];
  for (const dir of DIRECTIONS) {
    const block = input[dir];
    if (block) scopes.push({ path: [dir], block });
  }
  for (const { path, block } of scopes) {
    for (const f of unsupportedFeatures(input.backend, blockFeatures(block))) {
      out.push({ path: [...path, ...f.key], message: f.issue });
    }
  }
}

/** Impossible combinations in a network section, with the key path of each. */
export function validateNetwork(input: NetworkInput): NetworkIssue[] {
  const out: NetworkIssue[] = [];
  if (input.delay !== undefined && input.rtt !== undefined) {
    out.push({
      path: ['rtt'],
      message: 'cannot be combined with network.delay (delay is one-way, rtt is the round trip: give one)',
    });
  }
  if (input.rtt !== undefined && input.down?.delay !== undefined && input.up?.delay !== undefined) {
    out.push({
      path: ['rtt'],
      message:
        'cannot be combined with both network.down.delay and network.up.delay (give rtt or the two delays)',
    });
  }
  if (input.rtt !== undefined) {
    for (const dir of DIRECTIONS) {
      const own = input[dir]?.delay;
      if (own !== undefined && own > input.rtt) {
        out.push({
          path: [dir, 'delay'],
          message: `must be <= network.rtt (${fmtMs(input.rtt)}): the other direction would need a negative delay`,
        });
      }
    }
  }
  if (typeof input.rate === 'object') {
    for (const dir of DIRECTIONS) {
      if (input.rate[dir] !== undefined && input[dir]?.rate !== undefined) {
        out.push({ path: [dir, 'rate'], message: `conflicts with network.rate.${dir} (give one)` });
      }
    }
  }
  validateLoss(input.loss, ['loss'], out);
  for (const dir of DIRECTIONS) validateLoss(input[dir]?.loss, [dir, 'loss'], out);

  // Per-direction checks on the resolved values, reported at the key that set them.
  const anyRate = DIRECTIONS.some((d) => rateOf(input, d) !== null);
  if (input.queue !== undefined && !anyRate) {
    out.push({
      path: ['queue'],
      message: 'needs network.rate: a bottleneck queue only fills behind a rate limit',
    });
  }
  for (const dir of DIRECTIONS) {
    const block = input[dir];
    const delay = delayOf(input, dir);
    const jitter = block?.jitter ?? input.jitter;
    const jitterPath = block?.jitter ? [dir, 'jitter'] : ['jitter'];
    if (jitter && jitter.ms > delay && !out.some((i) => i.path.join('.') === jitterPath.join('.'))) {
      out.push({
        path: jitterPath,
        message: `must be <= the one-way delay of the ${dir} direction (${fmtMs(delay)}): a packet cannot leave before it arrives`,
      });
    }
    const reorder = block?.reorder ?? input.reorder ?? 0;
    if (reorder > 0 && delay === 0) {
      out.push({
        path: block?.reorder !== undefined ? [dir, 'reorder'] : ['reorder'],
        message: `needs a delay in the ${dir} direction: reordered packets are the ones sent without it`,
      });
    }
    const rate = rateOf(input, dir);
    if (block?.queue !== undefined && rate === null) {
      out.push({
        path: [dir, 'queue'],
        message: `needs a rate in the ${dir} direction: a bottleneck queue only fills behind a rate limit`,
      });
    }
    const q = block?.queue ?? input.queue;
    if (q?.bytes !== undefined && q.bytes < input.mtu) {
      out.push({
        path: block?.queue ? [dir, 'queue'] : ['queue'],
        message: `must hold at least one MTU (${input.mtu} bytes), or every full-size packet is dropped`,
      });
    }
  }
  backendIssues(input, out);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Properties of a resolved profile (used by probes, self-tests and the netem planner)

/** Long-run fraction (0..1) of packets a loss model drops. */
export function expectedLossFraction(loss: LossModel): number {
  switch (loss.model) {
    case 'none':
      return 0;
    case 'random':
      return loss.pct / 100;
    case 'gilbert-elliott': {
      const p = loss.pPct / 100;
      const r = loss.rPct / 100;
      if (p + r === 0) return loss.lossInGoodPct / 100;
      return (r * (loss.lossInGoodPct / 100) + p * (loss.lossInBadPct / 100)) / (p + r);
    }
    case 'four-state':
      return fourStateStationary(loss).lossFraction;
  }
}

/** Mean length (packets) of a run of consecutive losses; 1 for Bernoulli. */
export function expectedMeanBurst(loss: LossModel): number {
  switch (loss.model) {
    case 'none':
      return 0;
    case 'random':
      return 1 / Math.max(1e-12, 1 - loss.pct / 100);
    case 'gilbert-elliott':
      if (loss.lossInBadPct === 100 && loss.lossInGoodPct === 0) return 100 / Math.max(1e-9, loss.rPct);
      return Number.NaN; // no closed form worth stating: measured only
    case 'four-state':
      return fourStateStationary(loss).meanBurst;
  }
}

/** Stationary distribution of the 4-state chain (states 1..4), loss fraction and mean burst. */
export function fourStateStationary(loss: Extract<LossModel, { model: 'four-state' }>): {
  pi: [number, number, number, number];
  lossFraction: number;
  meanBurst: number;
} {
  const p13 = loss.p13Pct / 100;
  const p31 = loss.p31Pct / 100;
  const p32 = loss.p32Pct / 100;
  const p23 = loss.p23Pct / 100;
  const p14 = loss.p14Pct / 100;
  // Transition matrix T[from][to], states 0..3 = 1..4.
  const T = [
    [1 - p13 - p14, 0, p13, p14],
    [0, 1 - p23, p23, 0],
    [p31, p32, 1 - p31 - p32, 0],
    [1, 0, 0, 0],
  ];
  let pi = [1, 0, 0, 0];
  for (let i = 0; i < 20_000; i++) {
    const next = [0, 0, 0, 0];
    for (let from = 0; from < 4; from++) {
      for (let to = 0; to < 4; to++) next[to] = (next[to] ?? 0) + (pi[from] ?? 0) * (T[from]?.[to] ?? 0);
    }
    const delta = next.reduce((s, v, k) => s + Math.abs(v - (pi[k] ?? 0)), 0);
    pi = next;
    if (delta < 1e-15) break;
  }
  const [a = 0, b = 0, c = 0, d = 0] = pi;
  const lossFraction = c + d;
  // A burst starts when the chain enters 3 or 4 from a receiving state (1 or 2).
  const burstStarts = a * (p13 + p14) + b * p23;
  return { pi: [a, b, c, d], lossFraction, meanBurst: burstStarts > 0 ? lossFraction / burstStarts : 0 };
}

/** A short human summary of one direction, e.g. "50ms ±5ms uniform, 10000kbit, q 62500B, loss GE 1%". */
export function describeDirection(d: DirectionProfile): string {
  const delay =
    d.jitterMs > 0 ? `${fmtMs(d.delayMs)} ±${fmtMs(d.jitterMs)} ${d.jitterDistribution}` : fmtMs(d.delayMs);
  const parts = [delay];
  parts.push(d.rateKbit === null ? 'unlimited' : `${+d.rateKbit.toFixed(3)}kbit`);
  if (d.queuePackets !== null) parts.push(`queue ${d.queuePackets} pkts`);
  if (d.queueBytes !== null) parts.push(`queue ${d.queueBytes} B`);
  if (d.loss.model !== 'none')
    parts.push(`loss ${d.loss.model} ${+(expectedLossFraction(d.loss) * 100).toFixed(3)}%`);
  if (d.reorderPct > 0) parts.push(`reorder ${d.reorderPct}%`);
  if (d.duplicatePct > 0) parts.push(`duplicate ${d.duplicatePct}%`);
  if (d.corruptPct > 0) parts.push(`corrupt ${d.corruptPct}%`);
  return parts.join(', ');
}
