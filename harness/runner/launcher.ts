/**
 * The one place child processes (servers, clients) are started. Compiled JS runs directly (no
 * transpile per start). A namespace, when given, is entered with `ip netns exec NAME` — argv arrays
 * only, never a shell. Every child is tracked and killed if the orchestrator exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { distPath } from '../../core/paths.js';

const NETNS_RE = /^h3b-[a-z0-9-]{1,40}$/;
const live = new Set<ChildProcess>();

export interface LaunchSpec {
  /** Compiled module under dist/, e.g. "harness/runner/server-main.js". */
  module: string;
  args: string[];
  /** Network namespace to run in, or null for the current one. */
  netns: string | null;
  /** Whether the parent reads the child's stdout (servers report on it; clients write a file). */
  stdout?: 'pipe' | 'ignore';
  /** Extra environment (merged over a minimal one). */
  env?: Record<string, string>;
}

/** Build the argv for a spec (pure; exported for tests). */
export function launchArgv(spec: LaunchSpec, nodePath = process.execPath): string[] {
  const base = [nodePath, distPath(spec.module), ...spec.args];
  if (spec.netns === null) return base;
  if (!NETNS_RE.test(spec.netns))
    throw new Error(`refusing to enter namespace with unexpected name "${spec.netns}"`);
  return ['ip', 'netns', 'exec', spec.netns, ...base];
}

export function launch(spec: LaunchSpec): ChildProcess {
  const [cmd, ...args] = launchArgv(spec);
  if (cmd === undefined) throw new Error('empty argv');
  const child = spawn(cmd, args, {
    // An unread stdout pipe fills at 64 KB and blocks the child: ignore it when nobody reads it.
    stdio: ['pipe', spec.stdout ?? 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', NODE_ENV: 'production', ...spec.env },
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** Kill every child still running (used on SIGINT/SIGTERM and at exit). */
export function killAll(signal: NodeJS.Signals = 'SIGKILL'): void {
  for (const c of live) c.kill(signal);
}

process.once('exit', () => {
  killAll();
});
