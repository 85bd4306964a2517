/**
 * Child process: one protocol server. argv[2] = ServerConfig JSON file. Prints ServerEvent lines;
 * stops with a report on "stop" (stdin) or SIGTERM/SIGINT, and exits at once when the orchestrator
 * is gone (stdin EOF, re-parented), so it never outlives a killed run.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createServer } from '../proto/session.js';
import { cpuSince } from './cpu.js';
import { watchParent } from '../../core/parent.js';
import type { ServerConfig, ServerEvent } from '../model/messages.js';

function emit(ev: ServerEvent): void {
  process.stdout.write(JSON.stringify(ev) + '\n');
}

async function main(): Promise<void> {
  const file = process.argv[2];
  if (file === undefined) throw new Error('usage: server-main CONFIG.json');
  const cfg = JSON.parse(readFileSync(file, 'utf8')) as ServerConfig;
  const server = await createServer(
    cfg.protocol,
    {
      host: cfg.host,
      port: cfg.port,
      certPem: cfg.certPem,
      keyPem: cfg.keyPem,
      transport: cfg.transport,
      scheduling: cfg.scheduling,
      qlogDir: cfg.qlogDir ?? undefined,
      page: cfg.page,
      bodySizes: cfg.bodySizes,
    },
    cfg.h3Stack,
    cfg.serverStack,
  );
  const port = await server.listen();
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  emit({ event: 'ready', port });
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    const cpu = cpuSince(cpu0, wall0);
    await server.close();
    const telemetry = server.telemetry?.();
    emit({
      event: 'stopped',
      report: {
        protocol: cfg.protocol,
        cpu,
        requests: server.requestsServed(),
        settings: server.settings(),
        ...(telemetry === undefined ? {} : { telemetry }),
      },
    });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line.trim() === 'stop') void stop();
  });
}

// Nobody reads a report any more: end now, not after a graceful close that may wait on connections.
watchParent((why) => {
  process.stderr.write(`server exiting: ${why}\n`);
  process.exit(1);
});

main().catch((err: unknown) => {
  emit({ event: 'error', message: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
