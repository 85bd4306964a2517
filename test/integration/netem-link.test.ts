/**
 * The emulated link on this machine, through the library (root only: namespaces, TUN, sysctls).
 * Compiled modules under dist/ are used where a separate process must import them.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseScenario } from '../../harness/scenario/load.js';
import type { Scenario } from '../../harness/scenario/schema.js';
import { applyPlan, probeKernel, qdiscDump } from '../../link/apply.js';
import { rootQdisc } from '../../link/fairness.js';
import { chooseBackend, linkUp } from '../../link/index.js';
import { udpBlast } from '../../link/linkem/probes.js';
import { execIn, listNamespaces, run } from '../../link/netns.js';
import { CLIENT_ADDRESS, SERVER_ADDRESS } from '../../link/addresses.js';
import { needsSecondStage, plan, vethsOf } from '../../link/plan.js';
import { runFidelityProbe } from '../../link/probe.js';
import { isAlive, readState } from '../../link/state.js';
import { readHostSysctl } from '../../link/sysctl.js';
import { createNamespaces, removeNamespaces, strayTunDevices, sweepStale } from '../../link/topology.js';

const root = process.getuid?.() === 0;
const repo = path.resolve(import.meta.dirname, '../..');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'h3bench-netem-link-'));
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

function scenario(network: string, transport = ''): Scenario {
  return parseScenario(
    `name: t\nnetwork:\n${network}${transport}workload: { type: multiplex }\n`,
    '/tmp/t.yaml',
  );
}

/** Another h3bench process holds namespaces right now (then host sysctls legitimately stay raised). */
function othersRunning(): boolean {
  return Object.values(readState().owners).some(
    (o) => o.pid !== process.pid && isAlive(o.pid, o.startTime) && o.namespaces.length > 0,
  );
}

async function tunDevicesIn(ns: string): Promise<string[]> {
  try {
    const { stdout } = await run(['ip', '-n', ns, '-o', 'link', 'show', 'type', 'tun']);
    return stdout.split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

describe.skipIf(!root)('emulated link (needs root: namespaces, TUN, sysctls; skipped otherwise)', () => {
  it.skipIf(!root)('auto picks linkem when the kernel has no sch_netem', async () => {
    const k = await probeKernel();
    const s = scenario('  backend: auto\n  rtt: 20ms\n');
    const choice = await chooseBackend(s.network);
    expect(choice.backend).toBe(k.netem.ok ? 'netem' : 'linkem');
    if (!k.netem.ok) expect(choice.why).toMatch(/no sch_netem/);
  });

  it('linkUp/down with linkem: sysctls read back, probe ok, nothing left behind', async () => {
    const before = {
      allowed: readHostSysctl('net.ipv4.tcp_allowed_congestion_control'),
      rmem: readHostSysctl('net.core.rmem_max'),
    };
    const s = scenario(
      '  backend: linkem\n  rtt: 30ms\n  rate: 20mbit\n  queue: 20ms\n',
      'transport: { congestion: cubic }\n',
    );
    const link = await linkUp(s.network, s.transport, { workDir: path.join(tmp, 'a') });
    const clientNs = link.clientNetns ?? '';
    const serverNs = link.serverNetns ?? '';
    let emulator: { pid: number; startTime: string }[];
    try {
      expect(link.backend).toBe('linkem');
      expect(link.serverAddress).toBe('198.18.0.2');
      const prov = link.provenance();
      const lk = prov.linkem;
      if (lk === undefined) throw new Error('no linkem provenance');
      // An explicit pfifo on both TUNs (never the host's default_qdisc), read back independently.
      expect(await rootQdisc(clientNs, lk.devices.client)).toBe('pfifo');
      expect(await rootQdisc(serverNs, lk.devices.server)).toBe('pfifo');
      expect(prov.fairness.pacing).toMatch(/^off for both \(TCP: pfifo on the endpoints' egress/);
      expect(prov.fairness.congestion).toMatch(/^cubic for TCP/);
      expect(prov.warnings).toEqual([]);
      // The log lives in the work dir, deleted after the run: no path to it is recorded as such.
      expect(lk).not.toHaveProperty('logFile');
      expect(lk.packetLog).toMatch(/deleted/);
      emulator = readState().owners[String(process.pid)]?.processes ?? [];
      expect(emulator.map((p) => p.pid)).toEqual([lk.pid]);
      expect(lk.argv.join(' ')).toContain('--up-delay-us 15000');
      // Applied in each endpoint namespace, and read back independently here.
      for (const ns of [clientNs, serverNs]) {
        const { stdout } = await execIn(ns, [
          'sysctl',
          '-n',
          'net.ipv4.tcp_congestion_control',
          'net.ipv4.tcp_no_metrics_save',
          'net.ipv4.tcp_slow_start_after_idle',
          'net.ipv4.tcp_ecn',
          'net.ipv4.tcp_wmem',
        ]);
        const [cc, metrics, idle, ecn, wmem = ''] = stdout.trim().split('\n');
        expect([cc, metrics, idle, ecn]).toEqual(['cubic', '1', '0', '0']);
        expect(Number(wmem.trim().split(/\s+/)[2])).toBeGreaterThanOrEqual(16_000_000);
        expect(prov.sysctls?.[ns]?.['net.ipv4.tcp_congestion_control']).toBe('cubic');
      }
      expect(Number(readHostSysctl('net.core.rmem_max'))).toBeGreaterThanOrEqual(16_000_000);
      expect(readHostSysctl('net.ipv4.tcp_allowed_congestion_control').split(' ')).toContain('cubic');
      expect(await tunDevicesIn(clientNs)).toHaveLength(1);
      const probe = await link.probe();
      expect(probe?.ok).toBe(true);
      expect(probe?.measuredRttMs.p50).toBeGreaterThan(30);
      expect(probe?.measuredRttMs.p50).toBeLessThan(33);
    } finally {
      const down = await link.down();
      const counters = down.counters;
      expect(counters).toHaveProperty('linkem');
      expect(counters).not.toHaveProperty('linkemLog');
      expect(counters).toHaveProperty('dropReasons');
      expect(Array.isArray(down.dropTimesMonotonicMs)).toBe(true);
      expect(JSON.stringify(counters.qdiscsAfter)).toMatch(/qdisc pfifo .* root .*limit 10000p/);
      expect(await link.down()).toBe(down); // idempotent
    }
    const left = await listNamespaces();
    expect(left).not.toContain(clientNs);
    expect(left).not.toContain(serverNs);
    expect(await strayTunDevices()).toEqual([]);
    for (const p of emulator) expect(isAlive(p.pid, p.startTime)).toBe(false);
    expect(readState().owners[String(process.pid)]).toBeUndefined();
    if (!othersRunning()) {
      expect(readHostSysctl('net.ipv4.tcp_allowed_congestion_control')).toBe(before.allowed);
      expect(readHostSysctl('net.core.rmem_max')).toBe(before.rmem);
    }
  });

  it('pins bbr in the namespaces when asked, without touching the allowed list', async () => {
    const s = scenario('  backend: linkem\n  delay: 1ms\n', 'transport: { congestion: bbr }\n');
    const link = await linkUp(s.network, s.transport, { workDir: path.join(tmp, 'b') });
    try {
      const { stdout } = await execIn(link.clientNetns ?? '', [
        'sysctl',
        '-n',
        'net.ipv4.tcp_congestion_control',
      ]);
      expect(stdout.trim()).toBe('bbr');
      // BBR paces TCP by itself; the QUIC driver does not pace unless asked: recorded and warned.
      const prov = link.provenance();
      expect(prov.fairness.pacing).toMatch(/^TCP paced \(BBR paces itself/);
      expect(prov.warnings).toContain(
        'transport.congestion bbr with transport.pacing false: Linux TCP BBR paces itself while the QUIC driver does not pace (unfair); set transport.pacing: true',
      );
    } finally {
      await link.down();
    }
  });

  it('fails cleanly (and leaves nothing) when the profile cannot be emulated by the chosen backend', async () => {
    const k = await probeKernel();
    if (k.netem.ok) return;
    const s = scenario('  backend: netem\n  delay: 5ms\n');
    const before = await listNamespaces();
    await expect(linkUp(s.network, s.transport, { workDir: tmp })).rejects.toThrow(/no working sch_netem/);
    expect((await listNamespaces()).filter((n) => !before.includes(n) && n.startsWith('h3b-cli'))).toEqual(
      [],
    );
  });

  it("the netem backend's wiring, routes, offloads and tbf byte queues work here (netem qdiscs left out)", async () => {
    const s = scenario(
      '  backend: netem\n  rtt: 10ms\n  rate: { down: 50mbit, up: 20mbit }\n  queue: 10ms\n',
    );
    const profile = s.network.profile;
    expect(needsSecondStage(profile)).toBe(true);
    const names = await createNamespaces(['cli', 'srv', 'lka', 'lkb']);
    const [clientNs = '', serverNs = '', linkNs = '', link2Ns = null] = names;
    const topo = { clientNs, serverNs, linkNs, link2Ns };
    try {
      const k = await probeKernel();
      const cmds = plan(profile, topo, { tcSeed: false, pacing: k.fq.ok }).filter(
        (c) => k.netem.ok || !c.includes('netem'),
      );
      await applyPlan(cmds);
      expect(await rootQdisc(clientNs, 'c0')).toBe(k.fq.ok ? 'fq' : 'pfifo');
      expect(await rootQdisc(serverNs, 's0')).toBe(k.fq.ok ? 'fq' : 'pfifo');
      for (const [ns, dev] of vethsOf(profile, topo)) {
        const { stdout } = await execIn(ns, ['ethtool', '-k', dev]);
        expect(stdout).toMatch(/tcp-segmentation-offload: off/);
        expect(stdout).toMatch(/generic-segmentation-offload: off/);
        expect(stdout).toMatch(/generic-receive-offload: off/);
      }
      expect(await qdiscDump(linkNs)).toMatch(/tbf 1: dev l0 root .*rate 50Mbit/);
      expect(await qdiscDump(link2Ns ?? '')).toMatch(/tbf 1: dev m1 root .*rate 20Mbit/);
      // Without the netem stage there is no delay: a near-zero RTT proves the routed path works.
      const zero = scenario('  backend: netem\n  rate: { down: 50mbit, up: 20mbit }\n').network.profile;
      const probe = await runFidelityProbe({ clientNs, serverNs, serverAddress: SERVER_ADDRESS }, zero);
      expect(probe.measuredRttMs.samples).toBe(40);
      expect(probe.measuredRttMs.p50).toBeLessThan(2);
      // The tbf stage limits the rate counting IP bytes (size table overhead -14).
      const blast = await udpBlast({
        fromNetns: serverNs,
        toNetns: clientNs,
        toAddress: CLIENT_ADDRESS,
        pps: 5000,
        count: 5000,
        sizeBytes: 1472,
        idleMs: 500,
      });
      expect(blast.receivedMbitS).toBeGreaterThan(0.95 * 50 * (1472 / 1500));
      expect(blast.receivedMbitS).toBeLessThan(1.03 * 50 * (1472 / 1500));
      const route = await execIn(clientNs, ['ip', 'route', 'get', SERVER_ADDRESS]);
      expect(route.stdout).toContain(`src ${CLIENT_ADDRESS}`);
    } finally {
      expect(await removeNamespaces(names)).toEqual([]);
    }
    const left = await listNamespaces();
    for (const n of names) expect(left).not.toContain(n);
  });

  it('sweepStale removes namespaces and processes of an owner that crashed', async () => {
    // A separate process records and creates a namespace, starts a child inside it, then is killed.
    const script = `
      import { createNamespaces } from ${JSON.stringify(path.join(repo, 'dist/link/topology.js'))};
      import { spawnIn } from ${JSON.stringify(path.join(repo, 'dist/link/netns.js'))};
      const [ns] = await createNamespaces(['cli']);
      const child = spawnIn(ns, ['sleep', '600'], { stdio: 'ignore', detached: true });
      child.unref();
      console.log(ns + ' ' + child.pid);
      setInterval(() => {}, 1000);
    `;
    const owner = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      owner.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(out.trim());
      });
      owner.once('exit', () => {
        reject(new Error(`owner exited early: ${out}`));
      });
    });
    const [ns = '', sleeper = '0'] = line.split(' ');
    owner.kill('SIGKILL');
    await new Promise((r) => owner.once('exit', r));
    expect(await listNamespaces()).toContain(ns);
    const report = await sweepStale();
    expect(report.owners.flatMap((o) => o.namespaces)).toContain(ns);
    expect(await listNamespaces()).not.toContain(ns);
    expect(() => process.kill(Number(sleeper), 0)).toThrow();
    expect(readState().owners[String(owner.pid)]).toBeUndefined();
  });
});
