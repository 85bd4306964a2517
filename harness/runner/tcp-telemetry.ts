/**
 * Sender telemetry of TCP connections: the kernel's tcp_info (linux/tcp.h), sampled through
 * sock_diag netlink (sock_diag(7), linux/inet_diag.h) by the C helper `tcpstat`
 * (link/linkem/src/tcpstat.c) inside a namespace, every TELEMETRY_INTERVAL_MS, and turned into one
 * `TelemetrySeries` per connection.
 *
 *   const tel = startTcpTelemetry({ netns, port, side: 'server' });
 *   await tel.ready();            // optional: the helper is sampling
 *   …                             // the connections live and end
 *   const series = await tel.stop();
 *
 * Failure is reported, never thrown into the run: `startTcpTelemetry` does not throw for a missing
 * or failing helper; `stop()` (and `ready()`) reject with a TcpTelemetryError saying what went wrong
 * (binary not built, helper exited or was killed, a line that does not parse), and the caller
 * records it. `stop()` always ends the helper first.
 *
 * Columns (model/telemetry.ts), per sample, from tcp_info:
 * - cwndBytes = tcpi_snd_cwnd × tcpi_snd_mss;
 * - bytesInFlight = (tcpi_unacked − tcpi_sacked − tcpi_lost + tcpi_retrans) × tcpi_snd_mss, the
 *   kernel's tcp_packets_in_flight() in bytes;
 * - ssthreshBytes = tcpi_snd_ssthresh × tcpi_snd_mss, and **0 while no threshold is set**
 *   (TCP_INFINITE_SSTHRESH, the initial slow start): the column is always present for TCP;
 * - srttMs = tcpi_rtt / 1000, minRttMs = tcpi_min_rtt / 1000; both **0 before the first RTT
 *   sample** (the kernel's srtt is 0 and its min_rtt ~0U then);
 * - deliveryRateMbit = tcpi_delivery_rate (bytes/s) × 8 / 10^6;
 * - packetsSent = tcpi_data_segs_out (data segments, retransmissions included, RFC 4898
 *   tcpEStatsPerfDataSegsOut); packetsRetransmitted = tcpi_total_retrans;
 * - packetsLost is **absent**: tcp_info has no cumulative count of lost packets (tcpi_lost is the
 *   current number of segments marked lost, which falls again as they are retransmitted and acked);
 * - timeouts: tcpi_total_rto where the kernel has it (Linux 6.7+: every retransmission timeout,
 *   SYN ones and repeated backoffs included); otherwise counted by the sampler: per sample the larger
 *   of 1 when the connection has entered TCP_CA_Loss since the previous sample and the increase of
 *   tcpi_backoff (each RTO doubles the timer and increments it), so a Loss episode that ended between
 *   two samples still counts if it backed off. `timeoutsSource` says which;
 * - recoveryState: 0 = TCP_CA_Open or TCP_CA_Disorder, 1 = TCP_CA_CWR or TCP_CA_Recovery (fast
 *   recovery, or a window reduction for ECN or local congestion), 2 = TCP_CA_Loss (after an RTO).
 *
 * `t` is CLOCK_MONOTONIC in ms, when the helper asked the kernel for the sample (the caller subtracts
 * its t0). Samples equal to the previous one in every column are dropped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import readline from 'node:readline';
import { ExitCode, H3BenchError } from '../../core/errors.js';
import { watchExit, type ChildExit } from '../../core/child.js';
import { ChangeSeries } from '../../core/series.js';
import { tcpstatBinary } from '../../link/linkem/build.js';
import { spawnIn } from '../../link/netns.js';
import { TELEMETRY_INTERVAL_MS, type TelemetrySeries } from '../model/telemetry.js';

/** Telemetry could not be collected (helper missing or failed, or its output did not parse). */
export class TcpTelemetryError extends H3BenchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BENCH_TELEMETRY', message, ExitCode.RunFailed, options);
  }
}

export interface TcpTelemetryOptions {
  /** Namespace of the sockets (entered with `ip netns exec`), or null for this one. */
  netns: string | null;
  /** The server's port: the local port of server-side sockets, the peer port of client-side ones. */
  port: number;
  side: 'server' | 'client';
  /** Sampling period, ms. Default TELEMETRY_INTERVAL_MS. */
  intervalMs?: number;
  /** Address families to dump. Default 'all'; '4' halves the cost of finding new connections. */
  family?: '4' | '6' | 'all';
  /**
   * How often new connections are looked for (a full dump), ms, or 'auto' (default: paced to 2% of a
   * core by the helper, between intervalMs and 250 ms). Known connections are sampled every interval.
   */
  discoverMs?: number | 'auto';
  /** The helper binary. Default: link/linkem/build/tcpstat. */
  binary?: string;
}

/** What the helper printed last: its own counts (see tcpstat.c). */
export interface TcpstatEnd {
  rounds: number;
  /** Sampling ticks skipped because a round overran the period. */
  late: number;
  lines: number;
  socketsMax: number;
  /** Discovery dumps, exact lookups, and the CPU time the dumps took, ms. */
  dumps: number;
  lookups: number;
  dumpCpuMs: number;
}

export interface TcpTelemetry {
  /** The command line, binary first (after `ip netns exec NS` when in a namespace). */
  readonly argv: readonly string[];
  /** The helper's pid (`ip netns exec` execs it, so the same process), null when none was started. */
  readonly pid: number | null;
  /** Resolves once the helper has printed its header (sampling has begun). Rejects if it failed. */
  ready(timeoutMs?: number): Promise<TcpstatHeader>;
  /**
   * End the helper (stdin EOF and SIGTERM; SIGKILL after `timeoutMs`, default 3000) and return one
   * series per connection, in order of first sample. Idempotent. Rejects with a TcpTelemetryError
   * when the helper is missing, failed, or printed a line that does not parse.
   */
  stop(timeoutMs?: number): Promise<TelemetrySeries[]>;
  /** The helper's END figures once stop() has resolved (null before, or if it printed none). */
  readonly end: TcpstatEnd | null;
}

// ---------------------------------------------------------------------------------------------
// Lines

/** The sample fields tcpstat prints, in order (its header's `fields=`). */
export const TCPSTAT_FIELDS = [
  't_ms',
  'cookie',
  'local',
  'peer',
  'state',
  'ca_state',
  'cc',
  'snd_cwnd',
  'snd_mss',
  'snd_ssthresh',
  'rtt_us',
  'min_rtt_us',
  'delivery_rate',
  'unacked',
  'sacked',
  'lost',
  'retrans',
  'total_retrans',
  'segs_out',
  'data_segs_out',
  'bytes_sent',
  'bytes_retrans',
  'backoff',
  'retransmits',
  'total_rto',
] as const;

export interface TcpstatHeader {
  /** Kernel release (uname -r). */
  kernel: string;
  side: 'server' | 'client';
  port: number;
  intervalMs: number;
  discoverMs: number | 'auto';
  family: '4' | '6' | 'all';
}

/** One sample line: tcp_info fields as the kernel gave them. */
export interface TcpstatSample {
  tMs: number;
  /** Socket cookie, hex. */
  cookie: string;
  local: string;
  peer: string;
  /** TCP state (include/net/tcp_states.h: 1 ESTABLISHED … 11 CLOSING). */
  state: number;
  /** enum tcp_ca_state: 0 Open, 1 Disorder, 2 CWR, 3 Recovery, 4 Loss. */
  caState: number;
  /** Congestion control, or "-" when the kernel did not say. */
  cc: string;
  cwnd: number;
  mss: number;
  /** TCP_INFINITE_SSTHRESH (0x7fffffff) while none is set. */
  ssthresh: number;
  rttUs: number;
  /** 0xffffffff while no RTT sample was taken. */
  minRttUs: number;
  /** Bytes/s. */
  deliveryRate: number;
  unacked: number;
  sacked: number;
  lost: number;
  retrans: number;
  totalRetrans: number;
  segsOut: number;
  dataSegsOut: number;
  bytesSent: number;
  bytesRetrans: number;
  backoff: number;
  retransmits: number;
  /** tcpi_total_rto, or null when the kernel's tcp_info does not have it (before Linux 6.7). */
  totalRto: number | null;
}

export const TCP_INFINITE_SSTHRESH = 0x7fffffff;
const NO_MIN_RTT = 0xffffffff;
const CA_LOSS = 4;
/** TCP states tcpstat reports (ESTABLISHED, FIN_WAIT1, FIN_WAIT2, CLOSE_WAIT, LAST_ACK, CLOSING). */
const STATES = new Set([1, 4, 5, 8, 9, 11]);

const lineError = (why: string, line: string): TcpTelemetryError =>
  new TcpTelemetryError(`tcpstat printed a malformed line (${why}): ${JSON.stringify(line.slice(0, 400))}`);

const ADDR_RE = /^(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-f:.]+\]):\d{1,5}$/;

function uint(field: string, s: string, max: number, line: string): number {
  if (!/^\d{1,20}$/.test(s)) throw lineError(`${field} "${s}" is not an unsigned integer`, line);
  const x = Number(s);
  if (!Number.isSafeInteger(x) || x > max) throw lineError(`${field} ${s} is out of range`, line);
  return x;
}

const U8 = 255;
const U16 = 65_535;
const U32 = 0xffffffff;
const U64 = Number.MAX_SAFE_INTEGER;

/** Parse tcpstat's header line; a line that is not one, or names other fields, is an error. */
export function parseTcpstatHeader(line: string): TcpstatHeader {
  const parts = line.split(' ');
  if (parts[0] !== 'TCPSTAT' || parts[1] !== '1') throw lineError('expected the "TCPSTAT 1" header', line);
  const kv = new Map<string, string>();
  for (const p of parts.slice(2)) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw lineError(`"${p}" is not key=value`, line);
    kv.set(p.slice(0, eq), p.slice(eq + 1));
  }
  const get = (k: string): string => {
    const v = kv.get(k);
    if (v === undefined) throw lineError(`no ${k}=`, line);
    return v;
  };
  if (get('fields') !== TCPSTAT_FIELDS.join(',')) throw lineError('unexpected fields', line);
  const side = get('side');
  if (side !== 'server' && side !== 'client') throw lineError(`side "${side}"`, line);
  const family = get('family');
  if (family !== '4' && family !== '6' && family !== 'all') throw lineError(`family "${family}"`, line);
  const discover = get('discover_ms');
  const kernel = get('kernel');
  if (!/^[\x21-\x7e]{1,64}$/.test(kernel)) throw lineError(`kernel "${kernel}"`, line);
  return {
    kernel,
    side,
    port: uint('port', get('port'), U16, line),
    intervalMs: uint('interval_ms', get('interval_ms'), 60_000, line),
    discoverMs: discover === 'auto' ? 'auto' : uint('discover_ms', discover, 60_000, line),
    family,
  };
}

/** Parse one sample line ("S …"). */
export function parseTcpstatSample(line: string): TcpstatSample {
  const p = line.split(' ');
  if (p[0] !== 'S') throw lineError('expected a sample line "S …"', line);
  if (p.length !== TCPSTAT_FIELDS.length + 1) {
    throw lineError(`expected ${TCPSTAT_FIELDS.length} fields, got ${p.length - 1}`, line);
  }
  const f = (i: number): string => p[i + 1] ?? '';
  const tText = f(0);
  if (!/^\d+\.\d{3}$/.test(tText)) throw lineError(`t_ms "${tText}"`, line);
  const cookie = f(1);
  if (!/^[0-9a-f]{1,16}$/.test(cookie)) throw lineError(`cookie "${cookie}"`, line);
  const local = f(2);
  const peer = f(3);
  if (!ADDR_RE.test(local)) throw lineError(`local address "${local}"`, line);
  if (!ADDR_RE.test(peer)) throw lineError(`peer address "${peer}"`, line);
  const state = uint('state', f(4), U8, line);
  if (!STATES.has(state)) throw lineError(`state ${state} is not a connected state`, line);
  const caState = uint('ca_state', f(5), CA_LOSS, line);
  const cc = f(6);
  if (!/^(?:-|[A-Za-z0-9_-]{1,15})$/.test(cc)) throw lineError(`cc "${cc}"`, line);
  const u32 = (i: number, name: string): number => uint(name, f(i), U32, line);
  const u64 = (i: number, name: string): number => uint(name, f(i), U64, line);
  const rto = f(24);
  return {
    tMs: Number(tText),
    cookie,
    local,
    peer,
    state,
    caState,
    cc,
    cwnd: u32(7, 'snd_cwnd'),
    mss: u32(8, 'snd_mss'),
    ssthresh: u32(9, 'snd_ssthresh'),
    rttUs: u32(10, 'rtt_us'),
    minRttUs: u32(11, 'min_rtt_us'),
    deliveryRate: u64(12, 'delivery_rate'),
    unacked: u32(13, 'unacked'),
    sacked: u32(14, 'sacked'),
    lost: u32(15, 'lost'),
    retrans: u32(16, 'retrans'),
    totalRetrans: u32(17, 'total_retrans'),
    segsOut: u32(18, 'segs_out'),
    dataSegsOut: u32(19, 'data_segs_out'),
    bytesSent: u64(20, 'bytes_sent'),
    bytesRetrans: u64(21, 'bytes_retrans'),
    backoff: uint('backoff', f(22), U8, line),
    retransmits: uint('retransmits', f(23), U8, line),
    totalRto: rto === '-' ? null : uint('total_rto', rto, U16, line),
  };
}

/** Parse the END line. */
export function parseTcpstatEnd(line: string): TcpstatEnd {
  const m =
    /^END rounds=(\d+) late=(\d+) lines=(\d+) sockets_max=(\d+) dumps=(\d+) lookups=(\d+) dump_cpu_ms=(\d+\.\d{3})$/.exec(
      line,
    );
  if (m === null) throw lineError('expected "END rounds=… dump_cpu_ms=…"', line);
  const n = (i: number): number => uint('END', m[i] ?? '', U64, line);
  return {
    rounds: n(1),
    late: n(2),
    lines: n(3),
    socketsMax: n(4),
    dumps: n(5),
    lookups: n(6),
    dumpCpuMs: Number(m[7]),
  };
}

// ---------------------------------------------------------------------------------------------
// Series

/** recoveryState of a tcp_ca_state (see the module comment). */
export function recoveryState(caState: number): number {
  return caState >= CA_LOSS ? 2 : caState >= 2 ? 1 : 0;
}

/** The columns a TCP series has, every one of them always (model/telemetry.ts). */
export const TCP_COLUMNS = [
  'cwndBytes',
  'bytesInFlight',
  'ssthreshBytes',
  'srttMs',
  'minRttMs',
  'deliveryRateMbit',
  'packetsSent',
  'packetsRetransmitted',
  'timeouts',
  'recoveryState',
] as const satisfies readonly (keyof TelemetrySeries)[];
type Column = (typeof TCP_COLUMNS)[number];

export const TIMEOUTS_FROM_KERNEL = 'tcpi_total_rto (the kernel counts every retransmission timeout)';
export const timeoutsFromSampler = (intervalMs: number): string =>
  `TCP_CA_Loss entries and tcpi_backoff increases seen by the sampler every ${intervalMs} ms`;

/** One connection's series, built sample by sample (the helper's lines of one cookie, in order). */
export class TcpSeriesBuilder {
  private readonly rows = new ChangeSeries<Column>(TCP_COLUMNS);
  private readonly ccs: string[] = [];
  private prev: TcpstatSample | null = null;
  private timeouts = 0;
  private kernelRto: boolean | null = null;

  constructor(
    private readonly side: 'server' | 'client',
    private readonly kernel: string,
    private readonly intervalMs: number,
    readonly connection: string,
  ) {}

  add(s: TcpstatSample, line = ''): void {
    const prev = this.prev;
    if (prev !== null && s.tMs < prev.tMs) throw lineError('time went backwards', line);
    this.kernelRto ??= s.totalRto !== null;
    if (this.kernelRto !== (s.totalRto !== null))
      throw lineError('total_rto present in some samples only', line);
    if (s.totalRto !== null) {
      this.timeouts = s.totalRto;
    } else {
      const enteredLoss = s.caState === CA_LOSS && (prev === null || prev.caState !== CA_LOSS) ? 1 : 0;
      const backedOff = Math.max(0, s.backoff - (prev?.backoff ?? 0));
      this.timeouts += Math.max(enteredLoss, backedOff);
    }
    this.prev = s;
    if (s.cc !== '-' && !this.ccs.includes(s.cc)) this.ccs.push(s.cc);

    const row: Record<Column, number> = {
      cwndBytes: s.cwnd * s.mss,
      bytesInFlight: (s.unacked - s.sacked - s.lost + s.retrans) * s.mss,
      ssthreshBytes: s.ssthresh >= TCP_INFINITE_SSTHRESH ? 0 : s.ssthresh * s.mss,
      srttMs: s.rttUs / 1000,
      minRttMs: s.minRttUs === NO_MIN_RTT ? 0 : s.minRttUs / 1000,
      deliveryRateMbit: (s.deliveryRate * 8) / 1e6,
      packetsSent: s.dataSegsOut,
      packetsRetransmitted: s.totalRetrans,
      timeouts: this.timeouts,
      recoveryState: recoveryState(s.caState),
    };
    this.rows.add(s.tMs, row);
  }

  /** The series (null when no sample was added). */
  finish(): TelemetrySeries | null {
    if (this.rows.length === 0) return null;
    const col = this.rows.columns;
    const cc = this.ccs.length > 0 ? `, ${this.ccs.join('/')}` : '';
    return {
      side: this.side,
      transport: 'tcp',
      connection: this.connection,
      source: `tcp_info via sock_diag (Linux ${this.kernel}${cc})`,
      intervalMs: this.intervalMs,
      t: this.rows.t,
      ...col,
      timeoutsSource: this.kernelRto === true ? TIMEOUTS_FROM_KERNEL : timeoutsFromSampler(this.intervalMs),
    };
  }
}

/**
 * Everything a helper printed, line by line: the header first, then samples, then END. Keeps one
 * builder per socket cookie. Throws a TcpTelemetryError naming the first line that does not parse.
 */
export class TcpstatReader {
  header: TcpstatHeader | null = null;
  end: TcpstatEnd | null = null;
  private readonly builders = new Map<string, TcpSeriesBuilder>();

  line(line: string): void {
    if (line === '') return;
    if (this.end !== null) throw lineError('a line after END', line);
    if (this.header === null) {
      this.header = parseTcpstatHeader(line);
      return;
    }
    if (line.startsWith('END')) {
      this.end = parseTcpstatEnd(line);
      return;
    }
    const s = parseTcpstatSample(line);
    let b = this.builders.get(s.cookie);
    if (b === undefined) {
      b = new TcpSeriesBuilder(
        this.header.side,
        this.header.kernel,
        this.header.intervalMs,
        `${s.local} ${s.peer}`,
      );
      this.builders.set(s.cookie, b);
    } else if (b.connection !== `${s.local} ${s.peer}`) {
      throw lineError(`cookie ${s.cookie} changed its addresses`, line);
    }
    b.add(s, line);
  }

  series(): TelemetrySeries[] {
    return [...this.builders.values()].flatMap((b) => b.finish() ?? []);
  }
}

// ---------------------------------------------------------------------------------------------
// The process

/** tcpstat's argv after the binary (pure; exported for tests). Throws a TcpTelemetryError on bad values. */
export function tcpstatArgs(
  o: Pick<TcpTelemetryOptions, 'port' | 'side' | 'intervalMs' | 'family' | 'discoverMs'>,
): string[] {
  const intervalMs = o.intervalMs ?? TELEMETRY_INTERVAL_MS;
  if (!Number.isInteger(o.port) || o.port < 1 || o.port > 65_535) {
    throw new TcpTelemetryError(`tcp telemetry: port ${o.port} is not in 1..65535`);
  }
  if (!Number.isInteger(intervalMs) || intervalMs < 1 || intervalMs > 60_000) {
    throw new TcpTelemetryError(`tcp telemetry: intervalMs ${intervalMs} is not an integer in 1..60000`);
  }
  const discover = o.discoverMs ?? 'auto';
  if (discover !== 'auto' && (!Number.isInteger(discover) || discover < 1 || discover > 60_000)) {
    throw new TcpTelemetryError(
      `tcp telemetry: discoverMs ${discover} is not 'auto' or an integer in 1..60000`,
    );
  }
  // Closed sets: checked at run time too, since the values reach a root process's argv.
  const sides: readonly string[] = ['server', 'client'];
  if (!sides.includes(o.side)) throw new TcpTelemetryError(`tcp telemetry: side "${o.side}"`);
  const family = o.family ?? 'all';
  const families: readonly string[] = ['4', '6', 'all'];
  if (!families.includes(family)) throw new TcpTelemetryError(`tcp telemetry: family "${family}"`);
  return [
    '--port',
    String(o.port),
    '--side',
    o.side,
    '--interval-ms',
    String(intervalMs),
    '--discover-ms',
    String(discover),
    '--family',
    family,
  ];
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** A handle whose ready() and stop() reject with `err` (nothing was started). */
function failedHandle(argv: string[], err: TcpTelemetryError): TcpTelemetry {
  return {
    argv,
    pid: null,
    ready: () => Promise.reject(err),
    stop: () => Promise.reject(err),
    end: null,
  };
}

/**
 * Start sampling the TCP connections of `port` on `side` in `netns`. Never throws for a missing or
 * failing helper: ready() and stop() reject instead (see the module comment). Throws only on
 * invalid options (a programming error).
 */
export function startTcpTelemetry(o: TcpTelemetryOptions): TcpTelemetry {
  const args = tcpstatArgs(o);
  const binary = o.binary ?? tcpstatBinary();
  const argv = o.netns === null ? [binary, ...args] : ['ip', 'netns', 'exec', o.netns, binary, ...args];
  if (!existsSync(binary)) {
    return failedHandle(
      argv,
      new TcpTelemetryError(
        `tcp telemetry: ${binary} is not built (make -C link/linkem, or buildTcpstatIfNeeded() in link/linkem/build.ts)`,
      ),
    );
  }
  const spawnOptions = {
    stdio: ['pipe', 'pipe', 'pipe'] as ['pipe', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
  };
  let child: ChildProcess;
  try {
    // spawnIn validates the namespace name (never a shell: argv arrays only).
    child =
      o.netns === null
        ? spawn(binary, args, spawnOptions)
        : spawnIn(o.netns, [binary, ...args], spawnOptions);
  } catch (err) {
    return failedHandle(
      argv,
      new TcpTelemetryError(`tcp telemetry: cannot start ${argv.join(' ')}`, { cause: err }),
    );
  }
  live.add(child);

  const reader = new TcpstatReader();
  let failure: TcpTelemetryError | null = null;
  let stderr = '';
  // Settles once: with the header, or with the reason there will be none.
  let headerSettle: { resolve: (h: TcpstatHeader) => void; reject: (e: TcpTelemetryError) => void } | null =
    null;
  const header = new Promise<TcpstatHeader>((resolve, reject) => {
    headerSettle = { resolve, reject };
  });
  header.catch(() => undefined); // observed by ready() and stop(), if at all
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (d: string) => {
    stderr = (stderr + d).slice(-4096);
  });
  // A closed stdin pipe (EPIPE after the helper exited) is not an error of ours.
  child.stdin?.on('error', () => undefined);
  const fail = (err: TcpTelemetryError): void => {
    failure ??= err;
    headerSettle?.reject(failure);
    child.stdin?.end();
    child.kill('SIGTERM');
  };
  if (child.stdout === null) throw new TcpTelemetryError('tcp telemetry: no stdout pipe');
  const lines = readline.createInterface({ input: child.stdout, crlfDelay: Infinity });
  lines.on('line', (line) => {
    if (failure !== null) return;
    try {
      const hadHeader = reader.header !== null;
      reader.line(line);
      const h = reader.header;
      if (!hadHeader && h !== null) {
        if (h.side !== o.side || h.port !== o.port) {
          throw lineError(`the header names ${h.side} port ${h.port}, not ${o.side} port ${o.port}`, line);
        }
        headerSettle?.resolve(h);
      }
    } catch (err) {
      fail(err instanceof TcpTelemetryError ? err : new TcpTelemetryError(`tcp telemetry: ${String(err)}`));
    }
  });
  const watch = watchExit(child, live);
  const exited = watch.exited;
  const describeExit = (e: ChildExit): string =>
    `tcp telemetry: ${argv.join(' ')} ${watch.describe(e)}: ${stderr.trim() || '(no message)'}`;
  void exited.then((e) => headerSettle?.reject(failure ?? new TcpTelemetryError(describeExit(e))));

  /** `p`, or a rejection after `ms`. */
  const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new TcpTelemetryError(`tcp telemetry: ${what} from ${argv.join(' ')} within ${ms} ms`));
      }, ms);
      p.then(resolve, reject).finally(() => {
        clearTimeout(timer);
      });
    });
  const ready = (timeoutMs = 3000): Promise<TcpstatHeader> => within(header, timeoutMs, 'no header');

  let stopping: Promise<TelemetrySeries[]> | null = null;
  let end: TcpstatEnd | null = null;
  return {
    argv,
    pid: child.pid ?? null,
    ready,
    get end() {
      return end;
    },
    stop(timeoutMs = 3000): Promise<TelemetrySeries[]> {
      stopping ??= (async () => {
        // A helper signalled before it installed its handlers would die without END: let it
        // start first (it prints the header once it is set up).
        await within(header, timeoutMs, 'no header').catch(() => undefined);
        if (child.exitCode === null && child.signalCode === null) {
          child.stdin?.end();
          child.kill('SIGTERM');
        }
        const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        const e = await exited;
        clearTimeout(killer);
        // readline may still hold the last lines: let it drain.
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (failure !== null) throw failure;
        if (e.code !== 0 || reader.end === null) {
          throw new TcpTelemetryError(
            reader.end === null && e.code === 0 ? `${describeExit(e)} (no END line)` : describeExit(e),
          );
        }
        end = reader.end;
        return reader.series();
      })();
      return stopping;
    },
  };
}
