/**
 * The one definition of a request's outcome, shared by the analysis, the summaries and the run's
 * failure allowance: a request is ok when it ended without error and its end of stream was seen.
 * Anything else (an error, a reset, a timeout, or no end of stream) is a failed request.
 */
import type { RequestRecord } from '../model/records.js';

/** True when the request completed: no error and an end of stream (`tEnd`). */
export function isOk<R extends Pick<RequestRecord, 'error' | 'tEnd'>>(
  r: R,
): r is R & { error: null; tEnd: number } {
  return r.error === null && r.tEnd !== null;
}
