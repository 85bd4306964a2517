/**
 * `stacks.server: caddy`: a ProtocolServer backed by one Caddy process (a production server: Go
 * net/http for HTTP/1.1 and HTTP/2, quic-go for HTTP/3) serving the run's protocol from files
 * written beforehand into a private temporary directory: every `/bytes/<n>` of the run and the
 * generated page, byte for byte what h3bench's own handler serves (config.ts, files.ts). What Caddy
 * does not pin is in capabilities.ts; what it answers differently is `HANDLER_DIFFERENCES` below.
 */
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import type { JsonObject } from '../../../core/json.js';
import type { EngineSettings } from '../../model/records.js';
import type { Protocol } from '../../scenario/schema.js';
import { TLS_SETTINGS, TRANSPORT_OF, type ProtocolServer, type ServerOptions } from '../types.js';
import { caddyBinary, type CaddyBinary } from './binary.js';
import { CADDY_NOT_PINNABLE, ENGINE } from './capabilities.js';
import {
  CPU_REFUSAL,
  bytesFiles,
  caddyConfig,
  caddyLayout,
  caddyProtocols,
  pageServedFiles,
  type CaddyLayout,
  type ServedFile,
} from './config.js';
import { makeDir, sweepStaleDirs, writeServedFiles } from './files.js';
import { freePort, startCaddyProcess, waitTcp, type CaddyProcess } from './process.js';

/** How long Caddy may take to serve once started (it takes tens of ms). */
export const READY_TIMEOUT_MS = 10_000;
/** Caddy's grace period for open connections at shutdown. */
export const GRACE_MS = 1000;
/** SIGKILL this long after SIGTERM if Caddy has not exited. */
export const KILL_AFTER_MS = 5000;
/** Starts tried when the port Caddy was given was taken before it bound it (port 0 only). */
const PORT_ATTEMPTS = 3;

/** How Caddy's answers differ from h3bench's handler (handler.ts), recorded with its settings. */
export const HANDLER_DIFFERENCES: readonly string[] = [
  '/bytes/<n> exists only for the sizes of the run (written before Caddy starts): any other n is 404, not served (handler: any n up to 10 GB; a malformed n is 400)',
  `?cpu=<ms> is answered ${CPU_REFUSAL.status} without serving the file: Caddy cannot burn server CPU (handler: burns it, then 200); the runner refuses workload.serverCpu with Caddy`,
  'extra response headers: Server, Etag, Last-Modified, Accept-Ranges (Range requests are answered 206), and Date over h1 and h2',
  'X-Request-ID is echoed as received (handler: only 1..128 visible ASCII characters)',
  "every request writes a JSON access-log line (Caddy's own CPU; how requests are counted)",
  "the server report's cpu is that of the Node process that runs Caddy and only waits; Caddy's own is processCpuMs",
  'no server-side telemetry and no qlog: Caddy 2.6.2 gives quic-go no tracer (the client records its own)',
];

export function createCaddyServer(protocol: Protocol, opts: ServerOptions): ProtocolServer {
  let layout: CaddyLayout | null = null;
  let proc: CaddyProcess | null = null;
  let config: JsonObject | null = null;
  let files: ServedFile[] = [];
  let binary: CaddyBinary | null = null;
  let cpu: { user: number; system: number } | null = null;
  let listening: Promise<number> | null = null;
  let closing: Promise<void> | null = null;

  const stopAndRemove = async (): Promise<void> => {
    if (proc !== null) {
      cpu = proc.cpuMs() ?? cpu;
      await proc.stop(KILL_AFTER_MS);
    }
    if (layout !== null) await rm(layout.dir, { recursive: true, force: true });
  };

  const start = async (): Promise<number> => {
    await sweepStaleDirs();
    const dir = await makeDir();
    layout = caddyLayout(dir);
    const l = layout;
    try {
      await Promise.all([l.www, l.storage, l.home].map((d) => mkdir(d, { recursive: true })));
      await writeFile(l.certFile, opts.certPem);
      await writeFile(l.keyFile, opts.keyPem, { mode: 0o600 });
      await chmod(l.keyFile, 0o600);
      files = [...bytesFiles(opts.bodySizes ?? []), ...(opts.page ? pageServedFiles(opts.page) : [])];
      await writeServedFiles(l.www, files);
      binary = await caddyBinary();
      for (let attempt = 1; ; attempt++) {
        const port = opts.port !== 0 ? opts.port : await freePort(opts.host);
        config = caddyConfig({
          layout: l,
          host: opts.host,
          port,
          protocols: [protocol],
          files,
          gracePeriodMs: GRACE_MS,
          altSvcH3Port: opts.altSvcH3Port,
        });
        await writeFile(l.configFile, JSON.stringify(config, null, 2));
        const p = startCaddyProcess({ configFile: l.configFile, cwd: l.dir, home: l.home });
        proc = p;
        try {
          await p.ready(READY_TIMEOUT_MS);
          // Caddy binds every listener before it logs READY_MESSAGE; TCP is checked once more from
          // outside (UDP cannot be: an unanswered datagram proves nothing).
          if (TRANSPORT_OF[protocol] === 'tcp') await waitTcp(opts.host, port, READY_TIMEOUT_MS);
          return port;
        } catch (err) {
          await p.stop(KILL_AFTER_MS);
          const taken = /address already in use/.test(p.log());
          if (opts.port === 0 && taken && attempt < PORT_ATTEMPTS) continue;
          throw err;
        }
      }
    } catch (err) {
      await stopAndRemove();
      throw err;
    }
  };

  return {
    protocol,
    listen: () => {
      listening ??= start();
      return listening;
    },
    close: () => {
      closing ??= (async () => {
        await listening?.catch(() => undefined);
        await stopAndRemove();
      })();
      return closing;
    },
    requestsServed: () => proc?.requestsLogged() ?? 0,
    settings: (): EngineSettings => {
      const { protocols, alpn } = caddyProtocols([protocol]);
      const bytes = files.filter((f) => f.kind === 'bytes');
      const page = files.filter((f) => f.kind === 'page');
      return {
        engine: ENGINE,
        version: binary?.version ?? null,
        binary: binary?.path ?? null,
        library: {
          http: `Go net/http${binary?.go ? ` (${binary.go})` : ''}`,
          quic: binary?.quicGo ? `quic-go ${binary.quicGo}` : null,
          quicVersionFrom: binary?.quicGoFrom ?? null,
        },
        protocols,
        alpn,
        tls: {
          minVersion: TLS_SETTINGS.minVersion,
          maxVersion: TLS_SETTINGS.maxVersion,
          ecdhCurve: TLS_SETTINGS.ecdhCurve,
          ciphers: 'not configurable in Go for TLS 1.3 (notPinned.tlsCipher)',
        },
        files: {
          bytes: bytes.map((f) => f.size),
          pageFiles: page.length,
          pageBytes: page.reduce((a, f) => a + f.size, 0),
        },
        config,
        notPinned: { ...CADDY_NOT_PINNABLE[protocol] },
        differences: [...HANDLER_DIFFERENCES],
        processCpuMs: cpu,
      };
    },
  };
}
