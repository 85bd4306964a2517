/**
 * One adapter per HTTP version, chosen here and nowhere else: nothing outside this file picks an
 * engine by protocol (the interface they share is in `types.ts`). HTTP/3 has two engines
 * (`stacks.h3`): quiche-0.18 (our HTTP/3 layer and QUIC driver, `h3/`) and quiche-0.29 (quiche's own
 * HTTP/3 through @currentspace/http3, `quiche29/`).
 */
import type { H3Stack, Protocol, ServerStack } from '../scenario/schema.js';
import type {
  ClientFactory,
  ClientOptions,
  ProtocolClient,
  ProtocolServer,
  ServerFactory,
  ServerOptions,
} from './types.js';

type Engine = () => Promise<{ createServer: ServerFactory; createClient: ClientFactory }>;

/** The engines, loaded lazily so a client of one protocol does not load the others (e.g. quiche). */
const ENGINES: Record<Exclude<Protocol, 'h3'>, Engine> = {
  h1: () => import('./h1/engine.js'),
  h2: () => import('./h2/engine.js'),
};

/** The HTTP/3 engines, by `stacks.h3`. */
const H3_ENGINES: Record<H3Stack, Engine> = {
  'quiche-0.18': () => import('./h3/engine.js'),
  'quiche-0.29': () => import('./quiche29/engine.js'),
};

/** The HTTP/3 engine when none is named. */
export const DEFAULT_H3_STACK: H3Stack = 'quiche-0.18';

function engineOf(protocol: Protocol, h3Stack: H3Stack = DEFAULT_H3_STACK): Engine {
  return protocol === 'h3' ? H3_ENGINES[h3Stack] : ENGINES[protocol];
}

/**
 * Load a protocol's engine (and its native binding, for h3) ahead of time, so the time and CPU it
 * takes are not charged to the first request of a measured run.
 */
export async function loadEngine(protocol: Protocol, h3Stack?: H3Stack): Promise<void> {
  await engineOf(protocol, h3Stack)();
}

/**
 * A server of `protocol`: h3bench's own (`stacks.server: h3bench`, the default; `h3Stack` picks the
 * HTTP/3 engine) or a real server process (`caddy`: caddy/server.ts).
 */
export async function createServer(
  protocol: Protocol,
  opts: ServerOptions,
  h3Stack?: H3Stack,
  serverStack: ServerStack = 'h3bench',
): Promise<ProtocolServer> {
  if (serverStack === 'caddy') {
    // A separate process (caddy/server.ts): no engine of ours is loaded; `h3Stack` does not apply.
    return (await import('./caddy/server.js')).createCaddyServer(protocol, opts);
  }
  return (await engineOf(protocol, h3Stack)()).createServer(opts);
}

export async function createClient(
  protocol: Protocol,
  opts: ClientOptions,
  h3Stack?: H3Stack,
): Promise<ProtocolClient> {
  return (await engineOf(protocol, h3Stack)()).createClient(opts);
}
