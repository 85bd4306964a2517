/** The error every part of the linkem driver throws when linkem itself fails. */
import { ExitCode, H3BenchError } from '../../core/errors.js';

/** linkem failed to build, start, stop, or its output could not be read. */
export class LinkemError extends H3BenchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BENCH_LINKEM', message, ExitCode.RunFailed, options);
  }
}
