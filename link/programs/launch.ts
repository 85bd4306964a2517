/**
 * The parent's side of the helper programs: the command line that starts one. They run from the
 * compiled tree (`dist/link/programs/NAME.js`) with this process's own Node, like the harness's
 * server and client processes; argv arrays only, never a shell.
 */
import { existsSync } from 'node:fs';
import { EnvironmentError, RunError } from '../../core/errors.js';
import { distPath } from '../../core/paths.js';

/** The helper programs of this directory (each NAME.ts has a `main`). */
export type ProgramName = 'tcp-source' | 'tcp-sink' | 'udp-echo' | 'udp-ping';

/** The compiled file of a program; an EnvironmentError if it has not been built. */
export function programPath(name: ProgramName): string {
  const file = distPath(`link/programs/${name}.js`);
  if (!existsSync(file)) {
    throw new EnvironmentError(
      `Cannot find ${file}: build the project first (npx tsc -p tsconfig.build.json)`,
    );
  }
  return file;
}

/** `node dist/link/programs/NAME.js ARGS…` */
export function programArgv(name: ProgramName, args: readonly string[]): string[] {
  return [process.execPath, programPath(name), ...args];
}

/**
 * The one line a program printed as its result: stdout must hold exactly one non-empty line. The
 * caller validates what the line says.
 */
export function resultLine(name: ProgramName, stdout: string): string {
  const lines = stdout.split('\n').filter((l) => l.trim() !== '');
  if (lines.length !== 1 || lines[0] === undefined) {
    throw new ProgramOutputError(
      name,
      `expected one result line, got ${lines.length}: ${JSON.stringify(stdout.slice(0, 300))}`,
    );
  }
  return lines[0];
}

/** A program's output did not say what its format says. */
export class ProgramOutputError extends RunError {
  constructor(name: ProgramName, why: string, options?: { cause?: unknown }) {
    super(`Cannot read the result of ${name}: ${why}`, options);
  }
}
