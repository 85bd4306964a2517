/**
 * Bringing the emulated link up and down for one run, whatever the backend. The orchestrator only
 * sees a LinkHandle: where to run the server and the client, which address to use, what to record.
 *
 * Every emulated run gets fresh namespaces (recorded in the state file before they exist), the
 * endpoint sysctls applied and read back (sysctl.ts), host-wide sysctls raised only as needed and
 * restored when the last h3bench process is done, and a fidelity probe. Whatever fails half-way is
 * torn down before the error propagates; `down()` is idempotent and never throws.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { EnvironmentError, UnsupportedError, toError } from '../harness/errors.js';
import {
  baseRttMs,
  describeDirection,
  type Network,
  type NetworkProfile,
} from '../harness/scenario/network.js';
import type { Transport } from '../harness/scenario/schema.js';
import {
  applyPlan,
  hasEthtool,
  iproute2Version,
  offloadState,
  probeKernel,
  probeNetem,
  qdiscDump,
  supportsSeed,
} from './apply.js';
import {
  CLIENT_ADDRESS,
  SERVER_ADDRESS,
  configureTunPair,
  readLinkemLog,
  startLinkem,
  type LinkemHandle,
} from './linkem.js';
import { hasNetAdmin, hasTun, uniqueName } from './netns.js';
import {
  CLIENT_ADDR,
  SERVER_ADDR,
  describeStages,
  needsSecondStage,
  plan,
  vethsOf,
  type NetemTopology,
} from './plan.js';
import { runFidelityProbe } from './probe.js';
import { forgetProcess, recordProcess } from './state.js';
import {
  applyNamespaceSysctls,
  prepareHost,
  requiredBufferBytes,
  restoreHostIfUnused,
  type HostChange,
} from './sysctl.js';
import {
  createNamespaces,
  kernelRelease,
  namespaceCounters,
  removeNamespaces,
  sweepStaleOnce,
} from './topology.js';

/** Measured path properties vs configured (filled by the fidelity probe). */
export interface FidelityProbe {
  /** Both one-way delays plus the probe packet's serialization, ms. */
  configuredRttMs: number;
  measuredRttMs: { p50: number; p99: number; samples: number };
  /** Round-trip (echo) loss expected from the profile, percent. */
  configuredLossPct: number;
  /** Echoes that did not come back, percent. */
  measuredLossPct: number;
  /** True when the measurement is inside tolerance. */
  ok: boolean;
  notes: string[];
}

export interface LinkHandle {
  backend: 'none' | 'netem' | 'linkem';
  /** Namespace the client runs in; null = the current one. */
  clientNetns: string | null;
  /** Namespace the server runs in; null = the current one. */
  serverNetns: string | null;
  /** Address the server binds and the client connects to. */
  serverAddress: string;
  /** Everything that defines the emulation, recorded in the result. */
  provenance(): Record<string, unknown>;
  /** Short measurement of RTT and loss on the link (null when there is no emulation). */
  probe(): Promise<FidelityProbe | null>;
  /** Tear everything down (idempotent); returns counters to record. */
  down(): Promise<Record<string, unknown>>;
}

export interface LinkContext {
  /** Unique, short id of this run, usable in namespace names ([a-z0-9]). */
  runTag: string;
  /** Directory for emulator logs of this run. */
  workDir: string;
  /** Aborting stops a link coming up (it is torn down) and a probe in progress. */
  signal?: AbortSignal;
}

/** Loopback in the current namespace: no emulation at all. */
function loopback(): LinkHandle {
  return {
    backend: 'none',
    clientNetns: null,
    serverNetns: null,
    serverAddress: '127.0.0.1',
    provenance: () => ({ backend: 'none', path: 'host loopback (127.0.0.1), no emulation' }),
    probe: () => Promise.resolve(null),
    down: () => Promise.resolve({}),
  };
}

/** What the emulated backends need from the machine; an EnvironmentError says what is missing. */
export async function checkPrivileges(backend: 'netem' | 'linkem' | 'auto'): Promise<void> {
  const missing: string[] = [];
  const admin = await hasNetAdmin();
  if (!admin.ok) missing.push(admin.reason);
  if (backend !== 'netem') {
    const tun = await hasTun();
    if (!tun.ok && backend === 'linkem') missing.push(tun.reason);
  }
  if (missing.length > 0) {
    throw new EnvironmentError(
      `Cannot emulate the network (backend ${backend}): ${missing.join('; ')}. Run h3bench as root (sudo), or set network.backend: none to run on host loopback without emulation`,
    );
  }
}

/** Profile features linkem cannot emulate (uniform jitter only; no reorder/duplicate/corrupt). */
export function linkemUnsupported(profile: NetworkProfile): string[] {
  const out: string[] = [];
  for (const dir of ['down', 'up'] as const) {
    const d = profile[dir];
    if (d.jitterMs > 0 && d.jitterDistribution !== 'uniform')
      out.push(`network.${dir} jitter distribution "${d.jitterDistribution}"`);
    if (d.reorderPct > 0) out.push(`network.${dir} reorder`);
    if (d.duplicatePct > 0) out.push(`network.${dir} duplicate`);
    if (d.corruptPct > 0) out.push(`network.${dir} corrupt`);
  }
  return out;
}

/** Profile features the netem backend cannot emulate (a queue limited in packets and bytes at once). */
export function netemUnsupported(profile: NetworkProfile): string[] {
  return (['down', 'up'] as const)
    .filter((dir) => profile[dir].queuePackets !== null && profile[dir].queueBytes !== null)
    .map((dir) => `network.${dir} queue limited in packets and bytes at once`);
}

/** The backend a network will use here: `auto` = netem when the kernel has it, else linkem. */
export async function chooseBackend(network: Network): Promise<{ backend: 'netem' | 'linkem'; why: string }> {
  const b = network.backend;
  if (b === 'linkem') return { backend: 'linkem', why: 'network.backend: linkem' };
  const probe = await probeNetem();
  if (b === 'netem') {
    if (!probe.ok) {
      throw new EnvironmentError(
        `Cannot use network.backend netem: this kernel has no working sch_netem (${probe.reason}); use backend linkem or auto`,
      );
    }
    return { backend: 'netem', why: 'network.backend: netem' };
  }
  if (probe.ok && netemUnsupported(network.profile).length === 0) {
    return { backend: 'netem', why: 'auto: sch_netem works on this kernel' };
  }
  const why = probe.ok
    ? `auto: netem cannot emulate ${netemUnsupported(network.profile).join(', ')}`
    : `auto: no sch_netem on this kernel (${probe.reason.split('\n')[0] ?? ''})`;
  const tun = await hasTun();
  if (!tun.ok) {
    throw new EnvironmentError(
      `Cannot emulate the network: no sch_netem in this kernel and ${tun.reason}. Load sch_netem or tun, or set network.backend: none`,
    );
  }
  const unsupported = linkemUnsupported(network.profile);
  if (unsupported.length > 0) {
    throw new UnsupportedError(
      `The scenario asks for ${unsupported.join(', ')}, which only the netem backend emulates, and ${why}; use a kernel with sch_netem or drop those keys`,
    );
  }
  return { backend: 'linkem', why };
}

function aborted(signal: AbortSignal | undefined): void {
  signal?.throwIfAborted();
}

interface Common {
  backend: 'netem' | 'linkem';
  why: string;
  clientNs: string;
  serverNs: string;
  namespaces: string[];
  hostChanges: HostChange[];
  sysctls: Record<string, Record<string, string>>;
  /** fq is on the endpoints' egress (TCP paced). */
  tcpPacing: boolean;
  warnings: string[];
}

const warned = new Set<string>();
function warnOnce(msg: string): void {
  if (warned.has(msg)) return;
  warned.add(msg);
  console.error(`h3bench: warning: ${msg}`);
}

/** Whether TCP can be paced as asked (fq present); a warning when pacing is asked and impossible. */
async function tcpPacing(transport: Transport): Promise<{ on: boolean; warning: string | null }> {
  if (!transport.pacing) return { on: false, warning: null };
  const fq = (await probeKernel()).fq;
  if (fq.ok) return { on: true, warning: null };
  const warning =
    'transport.pacing is on but this kernel has no sch_fq: TCP is NOT paced while the QUIC driver paces (unfair); set transport.pacing: false for a fair comparison here';
  warnOnce(warning);
  return { on: false, warning };
}

/** Everything both backends record. */
async function commonProvenance(
  c: Common,
  network: Network,
  transport: Transport,
): Promise<Record<string, unknown>> {
  const p = network.profile;
  return {
    backend: c.backend,
    backendChoice: c.why,
    kernel: await kernelRelease(),
    iproute2: await iproute2Version(),
    profile: p,
    profileSummary: { down: describeDirection(p.down), up: describeDirection(p.up), baseRttMs: baseRttMs(p) },
    topology: {
      clientNetns: c.clientNs,
      serverNetns: c.serverNs,
      namespaces: c.namespaces,
      clientAddress: CLIENT_ADDR,
      serverAddress: SERVER_ADDR,
    },
    sysctls: c.sysctls,
    hostSysctlChanges: c.hostChanges,
    warnings: c.warnings,
    fairness: {
      congestion: `${transport.congestion} for TCP (tcp_congestion_control in both namespaces) and QUIC (driver)`,
      ecn: 'off for both (tcp_ecn=0; the QUIC driver sends no ECT)',
      pacing: !transport.pacing
        ? 'off for both (no fq on the endpoints; QUIC driver pacing off)'
        : c.tcpPacing
          ? 'on for both (fq on the endpoints egress for TCP; the QUIC driver paces)'
          : 'QUIC paced by the driver, TCP NOT paced (no sch_fq in this kernel)',
      tcpMetrics: 'tcp_no_metrics_save=1 and fresh namespaces per run',
      slowStartAfterIdle: 'tcp_slow_start_after_idle=0',
      socketBuffers: `tcp_rmem/tcp_wmem max and net.core.rmem_max/wmem_max >= ${requiredBufferBytes(transport, p)} bytes (2 x (BDP + queue), the windows, 7.5 MB)`,
      mtu: `${p.mtuBytes} bytes on every hop; segmentation offloads off`,
    },
  };
}

async function netemUp(
  network: Network,
  transport: Transport,
  ctx: LinkContext,
  why: string,
): Promise<LinkHandle> {
  if (!(await hasEthtool())) {
    throw new EnvironmentError(
      'Cannot use the netem backend: `ethtool` is missing (needed to turn veth offloads off); install it (apt-get install ethtool)',
    );
  }
  const profile = network.profile;
  const two = needsSecondStage(profile);
  const names = await createNamespaces(two ? ['cli', 'srv', 'lka', 'lkb'] : ['cli', 'srv', 'lka']);
  const [clientNs = '', serverNs = '', linkNs = '', link2Ns = null] = names;
  const topo: NetemTopology = { clientNs, serverNs, linkNs, link2Ns };
  const pacing = await tcpPacing(transport);
  const c: Common = {
    backend: 'netem',
    why,
    clientNs,
    serverNs,
    namespaces: names,
    hostChanges: [],
    sysctls: {},
    tcpPacing: pacing.on,
    warnings: pacing.warning === null ? [] : [pacing.warning],
  };
  let provenance: Record<string, unknown>;
  try {
    aborted(ctx.signal);
    c.hostChanges = prepareHost(transport.congestion, requiredBufferBytes(transport, profile));
    const iproute2 = await iproute2Version();
    const kernel = await kernelRelease();
    const opts = { tcSeed: supportsSeed(iproute2, kernel), pacing: pacing.on };
    const cmds = plan(profile, topo, opts);
    await applyPlan(cmds);
    aborted(ctx.signal);
    c.sysctls[clientNs] = await applyNamespaceSysctls(clientNs, transport, profile);
    c.sysctls[serverNs] = await applyNamespaceSysctls(serverNs, transport, profile);
    const qdiscs: Record<string, string> = {};
    for (const ns of names) qdiscs[ns] = await qdiscDump(ns);
    const offloads: Record<string, Record<string, string>> = {};
    for (const [ns, dev] of vethsOf(profile, topo)) offloads[`${ns}/${dev}`] = await offloadState(ns, dev);
    provenance = {
      ...(await commonProvenance(c, network, transport)),
      netem: {
        commands: cmds,
        stages: describeStages(profile, topo),
        seed: opts.tcSeed
          ? 'netem seed set per direction'
          : `netem seed not supported (iproute2 ${iproute2 ?? '?'}, kernel ${kernel}; needs >= 6.6): loss and jitter are not reproducible`,
        qdiscs,
        offloads,
      },
    };
  } catch (err) {
    await teardown(names);
    throw err;
  }
  return handle(c, topo.clientNs, topo.serverNs, network, ctx, provenance, async () => {
    const qdiscs: Record<string, string> = {};
    for (const ns of names) qdiscs[ns] = await qdiscDump(ns).catch((e: unknown) => toError(e).message);
    return { qdiscsAfter: qdiscs };
  });
}

async function linkemUp(
  network: Network,
  transport: Transport,
  ctx: LinkContext,
  why: string,
): Promise<LinkHandle> {
  const profile = network.profile;
  const names = await createNamespaces(['cli', 'srv']);
  const [clientNs = '', serverNs = ''] = names;
  const clientDev = uniqueName('tun');
  const serverDev = uniqueName('tun');
  const pacingState = await tcpPacing(transport);
  const c: Common = {
    backend: 'linkem',
    why,
    clientNs,
    serverNs,
    namespaces: names,
    hostChanges: [],
    sysctls: {},
    tcpPacing: pacingState.on,
    warnings: pacingState.warning === null ? [] : [pacingState.warning],
  };
  let linkem: LinkemHandle | null = null;
  let provenance: Record<string, unknown>;
  const logFile = path.join(ctx.workDir, 'linkem.log');
  try {
    aborted(ctx.signal);
    c.hostChanges = prepareHost(transport.congestion, requiredBufferBytes(transport, profile));
    await mkdir(ctx.workDir, { recursive: true });
    linkem = await startLinkem({
      clientNetns: clientNs,
      serverNetns: serverNs,
      clientDev,
      serverDev,
      profile,
      logFile,
      fifo: true,
    });
    recordProcess(linkem.pid, 'linkem');
    await configureTunPair({
      clientNetns: clientNs,
      serverNetns: serverNs,
      clientDev,
      serverDev,
      mtuBytes: profile.mtuBytes,
    });
    const pacing: string[][] = pacingState.on
      ? [
          ['tc', '-n', clientNs, 'qdisc', 'replace', 'dev', clientDev, 'root', 'fq'],
          ['tc', '-n', serverNs, 'qdisc', 'replace', 'dev', serverDev, 'root', 'fq'],
        ]
      : [];
    await applyPlan(pacing);
    aborted(ctx.signal);
    c.sysctls[clientNs] = await applyNamespaceSysctls(clientNs, transport, profile);
    c.sysctls[serverNs] = await applyNamespaceSysctls(serverNs, transport, profile);
    const qdiscs: Record<string, string> = {};
    for (const ns of names) qdiscs[ns] = await qdiscDump(ns);
    provenance = {
      ...(await commonProvenance(c, network, transport)),
      linkem: {
        ...linkem.config,
        pid: linkem.pid,
        logFile,
        devices: { client: clientDev, server: serverDev },
        pacingCommands: pacing,
      },
      qdiscs,
    };
  } catch (err) {
    if (linkem) {
      await linkem.stop().catch(() => undefined);
      forgetProcess(linkem.pid);
    }
    await teardown(names);
    throw err;
  }
  const lk = linkem;
  return handle(c, clientNs, serverNs, network, ctx, provenance, async () => {
    try {
      const stats = await lk.stop();
      return {
        linkem: stats,
        linkemLog: logFile,
        releaseLatenessUs: { up: stats.up.latenessUs, down: stats.down.latenessUs },
        ...(await emulatorDrops(logFile)),
      };
    } catch (err) {
      return { linkemError: toError(err).message };
    } finally {
      forgetProcess(lk.pid);
    }
  });
}

/**
 * Every packet the emulator dropped (loss or a full queue, both directions), as CLOCK_MONOTONIC
 * times in ms (the clock of the client's t0MonotonicNs), from linkem's per-packet log; the
 * orchestrator subtracts the client's t0 to get RunRecord.link.lossTimesMs.
 */
async function emulatorDrops(logFile: string): Promise<Record<string, unknown>> {
  try {
    const log = await readLinkemLog(logFile);
    const base = Number(log.header.baseMonotonicNs / 1000n) / 1000;
    const dropTimesMonotonicMs: number[] = [];
    const reasons: Record<string, number> = {};
    for (const r of log.records) {
      if (r.event !== 'drop') continue;
      dropTimesMonotonicMs.push(Math.round((base + r.tNs / 1e6) * 1000) / 1000);
      const key = `${r.dir} ${r.reason ?? 'unknown'}`;
      reasons[key] = (reasons[key] ?? 0) + 1;
    }
    return { dropTimesMonotonicMs, dropReasons: reasons };
  } catch (err) {
    return { dropTimesError: toError(err).message };
  }
}

async function teardown(names: readonly string[]): Promise<{ errors: string[]; restored: HostChange[] }> {
  const errors = await removeNamespaces(names);
  let restored: HostChange[] = [];
  try {
    restored = restoreHostIfUnused();
  } catch (err) {
    errors.push(toError(err).message);
  }
  return { errors, restored };
}

function handle(
  c: Common,
  clientNs: string,
  serverNs: string,
  network: Network,
  ctx: LinkContext,
  provenance: Record<string, unknown>,
  stopBackend: () => Promise<Record<string, unknown>>,
): LinkHandle {
  let downing: Promise<Record<string, unknown>> | undefined;
  return {
    backend: c.backend,
    clientNetns: clientNs,
    serverNetns: serverNs,
    serverAddress: c.backend === 'linkem' ? SERVER_ADDRESS : SERVER_ADDR,
    provenance: () => provenance,
    probe: () =>
      runFidelityProbe(
        { clientNs, serverNs, serverAddress: c.backend === 'linkem' ? SERVER_ADDRESS : SERVER_ADDR },
        network.profile,
        ctx.signal ? { signal: ctx.signal } : {},
      ),
    down: () => {
      downing ??= (async () => {
        const counters: Record<string, unknown> = {};
        try {
          counters.sockets = {
            client: await namespaceCounters(clientNs),
            server: await namespaceCounters(serverNs),
          };
          Object.assign(counters, await stopBackend());
        } catch (err) {
          counters.error = toError(err).message;
        }
        const t = await teardown(c.namespaces);
        if (t.errors.length > 0) counters.teardownErrors = t.errors;
        if (t.restored.length > 0) counters.hostSysctlsRestored = t.restored;
        return counters;
      })();
      return downing;
    },
  };
}

/** Bring the emulated link of `network` up (fresh namespaces), or host loopback for backend none. */
export async function linkUp(network: Network, transport: Transport, ctx: LinkContext): Promise<LinkHandle> {
  if (network.backend === 'none') return loopback();
  await checkPrivileges(network.backend);
  await sweepStaleOnce();
  const { backend, why } = await chooseBackend(network);
  aborted(ctx.signal);
  return backend === 'netem' ? netemUp(network, transport, ctx, why) : linkemUp(network, transport, ctx, why);
}

export { CLIENT_ADDRESS, SERVER_ADDRESS };
