/**
 * linkem's two stdout lines, `READY {json}` and `STATS {json}` (format in link/linkem/README.md),
 * validated on read into typed values.
 */
import { z } from 'zod';
import { LinkemError } from './error.js';
import type { JsonObject } from '../../core/json.js';

const readySchema = z.object({
  pid: z.number().int(),
  sched: z.string(),
  timer_slack_ns: z.number(),
  mlock: z.boolean(),
  config: z.record(z.string(), z.json()),
});

const latenessSchema = z.object({
  count: z.number(),
  mean: z.number(),
  p50: z.number(),
  p99: z.number(),
  p999: z.number(),
  max: z.number(),
});

/**
 * Counters of one direction. packetsIn = delivered + every dropped.* + pendingAtExit. Lateness is
 * write time − scheduled release, µs (delivered packets only).
 */
const directionStatsSchema = z
  .object({
    packets_in: z.number(),
    bytes_in: z.number(),
    delivered: z.number(),
    bytes_delivered: z.number(),
    dropped: z.object({
      loss: z.number(),
      queue_packets: z.number(),
      queue_bytes: z.number(),
      oversize: z.number(),
      write_error: z.number(),
    }),
    pending_at_exit: z.number(),
    max_queue_packets: z.number(),
    max_queue_bytes: z.number(),
    read_errors: z.number(),
    lateness_us: latenessSchema,
  })
  .transform((s) => ({
    packetsIn: s.packets_in,
    bytesIn: s.bytes_in,
    delivered: s.delivered,
    bytesDelivered: s.bytes_delivered,
    dropped: {
      loss: s.dropped.loss,
      queuePackets: s.dropped.queue_packets,
      queueBytes: s.dropped.queue_bytes,
      oversize: s.dropped.oversize,
      writeError: s.dropped.write_error,
    },
    pendingAtExit: s.pending_at_exit,
    maxQueuePackets: s.max_queue_packets,
    maxQueueBytes: s.max_queue_bytes,
    readErrors: s.read_errors,
    latenessUs: s.lateness_us,
  }));

const statsSchema = z
  .object({
    up: directionStatsSchema,
    down: directionStatsSchema,
    sched: z.string(),
    mlock: z.boolean(),
    busy_poll_us: z.number(),
    rx_poll_us: z.number(),
    busy_poll_spin_s: z.number(),
    elapsed_s: z.number(),
    log: z.object({ records: z.number(), stalls: z.number(), write_errors: z.number() }),
  })
  .transform((s) => ({
    up: s.up,
    down: s.down,
    sched: s.sched,
    mlock: s.mlock,
    busyPollUs: s.busy_poll_us,
    rxPollUs: s.rx_poll_us,
    /** Seconds spent spinning (before releases and polling input). */
    busyPollSpinS: s.busy_poll_spin_s,
    elapsedS: s.elapsed_s,
    log: { records: s.log.records, stalls: s.log.stalls, writeErrors: s.log.write_errors },
  }));

/** linkem's final counters (its STATS line). */
export type LinkemStats = z.output<typeof statsSchema>;

/** linkem's READY line: process id, scheduling policy obtained, and its configuration. */
export interface LinkemReady {
  pid: number;
  /** "fifo:50", "other", or "other (SCHED_FIFO: <error>)". */
  sched: string;
  timerSlackNs: number;
  mlock: boolean;
  /** linkem's own view of its configuration, including argv. */
  config: JsonObject;
}

function parseJsonLine<T>(prefix: string, line: string, schema: z.ZodType<T>): T {
  try {
    return schema.parse(JSON.parse(line.slice(prefix.length)));
  } catch (err) {
    throw new LinkemError(`Cannot parse linkem's ${prefix.trim()} line: ${line.slice(0, 300)}`, {
      cause: err,
    });
  }
}

/** Parse a `STATS {json}` line (exported for tests). */
export function parseLinkemStatsLine(line: string): LinkemStats {
  return parseJsonLine('STATS ', line, statsSchema);
}

/** Parse a `READY {json}` line (exported for tests). */
export function parseLinkemReadyLine(line: string): LinkemReady {
  const r = parseJsonLine('READY ', line, readySchema);
  return { pid: r.pid, sched: r.sched, timerSlackNs: r.timer_slack_ns, mlock: r.mlock, config: r.config };
}
