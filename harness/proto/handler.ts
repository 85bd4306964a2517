/**
 * The application every server serves, whatever the HTTP version:
 *
 *   GET /bytes/:n  → 200, n bytes of deterministic content, Content-Length, Cache-Control: no-store
 *   GET /page/...  → 200, a file of the run's generated page (pages.ts) with its Content-Type, when
 *                    the server has one (page-load workloads, `h3bench serve`); else 404
 *   ?cpu=<ms>      → the server first burns <ms> of CPU (busy loop), 0..MAX_SERVER_CPU_MS
 *                    (`workload.serverCpu`: a server-side cost, the same work for every protocol)
 *   bad n, bad cpu → 400
 *   anything else  → 404
 *
 * HEAD is answered as GET without a body.
 *
 * `X-Request-ID` is echoed on every response. Content byte i is `i % 251` (a prime, so chunk
 * boundaries never line up with the pattern), which clients and tests can verify.
 */

import { MAX_SERVER_CPU_MS, type PageSpec } from '../scenario/workload.js';
import { PAGE_PREFIX, pageReader } from './pages.js';

/** Largest body the handler serves (10 GB): guards against absurd sizes. */
export const MAX_BODY_BYTES = 10_000_000_000;
/** Body chunk size handed to the transport. */
export const BODY_CHUNK_BYTES = 64 * 1024;

const PERIOD = 251;
const PATTERN = Buffer.alloc(BODY_CHUNK_BYTES + PERIOD);
for (let i = 0; i < PATTERN.length; i++) PATTERN[i] = i % PERIOD;

/** The body bytes [offset, offset + length) as a view of a shared pattern buffer (no copy). */
export function bodySlice(offset: number, length: number): Buffer {
  if (length > BODY_CHUNK_BYTES) throw new RangeError(`bodySlice length ${length} > ${BODY_CHUNK_BYTES}`);
  const start = offset % PERIOD;
  return PATTERN.subarray(start, start + length);
}

/** Check received body bytes against the pattern; returns the first bad offset or -1. */
export function verifyBody(offset: number, data: Uint8Array): number {
  let expected = offset % PERIOD;
  for (let i = 0; i < data.length; i++) {
    if (data[i] !== expected) return offset + i;
    expected = expected + 1 === PERIOD ? 0 : expected + 1;
  }
  return -1;
}

export interface AppRequest {
  method: string;
  /** Path with query, as received (":path" or the request line target). */
  path: string;
  /** Value of X-Request-ID, if sent. */
  requestId: string | undefined;
}

export interface AppResponse {
  status: number;
  /** Lower-case header names. */
  headers: Record<string, string>;
  /** Body length in bytes. */
  bodyBytes: number;
  /** Returns body bytes [offset, offset+len), len <= BODY_CHUNK_BYTES. */
  chunk(offset: number, len: number): Buffer;
}

const TEXT_CHUNK = (text: Buffer) => (offset: number, len: number) => text.subarray(offset, offset + len);

function textResponse(status: number, text: string, requestId: string | undefined): AppResponse {
  const body = Buffer.from(text + '\n');
  const headers: Record<string, string> = {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': String(body.length),
    'cache-control': 'no-store',
  };
  if (requestId !== undefined) headers['x-request-id'] = requestId;
  return { status, headers, bodyBytes: body.length, chunk: TEXT_CHUNK(body) };
}

const BYTES_RE = /^\/bytes\/([^/?#]*)(?:\?([^#]*))?$/;
const CPU_RE = /^\d{1,4}(?:\.\d{1,6})?$/;

/**
 * The `cpu` query parameter: ms of CPU to burn, 0..MAX_SERVER_CPU_MS (decimal, e.g. "2.5"); 0
 * without it; an error text for a bad or repeated value.
 */
export function serverCpuParam(query: string | undefined): number | string {
  // Most requests carry no query: nothing to parse on the measured path.
  if (query === undefined || query === '') return 0;
  const values = new URLSearchParams(query).getAll('cpu');
  if (values.length === 0) return 0;
  const raw = values[0] ?? '';
  if (values.length > 1) return `bad cpu: given ${values.length} times`;
  if (!CPU_RE.test(raw) || Number(raw) > MAX_SERVER_CPU_MS) {
    return `bad cpu "${raw}": expected a number of ms 0..${MAX_SERVER_CPU_MS}`;
  }
  return Number(raw);
}

/**
 * Burn `ms` of CPU on this thread (busy loop on performance.now()), as a server that computes its
 * response would: the event loop is blocked meanwhile, whatever the protocol.
 */
export function burnCpu(ms: number): void {
  if (ms <= 0) return;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // busy: the point is to use the CPU
  }
}
const REQUEST_ID_RE = /^[\x21-\x7e]{1,128}$/;

const PAGE_RE = /^(\/page\/[^?#]*)(?:\?([^#]*))?$/;

/**
 * Route one request; `page` is the generated page the server serves under /page/, if any. No I/O;
 * burns the CPU the request asks for (`?cpu=`) before returning.
 */
export function handle(req: AppRequest, page?: PageSpec | null): AppResponse {
  const requestId =
    req.requestId !== undefined && REQUEST_ID_RE.test(req.requestId) ? req.requestId : undefined;
  if (page && req.path.startsWith(PAGE_PREFIX)) return handlePage(req, page, requestId);
  const m = BYTES_RE.exec(req.path);
  if (!m) return textResponse(404, 'not found', requestId);
  if (req.method !== 'GET' && req.method !== 'HEAD')
    return textResponse(405, 'method not allowed', requestId);
  const raw = m[1] ?? '';
  if (!/^\d{1,11}$/.test(raw) || Number(raw) > MAX_BODY_BYTES) {
    return textResponse(400, `bad size "${raw}": expected an integer 0..${MAX_BODY_BYTES}`, requestId);
  }
  const cpu = serverCpuParam(m[2]);
  if (typeof cpu === 'string') return textResponse(400, cpu, requestId);
  burnCpu(cpu);
  const n = Number(raw);
  const headers: Record<string, string> = {
    'content-type': 'application/octet-stream',
    'content-length': String(n),
    'cache-control': 'no-store',
  };
  if (requestId !== undefined) headers['x-request-id'] = requestId;
  return { status: 200, headers, bodyBytes: req.method === 'HEAD' ? 0 : n, chunk: bodySlice };
}

/** A file of the generated page: its exact bytes, with its Content-Type. */
function handlePage(req: AppRequest, page: PageSpec, requestId: string | undefined): AppResponse {
  const m = PAGE_RE.exec(req.path);
  const file = m ? pageReader(page, m[1] ?? '') : null;
  if (!file) return textResponse(404, 'not found', requestId);
  if (req.method !== 'GET' && req.method !== 'HEAD')
    return textResponse(405, 'method not allowed', requestId);
  const cpu = serverCpuParam(m?.[2]);
  if (typeof cpu === 'string') return textResponse(400, cpu, requestId);
  burnCpu(cpu);
  const n = file.file.bytes;
  const headers: Record<string, string> = {
    'content-type': file.file.contentType,
    'content-length': String(n),
    'cache-control': 'no-store',
  };
  if (requestId !== undefined) headers['x-request-id'] = requestId;
  return { status: 200, headers, bodyBytes: req.method === 'HEAD' ? 0 : n, chunk: file.chunk };
}

/**
 * The response a TCP engine (h1, h2) sends: the handler's, plus `Alt-Svc` when the server also
 * answers HTTP/3 on `altSvcH3Port`. `requestId` may come as a repeated header: the first counts.
 */
export function handleHttp(
  method: string | undefined,
  path: string | undefined,
  requestId: string | string[] | undefined,
  altSvcH3Port: number | undefined,
  page?: PageSpec | null,
): AppResponse {
  const app = handle(
    {
      method: method ?? 'GET',
      path: path ?? '/',
      requestId: Array.isArray(requestId) ? requestId[0] : requestId,
    },
    page,
  );
  if (altSvcH3Port !== undefined) app.headers['alt-svc'] = `h3=":${altSvcH3Port}"`;
  return app;
}
