/**
 * The scenario schema: the single source of truth for keys, units, defaults and ranges.
 * `scenarios/README.md` documents every key below; keep them in step.
 */
import { z } from 'zod';
import { count, durationMs, percent } from '../../core/fields.js';
import { TRANSPORT_DEFAULTS, transportSchema, type Transport } from '../../core/transport.js';
import { workloadSchema, type Workload } from './workload.js';
import { networkInputSchema, resolveNetwork, type Network } from '../../core/network.js';

export const PROTOCOLS = ['h1', 'h2', 'h3'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export {
  CONGESTION_CONTROLS,
  defaultTransport,
  transportSchema,
  type CongestionControl,
  type Transport,
} from '../../core/transport.js';

/**
 * Values of `report.formats`: which files are written next to result.json (always written; `json`
 * may be listed and changes nothing). `csv` = runs.csv, `md` = report.md and the SVG figures it
 * links, `html` = report.html (figures inline) and the SVG figures. harness/report/index.ts maps them.
 */
export const REPORT_FORMATS = ['json', 'csv', 'md', 'html'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/**
 * Values of `server.scheduling`: the order in which every server (h1 has one response at a time per
 * connection; h2 and h3 many) sends the responses that are ready at once (harness/proto/schedule.ts):
 * - `sequential`: each response's HEADERS and DATA in turn, in request order (RFC 9218's default:
 *   urgency 3, not incremental);
 * - `headers-first`: every response's HEADERS as soon as it is ready, then the bodies in request order;
 * - `round-robin`: HEADERS as soon as ready, bodies interleaved chunk by chunk (RFC 9218 incremental).
 */
/**
 * HTTP/3 engines of h3bench's own endpoints (`stacks.h3`), named by QUIC implementation and version:
 * - `quiche-0.18`: our HTTP/3 layer and QUIC driver over quiche 0.18.0 (@matrixai/quic-linux-x64);
 * - `quiche-0.29`: quiche 0.29 with its own HTTP/3, batched I/O in native threads (@currentspace/http3).
 * HTTP/1.1 and HTTP/2 always run on Node's own stack (`node`).
 */
export const H3_STACKS = ['quiche-0.18', 'quiche-0.29'] as const;
export type H3Stack = (typeof H3_STACKS)[number];

/**
 * Who serves (`stacks.server`): `h3bench` (our servers: Node's https/http2, the `stacks.h3` engine)
 * or `caddy` (one Caddy process serving h1, h2 and h3 from pre-generated files, a production
 * same-stack server).
 */
export const SERVER_STACKS = ['h3bench', 'caddy'] as const;
export type ServerStack = (typeof SERVER_STACKS)[number];

/**
 * Who requests (`stacks.client`): `h3bench` (our clients) or `chromium` (a real headless Chromium
 * loading the generated page, forced onto one HTTP version; page-load workloads only).
 */
export const CLIENT_STACKS = ['h3bench', 'chromium'] as const;
export type ClientStack = (typeof CLIENT_STACKS)[number];

/** The implementations behind a run's endpoints. */
export interface Stacks {
  h3: H3Stack;
  server: ServerStack;
  client: ClientStack;
}

export const SCHEDULING_POLICIES = ['sequential', 'headers-first', 'round-robin'] as const;
export type SchedulingPolicy = (typeof SCHEDULING_POLICIES)[number];

/** Defaults of every optional key, in canonical units. */
export const SCENARIO_DEFAULTS = {
  description: '',
  protocols: ['h1', 'h2', 'h3'],
  repetitions: 3,
  seed: 1,
  transport: TRANSPORT_DEFAULTS,
  report: { formats: REPORT_FORMATS, qlog: false },
  server: { scheduling: 'sequential' },
  attribution: false,
  stacks: { h3: 'quiche-0.18', server: 'h3bench', client: 'h3bench' },
} as const satisfies {
  description: string;
  protocols: readonly Protocol[];
  repetitions: number;
  seed: number;
  transport: Record<string, unknown>;
  report: Record<string, unknown>;
  server: { scheduling: SchedulingPolicy };
  attribution: boolean;
  stacks: Stacks;
};

const D = SCENARIO_DEFAULTS;

export { workloadSchema, type Workload, type MultiplexWorkload } from './workload.js';

export const reportSchema = z
  .object({
    formats: z
      .array(z.enum(REPORT_FORMATS))
      .min(1)
      .refine((f) => new Set(f).size === f.length, 'must not repeat a format')
      .default([...D.report.formats]),
    /** Write a qlog (JSON-SEQ) of every QUIC connection, both endpoints, next to result.json. */
    qlog: z.boolean().default(D.report.qlog),
  })
  .strict();

export const stacksSchema = z
  .object({
    h3: z.enum(H3_STACKS).default(D.stacks.h3),
    server: z.enum(SERVER_STACKS).default(D.stacks.server),
    client: z.enum(CLIENT_STACKS).default(D.stacks.client),
  })
  .strict();

export const serverSchema = z
  .object({
    scheduling: z.enum(SCHEDULING_POLICIES).default(D.server.scheduling),
  })
  .strict();

/** Rounds an adaptive run always runs: a paired contrast needs 5 complete pairs for a verdict. */
export const MIN_ADAPTIVE_REPETITIONS = 5;
/** Most rounds of any run. */
export const MAX_REPETITIONS = 1000;

/**
 * `repetitions: {min, max, target, budget}`: run rounds until every headline h3 contrast's paired
 * interval is narrower than ±target, or max rounds, or the time budget; at least min
 * (harness/measure/stopping.ts, docs/metrics.md § "Adaptive repetitions").
 */
export interface AdaptiveRepetitions {
  /** Rounds always run (>= MIN_ADAPTIVE_REPETITIONS). */
  min: number;
  /** Rounds never exceeded: the plan (`Scenario.repetitions` is set to it). */
  max: number;
  /** Target relative half-width, percent (10 = ±10%). */
  targetPct: number;
  /** Wall-time budget, ms, or null: no round is started that would (at the mean round time) end after it. */
  budgetMs: number | null;
}

export const adaptiveRepetitionsSchema = z
  .object({
    min: count(MIN_ADAPTIVE_REPETITIONS).max(MAX_REPETITIONS).default(MIN_ADAPTIVE_REPETITIONS),
    max: count(MIN_ADAPTIVE_REPETITIONS).max(MAX_REPETITIONS),
    target: percent().pipe(z.number().positive()),
    budget: durationMs().pipe(z.number().positive()).optional(),
  })
  .strict()
  .refine((a) => a.max >= a.min, { message: 'must not be less than repetitions.min', path: ['max'] });

const REPETITIONS_FORM = `an integer in 1..${MAX_REPETITIONS} or a mapping {min, max, target} (e.g. {min: 5, max: 30, target: 10%, budget: 30min})`;

/**
 * `repetitions`: a count (fixed) or {min, max, target, budget} (adaptive). Each form reports its own
 * issues at its own key path (repetitions.target...); anything else says which forms are accepted.
 */
const repetitionsSchema = z.unknown().transform((value, ctx): number | AdaptiveRepetitions => {
  const isMapping = value !== null && typeof value === 'object' && !Array.isArray(value);
  if (!isMapping && typeof value !== 'number') {
    ctx.addIssue({ code: 'custom', message: `must be ${REPETITIONS_FORM}`, input: value });
    return z.NEVER;
  }
  const r = isMapping
    ? adaptiveRepetitionsSchema.safeParse(value)
    : count(1).max(MAX_REPETITIONS).safeParse(value);
  if (!r.success) {
    for (const issue of r.error.issues) {
      ctx.addIssue({ ...issue, input: valueAtPath(value, issue.path) } as z.core.$ZodRawIssue);
    }
    return z.NEVER;
  }
  const d = r.data;
  return typeof d === 'number'
    ? d
    : { min: d.min, max: d.max, targetPct: d.target, budgetMs: d.budget ?? null };
});

function valueAtPath(root: unknown, keyPath: readonly PropertyKey[]): unknown {
  let cur = root;
  for (const k of keyPath) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[k];
  }
  return cur;
}

const NAME_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export const scenarioInputSchema = z
  .object({
    name: z.string().regex(NAME_RE, 'must be lower-case letters, digits, ".", "_" or "-" (1-64 chars)'),
    description: z.string().default(D.description),
    protocols: z
      .array(z.enum(PROTOCOLS))
      .min(1)
      .refine((p) => new Set(p).size === p.length, 'must not repeat a protocol')
      .default([...D.protocols]),
    repetitions: repetitionsSchema.default(D.repetitions),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 32 - 1)
      .default(D.seed),
    network: networkInputSchema.prefault({}),
    transport: transportSchema.prefault({}),
    workload: workloadSchema,
    report: reportSchema.prefault({}),
    server: serverSchema.prefault({}),
    attribution: z.boolean().default(D.attribution),
    stacks: stacksSchema.prefault({}),
  })
  .strict();

export interface Scenario {
  name: string;
  description: string;
  protocols: Protocol[];
  /** Repetitions planned: the fixed count, or `adaptive.max`. */
  repetitions: number;
  /** Set when `repetitions` was {min, max, target}: rounds stop when the contrasts are narrow. */
  adaptive?: AdaptiveRepetitions;
  seed: number;
  network: Network;
  /** The parameter sweep this scenario belongs to, if any (see SweepSpec). */
  sweep: SweepSpec | null;
  /** Name of the network profile (scenarios/profiles/) the network section started from, if any. */
  networkProfile: string | null;
  transport: Transport;
  workload: Workload;
  report: { formats: ReportFormat[]; qlog: boolean };
  /**
   * How servers order the responses ready at once (the same policy for every protocol); null in
   * files before schema 7, whose servers differed (h2: nghttp2's default, h3: sequential).
   */
  server: { scheduling: SchedulingPolicy | null };
  /**
   * Adds a control run per protocol per repetition: one stream carrying the workload's total bytes
   * over the same link and seed, from which `summary.attribution` decomposes each contrast.
   */
  attribution: boolean;
  /**
   * The implementations behind the endpoints: `server` and `client` (h3bench's own or a real one),
   * `h3` the HTTP/3 engine of h3bench's own endpoints.
   */
  stacks: Stacks;
}

/** One swept key: its values in canonical units and as written. */
export interface SweepAxis {
  /** Dotted key path in the scenario file, e.g. "network.loss". */
  key: string;
  /** Unit of `values` after parsing: "%", "ms", "kbit/s", "B" or "" for plain numbers. */
  unit: string;
  values: number[];
  labels: (string | number)[];
}

/**
 * `sweep: {key, values}`: the scenario runs once per value of one scalar key (e.g. network.loss over
 * 0%, 0.5%, 1%), each point validated as if the value were written in the file. Values in canonical
 * units; `labels` as written.
 *
 * `sweep: {grid: {KEY1: [...], KEY2: [...]}}`: once per cell of two keys' values, in row-major order:
 * `grid.rows` is KEY1 (the first key written), `grid.columns` KEY2, and point i is the cell of row
 * ⌊i / C⌋ and column i mod C (C = number of KEY2 values; see `gridCell`). The point-level fields then
 * describe the cells so that readers of one-key sweeps stay right: `key` is "KEY1 × KEY2", `unit` "",
 * `values` the cell indices 0..n-1 and `labels` each cell's two labels as written ("2mbit × 50ms").
 */
export interface SweepSpec extends SweepAxis {
  /** A two-key grid: its axes (absent for a one-key sweep). */
  grid?: { rows: SweepAxis; columns: SweepAxis };
}

/** Row and column of grid point `index` (row-major: the column varies fastest). */
export function gridCell(
  grid: { columns: { values: readonly unknown[] } },
  index: number,
): { row: number; column: number } {
  const n = grid.columns.values.length;
  return { row: Math.floor(index / n), column: index % n };
}

/** Keys that were renamed or that users often guess; each maps to a hint. */
export const RENAMED_KEYS: Readonly<Record<string, string>> = {
  latency: 'use network.delay (one-way) or network.rtt instead',
  bandwidth: 'use network.rate instead',
  protocol: 'use protocols (a list) instead',
  runs: 'use repetitions instead',
  streams: 'use workload.concurrency instead',
  cc: 'use transport.congestion instead',
};

export type ScenarioInput = z.output<typeof scenarioInputSchema>;

/** Turn the validated input into the canonical Scenario. */
export function resolveScenario(input: ScenarioInput, networkProfile: string | null = null): Scenario {
  return {
    name: input.name,
    description: input.description,
    protocols: input.protocols,
    ...(typeof input.repetitions === 'number'
      ? { repetitions: input.repetitions }
      : { repetitions: input.repetitions.max, adaptive: input.repetitions }),
    seed: input.seed,
    network: resolveNetwork(input.network, input.seed),
    networkProfile,
    sweep: null,
    transport: input.transport,
    workload: input.workload,
    report: input.report,
    server: input.server,
    attribution: input.attribution,
    stacks: input.stacks,
  };
}
