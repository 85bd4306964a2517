/**
 * One adapter per HTTP version, chosen here and nowhere else: nothing outside this file picks an
 * engine by protocol (the interface they share is in `types.ts`).
 */
import type { Protocol } from '../scenario/schema.js';
import type {
  ClientFactory,
  ClientOptions,
  ProtocolClient,
  ProtocolServer,
  ServerFactory,
  ServerOptions,
} from './types.js';

/** The engines, loaded lazily so a client of one protocol does not load the others (e.g. quiche). */
const ENGINES: Record<Protocol, () => Promise<{ createServer: ServerFactory; createClient: ClientFactory }>> =
  {
    h1: () => import('./h1/engine.js'),
    h2: () => import('./h2/engine.js'),
    h3: () => import('./h3/engine.js'),
  };

/**
 * Load a protocol's engine (and its native binding, for h3) ahead of time, so the time and CPU it
 * takes are not charged to the first request of a measured run.
 */
export async function loadEngine(protocol: Protocol): Promise<void> {
  await ENGINES[protocol]();
}

export async function createServer(protocol: Protocol, opts: ServerOptions): Promise<ProtocolServer> {
  return (await ENGINES[protocol]()).createServer(opts);
}

export async function createClient(protocol: Protocol, opts: ClientOptions): Promise<ProtocolClient> {
  return (await ENGINES[protocol]()).createClient(opts);
}
