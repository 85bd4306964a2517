/** One reporter per output format, behind one interface and one registry (STYLE.md rule 12). */
import { markdownReporter } from './markdown.js';
import type { ResultFile } from './result.js';

export interface Reporter {
  /** Format name used in the scenario's `report.formats`. */
  name: string;
  /** File name → content. */
  files(result: ResultFile): Record<string, string>;
}

const jsonReporter: Reporter = {
  name: 'json',
  files: (result) => ({ 'result.json': JSON.stringify(result, null, 1) + '\n' }),
};

export const REPORTERS: Readonly<Record<string, Reporter>> = {
  json: jsonReporter,
  md: markdownReporter,
};

/** All files for a result. result.json is always written, whatever the formats. */
export function renderAll(result: ResultFile, formats: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of new Set(['json', ...formats])) {
    const r = REPORTERS[name];
    if (r) Object.assign(out, r.files(result));
  }
  return out;
}
