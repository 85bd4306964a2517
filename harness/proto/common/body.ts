/**
 * Writing a handler response body to a Node Writable (h1 and h2 servers), honouring backpressure,
 * in chunks of BODY_CHUNK_BYTES without copying (views of the shared pattern buffer).
 */
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
      await drainOrClose(out);
    }
  }
  out.end();
}

/** Resolves on 'drain' or 'close', removing both listeners either way. */
function drainOrClose(out: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      out.off('drain', done);
      out.off('close', done);
      resolve();
    };
    out.on('drain', done);
    out.on('close', done);
  });
}
