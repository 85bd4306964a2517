/**
 * One reporter per output format, behind one interface (types.ts) and one registry.
 * Every report is derived from the result alone: `h3bench report DIR` regenerates them all.
 */
import { csvReporter } from './csv.js';
import { figureSpecs } from './figures.js';
import { htmlReporter } from './html.js';
import { markdownReporter } from './markdown.js';
import { resultJson } from './read.js';
import type { ResultFile } from '../model/result.js';
import { resummarize } from '../measure/result-summary.js';
import { REPORT_FORMATS, type ReportFormat } from '../scenario/schema.js';
import { renderSvgs } from './svg.js';
import type { RenderContext, Reporter } from './types.js';

export type { RenderContext, Reporter } from './types.js';

const jsonReporter: Reporter = { name: 'json', files: (result) => ({ 'result.json': resultJson(result) }) };

/** The figures as files of their own (`<name>.svg`), linked from report.md. */
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
 * What each scenario `report.formats` value writes (reporter names, in order). result.json is
 * written whatever the list; report.md links the SVG figure files, report.html inlines the figures
 * and has the same files next to it.
 */
export const FORMAT_REPORTERS: Readonly<Record<ReportFormat, readonly string[]>> = {
  json: ['json'],
  csv: ['csv'],
  md: ['md', 'svg'],
  html: ['html', 'svg'],
};

/** Reporter names for a list of formats (result.json always), in registry order. */
export function reportersFor(formats: readonly ReportFormat[]): string[] {
  const wanted = new Set(['json', ...formats.flatMap((f) => FORMAT_REPORTERS[f])]);
  return Object.keys(REPORTERS).filter((n) => wanted.has(n));
}

/**
 * All files for a result, its summary first recomputed from its runs with the scenario at hand:
 * result.json and the files of `formats` (default: every format), minus the reporters in `skip`.
 */
export async function renderAll(
  result: ResultFile,
  formats: readonly ReportFormat[] = REPORT_FORMATS,
  opts: { skip?: readonly string[] } = {},
): Promise<Record<string, string>> {
  const full = resummarize(result);
  const names = reportersFor(formats).filter((n) => !(opts.skip ?? []).includes(n));
  const wantsFigures = names.some((n) => n === 'svg' || n === 'html' || n === 'md');
  const figures = wantsFigures ? await renderSvgs(figureSpecs(full)) : {};
  const ctx: RenderContext = { figures };
  const out: Record<string, string> = {};
  for (const name of names) {
    const r = REPORTERS[name];
    if (r) Object.assign(out, r.files(full, ctx));
  }
  return out;
}
