/** `h3bench report DIR`: regenerate every report of a run directory from its result.json alone. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ExitCode } from '../../core/errors.js';
import { renderAll } from '../report/index.js';
import { readResult, resultPath } from '../report/read.js';
import { onePositional, parse } from './args.js';

export const REPORT_HELP = `Usage: h3bench report <run directory | result.json> [options]

Reads result.json (validated against its schema), recomputes the analysis from the raw runs and
rewrites runs.csv, report.md, report.html and the SVG figures next to it. result.json itself is
left untouched.

Options:
  --out DIR     write the reports to DIR instead of next to result.json
  -h, --help    show this help

Exit codes: 0 ok, 2 bad input (missing, unreadable or invalid result.json, unknown schema version).`;

export function reportCommand(argv: string[]): number {
  const { values, positionals } = parse('report', argv, { out: { type: 'string' } });
  if (values.help) {
    console.log(REPORT_HELP);
    return ExitCode.Ok;
  }
  const target = onePositional('report', positionals, 'run directory or result.json');
  const file = resultPath(target);
  const result = readResult(file);
  const dir = path.resolve(values.out ?? path.dirname(file));
  const files = renderAll(result, [], { skip: ['json'] });
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
  console.log(
    `h3bench: wrote ${Object.keys(files).sort().join(', ')} to ${path.relative(process.cwd(), dir) || '.'}`,
  );
  return ExitCode.Ok;
}
