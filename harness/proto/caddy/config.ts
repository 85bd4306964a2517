/**
 * Caddy's configuration and the files it serves, as pure functions of the run (no I/O): the layout
 * of its private directory, the files of a run (`/bytes/<n>` and the page's), and the JSON config
 * (Caddy 2.6 JSON structure, https://caddyserver.com/docs/json/) that serves exactly those.
 */
import path from 'node:path';
import type { JsonObject } from '../../../core/json.js';
import type { Protocol } from '../../scenario/schema.js';
import { MAX_BODY_BYTES, bodySlice } from '../handler.js';
import { pageFiles, pageReader, type PageSpec } from '../pages.js';
import { ALPN } from '../types.js';

/** Where everything of one Caddy instance lives, inside its private directory. */
export interface CaddyLayout {
  dir: string;
  /** The served tree (file_server root); nothing else lives in it. */
  www: string;
  certFile: string;
  keyFile: string;
  configFile: string;
  /** Caddy's storage (certificates it would manage, locks); unused with automatic HTTPS off. */
  storage: string;
  /** HOME and XDG directories Caddy would write to. */
  home: string;
}

export function caddyLayout(dir: string): CaddyLayout {
  return {
    dir,
    www: path.join(dir, 'www'),
    certFile: path.join(dir, 'cert.pem'),
    keyFile: path.join(dir, 'key.pem'),
    configFile: path.join(dir, 'caddy.json'),
    storage: path.join(dir, 'storage'),
    home: path.join(dir, 'home'),
  };
}

/** One file Caddy serves. */
export interface ServedFile {
  /** URL path, e.g. `/bytes/1000`; also its place under `www`. */
  path: string;
  /** Content-Type it is served with (as h3bench's handler or the page sends it). */
  contentType: string;
  /** Body length, bytes. */
  size: number;
  /** What it is: a `/bytes/<n>` body or a file of the generated page. */
  kind: 'bytes' | 'page';
  /**
   * Body bytes [offset, offset + len), len <= BODY_CHUNK_BYTES: the very bytes h3bench's handler
   * serves (`bodySlice`: byte i is i % 251; `pageReader` for the page).
   */
  chunk(offset: number, len: number): Buffer;
}

/** Content-Type of `/bytes/<n>` (handler.ts). */
export const BYTES_CONTENT_TYPE = 'application/octet-stream';

/** The `/bytes/<n>` files of a run: one per distinct size, in increasing size. */
export function bytesFiles(sizes: readonly number[]): ServedFile[] {
  const distinct = [...new Set(sizes)].sort((a, b) => a - b);
  return distinct.map((n) => {
    if (!Number.isSafeInteger(n) || n < 0 || n > MAX_BODY_BYTES) {
      throw new RangeError(`/bytes size ${n} is not an integer 0..${MAX_BODY_BYTES}`);
    }
    return { path: `/bytes/${n}`, contentType: BYTES_CONTENT_TYPE, size: n, kind: 'bytes', chunk: bodySlice };
  });
}

/** The files of a generated page (pages.ts), with their content types. */
export function pageServedFiles(spec: PageSpec): ServedFile[] {
  return pageFiles(spec).map((f) => {
    const reader = pageReader(spec, f.path);
    if (reader === null) throw new Error(`page file ${f.path} has no body`);
    return { path: f.path, contentType: f.contentType, size: f.bytes, kind: 'page', chunk: reader.chunk };
  });
}

const SAFE_PATH_RE = /^(?:\/[A-Za-z0-9_][A-Za-z0-9._-]*)+$/;

/**
 * Where `urlPath` lives under `www`, refusing anything that is not a plain absolute path of safe
 * segments (no `..`, no hidden files, no query) and any path served twice or under another file.
 */
export function filePathOf(www: string, urlPath: string): string {
  if (!SAFE_PATH_RE.test(urlPath) || urlPath.split('/').includes('..')) {
    throw new Error(`refusing to serve "${urlPath}": not a plain path`);
  }
  return path.join(www, ...urlPath.split('/').slice(1));
}

/** Checks a run's files: distinct paths, none a directory of another. */
export function checkFiles(files: readonly ServedFile[]): void {
  const paths = new Set(files.map((f) => f.path));
  if (paths.size !== files.length) throw new Error('a file is served twice');
  for (const f of files) {
    if (files.some((g) => g.path.startsWith(`${f.path}/`))) {
      throw new Error(`${f.path} is both a file and a directory of another file`);
    }
    if (!Number.isSafeInteger(f.size) || f.size < 0) throw new Error(`${f.path}: bad size ${f.size}`);
  }
}

/** Caddy's `protocols` and the TLS ALPN list for a set of h3bench protocols. */
export function caddyProtocols(protocols: readonly Protocol[]): {
  protocols: string[];
  alpn: string[] | null;
} {
  const want = new Set(protocols);
  const out: string[] = [];
  // Caddy 2.6.2 refuses h2 without h1 ("cannot enable HTTP/2 or H2C without enabling HTTP/1.1"):
  // net/http serves HTTP/2 only from its HTTP/1.1 server. ALPN below keeps h1 from being chosen.
  if (want.has('h1') || want.has('h2')) out.push('h1');
  if (want.has('h2')) out.push('h2');
  if (want.has('h3')) out.push('h3');
  const tcp = (['h2', 'h1'] as const).filter((p) => want.has(p)).map((p) => ALPN[p]);
  // h3 alone: quic-go sets its own ALPN (h3); the TCP listener Caddy binds anyway serves nothing.
  return { protocols: out, alpn: tcp.length === 0 ? null : tcp };
}

export interface CaddyConfigInput {
  layout: CaddyLayout;
  host: string;
  port: number;
  protocols: readonly Protocol[];
  /** Files with their content types; null: serve `www` as it is, types by file extension. */
  files: readonly ServedFile[] | null;
  /** Grace period for connections at shutdown (Caddy's `grace_period`), ms. */
  gracePeriodMs: number;
  /** If set, responses carry `Alt-Svc: h3=":<port>"` (ServerOptions.altSvcH3Port). */
  altSvcH3Port?: number | undefined;
}

/** Logger name of Caddy's access log: one JSON line per request handled ("handled request"). */
export const ACCESS_LOGGER = 'http.log.access';
/** Message of the line Caddy logs once every app of its initial configuration has started. */
export const READY_MESSAGE = 'serving initial configuration';
/** Status and body of a request asking the server to burn CPU (`?cpu=`), which Caddy cannot do. */
export const CPU_REFUSAL = {
  status: 501,
  body: 'stacks.server caddy serves files: it cannot burn ?cpu= server CPU\n',
} as const;

/** A Caddy listener address (IPv6 hosts in brackets). */
export function listenAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Caddy's JSON config: admin API off, automatic HTTPS off, nothing written outside the layout, TLS
 * 1.3 with the run's certificate, the given protocols on host:port, the access log (JSON) on stdout
 * and every other log (JSON, level INFO) on stderr, and routes that answer as h3bench's handler does
 * where a file server can (content type, Cache-Control: no-store, X-Request-ID echoed, 405 for a
 * method other than GET and HEAD) and refuse `?cpu=` (501) rather than serve the file without it.
 */
export function caddyConfig(input: CaddyConfigInput): JsonObject {
  const { layout, files } = input;
  const { protocols, alpn } = caddyProtocols(input.protocols);
  const byType = new Map<string, string[]>();
  for (const f of files ?? []) byType.set(f.contentType, [...(byType.get(f.contentType) ?? []), f.path]);
  const typeRoutes = [...byType.entries()].map(([type, paths]) => ({
    match: [{ path: paths }],
    handle: [{ handler: 'headers', response: { set: { 'Content-Type': [type] } } }],
  }));
  const always: Record<string, string[]> = { 'Cache-Control': ['no-store'] };
  if (input.altSvcH3Port !== undefined) always['Alt-Svc'] = [`h3=":${input.altSvcH3Port}"`];
  const routes: JsonObject[] = [
    {
      match: [{ not: [{ method: ['GET', 'HEAD'] }] }],
      handle: [{ handler: 'static_response', status_code: 405, body: 'method not allowed\n' }],
      terminal: true,
    },
    {
      match: [{ query: { cpu: ['*'] } }],
      handle: [{ handler: 'static_response', status_code: CPU_REFUSAL.status, body: CPU_REFUSAL.body }],
      terminal: true,
    },
    {
      match: [{ header: { 'X-Request-Id': ['*'] } }],
      handle: [
        { handler: 'headers', response: { set: { 'X-Request-Id': ['{http.request.header.X-Request-Id}'] } } },
      ],
    },
    ...typeRoutes,
    {
      handle: [
        { handler: 'headers', response: { set: always } },
        // canonical_uris off: a file is served at its path, never redirected.
        { handler: 'file_server', root: layout.www, canonical_uris: false },
      ],
    },
  ];
  const policy: JsonObject = { protocol_min: 'tls1.3', protocol_max: 'tls1.3', curves: ['x25519'] };
  if (alpn !== null) policy['alpn'] = alpn;
  return {
    admin: { disabled: true, config: { persist: false } },
    storage: { module: 'file_system', root: layout.storage },
    logging: {
      // Go's standard logger (e.g. TLS handshake errors of a port probe) is noise here.
      sink: { writer: { output: 'discard' } },
      logs: {
        default: {
          writer: { output: 'stderr' },
          encoder: { format: 'json' },
          level: 'INFO',
          exclude: [ACCESS_LOGGER],
        },
        access: { writer: { output: 'stdout' }, encoder: { format: 'json' }, include: [ACCESS_LOGGER] },
      },
    },
    apps: {
      tls: {
        certificates: { load_files: [{ certificate: layout.certFile, key: layout.keyFile }] },
        disable_ocsp_stapling: true,
      },
      http: {
        grace_period: `${input.gracePeriodMs}ms`,
        servers: {
          h3bench: {
            listen: [listenAddress(input.host, input.port)],
            protocols,
            automatic_https: { disable: true },
            tls_connection_policies: [policy],
            logs: {},
            routes,
          },
        },
      },
    },
  };
}
