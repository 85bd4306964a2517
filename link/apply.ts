/**
 * Running a plan: every argv with execFile, in order, no shell; the first failure
 * throws a CommandError naming the command, its exit status and stderr. Also the probes that decide
 * what this machine can do (netem, tc `seed`) and the dumps recorded as provenance.
 */
import { createNamespace, deleteNamespace, execIn, run, uniqueName } from './netns.js';
import { forgetNamespaces, recordNamespaces } from './state.js';

/** Run argv arrays one after another; throws on the first that fails (nothing is skipped). */
export async function applyPlan(cmds: readonly (readonly string[])[]): Promise<void> {
  for (const argv of cmds) await run(argv);
}

export interface QdiscSupport {
  ok: boolean;
  /** Why not (the tc error), or what worked. */
  reason: string;
}

let kernelProbe: Promise<{ netem: QdiscSupport; fq: QdiscSupport }> | undefined;

/**
 * Which qdiscs this kernel has that the backends use: netem (the netem backend) and fq (TCP pacing).
 * Adds each to `lo` in a throwaway namespace; cached per process.
 */
export function probeKernel(): Promise<{ netem: QdiscSupport; fq: QdiscSupport }> {
  kernelProbe ??= (async () => {
    const ns = uniqueName('probe');
    recordNamespaces([ns]);
    const tryQdisc = async (args: string[]): Promise<QdiscSupport> => {
      try {
        await run(['tc', '-n', ns, 'qdisc', 'replace', 'dev', 'lo', 'root', ...args]);
        return { ok: true, reason: `tc qdisc replace ... ${args.join(' ')} works` };
      } catch (err) {
        return { ok: false, reason: (err as Error).message };
      }
    };
    try {
      await createNamespace(ns);
      const netem = await tryQdisc(['netem', 'delay', '1ms']);
      const fq = await tryQdisc(['fq']);
      return { netem, fq };
    } finally {
      await deleteNamespace(ns).catch(() => undefined);
      forgetNamespaces([ns]);
    }
  })();
  return kernelProbe;
}

/** Whether the kernel has sch_netem (see probeKernel). */
export async function probeNetem(): Promise<QdiscSupport> {
  return (await probeKernel()).netem;
}

/** iproute2 version of `tc -V`, e.g. "6.1.0", or null. */
export async function iproute2Version(): Promise<string | null> {
  try {
    const { stdout } = await run(['tc', '-V']);
    return /iproute2-(?:ss)?v?([\d.]+)/.exec(stdout)?.[1] ?? null;
  } catch {
    return null;
  }
}

/** netem `seed` needs iproute2 ≥ 6.6 (and kernel ≥ 6.6). */
export function supportsSeed(iproute2: string | null, kernel: string): boolean {
  const ge66 = (v: string | null) => {
    const m = v === null ? null : /^(\d+)\.(\d+)/.exec(v);
    if (!m) return false;
    const major = Number(m[1]);
    return major > 6 || (major === 6 && Number(m[2]) >= 6);
  };
  return ge66(iproute2) && ge66(kernel);
}

/** `tc -s -d qdisc show` in a namespace (the full text, recorded verbatim). */
export async function qdiscDump(ns: string): Promise<string> {
  const { stdout } = await run(['tc', '-n', ns, '-s', '-d', 'qdisc', 'show']);
  return stdout.trim();
}

/** Offload features of a device that matter here (a 64 KB TSO/GSO super-packet is dropped or delayed by netem as one unit), from `ethtool -k`. */
export async function offloadState(ns: string, dev: string): Promise<Record<string, string>> {
  const keys = [
    'tcp-segmentation-offload',
    'generic-segmentation-offload',
    'generic-receive-offload',
    'tx-udp-segmentation',
    'rx-gro-list',
    'rx-udp-gro-forwarding',
  ];
  try {
    const { stdout } = await execIn(ns, ['ethtool', '-k', dev]);
    const out: Record<string, string> = {};
    for (const line of stdout.split('\n')) {
      const m = /^\s*([a-z0-9-]+):\s*(\S+)/.exec(line);
      if (m?.[1] !== undefined && m[2] !== undefined && keys.includes(m[1])) out[m[1]] = m[2];
    }
    return out;
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/** Whether `ethtool` can be run (the netem backend needs it to turn offloads off). */
export async function hasEthtool(): Promise<boolean> {
  try {
    await run(['ethtool', '--version']);
    return true;
  } catch {
    return false;
  }
}
