/**
 * Child process: one protocol client running the workload. argv[2] = ClientConfig JSON file. Writes
 * a ClientReport to cfg.reportFile and exits 0; exits 1 with a message on stderr if it could not run,
 * and at once when the orchestrator is gone (stdin EOF, re-parented), so it never outlives a killed
 * run.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createClient, loadEngine } from '../proto/session.js';
import type { ClientReport } from '../model/records.js';
import type { ProtocolClient } from '../proto/types.js';
import { h1Connections } from '../scenario/workload.js';
import { runWorkload } from '../workload/index.js';
import { cpuSince } from './cpu.js';
import type { ClientConfig } from '../model/messages.js';
import { watchParent } from '../../core/parent.js';

async function main(): Promise<void> {
  const file = process.argv[2];
  if (file === undefined) throw new Error('usage: client-main CONFIG.json');
  const cfg = JSON.parse(readFileSync(file, 'utf8')) as ClientConfig;
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
  writeFileSync(cfg.reportFile, JSON.stringify(report));
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
    process.stderr.write(
      `client failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
