/** Flag parsing shared by the commands: node:util parseArgs, errors that name the flag. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../../core/errors.js';
import { PROTOCOLS, type Protocol } from '../scenario/schema.js';

export type Options = NonNullable<ParseArgsConfig['options']>;

export function parse<O extends Options>(command: string, argv: string[], options: O) {
  try {
    return parseArgs({
      args: argv,
      options: { help: { type: 'boolean', short: 'h' }, ...options },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError(`h3bench ${command}: ${(err as Error).message} (see h3bench ${command} --help)`);
  }
}

export function intFlag(
  flag: string,
  value: string | undefined,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UsageError(
      `--${flag}: value error: must be an integer in ${min}..${max}: current value is "${value}"`,
    );
  }
  return Number(value);
}

export function protocolsFlag(value: string | undefined): Protocol[] | undefined {
  if (value === undefined) return undefined;
  const list = value
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const bad = list.filter((p) => !(PROTOCOLS as readonly string[]).includes(p));
  if (list.length === 0 || bad.length > 0) {
    throw new UsageError(
      `--protocols: value error: must be a comma-separated subset of ${PROTOCOLS.join(',')}: current value is "${value}"`,
    );
  }
  if (new Set(list).size !== list.length)
    throw new UsageError(`--protocols: value error: repeats a protocol: "${value}"`);
  return list as Protocol[];
}

export function onePositional(command: string, positionals: string[], what: string): string {
  if (positionals.length !== 1 || positionals[0] === undefined) {
    throw new UsageError(
      `h3bench ${command}: expected exactly one ${what}, got ${positionals.length} (see h3bench ${command} --help)`,
    );
  }
  return positionals[0];
}
