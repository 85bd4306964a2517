/**
 * Engine benchmark: HTTP/1.1, HTTP/2 and HTTP/3 side by side on unimpaired loopback, server and
 * client in separate processes (the harness's own server-main / client-main), interleaved, with
 * repetitions; medians are reported.
 *
 *   node dist/bench/engines.js [--reps N] [--engines h1,h2,h3@quiche-0.18,h3@quiche-0.29]
 *                              [--cases 1x50MB,...] [--no-rate] [--json FILE]
 *
 * Engines: `h1` and `h2` (Node), `h3@<stack>` for each HTTP/3 engine (`stacks.h3`); `h3` alone is
 * the default stack. `--protocols h1,h2,h3` is accepted as before.
 *
 * Cases:
 *   1x50MB        one 50 MB body: transfer rate (body bytes / request time, MB/s)
 *   100x100KB     100 concurrent 100 KB requests: time for all of them
 *   100Mbit 50MB  one 50 MB body through a 100 Mbit/s token bucket (tbf on the loopback of a
 *                 private network namespace; needs root, skipped otherwise): CPU share at that rate
 *
 * CPU is user+system seconds of each process over the run (client: from before connecting to the
 * end of the workload; server: from ready to stop). "CPU/GB" normalises by body bytes; × 12.5 MB/s
 * it estimates the core share at 100 Mbit/s, next to the measured rate-limited case.
 */
import { pageOf, responseSizes } from '../harness/scenario/workload.js';
import { execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { ServerReport } from '../harness/model/records.js';
import { SERVER_NAME, generateTlsMaterial, type TlsMaterial } from '../harness/proto/tls.js';
import { launch } from '../harness/runner/launcher.js';
import type { ClientConfig, ServerConfig } from '../harness/model/messages.js';
import {
  killAndWait,
  lastLines,
  readClientReport,
  serverEvents,
  waitExit,
} from '../harness/runner/children.js';
import { parseScenario } from '../harness/scenario/load.js';
import {
  H3_STACKS,
  SCENARIO_DEFAULTS,
  type H3Stack,
  type Protocol,
  type Scenario,
} from '../harness/scenario/schema.js';

const execFileP = promisify(execFile);

interface Case {
  name: string;
  requests: number;
  sizeBytes: number;
  concurrency: number;
  /** Run inside the rate-limited namespace. */
  rateLimited: boolean;
}

const CASES: Case[] = [
  { name: '1x50MB', requests: 1, sizeBytes: 50_000_000, concurrency: 1, rateLimited: false },
  { name: '100x100KB', requests: 100, sizeBytes: 100_000, concurrency: 100, rateLimited: false },
  { name: '100Mbit 50MB', requests: 1, sizeBytes: 50_000_000, concurrency: 1, rateLimited: true },
];

const RATE_MBIT = 100;
/** How long a server may take to report ready, or to stop and report. */
const SERVER_TIMEOUT_MS = 20_000;
/** How long one client may run. */
const CLIENT_TIMEOUT_MS = 600_000;
const NETNS = `h3b-bench-${process.pid}`;

/** One engine under test: a protocol, and for h3 which HTTP/3 stack. */
interface Engine {
  /** "h1", "h2", "h3@quiche-0.18"... */
  label: string;
  protocol: Protocol;
  h3Stack: H3Stack;
}

function engineOf(label: string): Engine {
  const [protocol, stack] = label.split('@');
  if (protocol !== 'h1' && protocol !== 'h2' && protocol !== 'h3') {
    throw new Error(`--engines: unknown protocol in "${label}" (h1, h2, h3@<stack>)`);
  }
  const h3Stack = (stack ?? SCENARIO_DEFAULTS.stacks.h3) as H3Stack;
  if (!H3_STACKS.includes(h3Stack) || (stack !== undefined && protocol !== 'h3')) {
    throw new Error(`--engines: unknown engine "${label}" (stacks: ${H3_STACKS.join(', ')}, for h3 only)`);
  }
  return { label: protocol === 'h3' ? `h3@${h3Stack}` : protocol, protocol, h3Stack };
}

interface Sample {
  engine: string;
  protocol: Protocol;
  case: string;
  rep: number;
  ok: boolean;
  error: string | null;
  /** Body bytes received. */
  bytes: number;
  /** First request start to last request end, ms. */
  durationMs: number;
  /**
   * Transfer rate: bytes / durationMs, MB/s (10^6 bytes). Not the harness's goodput (`goodputMbit`,
   * Mbit/s from the start of the client's workload): an engine figure of its own.
   */
  transferMBps: number;
  clientCpuS: number;
  serverCpuS: number;
  /** Client wall time the CPU was measured over, s. */
  clientWallS: number;
}

function args(): {
  reps: number;
  engines: Engine[];
  cases: string[] | null;
  rate: boolean;
  json: string | null;
} {
  const a = process.argv.slice(2);
  const val = (flag: string) => {
    const i = a.indexOf(flag);
    return i >= 0 ? a[i + 1] : undefined;
  };
  const reps = Number(val('--reps') ?? 3);
  if (!Number.isInteger(reps) || reps < 1) throw new Error('--reps: expected an integer >= 1');
  const list =
    val('--engines') ?? val('--protocols') ?? ['h1', 'h2', ...H3_STACKS.map((x) => `h3@${x}`)].join(',');
  const engines = list.split(',').map(engineOf);
  const cases = val('--cases')?.split(',') ?? null;
  for (const c of cases ?? []) {
    if (!CASES.some((k) => k.name === c)) {
      throw new Error(`--cases: unknown "${c}" (known: ${CASES.map((k) => k.name).join(', ')})`);
    }
  }
  return { reps, engines, cases, rate: !a.includes('--no-rate'), json: val('--json') ?? null };
}

function scenarioFor(c: Case, e: Engine): Scenario {
  return parseScenario(
    [
      'name: bench-engines',
      `stacks: {h3: ${e.h3Stack}}`,
      'workload:',
      '  type: multiplex',
      `  requests: ${c.requests}`,
      `  size: ${c.sizeBytes}`,
      `  concurrency: ${c.concurrency}`,
      '  timeout: 120s',
    ].join('\n'),
    'bench-engines.yaml',
  );
}

async function runOne(
  dir: string,
  tls: TlsMaterial,
  e: Engine,
  c: Case,
  rep: number,
  netns: string | null,
): Promise<Sample> {
  const s = scenarioFor(c, e);
  const protocol = e.protocol;
  const sample: Sample = {
    engine: e.label,
    protocol,
    case: c.name,
    rep,
    ok: false,
    error: null,
    bytes: 0,
    durationMs: NaN,
    transferMBps: NaN,
    clientCpuS: NaN,
    serverCpuS: NaN,
    clientWallS: NaN,
  };
  const serverCfg: ServerConfig = {
    protocol,
    host: '127.0.0.1',
    port: 0,
    certPem: tls.certPem,
    keyPem: tls.keyPem,
    transport: s.transport,
    scheduling: s.server.scheduling ?? SCENARIO_DEFAULTS.server.scheduling,
    qlogDir: null,
    h3Stack: s.stacks.h3,
    serverStack: s.stacks.server,
    page: pageOf(s.workload),
    bodySizes: responseSizes(s.workload),
  };
  const tag = `${e.label.replace(/\W+/g, '_')}-${c.name.replace(/\W+/g, '_')}-${rep}`;
  const serverFile = path.join(dir, `server-${tag}.json`);
  await writeFile(serverFile, JSON.stringify(serverCfg), { mode: 0o600 });
  const server = launch({ module: 'harness/runner/server-main.js', args: [serverFile], netns });
  let client: ChildProcess | undefined;
  try {
    const events = serverEvents(server, `${protocol} server`);
    const ready = await events.next(SERVER_TIMEOUT_MS);
    if (ready.event !== 'ready') throw new Error(`server did not start: ${JSON.stringify(ready)}`);
    const reportFile = path.join(dir, `client-${tag}.report.json`);
    const clientCfg: ClientConfig = {
      protocol,
      host: '127.0.0.1',
      port: ready.port,
      serverName: SERVER_NAME,
      caPem: tls.caPem,
      certPem: tls.certPem,
      transport: s.transport,
      workload: s.workload,
      seed: 1,
      qlogDir: null,
      h3Stack: s.stacks.h3,
      clientStack: s.stacks.client,
      reportFile,
    };
    const clientFile = path.join(dir, `client-${tag}.json`);
    await writeFile(clientFile, JSON.stringify(clientCfg));
    client = launch({ module: 'harness/runner/client-main.js', args: [clientFile], netns });
    const exit = await waitExit(client, CLIENT_TIMEOUT_MS);
    if (exit.code !== 0) {
      throw new Error(
        `client exited with ${exit.signal ?? String(exit.code)}: ${lastLines(exit.stderr, 10)}`,
      );
    }
    const report = await readClientReport(reportFile, `${protocol} client`);
    server.stdin?.write('stop\n');
    const stopped = await events.next(SERVER_TIMEOUT_MS);
    if (stopped.event === 'stopped') {
      const r: ServerReport = stopped.report;
      sample.serverCpuS = (r.cpu.userMs + r.cpu.systemMs) / 1000;
    }
    const reqs = report.requests;
    const failed = reqs.filter((r) => r.error !== null);
    sample.bytes = reqs.reduce((a, r) => a + r.bytes, 0);
    const start = Math.min(...reqs.map((r) => r.tStart));
    const end = Math.max(...reqs.map((r) => r.tEnd ?? NaN));
    sample.durationMs = end - start;
    sample.transferMBps = sample.bytes / sample.durationMs / 1000;
    sample.clientCpuS = (report.cpu.userMs + report.cpu.systemMs) / 1000;
    sample.clientWallS = report.cpu.wallMs / 1000;
    sample.ok = failed.length === 0;
    sample.error = failed[0]?.error ?? null;
  } catch (err) {
    sample.error = err instanceof Error ? err.message : String(err);
  } finally {
    await killAndWait(server);
    await killAndWait(client);
  }
  return sample;
}

async function rateLimitedNetns(): Promise<string | null> {
  if (process.getuid?.() !== 0) return null;
  try {
    await execFileP('ip', ['netns', 'add', NETNS]);
    // MTU 1500 as on the emulated links (loopback's 64 KiB would let TCP send 64 KiB segments).
    await execFileP('ip', ['-n', NETNS, 'link', 'set', 'lo', 'mtu', '1500', 'up']);
    await execFileP('tc', [
      '-n',
      NETNS,
      'qdisc',
      'add',
      'dev',
      'lo',
      'root',
      'tbf',
      'rate',
      `${RATE_MBIT}mbit`,
      'burst',
      '32kb',
      'latency',
      '50ms',
    ]);
    // The same TCP settings the harness applies per namespace (link/sysctl.ts): no metrics cache, no
    // slow start after idle, write buffers large enough not to cap TCP.
    for (const [k, v] of [
      ['net.ipv4.tcp_no_metrics_save', '1'],
      ['net.ipv4.tcp_slow_start_after_idle', '0'],
      ['net.ipv4.tcp_wmem', '4096 65536 33554432'],
      ['net.ipv4.tcp_rmem', '4096 131072 33554432'],
    ] as const) {
      await execFileP('ip', ['netns', 'exec', NETNS, 'sysctl', '-q', '-w', `${k}=${v}`]).catch(
        () => undefined,
      );
    }
    return NETNS;
  } catch (err) {
    process.stderr.write(`rate-limited case skipped: ${err instanceof Error ? err.message : String(err)}\n`);
    await execFileP('ip', ['netns', 'del', NETNS]).catch(() => undefined);
    return null;
  }
}

function median(xs: number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] ?? NaN) : ((s[m - 1] ?? NaN) + (s[m] ?? NaN)) / 2;
}

function fmt(x: number, digits = 1): string {
  return Number.isFinite(x) ? x.toFixed(digits) : '-';
}

function table(samples: Sample[], engines: Engine[]): string {
  const rows: string[][] = [
    [
      'case',
      'engine',
      'ok/runs',
      'time ms',
      'MB/s',
      'client CPU s',
      'server CPU s',
      'client CPU s/GB',
      'server CPU s/GB',
      'client core@100Mbit',
      'server core@100Mbit',
    ],
  ];
  const med = new Map<string, { mbps: number; ms: number }>();
  for (const c of CASES) {
    for (const { label: p } of engines) {
      const ss = samples.filter((s) => s.case === c.name && s.engine === p);
      if (ss.length === 0) continue;
      const ok = ss.filter((s) => s.ok);
      const gb = median(ok.map((s) => s.bytes)) / 1e9;
      const cCpu = median(ok.map((s) => s.clientCpuS));
      const sCpu = median(ok.map((s) => s.serverCpuS));
      const ms = median(ok.map((s) => s.durationMs));
      const mbps = median(ok.map((s) => s.transferMBps));
      med.set(`${c.name}/${p}`, { mbps, ms });
      // Measured share of a core over the transfer when rate-limited; an estimate otherwise.
      const share = (cpu: number) =>
        c.rateLimited ? cpu / (ms / 1000) : (cpu / gb) * ((RATE_MBIT * 1e6) / 8 / 1e9);
      rows.push([
        c.name,
        p,
        `${ok.length}/${ss.length}`,
        fmt(ms, 0),
        fmt(mbps),
        fmt(cCpu, 2),
        fmt(sCpu, 2),
        fmt(cCpu / gb, 1),
        fmt(sCpu / gb, 1),
        `${fmt(share(cCpu), 2)}${c.rateLimited ? '' : ' (est.)'}`,
        `${fmt(share(sCpu), 2)}${c.rateLimited ? '' : ' (est.)'}`,
      ]);
    }
  }
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  const line = (r: string[]) => r.map((v, i) => v.padEnd(widths[i] ?? 0)).join('  ');
  const out = [line(rows[0] ?? []), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)];
  out.push('');
  for (const c of CASES) {
    const h2 = med.get(`${c.name}/h2`);
    for (const e of engines.filter((x) => x.protocol === 'h3')) {
      const h3 = med.get(`${c.name}/${e.label}`);
      if (h3 && h2)
        out.push(
          `${e.label}/h2 ${c.name}: transfer rate ${fmt(h3.mbps / h2.mbps, 2)}x, time ${fmt(h3.ms / h2.ms, 2)}x`,
        );
    }
  }
  return out.join('\n');
}

async function main(): Promise<void> {
  const opts = args();
  const tls = generateTlsMaterial();
  const dir = await mkdtemp(path.join(tmpdir(), 'h3bench-engines-'));
  const cases = CASES.filter((c) => opts.cases === null || opts.cases.includes(c.name));
  const wantRate = opts.rate && cases.some((c) => c.rateLimited);
  const netns = wantRate ? await rateLimitedNetns() : null;
  const load0 = loadavg();
  const samples: Sample[] = [];
  const cleanup = async () => {
    if (netns !== null) await execFileP('ip', ['netns', 'del', netns]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => {
    void cleanup().then(() => process.exit(130));
  });
  try {
    for (let rep = 0; rep < opts.reps; rep++) {
      for (const c of cases) {
        if (c.rateLimited && netns === null) continue;
        // Interleave, rotating which engine goes first.
        const order = opts.engines.map((_, i) => opts.engines[(i + rep) % opts.engines.length] as Engine);
        for (const e of order) {
          const s = await runOne(dir, tls, e, c, rep, c.rateLimited ? netns : null);
          samples.push(s);
          process.stderr.write(
            `rep ${rep + 1}/${opts.reps} ${c.name} ${e.label}: ${s.ok ? `${fmt(s.durationMs, 0)} ms, ${fmt(s.transferMBps)} MB/s, cpu client ${fmt(s.clientCpuS, 2)} s server ${fmt(s.serverCpuS, 2)} s` : `FAILED ${s.error ?? ''}`}\n`,
          );
        }
      }
    }
  } finally {
    await cleanup();
  }
  const load1 = loadavg();
  process.stdout.write(
    `\nEngines on loopback, medians of ${opts.reps} repetitions (node ${process.version}, ${cpus().length} cores; ` +
      `1-min load average ${load0[0]?.toFixed(2) ?? '?'} before, ${load1[0]?.toFixed(2) ?? '?'} after: other processes share the cores)\n\n`,
  );
  process.stdout.write(table(samples, opts.engines) + '\n');
  if (opts.json !== null) await writeFile(opts.json, JSON.stringify(samples, null, 2));
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
