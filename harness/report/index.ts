/**
 * One reporter per output format, behind one interface and one registry.
 * Every report is derived from the result alone: `h3bench report DIR` regenerates them all.
 */
import { csvReporter } from './csv.js';
import { figureSpecs } from './figures.js';
import { htmlReporter } from './html.js';
import { markdownReporter } from './markdown.js';
import { resultJson } from './read.js';
import type { ResultFile } from '../model/result.js';
import { resummarize } from '../measure/result-summary.js';
import { renderSvgsSync } from './svg.js';

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

const jsonReporter: Reporter = { name: 'json', files: (result) => ({ 'result.json': resultJson(result) }) };

const svgReporter: Reporter = {
  name: 'svg',
  files: (_result, ctx) =>
    Object.fromEntries(Object.entries(ctx.figures).map(([name, svg]) => [`${name}.svg`, svg])),
};

export const REPORTERS: Readonly<Record<string, Reporter>> = {
  json: jsonReporter,
  csv: csvReporter,
  md: markdownReporter,
  html: htmlReporter,
  svg: svgReporter,
};

/**
 * Formats written for every run whatever the scenario lists: the promise that each run has
 * result.json, runs.csv, report.md, report.html and the SVG figures. `formats` can only add.
 */
export const ALWAYS_FORMATS = ['json', 'csv', 'md', 'html', 'svg'] as const;

/**
 * All files for a result (result.json included), its summary first recomputed from its runs with
 * the scenario at hand. Synchronous: the figures are rendered in a worker thread (svg.ts).
 */
export function renderAll(
  result: ResultFile,
  formats: readonly string[] = [],
  opts: { skip?: readonly string[] } = {},
): Record<string, string> {
  const full = resummarize(result);
  const names = [...new Set([...ALWAYS_FORMATS, ...formats])].filter((n) => !(opts.skip ?? []).includes(n));
  const wantsFigures = names.some((n) => n === 'svg' || n === 'html' || n === 'md');
  const figures = wantsFigures ? renderSvgsSync(figureSpecs(full)) : {};
  const ctx: RenderContext = { figures };
  const out: Record<string, string> = {};
  for (const name of names) {
    const r = REPORTERS[name];
    if (r) Object.assign(out, r.files(full, ctx));
  }
  return out;
}
