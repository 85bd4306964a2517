/**
 * Child process: one protocol client running the workload. argv[2] = ClientConfig JSON file. Writes
 * a ClientReport to cfg.reportFile and exits 0; exits 1 with a message on stderr if it could not run,
 * and at once when the orchestrator is gone (stdin EOF, re-parented), so it never outlives a killed
 * run. With `clientStack: chromium` a headless Chromium loads the workload's page instead of
 * h3bench's client (harness/workload/chromium.ts); the browser is closed and its profile removed on
 * every way out.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { createClient, loadEngine } from '../proto/session.js';
import type { ClientReport } from '../model/records.js';
import type { ProtocolClient } from '../proto/types.js';
import {
  COMPLETE_MARK,
  COMPLETE_STATE,
  DOCUMENT_PATH,
  ERRORS_DATASET_KEY,
  STATE_DATASET_KEY,
  pageFiles,
} from '../proto/pages.js';
import { h1Connections, pageOf } from '../scenario/workload.js';
import { runWorkload } from '../workload/index.js';
import {
  browserReport,
  clockTicksPerSecond,
  loadPage,
  openChromium,
  treeCpu,
  type PageUnderTest,
} from '../workload/chromium.js';
import { cpuSince } from './cpu.js';
import type { ClientConfig } from '../model/messages.js';
import { watchParent } from '../../core/parent.js';

/** Resources listed in the error of a run whose browser used another protocol. */
const WRONG_PROTOCOL_LISTED = 10;

async function main(): Promise<void> {
  const file = process.argv[2];
  if (file === undefined) throw new Error('usage: client-main CONFIG.json');
  const cfg = JSON.parse(readFileSync(file, 'utf8')) as ClientConfig;
  const report = cfg.clientStack === 'chromium' ? await browserRun(cfg) : await h3benchRun(cfg);
  writeFileSync(cfg.reportFile, JSON.stringify(report));
}

/** h3bench's own protocol client runs the workload. */
async function h3benchRun(cfg: ClientConfig): Promise<ClientReport> {
  // Engine code (and quiche's native binding) loads before t0 and before CPU accounting starts.
  await loadEngine(cfg.protocol, cfg.h3Stack);
  const t0 = performance.now();
  const t0EpochMs = Date.now();
  const t0MonotonicNs = process.hrtime.bigint().toString();
  const now = () => performance.now() - t0;
  const cpu0 = process.cpuUsage();
  // Every client the workload opens, for the telemetry of their connections (closed ones included).
  const clients: ProtocolClient[] = [];
  const outcome = await runWorkload(cfg.workload, {
    newClient: async () => {
      const client = await createClient(
        cfg.protocol,
        {
          host: cfg.host,
          port: cfg.port,
          serverName: cfg.serverName,
          caPem: cfg.caPem,
          transport: cfg.transport,
          connections: h1Connections(cfg.workload),
          now,
          qlogDir: cfg.qlogDir ?? undefined,
        },
        cfg.h3Stack,
      );
      clients.push(client);
      return client;
    },
    now,
    seed: cfg.seed,
  });
  const telemetry = clients.flatMap((c) => c.telemetry?.() ?? []);
  const report: ClientReport = {
    protocol: cfg.protocol,
    t0EpochMs,
    t0MonotonicNs,
    durationMs: outcome.durationMs,
    connections: outcome.connections,
    requests: outcome.requests,
    cpu: cpuSince(cpu0, t0),
    metrics: outcome.metrics,
    settings: outcome.clientSettings,
    ...(telemetry.length > 0 ? { telemetry } : {}),
  };
  return report;
}

/**
 * A headless Chromium loads the workload's page over cfg.protocol. The browser starts, and opens a
 * blank page, before t0 (as engine code loads before t0 for our clients); t0 is taken just before
 * the navigation is sent. CPU = this process's plus the browser's process tree (/proc), both from t0
 * until the page's timeline was read (after completion: its first contentful paint, if later, and
 * two frames).
 */
async function browserRun(cfg: ClientConfig): Promise<ClientReport> {
  const spec = pageOf(cfg.workload);
  if (spec === null || cfg.workload.type !== 'page-load') {
    throw new Error(
      `stacks.client chromium loads pages: workload.type must be page-load, not ${cfg.workload.type}`,
    );
  }
  const page: PageUnderTest = {
    documentPath: DOCUMENT_PATH,
    files: pageFiles(spec),
    completeMark: COMPLETE_MARK,
    stateKey: STATE_DATASET_KEY,
    completeState: COMPLETE_STATE,
    errorsKey: ERRORS_DATASET_KEY,
  };
  const session = await openChromium(
    {
      protocol: cfg.protocol,
      serverAddress: cfg.host,
      port: cfg.port,
      serverName: cfg.serverName,
      certPem: cfg.certPem,
    },
    page,
    // In the run's work directory, which the orchestrator removes: a profile survives nothing,
    // not even this process killed with SIGKILL (its browser exits when the DevTools pipe closes).
    { profileParent: path.dirname(cfg.reportFile) },
  );
  try {
    const ticks = clockTicksPerSecond();
    const tree0 = treeCpu(session.proc);
    const t0 = performance.now();
    const t0EpochMs = Date.now();
    const t0MonotonicNs = process.hrtime.bigint();
    const cpu0 = process.cpuUsage();
    const recorded = await loadPage(session, page, cfg.workload.timeoutMs, {
      now: () => performance.now() - t0,
      t0MonotonicMs: Number(t0MonotonicNs) / 1e6,
      t0WallMs: performance.timeOrigin + t0,
    });
    const tree1 = treeCpu(session.proc);
    const own = cpuSince(cpu0, t0);
    const out = browserReport(recorded, page);
    if (out.wrongProtocol.length > 0) {
      const listed = out.wrongProtocol.slice(0, WRONG_PROTOCOL_LISTED).join(', ');
      const more =
        out.wrongProtocol.length > WRONG_PROTOCOL_LISTED
          ? ` and ${out.wrongProtocol.length - WRONG_PROTOCOL_LISTED} more`
          : '';
      throw new Error(
        `Chromium did not load everything over ${cfg.protocol}: ${out.wrongProtocol.length} of ${out.browser.resources.length} resources used another protocol: ${listed}${more}`,
      );
    }
    const browserUserMs = ((tree1.userTicks - tree0.userTicks) * 1000) / ticks;
    const browserSystemMs = ((tree1.systemTicks - tree0.systemTicks) * 1000) / ticks;
    return {
      protocol: cfg.protocol,
      t0EpochMs,
      t0MonotonicNs: t0MonotonicNs.toString(),
      durationMs: out.durationMs,
      connections: out.connections,
      requests: out.requests,
      cpu: {
        userMs: own.userMs + browserUserMs,
        systemMs: own.systemMs + browserSystemMs,
        wallMs: own.wallMs,
      },
      metrics: out.metrics,
      settings: out.settings,
      browser: {
        ...out.browser,
        cpu: {
          source: `this client process (process.cpuUsage) plus the browser's process tree: /proc/<pid>/stat utime+stime (and cutime+cstime of the children they reaped) of the browser and every descendant, at t0 and once the page's timeline was read, in ticks of ${1000 / ticks} ms; a process that exits unreaped in between loses its share`,
          browserUserMs,
          browserSystemMs,
          processes: tree1.processes,
          cores: availableParallelism(),
        },
      },
    };
  } finally {
    await session.proc.close();
  }
}

let finished = false;
// If every handle closes while a request promise is still pending, Node would exit 0 silently.
process.on('beforeExit', () => {
  if (!finished) {
    process.stderr.write('client failed: the event loop emptied before the workload finished\n');
    process.exit(1);
  }
});

watchParent((why) => {
  process.stderr.write(`client exiting: ${why}\n`);
  process.exit(1);
});

main().then(
  () => {
    finished = true;
    process.exit(0);
  },
  (err: unknown) => {
    // The message last: the orchestrator quotes the last lines of stderr.
    if (err instanceof Error && err.stack !== undefined) process.stderr.write(`${err.stack}\n`);
    process.stderr.write(`client failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
