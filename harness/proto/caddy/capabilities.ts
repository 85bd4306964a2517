/**
 * What Caddy (`stacks.server: caddy`) can pin and what it cannot, as data, apart from the server
 * module so that the orchestrator can check a scenario without starting anything. Figures are those
 * of Caddy 2.6.2 as Debian packages it (Go 1.19 net/http, quic-go 0.29.0: `dpkg -s caddy`,
 * Built-Using), read in the sources named below and checked against the running server (the
 * transport parameters it sends, seen in Chromium's net-log).
 *
 * Caddy's JSON config has no knob for any of these: `apps.http.servers.*` sets listeners, protocols,
 * timeouts and header limits, and Caddy 2.6's `serveHTTP3` (modules/caddyhttp/server.go) gives
 * quic-go a `quic.Config` with nothing but the QUIC versions, so quic-go's defaults apply.
 */
import type { Protocol, Transport, Workload } from '../../scenario/schema.js';

/** The server's name (`stacks.server`). */
export const ENGINE = 'caddy';

/**
 * What quic-go can run for HTTP/3, for the runner to refuse what it cannot honour at all:
 * - congestion: quic-go creates its sender as `NewCubicSender(..., true /* use Reno *\/, ...)`
 *   (internal/ackhandler/sent_packet_handler.go; so in every version we read, from the 0.2x line to
 *   the current one): Reno, never CUBIC or BBR;
 * - pacing: its congestion sender always paces (internal/congestion/pacer.go); nothing turns it off;
 * - hystart: it always leaves slow start by hybrid slow start (internal/congestion/hybrid_slow_start.go).
 */
export const CADDY_H3_CAPABILITIES = {
  congestion: ['reno'],
  pacing: [true],
  hystart: [true],
} as const satisfies {
  congestion: readonly Transport['congestion'][];
  pacing: readonly boolean[];
  hystart: readonly boolean[];
};

/**
 * Why Caddy cannot serve `protocol` with transport `t` as asked, or null when it can. Over TCP (h1,
 * h2) congestion control, HyStart and pacing (fq) are the namespace kernel's, applied by the link
 * layer exactly as for h3bench's own servers, and the windows that bound the responses are the
 * client's: nothing to refuse.
 */
export function caddyUnsupported(t: Transport, protocol: Protocol): string | null {
  if (protocol !== 'h3') return null;
  const bad: string[] = [];
  const cap = CADDY_H3_CAPABILITIES;
  if (!(cap.congestion as readonly string[]).includes(t.congestion)) {
    bad.push(`congestion ${t.congestion} (quic-go 0.29 hard-codes Reno: only ${cap.congestion.join(', ')})`);
  }
  if (!(cap.pacing as readonly boolean[]).includes(t.pacing))
    bad.push(`pacing ${t.pacing} (quic-go always paces)`);
  if (!(cap.hystart as readonly boolean[]).includes(t.hystart)) {
    bad.push(`hystart ${t.hystart} (quic-go always uses hybrid slow start)`);
  }
  return bad.length === 0 ? null : `${ENGINE} cannot pin ${bad.join(', ')} over h3`;
}

/**
 * Streams a client may have open at once on one connection: Go's HTTP/2 server default
 * (golang.org/x/net/http2 defaultMaxStreams; Caddy 2.6.2 sends SETTINGS_MAX_CONCURRENT_STREAMS 250)
 * and quic-go's (initial_max_streams_bidi 100, internal/protocol/params.go). h3bench's own servers
 * allow MAX_CONCURRENT_STREAMS (1000).
 */
export const CADDY_MAX_STREAMS = { h2: 250, h3: 100 } as const;

/**
 * Why `w` cannot run against Caddy over `protocol`, or null. A multiplex workload sends its first
 * `concurrency` requests at once on a new connection, before the server's SETTINGS can arrive (RFC
 * 9113 §6.5.2: until then the client may assume no limit): Go refuses the streams above 250
 * (REFUSED_STREAM) and h3bench's HTTP/2 client fails those requests (seen with 300). Later requests
 * wait for a free stream inside the client, so a page load (the document first) or paced RPCs are
 * not affected; over h3 the limit comes with the handshake and the client waits for stream credit.
 */
export function caddyWorkloadProblem(w: Workload, protocol: Protocol): string | null {
  if (protocol === 'h2' && w.type === 'multiplex' && w.concurrency > CADDY_MAX_STREAMS.h2) {
    return `caddy (Go net/http) allows ${CADDY_MAX_STREAMS.h2} concurrent HTTP/2 streams and refuses (REFUSED_STREAM) the streams of the first ${w.concurrency} requests above it, sent before its SETTINGS arrive`;
  }
  return null;
}

/**
 * Clients Caddy is known not to work with, by protocol and client name (`stacks.client`): why.
 * Empty: Chromium 156.0.8078.129 (Debian), with the switches of harness/workload/chromium.ts, loaded
 * the default page-load page completely over h3 from Caddy 2.6.2 on loopback and between the
 * namespaces of linkem links (rtt 20 ms at 50 Mbit/s; rtt 80 ms with 2% loss), and over h1 and h2;
 * its net-log shows quic-go's transport parameters and no CONNECTION_CLOSE but its own at exit. A
 * reported ERR_QUIC_PROTOCOL_ERROR with Caddy 2.6.2 did not reproduce here.
 */
export const CADDY_UNSUPPORTED_PEERS: Readonly<Partial<Record<Protocol, Readonly<Record<string, string>>>>> =
  {};

/** Knobs every protocol served by Caddy leaves at Caddy's (Go's) values. */
const COMMON_NOT_PINNABLE = {
  tlsCipher:
    "Go's crypto/tls does not let TLS 1.3 suites be configured (crypto/tls Config.CipherSuites); the client's offer decides (h3bench's TCP clients offer TLS_AES_128_GCM_SHA256 only)",
} as const;

/**
 * What Caddy leaves at its own values whatever the scenario says, by protocol: knob → what it does.
 * Recorded in the server's settings and shown as fairness warnings (`caddyWarnings`).
 */
export const CADDY_NOT_PINNABLE: Readonly<Record<Protocol, Readonly<Record<string, string>>>> = {
  h1: COMMON_NOT_PINNABLE,
  h2: {
    ...COMMON_NOT_PINNABLE,
    scheduling:
      "server.scheduling is not applied: Go's HTTP/2 priority write scheduler (golang.org/x/net/http2 NewPriorityWriteScheduler, the server default) interleaves the DATA of every ready stream (equal weights: h3bench's clients send no priorities)",
    maxConcurrentStreams:
      'Go default 250 (golang.org/x/net/http2 defaultMaxStreams), not 1000: more requests in flight wait at the client',
    serverReceiveWindows:
      "Go's own (SETTINGS_INITIAL_WINDOW_SIZE and connection window 1 MiB: http2.Server MaxUploadBufferPerStream and PerConnection defaults); they bound requests only, responses flow under the client's windows",
    headerTableSize: 'Go default HPACK dynamic table of 4096 bytes (h3bench: 0)',
    http1:
      'Caddy 2.6.2 serves h2 only with h1 enabled: ALPN offers h2 only, but a client offering no ALPN or only http/1.1 is still answered over HTTP/1.1',
  },
  h3: {
    ...COMMON_NOT_PINNABLE,
    scheduling:
      "server.scheduling is not applied: quic-go's framer sends the STREAM frames of every ready stream round-robin",
    congestion:
      "quic-go's Reno shrinks the window to 0.7× on loss (renoBeta; Linux Reno and RFC 9002 §7.3.2: 0.5×) and starts at 32 packets (RFC 9002 §7.2: 10), internal/congestion/cubic_sender.go",
    hystart:
      "quic-go's hybrid slow start (Chromium's delay-based exit, internal/congestion/hybrid_slow_start.go), not HyStart++ (RFC 9406)",
    pacing: "quic-go's own pacer (internal/congestion/pacer.go), not h3bench's driver's",
    maxStreamsBidi:
      'quic-go default 100 (internal/protocol/params.go DefaultMaxIncomingStreams), not 1000: more requests in flight wait at the client',
    serverReceiveWindows:
      "quic-go's own (initial_max_stream_data 512 KiB growing to 6 MiB, initial_max_data 768 KiB growing to 15 MiB: internal/protocol/params.go); they bound requests only, responses flow under the client's windows",
    maxAckDelay: 'quic-go default 25 ms (advertised as 26)',
    maxUdpPayload: 'quic-go advertises 1452 and probes the path MTU up to it (DPLPMTUD, on by default)',
    tcpListener:
      'Caddy 2.6.2 also binds TCP on the HTTP/3 port, with TLS but nothing serving it (connections are accepted, never answered)',
  },
};

/**
 * The fairness warnings of one run served by Caddy: everything it does not pin, one line each; the
 * receive-window line says which windows the scenario pins (at the client).
 */
export function caddyWarnings(protocol: Protocol, transport: Transport): string[] {
  return Object.entries(CADDY_NOT_PINNABLE[protocol]).map(([k, v]) => {
    const pinned =
      k === 'serverReceiveWindows'
        ? ` (the scenario's ${transport.streamWindowBytes} B stream and ${transport.connectionWindowBytes} B connection windows)`
        : '';
    return `server ${ENGINE} does not pin ${k}: ${v}${pinned}`;
  });
}
