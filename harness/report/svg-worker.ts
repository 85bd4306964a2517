/**
 * Worker thread: renders Vega-Lite specs to SVG strings with Vega's own SVG renderer (no canvas).
 * Started by svg.ts, which waits for it synchronously. Imports only packages, so it runs from the
 * compiled .js and, under Node's type stripping, from this .ts source alike.
 */
import { workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import * as vega from 'vega';
import * as vl from 'vega-lite';

interface Job {
  specs: Record<string, vl.TopLevelSpec>;
  port: MessagePort;
  done: Int32Array;
}

async function render(specs: Record<string, vl.TopLevelSpec>): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const compiled = vl.compile(spec).spec;
    const view = new vega.View(vega.parse(compiled), { renderer: 'none', logLevel: vega.Error });
    try {
      out[name] = await view.toSVG();
    } finally {
      view.finalize();
    }
  }
  return out;
}

const job = workerData as Job;
render(job.specs)
  .then(
    (svgs) => {
      job.port.postMessage({ ok: true, svgs });
    },
    (err: unknown) => {
      job.port.postMessage({
        ok: false,
        error: err instanceof Error ? (err.stack ?? err.message) : String(err),
      });
    },
  )
  .finally(() => {
    Atomics.store(job.done, 0, 1);
    Atomics.notify(job.done, 0);
  });
