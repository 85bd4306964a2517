/**
 * Runs the scenario's workload with a protocol client. Each workload returns the per-request records
 * and its own workload-level metrics (named with their unit), which the summary reports per protocol.
 */
import type { RequestRecord } from '../model/records.js';
import type { ProtocolClient } from '../proto/types.js';
import type { Workload } from '../scenario/workload.js';
import { runBulk } from './bulk.js';
import { runCold } from './cold.js';
import { runMultiplex } from './multiplex.js';
import { runPageLoad } from './page-load.js';
import { runRpc } from './rpc.js';
import { teardownMetrics } from './teardown.js';
import type { WorkloadContext, WorkloadOutcome } from './types.js';

/**
 * Runs `fn` with one client. Workload completion is taken when `fn` is done (its last request
 * ended), before the client is closed: the close is awaited but not measured (teardown.ts).
 */
async function withClient(
  ctx: WorkloadContext,
  fn: (client: ProtocolClient) => Promise<{ requests: RequestRecord[]; metrics: Record<string, number> }>,
): Promise<WorkloadOutcome> {
  const client = await ctx.newClient();
  let r: { requests: RequestRecord[]; metrics: Record<string, number> };
  let durationMs: number;
  try {
    r = await fn(client);
    durationMs = ctx.now();
  } finally {
    await client.close();
  }
  const connections = client.connections();
  return {
    ...r,
    metrics: { ...r.metrics, ...teardownMetrics(connections) },
    durationMs,
    connections,
    clientSettings: client.settings(),
  };
}

export function runWorkload(w: Workload, ctx: WorkloadContext): Promise<WorkloadOutcome> {
  switch (w.type) {
    case 'multiplex':
      return withClient(ctx, async (c) => {
        const requests = await runMultiplex(c, w, ctx.now);
        return { requests, metrics: {} };
      });
    case 'page-load':
      return withClient(ctx, (c) => runPageLoad(c, w, ctx.now));
    case 'bulk':
      return withClient(ctx, (c) => runBulk(c, w, ctx.now));
    case 'rpc':
      return withClient(ctx, (c) => runRpc(c, w, ctx.now, ctx.seed));
    case 'cold':
      return runCold(w, ctx);
  }
}
