/**
 * The orchestrator's side of its child processes (protocol servers and clients), shared by the
 * runner and bench/engines.ts: a server's event lines as a validated queue, waiting for a process to
 * exit with a deadline, and reading a client's report. Whatever a child sends is checked against the
 * schemas in harness/model/messages.ts; anything else is a RunError naming the process and the
 * problem.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { z } from 'zod';
import { RunError } from '../../core/errors.js';
import {
  asClientReport,
  asServerEvent,
  clientMessageSchema,
  serverEventSchema,
  type ClientReport,
  type ServerEvent,
} from '../model/messages.js';

/** The last `max` characters of a child's stderr, kept as it arrives. */
export function stderrTail(child: ChildProcess, max = 4000): () => string {
  let tail = '';
  child.stderr?.on('data', (d: Buffer) => {
    tail = (tail + d.toString()).slice(-max);
  });
  return () => tail;
}

/** The last lines of a stderr tail on one line, for messages. */
export function lastLines(text: string, n = 3): string {
  return text.trim().split('\n').slice(-n).join(' | ');
}

function describeIssues(error: z.ZodError, max = 3): string {
  const issues = error.issues
    .slice(0, max)
    .map((i) => `${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`);
  return issues.join('; ') + (error.issues.length > max ? ` (and ${error.issues.length - max} more)` : '');
}

function shorten(line: string, max = 120): string {
  return line.length > max ? `${line.slice(0, max - 3)}...` : line;
}

/**
 * Parse one stdout line of a server. Lines that do not start with "{" are not events (stray output
 * of a library) and give null; a line that does must be a valid ServerEvent, or this throws a
 * RunError naming `name`.
 */
export function parseServerEvent(line: string, name = 'server'): ServerEvent | null {
  const text = line.trim();
  if (!text.startsWith('{')) return null;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new RunError(
      `${name} sent an event line that is not JSON (${(err as Error).message}): ${shorten(text)}`,
    );
  }
  const parsed = serverEventSchema.safeParse(json);
  if (!parsed.success) {
    throw new RunError(
      `${name} sent an invalid event line (${describeIssues(parsed.error)}): ${shorten(text)}`,
    );
  }
  return asServerEvent(parsed.data);
}

export interface ServerEvents {
  /** The next event; rejects when the process exits first, sends an invalid line, or after `timeoutMs`. */
  next(timeoutMs: number): Promise<ServerEvent>;
}

/** A server's stdout event lines as an async queue of validated events. */
export function serverEvents(child: ChildProcess, name = 'server'): ServerEvents {
  const queue: (ServerEvent | Error)[] = [];
  const waiters: ((ev: ServerEvent | Error) => void)[] = [];
  let ended: Error | null = null;
  const stderr = stderrTail(child);
  const push = (ev: ServerEvent | Error) => {
    const w = waiters.shift();
    if (w) w(ev);
    else queue.push(ev);
  };
  if (child.stdout) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const ev = parseServerEvent(line, name);
        if (ev !== null) push(ev);
      } catch (err) {
        push(err as Error);
      }
    });
  }
  child.once('exit', (code, sig) => {
    const tail = stderr();
    ended = new RunError(
      `${name} exited (${sig ?? `code ${String(code)}`})${tail ? `: ${lastLines(tail)}` : ''}`,
    );
    // Let pending stdout lines arrive first.
    setImmediate(() => {
      while (waiters.length) waiters.shift()?.(ended as Error);
    });
  });
  return {
    next: (timeoutMs) =>
      new Promise((resolve, reject) => {
        const ev = queue.shift();
        if (ev) {
          if (ev instanceof Error) reject(ev);
          else resolve(ev);
          return;
        }
        if (ended) {
          reject(ended);
          return;
        }
        const timer = setTimeout(() => {
          const i = waiters.indexOf(cb);
          if (i >= 0) waiters.splice(i, 1);
          reject(new RunError(`${name} did not answer within ${timeoutMs} ms`));
        }, timeoutMs);
        const cb = (v: ServerEvent | Error) => {
          clearTimeout(timer);
          if (v instanceof Error) reject(v);
          else resolve(v);
        };
        waiters.push(cb);
      }),
  };
}

/** True while a child has not exited (a child killed by a signal keeps exitCode null). */
export function running(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/**
 * Wait for a child to exit; SIGKILL it after `timeoutMs`. Resolves with its exit code (null when
 * killed by a signal), the signal, and the tail of its stderr.
 */
export function waitExit(
  child: ChildProcess,
  timeoutMs: number,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  const stderr = stderrTail(child);
  return new Promise((resolve) => {
    let killed = '';
    const done = () => {
      clearTimeout(timer);
      resolve({ code: child.exitCode, signal: child.signalCode, stderr: stderr() + killed });
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      killed = `\nkilled after ${timeoutMs} ms`;
    }, timeoutMs);
    if (!running(child)) done();
    else child.once('exit', done);
  });
}

/** SIGKILL a child if it still runs and wait until it has exited. */
export async function killAndWait(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || !running(child)) return;
  const exited = once(child, 'exit').catch(() => undefined);
  child.kill('SIGKILL');
  await exited;
}

/** Read and validate a client's report file; a RunError names the client and the problem. */
export async function readClientReport(file: string, name = 'client'): Promise<ClientReport> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new RunError(`${name} exited 0 but its report ${file} cannot be read: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new RunError(`${name} wrote a report that is not JSON (${(err as Error).message})`);
  }
  const parsed = clientMessageSchema.safeParse(json);
  if (!parsed.success) {
    throw new RunError(`${name} wrote an invalid report: ${describeIssues(parsed.error)}`);
  }
  return asClientReport(parsed.data);
}
