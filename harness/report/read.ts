/**
 * Reading and writing result.json through its zod schema. Every command that consumes results
 * (`report`, `compare`) reads through `readResult`; the run writes through `resultJson`.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { ExitCode, H3BenchError } from '../../core/errors.js';
import { READABLE_SCHEMA_VERSIONS, RESULT_SCHEMA_VERSION, type ResultFile } from '../model/result.js';
import { summarize } from '../measure/result-summary.js';
import type { Scenario } from '../scenario/schema.js';
import { resultSchemaFor, versionSchema } from '../model/schema.js';

/** A result file is missing, unreadable, of an unknown version, or does not match its schema. */
export class ResultFileError extends H3BenchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BENCH_RESULT_INVALID', message, ExitCode.BadInput, options);
  }
}

function describeIssues(error: z.ZodError, max = 5): string {
  const issues = error.issues
    .slice(0, max)
    .map((i) => `${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`);
  const more = error.issues.length > max ? ` (and ${error.issues.length - max} more)` : '';
  return issues.join('; ') + more;
}

/**
 * Validate parsed JSON as a result file and return it with its summary recomputed by this build
 * (so reports and comparisons always use the same analysis). `source` names the file in errors.
 */
export function parseResult(json: unknown, source: string): ResultFile {
  const v = versionSchema.safeParse(json);
  if (!v.success) {
    throw new ResultFileError(
      `Cannot read result file "${source}" as it has no schemaVersion: is it an h3bench result.json?`,
    );
  }
  const version = v.data.schemaVersion;
  if (!READABLE_SCHEMA_VERSIONS.includes(version)) {
    throw new ResultFileError(
      `Cannot read result file "${source}" as its schemaVersion is ${version}: this build reads versions ${READABLE_SCHEMA_VERSIONS.join(', ')}` +
        (version > RESULT_SCHEMA_VERSION ? ' (it was written by a newer h3bench)' : ''),
    );
  }
  const parsed = resultSchemaFor(version).safeParse(json);
  if (!parsed.success) {
    throw new ResultFileError(
      `Cannot read result file "${source}" as it does not match schema ${version}: ${describeIssues(parsed.error)}`,
    );
  }
  // Every field but the scenario and the summary is typed by the schema (a compile-time check:
  // this assignment fails when the schema and ResultFile drift apart). The scenario was validated
  // key by key (the keys the analysis reads); the summary is rebuilt from the runs.
  const { scenario, summary: _summary, ...rest } = parsed.data;
  const checked: Omit<ResultFile, 'scenario' | 'summary'> = rest;
  // The resolved scenario as its writer stored it; checked for the keys the analysis reads only.
  const stored = scenario as unknown as Omit<Scenario, 'server' | 'attribution' | 'stacks'> &
    Partial<Pick<Scenario, 'server' | 'attribution' | 'stacks'>>;
  // Files before schema 7 recorded neither key: their servers scheduled differently (null).
  const resolved: Scenario = {
    ...stored,
    server: stored.server ?? { scheduling: null },
    attribution: stored.attribution ?? false,
    // Files before the keys ran the only engines there were: our own, quiche 0.18 for HTTP/3.
    stacks: {
      h3: stored.stacks?.h3 ?? 'quiche-0.18',
      server: stored.stacks?.server ?? 'h3bench',
      client: stored.stacks?.client ?? 'h3bench',
    },
  };
  return {
    ...checked,
    schemaVersion: RESULT_SCHEMA_VERSION,
    scenario: resolved,
    summary: summarize(resolved.protocols, checked.runs, resolved),
  };
}

/** The result.json of a run directory, or the file itself. */
export function resultPath(p: string): string {
  return existsSync(p) && statSync(p).isDirectory() ? path.join(p, 'result.json') : p;
}

/** Read and validate `DIR/result.json` (or a result file path). */
export function readResult(p: string): ResultFile {
  const file = resultPath(p);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ResultFileError(
      `Cannot read result file "${file}" as it cannot be opened: ${(err as Error).message}`,
      { cause: err },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ResultFileError(
      `Cannot read result file "${file}" as it is not valid JSON: ${(err as Error).message}`,
      { cause: err },
    );
  }
  return parseResult(json, file);
}

/** result.json text for a result, validated against the current schema exactly as a reader will see it. */
export function resultJson(result: ResultFile): string {
  const text = JSON.stringify(result, null, 1) + '\n';
  const parsed = resultSchemaFor(RESULT_SCHEMA_VERSION).safeParse(JSON.parse(text));
  if (!parsed.success) {
    throw new ResultFileError(
      `Refusing to write result.json for run "${result.runId}" as it does not match schema ${RESULT_SCHEMA_VERSION}: ${describeIssues(parsed.error)}`,
    );
  }
  return text;
}
