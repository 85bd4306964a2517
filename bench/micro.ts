/**
 * Micro-benchmarks of the hot pure functions (tinybench, https://github.com/tinylibs/tinybench): the
 * HTTP/3 frame and varint codecs, QPACK and its Huffman code, the per-run analysis (timelines, HOL),
 * the result summary, the bootstrap intervals, the loss-response analysis and the attribution. Every
 * input is built from fixed seeds (core/prng.ts), so a codec or analysis regression shows as a
 * number that moved, not as a different workload.
 *
 *   npm run bench:micro [-- --time MS] [-- --filter SUBSTR]   (after `npx tsc -p tsconfig.json`)
 *
 * --time: time budget per task, ms (default 500; every task also makes at least MIN_ITERATIONS
 * calls). --filter: run only the tasks whose name contains SUBSTR (case-insensitive).
 *
 * Columns, from tinybench's latency samples (one per call): ops/s = 1 / mean latency (tinybench's own
 * throughput mean averages 1 / sample, which a few fast samples inflate well above it when GC pauses
 * stretch the tail), mean, its relative margin of error (±%, 95%), p50 and p99, the number of
 * samples, and ns/item, the mean divided by the items one call processes (values, packets, fields,
 * strings, requests... as the name says). No target:
 * the figures are for comparing two builds on one machine. Exit status 0, 1 if a task threw, 2 on
 * a bad argument.
 */
import { pathToFileURL } from 'node:url';
import { Bench } from 'tinybench';
import { prng } from '../core/prng.js';
import { medianCI, ratioCI, seedOf } from '../core/bootstrap.js';
import { pairedRatioCI } from '../core/paired.js';
import {
  encodeDataFrame,
  encodeDataFrameHeader,
  encodeHeadersFrame,
  FrameParser,
} from '../harness/proto/h3/frame.js';
import type { FrameEvent } from '../harness/proto/h3/frame.js';
import { readVarint, varintLengthOf, varintSize, writeVarint } from '../harness/proto/h3/varint.js';
import { decodeFieldSection, encodeFieldSection, type Header } from '../harness/proto/h3/qpack/qpack.js';
import { huffmanDecode, huffmanEncode } from '../harness/proto/h3/qpack/huffman.js';
import { analyzeRun, type RunInput } from '../harness/measure/analysis.js';
import { runTimeline } from '../harness/measure/events.js';
import { analyzeHol, holOptionsForRtt } from '../harness/measure/hol.js';
import { runInput, summarize } from '../harness/measure/result-summary.js';
import { runTransport } from '../harness/measure/telemetry.js';
import { attribution } from '../harness/measure/attribution.js';
import { parseScenario } from '../harness/scenario/load.js';
import type { ClientReport, ConnectionRecord, RequestRecord } from '../harness/model/records.js';
import type { RunRecord } from '../harness/model/result.js';
import type { TelemetrySeries } from '../harness/model/telemetry.js';
import type { Protocol, Scenario } from '../harness/scenario/schema.js';

/** Default time budget per task, ms. */
export const DEFAULT_TIME_MS = 500;
/** Minimum measured calls per task (the slow tasks take ~0.1-0.5 s a call). */
const MIN_ITERATIONS = 16;
const WARMUP_ITERATIONS = 2;

// ---------------------------------------------------------------------------------------------------
// Inputs (all seeded)
// ---------------------------------------------------------------------------------------------------

const enc = new TextEncoder();

/** A browser-like GET (Chrome-style header set; RFC 9114 § 4.3.1 pseudo-header fields first). */
export const REQUEST_HEADERS: readonly Header[] = [
  [':method', 'GET'],
  [':scheme', 'https'],
  [':authority', 'bench.h3bench.example:4433'],
  [':path', '/objects/0042/payload.bin?size=102400&seed=1234567'],
  [
    'user-agent',
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  ],
  ['accept', 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8'],
  ['accept-encoding', 'gzip, deflate, br'],
  ['accept-language', 'en-US,en;q=0.9'],
  ['cookie', 'session=5f2b7c1e9a4d4e0f8c3b2a1d0e9f8a7b; theme=dark; consent=1'],
  ['sec-fetch-mode', 'navigate'],
];

/** A typical 200 response to it. */
export const RESPONSE_HEADERS: readonly Header[] = [
  [':status', '200'],
  ['content-type', 'application/octet-stream'],
  ['content-length', '102400'],
  ['date', 'Wed, 01 Jan 2026 00:00:00 GMT'],
  ['cache-control', 'max-age=604800'],
  ['etag', '"33a64df551425fcc55e4d42a148795d9f25f89d4"'],
  ['server', 'h3bench/0.1.0'],
  ['x-request-id', '7b0c2f1e-4a5d-4c3b-9e8f-1a2b3c4d5e6f'],
];

/** 1024 varint values, a quarter of each encoded size (1, 2, 4, 8 bytes: RFC 9000 § 16). */
export function varintValues(seed = 1): number[] {
  const rand = prng(seed);
  const ranges = [64, 16384, 2 ** 30, Number.MAX_SAFE_INTEGER];
  return Array.from({ length: 1024 }, (_, i) => Math.floor(rand() * (ranges[i % 4] ?? 64)));
}

/** A response stream as HTTP/3 sends it: HEADERS, then `dataFrames` DATA frames of 16 KiB. */
export function responseStream(dataFrames = 64, seed = 2): Uint8Array {
  const rand = prng(seed);
  const payload = Uint8Array.from({ length: 16 * 1024 }, () => Math.floor(rand() * 256));
  const parts = [
    encodeHeadersFrame(encodeFieldSection(RESPONSE_HEADERS)),
    ...Array.from({ length: dataFrames }, () => encodeDataFrame(payload)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** `bytes` cut into pieces of `size` (views), as QUIC delivers stream data (~1200 B packets). */
export function cut(bytes: Uint8Array, size = 1200): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let off = 0; off < bytes.length; off += size) out.push(bytes.subarray(off, off + size));
  return out;
}

export const PATH_RTT_MS = 40;

/**
 * A synthetic client report: `requests` requests (one every 2 ms) each delivering `chunks` body
 * pieces of 1-16 KiB every 0-8 ms; with probability 2% a piece waits for a loss recovery (3-6 RTT,
 * a loss logged just before), as on a lossy path. h1 spreads the requests over 6 connections, h2 and
 * h3 multiplex them on one. Returns the report and the loss log.
 */
export function syntheticClient(
  protocol: Protocol,
  seed: number,
  requests = 1000,
  chunks = 20,
): { client: ClientReport; lossTimesMs: number[] } {
  const rand = prng(seed);
  const nConn = protocol === 'h1' ? 6 : 1;
  const losses: number[] = [];
  const reqs: RequestRecord[] = [];
  for (let id = 0; id < requests; id++) {
    const start = 2 * id;
    let t = start + PATH_RTT_MS + rand() * 10;
    const headers = t;
    const pieces: [number, number][] = [];
    let total = 0;
    for (let k = 0; k < chunks; k++) {
      if (rand() < 0.02) {
        losses.push(t + rand() * 2);
        t += PATH_RTT_MS * (3 + rand() * 3);
      } else {
        t += rand() * 8;
      }
      const b = 1024 + Math.floor(rand() * 15 * 1024);
      pieces.push([t, b]);
      total += b;
    }
    reqs.push({
      id,
      connection: id % nConn,
      stream: protocol === 'h1' ? null : id * 4,
      tIntended: start,
      tStart: start,
      tHeaders: headers,
      tEnd: t,
      status: 200,
      bytesExpected: total,
      bytes: total,
      error: null,
      timedOut: false,
      chunks: pieces,
    });
  }
  const connections: ConnectionRecord[] = Array.from({ length: nConn }, (_, id) => ({
    id,
    tStart: 0,
    tTcpConnected: protocol === 'h3' ? null : PATH_RTT_MS,
    tHandshakeDone: protocol === 'h3' ? PATH_RTT_MS : 2 * PATH_RTT_MS,
    alpn: protocol === 'h1' ? 'http/1.1' : protocol,
    tlsVersion: 'TLSv1.3',
    error: null,
    transport: null,
  }));
  const durationMs = Math.max(...reqs.map((r) => r.tEnd ?? 0));
  losses.sort((a, b) => a - b);
  return {
    client: {
      protocol,
      t0EpochMs: 1_700_000_000_000,
      durationMs,
      connections,
      requests: reqs,
      cpu: { userMs: 800, systemMs: 200, wallMs: durationMs },
      metrics: {},
      settings: {},
    },
    lossTimesMs: losses,
  };
}

/** A run record around a client report, on a 40 ms / 1% loss emulated path with a drop log. */
export function syntheticRun(
  index: number,
  repetition: number,
  client: ClientReport,
  lossTimesMs: number[],
  extra: Partial<RunRecord> = {},
): RunRecord {
  return {
    index,
    repetition,
    protocol: client.protocol,
    ok: true,
    error: null,
    client,
    server: {
      protocol: client.protocol,
      cpu: { userMs: 500, systemMs: 100, wallMs: client.durationMs },
      requests: client.requests.length,
      settings: {},
    },
    link: {
      provenance: {
        backend: 'linkem',
        warnings: [],
        fairness: { congestion: 'cubic', pacing: 'off', hystart: 'on' },
      },
      probe: {
        configuredRttMs: PATH_RTT_MS,
        measuredRttMs: { p50: PATH_RTT_MS, p99: PATH_RTT_MS + 2, samples: 10 },
        configuredLossPct: 1,
        measuredLossPct: 1,
        ok: true,
        notes: [],
      },
      counters: {},
      lossTimesMs,
    },
    ...extra,
  };
}

const scenarioYaml = (protocols: readonly Protocol[], repetitions: number) => `
name: micro
protocols: [${protocols.join(', ')}]
repetitions: ${repetitions}
seed: 3
network:
  backend: none
workload:
  type: multiplex
  requests: 1000
  size: 100KB
  concurrency: 100
`;

/** h1, h2 and h3 × 5 repetitions of the 1000 × 20 synthetic run (15 runs) and their scenario. */
export function syntheticResult(
  requests = 1000,
  chunks = 20,
): { runs: RunRecord[]; protocols: Protocol[]; scenario: Scenario } {
  const protocols: Protocol[] = ['h1', 'h2', 'h3'];
  const runs: RunRecord[] = [];
  for (let rep = 0; rep < 5; rep++) {
    for (const p of protocols) {
      const { client, lossTimesMs } = syntheticClient(p, seedOf('micro', p, rep), requests, chunks);
      runs.push(syntheticRun(runs.length, rep, client, lossTimesMs));
    }
  }
  return { runs, protocols, scenario: parseScenario(scenarioYaml(protocols, 5), 'micro.yaml') };
}

/**
 * One server-side TCP series of `samples` samples every 10 ms: a CUBIC-like window (β = 0.7, RFC
 * 9438 § 4.6) growing by ~1 MSS a sample and cut on 1% of the samples, spread over 1-3 samples as
 * Linux's PRR does (RFC 6937); smoothed RTT 40-50 ms; cumulative retransmissions.
 */
export function telemetrySeries(samples = 5000, seed = 4): TelemetrySeries {
  const rand = prng(seed);
  const mss = 1448;
  const t: number[] = [];
  const cwnd: number[] = [];
  const srtt: number[] = [];
  const retrans: number[] = [];
  let w = 10 * mss;
  let cutSteps = 0;
  let target = 0;
  let rx = 0;
  for (let i = 0; i < samples; i++) {
    t.push(10 * i);
    if (cutSteps > 0) {
      w = Math.max(2 * mss, Math.round(w - (w - target) / cutSteps));
      cutSteps--;
    } else if (rand() < 0.01) {
      target = Math.round(0.7 * w);
      cutSteps = 1 + Math.floor(rand() * 3);
      rx += 1 + Math.floor(rand() * 3);
    } else {
      w += Math.round(mss * (0.5 + rand()));
    }
    cwnd.push(w);
    srtt.push(PATH_RTT_MS + rand() * 10);
    retrans.push(rx);
  }
  return {
    side: 'server',
    transport: 'tcp',
    connection: '198.18.0.1:443 198.18.1.1:50000',
    source: 'synthetic',
    intervalMs: 10,
    t,
    cwndBytes: cwnd,
    srttMs: srtt,
    packetsRetransmitted: retrans,
  };
}

/** A run whose server reports one 5000-sample series, with downlink drop counters. */
export function telemetryRun(samples = 5000): RunRecord {
  const { client } = syntheticClient('h2', 5, 10, 2);
  const run = syntheticRun(0, 0, client, []);
  return {
    ...run,
    server: run.server ? { ...run.server, telemetry: [telemetrySeries(samples)] } : null,
    link: { ...run.link, counters: { dropReasons: { 'down loss': 60, 'up loss': 5 } } },
  };
}

/** A client report of a single-connection run completing at `completionMs` after `setupMs` of handshake. */
function timedClient(protocol: Protocol, completionMs: number, setupMs: number): ClientReport {
  return {
    protocol,
    t0EpochMs: 1_700_000_000_000,
    durationMs: completionMs,
    connections: [
      {
        id: 0,
        tStart: 0,
        tTcpConnected: null,
        tHandshakeDone: setupMs,
        alpn: protocol,
        tlsVersion: 'TLSv1.3',
        error: null,
        transport: null,
      },
    ],
    requests: [],
    cpu: { userMs: 1, systemMs: 1, wallMs: completionMs },
    metrics: {},
    settings: {},
  };
}

/** h2 and h3, 10 repetitions each of a workload run and an attribution control run (40 runs). */
export function attributionRuns(seed = 6): RunRecord[] {
  const rand = prng(seed);
  const runs: RunRecord[] = [];
  for (let rep = 0; rep < 10; rep++) {
    for (const [p, setup] of [
      ['h2', 2 * PATH_RTT_MS],
      ['h3', PATH_RTT_MS],
    ] as const) {
      const work = 1500 + rand() * 500;
      const ctl = 900 + rand() * 300;
      runs.push(syntheticRun(runs.length, rep, timedClient(p, work, setup), []));
      runs.push(syntheticRun(runs.length, rep, timedClient(p, ctl, setup), [], { control: true }));
    }
  }
  return runs;
}

/** 30 per-run values around `center` (log-normal-ish spread), as a metric over 30 repetitions. */
export function perRunValues(seed: number, center: number, n = 30): number[] {
  const rand = prng(seed);
  return Array.from({ length: n }, () => center * Math.exp((rand() + rand() + rand() - 1.5) * 0.3));
}

// ---------------------------------------------------------------------------------------------------
// Tasks
// ---------------------------------------------------------------------------------------------------

export interface MicroTask {
  name: string;
  /** Items one call processes (for ns/item). */
  items: number;
  /** Builds the inputs and returns the measured function (a checksum, so its work is observable). */
  make: () => () => number;
}

export function microTasks(): MicroTask[] {
  const values = varintValues();
  const streamChunks = cut(responseStream()).length;
  const huffStrings = [...REQUEST_HEADERS, ...RESPONSE_HEADERS].map(([, v]) => enc.encode(v));
  const huffBytes = huffStrings.reduce((n, b) => n + b.length, 0);
  return [
    {
      name: 'varint write ×1024 (1/2/4/8 B)',
      items: values.length,
      make: () => {
        const buf = new Uint8Array(values.reduce((n, v) => n + varintSize(v), 0));
        return () => {
          let off = 0;
          for (const v of values) off = writeVarint(buf, off, v);
          return off;
        };
      },
    },
    {
      name: 'varint read ×1024 (1/2/4/8 B)',
      items: values.length,
      make: () => {
        const buf = new Uint8Array(values.reduce((n, v) => n + varintSize(v), 0));
        let off = 0;
        for (const v of values) off = writeVarint(buf, off, v);
        return () => {
          let sum = 0;
          let o = 0;
          while (o < buf.length) {
            const len = varintLengthOf(buf[o] ?? 0);
            sum += readVarint(buf, o, len);
            o += len;
          }
          return sum;
        };
      },
    },
    {
      name: 'h3 DATA frame header encode ×1024',
      items: values.length,
      make: () => {
        const lengths = values.map((v) => v % (1 << 20));
        return () => {
          let n = 0;
          for (const l of lengths) n += encodeDataFrameHeader(l).length;
          return n;
        };
      },
    },
    {
      name: 'h3 DATA frame encode (16 KiB payload)',
      items: 1,
      make: () => {
        const payload = new Uint8Array(16 * 1024).fill(7);
        return () => encodeDataFrame(payload).length;
      },
    },
    {
      name: 'h3 HEADERS frame encode (response)',
      items: 1,
      make: () => {
        const section = encodeFieldSection(RESPONSE_HEADERS);
        return () => encodeHeadersFrame(section).length;
      },
    },
    {
      name: `h3 frame parse 1 MiB stream (${streamChunks} pkts)`,
      items: streamChunks,
      make: () => {
        const chunks = cut(responseStream());
        const out: FrameEvent[] = [];
        return () => {
          const parser = new FrameParser();
          let n = 0;
          for (const c of chunks) {
            out.length = 0;
            parser.push(c, out);
            n += out.length;
          }
          return n;
        };
      },
    },
    {
      name: 'qpack encode request (10 fields)',
      items: REQUEST_HEADERS.length,
      make: () => () => encodeFieldSection(REQUEST_HEADERS).length,
    },
    {
      name: 'qpack decode request (10 fields)',
      items: REQUEST_HEADERS.length,
      make: () => {
        const block = encodeFieldSection(REQUEST_HEADERS);
        return () => decodeFieldSection(block).length;
      },
    },
    {
      name: 'qpack encode response (8 fields)',
      items: RESPONSE_HEADERS.length,
      make: () => () => encodeFieldSection(RESPONSE_HEADERS).length,
    },
    {
      name: 'qpack decode response (8 fields)',
      items: RESPONSE_HEADERS.length,
      make: () => {
        const block = encodeFieldSection(RESPONSE_HEADERS);
        return () => decodeFieldSection(block).length;
      },
    },
    {
      name: `huffman encode 18 values (${huffBytes} B)`,
      items: huffStrings.length,
      make: () => () => {
        let n = 0;
        for (const b of huffStrings) n += huffmanEncode(b).length;
        return n;
      },
    },
    {
      name: `huffman decode 18 values (${huffBytes} B)`,
      items: huffStrings.length,
      make: () => {
        const coded = huffStrings.map((b) => huffmanEncode(b));
        return () => {
          let n = 0;
          for (const b of coded) n += huffmanDecode(b).length;
          return n;
        };
      },
    },
    {
      name: 'runTimeline 1000 req × 20 chunks',
      items: 1000,
      make: () => {
        const { client, lossTimesMs } = syntheticClient('h3', 7);
        return () => runTimeline(client, lossTimesMs).streams.length;
      },
    },
    {
      name: 'analyzeHol 1000 req × 20 chunks',
      items: 1000,
      make: () => {
        const { client, lossTimesMs } = syntheticClient('h3', 7);
        const tl = runTimeline(client, lossTimesMs);
        const opts = holOptionsForRtt(PATH_RTT_MS);
        return () => analyzeHol(tl, opts).stallCount;
      },
    },
    {
      name: 'analyzeRun 1000 req × 20 chunks',
      items: 1000,
      make: () => {
        const { client, lossTimesMs } = syntheticClient('h3', 7);
        const input: RunInput = runInput(syntheticRun(0, 0, client, lossTimesMs));
        return () => analyzeRun(input).metrics.requestsOk;
      },
    },
    {
      name: 'summarize 15 runs (h1/h2/h3 × 5)',
      items: 15,
      make: () => {
        const { runs, protocols, scenario } = syntheticResult();
        return () => summarize(protocols, runs, scenario).runs.length;
      },
    },
    {
      name: 'bootstrap medianCI 30 values × 2000',
      items: 1,
      make: () => {
        const v = perRunValues(8, 1000);
        return () => medianCI(v, { seed: 1 }).ci95?.[0] ?? 0;
      },
    },
    {
      name: 'bootstrap ratioCI 30 vs 30 × 2000',
      items: 1,
      make: () => {
        const a = perRunValues(9, 900);
        const b = perRunValues(10, 1000);
        return () => ratioCI(a, b, { seed: 1 }).ci95?.[0] ?? 0;
      },
    },
    {
      name: 'pairedRatioCI 30 pairs',
      items: 1,
      make: () => {
        const a = perRunValues(9, 900);
        const b = perRunValues(10, 1000);
        const pairs = a.map((x, i) => [x, b[i] ?? null] as const);
        return () => pairedRatioCI(pairs)?.ci95?.[0] ?? 0;
      },
    },
    {
      name: 'runTransport 5000 telemetry samples',
      items: 5000,
      make: () => {
        const run = telemetryRun();
        return () => runTransport(run, PATH_RTT_MS).congestionEvents ?? 0;
      },
    },
    {
      name: 'attribution h3/h2 × 10 repetitions',
      items: 10,
      make: () => {
        const runs = attributionRuns();
        return () => attribution(runs, ['h2', 'h3'])?.[0]?.pairs ?? 0;
      },
    },
  ];
}

// ---------------------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------------------

export interface MicroArgs {
  timeMs: number;
  filter: string | null;
}

/** Parses `--time MS` and `--filter SUBSTR`; throws on anything else. */
export function parseArgs(argv: readonly string[]): MicroArgs {
  const out: MicroArgs = { timeMs: DEFAULT_TIME_MS, filter: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = argv[i + 1];
    if (a === '--time') {
      const ms = Number(value);
      if (value === undefined || !Number.isFinite(ms) || ms <= 0 || ms > 60_000) {
        throw new Error('--time must be a number of ms in (0, 60000]');
      }
      out.timeMs = ms;
      i++;
    } else if (a === '--filter') {
      if (value === undefined || value === '') throw new Error('--filter needs a substring');
      out.filter = value;
      i++;
    } else {
      throw new Error(`unknown argument ${String(a)} (usage: --time MS --filter SUBSTR)`);
    }
  }
  return out;
}

/** The tasks a filter selects (case-insensitive substring of the name; null: all). */
export function selectTasks(tasks: readonly MicroTask[], filter: string | null): MicroTask[] {
  const f = filter?.toLowerCase() ?? null;
  return tasks.filter((t) => f === null || t.name.toLowerCase().includes(f));
}

/** A number with about 3 significant digits, thousands separated. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return '-';
  const digits = Math.abs(x) >= 100 ? 0 : Math.abs(x) >= 10 ? 1 : Math.abs(x) >= 1 ? 2 : 3;
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

let sink = 0;

async function main(): Promise<number> {
  let args: MicroArgs;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`bench/micro: ${(err as Error).message}`);
    return 2;
  }
  const selected = selectTasks(microTasks(), args.filter);
  if (selected.length === 0) {
    console.error(`bench/micro: no task matches --filter ${args.filter ?? ''}`);
    return 2;
  }
  const bench = new Bench({
    name: 'h3bench micro',
    time: args.timeMs,
    iterations: MIN_ITERATIONS,
    warmupTime: Math.min(250, args.timeMs),
    warmupIterations: WARMUP_ITERATIONS,
  });
  const items = new Map<string, number>();
  for (const t of selected) {
    const fn = t.make();
    items.set(t.name, t.items);
    bench.add(
      t.name,
      () => {
        sink += fn();
      },
      { async: false },
    );
  }
  console.log(
    `h3bench micro-benchmarks: node ${process.version}, tinybench, ${args.timeMs} ms per task, ${selected.length} tasks\n`,
  );
  const t0 = performance.now();
  await bench.run();
  const header = ['task', 'ops/s', 'mean µs', '±%', 'p50 µs', 'p99 µs', 'samples', 'ns/item'];
  const width = Math.max(...selected.map((t) => t.name.length), 4);
  const row = (cells: string[]) =>
    cells.map((c, k) => (k === 0 ? c.padEnd(width) : c.padStart(k === 3 ? 6 : 11))).join(' ');
  console.log(row(header));
  let failed = 0;
  for (const task of bench.tasks) {
    const r = task.result;
    if (r.state !== 'completed') {
      failed++;
      const why = r.state === 'errored' ? r.error.message : r.state;
      console.log(row([task.name, `FAILED: ${why}`]));
      continue;
    }
    const meanUs = r.latency.mean * 1000;
    console.log(
      row([
        task.name,
        fmt(1e6 / meanUs),
        fmt(meanUs),
        r.latency.rme.toFixed(1),
        fmt(r.latency.p50 * 1000),
        fmt(r.latency.p99 * 1000),
        String(r.latency.samplesCount),
        fmt((meanUs * 1000) / (items.get(task.name) ?? 1)),
      ]),
    );
  }
  console.log(`\n${((performance.now() - t0) / 1000).toFixed(1)} s (checksum ${sink % 1000})`);
  return failed === 0 ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
