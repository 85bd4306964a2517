/**
 * The `workload` section: what the client does. One schema per `type`, chosen by that key, so an
 * error names the keys of the workload the user meant. Every workload GETs `/bytes/<n>` from the
 * shared handler, except page-load, which loads a generated page under /page/ (harness/scenario/
 * pages.ts); see scenarios/README.md for what each measures.
 */
import { z } from 'zod';
import { count, durationMs, sizeBytes } from '../../core/fields.js';
import {
  RESOURCE_TYPES,
  loadPageProfile,
  pageDocumentSize,
  pageProfileFile,
  pageProfileNames,
  pageSizeIssues,
  pageWave,
  resolveWaves,
  pageSizeMessage,
  wavesByDepth,
  type PageSpec,
  type PageWave,
  type ResourceType,
} from './pages.js';

export { RESOURCE_TYPES, wavesByDepth, type PageSpec, type PageWave, type ResourceType };

export const WORKLOAD_TYPES = ['multiplex', 'page-load', 'bulk', 'cold', 'rpc'] as const;
export type WorkloadType = (typeof WORKLOAD_TYPES)[number];

/** Defaults per workload type, canonical units. */
export const WORKLOAD_DEFAULTS = {
  multiplex: { requests: 100, sizeBytes: 20_000, concurrency: 10, connections: 6, timeoutMs: 30_000 },
  /**
   * An illustrative page, not a replay of a real one: a 30 KB HTML document, then the scripts it
   * references (8 × 25 KB), then the images those reveal (20 × 40 KB): 29 requests, about 1 MB,
   * per-request sizes of tens of KB as on typical pages. Override `waves` to model your own page,
   * or name a page profile (`page: median-mobile`, scenarios/pages/).
   */
  'page-load': {
    documentBytes: 30_000,
    waves: [
      { count: 8, sizeBytes: 25_000 },
      { count: 20, sizeBytes: 40_000 },
    ],
    connections: 6,
    timeoutMs: 30_000,
  },
  bulk: { sizeBytes: 10_000_000, timeoutMs: 120_000 },
  cold: { requests: 20, sizeBytes: 1000, concurrency: 1, timeoutMs: 30_000 },
  rpc: {
    rate: 100,
    durationMs: 10_000,
    sizeBytes: 1000,
    connections: 6,
    timeoutMs: 10_000,
    maxInFlight: 1000,
  },
} as const;

const MAX_BODY = 10 ** 10;
const body = () => sizeBytes().pipe(z.number().max(MAX_BODY));
const timeout = () => durationMs().pipe(z.number().positive());
/** Largest server CPU time per request (ms); the handler refuses more (harness/proto/handler.ts). */
export const MAX_SERVER_CPU_MS = 1000;
const common = {
  timeout: timeout().optional(),
  /** Failed requests tolerated per run before the run counts as failed (exit code 1). */
  allowedFailures: count(0).default(0),
  /** CPU time the server burns per request before responding ("2ms"; default 0). */
  serverCpu: durationMs().pipe(z.number().max(MAX_SERVER_CPU_MS)).optional(),
};

/**
 * `serverCpuMs` of the resolved workload: CPU time (ms) the server burns per request before it
 * responds, sent with every request (`/bytes/<n>?cpu=<ms>`). Absent when 0, the default, so a
 * workload without it resolves as it did before the key existed.
 */
const serverCpu = (w: { serverCpu?: number | undefined }): { serverCpuMs?: number } =>
  w.serverCpu ? { serverCpuMs: w.serverCpu } : {};

const multiplex = z
  .object({
    type: z.literal('multiplex'),
    requests: count(1).max(1_000_000).default(WORKLOAD_DEFAULTS.multiplex.requests),
    size: body().optional(),
    concurrency: count(1).max(MAX_CONCURRENCY()).default(WORKLOAD_DEFAULTS.multiplex.concurrency),
    connections: count(1).max(256).default(WORKLOAD_DEFAULTS.multiplex.connections),
    ...common,
  })
  .strict()
  .transform((w) => ({
    type: w.type,
    /** Number of requests (GET /bytes/<sizeBytes>). */
    requests: w.requests,
    /** Response body size of every request, bytes. */
    sizeBytes: w.size ?? WORKLOAD_DEFAULTS.multiplex.sizeBytes,
    /** Requests in flight at once (h2/h3: streams on one connection; h1: spread over `connections`). */
    concurrency: w.concurrency,
    /** HTTP/1.1 only: keep-alive connections, as a browser opens per origin. */
    connections: w.connections,
    /** Per-request timeout, ms; a request past it counts as failed. */
    timeoutMs: w.timeout ?? WORKLOAD_DEFAULTS.multiplex.timeoutMs,
    allowedFailures: w.allowedFailures,
    ...serverCpu(w),
  }));

function MAX_CONCURRENCY(): number {
  // HTTP/2 and QUIC allow this many concurrent streams (session.ts MAX_CONCURRENT_STREAMS).
  return 1000;
}

const pageLoad = z
  .object({
    type: z.literal('page-load'),
    /** A page profile, scenarios/pages/<name>.yaml: its document and waves (then neither key may be given). */
    page: z.string().optional(),
    document: pageDocumentSize().optional(),
    waves: z.array(pageWave).max(20).optional(),
    connections: count(1).max(256).default(WORKLOAD_DEFAULTS['page-load'].connections),
    ...common,
  })
  .strict()
  .transform((w, ctx) => {
    const d = WORKLOAD_DEFAULTS['page-load'];
    const profile = w.page === undefined ? null : pageFromProfile(w, ctx);
    const out = {
      type: w.type,
      /** The page profile the page comes from (scenarios/pages/<name>.yaml), when one was named. */
      ...(w.page !== undefined ? { page: w.page } : {}),
      /** Size of the HTML document fetched first, bytes. */
      documentBytes: profile?.documentBytes ?? w.document ?? d.documentBytes,
      /**
       * Subresources by depth: the requests of depth k start together when the document and every
       * request of depths < k completed (a browser: when the resources that reference them loaded).
       */
      waves:
        profile?.waves ??
        resolveWaves(w.waves ?? d.waves.map((x) => ({ count: x.count, size: x.sizeBytes })), ctx),
      /** HTTP/1.1 only: keep-alive connections. */
      connections: w.connections,
      timeoutMs: w.timeout ?? d.timeoutMs,
      allowedFailures: w.allowedFailures,
      ...serverCpu(w),
    };
    // The generated page (harness/scenario/pages.ts) must fit in the declared sizes (a profile's
    // page was checked when the profile was read).
    for (const issue of profile ? [] : pageSizeIssues(out)) {
      const defaulted = issue.path[0] === 'document' ? w.document === undefined : w.waves === undefined;
      const message = pageSizeMessage(issue) + (defaulted ? ` (the default is ${issue.value} bytes)` : '');
      ctx.addIssue({ code: 'custom', path: issue.path, message });
    }
    return out;
  });

/**
 * The page of `workload.page: NAME`, read from scenarios/pages/NAME.yaml. `page` names the whole
 * page, so `document` and `waves` may not be given with it (a mix would be a page nobody
 * described); an unknown name is an issue at `page` listing the profiles there. A profile that
 * does not load throws its own error, naming the profile file.
 */
function pageFromProfile(
  w: { page?: string | undefined; document?: number | undefined; waves?: unknown },
  ctx: z.RefinementCtx,
): PageSpec | null {
  const name = w.page ?? '';
  const given = (['document', 'waves'] as const).filter((k) => w[k] !== undefined);
  if (given.length > 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['page'],
      message: `cannot be combined with ${given.map((k) => `workload.${k}`).join(' or ')} (the page profile describes the whole page): remove one`,
    });
    return null;
  }
  if (pageProfileFile(name) === null) {
    const names = pageProfileNames();
    ctx.addIssue({
      code: 'custom',
      path: ['page'],
      message: `must name a page profile in scenarios/pages/ (${names.length > 0 ? `one of ${names.join(', ')}` : 'there are none'})`,
    });
    return null;
  }
  return loadPageProfile(name);
}

const bulk = z
  .object({ type: z.literal('bulk'), size: body().optional(), ...common })
  .strict()
  .transform((w) => ({
    type: w.type,
    /** Size of the single response body, bytes. */
    sizeBytes: w.size ?? WORKLOAD_DEFAULTS.bulk.sizeBytes,
    timeoutMs: w.timeout ?? WORKLOAD_DEFAULTS.bulk.timeoutMs,
    allowedFailures: w.allowedFailures,
    ...serverCpu(w),
  }));

const cold = z
  .object({
    type: z.literal('cold'),
    requests: count(1).max(100_000).default(WORKLOAD_DEFAULTS.cold.requests),
    size: body().optional(),
    concurrency: count(1).max(100).default(WORKLOAD_DEFAULTS.cold.concurrency),
    ...common,
  })
  .strict()
  .transform((w) => ({
    type: w.type,
    /** Requests, each on a brand-new connection (full handshake, no resumption). */
    requests: w.requests,
    sizeBytes: w.size ?? WORKLOAD_DEFAULTS.cold.sizeBytes,
    /** Connections being set up at once. */
    concurrency: w.concurrency,
    timeoutMs: w.timeout ?? WORKLOAD_DEFAULTS.cold.timeoutMs,
    allowedFailures: w.allowedFailures,
    ...serverCpu(w),
  }));

const rpc = z
  .object({
    type: z.literal('rpc'),
    rate: z.number().positive().max(100_000).default(WORKLOAD_DEFAULTS.rpc.rate),
    duration: timeout().optional(),
    size: body().optional(),
    connections: count(1).max(256).default(WORKLOAD_DEFAULTS.rpc.connections),
    maxInFlight: count(1).max(100_000).default(WORKLOAD_DEFAULTS.rpc.maxInFlight),
    ...common,
  })
  .strict()
  .transform((w) => ({
    type: w.type,
    /** Mean arrival rate, requests per second (Poisson arrivals, seeded). */
    rate: w.rate,
    /** How long requests keep arriving, ms. */
    durationMs: w.duration ?? WORKLOAD_DEFAULTS.rpc.durationMs,
    sizeBytes: w.size ?? WORKLOAD_DEFAULTS.rpc.sizeBytes,
    /** HTTP/1.1 only: keep-alive connections. */
    connections: w.connections,
    /** Arrivals beyond this many outstanding requests are sent anyway but counted (`overloaded`). */
    maxInFlight: w.maxInFlight,
    timeoutMs: w.timeout ?? WORKLOAD_DEFAULTS.rpc.timeoutMs,
    allowedFailures: w.allowedFailures,
    ...serverCpu(w),
  }));

const SCHEMAS = { multiplex, 'page-load': pageLoad, bulk, cold, rpc } as const;

export type MultiplexWorkload = z.output<typeof multiplex>;
export type PageLoadWorkload = z.output<typeof pageLoad>;
export type BulkWorkload = z.output<typeof bulk>;
export type ColdWorkload = z.output<typeof cold>;
export type RpcWorkload = z.output<typeof rpc>;
export type Workload = MultiplexWorkload | PageLoadWorkload | BulkWorkload | ColdWorkload | RpcWorkload;

/** Picks the schema from `type`, so errors are about the workload the user meant. */
export const workloadSchema = z.unknown().transform((value, ctx): Workload => {
  const type: unknown =
    value !== null && typeof value === 'object' ? (value as { type?: unknown }).type : undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    ctx.addIssue({ code: 'invalid_type', expected: 'object', input: value });
    return z.NEVER;
  }
  if (typeof type !== 'string' || !(type in SCHEMAS)) {
    ctx.addIssue({ code: 'invalid_value', values: [...WORKLOAD_TYPES], input: type, path: ['type'] });
    return z.NEVER;
  }
  const r = SCHEMAS[type as WorkloadType].safeParse(value);
  if (!r.success) {
    for (const issue of r.error.issues) ctx.addIssue({ ...issue });
    return z.NEVER;
  }
  return r.data;
});

/** HTTP/1.1 keep-alive connections the workload asks for (1 where it does not say). */
export function h1Connections(w: Workload): number {
  return 'connections' in w ? w.connections : 1;
}

/** One line describing a workload, for reports and progress output. */
export function describeWorkload(w: Workload): string {
  switch (w.type) {
    case 'multiplex':
      return `multiplex: ${w.requests} requests of ${w.sizeBytes} B, ${w.concurrency} in flight (h1: ${w.connections} connections)`;
    case 'page-load':
      return `page-load: ${w.page !== undefined ? `page ${w.page}, ` : ''}${w.documentBytes} B document, then ${wavesByDepth(
        w,
      )
        .map((depth) => depth.map((x) => `${x.count} × ${x.sizeBytes} B ${x.type}`).join(' + '))
        .join(', then ')} (h1: ${w.connections} connections)`;
    case 'bulk':
      return `bulk: one ${w.sizeBytes} B body`;
    case 'cold':
      return `cold: ${w.requests} requests of ${w.sizeBytes} B, each on a new connection, ${w.concurrency} at a time`;
    case 'rpc':
      return `rpc: Poisson arrivals at ${w.rate}/s for ${w.durationMs} ms, ${w.sizeBytes} B responses, latency from the intended send time (h1: ${w.connections} connections)`;
  }
}

/**
 * The body sizes a workload requests as `/bytes/<n>` (page-load: none, it requests its page), so a
 * server of pre-generated files can have exactly those.
 */
export function responseSizes(w: Workload): number[] {
  switch (w.type) {
    case 'multiplex':
    case 'cold':
    case 'bulk':
    case 'rpc':
      return [w.sizeBytes];
    case 'page-load':
      return [];
  }
}

/** The page a workload loads (page-load), or null. */
export function pageOf(w: Workload): PageSpec | null {
  return w.type === 'page-load' ? { documentBytes: w.documentBytes, waves: w.waves } : null;
}
