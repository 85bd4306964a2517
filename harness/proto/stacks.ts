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

export const H3_STACK_CAPABILITIES: Readonly<Record<H3Stack, StackCapabilities>> = {
  // h3bench's own HTTP/3 and driver over quiche 0.18: every transport key is applied.
  'quiche-0.18': { unsupported: () => null, notPinnable: {}, bindsTcpOnItsPort: false, unsupportedPeers: {} },
  // The package's server always adds an HTTP/2 fallback listener on TCP at its UDP port.
  'quiche-0.29': {
    unsupported: quiche29Unsupported,
    notPinnable: QUICHE29_NOT_PINNABLE,
    bindsTcpOnItsPort: true,
    unsupportedPeers: QUICHE29_UNSUPPORTED_PEERS,
  },
};
