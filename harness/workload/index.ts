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
import type { WorkloadContext, WorkloadOutcome } from './types.js';

/** Runs `fn` with one client, closing it afterwards. */
async function withClient(
  ctx: WorkloadContext,
  fn: (client: ProtocolClient) => Promise<{ requests: RequestRecord[]; metrics: Record<string, number> }>,
): Promise<WorkloadOutcome> {
  const client = await ctx.newClient();
  try {
    const r = await fn(client);
    const durationMs = ctx.now();
    return { ...r, durationMs, connections: client.connections(), clientSettings: client.settings() };
  } finally {
    await client.close();
  }
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
