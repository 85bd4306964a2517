/**
 * SVG rendering of Vega-Lite specs. Vega renders asynchronously; the reporters are synchronous (the
 * runner writes what `renderAll` returns), so rendering runs in a worker thread and this thread
 * waits for it with Atomics.wait and takes the answer with receiveMessageOnPort (the pattern of
 * esbuild's and synckit's synchronous APIs).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker, receiveMessageOnPort } from 'node:worker_threads';
import type { TopLevelSpec } from 'vega-lite';
import { H3BenchError, ExitCode } from '../../core/errors.js';

/** How long rendering every figure of one result may take. */
const RENDER_TIMEOUT_MS = 120_000;

function workerUrl(): URL {
  const js = new URL('./svg-worker.js', import.meta.url);
  // Running from the TypeScript sources (tests): Node strips the types of the .ts worker itself.
  return existsSync(fileURLToPath(js)) ? js : new URL('./svg-worker.ts', import.meta.url);
}

/** Render each spec to an SVG string (same keys). Blocks until done. */
export function renderSvgsSync(specs: Record<string, TopLevelSpec>): Record<string, string> {
  if (Object.keys(specs).length === 0) return {};
  const done = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(workerUrl(), { workerData: { specs, port: port2, done }, transferList: [port2] });
  try {
    const waited = Atomics.wait(done, 0, 0, RENDER_TIMEOUT_MS);
    const msg = receiveMessageOnPort(port1)?.message as
      { ok: true; svgs: Record<string, string> } | { ok: false; error: string } | undefined;
    if (waited === 'timed-out' || msg === undefined) {
      throw new H3BenchError(
        'BENCH_RENDER',
        `Cannot render figures as the renderer did not answer within ${RENDER_TIMEOUT_MS} ms`,
        ExitCode.RunFailed,
      );
    }
    if (!msg.ok)
      throw new H3BenchError(
        'BENCH_RENDER',
        `Cannot render figures as Vega failed: ${msg.error}`,
        ExitCode.RunFailed,
      );
    return msg.svgs;
  } finally {
    port1.close();
    void worker.terminate();
  }
}
