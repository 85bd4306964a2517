/**
 * What the quiche-0.29 engine (@currentspace/http3, engine.ts) can pin and what it cannot, apart
 * from the engine so that the orchestrator can check a scenario without loading the native package.
 */
import type { Transport } from '../../scenario/schema.js';

/** The engine's name (`stacks.h3`). */
export const ENGINE = 'quiche-0.29';

/**
 * What this engine can run, for the runner to refuse a scenario it cannot honour: quiche's default
 * congestion control (CUBIC) and HyStart++ are not selectable through the package, and its I/O
 * layer sends unpaced (its docs/NODE_HTTP3_QUIC_IMPLEMENTATION_DIRECTION.md §8 lists "respect
 * pacing release time" as future work; nothing in the API turns pacing on).
 */
export const QUICHE29_CAPABILITIES = {
  congestion: ['cubic'],
  pacing: [false],
  hystart: [true],
} as const satisfies {
  congestion: readonly Transport['congestion'][];
  pacing: readonly boolean[];
  hystart: readonly boolean[];
};

/** Why this engine cannot run `t` as asked, or null when it can. */
export function quiche29Unsupported(t: Transport): string | null {
  const bad: string[] = [];
  if (!(QUICHE29_CAPABILITIES.congestion as readonly string[]).includes(t.congestion)) {
    bad.push(`congestion ${t.congestion} (only ${QUICHE29_CAPABILITIES.congestion.join(', ')})`);
  }
  if (!(QUICHE29_CAPABILITIES.pacing as readonly boolean[]).includes(t.pacing))
    bad.push(`pacing ${t.pacing}`);
  if (!(QUICHE29_CAPABILITIES.hystart as readonly boolean[]).includes(t.hystart)) {
    bad.push(`hystart ${t.hystart}`);
  }
  return bad.length === 0 ? null : `${ENGINE} cannot pin ${bad.join(', ')}`;
}

/**
 * Peers this engine's server does not work with, by name: why. Chromium advertises
 * max_udp_payload_size 1472 (its kMaxIncomingPacketSize) and closes the connection on the first PMTU
 * probe above it (seen in its net-log: a 1473-byte probe, then QUIC_PACKET_TOO_LARGE), on loopback
 * and on a 1500-byte-MTU veth alike.
 */
export const UNSUPPORTED_PEERS: Readonly<Record<string, string>> = {
  chromium:
    "quiche 0.29's PMTU probes exceed Chromium's max_udp_payload_size (1473 > 1472) and Chromium closes the connection (QUIC_PACKET_TOO_LARGE); PMTU discovery cannot be turned off through @currentspace/http3 0.9.0",
};

/** Everything the engine cannot pin, recorded in its settings and shown as a fairness warning. */
export const NOT_PINNABLE = {
  congestion: 'quiche default CUBIC (not selectable through the package)',
  hystart: 'quiche default (HyStart++ on; not selectable)',
  pacing:
    'quiche computes release times, the package sends without waiting for them (its docs list honouring them as future work); not selectable',
  initialCongestionWindow:
    'set by the package to 1000 packets with send_capacity_factor 20 (its src/config.rs apply_congestion_tuning), not RFC 9002 §7.2 10 packets; not configurable',
  maxAckDelay: 'quiche default 25 ms',
  streamWindowRemote:
    'initial_max_stream_data_bidi_remote and _uni fixed at 2,000,000 bytes by the package (request bodies, control streams)',
  maxStreamsUni: 'fixed at 1000 by the package',
  packetAndByteCounters:
    'getMetrics() packet/byte counters are not QUIC packets or wire bytes (a 50 MB body: ~11.5k "packets", ~184 MB); not recorded',
  lossCounters: 'no lost, retransmitted or PTO counts exposed',
  qpack: 'package defaults (dynamic table capacity 0)',
  streamPriorities:
    'every response goes out non-incremental at urgency 3 (RFC 9218 defaults; the package exposes no priority API): quiche sends buffered bodies one stream after another, so server.scheduling round-robin interleaves only as far as the write callbacks let it',
  tlsCipher: 'BoringSSL default negotiation',
  pmtud:
    "quiche 0.29's PMTU discovery is on and not selectable: probes (PING + PADDING) reach 1473-byte UDP payloads, above the 1472 we ask for and above a peer's max_udp_payload_size of 1472 (RFC 9000 §18.2); Chromium closes such a connection with PACKET_TOO_LARGE",
  h2Fallback: 'the server also listens on TCP (HTTP/2 fallback) on the same port; not disableable',
};
