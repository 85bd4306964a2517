/** `h3bench report DIR`: regenerate the reports of a run directory from its result.json alone. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ExitCode, UsageError } from '../../core/errors.js';
import { renderAll } from '../report/index.js';
import { readResult, resultPath } from '../report/read.js';
import { REPORT_FORMATS, type ReportFormat } from '../scenario/schema.js';
import { onePositional, parse } from './args.js';

export const REPORT_HELP = `Usage: h3bench report <run directory | result.json> [options]

Reads result.json (validated against its schema), recomputes the analysis from the raw runs and
rewrites runs.csv, report.md, report.html and the SVG figures next to it. result.json itself is
left untouched.

Options:
  --out DIR        write the reports to DIR instead of next to result.json
  --formats LIST   comma-separated values of the scenario key report.formats: json (nothing
                   more: result.json is never rewritten), csv = runs.csv, md = report.md + figures,
                   html = report.html + figures; default: all of them, whatever the scenario listed
  -h, --help       show this help

Exit codes: 0 ok, 1 a report could not be rendered, 2 bad input (missing, unreadable or invalid
result.json, unknown schema version, unknown format).`;

function formatsFlag(value: string | undefined): readonly ReportFormat[] {
  if (value === undefined) return REPORT_FORMATS;
  const list = value
    .split(',')
    .map((f) => f.trim())
    .filter(Boolean);
  const bad = list.filter((f) => !(REPORT_FORMATS as readonly string[]).includes(f));
  if (list.length === 0 || bad.length > 0) {
    throw new UsageError(
      `--formats: value error: must be a comma-separated subset of ${REPORT_FORMATS.join(',')}: current value is "${value}"`,
    );
  }
  return list as ReportFormat[];
}

export async function reportCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse('report', argv, {
    out: { type: 'string' },
    formats: { type: 'string' },
  });
  if (values.help) {
    console.log(REPORT_HELP);
    return ExitCode.Ok;
  }
  const target = onePositional('report', positionals, 'run directory or result.json');
  const formats = formatsFlag(values.formats);
  const file = resultPath(target);
  const result = readResult(file);
  const dir = path.resolve(values.out ?? path.dirname(file));
  const files = await renderAll(result, formats, { skip: ['json'] });
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
  console.log(
    `h3bench: wrote ${Object.keys(files).sort().join(', ') || 'nothing'} to ${path.relative(process.cwd(), dir) || '.'}`,
  );
  return ExitCode.Ok;
}
