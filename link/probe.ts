/**
 * The fidelity probe every emulated run records (proves traffic crosses the emulated link): UDP
 * echoes from the client namespace to an echo server in the server namespace (linkem-probe, or the
 * udp-echo and udp-ping programs of link/programs/ when it cannot be built), then RTT and loss
 * compared with the profile.
 *
 * Tolerances (also in scenarios/README.md):
 * - configured RTT = both one-way delays + the probe packet's serialization at each rate;
 * - p50 within ±(1 ms + 5% of the RTT + half the summed jitter);
 * - p99 ≤ RTT + summed jitter (×3 for non-uniform distributions) + 2 ms + 10% of the RTT, and the
 *   fastest echo not earlier than RTT − summed jitter − 0.5 ms (traffic really crossed the link);
 * - round-trip loss 1 − (1 − down)(1 − up) inside the 99% Wilson interval of the measured loss,
 *   computed on an effective sample size n / (2·meanBurst − 1) for bursty models (variance inflation
 *   of a Markov chain). With ~40 echoes this only catches gross errors; `netem selftest` measures it.
 */
import {
  expectedLossFraction,
  expectedMeanBurst,
  type LossModel,
  type NetworkProfile,
} from '../core/network.js';
import { EnvironmentError } from '../core/errors.js';
import { percentileOf } from '../core/stats.js';
import type { FidelityProbe } from './record.js';
import { buildLinkemIfNeeded } from './linkem/build.js';
import { probeRtt } from './linkem/probes.js';
import { execIn, spawnIn, waitForLine } from './netns.js';
import { probeRttMs } from './plan.js';
import { programArgv } from './programs/launch.js';
import { parseUdpPingResult, udpEchoArgv, udpPingArgv } from './programs/udp.js';

/** UDP port of the probe echo server (inside the fresh server namespace). */
export const PROBE_PORT = 47_100;
/** Echoes per run probe. */
export const PROBE_COUNT = 40;
/** Gap between echoes, ms. */
export const PROBE_INTERVAL_MS = 5;
/** UDP payload bytes of a probe (IP packet: + 28). */
export const PROBE_PAYLOAD_BYTES = 64;

/** Wilson score interval for k successes in n trials at normal quantile z (fractions). */
export function wilson(k: number, n: number, z: number): { low: number; high: number } {
  if (n <= 0) return { low: 0, high: 1 };
  const p = k / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  return { low: k <= 0 ? 0 : Math.max(0, centre - half), high: k >= n ? 1 : Math.min(1, centre + half) };
}

export const Z95 = 1.959964;
export const Z99 = 2.575829;

/** Variance inflation of a loss estimate under bursty loss (1 for Bernoulli). */
export function burstInflation(loss: LossModel): number {
  if (loss.model === 'none' || loss.model === 'random') return 1;
  const b = expectedMeanBurst(loss);
  return Number.isFinite(b) && b > 1 ? 2 * b - 1 : 1;
}

/** Round-trip loss fraction of an echo: lost if either direction loses it. */
export function roundTripLoss(profile: NetworkProfile): number {
  return 1 - (1 - expectedLossFraction(profile.down.loss)) * (1 - expectedLossFraction(profile.up.loss));
}

/** Judge a probe's samples against the profile (pure). */
export function evaluateProbe(
  profile: NetworkProfile,
  sent: number,
  rttMs: readonly number[],
): FidelityProbe {
  const configuredRttMs = probeRttMs(profile, PROBE_PAYLOAD_BYTES + 28);
  const jitterSum = profile.down.jitterMs + profile.up.jitterMs;
  const heavyTails = [profile.down, profile.up].some(
    (d) => d.jitterMs > 0 && d.jitterDistribution !== 'uniform',
  );
  const p50 = percentileOf(rttMs, 50);
  const p99 = percentileOf(rttMs, 99);
  const min = rttMs.length ? Math.min(...rttMs) : Number.NaN;
  const notes: string[] = [];
  let ok = true;

  const p50Tol = 1 + 0.05 * configuredRttMs + jitterSum / 2;
  const p99Max = configuredRttMs + jitterSum * (heavyTails ? 3 : 1) + 2 + 0.1 * configuredRttMs;
  const minFloor = configuredRttMs - jitterSum - 0.5;
  if (rttMs.length === 0) {
    ok = false;
    notes.push(`no echo came back out of ${sent}: the link does not carry traffic`);
  } else {
    if (Math.abs(p50 - configuredRttMs) > p50Tol) {
      ok = false;
      notes.push(
        `RTT p50 ${p50.toFixed(3)} ms is off the configured ${configuredRttMs.toFixed(3)} ms by more than ${p50Tol.toFixed(3)} ms`,
      );
    }
    if (p99 > p99Max) {
      ok = false;
      notes.push(`RTT p99 ${p99.toFixed(3)} ms exceeds ${p99Max.toFixed(3)} ms`);
    }
    if (min < minFloor) {
      ok = false;
      notes.push(
        `fastest echo ${min.toFixed(3)} ms is below ${minFloor.toFixed(3)} ms: traffic bypasses the emulation?`,
      );
    }
  }
  const lost = Math.max(0, sent - rttMs.length);
  const configuredLoss = roundTripLoss(profile);
  const inflation = Math.max(burstInflation(profile.down.loss), burstInflation(profile.up.loss));
  const nEff = sent / inflation;
  const ci = wilson((lost / Math.max(1, sent)) * nEff, nEff, Z99);
  if (sent > 0 && (configuredLoss < ci.low || configuredLoss > ci.high)) {
    ok = false;
    notes.push(
      `round-trip loss ${((100 * lost) / sent).toFixed(2)}% (${lost}/${sent}): configured ${(100 * configuredLoss).toFixed(2)}% is outside the 99% interval [${(100 * ci.low).toFixed(2)}%, ${(100 * ci.high).toFixed(2)}%]`,
    );
  }
  notes.push(
    `tolerance: p50 ±${p50Tol.toFixed(3)} ms, p99 ≤ ${p99Max.toFixed(3)} ms; loss is round trip (either direction), 99% Wilson interval on n_eff = ${nEff.toFixed(1)}`,
  );
  return {
    configuredRttMs,
    measuredRttMs: { p50, p99, samples: rttMs.length },
    configuredLossPct: 100 * configuredLoss,
    measuredLossPct: sent > 0 ? (100 * lost) / sent : 0,
    ok,
    notes,
  };
}

export interface ProbeTarget {
  clientNs: string;
  serverNs: string;
  serverAddress: string;
}

/**
 * Run the echo probe over a link and judge it. Uses linkem-probe (C: kernel receive timestamps, the
 * echo's dwell subtracted, so scheduling noise of the measuring processes is not counted) when it
 * can be built, else udp-echo and udp-ping (link/programs/).
 */
export async function runFidelityProbe(
  target: ProbeTarget,
  profile: NetworkProfile,
  opts: { count?: number; intervalMs?: number; signal?: AbortSignal } = {},
): Promise<FidelityProbe> {
  const count = opts.count ?? PROBE_COUNT;
  const intervalMs = opts.intervalMs ?? PROBE_INTERVAL_MS;
  const waitMs = Math.ceil(
    2 * probeRttMs(profile, PROBE_PAYLOAD_BYTES + 28) +
      3 * (profile.down.jitterMs + profile.up.jitterMs) +
      500,
  );
  let tool: string;
  let sent: number;
  let rttMs: number[];
  try {
    await buildLinkemIfNeeded();
    tool = 'linkem-probe (kernel receive timestamps, echo dwell removed)';
    const r = await probeRtt({
      clientNetns: target.clientNs,
      serverNetns: target.serverNs,
      serverAddress: target.serverAddress,
      port: PROBE_PORT,
      count,
      intervalUs: Math.round(intervalMs * 1000),
      sizeBytes: PROBE_PAYLOAD_BYTES,
      waitMs,
    });
    sent = r.sent;
    rttMs = r.rttUs.map((u) => u / 1000);
  } catch (err) {
    if (!(err instanceof EnvironmentError)) throw err;
    tool = `node dgram (linkem-probe unavailable: ${err.message})`;
    ({ sent, rttMs } = await nodePing(target, count, intervalMs, waitMs, opts.signal));
  }
  opts.signal?.throwIfAborted();
  const judged = evaluateProbe(profile, sent, rttMs);
  judged.notes.push(`measured with ${tool}`);
  return judged;
}

/** The Node fallback of the probe. */
async function nodePing(
  target: ProbeTarget,
  count: number,
  intervalMs: number,
  waitMs: number,
  signal: AbortSignal | undefined,
): Promise<{ sent: number; rttMs: number[] }> {
  const host = target.serverAddress;
  const echo = spawnIn(target.serverNs, programArgv('udp-echo', udpEchoArgv({ host, port: PROBE_PORT })), {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
  });
  const onAbort = () => echo.kill('SIGKILL');
  signal?.addEventListener('abort', onAbort);
  try {
    await waitForLine(echo, 'LISTENING', 10_000, 'probe echo server');
    const ping = { host, port: PROBE_PORT, count, intervalMs, sizeBytes: PROBE_PAYLOAD_BYTES, waitMs };
    const { stdout } = await execIn(target.clientNs, programArgv('udp-ping', udpPingArgv(ping)), {
      timeoutMs: count * intervalMs * 4 + waitMs + 15_000,
    });
    return parseUdpPingResult(stdout);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (echo.exitCode === null && echo.signalCode === null) echo.kill('SIGTERM');
  }
}
