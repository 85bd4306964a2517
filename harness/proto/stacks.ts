/**
 * What each HTTP/3 engine (`stacks.h3`) can pin, without loading it: the orchestrator refuses a
 * scenario an engine cannot honour (exit 127) and records what it does not pin as fairness warnings.
 * The engines themselves are chosen in session.ts.
 */
import type { H3Stack, Transport } from '../scenario/schema.js';
import {
  NOT_PINNABLE as QUICHE29_NOT_PINNABLE,
  UNSUPPORTED_PEERS as QUICHE29_UNSUPPORTED_PEERS,
  quiche29Unsupported,
} from './quiche29/capabilities.js';

export interface StackCapabilities {
  /** Why the engine cannot run `t` as asked, or null when it can. */
  unsupported: (t: Transport) => string | null;
  /** What the engine leaves at its own values whatever the scenario says: knob → what it does. */
  notPinnable: Readonly<Record<string, string>>;
  /** Whether its server also binds TCP on its UDP port (so nothing else can serve TCP there). */
  bindsTcpOnItsPort: boolean;
  /** Clients its server is known not to work with (e.g. `chromium`): why. */
  unsupportedPeers: Readonly<Record<string, string>>;
}

/**
 * quiche 0.18.0 dates each sent packet with its pacer's schedule, not with the time of `send()`
 * (src/recovery/mod.rs `Recovery::on_packet_sent`, src/recovery/pacer.rs): see `quichePacing` in
 * quic/binding.ts and test/unit/quic/sent-time.test.ts, which pins the behaviour.
 */
const QUICHE18_NOT_PINNABLE = {
  sentTime:
    "quiche 0.18 dates sent packets with its pacer's next release time, which with pacing off moves only every send_quantum / pacing rate: its RTT samples are inflated when packets are closely spaced (measured 155-172 ms on a 100 ms path) and, after a loss burst that leaves cwnd below ~8 packets, srtt can run away (+1 ms per ms, cwnd pinned; 2 of 36 page loads at 3% bursty loss). TCP and quiche-0.29 (which dates with the clock) do not do this",
};

export const H3_STACK_CAPABILITIES: Readonly<Record<H3Stack, StackCapabilities>> = {
  // h3bench's own HTTP/3 and driver over quiche 0.18: every transport key is applied.
  // Every transport key is applied; what quiche 0.18 itself gets wrong is listed here.
  'quiche-0.18': {
    unsupported: () => null,
    notPinnable: QUICHE18_NOT_PINNABLE,
    bindsTcpOnItsPort: false,
    unsupportedPeers: {},
  },
  // The package's server always adds an HTTP/2 fallback listener on TCP at its UDP port.
  'quiche-0.29': {
    unsupported: quiche29Unsupported,
    notPinnable: QUICHE29_NOT_PINNABLE,
    bindsTcpOnItsPort: true,
    unsupportedPeers: QUICHE29_UNSUPPORTED_PEERS,
  },
};
