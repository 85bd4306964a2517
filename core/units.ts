/**
 * Human units in YAML (`50ms`, `10mbit`, `1.5%`, `20KB`) parsed into canonical numbers. Each parser
 * returns the number or throws a `UnitError` whose message states the expected form; the schema turns
 * that into a message naming the file, key path and value.
 *
 * Conventions (documented in scenarios/README.md):
 * - durations → milliseconds: ns, us (or µs), ms, s, min
 * - rates → kbit/s, decimal as tc(8): bit, kbit, mbit, gbit (also bps, kbps, mbps, gbps = bits/s)
 * - sizes → bytes: B, KB = 1000 B, MB = 10^6 B, GB = 10^9 B, KiB = 1024 B, MiB, GiB
 * - percentages → percent (0..100): `1.5%`
 */

export class UnitError extends Error {}

const NUM = String.raw`(\d+(?:\.\d+)?|\.\d+)`;

function parseWith(value: unknown, units: Readonly<Record<string, number>>, expected: string): number {
  if (typeof value !== 'string') throw new UnitError(`expected ${expected}`);
  const m = new RegExp(`^${NUM}\\s*([a-zA-Zµ%]+)$`).exec(value.trim());
  const unit = m?.[2];
  const factor = unit === undefined ? undefined : (units[unit] ?? units[unit.toLowerCase()]);
  if (!m || factor === undefined) throw new UnitError(`expected ${expected}`);
  return Number(m[1]) * factor;
}

const DURATION_UNITS = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, min: 60_000 } as const;
export const DURATION_FORM = 'a duration such as "50ms", "1.5s" or "200us"';
/** Parse a duration into milliseconds. */
export function parseDurationMs(value: unknown): number {
  return parseWith(value, DURATION_UNITS, DURATION_FORM);
}

const RATE_UNITS = {
  bit: 1e-3,
  kbit: 1,
  mbit: 1e3,
  gbit: 1e6,
  bps: 1e-3,
  kbps: 1,
  mbps: 1e3,
  gbps: 1e6,
} as const;
export const RATE_FORM = 'a bit rate such as "10mbit", "1.6mbit" or "500kbit"';
/** Parse a bit rate into kbit/s (1 kbit = 1000 bit, as tc). */
export function parseRateKbit(value: unknown): number {
  return parseWith(value, RATE_UNITS, RATE_FORM);
}

const SIZE_UNITS = {
  B: 1,
  b: 1,
  KB: 1e3,
  kB: 1e3,
  MB: 1e6,
  GB: 1e9,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
} as const;
export const SIZE_FORM = 'a size such as "20KB", "1.5MB", "64KiB" or "1200B" (KB = 1000 B, KiB = 1024 B)';
/** Parse a size into bytes (rounded to a whole byte). A bare integer is taken as bytes. */
export function parseSizeBytes(value: unknown): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  if (typeof value === 'string') {
    const m = new RegExp(`^${NUM}\\s*([a-zA-Z]+)$`).exec(value.trim());
    const unit = m?.[2];
    if (m && unit !== undefined && unit in SIZE_UNITS) {
      return Math.round(Number(m[1]) * SIZE_UNITS[unit as keyof typeof SIZE_UNITS]);
    }
  }
  throw new UnitError(`expected ${SIZE_FORM}`);
}

export const PERCENT_FORM = 'a percentage such as "1.5%"';
/** Parse a percentage ("1.5%") into percent. */
export function parsePercent(value: unknown): number {
  return parseWith(value, { '%': 1 }, PERCENT_FORM);
}
