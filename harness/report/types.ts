/**
 * What the reporters share: the render context and the reporter interface. Its own module so that
 * the reporters (csv.ts, html.ts, markdown.ts) never import the registry in index.ts.
 */
import type { ResultFile } from '../model/result.js';

/** What every reporter gets besides the result: the rendered figures (name → SVG text). */
export interface RenderContext {
  figures: Record<string, string>;
}

export interface Reporter {
  /** Format name (scenario `report.formats`). */
  name: string;
  /** File name → content. */
  files(result: ResultFile, ctx: RenderContext): Record<string, string>;
}
