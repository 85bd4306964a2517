/**
 * Chromium page loads (harness/workload/chromium.ts) without a browser: the switches per HTTP version,
 * the Network events folded per request, and recorded loads (two real ones, h1 and h2 over loopback,
 * trimmed to the fields the mapping reads) turned into the client report's records, metrics and
 * `browser` block, including the ways a load goes wrong.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clientReportSchema } from '../../harness/model/schema.js';
import type { ClientReport } from '../../harness/model/records.js';
import {
  NO_CHUNK_DATA,
  browserReport,
  chromiumFlags,
  clockMapping,
  datasetAttribute,
  findChromium,
  networkRequests,
  tlsVersionOf,
  type PageUnderTest,
  type RecordedLoad,
} from '../../harness/workload/chromium.js';

/** The browser both recordings below came from. */
const RECORDED_BROWSER: Pick<RecordedLoad, 'version' | 'executable' | 'flags'> = {
  version: {
    protocolVersion: '1.3',
    product: 'Chrome/156.0.8078.129',
    revision: '@1a2e4e6fe632976b81792a677a258fff32de7c05',
    userAgent:
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36',
    jsVersion: '15.6.75.95',
  },
  executable: '/usr/lib/chromium/chromium',
  flags: ['(as recorded: see chromiumFlags)'],
};

// Recorded by openChromium + loadPage against h3bench's servers on 127.0.0.1 (Chromium 156), for a
// page of a 4000 B document, two 3000 B stylesheets and one 3000 B image (depth 2).
const RECORDED_H1: RecordedLoad = {
  url: 'https://h3bench.test:42719/page/index.html',
  protocol: 'h1',
  ...RECORDED_BROWSER,
  t0MonotonicMs: 20733042.353402,
  t0WallMs: 1796603331221.0798,
  endMs: 175.606839,
  navigationError: null,
  timedOut: false,
  timeoutMs: 10000,
  page: {
    timeOrigin: 1796603331224.9,
    navigation: {
      name: 'https://h3bench.test:42719/page/index.html',
      initiatorType: 'navigation',
      nextHopProtocol: 'http/1.1',
      startTime: 0,
      fetchStart: 1.4,
      connectStart: 3.6,
      connectEnd: 17.4,
      requestStart: 18.8,
      responseStart: 27.9,
      responseEnd: 32.6,
      encodedBodySize: 4000,
      decodedBodySize: 4000,
      transferSize: 4300,
      responseStatus: 200,
      domContentLoadedEventEnd: 91.3,
      loadEventEnd: 152.8,
    },
    firstPaint: 116,
    firstContentfulPaint: 116,
    largestContentfulPaint: 172,
    complete: 152.5,
    state: 'complete',
    errors: null,
    resources: [
      {
        name: 'https://h3bench.test:42719/page/d1-0-0.css',
        initiatorType: 'link',
        nextHopProtocol: 'http/1.1',
        startTime: 45.1,
        fetchStart: 45.1,
        connectStart: 45.1,
        connectEnd: 45.1,
        requestStart: 82.7,
        responseStart: 86.2,
        responseEnd: 86.8,
        encodedBodySize: 3000,
        decodedBodySize: 3000,
        transferSize: 3300,
        responseStatus: 200,
      },
      {
        name: 'https://h3bench.test:42719/page/d1-0-1.css',
        initiatorType: 'link',
        nextHopProtocol: 'http/1.1',
        startTime: 65.3,
        fetchStart: 65.3,
        connectStart: 82.5,
        connectEnd: 86.7,
        requestStart: 86.9,
        responseStart: 88.2,
        responseEnd: 93.7,
        encodedBodySize: 3000,
        decodedBodySize: 3000,
        transferSize: 3300,
        responseStatus: 200,
      },
      {
        name: 'https://h3bench.test:42719/page/d2-1-0.svg',
        initiatorType: 'img',
        nextHopProtocol: 'http/1.1',
        startTime: 120.8,
        fetchStart: 120.8,
        connectStart: 120.8,
        connectEnd: 120.8,
        requestStart: 123.7,
        responseStart: 136.6,
        responseEnd: 137.6,
        encodedBodySize: 3000,
        decodedBodySize: 3000,
        transferSize: 3300,
        responseStatus: 200,
      },
    ],
  },
  network: [
    {
      requestId: '1A5F653DD4FE43670BE713179E543493',
      url: 'https://h3bench.test:42719/page/index.html',
      sentAt: 20733.047558,
      status: 200,
      protocol: 'http/1.1',
      connectionId: 33,
      connectionReused: false,
      timing: {
        requestTime: 20733.049545,
        connectStart: 0.249,
        connectEnd: 14.051,
        sslStart: 0.432,
        sslEnd: 14.021,
        sendStart: 15.46,
        sendEnd: 18.047,
        receiveHeadersEnd: 24.729,
      },
      tlsProtocol: 'TLS 1.3',
      remoteAddress: '127.0.0.1:42719',
      finished: true,
      failure: null,
    },
    {
      requestId: '22952.2',
      url: 'https://h3bench.test:42719/page/d1-0-0.css',
      sentAt: 20733.091235,
      status: 200,
      protocol: 'http/1.1',
      connectionId: 33,
      connectionReused: true,
      timing: {
        requestTime: 20733.127967,
        connectStart: -1,
        connectEnd: -1,
        sslStart: -1,
        sslEnd: -1,
        sendStart: 0.909,
        sendEnd: 0.969,
        receiveHeadersEnd: 4.457,
      },
      tlsProtocol: 'TLS 1.3',
      remoteAddress: '127.0.0.1:42719',
      finished: true,
      failure: null,
    },
    {
      requestId: '22952.3',
      url: 'https://h3bench.test:42719/page/d1-0-1.css',
      sentAt: 20733.111456,
      status: 200,
      protocol: 'http/1.1',
      connectionId: 43,
      connectionReused: false,
      timing: {
        requestTime: 20733.128516,
        connectStart: 0.143,
        connectEnd: 4.35,
        sslStart: 0.449,
        sslEnd: 4.341,
        sendStart: 4.632,
        sendEnd: 4.67,
        receiveHeadersEnd: 10.325,
      },
      tlsProtocol: 'TLS 1.3',
      remoteAddress: '127.0.0.1:42719',
      finished: true,
      failure: null,
    },
    {
      requestId: '22952.6',
      url: 'https://h3bench.test:42719/page/d2-1-0.svg',
      sentAt: 20733.166945,
      status: 200,
      protocol: 'http/1.1',
      connectionId: 43,
      connectionReused: true,
      timing: {
        requestTime: 20733.168167,
        connectStart: -1,
        connectEnd: -1,
        sslStart: -1,
        sslEnd: -1,
        sendStart: 1.736,
        sendEnd: 1.843,
        receiveHeadersEnd: 14.805,
      },
      tlsProtocol: 'TLS 1.3',
      remoteAddress: '127.0.0.1:42719',
      finished: true,
      failure: null,
    },
  ],
};

const RECORDED_H2: RecordedLoad = {
  url: 'https://h3bench.test:45015/page/index.html',
  protocol: 'h2',
  ...RECORDED_BROWSER,
  t0MonotonicMs: 20734947.465925,
  t0WallMs: 1796603333126.197,
  endMs: 268.080643,
  navigationError: null,
  timedOut: false,
  timeoutMs: 10000,
  page: {
    timeOrigin: 1796603333141.8,
    navigation: {
      name: 'https://h3bench.test:45015/page/index.html',
      initiatorType: 'navigation',
      nextHopProtocol: 'h2',
      startTime: 0,
      fetchStart: 1.9,
      connectStart: 16.8,
      connectEnd: 98.5,
      requestStart: 99.2,
      responseStart: 111.4,
      responseEnd: 118.4,
      encodedBodySize: 4000,
      decodedBodySize: 4000,
      transferSize: 4300,
      responseStatus: 200,
      domContentLoadedEventEnd: 185.9,
      loadEventEnd: 250.1,
    },
    firstPaint: 244,
    firstContentfulPaint: 244,
    largestContentfulPaint: 244,
    complete: 249.1,
    state: 'complete',
    errors: null,
    resources: [
      {
        name: 'https://h3bench.test:45015/page/d1-0-0.css',
        initiatorType: 'link',
        nextHopProtocol: 'h2',
        startTime: 151.3,
        fetchStart: 151.3,
        connectStart: 151.3,
        connectEnd: 151.3,
        requestStart: 175.8,
        responseStart: 185,
        responseEnd: 185.4,
        encodedBodySize: 3000,
        decodedBodySize: 3000,
        transferSize: 3300,
        responseStatus: 200,
      },
      {
        name: 'https://h3bench.test:45015/page/d1-0-1.css',
        initiatorType: 'link',
        nextHopProtocol: 'h2',
        startTime: 163.3,
        fetchStart: 163.3,
        connectStart: 163.3,
        connectEnd: 163.3,
        requestStart: 181,
        responseStart: 187.4,
        responseEnd: 189,
        encodedBodySize: 3000,
        decodedBodySize: 3000,
        transferSize: 3300,
        responseStatus: 200,
      },
      {
        name: 'https://h3bench.test:45015/page/d2-1-0.svg',
        initiatorType: 'img',
        nextHopProtocol: 'h2',
        startTime: 233.5,
        fetchStart: 233.5,
        connectStart: 233.5,
        connectEnd: 233.5,
        requestStart: 234.3,
        responseStart: 236.4,
        responseEnd: 237.2,
        encodedBodySize: 3000,
        decodedBodySize: 3000,
        transferSize: 3300,
        responseStatus: 200,
      },
    ],
  },
  network: [
    {
      requestId: 'A4051E1C91429380009BF36548529CA3',
      url: 'https://h3bench.test:45015/page/index.html',
      sentAt: 20734.9651,
      status: 200,
      protocol: 'h2',
      connectionId: 33,
      connectionReused: false,
      timing: {
        requestTime: 20734.979687,
        connectStart: 0.241,
        connectEnd: 81.932,
        sslStart: 0.503,
        sslEnd: 81.902,
        sendStart: 82.622,
        sendEnd: 84.292,
        receiveHeadersEnd: 94.975,
      },
      tlsProtocol: 'TLS 1.3',
      remoteAddress: '127.0.0.1:45015',
      finished: true,
      failure: null,
    },
    {
      requestId: '23168.2',
      url: 'https://h3bench.test:45015/page/d1-0-0.css',
      sentAt: 20735.114307,
      status: 200,
      protocol: 'h2',
      connectionId: 33,
      connectionReused: true,
      timing: {
        requestTime: 20735.135931,
        connectStart: -1,
        connectEnd: -1,
        sslStart: -1,
        sslEnd: -1,
        sendStart: 3.002,
        sendEnd: 8.354,
        receiveHeadersEnd: 12.245,
      },
      tlsProtocol: 'TLS 1.3',
      remoteAddress: '127.0.0.1:45015',
      finished: true,
      failure: null,
    },
    {
      requestId: '23168.3',
      url: 'https://h3bench.test:45015/page/d1-0-1.css',
      sentAt: 20735.126417,
      status: 200,
      protocol: 'h2',
      connectionId: 33,
      connectionReused: true,
      timing: {
        requestTime: 20735.141039,
        connectStart: -1,
        connectEnd: -1,
        sslStart: -1,
        sslEnd: -1,
        sendStart: 3.074,
        sendEnd: 3.248,
        receiveHeadersEnd: 9.567,
      },
      tlsProtocol: 'TLS 1.3',
      remoteAddress: '127.0.0.1:45015',
      finished: true,
      failure: null,
    },
    {
      requestId: '23168.6',
      url: 'https://h3bench.test:45015/page/d2-1-0.svg',
      sentAt: 20735.196527,
      status: 200,
      protocol: 'h2',
      connectionId: 33,
      connectionReused: true,
      timing: {
        requestTime: 20735.197098,
        connectStart: -1,
        connectEnd: -1,
        sslStart: -1,
        sslEnd: -1,
        sendStart: 0.284,
        sendEnd: 0.416,
        receiveHeadersEnd: 2.391,
      },
      tlsProtocol: 'TLS 1.3',
      remoteAddress: '127.0.0.1:45015',
      finished: true,
      failure: null,
    },
  ],
};

const PAGE: PageUnderTest = {
  documentPath: '/page/index.html',
  files: [
    { path: '/page/index.html', bytes: 4000 },
    { path: '/page/d1-0-0.css', bytes: 3000 },
    { path: '/page/d1-0-1.css', bytes: 3000 },
    { path: '/page/d2-1-0.svg', bytes: 3000 },
  ],
  completeMark: 'h3bench-page-complete',
  stateKey: 'h3bench',
  completeState: 'complete',
  errorsKey: 'h3benchErrors',
};

/** A deep copy to mutate. */
const copy = (r: RecordedLoad): RecordedLoad => structuredClone(r);

describe('chromiumFlags', () => {
  const base = {
    serverAddress: '198.18.0.2',
    port: 4433,
    serverName: 'h3bench.test',
    spki: 'SPKI=',
    root: true,
  };

  it('forces exactly one HTTP version', () => {
    const h1 = chromiumFlags({ ...base, protocol: 'h1' });
    const h2 = chromiumFlags({ ...base, protocol: 'h2' });
    const h3 = chromiumFlags({ ...base, protocol: 'h3' });
    expect(h1).toEqual(expect.arrayContaining(['--disable-http2', '--disable-quic']));
    expect(h1).not.toContain('--enable-quic');
    expect(h2).toContain('--disable-quic');
    expect(h2).not.toContain('--disable-http2');
    expect(h3).toEqual(
      expect.arrayContaining(['--enable-quic', '--origin-to-force-quic-on=h3bench.test:4433']),
    );
    expect(h3.filter((f) => f.includes('disable-quic') || f.includes('disable-http2'))).toEqual([]);
  });

  it('reaches the server by name only, trusts its key, and stays headless and quiet', () => {
    const f = chromiumFlags({ ...base, protocol: 'h2' });
    expect(f).toContain('--host-resolver-rules=MAP h3bench.test 198.18.0.2, MAP * ~NOTFOUND');
    expect(f).toContain('--ignore-certificate-errors-spki-list=SPKI=');
    expect(f).not.toContain('--ignore-certificate-errors');
    expect(f[0]).toBe('--headless=new');
    expect(f).toEqual(
      expect.arrayContaining([
        '--no-sandbox',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-domain-reliability',
        '--disable-sync',
        '--no-first-run',
        '--disable-default-apps',
        '--metrics-recording-only',
        '--disable-breakpad',
        '--disable-field-trial-config',
        '--disable-features=Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider,AutofillServerCommunication,NetworkTimeServiceQuerying',
      ]),
    );
    expect(chromiumFlags({ ...base, protocol: 'h2', root: false })).not.toContain('--no-sandbox');
    expect(chromiumFlags({ ...base, protocol: 'h2', serverAddress: 'fd00::2' })).toContain(
      '--host-resolver-rules=MAP h3bench.test [fd00::2], MAP * ~NOTFOUND',
    );
  });
});

describe('helpers', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'h3bench-chromium-unit-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('finds an executable browser on the search path', () => {
    expect(findChromium(dir, [])).toBeNull();
    const bin = path.join(dir, 'chromium-browser');
    writeFileSync(bin, '#!/bin/sh\n');
    expect(findChromium(`/nonexistent:${dir}`, [])).toBeNull();
    chmodSync(bin, 0o755);
    expect(findChromium(`/nonexistent:${dir}`, [])).toBe(bin);
  });

  it('writes TLS versions as the h3bench clients do', () => {
    expect(tlsVersionOf('TLS 1.3')).toBe('TLSv1.3');
    expect(tlsVersionOf('QUIC')).toBe('TLSv1.3');
    expect(tlsVersionOf(null)).toBeNull();
  });

  it('names the attribute of a dataset key as HTML does', () => {
    expect(datasetAttribute('h3bench')).toBe('data-h3bench');
    expect(datasetAttribute('h3benchErrors')).toBe('data-h3bench-errors');
  });

  it('folds Network events into one record per request, the last redirect hop winning', () => {
    const ev = (method: string, params: Record<string, unknown>) => ({ method, params });
    const recs = networkRequests([
      ev('Network.requestWillBeSent', { requestId: 'A', request: { url: 'https://x/a' }, timestamp: 1 }),
      ev('Network.requestWillBeSent', { requestId: 'A', request: { url: 'https://x/b' }, timestamp: 2 }),
      ev('Network.responseReceived', {
        requestId: 'A',
        response: {
          status: 200,
          protocol: 'h3',
          connectionId: 7,
          connectionReused: false,
          timing: { requestTime: 2, connectStart: 0, connectEnd: 5 },
          securityDetails: { protocol: 'QUIC' },
          remoteIPAddress: '198.18.0.2',
          remotePort: 443,
        },
      }),
      ev('Network.loadingFinished', { requestId: 'A' }),
      ev('Network.requestWillBeSent', { requestId: 'B', request: { url: 'https://x/c' }, timestamp: 3 }),
      ev('Network.loadingFailed', { requestId: 'B', errorText: 'net::ERR_QUIC_PROTOCOL_ERROR' }),
      ev('Page.loadEventFired', { timestamp: 4 }),
    ]);
    expect(recs).toEqual([
      {
        requestId: 'A',
        url: 'https://x/b',
        sentAt: 2,
        status: 200,
        protocol: 'h3',
        connectionId: 7,
        connectionReused: false,
        timing: { requestTime: 2, connectStart: 0, connectEnd: 5 },
        tlsProtocol: 'QUIC',
        remoteAddress: '198.18.0.2:443',
        finished: true,
        failure: null,
      },
      expect.objectContaining({
        requestId: 'B',
        url: 'https://x/c',
        status: null,
        failure: 'net::ERR_QUIC_PROTOCOL_ERROR',
      }),
    ]);
  });
});

describe('browserReport on recorded loads', () => {
  it("places page times on the run timeline through CDP's monotonic clock, agreeing with the wall clock", () => {
    const c = clockMapping(RECORDED_H1);
    // requestTime·1000 + sendStart − requestStart − t0, per request: 3.8516, 3.8226, 3.8946, 3.8496.
    expect(c.method).toBe('monotonic');
    expect(c.pairs).toBe(4);
    expect(c.originMs).toBeCloseTo(3.8506, 3);
    expect(c.spreadMs).toBeCloseTo(0.044, 3);
    // The wall clock (performance.timeOrigin against t0's) says the same within 0.1 ms.
    expect(Math.abs(c.originMs - (RECORDED_H1.page?.timeOrigin ?? 0) + RECORDED_H1.t0WallMs)).toBeLessThan(
      0.1,
    );
    const noPairs = copy(RECORDED_H1);
    noPairs.network = [];
    expect(clockMapping(noPairs)).toEqual({
      originMs: 3.820068359375,
      method: 'wall-clock',
      pairs: 0,
      spreadMs: null,
    });
  });

  it('h1: one record per page file, one connection per socket with its TCP and TLS times', () => {
    const out = browserReport(RECORDED_H1, PAGE);
    const o = 3.850598;
    expect(out.wrongProtocol).toEqual([]);
    expect(out.connections).toHaveLength(2);
    const [c0, c1] = out.connections;
    expect(c0).toMatchObject({
      id: 0,
      alpn: 'http/1.1',
      tlsVersion: 'TLSv1.3',
      error: null,
      transport: null,
    });
    expect(c0?.tStart).toBeCloseTo(7.440598, 5);
    expect(c0?.tTcpConnected).toBeCloseTo(7.623598, 5);
    expect(c0?.tHandshakeDone).toBeCloseTo(21.242598, 5);
    expect(c1?.tStart).toBeCloseTo(86.305598, 5);
    expect(c1?.tHandshakeDone).toBeCloseTo(90.512598, 5);
    expect(
      out.requests.map((r) => [r.id, r.connection, r.status, r.bytes, r.bytesExpected, r.error]),
    ).toEqual([
      [0, 0, 200, 4000, 4000, null],
      [1, 0, 200, 3000, 3000, null],
      [2, 1, 200, 3000, 3000, null],
      [3, 1, 200, 3000, 3000, null],
    ]);
    const doc = out.requests[0];
    expect(doc?.tIntended).toBeCloseTo(o, 5);
    expect(doc?.tStart).toBeCloseTo(o + 18.8, 5);
    expect(doc?.tHeaders).toBeCloseTo(o + 27.9, 5);
    expect(doc?.tEnd).toBeCloseTo(o + 32.6, 5);
    expect(doc?.chunks).toEqual([[doc?.tEnd, 4000]]);
    expect(doc?.stream).toBeNull();
    // Two clocks, one story: every request is sent after its connection's handshake.
    for (const r of out.requests) {
      const conn = out.connections[r.connection ?? -1];
      expect(r.tStart).toBeGreaterThanOrEqual(conn?.tHandshakeDone ?? Infinity);
      expect(r.tHeaders ?? -1).toBeGreaterThan(r.tStart);
      expect(r.tEnd ?? -1).toBeGreaterThanOrEqual(r.tHeaders ?? Infinity);
    }
    expect(out.durationMs).toBeCloseTo(o + 152.5, 5);
    expect(out.metrics).toEqual({
      ttfbMs: 27.9,
      domContentLoadedMs: 91.3,
      loadEventMs: 152.8,
      firstPaintMs: 116,
      firstContentfulPaintMs: 116,
      largestContentfulPaintMs: 172,
      pageLoadMs: 152.5,
      connectionsUsed: 2,
    });
  });

  it('h2: one connection; the browser block lists every resource with its protocol', () => {
    const out = browserReport(RECORDED_H2, PAGE);
    expect(out.connections).toHaveLength(1);
    expect(out.connections[0]).toMatchObject({ alpn: 'h2' });
    expect(out.requests.every((r) => r.connection === 0 && r.error === null)).toBe(true);
    expect(out.browser).toMatchObject({
      name: 'chromium',
      version: '156.0.8078.129',
      protocol: 'h2',
      navigationError: null,
      timedOut: false,
      pageState: 'complete',
      pageErrors: [],
      chunks: NO_CHUNK_DATA,
      otherRequests: [],
    });
    expect(
      out.browser.resources.map((r) => [r.name.replace(/^.*\/page\//, ''), r.nextHopProtocol, r.status]),
    ).toEqual([
      ['index.html', 'h2', 200],
      ['d1-0-0.css', 'h2', 200],
      ['d1-0-1.css', 'h2', 200],
      ['d2-1-0.svg', 'h2', 200],
    ]);
    expect(out.settings).toMatchObject({
      engine: 'chromium',
      version: '156.0.8078.129',
      protocolForced: 'h2',
    });
    // What client-main writes passes the result schema.
    const report: ClientReport = {
      protocol: 'h2',
      t0EpochMs: 1,
      t0MonotonicNs: '1',
      durationMs: out.durationMs,
      connections: out.connections,
      requests: out.requests,
      cpu: { userMs: 1, systemMs: 1, wallMs: 1 },
      metrics: out.metrics,
      settings: out.settings,
      browser: out.browser,
    };
    expect(clientReportSchema.safeParse(JSON.parse(JSON.stringify(report))).success).toBe(true);
  });

  it('lists every resource loaded over another protocol than the forced one', () => {
    const rec = copy(RECORDED_H2);
    rec.protocol = 'h3';
    const page = rec.page;
    if (page?.resources[1] === undefined) throw new Error('fixture');
    page.resources[1].nextHopProtocol = 'h3';
    const out = browserReport(rec, PAGE);
    expect(out.wrongProtocol).toEqual([
      'https://h3bench.test:45015/page/index.html (h2)',
      'https://h3bench.test:45015/page/d1-0-0.css (h2)',
      'https://h3bench.test:45015/page/d2-1-0.svg (h2)',
    ]);
  });

  it('fails a file with the wrong size, a bad status or reported failed by the page', () => {
    const rec = copy(RECORDED_H2);
    const page = rec.page;
    const css0 = page?.resources[0];
    const css1 = rec.network.find((n) => n.url.endsWith('d1-0-1.css'));
    if (page === null || css0 === undefined || css1 === undefined) throw new Error('fixture');
    css0.decodedBodySize = 2999;
    css1.status = 404;
    page.errors = 'https://h3bench.test:45015/page/d2-1-0.svg';
    const errors = browserReport(rec, PAGE).requests.map((r) => r.error);
    expect(errors).toEqual([
      null,
      'body of 2999 B, expected 3000 B',
      'HTTP status 404',
      'the page reported it failed',
    ]);
  });

  it('a page that did not complete: what loaded counts, the rest timed out', () => {
    const rec = copy(RECORDED_H2);
    const page = rec.page;
    if (page === null) throw new Error('fixture');
    page.resources = page.resources.filter((e) => !e.name.endsWith('.svg'));
    page.complete = null;
    page.state = null;
    rec.timedOut = true;
    const out = browserReport(rec, PAGE);
    expect(out.requests.map((r) => [r.error, r.timedOut])).toEqual([
      [null, false],
      [null, false],
      [null, false],
      ['not loaded within 10000 ms', true],
    ]);
    expect(out.durationMs).toBe(rec.endMs);
    expect(out.metrics.pageLoadMs).toBeUndefined();
    expect(out.browser.timedOut).toBe(true);
  });

  it('a document that failed: its error, and nothing else requested', () => {
    const rec = copy(RECORDED_H2);
    rec.page = null;
    rec.navigationError = 'net::ERR_QUIC_PROTOCOL_ERROR';
    const doc = rec.network[0];
    if (doc === undefined) throw new Error('fixture');
    rec.network = [
      { ...doc, status: null, timing: null, connectionId: null, failure: 'net::ERR_QUIC_PROTOCOL_ERROR' },
    ];
    const out = browserReport(rec, PAGE);
    expect(out.requests.map((r) => r.error)).toEqual([
      'the document failed: net::ERR_QUIC_PROTOCOL_ERROR',
      'not requested: the document did not load',
      'not requested: the document did not load',
      'not requested: the document did not load',
    ]);
    expect(out.requests.some((r) => r.timedOut)).toBe(false);
    expect(out.connections).toEqual([]);
    expect(out.metrics).toEqual({ connectionsUsed: 0 });
    expect(out.browser).toMatchObject({
      navigationError: 'net::ERR_QUIC_PROTOCOL_ERROR',
      timeOriginMs: null,
    });
  });
});
