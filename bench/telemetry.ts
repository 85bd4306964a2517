/**
 * What TCP sender telemetry costs: tcpstat's CPU share (utime + stime from /proc/PID/stat) while it
 * samples 1, 6 and 100 busy loopback connections every 10 ms, with new connections looked for at the
 * default pace ("auto": discovery dumps paced to 2% of a core) and on every round (10 ms).
 *
 *   npm run bench:telemetry [-- --seconds N]     (after `npx tsc -p tsconfig.build.json`)
 *
 * Runs in this namespace, no root needed. Target: < 5% of one core with the default settings. Exit
 * status 0 only if every default-setting row meets it.
 */
import net from 'node:net';
import os from 'node:os';
import { readFileSync } from 'node:fs';
import { buildTcpstatIfNeeded } from '../link/linkem/build.js';
import { startTcpTelemetry, type TcpTelemetryOptions } from '../harness/runner/tcp-telemetry.js';

const TARGET_PCT = 5;

/** CPU ms (user + system) a process has used so far (/proc/PID/stat fields 14 and 15). */
function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks / 100) * 1000; // USER_HZ = 100 on Linux
}

/** `n` loopback connections, each written to every 5 ms so its tcp_info keeps changing. */
async function busyConnections(n: number): Promise<{ port: number; close: () => void }> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => {
    s.on('error', () => undefined);
    sockets.push(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  const clients: net.Socket[] = [];
  for (let i = 0; i < n; i++) {
    const c = net.connect(address.port, '127.0.0.1');
    c.on('data', () => undefined);
    c.on('error', () => undefined);
    clients.push(c);
  }
  while (sockets.length < n) await new Promise((r) => setTimeout(r, 5));
  const chunk = Buffer.alloc(4096, 1);
  const timer = setInterval(() => {
    for (const s of sockets) s.write(chunk);
  }, 5);
  return {
    port: address.port,
    close: () => {
      clearInterval(timer);
      for (const s of [...sockets, ...clients]) s.destroy();
      server.close();
    },
  };
}

interface Row {
  sockets: number;
  discover: string;
  family: string;
  cpuPct: number;
  rounds: number;
  late: number;
  dumps: number;
  dumpCpuMs: number;
  samples: number;
  target: boolean;
}

async function measure(
  sockets: number,
  seconds: number,
  o: Pick<TcpTelemetryOptions, 'discoverMs' | 'family'>,
): Promise<Row> {
  const conns = await busyConnections(sockets);
  const tel = startTcpTelemetry({ netns: null, port: conns.port, side: 'server', ...o });
  try {
    await tel.ready();
    const pid = tel.pid;
    if (pid === null) throw new Error('tcpstat did not start');
    await new Promise((r) => setTimeout(r, 200));
    const c0 = processCpuMs(pid);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const cpuPct = ((processCpuMs(pid) - c0) / (performance.now() - t0)) * 100;
    const series = await tel.stop();
    const end = tel.end;
    return {
      sockets,
      discover: String(o.discoverMs ?? 'auto'),
      family: o.family ?? 'all',
      cpuPct,
      rounds: end?.rounds ?? NaN,
      late: end?.late ?? NaN,
      dumps: end?.dumps ?? NaN,
      dumpCpuMs: end?.dumpCpuMs ?? NaN,
      samples: series.reduce((a, s) => a + s.t.length, 0),
      target: o.discoverMs === undefined,
    };
  } finally {
    await tel.stop().catch(() => undefined);
    conns.close();
  }
}

async function main(): Promise<number> {
  const i = process.argv.indexOf('--seconds');
  const seconds = i >= 0 ? Number(process.argv[i + 1]) : 5;
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 600) {
    console.error('bench/telemetry: --seconds must be a number in (0, 600]');
    return 2;
  }
  await buildTcpstatIfNeeded();
  const kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  const ehash = readFileSync('/proc/sys/net/ipv4/tcp_ehash_entries', 'utf8').trim();
  console.log(
    `tcpstat cost on ${os.cpus().length} CPUs, kernel ${kernel}, established hash ${ehash} buckets, ${seconds} s per row, interval 10 ms\n`,
  );
  const rows: Row[] = [];
  for (const n of [1, 6, 100]) {
    for (const o of [
      {},
      { family: '4' as const },
      { discoverMs: 10 },
      { discoverMs: 10, family: '4' as const },
    ]) {
      rows.push(await measure(n, seconds, o));
    }
  }
  const pad = (s: string, w: number) => s.padStart(w);
  console.log(
    ['sockets', 'discover', 'family', 'CPU %', 'rounds', 'late', 'dumps', 'dump CPU ms', 'samples', 'target']
      .map((h, k) => pad(h, k === 0 ? 7 : 11))
      .join(' '),
  );
  let missed = 0;
  for (const r of rows) {
    const verdict = r.target ? (r.cpuPct < TARGET_PCT ? 'PASS' : 'MISS') : '-';
    if (verdict === 'MISS') missed++;
    console.log(
      [
        pad(String(r.sockets), 7),
        pad(r.discover, 11),
        pad(r.family, 11),
        pad(r.cpuPct.toFixed(2), 11),
        pad(String(r.rounds), 11),
        pad(String(r.late), 11),
        pad(String(r.dumps), 11),
        pad(r.dumpCpuMs.toFixed(1), 11),
        pad(String(r.samples), 11),
        pad(verdict, 11),
      ].join(' '),
    );
  }
  console.log(
    `\nTarget: < ${TARGET_PCT} % of one core with the default settings (discover auto). "discover 10" rows dump every round, for comparison: each dump walks the whole established hash table.`,
  );
  return missed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
