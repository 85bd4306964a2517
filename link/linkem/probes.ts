/**
 * Probes of an emulated link, run inside its namespaces: UDP echo RTT, paced UDP loss/throughput
 * (both with linkem-probe, C), TCP goodput (tcp-source and tcp-sink, link/programs/), and a
 * device's TX/RX counters. They need only the two namespaces, so they work on either backend.
 */
import type { ChildProcess } from 'node:child_process';
import { z } from 'zod';
import {
  assertDeviceName,
  assertNamespaceName,
  CommandError,
  execIn,
  run,
  spawnIn,
  waitForLine,
} from '../netns.js';
import { programArgv } from '../programs/launch.js';
import { parseTcpSinkResult, tcpSinkArgv, tcpSourceArgv } from '../programs/tcp.js';
import { buildLinkemIfNeeded } from './build.js';
import { LinkemError } from './error.js';

/** Collect a child's stdout until it exits; resolves with the output and status. */
function collect(child: ChildProcess): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.once('close', (code) => {
      resolve({ stdout, stderr, code });
    });
  });
}

/** The last JSON line of a probe's output. */
function lastJson(stdout: string, what: string): unknown {
  const line = stdout
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  if (line === undefined) throw new LinkemError(`${what} printed no result: ${stdout.slice(0, 300)}`);
  return JSON.parse(line);
}

/**
 * Run a server-side probe for the duration of `body`; then stop it with `stopSignal` (null: wait for
 * it to exit by itself) and return its output.
 */
async function withServer<T>(
  ns: string,
  argv: readonly string[],
  what: string,
  body: () => Promise<T>,
  stopSignal: NodeJS.Signals | null = 'SIGTERM',
): Promise<{ result: T; serverStdout: string }> {
  const server = spawnIn(ns, argv);
  const done = collect(server);
  try {
    await waitForLine(server, 'LISTENING', 5000, what, (m) => new LinkemError(m));
    const result = await body();
    if (stopSignal !== null) server.kill(stopSignal);
    const out = await done;
    return { result, serverStdout: out.stdout };
  } finally {
    if (server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
  }
}

export interface RttProbeOptions {
  clientNetns: string;
  serverNetns: string;
  serverAddress: string;
  /** UDP port of the echo server. Default 47000. */
  port?: number;
  count: number;
  intervalUs: number;
  /** UDP payload bytes (≥ 24). Default 64. */
  sizeBytes?: number;
  /** How long to wait for the last echoes, ms. Default 2000. */
  waitMs?: number;
}

export interface RttProbeResult {
  sent: number;
  received: number;
  /** Round-trip times, µs, with the echo server's own dwell time removed (kernel receive stamps). */
  rttUs: number[];
  /** Same without removing the echo dwell. */
  rawRttUs: number[];
}

const rttOutputSchema = z.object({
  sent: z.number(),
  received: z.number(),
  samples: z.array(z.tuple([z.number(), z.number(), z.number()])),
});

/** UDP echo RTT from the client namespace to the server namespace. */
export async function probeRtt(o: RttProbeOptions): Promise<RttProbeResult> {
  const { probe } = await buildLinkemIfNeeded();
  const target = `${o.serverAddress}:${o.port ?? 47000}`;
  const { result } = await withServer(
    o.serverNetns,
    [probe, 'echo', '--bind', target],
    'linkem-probe echo',
    async () => {
      const timeoutMs = Math.ceil((o.count * o.intervalUs) / 1000 + (o.waitMs ?? 2000) + 10_000);
      const { stdout } = await execIn(
        o.clientNetns,
        [
          probe,
          'rtt',
          '--to',
          target,
          '--count',
          String(o.count),
          '--interval-us',
          String(Math.round(o.intervalUs)),
          '--size',
          String(o.sizeBytes ?? 64),
          '--wait-ms',
          String(o.waitMs ?? 2000),
        ],
        { timeoutMs },
      );
      return rttOutputSchema.parse(lastJson(stdout, 'linkem-probe rtt'));
    },
  );
  return {
    sent: result.sent,
    received: result.received,
    rttUs: result.samples.map(([, raw, dwell]) => raw - dwell),
    rawRttUs: result.samples.map(([, raw]) => raw),
  };
}

export interface UdpBlastOptions {
  fromNetns: string;
  toNetns: string;
  toAddress: string;
  /** Default 47001. */
  port?: number;
  /** Packets per second offered. */
  pps: number;
  count: number;
  /** UDP payload bytes (IP length = payload + 28). */
  sizeBytes: number;
  /** The sink stops after this long without packets, ms. Default 1000. */
  idleMs?: number;
}

const blastSchema = z.object({
  sent: z.number(),
  send_errors: z.number(),
  elapsed_s: z.number(),
  pps: z.number(),
});
const sinkSchema = z.object({
  received: z.number(),
  bytes: z.number(),
  max_seq: z.number(),
  lost: z.number(),
  bursts: z.number(),
  reordered: z.number(),
  rcvbuf_drops: z.number(),
  duration_s: z.number(),
  pps: z.number(),
  mbit_s: z.number(),
});

export interface UdpBlastResult {
  sent: number;
  sendErrors: number;
  /** Rate the sender achieved, packets/s. */
  sentPps: number;
  received: number;
  /** Sequence numbers never received (trailing ones included). */
  lost: number;
  /** Runs of consecutive lost sequence numbers. */
  lossBursts: number;
  reordered: number;
  /** Datagrams the receiving socket dropped (SO_RXQ_OVFL): not the link's doing. */
  rcvbufDrops: number;
  /** First to last received packet, s. */
  durationS: number;
  receivedPps: number;
  /** UDP payload rate at the receiver, Mbit/s. */
  receivedMbitS: number;
}

/** Paced UDP from one namespace to another; the receiver counts sequence gaps. */
export async function udpBlast(o: UdpBlastOptions): Promise<UdpBlastResult> {
  const { probe } = await buildLinkemIfNeeded();
  const target = `${o.toAddress}:${o.port ?? 47001}`;
  const idleMs = o.idleMs ?? 1000;
  const sinkArgv = [
    probe,
    'sink',
    '--bind',
    target,
    '--idle-ms',
    String(idleMs),
    '--expect',
    String(o.count),
  ];
  const { result, serverStdout } = await withServer(
    o.toNetns,
    sinkArgv,
    'linkem-probe sink',
    async () => {
      const { stdout } = await execIn(
        o.fromNetns,
        [
          probe,
          'blast',
          '--to',
          target,
          '--pps',
          String(Math.round(o.pps)),
          '--count',
          String(o.count),
          '--size',
          String(o.sizeBytes),
        ],
        { timeoutMs: Math.ceil((o.count / o.pps) * 3000 + 30_000) },
      );
      return blastSchema.parse(lastJson(stdout, 'linkem-probe blast'));
    },
    null,
  );
  const sink = sinkSchema.parse(lastJson(serverStdout, 'linkem-probe sink'));
  return {
    sent: result.sent,
    sendErrors: result.send_errors,
    sentPps: result.pps,
    received: sink.received,
    lost: sink.lost,
    lossBursts: sink.bursts,
    reordered: sink.reordered,
    rcvbufDrops: sink.rcvbuf_drops,
    durationS: sink.duration_s,
    receivedPps: sink.pps,
    receivedMbitS: sink.mbit_s,
  };
}

export interface TcpGoodputOptions {
  clientNetns: string;
  serverNetns: string;
  serverAddress: string;
  /** Default 47002. */
  port?: number;
  /** Bytes the server sends (down direction). */
  bytes: number;
  /** Steady-state goodput leaves out the first `warmupMs` after the first byte. Default 1000. */
  warmupMs?: number;
}

export interface TcpGoodputResult {
  bytes: number;
  connectMs: number;
  /** First to last byte, ms. */
  durationMs: number;
  /** Payload bits per second over first → last byte, Mbit/s. */
  goodputMbit: number;
  /** Payload Mbit/s after the warm-up (slow start excluded); null if the transfer was shorter. */
  steadyGoodputMbit: number | null;
}

/** Download `bytes` over TCP (tcp-source → tcp-sink) from the server namespace to the client namespace. */
export async function tcpGoodput(o: TcpGoodputOptions): Promise<TcpGoodputResult> {
  const port = o.port ?? 47002;
  const { result } = await withServer(
    o.serverNetns,
    programArgv('tcp-source', tcpSourceArgv({ host: o.serverAddress, port, bytes: o.bytes })),
    'tcp-source',
    async () => {
      const { stdout } = await execIn(
        o.clientNetns,
        programArgv('tcp-sink', tcpSinkArgv({ host: o.serverAddress, port, warmupMs: o.warmupMs ?? 1000 })),
        { timeoutMs: 300_000 },
      );
      return parseTcpSinkResult(stdout);
    },
    null,
  );
  const { firstMs, lastMs, warmAtMs, warmBytes } = result;
  const durationMs = firstMs === null || lastMs === null ? 0 : lastMs - firstMs;
  const steady =
    warmBytes === null || warmAtMs === null || lastMs === null || lastMs <= warmAtMs
      ? null
      : ((result.bytes - warmBytes) * 8) / ((lastMs - warmAtMs) * 1000);
  return {
    bytes: result.bytes,
    connectMs: result.connectMs,
    durationMs,
    goodputMbit: durationMs > 0 ? (result.bytes * 8) / (durationMs * 1000) : 0,
    steadyGoodputMbit: steady,
  };
}

/** TX/RX counters of a device in a namespace (`ip -s -j link show`), to spot drops at the TUN ring. */
export async function deviceCounters(
  ns: string,
  dev: string,
): Promise<{ txPackets: number; txDropped: number; rxPackets: number; rxDropped: number }> {
  assertNamespaceName(ns);
  assertDeviceName(dev);
  const { stdout } = await run(['ip', '-n', ns, '-s', '-j', 'link', 'show', 'dev', dev]);
  const parsed = z
    .array(
      z.object({
        stats64: z.object({
          rx: z.object({ packets: z.number(), dropped: z.number() }),
          tx: z.object({ packets: z.number(), dropped: z.number() }),
        }),
      }),
    )
    .parse(JSON.parse(stdout));
  const s = parsed[0]?.stats64;
  if (s === undefined)
    throw new CommandError(['ip', '-n', ns, '-s', '-j', 'link', 'show', 'dev', dev], {
      status: 0,
      signal: null,
      stdout,
      stderr: '',
      why: 'no device in output',
    });
  return {
    txPackets: s.tx.packets,
    txDropped: s.tx.dropped,
    rxPackets: s.rx.packets,
    rxDropped: s.rx.dropped,
  };
}
