import { describe, expect, it } from 'vitest';
import {
  BODY_CHUNK_BYTES,
  bodySlice,
  handle,
  serverCpuParam,
  verifyBody,
} from '../../harness/proto/handler.js';
import { MAX_SERVER_CPU_MS } from '../../harness/scenario/workload.js';

function body(res: ReturnType<typeof handle>): Buffer {
  const parts: Buffer[] = [];
  for (let off = 0; off < res.bodyBytes; off += BODY_CHUNK_BYTES) {
    parts.push(res.chunk(off, Math.min(BODY_CHUNK_BYTES, res.bodyBytes - off)));
  }
  return Buffer.concat(parts);
}

describe('handle', () => {
  it('serves n deterministic bytes with Content-Length and no-store', () => {
    const res = handle({ method: 'GET', path: '/bytes/200000', requestId: 'abc' });
    expect(res.status).toBe(200);
    expect(res.headers['content-length']).toBe('200000');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-request-id']).toBe('abc');
    const b = body(res);
    expect(b.length).toBe(200_000);
    expect(verifyBody(0, b)).toBe(-1);
    expect(b[251]).toBe(0);
    expect(b[252]).toBe(1);
  });

  it('serves zero bytes', () => {
    const res = handle({ method: 'GET', path: '/bytes/0', requestId: undefined });
    expect(res.status).toBe(200);
    expect(res.bodyBytes).toBe(0);
    expect(res.headers['x-request-id']).toBeUndefined();
  });

  it('ignores a query string', () => {
    expect(handle({ method: 'GET', path: '/bytes/10?x=1', requestId: undefined }).bodyBytes).toBe(10);
  });

  it.each(['/bytes/abc', '/bytes/-1', '/bytes/1.5', '/bytes/', '/bytes/99999999999'])(
    'answers 400 for %s',
    (p) => {
      const res = handle({ method: 'GET', path: p, requestId: 'r1' });
      expect(res.status).toBe(400);
      expect(res.headers['x-request-id']).toBe('r1');
      expect(body(res).toString()).toMatch(/bad size/);
    },
  );

  it.each(['/', '/bytes', '/bytes/1/2', '/other/5'])('answers 404 for %s', (p) => {
    expect(handle({ method: 'GET', path: p, requestId: undefined }).status).toBe(404);
  });

  it('does not echo a request id with control characters', () => {
    expect(
      handle({ method: 'GET', path: '/bytes/1', requestId: 'a\r\nb' }).headers['x-request-id'],
    ).toBeUndefined();
  });
});

describe('verifyBody', () => {
  it('finds the first wrong byte at an offset', () => {
    const b = Buffer.from(bodySlice(1000, 100));
    expect(verifyBody(1000, b)).toBe(-1);
    b[37] = (b[37] ?? 0) ^ 0xff;
    expect(verifyBody(1000, b)).toBe(1037);
  });
});

describe('handle: ?cpu= (workload.serverCpu)', () => {
  const timed = (path: string) => {
    const t = performance.now();
    const res = handle({ method: 'GET', path, requestId: 'c' });
    return { res, ms: performance.now() - t };
  };

  it('burns the CPU asked for before responding, then serves the body as usual', () => {
    const { res, ms } = timed('/bytes/1000?cpu=20');
    expect(res.status).toBe(200);
    expect(res.bodyBytes).toBe(1000);
    expect(verifyBody(0, body(res))).toBe(-1);
    expect(ms).toBeGreaterThanOrEqual(20);
    expect(ms).toBeLessThan(2000);
    // A busy loop, not a sleep: it uses CPU (a share of the wall time only, as the 2 shared cores
    // may preempt it; a sleep would use none).
    const cpu0 = process.cpuUsage();
    handle({ method: 'GET', path: '/bytes/10?cpu=50', requestId: undefined });
    const used = process.cpuUsage(cpu0);
    expect((used.user + used.system) / 1000).toBeGreaterThanOrEqual(5);
  });

  it('takes decimals and 0; without cpu there is no delay', () => {
    expect(serverCpuParam(undefined)).toBe(0);
    expect(serverCpuParam('cpu=2.5')).toBe(2.5);
    expect(serverCpuParam('x=1&cpu=0')).toBe(0);
    expect(serverCpuParam(`cpu=${MAX_SERVER_CPU_MS}`)).toBe(MAX_SERVER_CPU_MS);
    expect(timed('/bytes/10?cpu=0').res.status).toBe(200);
    expect(timed('/bytes/10').ms).toBeLessThan(50);
  });

  it('answers 400 to a bad, negative, too large or repeated cpu, without burning anything', () => {
    for (const q of [
      'cpu=',
      'cpu=-1',
      'cpu=abc',
      'cpu=1e3',
      'cpu=Infinity',
      `cpu=${MAX_SERVER_CPU_MS + 1}`,
      'cpu=1&cpu=2',
    ]) {
      const { res, ms } = timed(`/bytes/10?${q}`);
      expect(res.status, q).toBe(400);
      expect(body(res).toString(), q).toMatch(/bad cpu/);
      expect(ms, q).toBeLessThan(50);
    }
    expect(timed('/bytes/x?cpu=5').res.status).toBe(400);
  });
});
