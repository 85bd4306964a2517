/**
 * What every helper program in this directory shares on its own side: strict parsing of positional
 * arguments, and a runner that turns a bad argument into a message and exit status 2 (any other
 * failure: exit 1). The programs run as root inside the link's namespaces, so they accept nothing
 * they do not check.
 */
import { isIP, isIPv4 } from 'node:net';
import { watchParent } from '../../core/parent.js';

/** A bad or missing argument: the program prints it with its usage and exits 2. */
export class ProgramUsageError extends Error {}

/** Exactly `names.length` positional arguments, or a ProgramUsageError naming what is wrong. */
export function positionals(argv: readonly string[], names: readonly string[]): string[] {
  if (argv.length !== names.length) {
    throw new ProgramUsageError(
      `expected ${names.length} arguments (${names.join(' ')}), got ${argv.length}`,
    );
  }
  return [...argv];
}

/** An IPv4 address (dotted quad). */
export function ipv4Arg(name: string, value: string): string {
  if (!isIPv4(value)) throw new ProgramUsageError(`${name} "${value}" is not an IPv4 address`);
  return value;
}

/** An IPv4 or IPv6 address. */
export function ipArg(name: string, value: string): string {
  if (isIP(value) === 0) throw new ProgramUsageError(`${name} "${value}" is not an IP address`);
  return value;
}

/** How String(x) writes a finite number, and nothing else (no blanks, hex, Infinity). */
const DECIMAL_RE = /^-?\d+(\.\d+)?(e[-+]?\d+)?$/i;

/** A decimal number in [min, max]. */
export function numberArg(name: string, value: string, min: number, max: number): number {
  const x = DECIMAL_RE.test(value) ? Number(value) : Number.NaN;
  if (!Number.isFinite(x) || x < min || x > max) {
    throw new ProgramUsageError(`${name} "${value}" is not a number in [${min}, ${max}]`);
  }
  return x;
}

/** An integer in [min, max]. */
export function intArg(name: string, value: string, min: number, max: number): number {
  const x = numberArg(name, value, min, max);
  if (!Number.isSafeInteger(x)) throw new ProgramUsageError(`${name} "${value}" is not an integer`);
  return x;
}

/** A TCP or UDP port, 1..65535. */
export function portArg(value: string): number {
  return intArg('PORT', value, 1, 65_535);
}

/**
 * Run a program's body: a ProgramUsageError prints `NAME: message` and the usage and exits 2; any
 * other error prints `NAME: message` and exits 1. The body ends the process itself when it is done
 * (or lets it end when nothing is left to wait for).
 */
export function runProgram(name: string, usage: string, body: () => Promise<void> | void): void {
  // Started by the orchestrator (stdin not a pipe): end with it, never outlive a killed run.
  watchParent(
    (why) => {
      process.stderr.write(`${name}: ${why}, exiting\n`);
      process.exit(1);
    },
    { stdin: false },
  );
  const fail = (err: unknown): never => {
    if (err instanceof ProgramUsageError) {
      process.stderr.write(`${name}: ${err.message}\nusage: ${usage}\n`);
      process.exit(2);
    }
    process.stderr.write(`${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  };
  try {
    void Promise.resolve(body()).catch(fail);
  } catch (err) {
    fail(err);
  }
}
