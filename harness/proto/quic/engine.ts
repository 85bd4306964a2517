/** HTTP/3 adapter: not wired yet (placeholder replaced by the QUIC driver work). */
import { UnsupportedError } from '../../errors.js';
import type { ClientOptions, ProtocolClient, ProtocolServer, ServerOptions } from '../session.js';

export function createServer(_opts: ServerOptions): ProtocolServer {
  throw new UnsupportedError('HTTP/3 engine is not available in this build');
}

export function createClient(_opts: ClientOptions): ProtocolClient {
  throw new UnsupportedError('HTTP/3 engine is not available in this build');
}
