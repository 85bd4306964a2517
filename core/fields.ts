/**
 * zod field types for human units. Each parses the YAML value into a canonical number and, on bad
 * input, reports "must be <expected form>" so the loader can add file, key path and value.
 */
import { z } from 'zod';
import {
  DURATION_FORM,
  PERCENT_FORM,
  RATE_FORM,
  SIZE_FORM,
  UnitError,
  parseDurationMs,
  parsePercent,
  parseRateKbit,
  parseSizeBytes,
} from './units.js';

function unitField(parse: (v: unknown) => number, form: string) {
  return z.unknown().transform((value, ctx): number => {
    try {
      return parse(value);
    } catch (err) {
      if (!(err instanceof UnitError)) throw err;
      ctx.addIssue({ code: 'custom', message: `must be ${form}`, input: value });
      return z.NEVER;
    }
  });
}

/** Duration in milliseconds, >= 0, from "50ms", "1.5s", "200us". */
export const durationMs = () => unitField(parseDurationMs, DURATION_FORM).pipe(z.number().min(0));
/** Bit rate in kbit/s, > 0, from "10mbit". */
export const rateKbit = () => unitField(parseRateKbit, RATE_FORM).pipe(z.number().positive());
/** Size in bytes, integer >= 0, from "20KB" or a bare integer. */
export const sizeBytes = () => unitField(parseSizeBytes, SIZE_FORM).pipe(z.number().int().min(0));
/** Percentage 0..100 from "1.5%". */
export const percent = () => unitField(parsePercent, PERCENT_FORM).pipe(z.number().min(0).max(100));
/** Positive integer count. */
export const count = (min = 1) => z.number().int().min(min);
