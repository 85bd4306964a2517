import { describe, expect, it } from 'vitest';
import { UnitError, parseDurationMs, parsePercent, parseRateKbit, parseSizeBytes } from '../../core/units.js';

describe('parseDurationMs', () => {
  it.each([
    ['50ms', 50],
    ['1.5s', 1500],
    ['200us', 0.2],
    ['200µs', 0.2],
    ['1min', 60_000],
    ['0ms', 0],
    [' 7 ms ', 7],
  ])('parses %s as %d ms', (input, ms) => {
    expect(parseDurationMs(input)).toBeCloseTo(ms, 9);
  });
  it.each([['50'], [50], ['ms'], ['-5ms'], ['5 parsecs'], [null], ['1e3ms']])(
    'rejects %j with the expected form',
    (input) => {
      expect(() => parseDurationMs(input)).toThrow(UnitError);
      expect(() => parseDurationMs(input)).toThrow(/a duration such as "50ms"/);
    },
  );
});

describe('parseRateKbit', () => {
  it.each([
    ['10mbit', 10_000],
    ['1.6mbit', 1600],
    ['500kbit', 500],
    ['1gbit', 1_000_000],
    ['10Mbit', 10_000],
    ['8000bit', 8],
    ['10mbps', 10_000],
  ])('parses %s as %d kbit/s (decimal, as tc)', (input, kbit) => {
    expect(parseRateKbit(input)).toBeCloseTo(kbit, 9);
  });
  it.each([['10'], ['10MB'], ['fast'], [10]])('rejects %j', (input) => {
    expect(() => parseRateKbit(input)).toThrow(/a bit rate such as "10mbit"/);
  });
});

describe('parseSizeBytes', () => {
  it.each([
    ['20KB', 20_000],
    ['1.5MB', 1_500_000],
    ['64KiB', 65_536],
    ['1MiB', 1_048_576],
    ['1200B', 1200],
    [4096, 4096],
  ])('parses %j as %d bytes', (input, bytes) => {
    expect(parseSizeBytes(input)).toBe(bytes);
  });
  it.each([['20kb ish'], ['20 parsecs'], [1.5], ['KB'], [-3]])('rejects %j', (input) => {
    expect(() => parseSizeBytes(input)).toThrow(/a size such as "20KB"/);
  });
});

describe('parsePercent', () => {
  it('parses "1.5%" as 1.5', () => {
    expect(parsePercent('1.5%')).toBe(1.5);
  });
  it.each([['1.5'], [1.5], ['%']])('rejects %j', (input) => {
    expect(() => parsePercent(input)).toThrow(/a percentage such as "1.5%"/);
  });
});
