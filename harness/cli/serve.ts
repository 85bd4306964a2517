/**
 * `h3bench serve`: the paired servers standalone, as a real deployment would run them: HTTP/1.1 and
 * HTTP/2 on TCP port P (chosen by ALPN), HTTP/3 on UDP port P, and `Alt-Svc: h3=":P"` on the TCP
 * responses, so users and browsers can point their own clients at the same handler the benchmark uses.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ExitCode, UsageError } from '../../core/errors.js';
import { TRANSPORT_OF, type ProtocolServer, type ServerOptions } from '../proto/types.js';
import { createServer } from '../proto/session.js';
import { SERVER_NAME, generateTlsMaterial } from '../proto/tls.js';
import { defaultTransport, type Protocol } from '../scenario/schema.js';
import { intFlag, parse, protocolsFlag } from './args.js';

export const SERVE_HELP = `Usage: h3bench serve [--protocols h1,h2,h3] [--host H] [--port P] [--cert FILE --key FILE]

Serves GET /bytes/:n (n deterministic bytes; X-Request-ID echoed) until interrupted:
HTTP/1.1 and HTTP/2 on TCP port P (by ALPN), HTTP/3 on UDP port P; TCP responses carry
Alt-Svc: h3=":P" when h3 is served.

Options:
  --protocols LIST   protocols to serve (default h1,h2,h3)
  --host H           address to bind (default 127.0.0.1)
  --port P           port, TCP and UDP (default 4433; 0 = any free port)
  --cert FILE        PEM certificate (with --key); default: a fresh CA + certificate for
                     ${SERVER_NAME}, localhost, 127.0.0.1, ::1, whose CA is written to a file
                     printed at start (use it as curl --cacert / h3bench fetch --cacert);
                     that file and its directory are removed when serve exits
  --key FILE         PEM private key`;

function readPem(flag: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`--${flag}: cannot read "${file}": ${(err as Error).message}`);
  }
}

export async function serveCommand(argv: string[], signal: AbortSignal): Promise<number> {
  const { values, positionals } = parse('serve', argv, {
    protocols: { type: 'string' },
    host: { type: 'string' },
    port: { type: 'string' },
    cert: { type: 'string' },
    key: { type: 'string' },
  });
  if (values.help) {
    console.log(SERVE_HELP);
    return ExitCode.Ok;
  }
  if (positionals.length > 0)
    throw new UsageError(`h3bench serve: unexpected argument "${positionals[0] ?? ''}"`);
  if ((values.cert === undefined) !== (values.key === undefined)) {
    throw new UsageError('--cert and --key: value error: give both or neither');
  }
  const protocols: Protocol[] = protocolsFlag(values.protocols) ?? ['h1', 'h2', 'h3'];
  const host = values.host ?? '127.0.0.1';
  let port = intFlag('port', values.port, 0, 65535) ?? 4433;
  let certPem: string;
  let keyPem: string;
  // The generated CA's private directory, removed on every way out (normal, SIGINT/SIGTERM via the
  // abort signal, an error; process exit as the last resort).
  let caDir: string | undefined;
  const removeCaDir = () => {
    if (caDir !== undefined) rmSync(caDir, { recursive: true, force: true });
    caDir = undefined;
  };
  process.once('exit', removeCaDir);
  try {
    if (values.cert !== undefined && values.key !== undefined) {
      certPem = readPem('cert', values.cert);
      keyPem = readPem('key', values.key);
    } else {
      const tls = generateTlsMaterial();
      certPem = tls.certPem;
      keyPem = tls.keyPem;
      // A fresh private directory: as root, never write to a predictable /tmp path.
      caDir = mkdtempSync(path.join(os.tmpdir(), 'h3bench-serve-'));
      const caFile = path.join(caDir, 'ca.pem');
      writeFileSync(caFile, tls.caPem, { flag: 'wx', mode: 0o644 });
      console.log(`CA certificate (trust it to verify the server): ${caFile}`);
    }
    const base: ServerOptions = { host, port, certPem, keyPem, transport: defaultTransport() };
    const servers: ProtocolServer[] = [];
    const tcp: Protocol[] = protocols.filter((p) => TRANSPORT_OF[p] === 'tcp');
    try {
      // TCP first (a port of 0 picks one), then HTTP/3 on the same number over UDP.
      if (tcp.length > 0) {
        const h3Port = protocols.includes('h3') ? port : undefined;
        const both = tcp.length === 2;
        const s = await createServer(both ? 'h2' : (tcp[0] as Protocol), {
          ...base,
          allowHttp1: both,
          altSvcH3Port: h3Port,
        });
        port = await s.listen();
        if (h3Port === 0) {
          // Re-create with the real port in Alt-Svc.
          await s.close();
          const s2 = await createServer(both ? 'h2' : (tcp[0] as Protocol), {
            ...base,
            port,
            allowHttp1: both,
            altSvcH3Port: port,
          });
          await s2.listen();
          servers.push(s2);
        } else {
          servers.push(s);
        }
        console.log(`serving ${tcp.join(' + ')} on tcp ${host}:${port}`);
      }
      if (protocols.includes('h3')) {
        const s = await createServer('h3', { ...base, port });
        port = await s.listen();
        servers.push(s);
        console.log(`serving h3 on udp ${host}:${port}`);
      }
      console.log(
        `try: h3bench fetch --protocol h2 --insecure https://${host}:${port}/bytes/1000   (Ctrl-C stops)`,
      );
      await new Promise<void>((resolve) => {
        if (signal.aborted) resolve();
        signal.addEventListener('abort', () => {
          resolve();
        });
      });
      return ExitCode.Ok;
    } finally {
      await Promise.all(servers.map((s) => s.close()));
    }
  } finally {
    removeCaDir();
    process.removeListener('exit', removeCaDir);
  }
}
