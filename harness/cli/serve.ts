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
import { DEFAULT_H3_STACK, createServer } from '../proto/session.js';
import { H3_STACK_CAPABILITIES } from '../proto/stacks.js';
import { SERVER_NAME, generateTlsMaterial, spkiHash } from '../proto/tls.js';
import { loadPageProfile, pageProfileFile, pageProfileNames } from '../scenario/pages.js';
import { defaultTransport, type Protocol } from '../scenario/schema.js';
import { DOCUMENT_PATH, pageFiles } from '../proto/pages.js';
import { h3StackFlag, intFlag, parse, protocolsFlag } from './args.js';

/** The page profile `h3bench serve` serves when --page is not given. */
export const DEFAULT_PAGE = 'median-mobile';

export const SERVE_HELP = `Usage: h3bench serve [--protocols h1,h2,h3] [--h3-stack S] [--page NAME] [--host H] [--port P] [--cert FILE --key FILE]

Serves GET /bytes/:n (n deterministic bytes; X-Request-ID echoed) and a generated web page under
/page/ (${DOCUMENT_PATH} and its CSS, JS and SVG images, as a page-load workload loads it) until
interrupted:
HTTP/1.1 and HTTP/2 on TCP port P (by ALPN), HTTP/3 on UDP port P; TCP responses carry
Alt-Svc: h3=":P" when h3 is served. (The quiche-0.29 engine's server also listens on TCP at its
UDP port: with it, h1/h2 take another free port, printed at start.) Prints the certificate's SPKI hash and a Chromium command
line that loads from the server over HTTP/3 (QUIC forced, the certificate trusted by that hash).

Options:
  --protocols LIST   protocols to serve (default h1,h2,h3)
  --h3-stack S       HTTP/3 engine: quiche-0.18 (default) or quiche-0.29 (a scenario's stacks.h3)
  --page NAME        the page profile served under /page/ (scenarios/pages/NAME.yaml; default
                     ${DEFAULT_PAGE})
  --host H           address to bind (default 127.0.0.1)
  --port P           port, TCP and UDP (default 4433; 0 = any free port)
  --cert FILE        PEM certificate (with --key); default: a fresh CA + certificate for
                     ${SERVER_NAME}, localhost, 127.0.0.1, ::1, whose CA is written to a file
                     printed at start (use it as curl --cacert / h3bench fetch --cacert);
                     that file and its directory are removed when serve exits
  --key FILE         PEM private key`;

/**
 * A Chromium command line that loads the generated page (/page/index.html) from the server over
 * HTTP/3: QUIC forced for the origin and the certificate trusted by its SPKI hash (Chromium ignores
 * --ignore-certificate-errors for QUIC). Exported for the test that runs it.
 */
export function chromiumCommand(host: string, port: number, spki: string): string {
  const origin = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  return [
    'chromium --headless=new --user-data-dir=$(mktemp -d) --enable-quic',
    `--origin-to-force-quic-on=${origin}`,
    `--ignore-certificate-errors-spki-list=${spki}`,
    `--dump-dom https://${origin}${DOCUMENT_PATH}`,
  ].join(' ');
}

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
    'h3-stack': { type: 'string' },
    page: { type: 'string' },
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
  const h3Stack = h3StackFlag(values['h3-stack']);
  const pageName = values.page ?? DEFAULT_PAGE;
  if (pageProfileFile(pageName) === null) {
    throw new UsageError(
      `--page: value error: must be a page profile in scenarios/pages/ (one of ${pageProfileNames().join(', ')}): current value is "${pageName}"`,
    );
  }
  const profile = loadPageProfile(pageName);
  const page = { documentBytes: profile.documentBytes, waves: profile.waves };
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
    const base: ServerOptions = { host, port, certPem, keyPem, transport: defaultTransport(), page };
    const servers: ProtocolServer[] = [];
    const tcp: Protocol[] = protocols.filter((p) => TRANSPORT_OF[p] === 'tcp');
    try {
      const stack = h3Stack ?? DEFAULT_H3_STACK;
      const h3 = protocols.includes('h3');
      const serveH3 = async (p: number) => {
        const s = await createServer('h3', { ...base, port: p }, stack);
        servers.push(s);
        const bound = await s.listen();
        console.log(`serving h3 on udp ${host}:${bound} (${stack})`);
        return bound;
      };
      // An engine whose server also takes TCP on its own port (quiche-0.29's HTTP/2 fallback) binds
      // first; the TCP protocols then take another free port, and Alt-Svc names the UDP one.
      const h3First = h3 && H3_STACK_CAPABILITIES[stack].bindsTcpOnItsPort;
      let udpPort = h3First ? await serveH3(port) : port;
      if (tcp.length > 0) {
        const both = tcp.length === 2;
        // The engines read altSvcH3Port per response, so a port of 0 is filled in once bound.
        const tcpOptions: ServerOptions = {
          ...base,
          port: h3First ? 0 : port,
          allowHttp1: both,
          altSvcH3Port: h3 ? udpPort : undefined,
        };
        const s = await createServer(both ? 'h2' : (tcp[0] as Protocol), tcpOptions);
        servers.push(s);
        const tcpPort = await s.listen();
        if (h3 && !h3First) udpPort = tcpPort;
        if (tcpOptions.altSvcH3Port !== undefined) tcpOptions.altSvcH3Port = udpPort;
        console.log(`serving ${tcp.join(' + ')} on tcp ${host}:${tcpPort}`);
        port = tcpPort;
      }
      if (h3 && !h3First) await serveH3(udpPort);
      const spki = spkiHash(certPem);
      console.log(`certificate SPKI sha256: ${spki}`);
      const noChromium = H3_STACK_CAPABILITIES[stack].unsupportedPeers['chromium'];
      if (h3 && noChromium !== undefined) console.log(`chromium over h3: not with ${stack}: ${noChromium}`);
      else if (h3) console.log(`chromium over h3: ${chromiumCommand(host, udpPort, spki)}`);
      const files = pageFiles(page);
      const origin = `${host.includes(':') ? `[${host}]` : host}:${tcp.length > 0 ? port : udpPort}`;
      console.log(
        `page ${pageName}: ${files.length} files, ${files.reduce((a, f) => a + f.bytes, 0)} bytes: https://${origin}${DOCUMENT_PATH}`,
      );
      const tryIt =
        tcp.length > 0
          ? `--protocol ${tcp[tcp.length - 1] ?? 'h2'} --insecure https://${host}:${port}`
          : `--protocol h3 --h3-stack ${stack} --insecure https://${host}:${udpPort}`;
      console.log(`try: h3bench fetch ${tryIt}/bytes/1000   (Ctrl-C stops)`);
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
