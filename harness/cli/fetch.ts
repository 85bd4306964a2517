/**
 * `h3bench fetch`: one GET with any of the three protocols, like curl: status, headers, and where the
 * time went (TCP connect, TLS or QUIC handshake, time to first byte, transfer).
 */
import { readFileSync } from 'node:fs';
import { ExitCode, RunError, UsageError } from '../../core/errors.js';
import { createClient } from '../proto/session.js';
import { TRANSPORT_OF } from '../proto/types.js';
import { defaultTransport, PROTOCOLS, type Protocol } from '../scenario/schema.js';
import { newRequestRecord } from '../workload/multiplex.js';
import { h3StackFlag, parse } from './args.js';

export const FETCH_HELP = `Usage: h3bench fetch [--protocol h1|h2|h3] [--h3-stack S] [--insecure] [--cacert FILE] [--timeout MS] URL

GETs an https:// URL with the given HTTP version (default h2) and prints the status line, the
response headers, the body size, and the time spent in each phase: TCP connect, TLS handshake (or
the QUIC handshake for h3), time to first byte after the handshake, and transfer.

Options:
  --protocol P    h1, h2 or h3 (default h2)
  --h3-stack S    HTTP/3 engine: quiche-0.18 (default) or quiche-0.29 (a scenario's stacks.h3)
  --insecure      do not verify the server certificate
  --cacert FILE   trust this CA (PEM) instead of the system CAs
  --timeout MS    give up after MS milliseconds (default 30000)`;

const fmt = (ms: number | null | undefined): string =>
  ms === null || ms === undefined || !Number.isFinite(ms) ? '-' : `${ms.toFixed(2)} ms`;

export async function fetchCommand(argv: string[], signal: AbortSignal): Promise<number> {
  const { values, positionals } = parse('fetch', argv, {
    protocol: { type: 'string' },
    'h3-stack': { type: 'string' },
    insecure: { type: 'boolean' },
    cacert: { type: 'string' },
    timeout: { type: 'string' },
  });
  if (values.help) {
    console.log(FETCH_HELP);
    return ExitCode.Ok;
  }
  const protocol = (values.protocol ?? 'h2') as Protocol;
  if (!(PROTOCOLS as readonly string[]).includes(protocol)) {
    throw new UsageError(
      `--protocol: value error: must be one of ${PROTOCOLS.join(', ')}: current value is "${protocol}"`,
    );
  }
  const h3Stack = h3StackFlag(values['h3-stack']);
  if (positionals.length !== 1)
    throw new UsageError('h3bench fetch: expected exactly one URL (see h3bench fetch --help)');
  let url: URL;
  try {
    url = new URL(positionals[0] ?? '');
  } catch {
    throw new UsageError(`h3bench fetch: not a URL: "${positionals[0] ?? ''}"`);
  }
  if (url.protocol !== 'https:')
    throw new UsageError(`h3bench fetch: only https:// URLs: current value is "${url.href}"`);
  const timeoutMs = values.timeout === undefined ? 30_000 : Number(values.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    throw new UsageError(
      `--timeout: value error: must be a positive integer of ms: current value is "${values.timeout ?? ''}"`,
    );
  }
  let caPem: string | null = null;
  if (values.cacert !== undefined) {
    try {
      caPem = readFileSync(values.cacert, 'utf8');
    } catch (err) {
      throw new UsageError(`--cacert: cannot read "${values.cacert}": ${(err as Error).message}`);
    }
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const client = await createClient(
    protocol,
    {
      host,
      port: Number(url.port || 443),
      serverName: host,
      caPem,
      insecure: values.insecure === true,
      transport: defaultTransport(),
      connections: 1,
      now,
    },
    h3Stack,
  );
  const rec = newRequestRecord(1, 0, -1);
  const ac = new AbortController();
  const timer = setTimeout(() => {
    ac.abort(new Error(`timed out after ${timeoutMs} ms`));
  }, timeoutMs);
  const onAbort = () => {
    ac.abort(signal.reason);
  };
  signal.addEventListener('abort', onAbort);
  try {
    rec.tStart = now();
    const headers = await client.get(url.pathname + url.search, rec, ac.signal);
    const version = { h1: 'HTTP/1.1', h2: 'HTTP/2', h3: 'HTTP/3' }[protocol];
    console.log(`${version} ${rec.status}`);
    for (const [k, v] of Object.entries(headers)) {
      if (k.startsWith(':') || v === undefined) continue;
      for (const one of Array.isArray(v) ? v : [v]) console.log(`${k}: ${one}`);
    }
    const c = client.connections()[rec.connection ?? 0];
    const start = c?.tStart ?? rec.tStart;
    const handshake = c?.tHandshakeDone ?? null;
    const tcp = c?.tTcpConnected ?? null;
    console.log('');
    console.log(`body          ${rec.bytes} bytes in ${rec.chunks.length} chunks`);
    if (TRANSPORT_OF[protocol] === 'tcp') {
      console.log(`connect       ${fmt(tcp === null ? null : tcp - start)}   (TCP handshake)`);
      console.log(
        `tls           ${fmt(handshake === null || tcp === null ? null : handshake - tcp)}   (TLS 1.3 handshake, ${c?.alpn ?? '?'})`,
      );
    } else {
      console.log(
        `quic          ${fmt(handshake === null ? null : handshake - start)}   (QUIC handshake, ${c?.alpn ?? '?'})`,
      );
    }
    const ttfbFrom = handshake ?? rec.tStart;
    console.log(
      `ttfb          ${fmt(rec.tHeaders === null ? null : rec.tHeaders - ttfbFrom)}   (request sent after handshake → response headers)`,
    );
    console.log(
      `transfer      ${fmt(rec.tEnd === null || rec.tHeaders === null ? null : rec.tEnd - rec.tHeaders)}   (headers → last body byte)`,
    );
    console.log(`total         ${fmt(rec.tEnd === null ? null : rec.tEnd - start)}`);
    return ExitCode.Ok;
  } catch (err) {
    throw new RunError(`fetch ${url.href} over ${protocol} failed: ${(err as Error).message}`, {
      cause: err,
    });
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
    await client.close();
  }
}
