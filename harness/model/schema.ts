/**
 * zod schema of result.json, used on write (renderAll) and on read (readResult). It validates the
 * JSON text form: numbers that may be NaN in memory are null in JSON, and read back as NaN where the
 * TypeScript type is a plain number. Objects are loose: keys added by later builds pass through.
 */
import { z } from 'zod';
import { PROTOCOLS } from '../scenario/schema.js';
import { METRIC_NAMES, RUN_FLAG_KINDS } from './metrics.js';
import { STOP_REASONS } from './result.js';
import { ATTRIBUTION_FACTORS } from './telemetry.js';

/** A number written by JSON.stringify: null stands for NaN/±Infinity. */
const num = z
  .number()
  .nullable()
  .transform((v) => v ?? NaN);
const nnum = z.number().nullable();
const protocol = z.enum(PROTOCOLS);

const cpu = z.looseObject({ userMs: z.number(), systemMs: z.number(), wallMs: z.number() });

const transportStats = z.looseObject({
  packetsSent: z.number().optional(),
  packetsReceived: z.number().optional(),
  packetsLost: z.number().optional(),
  packetsRetransmitted: z.number().optional(),
  bytesSent: z.number().optional(),
  bytesReceived: z.number().optional(),
  srttMs: z.number().optional(),
  cwndBytes: z.number().optional(),
});

/** `TelemetrySeries` (model/telemetry.ts): columns are optional, each as long as `t`. */
export const telemetrySeriesSchema = z
  .looseObject({
    side: z.enum(['server', 'client']),
    transport: z.enum(['tcp', 'quic']),
    connection: z.string(),
    source: z.string(),
    intervalMs: z.number().positive(),
    t: z.array(z.number()),
    cwndBytes: z.array(z.number()).optional(),
    bytesInFlight: z.array(z.number()).optional(),
    ssthreshBytes: z.array(z.number()).optional(),
    srttMs: z.array(z.number()).optional(),
    minRttMs: z.array(z.number()).optional(),
    deliveryRateMbit: z.array(z.number()).optional(),
    packetsSent: z.array(z.number()).optional(),
    packetsLost: z.array(z.number()).optional(),
    packetsRetransmitted: z.array(z.number()).optional(),
    timeouts: z.array(z.number()).optional(),
    timeoutsSource: z.string().optional(),
    recoveryState: z.array(z.number()).optional(),
  })
  .superRefine((s, ctx) => {
    for (const [k, v] of Object.entries(s)) {
      if (k !== 't' && Array.isArray(v) && v.length !== s.t.length) {
        ctx.addIssue({
          code: 'custom',
          path: [k],
          message: `must have one value per sample (${s.t.length})`,
        });
      }
    }
  });

const connectionRecord = z.looseObject({
  id: z.number().int(),
  tStart: z.number(),
  tTcpConnected: nnum,
  tHandshakeDone: nnum,
  alpn: z.string().nullable(),
  tlsVersion: z.string().nullable(),
  error: z.string().nullable(),
  transport: transportStats.nullable(),
  tCloseStart: nnum.optional(),
  tClosed: nnum.optional(),
});

const requestRecord = z.looseObject({
  id: z.number().int(),
  connection: z.number().int().nullable(),
  stream: z.number().int().nullable(),
  tIntended: z.number(),
  tStart: z.number(),
  tHeaders: nnum,
  tEnd: nnum,
  status: z.number().int(),
  bytesExpected: z.number(),
  bytes: z.number(),
  error: z.string().nullable(),
  timedOut: z.boolean(),
  chunks: z.array(z.tuple([z.number(), z.number()])),
});

/** `BrowserResource` (model/records.ts). */
const browserResource = z.looseObject({
  name: z.string(),
  initiatorType: z.string(),
  nextHopProtocol: z.string(),
  startTime: z.number(),
  requestStart: z.number(),
  responseStart: z.number(),
  responseEnd: z.number(),
  encodedBodySize: z.number(),
  decodedBodySize: z.number(),
  transferSize: z.number(),
  status: z.number().int(),
  connection: z.number().int().nullable(),
});

/** Schema 8: a browser run's client report has a `browser` block (`BrowserReport`). */
const browserReport = z.looseObject({
  name: z.literal('chromium'),
  version: z.string(),
  product: z.string(),
  revision: z.string(),
  userAgent: z.string(),
  executable: z.string(),
  flags: z.array(z.string()),
  protocol,
  url: z.string(),
  navigationError: z.string().nullable(),
  timedOut: z.boolean(),
  timeOriginMs: nnum,
  clock: z.looseObject({
    method: z.enum(['monotonic', 'wall-clock']),
    pairs: z.number().int().min(0),
    spreadMs: nnum,
  }),
  chunks: z.string(),
  pageState: z.string().nullable(),
  pageErrors: z.array(z.string()),
  resources: z.array(browserResource),
  otherRequests: z.array(z.string()),
  cpu: z
    .looseObject({
      source: z.string(),
      browserUserMs: z.number(),
      browserSystemMs: z.number(),
      processes: z.number().int().min(0),
      cores: z.number().int().min(1).optional(),
    })
    .optional(),
});

/** A client's report (`ClientReport`): in result.json, and as the client process writes it. */
export const clientReportSchema = z.looseObject({
  protocol,
  t0EpochMs: z.number(),
  /** t0 on CLOCK_MONOTONIC, ns as a decimal string (absent in older files). */
  t0MonotonicNs: z.string().regex(/^\d+$/).optional(),
  durationMs: z.number(),
  connections: z.array(connectionRecord),
  requests: z.array(requestRecord),
  cpu,
  /** Workload-level metrics (added with the workload types; absent in older files). */
  metrics: z.record(z.string(), z.number()).default({}),
  settings: z.record(z.string(), z.json()),
  telemetry: z.array(telemetrySeriesSchema).optional(),
  browser: browserReport.optional(),
});

/** A server's report (`ServerReport`): in result.json, and in the server's "stopped" event. */
export const serverReportSchema = z.looseObject({
  protocol,
  cpu,
  requests: z.number(),
  settings: z.record(z.string(), z.json()),
  telemetry: z.array(telemetrySeriesSchema).optional(),
});

const probe = z.looseObject({
  configuredRttMs: z.number(),
  measuredRttMs: z.looseObject({ p50: num, p99: num, samples: z.number() }),
  configuredLossPct: z.number(),
  measuredLossPct: num,
  ok: z.boolean(),
  notes: z.array(z.string()),
});

const stringMap = z.record(z.string(), z.string());
const namespaceCounters = z.record(z.string(), z.number());
/** `RunRecord.link.provenance`; files before schema 4 wrote `{}` for a link that never came up: null. */
const linkProvenance = z.preprocess(
  (v) => (v !== null && typeof v === 'object' && !('backend' in v) ? null : v),
  z
    .looseObject({
      backend: z.enum(['none', 'netem', 'linkem']),
      // Files of schema 1 have neither.
      warnings: z.array(z.string()).default([]),
      fairness: z
        .looseObject({ congestion: z.string(), pacing: z.string(), hystart: z.string() })
        .default({ congestion: 'not recorded', pacing: 'not recorded', hystart: 'not recorded' }),
      topology: z
        .looseObject({
          clientNetns: z.string(),
          serverNetns: z.string(),
          namespaces: z.array(z.string()),
          clientAddress: z.string(),
          serverAddress: z.string(),
        })
        .optional(),
      sysctls: z.record(z.string(), stringMap).optional(),
      qdiscs: stringMap.optional(),
    })
    .nullable(),
);
const linkCounters = z.looseObject({
  sockets: z.looseObject({ client: namespaceCounters, server: namespaceCounters }).optional(),
  qdiscsAfter: stringMap.optional(),
  dropReasons: z.record(z.string(), z.number()).optional(),
  dropTimesError: z.string().optional(),
  linkemError: z.string().optional(),
  error: z.string().optional(),
  teardownErrors: z.array(z.string()).optional(),
});

const runRecord = z.looseObject({
  index: z.number().int().min(0),
  repetition: z.number().int().min(0),
  protocol,
  ok: z.boolean(),
  error: z.string().nullable(),
  client: clientReportSchema.nullable(),
  server: serverReportSchema.nullable(),
  link: z.looseObject({
    provenance: linkProvenance,
    probe: probe.nullable(),
    counters: linkCounters,
    lossTimesMs: z.array(z.number()).optional(),
    downlinkLossTimesMs: z.array(z.number()).optional(),
  }),
  sweepIndex: z.number().int().min(0).optional(),
  control: z.boolean().optional(),
  telemetryErrors: z.array(z.string()).optional(),
});

const lossModel = z.looseObject({ model: z.string() });
const direction = z.looseObject({
  delayMs: z.number(),
  jitterMs: z.number(),
  loss: lossModel,
  rateKbit: nnum,
});
/** The resolved scenario: the keys the analysis and the reports read; the rest passes through. */
const scenario = z.looseObject({
  name: z.string().min(1),
  description: z.string(),
  protocols: z.array(protocol).min(1),
  repetitions: z.number().int().min(1),
  adaptive: z
    .looseObject({
      min: z.number().int().min(1),
      max: z.number().int().min(1),
      targetPct: z.number(),
      budgetMs: z.number().nullable(),
    })
    .optional(),
  seed: z.number().int(),
  network: z.looseObject({
    backend: z.string(),
    profile: z.looseObject({ down: direction, up: direction, mtuBytes: z.number(), seed: z.number() }),
  }),
  transport: z.looseObject({ congestion: z.string() }),
  workload: z.looseObject({ type: z.string() }),
  report: z.looseObject({ formats: z.array(z.string()) }),
  /** Added with sweeps; absent in older files. */
  sweep: z
    .looseObject({ key: z.string().min(1), unit: z.string(), values: z.array(z.number()).min(1) })
    .nullable()
    .optional(),
});

const distribution = z.looseObject({
  n: z.number(),
  p50: num,
  p90: num,
  p99: num,
  p999: num,
  max: num,
  mean: num,
});
const estimate = z.looseObject({
  median: nnum,
  ci95: z.tuple([z.number(), z.number()]).nullable(),
  n: z.number().int(),
});
const histogram = z.looseObject({
  n: z.number(),
  p50: nnum,
  p90: nnum,
  p99: nnum,
  p999: nnum,
  max: nnum,
  encoded: z.string(),
});
const flag = z.looseObject({
  kind: z.enum(RUN_FLAG_KINDS),
  run: z.number().int(),
  protocol: z.string(),
  message: z.string(),
});
const metricName = z.enum(METRIC_NAMES);
const estimates = z.record(metricName, estimate);

const runHol = z.looseObject({
  thresholdMs: num,
  lossWindowMs: num,
  stallCount: z.number(),
  stallMs: z.number(),
  contendedStallMs: z.number(),
  synchronizedStallMs: z.number(),
  /** null (schema 3) when the run had no contended stall time; 0 in older files. */
  synchronizedStallShare: nnum,
  collateralStallMs: nnum,
  stallsAfterLoss: nnum,
  stallsWithoutLoss: nnum,
  lossEvents: nnum,
});

const runMetrics = z.looseObject({
  index: z.number().int(),
  repetition: z.number().int(),
  protocol: z.string(),
  ok: z.boolean(),
  sweepIndex: z.number().int().optional(),
  requests: z.number(),
  requestsOk: z.number(),
  requestsFailed: z.number(),
  requestsTimedOut: z.number(),
  bytes: z.number(),
  connections: z.number(),
  workloadMs: nnum,
  completionP50Ms: nnum,
  completionP90Ms: nnum,
  completionP99Ms: nnum,
  completionMaxMs: nnum,
  ttfbP50Ms: nnum,
  ttfbP99Ms: nnum,
  connectP50Ms: nnum,
  goodputMbit: nnum,
  cpuClientMs: nnum,
  cpuServerMs: nnum,
  cpuClientShare: nnum,
  cpuServerShare: nnum,
  probeOk: z.boolean().nullable(),
  rttMs: z.number(),
  workload: z.record(z.string(), z.number()),
  hol: runHol.nullable(),
  socketDrops: z.looseObject({ total: z.number(), counts: z.record(z.string(), z.number()) }).nullable(),
});

const contrast = z.looseObject({
  a: z.string(),
  b: z.string(),
  metric: z.union([metricName, z.templateLiteral(['workload.', z.string()])]),
  kind: z.enum(['ratio', 'difference']),
  value: nnum,
  ci95: z.tuple([z.number(), z.number()]).nullable(),
  nA: z.number().int(),
  nB: z.number().int(),
  medianA: nnum,
  medianB: nnum,
  significant: z.boolean().nullable(),
  direction: z.enum(['better', 'worse', 'same']).nullable(),
  relativeChange: nnum,
  verdict: z.string(),
  failedRunsA: z.number().int(),
  failedRunsB: z.number().int(),
  comparable: z.boolean(),
});

/** Schema 5: a contrast says how it was computed (paired by repetition or not) and over how many pairs. */
const contrastV5 = contrast.extend({
  method: z.enum(['paired', 'unpaired']),
  pairs: z.number().int().min(0),
});

const protocolSummary = z.looseObject({
  runs: z.number().int(),
  runsFailed: z.number().int(),
  requests: z.looseObject({ ok: z.number(), failed: z.number(), timedOut: z.number() }),
  completionMs: distribution,
  ttfbMs: distribution,
  handshakeMs: distribution,
  workloadMs: z.looseObject({ median: num, samples: z.array(z.number()) }),
  cpuMs: z.looseObject({ clientMedian: num, serverMedian: num }),
  bytes: z.number(),
  metrics: estimates,
  workloadMetrics: z.record(z.string(), estimate),
  hol: z.looseObject({
    thresholdMs: nnum,
    lossLog: z.enum(['present', 'lossless-path', 'absent']),
    stallCount: estimate,
    stallMs: estimate,
    synchronizedStallShare: estimate,
    synchronizedStallMs: estimate,
    collateralStallMs: estimate,
    stallsAfterLoss: estimate,
    stallsWithoutLoss: estimate,
  }),
  histograms: z.looseObject({
    connectMs: histogram,
    ttfbMs: histogram,
    completionMs: histogram,
    workloadMs: histogram,
  }),
  flags: z.array(flag),
  /** Schema 7: the sender's loss response (model/telemetry.ts `TransportSummary`). */
  transport: z
    .looseObject({
      runsWithTelemetry: z.number().int().min(0),
      congestionEventsPer100Losses: estimate,
      congestionEvents: estimate,
      reductionFactor: estimate,
      undoneShare: estimate,
      timeInRecoveryMs: estimate,
      timeouts: estimate,
      meanCwndBytes: estimate,
      srttMs: estimate,
      downlinkDrops: estimate,
      packetsLost: estimate,
      packetsRetransmitted: estimate.optional(),
    })
    .optional(),
});

const attributionFactor = z.looseObject({ value: nnum, ci95: z.tuple([z.number(), z.number()]).nullable() });
const attributionFactorName = z.enum(ATTRIBUTION_FACTORS);
/** Schema 7: `AttributionEntry` (model/telemetry.ts). */
const attributionEntry = z.looseObject({
  pair: z.string(),
  a: z.string(),
  b: z.string(),
  metric: z.string(),
  sweepIndex: z.number().int().optional(),
  pairs: z.number().int().min(0),
  total: attributionFactor,
  setup: attributionFactor,
  transport: attributionFactor,
  multiplexing: attributionFactor,
  shares: z.looseObject({ setup: nnum, transport: nnum, multiplexing: nnum }),
  dominant: attributionFactorName.nullable(),
  sentence: z.string(),
});

/** The summary with contrasts of one shape (schemas 3 and 4: `contrast`; 5: `contrastV5`). */
const summaryWith = <C extends z.ZodType>(c: C) =>
  z.looseObject({
    ok: z.boolean(),
    protocols: z.partialRecord(protocol, protocolSummary),
    runs: z.array(runMetrics),
    comparisons: z.array(c),
    flags: z.array(flag),
    sweep: z
      .array(
        z.looseObject({
          value: z.number(),
          protocols: z.partialRecord(protocol, estimates),
          comparisons: z.array(c),
          counts: z.partialRecord(
            protocol,
            z.looseObject({
              runs: z.number().int(),
              runsFailed: z.number().int(),
              requestsOk: z.number(),
              requestsFailed: z.number(),
            }),
          ),
        }),
      )
      .optional(),
    attribution: z.array(attributionEntry).optional(),
  });
const summary = summaryWith(contrast);
const summaryV5 = summaryWith(contrastV5);

const common = {
  runId: z.string().min(1),
  createdAt: z.string(),
  scenarioFile: z.string(),
  scenarioHash: z.string(),
  scenario,
  environment: z.looseObject({
    node: z.string(),
    kernel: z.string(),
    platform: z.string(),
    cpus: z.number(),
    cpuModel: z.string().nullable(),
    memoryBytes: z.number(),
    gitCommit: z.string().nullable(),
    quicheBinding: z.string().nullable(),
    hostSysctls: z.record(z.string(), z.string().nullable()),
    tlsCertificateSha256: z.string().optional(),
    /** Schema 8. */
    hostname: z.string().optional(),
  }),
  runs: z.array(runRecord),
};

/** Schema 4: a result kept when a scenario stopped early (abort, interrupt) says so. */
const partial = z.looseObject({
  reason: z.string().min(1),
  runsPlanned: z.number().int().min(0),
  runsDone: z.number().int().min(0),
});

/** Schema 5: schema 4 with `method` and `pairs` on every contrast. */
export const resultSchemaV5 = z.looseObject({
  schemaVersion: z.literal(5),
  ...common,
  summary: summaryV5,
  partial: partial.optional(),
});

/** Schema 6: rounds run and why the run stopped, with the headline contrasts at the end. */
const stopping = z.looseObject({
  reason: z.enum(STOP_REASONS),
  rounds: z.number().int().min(0),
  rule: z.enum(['bonferroni-looks', 'none']),
  looks: z.number().int().min(1),
  confidence: z.number().gt(0).lt(1),
  min: z.number().int().optional(),
  max: z.number().int().optional(),
  targetPct: z.number().optional(),
  budgetMs: z.number().nullable().optional(),
  contrasts: z.array(
    z.looseObject({
      a: z.string(),
      b: z.string(),
      metric: z.string(),
      sweepIndex: z.number().int().optional(),
      kind: z.enum(['ratio', 'difference']),
      decides: z.boolean(),
      pairs: z.number().int().min(0),
      value: nnum,
      ci: z.tuple([z.number(), z.number()]).nullable(),
      minDetectableEffect: nnum,
    }),
  ),
});

/** Schema 6: schema 5 plus the optional `stopping`. */
export const resultSchemaV6 = z.looseObject({
  schemaVersion: z.literal(6),
  ...common,
  summary: summaryV5,
  partial: partial.optional(),
  stopping: stopping.optional(),
});
/**
 * Schema 7 (current): schema 6 whose records may carry telemetry, teardown times and control runs,
 * and whose summary may carry `transport` and `attribution` (all optional keys, validated above).
 */
export const resultSchemaV7 = resultSchemaV6.extend({ schemaVersion: z.literal(7) });
const runIndices = z.array(z.number().int().min(0));
/** Schema 8: the plan, shard, hosts, merge and resume records (model/result.ts). */
const planRecord = z.looseObject({
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  runs: z.number().int().min(0),
  repetitions: z.number().int().min(1),
  sweepPoints: z.number().int().min(0),
});
const shardMark = z.looseObject({
  index: z.number().int().min(0),
  count: z.number().int().min(1),
  repetitions: runIndices,
});
const hostRecord = z.looseObject({
  runId: z.string().min(1),
  createdAt: z.string(),
  shard: z.looseObject({ index: z.number().int().min(0), count: z.number().int().min(1) }).optional(),
  hostname: z.string().nullable(),
  cpuModel: z.string().nullable(),
  cpus: z.number(),
  kernel: z.string(),
  gitCommit: z.string().nullable(),
  backends: z.array(z.string()),
  runIndices,
});
const mergeRecord = z.looseObject({
  shardCount: z.number().int().min(1),
  pieces: z.array(
    z.looseObject({
      index: z.number().int().min(0),
      runId: z.string().min(1),
      runs: z.number().int().min(0),
      partial: z.string().optional(),
    }),
  ),
  missingShards: runIndices,
});
const resumeRecord = z.looseObject({
  fromRunId: z.string().min(1),
  fromDir: z.string().min(1),
  at: z.string(),
  kept: z.number().int().min(0),
  rerun: z.array(z.looseObject({ index: z.number().int().min(0), error: z.string() })),
});

/** The schema this build writes (RESULT_SCHEMA_VERSION): what checkpoints and new files hold. */
export const resultSchemaV8 = resultSchemaV6.extend({
  schemaVersion: z.literal(8),
  plan: planRecord.optional(),
  shard: shardMark.optional(),
  hosts: z.array(hostRecord).optional(),
  merged: mergeRecord.optional(),
  resumed: resumeRecord.optional(),
});
export const currentResultSchema = resultSchemaV8;
/** Schema 4: schema 3 plus the optional `partial`. */
export const resultSchemaV4 = z.looseObject({
  schemaVersion: z.literal(4),
  ...common,
  summary,
  partial: partial.optional(),
});
/** Schema 3: everything, the summary included. */
export const resultSchemaV3 = z.looseObject({ schemaVersion: z.literal(3), ...common, summary });
/** Schemas 1 and 2: the same run records; their summaries had fewer fields and readers recompute them. */
export const resultSchemaV2 = z.looseObject({
  schemaVersion: z.literal(2),
  ...common,
  summary: z.looseObject({ ok: z.boolean() }),
});
export const resultSchemaV1 = z.looseObject({
  schemaVersion: z.literal(1),
  ...common,
  summary: z.looseObject({ ok: z.boolean() }),
});
/** Just enough to tell the version. */
export const versionSchema = z.looseObject({ schemaVersion: z.number().int() });

/** The schema of one readable version (`READABLE_SCHEMA_VERSIONS`); the current one for any other. */
export function resultSchemaFor(
  version: number,
):
  | typeof resultSchemaV1
  | typeof resultSchemaV2
  | typeof resultSchemaV3
  | typeof resultSchemaV4
  | typeof resultSchemaV5
  | typeof resultSchemaV6
  | typeof resultSchemaV7
  | typeof resultSchemaV8 {
  switch (version) {
    case 1:
      return resultSchemaV1;
    case 2:
      return resultSchemaV2;
    case 3:
      return resultSchemaV3;
    case 4:
      return resultSchemaV4;
    case 5:
      return resultSchemaV5;
    case 6:
      return resultSchemaV6;
    case 7:
      return resultSchemaV7;
    default:
      return resultSchemaV8;
  }
}
