/**
 * Which endpoint pairings a scenario may ask for (`stacks.server`, `stacks.client`, `stacks.h3`),
 * checked before anything runs: a pairing that cannot work, or a setting an endpoint cannot honour,
 * is refused with the reason (UnsupportedError, exit 127), never left to hang or fail run by run.
 */
import { UnsupportedError } from '../../core/errors.js';
import {
  CADDY_MAX_STREAMS,
  CADDY_UNSUPPORTED_PEERS,
  caddyUnsupported,
  caddyWarnings,
  caddyWorkloadProblem,
} from '../proto/caddy/capabilities.js';
import { H3_STACK_CAPABILITIES } from '../proto/stacks.js';
import type { LoadedScenario } from '../scenario/load.js';
import type { Protocol, Scenario } from '../scenario/schema.js';

/** Why a pairing of one scenario point cannot run, or null. */
export function endpointProblem(s: Scenario): string | null {
  const { client, server, h3 } = s.stacks;
  const hasH3 = s.protocols.includes('h3');
  if (hasH3 && server === 'h3bench') {
    const why = H3_STACK_CAPABILITIES[h3].unsupported(s.transport);
    if (why !== null) return `stacks.h3 is ${h3}: ${why}; pick stacks.h3: quiche-0.18 or change transport`;
  }
  if (client === 'chromium') {
    if (s.workload.type !== 'page-load') {
      return `stacks.client chromium loads pages: workload.type must be page-load, not ${s.workload.type}`;
    }
    if (hasH3 && server === 'h3bench') {
      const peer = H3_STACK_CAPABILITIES[h3].unsupportedPeers['chromium'];
      if (peer !== undefined) return `Chromium cannot load from stacks.h3 ${h3} over h3: ${peer}`;
    }
  }
  if (server === 'caddy' && (s.workload.serverCpuMs ?? 0) > 0) {
    return 'stacks.server caddy serves files: it cannot burn workload.serverCpu per request; remove serverCpu';
  }
  if (server === 'caddy') {
    for (const p of s.protocols) {
      const why = caddyUnsupported(s.transport, p);
      if (why !== null) {
        return `stacks.server is caddy: ${why}; ask for what it can pin (transport: {congestion: reno, pacing: true, hystart: true}) or leave ${p} out of protocols`;
      }
      const load = caddyWorkloadProblem(s.workload, p);
      if (load !== null) {
        return `stacks.server is caddy: ${load}; lower workload.concurrency to ${CADDY_MAX_STREAMS.h2} or leave ${p} out of protocols`;
      }
      const peer = CADDY_UNSUPPORTED_PEERS[p]?.[client];
      if (peer !== undefined) return `${client} cannot load from stacks.server caddy over ${p}: ${peer}`;
    }
  }
  return null;
}

/** Refuses (exit 127) a scenario with a point whose endpoints cannot run as asked. */
export function checkEndpoints(loaded: LoadedScenario): void {
  for (const p of loaded.points) {
    const why = endpointProblem(p);
    if (why !== null) throw new UnsupportedError(`Cannot run scenario "${loaded.file}" as ${why}`);
  }
}

/**
 * What the endpoints of a run do not pin, as fairness warnings of its link (shown with it in the
 * reports): the HTTP/3 engine's gaps where one of h3bench's own endpoints speaks h3, and Caddy's.
 */
export function endpointWarnings(s: Scenario, protocol: Protocol): string[] {
  const { client, server, h3 } = s.stacks;
  const out: string[] = [];
  if (protocol === 'h3' && (client === 'h3bench' || server === 'h3bench')) {
    const { notPinnable } = H3_STACK_CAPABILITIES[h3];
    out.push(...Object.entries(notPinnable).map(([k, v]) => `h3 engine ${h3} does not pin ${k}: ${v}`));
  }
  if (server === 'caddy') out.push(...caddyWarnings(protocol, s.transport));
  return out;
}
