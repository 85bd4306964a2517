/**
 * Running one Caddy process: started with argv arrays only (never a shell), its JSON logs read as
 * they come (readiness from stderr, one access-log line per request on stdout), stopped with
 * SIGTERM then SIGKILL, and never outliving the Node process that started it: Caddy is a Go program
 * that cannot watch its parent, so it runs under `setpriv --pdeathsig KILL` (util-linux; the kernel
 * kills it when its parent dies, even by SIGKILL: prctl(2) PR_SET_PDEATHSIG), and an `exit` hook
 * kills it when Node exits on its own (process.exit).
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { watchExit, type ChildExit } from '../../../core/child.js';
import { ACCESS_LOGGER, READY_MESSAGE } from './config.js';

/** The Caddy binary, looked up on PATH. */
export const CADDY_BIN = 'caddy';
/** Lines of Caddy's stderr kept for error messages. */
const LOG_LINES = 30;

export interface CaddyProcess {
  readonly pid: number | undefined;
  /** Resolves once Caddy logs that it serves its configuration; rejects, with its last log lines, if it exits first or does not within `timeoutMs`. */
  ready: (timeoutMs: number) => Promise<void>;
  /** Caddy's last log lines (stderr), for error messages. */
  log: () => string;
  /** Requests Caddy logged as handled so far (access-log lines). */
  requestsLogged: () => number;
  /** CPU time Caddy used so far, ms (from /proc), or null once it has exited or when unreadable. */
  cpuMs: () => { user: number; system: number } | null;
  /** Settles once Caddy has exited and its output is read to the end. */
  readonly exited: Promise<ChildExit>;
  /** "exited with status 1", "was killed by SIGKILL", "could not start (...)". */
  describe: (e: ChildExit) => string;
  /** SIGTERM, SIGKILL after `killAfterMs`; resolves once Caddy has exited (at once if it had). */
  stop: (killAfterMs: number) => Promise<ChildExit>;
}

let setprivOk: boolean | undefined;
/** Whether util-linux `setpriv` (for --pdeathsig) is available; asked once. */
function haveSetpriv(): boolean {
  setprivOk ??= spawnSync('setpriv', ['--version'], { stdio: 'ignore' }).status === 0;
  return setprivOk;
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    const v = Number(out.stdout.trim());
    clockTicks = out.status === 0 && Number.isFinite(v) && v > 0 ? v : 100;
  }
  return clockTicks;
}

/** utime and stime of a process from /proc/<pid>/stat (fields 14 and 15, proc(5)), in ms. */
export function parseProcStat(stat: string, ticks: number): { user: number; system: number } | null {
  // The command name (field 2) may contain spaces and parentheses: fields resume after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return null;
  return { user: (utime * 1000) / ticks, system: (stime * 1000) / ticks };
}

export interface CaddyStart {
  configFile: string;
  /** Working directory and HOME (Caddy's default data and config directories live under HOME). */
  cwd: string;
  home: string;
}

/** Start `caddy run --config FILE` (a JSON config: no adapter). */
export function startCaddyProcess(start: CaddyStart): CaddyProcess {
  const caddyArgv = [CADDY_BIN, 'run', '--config', start.configFile];
  const [cmd = CADDY_BIN, ...args] = haveSetpriv()
    ? ['setpriv', '--pdeathsig', 'KILL', '--', ...caddyArgv]
    : caddyArgv;
  const proc = spawn(cmd, args, {
    cwd: start.cwd,
    env: {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: start.home,
      XDG_DATA_HOME: `${start.home}/data`,
      XDG_CONFIG_HOME: `${start.home}/config`,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const killOnExit = () => proc.kill('SIGKILL');
  process.once('exit', killOnExit);
  const watch = watchExit(proc);
  const exited = watch.exited.then((e) => {
    process.off('exit', killOnExit);
    return e;
  });

  const lines: string[] = [];
  let readyResolve: (() => void) | undefined;
  let isReady = false;
  createInterface({ input: proc.stderr }).on('line', (line) => {
    lines.push(line);
    if (lines.length > LOG_LINES) lines.shift();
    if (!isReady && line.startsWith('{')) {
      try {
        const msg = (JSON.parse(line) as { msg?: unknown }).msg;
        if (msg === READY_MESSAGE) {
          isReady = true;
          readyResolve?.();
        }
      } catch {
        // not JSON (e.g. Caddy's "Error: ..." line before it exits): kept for the message only
      }
    }
  });
  let handled = 0;
  const accessMark = `"logger":"${ACCESS_LOGGER}`;
  createInterface({ input: proc.stdout }).on('line', (line) => {
    if (line.includes(accessMark) && line.includes('"msg":"handled request"')) handled++;
  });
  let done = false;
  void exited.then(() => (done = true));
  const log = () => lines.join('\n');

  return {
    pid: proc.pid,
    log,
    exited,
    describe: watch.describe,
    requestsLogged: () => handled,
    ready: (timeoutMs) =>
      new Promise<void>((resolve, reject) => {
        if (isReady) {
          resolve();
          return;
        }
        const timer = setTimeout(() => {
          reject(new Error(`caddy did not start within ${timeoutMs} ms; its last log lines:\n${log()}`));
        }, timeoutMs);
        readyResolve = () => {
          clearTimeout(timer);
          resolve();
        };
        void exited.then((e) => {
          clearTimeout(timer);
          if (!isReady)
            reject(new Error(`caddy ${watch.describe(e)} before serving; its last log lines:\n${log()}`));
        });
      }),
    cpuMs: () => {
      if (done || proc.pid === undefined) return null;
      try {
        return parseProcStat(readFileSync(`/proc/${proc.pid}/stat`, 'utf8'), ticksPerSecond());
      } catch {
        return null;
      }
    },
    stop: async (killAfterMs) => {
      if (done) return exited;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), killAfterMs);
      const e = await exited;
      clearTimeout(timer);
      return e;
    },
  };
}

/**
 * A port free for TCP and for UDP on `host` now, chosen by the kernel (TCP port 0), for a server
 * that cannot report the port it bound. It is released before returning, so another process can
 * still take it before Caddy binds it: the caller retries on "address already in use".
 */
export async function freePort(host: string): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const srv = net.createServer();
    const port = await new Promise<number>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen({ host, port: 0, exclusive: true }, () => {
        const a = srv.address();
        resolve(a !== null && typeof a === 'object' ? a.port : 0);
      });
    });
    const udpFree = await new Promise<boolean>((resolve) => {
      const s = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
      s.once('error', () => {
        s.close();
        resolve(false);
      });
      s.bind({ address: host, port, exclusive: true }, () => {
        s.close(() => {
          resolve(true);
        });
      });
    });
    await new Promise<void>((resolve) => {
      srv.close(() => {
        resolve();
      });
    });
    if (port !== 0 && udpFree) return port;
  }
  throw new Error(`no port free for both TCP and UDP on ${host}`);
}

/** Resolves once a TCP connection to host:port succeeds; rejects after `timeoutMs`. */
export async function waitTcp(host: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host, port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => {
        s.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing accepts TCP connections on ${host}:${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs a command (argv array), resolving with its stdout, or null if it fails or is missing. */
export function runQuiet(cmd: string, args: string[], timeoutMs = 5000): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout) => {
      resolve(err === null ? stdout : null);
    });
  });
}
