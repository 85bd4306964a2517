/** Watching a child process to its end, for the helpers the harness starts (linkem, tcpstat). */
import type { ChildProcess } from 'node:child_process';

/** How a child process ended: exit status, or the signal that killed it (both null: never started). */
export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ExitWatch {
  /** Settles once the child has exited and its output is closed, or could not be started. */
  exited: Promise<ChildExit>;
  /** "could not start (...)", "was killed by SIGKILL" or "exited with status 1". */
  describe: (e: ChildExit) => string;
}

/** Watch `child` to its end; it leaves `live` (the caller's set of running children) then. */
export function watchExit(child: ChildProcess, live?: Set<ChildProcess>): ExitWatch {
  let spawnError: Error | null = null;
  const exited = new Promise<ChildExit>((resolve) => {
    child.once('error', (err) => {
      spawnError = err;
      live?.delete(child);
      resolve({ code: null, signal: null });
    });
    child.once('close', (code, signal) => {
      live?.delete(child);
      resolve({ code, signal });
    });
  });
  const describe = (e: ChildExit): string =>
    spawnError !== null
      ? `could not start (${spawnError.message})`
      : e.signal !== null
        ? `was killed by ${e.signal}`
        : `exited with status ${e.code ?? '?'}`;
  return { exited, describe };
}
