/**
 * `stacks.client: chromium`: a real headless Chromium loads the run's generated page over exactly
 * one HTTP version, driven over its DevTools pipe (cdp.ts). What it measures comes from the page's
 * own Navigation, Paint, Largest Contentful Paint and Resource Timing entries (W3C Navigation
 * Timing Level 2, Paint Timing, Largest Contentful Paint, Resource Timing Level 2) and from the CDP
 * Network domain (connection ids, negotiated protocol, connection setup times, HTTP status).
 *
 * Split in three so the mapping can be tested on recorded data: `openChromium` (launch, before t0),
 * `loadPage` (navigate, wait for the page's completion mark, record) and `browserReport` (recorded
 * data → the client report's records, metrics and `browser` block).
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import path from 'node:path';
import type {
  BrowserReport,
  BrowserResource,
  ConnectionRecord,
  EngineSettings,
  RequestRecord,
} from '../model/records.js';
import { spkiHash } from '../proto/tls.js';
import type { Protocol } from '../scenario/schema.js';
import { CdpError, ChromiumProcess, readProcessTable, type CdpEvent } from './cdp.js';

/**
 * Where the browser is looked for, in order. Debian's /usr/bin/chromium is a shell wrapper that adds
 * switches of its own from /etc/chromium.d (extensions, GPU rasterization, Google API keys in the
 * environment); its binary, started directly, runs with exactly the switches recorded here.
 */
export const CHROMIUM_PATHS = ['/usr/lib/chromium/chromium'];
export const CHROMIUM_NAMES = ['chromium', 'chromium-browser', 'google-chrome-stable', 'google-chrome'];

/** The browser binary, or null when none is installed. */
export function findChromium(searchPath = process.env.PATH ?? '', fixed = CHROMIUM_PATHS): string | null {
  const dirs = searchPath.split(':').filter((d) => d !== '');
  for (const candidate of [...fixed, ...CHROMIUM_NAMES.flatMap((n) => dirs.map((d) => path.join(d, n)))]) {
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      /* not here */
    }
  }
  return null;
}

/** What `nextHopProtocol` (Resource Timing) and CDP's `response.protocol` say for each version. */
export const NEXT_HOP_PROTOCOL: Record<Protocol, string> = { h1: 'http/1.1', h2: 'h2', h3: 'h3' };

/**
 * Background features switched off by name (`--disable-features`), each checked to exist in
 * Chromium 156: Translate, the Optimization Guide's hint fetching (OptimizationHints), Cast device
 * discovery (MediaRouter, DialMediaRouteProvider), Autofill's server queries
 * (AutofillServerCommunication) and the network time queries (NetworkTimeServiceQuerying).
 * GoogleChrome/chrome-launcher src/flags.ts lists the first five for the same reason.
 */
export const DISABLED_FEATURES = [
  'Translate',
  'OptimizationHints',
  'MediaRouter',
  'DialMediaRouteProvider',
  'AutofillServerCommunication',
  'NetworkTimeServiceQuerying',
];

/**
 * Profile preferences written before the browser starts. `net.network_prediction_options: 2` is
 * Chrome's "Preload pages" setting off (NetworkPredictionOptions::kDisabled,
 * chrome/browser/preloading/preloading_prefs.h): without it the loading predictor preconnects two
 * sockets to the page's origin as the navigation starts (AddInitialUrlToPreconnectPrediction,
 * chrome/browser/predictors/loading_predictor.cc), and a request handed a preconnected socket
 * reports no connect or TLS times (CDP timing.connectStart = -1), so the connection's setup could
 * not be measured. With it off, the request that needs a connection opens it.
 */
export const CHROMIUM_PREFERENCES = { net: { network_prediction_options: 2 } };

export interface ChromiumTarget {
  protocol: Protocol;
  /** The server's address in the client's namespace. */
  serverAddress: string;
  port: number;
  /** The name in the URL, sent as SNI and checked against the certificate (SERVER_NAME). */
  serverName: string;
  /** SPKI hash of the server certificate (`spkiHash`). */
  spki: string;
  /** Running as root: Chromium's sandbox refuses to, so `--no-sandbox`. */
  root: boolean;
}

/**
 * Every switch the browser gets (besides --user-data-dir and --remote-debugging-pipe, added by
 * ChromiumProcess.launch).
 *
 * - Headless (`--headless=new`, the full browser without a window), a fixed window size (the
 *   viewport decides which element is the largest contentful paint), `--no-sandbox` as root.
 * - No background traffic: `--disable-background-networking` (extension and component updates,
 *   Safe Browsing list updates, translate, UMA uploads), `--disable-component-update`,
 *   `--disable-domain-reliability`, `--disable-sync`, `--metrics-recording-only` (record, never
 *   upload), `--disable-breakpad` (no crash reporter), `--no-first-run`,
 *   `--no-default-browser-check`, `--disable-default-apps`, `--disable-extensions`,
 *   `--disable-component-extensions-with-background-pages`, `--no-proxy-server` (no proxy
 *   auto-detection), `--password-store=basic` (no keyring over D-Bus), the features above, and
 *   host resolver rules that map the server's name to its address and every other name to
 *   "not found" (`~NOTFOUND`, net/dns/mapped_host_resolver.h), so no DNS query, DNS prefetch or
 *   connection to any other host leaves the namespace. Most switches are those of
 *   GoogleChrome/chrome-launcher docs/chrome-flags-for-tools.md; every one was checked to exist in
 *   the Chromium 156 binary (an unknown switch is ignored silently).
 * - Reproducible behaviour: `--disable-field-trial-config` (Chromium builds that are not Chrome
 *   branded otherwise enable the experiments of testing/variations/fieldtrial_testing_config.json;
 *   see testing/variations/README.md), no timer or renderer throttling of a page Chromium may think
 *   hidden (`--disable-background-timer-throttling`, `--disable-renderer-backgrounding`,
 *   `--disable-backgrounding-occluded-windows`).
 * - The certificate: trusted by the SPKI hash of the server certificate
 *   (`--ignore-certificate-errors-spki-list`; the CA's hash is not enough: Chromium matches it
 *   against the certificates the server sends, services/network/ignore_errors_cert_verifier.cc, and
 *   our servers send the leaf alone; --ignore-certificate-errors is not honoured for QUIC).
 * - Exactly one HTTP version: h1 `--disable-http2 --disable-quic`; h2 `--disable-quic`; h3
 *   `--enable-quic --origin-to-force-quic-on=NAME:PORT` (QUIC from the first request, no TCP race,
 *   no Alt-Svc discovery).
 */
export function chromiumFlags(t: ChromiumTarget): string[] {
  const origin = `${t.serverName}:${t.port}`;
  const address = t.serverAddress.includes(':') ? `[${t.serverAddress}]` : t.serverAddress;
  const version: Record<Protocol, string[]> = {
    h1: ['--disable-http2', '--disable-quic'],
    h2: ['--disable-quic'],
    h3: ['--enable-quic', `--origin-to-force-quic-on=${origin}`],
  };
  return [
    '--headless=new',
    ...(t.root ? ['--no-sandbox'] : []),
    '--window-size=1280,800',
    '--no-first-run',
    '--no-default-browser-check',
    '--disable-default-apps',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-domain-reliability',
    '--disable-sync',
    '--metrics-recording-only',
    '--disable-breakpad',
    '--disable-extensions',
    '--disable-component-extensions-with-background-pages',
    '--no-proxy-server',
    '--password-store=basic',
    '--disable-field-trial-config',
    '--disable-background-timer-throttling',
    '--disable-renderer-backgrounding',
    '--disable-backgrounding-occluded-windows',
    `--disable-features=${DISABLED_FEATURES.join(',')}`,
    `--host-resolver-rules=MAP ${t.serverName} ${address}, MAP * ~NOTFOUND`,
    `--ignore-certificate-errors-spki-list=${t.spki}`,
    ...version[t.protocol],
  ];
}

/** What the page must load (harness/proto/pages.ts): every file, document first. */
export interface PageUnderTest {
  /** Path of the document (DOCUMENT_PATH). */
  documentPath: string;
  /** Every file, document first, with its body size. */
  files: { path: string; bytes: number }[];
  /** The `performance.mark` the page sets once every subresource of every depth has loaded. */
  completeMark: string;
  /** `document.documentElement.dataset` key the page sets to `completeState` at the end. */
  stateKey: string;
  completeState: string;
  /** `dataset` key listing the URLs that failed (space-separated). */
  errorsKey: string;
}

/** Browser.getVersion. */
export interface BrowserVersion {
  product: string;
  revision: string;
  userAgent: string;
  protocolVersion: string;
  jsVersion: string;
}

/**
 * One Resource Timing entry (or the Navigation Timing entry), as the page reported it: the fields a
 * BrowserResource keeps, plus the connection phase, without what CDP adds (status, connection).
 */
export interface TimingEntry extends Omit<BrowserResource, 'status' | 'connection'> {
  fetchStart: number;
  connectStart: number;
  connectEnd: number;
  /** Resource Timing's responseStatus (0 when the browser does not expose it). */
  responseStatus: number;
}

/** What the page's performance timeline held when the load was over. */
export interface PageSnapshot {
  /** performance.timeOrigin: ms since the Unix epoch (wall clock) of startTime 0. */
  timeOrigin: number;
  navigation: (TimingEntry & { domContentLoadedEventEnd: number; loadEventEnd: number }) | null;
  firstPaint: number | null;
  firstContentfulPaint: number | null;
  largestContentfulPaint: number | null;
  /** startTime of the completion mark, null if the page never set it. */
  complete: number | null;
  /** dataset[stateKey] and dataset[errorsKey]. */
  state: string | null;
  errors: string | null;
  resources: TimingEntry[];
}

/** What CDP's Network domain said about one request. */
export interface NetworkRequest {
  requestId: string;
  url: string;
  /** Network.requestWillBeSent timestamp, seconds on the browser's monotonic clock. */
  sentAt: number;
  status: number | null;
  protocol: string | null;
  connectionId: number | null;
  connectionReused: boolean | null;
  /** response.timing: requestTime (s, monotonic) and offsets from it in ms (-1 = not applicable). */
  timing: Record<string, number> | null;
  tlsProtocol: string | null;
  remoteAddress: string | null;
  /** Network.loadingFinished / loadingFailed. */
  finished: boolean;
  failure: string | null;
}

/** Everything one page load recorded, JSON as it is (the unit tests replay recorded ones). */
export interface RecordedLoad {
  url: string;
  protocol: Protocol;
  version: BrowserVersion;
  executable: string;
  flags: string[];
  /** t0 of the client on CLOCK_MONOTONIC, ms (process.hrtime.bigint() / 1e6). */
  t0MonotonicMs: number;
  /** t0 on the wall clock, ms since the epoch, sub-ms (performance.timeOrigin + t0). */
  t0WallMs: number;
  /** When the client gave up waiting (timeout) or saw the page complete, ms since t0. */
  endMs: number;
  /** Page.navigate's errorText, or the document's loading failure. */
  navigationError: string | null;
  /** The page did not complete within the timeout. */
  timedOut: boolean;
  timeoutMs: number;
  page: PageSnapshot | null;
  network: NetworkRequest[];
}

/** A Chromium ready to load (launched, one page attached, recording): opened before t0. */
export interface ChromiumSession {
  proc: ChromiumProcess;
  sessionId: string;
  version: BrowserVersion;
  executable: string;
  flags: string[];
  target: ChromiumTarget;
  /** The page session's events so far (Network.*, Page.*, the completion binding). */
  events: CdpEvent[];
}

/** Name of the binding through which the page announces its completion. */
const BINDING = '__h3benchComplete';

/** The HTML attribute of a `dataset` key (HTML § 3.2.6.6: "fooBar" → "data-foo-bar"). */
export function datasetAttribute(key: string): string {
  return `data-${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/**
 * Runs in the page before any of its scripts: a Resource Timing buffer large enough for every file
 * (the default holds 250 entries, Resource Timing Level 2 § setResourceTimingBufferSize), and a
 * MutationObserver on the state attribute that calls the binding as soon as the page says it is
 * complete (in a microtask after the page's script that set it, with the mark already set). Only
 * the detection waits on it: the completion time is the mark's.
 */
function injectedScript(p: PageUnderTest): string {
  return `(() => {
  performance.setResourceTimingBufferSize(1000000);
  const key = ${JSON.stringify(p.stateKey)};
  const done = ${JSON.stringify(p.completeState)};
  new MutationObserver((_, observer) => {
    if (document.documentElement?.dataset[key] === done) {
      observer.disconnect();
      globalThis[${JSON.stringify(BINDING)}](done);
    }
  }).observe(document, { subtree: true, attributes: true, attributeFilter: [${JSON.stringify(datasetAttribute(p.stateKey))}] });
})();`;
}

/** Longest wait for the first contentful paint once the page completed, ms. */
const PAINT_WAIT_MS = 2000;

/**
 * Evaluated in the page once it completed (or timed out): the performance timeline as JSON, after
 * the first contentful paint (at most PAINT_WAIT_MS later) and two more frames.
 */
function snapshotScript(p: PageUnderTest): string {
  return `(async () => {
  const pick = (e) => ({
    name: e.name, initiatorType: e.initiatorType, nextHopProtocol: e.nextHopProtocol,
    startTime: e.startTime, fetchStart: e.fetchStart, connectStart: e.connectStart,
    connectEnd: e.connectEnd, requestStart: e.requestStart, responseStart: e.responseStart,
    responseEnd: e.responseEnd, encodedBodySize: e.encodedBodySize,
    decodedBodySize: e.decodedBodySize, transferSize: e.transferSize,
    responseStatus: e.responseStatus ?? 0,
  });
  const nav = performance.getEntriesByType('navigation')[0];
  const paint = (name) => performance.getEntriesByName(name, 'paint')[0]?.startTime ?? null;
  // Paint entries arrive once a frame is presented, which may be after the last load: wait for
  // the first contentful paint (bounded), then two animation frames for the last LCP candidates.
  if (paint('first-contentful-paint') === null) {
    await new Promise((resolve) => {
      const po = new PerformanceObserver(() => {
        if (paint('first-contentful-paint') !== null) { po.disconnect(); resolve(); }
      });
      po.observe({ type: 'paint' });
      setTimeout(() => { po.disconnect(); resolve(); }, ${PAINT_WAIT_MS});
    });
  }
  await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
  const lcp = await new Promise((resolve) => {
    let last = null;
    const po = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) last = e.startTime;
    });
    po.observe({ type: 'largest-contentful-paint', buffered: true });
    for (const e of po.takeRecords()) last = e.startTime;
    setTimeout(() => { for (const e of po.takeRecords()) last = e.startTime; po.disconnect(); resolve(last); }, 0);
  });
  const data = document.documentElement ? document.documentElement.dataset : {};
  return {
    timeOrigin: performance.timeOrigin,
    navigation: nav ? { ...pick(nav), domContentLoadedEventEnd: nav.domContentLoadedEventEnd, loadEventEnd: nav.loadEventEnd } : null,
    firstPaint: paint('first-paint'),
    firstContentfulPaint: paint('first-contentful-paint'),
    largestContentfulPaint: lcp,
    complete: performance.getEntriesByName(${JSON.stringify(p.completeMark)}, 'mark')[0]?.startTime ?? null,
    state: data[${JSON.stringify(p.stateKey)}] ?? null,
    errors: data[${JSON.stringify(p.errorsKey)}] ?? null,
    resources: performance.getEntriesByType('resource').map(pick),
  };
})()`;
}

/**
 * Launches Chromium for one run and prepares a blank page: version read, Network and Page domains
 * recording, the completion binding and the injected script in place. Call before t0; close with
 * `session.proc.close()` whatever happens.
 */
export async function openChromium(
  target: Omit<ChromiumTarget, 'spki' | 'root'> & { certPem: string },
  page: PageUnderTest,
  opts: { executable?: string | null; profileParent?: string } = {},
): Promise<ChromiumSession> {
  const executable = opts.executable ?? findChromium();
  if (executable === null) {
    throw new Error(`Chromium not found (looked for ${[...CHROMIUM_PATHS, ...CHROMIUM_NAMES].join(', ')})`);
  }
  const t: ChromiumTarget = {
    protocol: target.protocol,
    serverAddress: target.serverAddress,
    port: target.port,
    serverName: target.serverName,
    spki: spkiHash(target.certPem),
    root: process.getuid?.() === 0,
  };
  const flags = chromiumFlags(t);
  // The first tab opens on about:blank (without a URL it would load the New Tab page).
  const proc = ChromiumProcess.launch({
    executable,
    args: flags,
    url: 'about:blank',
    preferences: CHROMIUM_PREFERENCES,
    ...(opts.profileParent !== undefined ? { profileParent: opts.profileParent } : {}),
  });
  try {
    const cdp = proc.cdp;
    const version = await cdp.send<BrowserVersion>('Browser.getVersion');
    const { targetInfos } = await cdp.send<{ targetInfos: { targetId: string; type: string }[] }>(
      'Target.getTargets',
    );
    const existing = targetInfos.find((x) => x.type === 'page');
    const targetId =
      existing?.targetId ??
      (await cdp.send<{ targetId: string }>('Target.createTarget', { url: 'about:blank' })).targetId;
    const { sessionId } = await cdp.send<{ sessionId: string }>('Target.attachToTarget', {
      targetId,
      flatten: true,
    });
    const events: CdpEvent[] = [];
    cdp.onEvent((e) => {
      if (e.sessionId === sessionId) events.push(e);
    });
    const on = { sessionId };
    await cdp.send('Network.enable', {}, on);
    await cdp.send('Page.enable', {}, on);
    await cdp.send('Runtime.enable', {}, on);
    await cdp.send('Runtime.addBinding', { name: BINDING }, on);
    await cdp.send('Page.addScriptToEvaluateOnNewDocument', { source: injectedScript(page) }, on);
    return { proc, sessionId, version, executable, flags, target: t, events };
  } catch (err) {
    await proc.close();
    throw err;
  }
}

/** Longest wait for the load event once the page said it is complete, ms. */
const LOAD_EVENT_GRACE_MS = 2000;

/** The run's timeline: `now()` = ms since t0; t0 on CLOCK_MONOTONIC and on the wall clock. */
export interface RunClock {
  now: () => number;
  t0MonotonicMs: number;
  t0WallMs: number;
}

/**
 * Navigates to the page and waits until it sets its completion mark (and its load event fired), or
 * the document fails, or `timeoutMs` passes; then records the performance timeline and the network
 * events. Never throws for what the page did (a failed or slow load is in the record); throws when
 * the browser itself fails (CdpError).
 */
export async function loadPage(
  s: ChromiumSession,
  page: PageUnderTest,
  timeoutMs: number,
  clock: RunClock,
): Promise<RecordedLoad> {
  const { proc, sessionId } = s;
  const cdp = proc.cdp;
  const url = `https://${s.target.serverName}:${s.target.port}${page.documentPath}`;
  const deadline = clock.now() + timeoutMs;
  const left = () => Math.max(1, deadline - clock.now());
  let navigationError: string | null = null;
  let timedOut = false;
  // Everything the page session says from here on decides how the wait ends.
  let off = () => {};
  const outcome = new Promise<'complete' | 'failed'>((resolve) => {
    let complete = false;
    let navigated = false;
    let loaded = false;
    let grace: NodeJS.Timeout | undefined;
    const check = () => {
      if (complete && loaded) resolve('complete');
      // The load event follows the last load at once; a page that never fires it still completed.
      else if (complete) {
        grace ??= setTimeout(() => {
          resolve('complete');
        }, LOAD_EVENT_GRACE_MS).unref();
      }
    };
    const seen = (e: CdpEvent) => {
      const frame = e.params.frame as { url?: unknown; parentId?: unknown } | undefined;
      if (e.method === 'Runtime.bindingCalled' && e.params.name === BINDING) complete = true;
      // The load event of our document: after the main frame navigated to it.
      else if (e.method === 'Page.frameNavigated' && frame?.parentId === undefined)
        navigated = frame?.url === url;
      else if (e.method === 'Page.loadEventFired' && navigated) loaded = true;
      else if (e.method === 'Network.loadingFailed' && e.params.type === 'Document') {
        const why = e.params.errorText;
        navigationError ??= typeof why === 'string' ? why : 'the document failed to load';
        resolve('failed');
      }
      check();
    };
    off = cdp.onEvent((e) => {
      if (e.sessionId === sessionId) seen(e);
    });
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    const nav = await cdp.send<{ errorText?: string }>(
      'Page.navigate',
      { url },
      { sessionId, timeoutMs: left() },
    );
    if (nav.errorText !== undefined && nav.errorText !== '') navigationError = nav.errorText;
    if (navigationError === null) {
      const result = await Promise.race([
        outcome,
        new Promise<'timeout'>((r) => {
          timer = setTimeout(() => {
            r('timeout');
          }, left());
        }),
        proc.exited.then(() => 'exited' as const),
      ]);
      if (result === 'exited') throw proc.cdp.error ?? new CdpError('exited', 'the browser exited');
      timedOut = result === 'timeout';
    }
  } catch (err) {
    // Page.navigate itself ran past the timeout (the document never answered): a timed-out load.
    if (!(err instanceof CdpError && err.kind === 'timeout')) throw err;
    timedOut = true;
  } finally {
    clearTimeout(timer);
    off();
  }
  const endMs = clock.now();
  let snapshot: PageSnapshot | null = null;
  if (navigationError === null) {
    const r = await cdp.send<{ result: { value?: unknown }; exceptionDetails?: { text?: string } }>(
      'Runtime.evaluate',
      { expression: snapshotScript(page), awaitPromise: true, returnByValue: true },
      { sessionId, timeoutMs: PAINT_WAIT_MS + 10_000 },
    );
    if (r.exceptionDetails !== undefined) {
      throw new Error(`reading the page's performance timeline failed: ${r.exceptionDetails.text ?? ''}`);
    }
    snapshot = r.result.value as PageSnapshot;
    // A navigation that never committed (timed out) leaves the blank page's timeline: not ours.
    if (snapshot.navigation?.name !== url) snapshot = null;
  }
  return {
    url,
    protocol: s.target.protocol,
    version: s.version,
    executable: s.executable,
    flags: s.flags,
    t0MonotonicMs: clock.t0MonotonicMs,
    t0WallMs: clock.t0WallMs,
    endMs,
    navigationError,
    timedOut,
    timeoutMs,
    page: snapshot,
    network: networkRequests(s.events),
  };
}

/** The Network domain's events folded into one record per request. */
export function networkRequests(events: CdpEvent[]): NetworkRequest[] {
  const byId = new Map<string, NetworkRequest>();
  const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
  const numOrNull = (v: unknown): number | null => (typeof v === 'number' ? v : null);
  for (const { method, params: p } of events) {
    const id = str(p.requestId);
    if (id === null || !method.startsWith('Network.')) continue;
    if (method === 'Network.requestWillBeSent') {
      const request = p.request as { url?: unknown } | undefined;
      // A redirect reuses the id: the last request is the one that loads.
      byId.set(id, {
        requestId: id,
        url: str(request?.url) ?? '',
        sentAt: numOrNull(p.timestamp) ?? NaN,
        status: null,
        protocol: null,
        connectionId: null,
        connectionReused: null,
        timing: null,
        tlsProtocol: null,
        remoteAddress: null,
        finished: false,
        failure: null,
      });
      continue;
    }
    const r = byId.get(id);
    if (r === undefined) continue;
    if (method === 'Network.responseReceived') {
      const res = (p.response ?? {}) as Record<string, unknown>;
      r.status = numOrNull(res.status);
      r.protocol = str(res.protocol);
      r.connectionId = numOrNull(res.connectionId);
      r.connectionReused = typeof res.connectionReused === 'boolean' ? res.connectionReused : null;
      r.timing = (res.timing ?? null) as Record<string, number> | null;
      r.tlsProtocol = str((res.securityDetails as { protocol?: unknown } | undefined)?.protocol);
      const ip = str(res.remoteIPAddress);
      r.remoteAddress = ip === null ? null : `${ip}:${String(numOrNull(res.remotePort) ?? '?')}`;
    } else if (method === 'Network.loadingFinished') {
      r.finished = true;
    } else if (method === 'Network.loadingFailed') {
      r.finished = true;
      r.failure = str(p.errorText) ?? 'failed';
    }
  }
  return [...byId.values()];
}

/**
 * CDP's securityDetails.protocol ("TLS 1.3", or "QUIC" for HTTP/3) as h3bench's clients write TLS
 * versions ("TLSv1.3"); QUIC version 1 always runs TLS 1.3 (RFC 9001 § 4.2).
 */
export function tlsVersionOf(protocol: string | null): string | null {
  if (protocol === null) return null;
  if (protocol === 'QUIC') return 'TLSv1.3';
  const m = /^TLS (\d\.\d)$/.exec(protocol);
  return m ? `TLSv${m[1] ?? ''}` : protocol;
}

/** Median of a non-empty list. */
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** How page times (ms since the page's time origin) were placed on the run's timeline. */
export interface ClockMapping {
  /** The page's startTime 0 on the run's timeline, ms since t0. */
  originMs: number;
  method: 'monotonic' | 'wall-clock';
  /** Requests whose two clocks were paired (monotonic). */
  pairs: number;
  /** Largest deviation of one pair from the median, ms (monotonic); null for wall-clock. */
  spreadMs: number | null;
}

/**
 * Where the page's time origin lies on the run's timeline. Chromium's timestamps (CDP's
 * `timing.requestTime`, Resource Timing's values before their origin is subtracted) are
 * base::TimeTicks, CLOCK_MONOTONIC on Linux (base/time/time_now_posix.cc), the clock of t0's
 * `t0MonotonicNs` (process.hrtime). For each request the page and CDP both saw,
 * requestTime·1000 + sendStart is Resource Timing's requestStart on that clock, so their difference
 * is the origin; the median of all pairs is used, their spread is the error (Resource Timing
 * values are coarsened to 0.1 ms without cross-origin isolation). Without pairs it falls back to
 * the wall clock: performance.timeOrigin against t0's, exact to the two processes' samplings of
 * the wall clock (well under a millisecond unless the clock was stepped in between).
 */
export function clockMapping(rec: RecordedLoad): ClockMapping {
  const page = rec.page;
  const wall: ClockMapping = {
    originMs: page === null ? 0 : page.timeOrigin - rec.t0WallMs,
    method: 'wall-clock',
    pairs: 0,
    spreadMs: null,
  };
  if (page === null) return wall;
  const byUrl = new Map<string, NetworkRequest>();
  for (const r of rec.network) if (r.timing !== null && !byUrl.has(r.url)) byUrl.set(r.url, r);
  const origins: number[] = [];
  for (const e of [...(page.navigation ? [page.navigation] : []), ...page.resources]) {
    const t = byUrl.get(e.name)?.timing;
    const requestTime = t?.requestTime;
    const sendStart = t?.sendStart;
    if (requestTime === undefined || sendStart === undefined || sendStart < 0 || e.requestStart <= 0)
      continue;
    origins.push(requestTime * 1000 + sendStart - e.requestStart - rec.t0MonotonicMs);
  }
  if (origins.length === 0) return wall;
  const originMs = median(origins);
  const spreadMs = Math.max(...origins.map((o) => Math.abs(o - originMs)));
  return { originMs, method: 'monotonic', pairs: origins.length, spreadMs };
}

/** What a browser load becomes in the client report. */
export interface BrowserOutcome {
  requests: RequestRecord[];
  connections: ConnectionRecord[];
  durationMs: number;
  metrics: Record<string, number>;
  browser: BrowserReport;
  settings: EngineSettings;
  /** Entries that used another protocol than the one forced: "URL (protocol)". */
  wrongProtocol: string[];
}

/** A browser reports no per-chunk arrival times; said in every browser run's report. */
export const NO_CHUNK_DATA =
  'none: a browser exposes no per-chunk arrival times, so each request has one chunk at its end ' +
  '(responseEnd) and the head-of-line analysis has no chunk data for browser runs';

/**
 * The recorded load as the client report's records: one RequestRecord per page file (document
 * first), one ConnectionRecord per connection used, the page metrics (ms since the navigation's
 * time origin, as Navigation Timing defines them) and the `browser` block.
 */
export function browserReport(rec: RecordedLoad, page: PageUnderTest): BrowserOutcome {
  const clock = clockMapping(rec);
  const onRun = (pageMs: number) => clock.originMs + pageMs;
  const monoOnRun = (seconds: number, offsetMs: number) => seconds * 1000 + offsetMs - rec.t0MonotonicMs;
  const origin = new URL(rec.url).origin;
  const expected = NEXT_HOP_PROTOCOL[rec.protocol];
  const snap = rec.page;

  // Connections (CDP's connectionId: the socket or QUIC session), in order of first use, with the
  // setup times of the request that opened them (CDP timing.connectStart..connectEnd). A socket
  // Chromium connected for one request and handed to another later (HTTP/1.1 late binding: the
  // first request took a socket freed meanwhile) reports no setup to anyone (connectStart -1): its
  // tStart is then its first request's send time and its setup times are null.
  const connections: ConnectionRecord[] = [];
  const connectionIndex = new Map<number, number>();
  const byUrl = new Map<string, NetworkRequest>();
  for (const r of [...rec.network].sort((a, b) => a.sentAt - b.sentAt)) {
    if (!byUrl.has(r.url) || byUrl.get(r.url)?.status === null) byUrl.set(r.url, r);
    if (r.connectionId === null || r.connectionId === 0 || r.timing === null) continue;
    const t = r.timing;
    const requestTime = t.requestTime ?? NaN;
    const opened = (t.connectStart ?? -1) >= 0;
    let i = connectionIndex.get(r.connectionId);
    if (i === undefined) {
      i = connections.length;
      connectionIndex.set(r.connectionId, i);
      connections.push({
        id: i,
        tStart: monoOnRun(requestTime, opened ? (t.connectStart ?? 0) : (t.sendStart ?? 0)),
        tTcpConnected: null,
        tHandshakeDone: null,
        alpn: r.protocol,
        tlsVersion: tlsVersionOf(r.tlsProtocol),
        error: null,
        transport: null,
      });
    }
    const c = connections[i];
    if (c !== undefined && opened && c.tHandshakeDone === null) {
      const quic = r.protocol === 'h3';
      c.tStart = monoOnRun(requestTime, t.connectStart ?? 0);
      // TCP: TLS starts once the TCP handshake is done (sslStart); QUIC's handshake is one.
      c.tTcpConnected = !quic && (t.sslStart ?? -1) >= 0 ? monoOnRun(requestTime, t.sslStart ?? 0) : null;
      c.tHandshakeDone = (t.connectEnd ?? -1) >= 0 ? monoOnRun(requestTime, t.connectEnd ?? 0) : null;
    }
  }

  // Entries of http(s) URLs (about:, data: and blob: URLs have no protocol or connection).
  const entries = new Map<string, TimingEntry>();
  if (snap !== null) {
    for (const e of [...(snap.navigation ? [snap.navigation] : []), ...snap.resources]) {
      if (/^https?:/.test(e.name) && !entries.has(e.name)) entries.set(e.name, e);
    }
  }
  const pageErrors = new Set((snap?.errors ?? '').split(/[\s,]+/).filter((u) => u !== ''));

  const requests: RequestRecord[] = page.files.map((f, id) => {
    const url = `${origin}${f.path}`;
    const e = entries.get(url);
    const n = byUrl.get(url);
    const base = {
      id,
      connection: n?.connectionId != null ? (connectionIndex.get(n.connectionId) ?? null) : null,
      stream: null,
      bytesExpected: f.bytes,
      chunks: [] as [number, number][],
    };
    if (e === undefined) {
      const start = n !== undefined ? monoOnRun(n.sentAt, 0) : rec.endMs;
      const error =
        id === 0 && rec.navigationError !== null
          ? `the document failed: ${rec.navigationError}`
          : n?.failure != null
            ? `loading failed: ${n.failure}`
            : rec.navigationError !== null
              ? 'not requested: the document did not load'
              : rec.timedOut
                ? `not loaded within ${rec.timeoutMs} ms`
                : 'never requested by the page';
      return {
        ...base,
        tIntended: start,
        tStart: start,
        tHeaders: null,
        tEnd: null,
        status: n?.status ?? 0,
        bytes: 0,
        error,
        timedOut: rec.timedOut && n?.failure == null && rec.navigationError === null,
      };
    }
    const status = n?.status ?? e.responseStatus;
    const tEnd = onRun(e.responseEnd);
    const problems: string[] = [];
    if (status !== 200) problems.push(`HTTP status ${status}`);
    if (e.decodedBodySize !== f.bytes) problems.push(`body of ${e.decodedBodySize} B, expected ${f.bytes} B`);
    if (pageErrors.has(url) || pageErrors.has(f.path)) problems.push('the page reported it failed');
    return {
      ...base,
      tIntended: onRun(e.startTime),
      tStart: onRun(e.requestStart > 0 ? e.requestStart : e.startTime),
      tHeaders: e.responseStart > 0 ? onRun(e.responseStart) : null,
      tEnd,
      status,
      bytes: e.encodedBodySize,
      error: problems.length > 0 ? problems.join('; ') : null,
      timedOut: false,
      chunks: [[tEnd, e.encodedBodySize]],
    };
  });

  const resources: BrowserResource[] = [...entries.values()].map((e) => {
    const n = byUrl.get(e.name);
    return {
      name: e.name,
      initiatorType: e.initiatorType,
      nextHopProtocol: e.nextHopProtocol,
      startTime: e.startTime,
      requestStart: e.requestStart,
      responseStart: e.responseStart,
      responseEnd: e.responseEnd,
      encodedBodySize: e.encodedBodySize,
      decodedBodySize: e.decodedBodySize,
      transferSize: e.transferSize,
      status: n?.status ?? e.responseStatus,
      connection: n?.connectionId != null ? (connectionIndex.get(n.connectionId) ?? null) : null,
    };
  });
  const wrongProtocol = resources
    .filter((r) => r.nextHopProtocol !== expected)
    .map((r) => `${r.name} (${r.nextHopProtocol || 'none'})`);
  const fileUrls = new Set(page.files.map((f) => `${origin}${f.path}`));
  const otherRequests = rec.network
    .filter((r) => !fileUrls.has(r.url) && /^https?:/.test(r.url))
    .map((r) => `${r.url} (${r.failure ?? (r.status === null ? 'no response' : `HTTP ${r.status}`)})`);

  const metrics: Record<string, number> = {};
  const put = (name: string, v: number | null | undefined) => {
    if (v !== null && v !== undefined && Number.isFinite(v) && v > 0) metrics[name] = v;
  };
  put('ttfbMs', snap?.navigation?.responseStart);
  put('domContentLoadedMs', snap?.navigation?.domContentLoadedEventEnd);
  put('loadEventMs', snap?.navigation?.loadEventEnd);
  put('firstPaintMs', snap?.firstPaint);
  put('firstContentfulPaintMs', snap?.firstContentfulPaint);
  put('largestContentfulPaintMs', snap?.largestContentfulPaint);
  put('pageLoadMs', snap?.complete);
  metrics.connectionsUsed = connections.length;

  const durationMs = snap?.complete != null ? onRun(snap.complete) : rec.endMs;
  const version = rec.version.product.replace(/^[^/]*\//, '');
  const browser: BrowserReport = {
    name: 'chromium',
    version,
    product: rec.version.product,
    revision: rec.version.revision,
    userAgent: rec.version.userAgent,
    executable: rec.executable,
    flags: rec.flags,
    protocol: rec.protocol,
    url: rec.url,
    navigationError: rec.navigationError,
    timedOut: rec.timedOut,
    timeOriginMs: snap === null ? null : clock.originMs,
    clock: { method: clock.method, pairs: clock.pairs, spreadMs: clock.spreadMs },
    chunks: NO_CHUNK_DATA,
    pageState: snap?.state ?? null,
    pageErrors: [...pageErrors],
    resources,
    otherRequests,
  };
  const settings: EngineSettings = {
    engine: 'chromium',
    version,
    executable: rec.executable,
    flags: rec.flags,
    protocolForced: rec.protocol,
    certificate: 'trusted by the SPKI hash of the server certificate (--ignore-certificate-errors-spki-list)',
    quic: "Chromium's own QUIC and HTTP/3 stack (net/third_party/quiche): its congestion control, flow-control windows and transport parameters are Chromium's defaults and cannot be pinned; the scenario's transport settings do not apply to it",
    tcp: "the kernel's TCP in the client namespace (its congestion control and buffer sysctls), as for h3bench's own clients",
    connections:
      "Chromium's own: for HTTP/1.1 up to 6 connections per host (net/socket/client_socket_pool_manager.cc), for HTTP/2 and HTTP/3 one per origin; workload.connections does not apply",
  };
  return { requests, connections, durationMs, metrics, browser, settings, wrongProtocol };
}

/** CPU ticks of a set of processes (their own and their reaped children's). */
export interface TreeCpu {
  userTicks: number;
  systemTicks: number;
  processes: number;
}

/** CPU of the browser's process tree now, from /proc/<pid>/stat (proc(5)). */
export function treeCpu(proc: ChromiumProcess): TreeCpu {
  const table = readProcessTable();
  const pids = proc.processTree();
  let userTicks = 0;
  let systemTicks = 0;
  for (const pid of pids) {
    const p = table.get(pid);
    if (p === undefined) continue;
    userTicks += p.userTicks;
    systemTicks += p.systemTicks;
  }
  return { userTicks, systemTicks, processes: pids.length };
}

/** Clock ticks per second of /proc's CPU times (getconf CLK_TCK; 100, USER_HZ, if it cannot say). */
export function clockTicksPerSecond(): number {
  try {
    const n = Number.parseInt(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim(), 10);
    return Number.isInteger(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
}
