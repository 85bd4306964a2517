/**
 * Connection teardown, kept off every workload's critical path: a browser does not wait for an old
 * connection to finish closing before it opens the next or calls the page loaded, and neither does
 * a workload. Closes run in the background; workload completion (`durationMs`) is taken when the
 * last request ended; the closes are awaited after that, so the records get their `tClosed` and the
 * process does not exit mid-close. `teardownMedianMs` reports how long closing took.
 */
import type { ConnectionRecord } from '../model/records.js';
import { median } from '../../core/stats.js';

/**
 * `teardownMedianMs`: the median of tClosed − tCloseStart over the connections that have both (TCP:
 * end() to the socket's 'close'; QUIC: CONNECTION_CLOSE to the end of the closing period), or
 * nothing when none does.
 */
export function teardownMetrics(connections: readonly ConnectionRecord[]): Record<string, number> {
  const times: number[] = [];
  for (const c of connections) {
    if (c.tCloseStart == null || c.tClosed == null) continue;
    times.push(c.tClosed - c.tCloseStart);
  }
  return times.length > 0 ? { teardownMedianMs: median(times) } : {};
}
