/**
 * SVG rendering of Vega-Lite specs with Vega's own SVG renderer (no canvas, no browser), in this
 * thread: Vega renders asynchronously and so does `renderAll`.
 */
import * as vega from 'vega';
import type { TopLevelSpec } from 'vega-lite';
import * as vl from 'vega-lite';
import { H3BenchError, ExitCode } from '../../core/errors.js';

/** How long one figure may take, ms: a rendering that never settles must not hold up a result. */
export const FIGURE_TIMEOUT_MS = 120_000;

/** Render one spec to an SVG string. */
async function renderSvg(spec: TopLevelSpec, timeoutMs: number): Promise<string> {
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logLevel: vega.Error });
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      view.toSVG(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          reject(new Error(`no SVG after ${timeoutMs} ms`));
        }, timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    view.finalize();
  }
}

/** Render each spec to an SVG string (same keys, same order), one after the other. */
export async function renderSvgs(
  specs: Record<string, TopLevelSpec>,
  timeoutMs = FIGURE_TIMEOUT_MS,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [name, spec] of Object.entries(specs)) {
    try {
      out[name] = await renderSvg(spec, timeoutMs);
    } catch (err) {
      throw new H3BenchError(
        'BENCH_RENDER',
        `Cannot render figure "${name}" as Vega failed: ${err instanceof Error ? err.message : String(err)}`,
        ExitCode.RunFailed,
        { cause: err },
      );
    }
  }
  return out;
}
