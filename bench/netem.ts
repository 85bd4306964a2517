/**
 * Fidelity and capacity of the linkem backend against the issue's targets, on this machine:
 *
 *   node dist/bench/netem.js [--only NAME[,NAME…]]      (after `npx tsc -p tsconfig.build.json`)
 *
 * Needs root and /dev/net/tun. Every measurement prints measured vs target and PASS or MISS; a
 * measurement that fails to run prints ERROR (a MISS). Exit status 0 only if every target was met.
 * Namespaces are fresh per measurement and always removed (also on SIGINT/SIGTERM).
 */
import os from 'node:os';
import { readFileSync } from 'node:fs';
import { percentileOf } from '../core/stats.js';
import { linkProfile, type DirectionProfile, type NetworkProfile } from '../core/network.js';
import { buildLinkemIfNeeded } from '../link/linkem/build.js';
import type { LinkemStats } from '../link/linkem/lines.js';
import { openLinkemLink, type LinkemLink } from '../link/linkem/link.js';
import { deviceCounters, probeRtt, tcpGoodput, udpBlast } from '../link/linkem/probes.js';
import { createNamespace, deleteNamespace, requireNamespacesAndTun, run, uniqueName } from '../link/netns.js';

interface Row {
  name: string;
  measured: string;
  target: string;
  pass: boolean;
  note?: string;
}

const rows: Row[] = [];
const openLinks = new Set<LinkemLink>();
const openNamespaces = new Set<string>();

function profile(up: Partial<DirectionProfile>, down: Partial<DirectionProfile> = up): NetworkProfile {
  return linkProfile(up, down, 20_240_601);
}

/** CPU seconds (user + system) a process has used so far. */
function processCpuS(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 (utime, stime) are at 11 and 12 after the command name; 100 ticks/s.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** Busy, stolen and total jiffies of all CPUs so far (/proc/stat). */
function cpuTimes(): { busy: number; steal: number; total: number } {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '')
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: total - idle, steal: fields[7] ?? 0, total };
}

/** Share of the machine's CPU time that was busy since `from` (all processes, ours included), %. */
function busySince(from: { busy: number; total: number }): number {
  const now = cpuTimes();
  const total = now.total - from.total;
  return total > 0 ? ((now.busy - from.busy) / total) * 100 : NaN;
}

/** "N % busy, M % stolen by the hypervisor" since `from`. */
function cpuNote(from: { busy: number; steal: number; total: number }): string {
  const now = cpuTimes();
  const total = now.total - from.total;
  const steal = total > 0 ? ((now.steal - from.steal) / total) * 100 : NaN;
  return `machine CPU ${f(busySince(from), 0)} % busy, ${f(steal, 1)} % stolen by the hypervisor`;
}

const f = (x: number, digits = 3) => (Number.isFinite(x) ? x.toFixed(digits) : String(x));

/** Open a link, run `body`, always close it; returns body's result and linkem's STATS. */
async function withLink<T>(
  p: NetworkProfile,
  options: { busyPollUs?: number },
  body: (link: LinkemLink) => Promise<T>,
): Promise<{ result: T; stats: LinkemStats }> {
  const link = await openLinkemLink({ profile: p, ...options });
  openLinks.add(link);
  try {
    const result = await body(link);
    const stats = await link.close();
    return { result, stats };
  } finally {
    await link.close().catch(() => undefined);
    openLinks.delete(link);
  }
}

/** RTT across a plain veth pair between two namespaces: the path without any emulator. */
async function vethBaselineRtt(): Promise<number[]> {
  const a = uniqueName('vca');
  const b = uniqueName('vcb');
  for (const ns of [a, b]) {
    await createNamespace(ns);
    openNamespaces.add(ns);
  }
  try {
    const va = uniqueName('veth');
    const vb = uniqueName('veth');
    await run(['ip', 'link', 'add', va, 'netns', a, 'type', 'veth', 'peer', 'name', vb, 'netns', b]);
    for (const [ns, dev, local, peer] of [
      [a, va, '198.18.1.1', '198.18.1.2'],
      [b, vb, '198.18.1.2', '198.18.1.1'],
    ] as const) {
      await run(['ip', '-n', ns, 'link', 'set', 'dev', dev, 'addrgenmode', 'none']);
      await run(['ip', '-n', ns, 'addr', 'add', `${local}/32`, 'peer', `${peer}/32`, 'dev', dev]);
      await run(['ip', '-n', ns, 'link', 'set', 'dev', dev, 'up']);
    }
    const r = await probeRtt({
      clientNetns: a,
      serverNetns: b,
      serverAddress: '198.18.1.2',
      count: 1000,
      intervalUs: 2000,
    });
    return r.rttUs;
  } finally {
    for (const ns of [a, b]) {
      await deleteNamespace(ns);
      openNamespaces.delete(ns);
    }
  }
}

type Bench = () => Promise<void>;

const BUSY_POLL_US = 200;

const benches: Record<string, Bench> = {
  /** 50 ms each way: RTT error = measured − 100 ms. */
  async delay() {
    for (const busyPollUs of [BUSY_POLL_US, 0]) {
      const cpu0 = cpuTimes();
      const { result, stats } = await withLink(profile({ delayMs: 50 }), { busyPollUs }, (link) =>
        probeRtt({
          clientNetns: link.clientNetns,
          serverNetns: link.serverNetns,
          serverAddress: link.serverAddress,
          count: 1000,
          intervalUs: 5000,
        }),
      );
      const err = result.rttUs.map((us) => (us - 100_000) / 1000);
      const p50 = percentileOf(err, 50);
      const p99 = percentileOf(err, 99);
      const label = busyPollUs > 0 ? `busy-poll ${busyPollUs} µs` : 'no busy-poll';
      const note = `${result.received}/${result.sent} echoes; min ${f(Math.min(...err))} ms; raw (echo dwell kept) p50 ${f(percentileOf(result.rawRttUs, 50) / 1000 - 100)} ms; linkem ${stats.up.latenessUs.p99.toFixed(1)}/${stats.down.latenessUs.p99.toFixed(1)} µs p99 lateness up/down; ${stats.sched}; ${cpuNote(cpu0)}`;
      rows.push({
        name: `50 ms one-way: RTT error p50 (${label})`,
        measured: `${f(p50)} ms`,
        target: '< 0.25 ms',
        pass: p50 < 0.25 && p50 >= 0,
        note,
      });
      rows.push({
        name: `50 ms one-way: RTT error p99 (${label})`,
        measured: `${f(p99)} ms`,
        target: '< 0.5 ms',
        pass: p99 < 0.5,
      });
    }
  },

  /** What linkem adds at 0 ms delay, against a plain veth pair. */
  async zero() {
    const base = await vethBaselineRtt();
    for (const busyPollUs of [BUSY_POLL_US, 0]) {
      const { result } = await withLink(profile({}), { busyPollUs }, (link) =>
        probeRtt({
          clientNetns: link.clientNetns,
          serverNetns: link.serverNetns,
          serverAddress: link.serverAddress,
          count: 1000,
          intervalUs: 2000,
        }),
      );
      const added = (percentileOf(result.rttUs, 50) - percentileOf(base, 50)) / 1000;
      rows.push({
        name: `0 ms delay: added RTT p50 vs veth (${busyPollUs > 0 ? `busy-poll ${busyPollUs} µs` : 'no busy-poll'})`,
        measured: `${f(added)} ms`,
        target: '< 0.1 ms',
        pass: added < 0.1,
        note: `linkem RTT p50 ${f(percentileOf(result.rttUs, 50) / 1000)} ms, p99 ${f(percentileOf(result.rttUs, 99) / 1000)} ms; veth p50 ${f(percentileOf(base, 50) / 1000)} ms, p99 ${f(percentileOf(base, 99) / 1000)} ms`,
      });
    }
  },

  /** Release lateness while 1350-byte UDP at 30k packets/s crosses a 20 ms delay line. */
  async lateness() {
    for (const busyPollUs of [BUSY_POLL_US, 0]) {
      const cpu0 = cpuTimes();
      const { stats } = await withLink(profile({ delayMs: 20 }), { busyPollUs }, (link) =>
        udpBlast({
          fromNetns: link.clientNetns,
          toNetns: link.serverNetns,
          toAddress: link.serverAddress,
          pps: 30_000,
          count: 90_000,
          sizeBytes: 1322,
          idleMs: 500,
        }),
      );
      const l = stats.up.latenessUs;
      rows.push({
        name: `release lateness p99, 30k pkt/s through 20 ms (${busyPollUs > 0 ? `busy-poll ${busyPollUs} µs` : 'no busy-poll'})`,
        measured: `${l.p99.toFixed(1)} µs`,
        target: '< 100 µs',
        pass: l.p99 < 100,
        note: `p50 ${l.p50.toFixed(1)} µs, p99.9 ${l.p999.toFixed(1)} µs, max ${l.max.toFixed(0)} µs over ${l.count} packets; ${stats.sched}; spun ${f(stats.busyPollSpinS, 2)} s; ${cpuNote(cpu0)}`,
      });
    }
  },

  /** 1350-byte IP packets at 150k/s, no delay, no rate: linkem must not lose any. */
  async forwarding() {
    for (const pps of [150_000, 250_000]) {
      const seconds = 3;
      const cpu0 = cpuTimes();
      const { result, stats } = await withLink(profile({}), {}, async (link) => {
        const cpuBefore = processCpuS(link.linkem.pid);
        const r = await udpBlast({
          fromNetns: link.clientNetns,
          toNetns: link.serverNetns,
          toAddress: link.serverAddress,
          pps,
          count: pps * seconds,
          sizeBytes: 1322,
          idleMs: 500,
        });
        const tun = await deviceCounters(link.clientNetns, link.clientDev);
        return { r, tun, linkemCpuS: processCpuS(link.linkem.pid) - cpuBefore };
      });
      const { r, tun, linkemCpuS } = result;
      const usPerPacket = (linkemCpuS * 1e6) / Math.max(1, stats.up.packetsIn);
      const own = r.lost - r.rcvbufDrops;
      const offeredOk = r.sentPps >= pps * 0.97;
      const note = `sender reached ${Math.round(r.sentPps)} pkt/s; received ${r.received}/${r.sent}; TUN ring drops ${tun.txDropped}; receiver socket drops ${r.rcvbufDrops}; linkem in ${stats.up.packetsIn}, out ${stats.up.delivered}; ${cpuNote(cpu0)} (all processes), load avg ${os.loadavg()[0]?.toFixed(2) ?? '?'}`;
      if (pps === 150_000) {
        rows.push({
          name: 'forwarding 1350 B UDP at 150k pkt/s: received rate',
          measured: `${Math.round(r.receivedPps)} pkt/s`,
          target: '≥ 150000 pkt/s',
          pass: r.receivedPps >= 150_000 * 0.99 && offeredOk,
          note,
        });
        rows.push({
          name: 'forwarding 1350 B UDP at 150k pkt/s: packets lost by linkem',
          measured: String(own),
          target: '0',
          pass: own === 0 && stats.up.delivered === stats.up.packetsIn,
        });
        rows.push({
          name: 'linkem CPU per forwarded packet at 150k pkt/s offered',
          measured: `${f(usPerPacket, 2)} µs`,
          target: '(info)',
          pass: true,
          note: `one core would forward ${Math.round(1e6 / usPerPacket)} pkt/s at this cost; the sender and receiver need CPU too`,
        });
      } else {
        rows.push({
          name: `forwarding capacity (offered ${pps / 1000}k pkt/s)`,
          measured: `${Math.round(r.receivedPps)} pkt/s`,
          target: '(info)',
          pass: true,
          note: `${note}; lost ${r.lost}`,
        });
      }
    }
  },

  /** TCP download through 10 Mbit/s, 10 ms each way, 1 BDP byte queue. */
  async tcp() {
    const { result, stats } = await withLink(
      profile({ delayMs: 10, rateKbit: 10_000, queueBytes: 25_000 }),
      {},
      (link) =>
        tcpGoodput({
          clientNetns: link.clientNetns,
          serverNetns: link.serverNetns,
          serverAddress: link.serverAddress,
          bytes: 8_000_000,
          warmupMs: 1000,
        }),
    );
    const steady = result.steadyGoodputMbit ?? 0;
    rows.push({
      name: 'TCP goodput through 10 Mbit/s (after 1 s warm-up)',
      measured: `${f((steady / 10) * 100, 1)} % (${f(steady)} Mbit/s)`,
      target: '≥ 95 %',
      pass: steady >= 9.5,
      note: `whole transfer ${f(result.goodputMbit)} Mbit/s over ${f(result.durationMs / 1000, 2)} s; payload ceiling 1448/1500 = 96.5 %; linkem drops down: ${JSON.stringify(stats.down.dropped)}; lateness p99 ${stats.down.latenessUs.p99.toFixed(1)} µs`,
    });
  },

  /** 1 % Bernoulli loss over 60 000 packets. */
  async bernoulli() {
    const n = 60_000;
    const { result, stats } = await withLink(profile({ loss: { model: 'random', pct: 1 } }), {}, (link) =>
      udpBlast({
        fromNetns: link.clientNetns,
        toNetns: link.serverNetns,
        toAddress: link.serverAddress,
        pps: 30_000,
        count: n,
        sizeBytes: 1200,
        idleMs: 500,
      }),
    );
    const half = 1.96 * Math.sqrt(n * 0.01 * 0.99);
    const lo = Math.ceil(n * 0.01 - half);
    const hi = Math.floor(n * 0.01 + half);
    rows.push({
      name: `1 % Bernoulli loss over ${n} packets: lost`,
      measured: `${result.lost} (${f((result.lost / n) * 100)} %)`,
      target: `in [${lo}, ${hi}] (95 %)`,
      pass: result.lost >= lo && result.lost <= hi,
      note: `linkem loss drops ${stats.up.dropped.loss}; other drops ${result.lost - stats.up.dropped.loss}`,
    });
  },

  /** Simple Gilbert with 1 % loss and mean burst 3 (p = 0.337 %, r = 33.3 %). */
  async gilbert() {
    const n = 200_000;
    const r = 100 / 3;
    const p = (r * 0.01) / 0.99;
    const loss = { model: 'gilbert-elliott' as const, pPct: p, rPct: r, lossInBadPct: 100, lossInGoodPct: 0 };
    const { result } = await withLink(profile({ loss }), {}, (link) =>
      udpBlast({
        fromNetns: link.clientNetns,
        toNetns: link.serverNetns,
        toAddress: link.serverAddress,
        pps: 40_000,
        count: n,
        sizeBytes: 1200,
        idleMs: 500,
      }),
    );
    const burst = result.lossBursts > 0 ? result.lost / result.lossBursts : 0;
    rows.push({
      name: `Gilbert-Elliott mean burst (1 % loss, burst 3, ${n} packets)`,
      measured: f(burst),
      target: '3.000 ± 10 %',
      pass: Math.abs(burst - 3) <= 0.3,
      note: `loss ${f((result.lost / n) * 100)} % (configured 1 %), ${result.lossBursts} bursts`,
    });
  },
};

function printTable(): void {
  const head = ['target', 'measured', 'goal', 'result'];
  const body = rows.map((r) => [r.name, r.measured, r.target, r.pass ? 'PASS' : 'MISS']);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  console.log(line(head));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const b of body) console.log(line(b));
  console.log('');
  for (const r of rows) if (r.note !== undefined) console.log(`- ${r.name}: ${r.note}`);
}

async function cleanup(): Promise<void> {
  for (const link of openLinks) await link.close().catch(() => undefined);
  for (const ns of openNamespaces) await deleteNamespace(ns).catch(() => undefined);
}

async function main(): Promise<number> {
  const onlyArg = process.argv.indexOf('--only');
  const only = onlyArg >= 0 ? (process.argv[onlyArg + 1] ?? '').split(',') : Object.keys(benches);
  const unknown = only.filter((n) => !(n in benches));
  if (unknown.length > 0) {
    console.error(
      `bench/netem: --only: unknown measurement ${unknown.join(', ')} (known: ${Object.keys(benches).join(', ')})`,
    );
    return 2;
  }
  await requireNamespacesAndTun();
  await buildLinkemIfNeeded();
  const kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  const idle0 = cpuTimes();
  await new Promise((r) => setTimeout(r, 1000));
  const background = busySince(idle0);
  console.log(
    `linkem fidelity on ${os.cpus().length} CPUs, kernel ${kernel}, Node ${process.version}; load average ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}; CPU ${f(background, 0)} % busy with other work before the run\n`,
  );
  for (const name of only) {
    const bench = benches[name];
    if (bench === undefined) continue;
    const started = performance.now();
    try {
      await bench();
    } catch (err) {
      rows.push({
        name,
        measured: 'ERROR',
        target: '-',
        pass: false,
        note: err instanceof Error ? err.message : String(err),
      });
    }
    process.stderr.write(
      `[bench/netem] ${name} done in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
    );
  }
  const idle1 = cpuTimes();
  await new Promise((r) => setTimeout(r, 1000));
  printTable();
  console.log(
    `\nCPU busy with other work: ${f(background, 0)} % before the run, ${f(busySince(idle1), 0)} % after it.`,
  );
  const missed = rows.filter((r) => !r.pass).length;
  console.log(`\n${rows.length - missed} met, ${missed} missed`);
  return missed === 0 ? 0 : 1;
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    void cleanup().finally(() => process.exit(130));
  });
}

main()
  .then(async (code) => {
    await cleanup();
    process.exitCode = code;
  })
  .catch(async (err: unknown) => {
    await cleanup();
    console.error(`bench/netem: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 3;
  });
