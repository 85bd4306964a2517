/**
 * Errors that reach the user. Every class carries a stable `code` and the process exit code it maps
 * to, so the CLI never has to guess.
 */

/** Process exit codes, one per failure class. */
export const ExitCode = {
  /** Everything ran and every protocol stayed within the scenario's failure allowance. */
  Ok: 0,
  /** The run itself failed: requests failed beyond the allowance, or a process crashed. */
  RunFailed: 1,
  /** Bad input: scenario file, CLI flag, profile value. Nothing was run or written. */
  BadInput: 2,
  /** The environment cannot run this: missing privileges, device or tool. */
  Environment: 3,
  /** A regression was found by `compare` (reserved for the compare command). */
  Regression: 1,
  /** Interrupted by SIGINT/SIGTERM; everything was cleaned up. */
  Interrupted: 130,
  /** Scenario asks for a protocol or feature this build does not support (interop-runner convention). */
  Unsupported: 127,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export class H3BenchError extends Error {
  readonly code: string;
  readonly exitCode: ExitCode;
  constructor(code: string, message: string, exitCode: ExitCode, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.exitCode = exitCode;
  }
}

/** A scenario file or profile value is wrong. Message names file, key path, expected form, value. */
export class ScenarioError extends H3BenchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BENCH_SCENARIO_INVALID', message, ExitCode.BadInput, options);
  }
}

/** A command-line flag is wrong. Message names the flag. */
export class UsageError extends H3BenchError {
  constructor(message: string) {
    super('BENCH_USAGE', message, ExitCode.BadInput);
  }
}

/** The scenario asks for something this build cannot do (exit 127). */
export class UnsupportedError extends H3BenchError {
  constructor(message: string) {
    super('BENCH_UNSUPPORTED', message, ExitCode.Unsupported);
  }
}

/** The machine lacks a privilege, device or tool the scenario needs. */
export class EnvironmentError extends H3BenchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BENCH_ENVIRONMENT', message, ExitCode.Environment, options);
  }
}

/** A run failed: a child process crashed or requests failed beyond the allowance. */
export class RunError extends H3BenchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BENCH_RUN_FAILED', message, ExitCode.RunFailed, options);
  }
}

/** Turn anything thrown into an Error (tinybench `toError`). */
export function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
