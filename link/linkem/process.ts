/**
 * One linkem process: start it (building it first if needed), wait for READY, stop it and read
 * STATS. Every live linkem is killed if this process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import { linkemArgs, linkemLimits, type LinkemLimits, type LinkemOptions } from './args.js';
import { buildLinkemIfNeeded } from './build.js';
import { LinkemError } from './error.js';
import { parseLinkemReadyLine, parseLinkemStatsLine, type LinkemReady, type LinkemStats } from './lines.js';
import type { JsonObject } from '../../core/json.js';
import { watchExit } from '../../core/child.js';

/** What to record in a result about the emulation. */
export interface LinkemRecord {
  backend: 'linkem';
  binary: string;
  argv: string[];
  sched: string;
  mlock: boolean;
  busyPollUs: number;
  limits: { up: LinkemLimits; down: LinkemLimits };
  /** linkem's own configuration as printed in READY. */
  linkem: JsonObject;
}

export interface LinkemHandle {
  readonly pid: number;
  /** Full command line, binary first. */
  readonly argv: readonly string[];
  readonly ready: LinkemReady;
  /** JSON-safe description to record in results. */
  readonly config: LinkemRecord;
  /** Settles when the process has exited and its output is read. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /**
   * SIGTERM, then read the STATS line; SIGKILL after `timeoutMs` (default 5000). Idempotent: every
   * call returns the same promise. Rejects if linkem exited without STATS (crash, kill).
   */
  stop(timeoutMs?: number): Promise<LinkemStats>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** Start linkem (building it first if needed) and wait for READY. The TUNs are up but unconfigured. */
export async function startLinkem(options: LinkemOptions): Promise<LinkemHandle> {
  const args = linkemArgs(options);
  const { binary } = await buildLinkemIfNeeded();
  const argv = [binary, ...args];
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], env: {} });
  live.add(child);
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    stderr = (stderr + d).slice(-8192);
  });
  let stats: LinkemStats | null = null;
  let statsError: LinkemError | null = null;
  let onReady: ((r: LinkemReady) => void) | null = null;
  let onReadyError: ((e: unknown) => void) | null = null;
  const lines = readline.createInterface({ input: child.stdout, crlfDelay: Infinity });
  lines.on('line', (line) => {
    try {
      if (line.startsWith('READY ')) onReady?.(parseLinkemReadyLine(line));
      else if (line.startsWith('STATS ')) stats = parseLinkemStatsLine(line);
    } catch (err) {
      if (line.startsWith('READY ')) onReadyError?.(err);
      else statsError = err instanceof LinkemError ? err : new LinkemError(String(err));
    }
  });
  const { exited, describe: describeExit } = watchExit(child, live);

  const timeoutMs = options.readyTimeoutMs ?? 5000;
  let timer: NodeJS.Timeout | undefined;
  let ready: LinkemReady;
  try {
    ready = await new Promise<LinkemReady>((resolve, reject) => {
      onReady = resolve;
      onReadyError = reject;
      timer = setTimeout(() => {
        reject(new LinkemError(`linkem did not print READY within ${timeoutMs} ms: ${stderr.trim()}`));
      }, timeoutMs);
      void exited.then((e) => {
        reject(new LinkemError(`linkem ${describeExit(e)} before READY: ${stderr.trim() || '(no message)'}`));
      });
    });
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    throw err;
  } finally {
    clearTimeout(timer);
  }

  let stopping: Promise<LinkemStats> | null = null;
  const stop = (stopTimeoutMs = 5000): Promise<LinkemStats> => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
      const e = await exited;
      clearTimeout(killer);
      if (statsError !== null) throw statsError;
      if (stats === null) {
        throw new LinkemError(
          `linkem ${describeExit(e)} without printing STATS: ${stderr.trim() || '(no message)'}`,
        );
      }
      return stats;
    })();
    return stopping;
  };

  const up = linkemLimits(options.profile.up, options.profile.mtuBytes);
  const down = linkemLimits(options.profile.down, options.profile.mtuBytes);
  return {
    pid: ready.pid,
    argv,
    ready,
    config: {
      backend: 'linkem',
      binary,
      argv,
      sched: ready.sched,
      mlock: ready.mlock,
      busyPollUs: options.busyPollUs ?? 0,
      limits: { up, down },
      linkem: ready.config,
    },
    exited,
    stop,
  };
}
