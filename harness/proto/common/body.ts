/**
 * Writing a handler response body to a Node Writable (h1 and h2 servers), honouring backpressure,
 * in chunks of BODY_CHUNK_BYTES without copying (views of the shared pattern buffer).
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { BODY_CHUNK_BYTES, type AppResponse } from '../handler.js';

export async function writeBody(res: AppResponse, out: Writable): Promise<void> {
  let offset = 0;
  while (offset < res.bodyBytes) {
    if (out.destroyed) return;
    const n = Math.min(BODY_CHUNK_BYTES, res.bodyBytes - offset);
    const ok = out.write(res.chunk(offset, n));
    offset += n;
    if (!ok && offset < res.bodyBytes) {
      await Promise.race([once(out, 'drain'), once(out, 'close')]);
    }
  }
  out.end();
}
