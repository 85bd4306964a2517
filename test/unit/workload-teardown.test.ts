/**
 * Closing connections is off every workload's critical path: with a stub client whose close takes
 * 200 ms, workload completion is still the last request's end, the next cold request does not wait
 * for the previous close, and the teardown times are recorded and summarised (teardownMedianMs).
 */
import { describe, expect, it } from 'vitest';
import type { ConnectionRecord, RequestRecord } from '../../harness/model/records.js';
import type { ProtocolClient, ResponseHeaders } from '../../harness/proto/types.js';
import { newConnectionRecord } from '../../harness/proto/types.js';
import { parseScenario } from '../../harness/scenario/load.js';
import { runWorkload } from '../../harness/workload/index.js';
import { teardownMetrics } from '../../harness/workload/teardown.js';

const CLOSE_MS = 200;
const RESPONSE_MS = 4;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A client with one connection: each response takes RESPONSE_MS, closing takes CLOSE_MS. */
function stubClient(now: () => number): ProtocolClient {
  const conn: ConnectionRecord = { ...newConnectionRecord(0, now()), tCloseStart: null, tClosed: null };
  return {
    protocol: 'h2',
    get: async (path: string, rec: RequestRecord): Promise<ResponseHeaders> => {
      rec.connection = 0;
      const n = Number(/\/bytes\/(\d+)/.exec(path)?.[1] ?? 0);
      await sleep(RESPONSE_MS);
      rec.tHeaders = now();
      rec.status = 200;
      rec.bytes = n;
      rec.chunks.push([now(), n]);
      rec.tEnd = now();
      return { ':status': '200' };
    },
    connections: () => [conn],
    close: async () => {
      conn.tCloseStart = now();
      await sleep(CLOSE_MS);
      conn.tClosed = now();
    },
    settings: () => ({}),
  };
}

async function run(workload: string) {
  const s = parseScenario(`name: t\nworkload:\n${workload}`, '/tmp/w.yaml');
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const out = await runWorkload(s.workload, {
    newClient: () => Promise.resolve(stubClient(now)),
    now,
    seed: 1,
  });
  return { out, returnedAt: now() };
}

const lastEnd = (rs: readonly RequestRecord[]) => Math.max(...rs.map((r) => r.tEnd ?? Infinity));

describe('teardown off the critical path', () => {
  it('cold: 5 requests one at a time take ~5 responses, not 5 closes', async () => {
    const { out, returnedAt } = await run('  type: cold\n  requests: 5\n  concurrency: 1\n');
    expect(out.requests.every((r) => r.error === null)).toBe(true);
    expect(out.durationMs - lastEnd(out.requests)).toBeLessThan(5);
    const teardowns = out.connections.map((c) => (c.tClosed ?? 0) - (c.tCloseStart ?? 0));
    expect(teardowns).toHaveLength(5);
    for (const t of teardowns) expect(t).toBeGreaterThanOrEqual(CLOSE_MS - 1);
    // Far below the sum of the closes (1 s), which the old workload waited for.
    expect(out.durationMs).toBeLessThan(CLOSE_MS);
    for (let i = 1; i < out.requests.length; i++) {
      expect((out.requests[i]?.tStart ?? Infinity) - (out.requests[i - 1]?.tEnd ?? 0)).toBeLessThan(5);
    }
    // The closes are still awaited before the workload returns, so every record is complete.
    expect(returnedAt).toBeGreaterThanOrEqual(lastEnd(out.requests) + CLOSE_MS - 1);
    expect(out.metrics.teardownMedianMs).toBeGreaterThanOrEqual(CLOSE_MS - 1);
    expect(out.metrics.teardownMedianMs).toBeLessThan(CLOSE_MS + 50);
  });

  it.each([
    ['multiplex', '  type: multiplex\n  requests: 6\n  concurrency: 3\n'],
    ['page-load', '  type: page-load\n  waves:\n    - { count: 3, size: 1KB }\n'],
    ['bulk', '  type: bulk\n  size: 1KB\n'],
    ['rpc', '  type: rpc\n  rate: 100\n  duration: 100ms\n'],
  ])('%s: completion is the last request end, the close comes after', async (_name, yaml) => {
    const { out, returnedAt } = await run(yaml);
    expect(out.requests.length).toBeGreaterThan(0);
    expect(out.durationMs - lastEnd(out.requests)).toBeLessThan(5);
    expect(returnedAt - out.durationMs).toBeGreaterThanOrEqual(CLOSE_MS - 1);
    expect(out.connections[0]?.tClosed).not.toBeNull();
    expect(out.metrics.teardownMedianMs).toBeGreaterThanOrEqual(CLOSE_MS - 1);
  });
});

describe('teardownMetrics', () => {
  const conn = (tCloseStart: number | null | undefined, tClosed: number | null | undefined) => ({
    ...newConnectionRecord(0, 0),
    tCloseStart,
    tClosed,
  });

  it('is the median of tClosed - tCloseStart over the connections that have both', () => {
    expect(
      teardownMetrics([conn(10, 13), conn(20, 30), conn(5, 6), conn(1, null), conn(undefined, 4)]),
    ).toEqual({ teardownMedianMs: 3 });
  });

  it('is absent when no connection has both times', () => {
    expect(teardownMetrics([conn(null, null), conn(3, undefined)])).toEqual({});
  });
});
