/**
 * `h3bench netem shell`: run any command in the client namespace of an emulated link (like
 * Mahimahi's shells), with the server namespace reachable at H3BENCH_SERVER, optionally after
 * starting a server command there. The link stays up until the command exits; its exit code is
 * returned.
 *
 * `--server 'CMD'` is split into argv WITHOUT a shell (splitCommand): whitespace separates words;
 * '…' keeps everything literally; "…" keeps whitespace and honours \" and \\; a backslash outside
 * quotes escapes the next character. No variables, globs, pipes or redirections: `|`, `;`, `>`, `$`
 * are ordinary characters.
 */
import type { ChildProcess } from 'node:child_process';
import { UsageError } from '../core/errors.js';
import type { Network } from '../core/network.js';
import type { Transport } from '../core/transport.js';
import { linkUp, type LinkHandle } from './index.js';
import { spawnIn } from './netns.js';
import { CLIENT_ADDRESS } from './addresses.js';

/** Split a command line into argv without a shell (see the module comment). */
export function splitCommand(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < line.length; i++) {
    const ch = line.charAt(i);
    if (quote === "'") {
      if (ch === "'") quote = null;
      else cur += ch;
      continue;
    }
    if (quote === '"') {
      if (ch === '"') quote = null;
      else if (ch === '\\' && (line[i + 1] === '"' || line[i + 1] === '\\')) cur += line.charAt(++i);
      else cur += ch;
      continue;
    }
    if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (ch === '\\') {
      if (i + 1 >= line.length)
        throw new UsageError(`--server: value error: trailing backslash in "${line}"`);
      cur += line.charAt(++i);
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (quote !== null) throw new UsageError(`--server: value error: unterminated ${quote} quote in "${line}"`);
  if (inWord) out.push(cur);
  return out;
}

export interface ShellOptions {
  /** Command run in the client namespace (argv). */
  command: string[];
  /** Command started first in the server namespace (argv), ended when `command` exits. */
  server?: string[] | null;
  /** Wait after starting the server before the client command, ms (default 300). */
  serverWaitMs?: number;
  signal?: AbortSignal;
  /** Informational lines (stderr). */
  log?: (line: string) => void;
}

/** Exit code of a finished child as a shell reports it (128 + signal number when killed). */
function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const nums: Partial<Record<NodeJS.Signals, number>> = {
    SIGHUP: 1,
    SIGINT: 2,
    SIGQUIT: 3,
    SIGKILL: 9,
    SIGTERM: 15,
  };
  return 128 + (signal ? (nums[signal] ?? 1) : 1);
}

function waitExit(
  child: ChildProcess,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }> {
  return new Promise((resolve) => {
    child.once('error', (error) => {
      resolve({ code: 127, signal: null, error });
    });
    child.once('exit', (code, signal) => {
      resolve({ code, signal });
    });
  });
}

async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = waitExit(child);
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Bring the link up, run the commands, tear it down; resolves with the client command's exit code. */
export async function runShell(
  network: Network,
  transport: Transport,
  workDir: string,
  o: ShellOptions,
): Promise<number> {
  if (o.command.length === 0) throw new UsageError('h3bench netem shell: no command given after "--"');
  const log = o.log ?? (() => undefined);
  let link: LinkHandle | undefined;
  let server: ChildProcess | undefined;
  try {
    link = await linkUp(network, transport, {
      workDir,
      ...(o.signal ? { signal: o.signal } : {}),
    });
    const clientNs = link.clientNetns;
    const serverNs = link.serverNetns;
    if (clientNs === null || serverNs === null)
      throw new UsageError('h3bench netem shell needs an emulated link (network.backend is none)');
    const env = {
      ...process.env,
      H3BENCH_SERVER: link.serverAddress,
      H3BENCH_CLIENT: CLIENT_ADDRESS,
      H3BENCH_CLIENT_NETNS: clientNs,
      H3BENCH_SERVER_NETNS: serverNs,
    };
    log(
      `link up (${link.backend}): client ${clientNs} (${CLIENT_ADDRESS}) -> server ${serverNs} (${link.serverAddress})`,
    );
    if (o.server && o.server.length > 0) {
      server = spawnIn(serverNs, o.server, { stdio: ['ignore', 'inherit', 'inherit'], env });
      const early = waitExit(server);
      const waited = await Promise.race([
        early.then(() => 'exited' as const),
        new Promise<'ok'>((r) => {
          setTimeout(() => {
            r('ok');
          }, o.serverWaitMs ?? 300);
        }),
      ]);
      if (waited === 'exited') {
        const e = await early;
        log(
          `server command exited early (${e.error ? e.error.message : `code ${String(e.code)}`}); running the client command anyway`,
        );
      }
    }
    o.signal?.throwIfAborted();
    const client = spawnIn(clientNs, o.command, { stdio: 'inherit', env });
    const onAbort = () => client.kill('SIGTERM');
    o.signal?.addEventListener('abort', onAbort);
    const result = await waitExit(client);
    o.signal?.removeEventListener('abort', onAbort);
    if (result.error) log(`cannot run ${o.command[0] ?? ''}: ${result.error.message}`);
    return exitCodeOf(result.code, result.signal);
  } finally {
    if (server) await stopChild(server, 2000);
    if (link) await link.down();
  }
}
