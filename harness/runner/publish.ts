/**
 * Publishing a result: the one way a temporary directory (`<out>/.tmp-*`) becomes a results
 * directory, used by the run (complete or partial) and by the salvage of a dead run's checkpoint.
 */
import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { RunError, toError } from '../../core/errors.js';
import type { ResultFile } from '../model/result.js';
import { renderAll } from '../report/index.js';
import { resultJson } from '../report/read.js';
import { removeCheckpoint } from './checkpoint.js';
import { releaseRunTemp } from './workdir.js';

/** Suffix of the directory of a partial result. */
export const PARTIAL_SUFFIX = '-partial';

/** The sub-directory of a temporary directory that holds key material and child configs. */
export const WORK_DIR = 'work';

/** Where a result that does not match the result schema is written instead of result.json. */
export const INVALID_RESULT_FILE = 'result.invalid.json';

/**
 * A result that does not match the result schema (a bug, not bad input): nothing is published; the
 * temporary directory `dir` is kept with its checkpoint and the result as it would have been
 * written (INVALID_RESULT_FILE). Exit code 1, as a failed run.
 */
export class UnpublishableResultError extends RunError {
  readonly dir: string;
  constructor(message: string, dir: string, options?: { cause?: unknown }) {
    super(message, options);
    this.dir = dir;
  }
}

export interface Published {
  /** Final directory holding result.json and the reports. */
  dir: string;
  /** Set when the reports other than result.json could not be rendered. */
  reportError?: Error;
  /** Set when the checkpoint files could not be removed from the published directory. */
  checkpointError?: Error;
}

/**
 * Write `result` (result.json and the reports of its scenario's formats) into the temporary
 * directory `tmp` and rename it to `<outRoot>/<run-id>` (`<run-id>-partial` for a partial result;
 * `-2`, `-3`... when taken). Key material and child configs (`work/`) are removed first: they never
 * reach a results directory. The checkpoint is removed once the result is in place (best effort:
 * a failure is returned as `checkpointError`, the result is published).
 *
 * A result that does not match the result schema is not published: it is written as
 * INVALID_RESULT_FILE into `tmp`, which is kept with its checkpoint, and this throws an
 * UnpublishableResultError naming it.
 */
export async function publishResult(result: ResultFile, tmp: string, outRoot: string): Promise<Published> {
  await rm(path.join(tmp, WORK_DIR), { recursive: true, force: true });
  let reportError: Error | undefined;
  let files: Record<string, string>;
  try {
    files = await renderAll(result, result.scenario.report.formats);
  } catch (err) {
    // The runs matter more than their reports: keep result.json, `h3bench report DIR` redoes the rest.
    reportError = toError(err);
    let json: string;
    try {
      json = resultJson(result);
    } catch (jsonErr) {
      await writeFile(path.join(tmp, INVALID_RESULT_FILE), JSON.stringify(result, null, 1) + '\n');
      throw new UnpublishableResultError(
        `the result of run "${result.runId}" could not be written (${toError(jsonErr).message}); nothing was published, and its ${result.runs.length} finished run(s) are kept in ${tmp} (checkpoint.json, runs.jsonl, and the result as it would have been written: ${INVALID_RESULT_FILE})`,
        tmp,
        { cause: jsonErr },
      );
    }
    files = { 'result.json': json };
  }
  for (const [name, content] of Object.entries(files)) await writeFile(path.join(tmp, name), content);
  await releaseRunTemp(tmp);
  const base = `${result.runId}${result.partial ? PARTIAL_SUFFIX : ''}`;
  let dir = path.join(outRoot, base);
  for (let i = 2; ; i++) {
    try {
      await rename(tmp, dir);
      break;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
      dir = path.join(outRoot, `${base}-${i}`);
    }
  }
  // Only now: until the rename, a crash leaves a temporary directory whose checkpoint is salvaged.
  let checkpointError: Error | undefined;
  try {
    await removeCheckpoint(dir);
  } catch (err) {
    // The result is published: leftover checkpoint files in it are only clutter.
    checkpointError = toError(err);
  }
  return {
    dir,
    ...(reportError ? { reportError } : {}),
    ...(checkpointError ? { checkpointError } : {}),
  };
}
