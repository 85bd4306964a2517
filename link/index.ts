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
import { EnvironmentError, UnsupportedError, toError } from '../core/errors.js';
import {
  baseRttMs,
  describeDirection,
  DIRECTIONS,
  unsupportedFeatures,
  type Network,
  type NetworkProfile,
} from '../core/network.js';
import type { Transport } from '../core/transport.js';
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
import { CLIENT_ADDRESS, SERVER_ADDRESS } from './addresses.js';
import { readLinkemDrops } from './linkem/log.js';
import { startLinkem, type LinkemHandle } from './linkem/process.js';
import { configureTunPair } from './linkem/tun.js';
import { cubicHystartParam, hostCongestion, judgeFairness, rootQdisc, type Fairness } from './fairness.js';
import { hasNetAdmin, hasTun, uniqueName } from './netns.js';
import {
  describeStages,
  endpointDevices,
  endpointQdiscCommands,
  needsSecondStage,
  plan,
  vethsOf,
  type NetemTopology,
} from './plan.js';
import { runFidelityProbe } from './probe.js';
import type { FidelityProbe, LinkCounters, LinkProvenance, LinkTeardown } from './record.js';
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

export interface LinkHandle {
  backend: 'none' | 'netem' | 'linkem';
  /** Namespace the client runs in; null = the current one. */
  clientNetns: string | null;
  /** Namespace the server runs in; null = the current one. */
  serverNetns: string | null;
  /** Address the server binds and the client connects to. */
  serverAddress: string;
  /** Everything that defines the emulation, recorded in the result. */
  provenance(): LinkProvenance;
  /** Short measurement of RTT and loss on the link (null when there is no emulation). */
  probe(): Promise<FidelityProbe | null>;
  /** Tear everything down (idempotent); returns the counters to record and the drop times. */
  down(): Promise<LinkTeardown>;
}

export interface LinkContext {
  /** Directory for emulator logs of this run. */
  workDir: string;
  /** Aborting stops a link coming up (it is torn down) and a probe in progress. */
  signal?: AbortSignal;
  /**
   * @deprecated Ignored: namespace and device names come from netns.ts `uniqueName`. Accepted until
   * every caller stops passing it.
   */
  runTag?: string;
}

const warned = new Set<string>();
function warnOnce(msg: string): void {
  if (warned.has(msg)) return;
  warned.add(msg);
  console.error(`h3bench: warning: ${msg}`);
}

/** Loopback in the current namespace: no emulation; TCP gets whatever the host has. */
async function loopback(transport: Transport): Promise<LinkHandle> {
  const lo = await rootQdisc(null, 'lo');
  const fairness = judgeFairness(transport, {
    loopback: true,
    congestion: hostCongestion(),
    qdisc: { client: lo, server: lo },
    devices: 'lo',
    fqAvailable: true,
    cubicHystart: cubicHystartParam(),
  });
  for (const w of fairness.warnings) warnOnce(w);
  const provenance: LinkProvenance = {
    backend: 'none',
    path: 'host loopback (127.0.0.1), no emulation',
    warnings: fairness.warnings,
    fairness: { congestion: fairness.congestion, pacing: fairness.pacing, hystart: fairness.hystart },
  };
  return {
    backend: 'none',
    clientNetns: null,
    serverNetns: null,
    serverAddress: '127.0.0.1',
    provenance: () => provenance,
    probe: () => Promise.resolve(null),
    down: () => Promise.resolve({ counters: {}, dropTimesMonotonicMs: null }),
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

/** Profile features `backend` cannot emulate, as "network.<dir> <feature>" (see unsupportedFeatures). */
function unsupportedIn(backend: 'netem' | 'linkem', profile: NetworkProfile): string[] {
  return DIRECTIONS.flatMap((dir) =>
    unsupportedFeatures(backend, profile[dir]).map((f) => `network.${dir} ${f.feature}`),
  );
}

/** Profile features linkem cannot emulate (uniform jitter only; no reorder/duplicate/corrupt). */
export function linkemUnsupported(profile: NetworkProfile): string[] {
  return unsupportedIn('linkem', profile);
}

/** Profile features the netem backend cannot emulate (a queue limited in packets and bytes at once). */
export function netemUnsupported(profile: NetworkProfile): string[] {
  return unsupportedIn('netem', profile);
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
  /** The device each endpoint sends from: [namespace, device]. */
  endpoints: { client: [string, string]; server: [string, string] };
  /** Put fq on the endpoints (transport.pacing and the kernel has sch_fq); else pfifo. */
  fq: boolean;
  /** The kernel has sch_fq (probed only when pacing is asked for). */
  fqAvailable: boolean;
  hostChanges: HostChange[];
  sysctls: Record<string, Record<string, string>>;
  /** Filled by applyEndpoints from what was read back. */
  fairness: Fairness | null;
  warnings: string[];
}

/** Whether the kernel has sch_fq, probed only when pacing is asked for (true otherwise: moot). */
async function fqAvailability(transport: Transport): Promise<boolean> {
  return transport.pacing ? (await probeKernel()).fq.ok : true;
}

/** The state both backends start from, once their namespaces exist. */
function newCommon(
  backend: 'netem' | 'linkem',
  why: string,
  transport: Transport,
  fqAvailable: boolean,
  namespaces: string[],
  endpoints: Common['endpoints'],
): Common {
  return {
    backend,
    why,
    clientNs: endpoints.client[0],
    serverNs: endpoints.server[0],
    namespaces,
    endpoints,
    fq: transport.pacing && fqAvailable,
    fqAvailable,
    hostChanges: [],
    sysctls: {},
    fairness: null,
    warnings: [],
  };
}

/**
 * Apply the endpoint sysctls, then judge fairness from what was read back: the namespaces'
 * tcp_congestion_control and the root qdisc on each endpoint's egress (the caller has put fq or
 * pfifo there). Every warning goes to stderr once and into the provenance.
 */
async function applyEndpoints(c: Common, network: Network, transport: Transport): Promise<void> {
  c.sysctls[c.clientNs] = await applyNamespaceSysctls(c.clientNs, transport, network.profile);
  c.sysctls[c.serverNs] = await applyNamespaceSysctls(c.serverNs, transport, network.profile);
  const cc = (ns: string) => c.sysctls[ns]?.['net.ipv4.tcp_congestion_control'] ?? 'unknown';
  const [clientCc, serverCc] = [cc(c.clientNs), cc(c.serverNs)];
  const [cns, cdev] = c.endpoints.client;
  const [sns, sdev] = c.endpoints.server;
  c.fairness = judgeFairness(transport, {
    loopback: false,
    congestion: clientCc === serverCc ? clientCc : `${clientCc} (client) / ${serverCc} (server)`,
    qdisc: { client: await rootQdisc(cns, cdev), server: await rootQdisc(sns, sdev) },
    devices: `the endpoints' egress (${cdev}, ${sdev})`,
    fqAvailable: c.fqAvailable,
    cubicHystart: cubicHystartParam(),
  });
  for (const w of c.fairness.warnings) warnOnce(w);
  c.warnings.push(...c.fairness.warnings);
}

/** Everything both backends record. */
async function commonProvenance(c: Common, network: Network, transport: Transport): Promise<LinkProvenance> {
  const p = network.profile;
  const f = c.fairness;
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
      clientAddress: CLIENT_ADDRESS,
      serverAddress: SERVER_ADDRESS,
    },
    sysctls: c.sysctls,
    hostSysctlChanges: c.hostChanges,
    warnings: c.warnings,
    fairness: {
      congestion: f?.congestion ?? 'not judged',
      ecn: 'off for both (tcp_ecn=0; the QUIC driver sends no ECT)',
      pacing: f?.pacing ?? 'not judged',
      hystart: f?.hystart ?? 'not judged',
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
  const fqAvailable = await fqAvailability(transport);
  const two = needsSecondStage(profile);
  const names = await createNamespaces(two ? ['cli', 'srv', 'lka', 'lkb'] : ['cli', 'srv', 'lka']);
  const [clientNs = '', serverNs = '', linkNs = '', link2Ns = null] = names;
  const topo: NetemTopology = { clientNs, serverNs, linkNs, link2Ns };
  const c = newCommon('netem', why, transport, fqAvailable, names, endpointDevices(topo));
  let provenance: LinkProvenance;
  try {
    aborted(ctx.signal);
    c.hostChanges = prepareHost(transport.congestion, requiredBufferBytes(transport, profile));
    const iproute2 = await iproute2Version();
    const kernel = await kernelRelease();
    const opts = { tcSeed: supportsSeed(iproute2, kernel), pacing: c.fq };
    const cmds = plan(profile, topo, opts);
    await applyPlan(cmds);
    aborted(ctx.signal);
    await applyEndpoints(c, network, transport);
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
  return handle(c, network, ctx, provenance, async () => {
    const qdiscs: Record<string, string> = {};
    for (const ns of names) qdiscs[ns] = await qdiscDump(ns).catch((e: unknown) => toError(e).message);
    return { counters: { qdiscsAfter: qdiscs }, dropTimesMonotonicMs: null };
  });
}

/** What the result says about linkem's per-packet log (the file itself does not outlive the run). */
const PACKET_LOG_NOTE =
  "linkem.log in the run's work directory: read at teardown for the drop times (link.lossTimesMs) and counters.dropReasons, then deleted with that directory";

async function linkemUp(
  network: Network,
  transport: Transport,
  ctx: LinkContext,
  why: string,
): Promise<LinkHandle> {
  const profile = network.profile;
  const fqAvailable = await fqAvailability(transport);
  const names = await createNamespaces(['cli', 'srv']);
  const [clientNs = '', serverNs = ''] = names;
  const clientDev = uniqueName('tun');
  const serverDev = uniqueName('tun');
  const c = newCommon('linkem', why, transport, fqAvailable, names, {
    client: [clientNs, clientDev],
    server: [serverNs, serverDev],
  });
  let linkem: LinkemHandle | null = null;
  let provenance: LinkProvenance;
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
    const endpointCmds = endpointQdiscCommands([c.endpoints.client, c.endpoints.server], c.fq);
    await applyPlan(endpointCmds);
    aborted(ctx.signal);
    await applyEndpoints(c, network, transport);
    const qdiscs: Record<string, string> = {};
    for (const ns of names) qdiscs[ns] = await qdiscDump(ns);
    provenance = {
      ...(await commonProvenance(c, network, transport)),
      linkem: {
        ...linkem.config,
        pid: linkem.pid,
        packetLog: PACKET_LOG_NOTE,
        devices: { client: clientDev, server: serverDev },
        endpointQdiscCommands: endpointCmds,
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
  return handle(c, network, ctx, provenance, async () => {
    // The TUN devices vanish with linkem: their qdiscs (sender-side drops) are read first.
    const qdiscs: Record<string, string> = {};
    for (const ns of names) qdiscs[ns] = await qdiscDump(ns).catch((e: unknown) => toError(e).message);
    try {
      const stats = await lk.stop();
      const { dropTimesMonotonicMs, downDropTimesMonotonicMs, ...drops } = await emulatorDrops(logFile);
      return {
        counters: {
          qdiscsAfter: qdiscs,
          linkem: stats,
          releaseLatenessUs: { up: stats.up.latenessUs, down: stats.down.latenessUs },
          ...drops,
        },
        dropTimesMonotonicMs,
        ...(downDropTimesMonotonicMs === undefined ? {} : { downDropTimesMonotonicMs }),
      };
    } catch (err) {
      return {
        counters: { qdiscsAfter: qdiscs, linkemError: toError(err).message },
        dropTimesMonotonicMs: null,
      };
    } finally {
      forgetProcess(lk.pid);
    }
  });
}

/** What linkem's packet log gave: the drop times (null when unreadable) and drops per reason. */
interface EmulatorDrops {
  dropTimesMonotonicMs: number[] | null;
  downDropTimesMonotonicMs?: number[];
  dropReasons?: Record<string, number>;
  dropTimesError?: string;
}

/**
 * Every packet the emulator dropped (loss or a full queue, both directions), as CLOCK_MONOTONIC
 * times in ms (the clock of the client's t0MonotonicNs), from linkem's per-packet log, scanned
 * record by record (readLinkemDrops); the orchestrator subtracts the client's t0 to get
 * RunRecord.link.lossTimesMs.
 */
async function emulatorDrops(logFile: string): Promise<EmulatorDrops> {
  try {
    const { dropTimesMonotonicMs, downDropTimesMonotonicMs, dropReasons } = await readLinkemDrops(logFile);
    return { dropTimesMonotonicMs, downDropTimesMonotonicMs, dropReasons };
  } catch (err) {
    return { dropTimesMonotonicMs: null, dropTimesError: toError(err).message };
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
  network: Network,
  ctx: LinkContext,
  provenance: LinkProvenance,
  stopBackend: () => Promise<LinkTeardown>,
): LinkHandle {
  const { clientNs, serverNs } = c;
  const serverAddress = SERVER_ADDRESS;
  let downing: Promise<LinkTeardown> | undefined;
  return {
    backend: c.backend,
    clientNetns: clientNs,
    serverNetns: serverNs,
    serverAddress,
    provenance: () => provenance,
    probe: () =>
      runFidelityProbe(
        { clientNs, serverNs, serverAddress },
        network.profile,
        ctx.signal ? { signal: ctx.signal } : {},
      ),
    down: () => {
      downing ??= (async () => {
        let counters: LinkCounters = {};
        let dropTimesMonotonicMs: number[] | null = null;
        let downDropTimesMonotonicMs: number[] | undefined;
        try {
          const sockets = {
            client: await namespaceCounters(clientNs),
            server: await namespaceCounters(serverNs),
          };
          const stopped = await stopBackend();
          counters = { sockets, ...stopped.counters };
          dropTimesMonotonicMs = stopped.dropTimesMonotonicMs;
          downDropTimesMonotonicMs = stopped.downDropTimesMonotonicMs;
        } catch (err) {
          counters.error = toError(err).message;
        }
        const t = await teardown(c.namespaces);
        if (t.errors.length > 0) counters.teardownErrors = t.errors;
        if (t.restored.length > 0) counters.hostSysctlsRestored = t.restored;
        return {
          counters,
          dropTimesMonotonicMs,
          ...(downDropTimesMonotonicMs === undefined ? {} : { downDropTimesMonotonicMs }),
        };
      })();
      return downing;
    },
  };
}

/** Bring the emulated link of `network` up (fresh namespaces), or host loopback for backend none. */
export async function linkUp(network: Network, transport: Transport, ctx: LinkContext): Promise<LinkHandle> {
  if (network.backend === 'none') return loopback(transport);
  await checkPrivileges(network.backend);
  await sweepStaleOnce();
  const { backend, why } = await chooseBackend(network);
  aborted(ctx.signal);
  return backend === 'netem' ? netemUp(network, transport, ctx, why) : linkemUp(network, transport, ctx, why);
}
