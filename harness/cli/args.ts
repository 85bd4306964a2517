/** Flag parsing shared by the commands: node:util parseArgs, errors that name the flag. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../../core/errors.js';
import {
  CLIENT_STACKS,
  H3_STACKS,
  PROTOCOLS,
  SERVER_STACKS,
  type ClientStack,
  type H3Stack,
  type Protocol,
  type ServerStack,
} from '../scenario/schema.js';

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

/** `--h3-stack NAME`: the HTTP/3 engine of h3bench's own endpoints (a scenario's `stacks.h3`). */
export function h3StackFlag(value: string | undefined): H3Stack | undefined {
  if (value === undefined) return undefined;
  if (!(H3_STACKS as readonly string[]).includes(value)) {
    throw new UsageError(
      `--h3-stack: value error: must be one of ${H3_STACKS.join(', ')}: current value is "${value}"`,
    );
  }
  return value as H3Stack;
}

function oneOf<T extends string>(
  flag: string,
  allowed: readonly T[],
  value: string | undefined,
): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(
      `--${flag}: value error: must be one of ${allowed.join(', ')}: current value is "${value}"`,
    );
  }
  return value as T;
}

/** `--client NAME`: who requests (a scenario's `stacks.client`). */
export const clientStackFlag = (value: string | undefined): ClientStack | undefined =>
  oneOf('client', CLIENT_STACKS, value);

/** `--server NAME`: who serves (a scenario's `stacks.server`). */
export const serverStackFlag = (value: string | undefined): ServerStack | undefined =>
  oneOf('server', SERVER_STACKS, value);
