/**
 * A minimal Chrome DevTools Protocol client over `--remote-debugging-pipe`: the browser reads
 * commands from its fd 3 and writes responses and events to its fd 4, each message one JSON object
 * followed by a NUL byte (Chromium content/browser/devtools/devtools_pipe_handler.cc). Commands carry
 * an `id` the response repeats; events carry a `method` and no id; with flattened sessions
 * (`Target.attachToTarget {flatten: true}`) both carry the `sessionId` of the page they concern.
 *
 * `ChromiumProcess.launch` starts a browser on a fresh profile directory and `close()` always ends
 * it (politely with `Browser.close`, then SIGKILL) and removes the directory; an exit hook does the
 * same synchronously if this process exits first. A browser whose pipe closes (this process killed
 * with SIGKILL) exits by itself: its DevTools pipe handler closes the browser on disconnect.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';

/** Why a CDP call failed: the browser exited, no answer in time, the browser refused, or we closed. */
export type CdpErrorKind = 'exited' | 'timeout' | 'protocol' | 'closed';

export class CdpError extends Error {
  readonly kind: CdpErrorKind;
  constructor(kind: CdpErrorKind, message: string) {
    super(message);
    this.name = 'CdpError';
    this.kind = kind;
  }
}

/** Splits a byte stream into NUL-terminated messages; a message may span chunks. */
export class NulFramer {
  private pending: Buffer[] = [];

  /** The complete messages `chunk` ends (UTF-8 decoded once whole, so no character is split). */
  push(chunk: Buffer): string[] {
    const out: string[] = [];
    let start = 0;
    for (let i = chunk.indexOf(0, start); i >= 0; i = chunk.indexOf(0, start)) {
      this.pending.push(chunk.subarray(start, i));
      out.push(Buffer.concat(this.pending).toString('utf8'));
      this.pending = [];
      start = i + 1;
    }
    if (start < chunk.length) this.pending.push(chunk.subarray(start));
    return out;
  }

  /** Bytes received after the last NUL. */
  get buffered(): number {
    return this.pending.reduce((n, b) => n + b.length, 0);
  }
}

/** One event: its method, its parameters, and the session (page) it came from, if any. */
export interface CdpEvent {
  method: string;
  params: Record<string, unknown>;
  sessionId?: string;
}

export interface SendOptions {
  /** The flattened session of a page target; none = the browser target. */
  sessionId?: string;
  /** Reject with a `timeout` CdpError after this long (default: the client's). */
  timeoutMs?: number;
}

interface Pending {
  method: string;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** Commands and events over a pair of streams (the browser's fd 3 and fd 4, or fakes in tests). */
export class CdpClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Set<(e: CdpEvent) => void>();
  private readonly waiters = new Set<(err: CdpError) => void>();
  private failure: CdpError | null = null;
  private readonly framer = new NulFramer();

  /**
   * `onPipeClosed`, when given, is told instead of the client failing at once when the pipe closes
   * or breaks (its owner then fails it with a better reason, such as the browser's exit status).
   */
  constructor(
    private readonly toBrowser: Writable,
    fromBrowser: Readable,
    private readonly defaultTimeoutMs = 30_000,
    onPipeClosed?: (why: string) => void,
  ) {
    const closed = (why: string) => {
      if (onPipeClosed !== undefined) onPipeClosed(why);
      else this.fail(new CdpError('exited', why));
    };
    fromBrowser.on('data', (chunk: Buffer) => {
      for (const text of this.framer.push(chunk)) this.dispatch(text);
    });
    fromBrowser.on('end', () => {
      closed('the browser closed its DevTools pipe');
    });
    fromBrowser.on('error', (err) => {
      closed(`reading the DevTools pipe failed: ${err.message}`);
    });
    toBrowser.on('error', (err) => {
      closed(`writing the DevTools pipe failed: ${err.message}`);
    });
  }

  /** Sends a command; resolves with its `result`, rejects with a CdpError. */
  send<T = Record<string, unknown>>(
    method: string,
    params: Record<string, unknown> = {},
    opts: SendOptions = {},
  ): Promise<T> {
    if (this.failure !== null) return Promise.reject(this.failure);
    const id = this.nextId++;
    const timeoutMs = opts.timeoutMs ?? this.defaultTimeoutMs;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new CdpError('timeout', `${method}: no answer from the browser within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { method, resolve: resolve as (v: unknown) => void, reject, timer });
      const message = {
        id,
        method,
        params,
        ...(opts.sessionId !== undefined ? { sessionId: opts.sessionId } : {}),
      };
      this.toBrowser.write(`${JSON.stringify(message)}\0`);
    });
  }

  /** Calls `listener` for every event until the returned function is called. */
  onEvent(listener: (e: CdpEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * The first event `method` (of `sessionId`, when given) for which `match` holds; rejects on
   * timeout or when the client fails.
   */
  waitForEvent(
    method: string,
    timeoutMs: number,
    opts: { sessionId?: string; match?: (params: Record<string, unknown>) => boolean } = {},
  ): Promise<Record<string, unknown>> {
    if (this.failure !== null) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        off();
        this.waiters.delete(onFail);
      };
      const onFail = (err: CdpError) => {
        done();
        reject(err);
      };
      const timer = setTimeout(() => {
        done();
        reject(new CdpError('timeout', `no ${method} event within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.onEvent((e) => {
        if (e.method !== method) return;
        if (opts.sessionId !== undefined && e.sessionId !== opts.sessionId) return;
        if (opts.match !== undefined && !opts.match(e.params)) return;
        done();
        resolve(e.params);
      });
      this.waiters.add(onFail);
    });
  }

  /** The error that ended the client, or null while it works. */
  get error(): CdpError | null {
    return this.failure;
  }

  /** Ends the client: every pending command and waiter rejects with `err`, later sends too. */
  fail(err: CdpError): void {
    if (this.failure !== null) return;
    this.failure = err;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new CdpError(err.kind, `${p.method}: ${err.message}`));
    }
    this.pending.clear();
    for (const w of [...this.waiters]) w(err);
    this.waiters.clear();
  }

  private dispatch(text: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      this.fail(
        new CdpError('protocol', `the browser sent a message that is not JSON: ${text.slice(0, 120)}`),
      );
      return;
    }
    if (msg === null || typeof msg !== 'object') return;
    const m = msg as {
      id?: unknown;
      method?: unknown;
      params?: unknown;
      result?: unknown;
      error?: { code?: unknown; message?: unknown; data?: unknown };
      sessionId?: unknown;
    };
    if (typeof m.id === 'number') {
      const p = this.pending.get(m.id);
      if (p === undefined) return;
      this.pending.delete(m.id);
      clearTimeout(p.timer);
      if (m.error !== undefined) {
        const { message, code, data } = m.error;
        const text = typeof message === 'string' ? message : 'error';
        const num = typeof code === 'number' ? ` [${code}]` : '';
        const more = typeof data === 'string' ? ` (${data})` : '';
        p.reject(new CdpError('protocol', `${p.method}: ${text}${num}${more}`));
      } else {
        p.resolve(m.result ?? {});
      }
      return;
    }
    if (typeof m.method === 'string') {
      const event: CdpEvent = {
        method: m.method,
        params: (m.params ?? {}) as Record<string, unknown>,
        ...(typeof m.sessionId === 'string' ? { sessionId: m.sessionId } : {}),
      };
      for (const l of [...this.listeners]) l(event);
    }
  }
}

export interface LaunchOptions {
  /** The browser binary. */
  executable: string;
  /** Switches (without --user-data-dir and --remote-debugging-pipe, which launch adds). */
  args: string[];
  /** The URL the first tab opens (last on the command line), if any. */
  url?: string;
  /** Preferences of the profile, written to Default/Preferences before the browser starts. */
  preferences?: Record<string, unknown>;
  /** Environment of the browser (HOME and XDG dirs are pointed at the profile directory). */
  env?: Record<string, string>;
  /** Timeout of every command (default 30 s). */
  commandTimeoutMs?: number;
  /**
   * Directory the profile directory is made in (default: the system's temporary directory). One
   * that its owner removes anyway (a run's work directory) also catches the profile of a process
   * killed before it could remove it.
   */
  profileParent?: string;
}

/** Name prefix of every profile directory (mkdtemp). */
export const PROFILE_PREFIX = 'h3bench-chromium-';

/** How many of the browser's last stderr lines are kept for error messages. */
const STDERR_LINES = 30;

/** A running browser on its own profile directory, driven over its DevTools pipe. */
export class ChromiumProcess {
  readonly cdp: CdpClient;
  readonly profileDir: string;
  /** The full command line (binary first). */
  readonly argv: string[];
  private readonly child: ChildProcess;
  private readonly stderr: string[] = [];
  private readonly exitHook: () => void;
  private closing: Promise<void> | null = null;
  /** Settles when the browser process has exited (code or signal). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private hasExited = false;

  private constructor(opts: LaunchOptions) {
    this.profileDir = mkdtempSync(path.join(opts.profileParent ?? os.tmpdir(), PROFILE_PREFIX));
    const args = [
      ...opts.args,
      `--user-data-dir=${this.profileDir}`,
      '--remote-debugging-pipe',
      ...(opts.url !== undefined ? [opts.url] : []),
    ];
    this.argv = [opts.executable, ...args];
    // The profile directory is HOME as well, so nothing lands in the user's (NSS database, caches).
    const env = {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      ...opts.env,
      HOME: this.profileDir,
      XDG_CONFIG_HOME: path.join(this.profileDir, '.config'),
      XDG_CACHE_HOME: path.join(this.profileDir, '.cache'),
    };
    this.exitHook = () => {
      this.killTree();
      rmSync(this.profileDir, { recursive: true, force: true });
    };
    process.once('exit', this.exitHook);
    try {
      if (opts.preferences !== undefined) {
        mkdirSync(path.join(this.profileDir, 'Default'));
        writeFileSync(path.join(this.profileDir, 'Default', 'Preferences'), JSON.stringify(opts.preferences));
      }
      this.child = spawn(opts.executable, args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'], env });
    } catch (err) {
      this.removeExitHook();
      rmSync(this.profileDir, { recursive: true, force: true });
      throw err;
    }
    const toBrowser = this.child.stdio[3] as Writable;
    const fromBrowser = this.child.stdio[4] as Readable;
    // A closed pipe usually means the browser is exiting: its exit status (and last stderr lines)
    // make the better error, so the client fails on exit, or 1 s later if the browser stays.
    this.cdp = new CdpClient(toBrowser, fromBrowser, opts.commandTimeoutMs, (why) => {
      setTimeout(() => {
        this.cdp.fail(new CdpError('exited', `${why} (the browser is still running)`));
      }, 1000).unref();
    });
    const stderr = this.child.stderr;
    let partial = '';
    const stderrEnded = new Promise<void>((resolve) => {
      if (stderr === null) resolve();
      stderr?.once('end', resolve);
      stderr?.once('error', () => {
        resolve();
      });
    });
    stderr?.setEncoding('utf8');
    stderr?.on('data', (s: string) => {
      const lines = (partial + s).split('\n');
      partial = lines.pop() ?? '';
      this.stderr.push(...lines.filter((l) => l.trim() !== ''));
      if (this.stderr.length > STDERR_LINES) this.stderr.splice(0, this.stderr.length - STDERR_LINES);
    });
    this.exited = new Promise((resolve) => {
      this.child.once('error', (err) => {
        this.hasExited = true;
        this.cdp.fail(new CdpError('exited', `could not start ${opts.executable}: ${err.message}`));
        resolve({ code: null, signal: null });
      });
      this.child.once('exit', (code, signal) => {
        this.hasExited = true;
        const how = signal !== null ? `was killed by ${signal}` : `exited with status ${String(code)}`;
        // Its last words may still be in the pipe: wait for the end of stderr (children that
        // inherited it may hold it open: 200 ms at most).
        void Promise.race([stderrEnded, new Promise((r) => setTimeout(r, 200))]).then(() => {
          this.cdp.fail(new CdpError('exited', `the browser ${how}${this.stderrTail('; stderr: ')}`));
          resolve({ code, signal });
        });
      });
    });
  }

  /** Starts the browser; the DevTools pipe is usable at once (commands queue until it reads). */
  static launch(opts: LaunchOptions): ChromiumProcess {
    return new ChromiumProcess(opts);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The browser's last stderr lines, after `prefix`, or '' when it wrote none. */
  stderrTail(prefix = ''): string {
    return this.stderr.length === 0 ? '' : `${prefix}${this.stderr.slice(-8).join(' | ')}`;
  }

  /**
   * The browser's process and every process under it (zygotes, renderers, GPU, network service),
   * from /proc. Empty once it has exited.
   */
  processTree(): number[] {
    const root = this.child.pid;
    if (root === undefined || this.hasExited) return [];
    return descendants(root, readProcessTable());
  }

  /**
   * Ends the browser and removes its profile directory; idempotent, never throws. `Browser.close`
   * first (it lets the browser end its children), SIGKILL to whatever is left after `graceMs`.
   */
  close(graceMs = 3000): Promise<void> {
    this.closing ??= (async () => {
      if (!this.hasExited) {
        await Promise.race([
          this.cdp.send('Browser.close', {}, { timeoutMs: graceMs }).catch(() => undefined),
          this.exited,
        ]);
        const exitedInTime = await Promise.race([
          this.exited.then(() => true),
          new Promise<boolean>((r) => {
            setTimeout(() => {
              r(false);
            }, graceMs).unref();
          }),
        ]);
        if (!exitedInTime) this.killTree();
        await this.exited;
      }
      this.cdp.fail(new CdpError('closed', 'the browser was closed'));
      // Children that outlived the browser by a moment (they exit when its IPC channels close).
      await this.waitSurvivorsGone(2000);
      this.removeExitHook();
      rmSync(this.profileDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    })();
    return this.closing;
  }

  /**
   * Processes still running from this browser's profile: the --user-data-dir switch is on the
   * command line of the browser and of every child it starts. Zombies (exited, not yet reaped) are
   * not running.
   */
  survivors(): number[] {
    const marker = `--user-data-dir=${this.profileDir}`;
    const out: number[] = [];
    for (const p of readProcessTable().values()) {
      if (p.state !== 'Z' && p.cmdline?.includes(marker) === true) out.push(p.pid);
    }
    return out;
  }

  /** Waits until no survivor is left, SIGKILLs any still there after `timeoutMs`. */
  private async waitSurvivorsGone(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let left = this.survivors();
    while (left.length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      left = this.survivors();
    }
    for (const pid of left) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }

  /** SIGKILL to the browser and every process under it (or still running on its profile). */
  private killTree(): void {
    const pids = new Set([...this.processTree(), ...this.survivors()]);
    if (this.child.pid !== undefined && !this.hasExited) pids.add(this.child.pid);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }

  private removeExitHook(): void {
    process.removeListener('exit', this.exitHook);
  }
}

interface ProcEntry {
  pid: number;
  ppid: number;
  /** proc(5) state letter: R, S, D, Z (zombie)... */
  state: string;
  /** CPU ticks of the process and of its waited-for children (utime + stime, cutime + cstime). */
  userTicks: number;
  systemTicks: number;
  cmdline?: string;
}

/** /proc/<pid>/stat fields after the command name (proc(5)): state ppid ... utime stime cutime cstime. */
export function parseProcStat(text: string): Omit<ProcEntry, 'cmdline'> | null {
  const close = text.lastIndexOf(')');
  const pid = Number.parseInt(text, 10);
  if (close < 0 || !Number.isInteger(pid)) return null;
  const f = text.slice(close + 2).split(' ');
  // f[0] = state (field 3), so field n is f[n - 3].
  const num = (n: number) => Number(f[n - 3]);
  const [ppid, utime, stime, cutime, cstime] = [num(4), num(14), num(15), num(16), num(17)];
  if (![ppid, utime, stime, cutime, cstime].every(Number.isFinite)) return null;
  return { pid, ppid, state: f[0] ?? '?', userTicks: utime + cutime, systemTicks: stime + cstime };
}

/** Every process now: pid → its parent, CPU ticks and command line. */
export function readProcessTable(): Map<number, ProcEntry> {
  const table = new Map<number, ProcEntry>();
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return table;
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = parseProcStat(readFileSync(`/proc/${name}/stat`, 'utf8'));
      if (stat === null) continue;
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ');
      table.set(stat.pid, { ...stat, cmdline });
    } catch {
      /* exited while we looked */
    }
  }
  return table;
}

/** `root` and every process below it in `table`. */
export function descendants(root: number, table: Map<number, { ppid: number }>): number[] {
  const children = new Map<number, number[]>();
  for (const [pid, p] of table) (children.get(p.ppid) ?? children.set(p.ppid, []).get(p.ppid))?.push(pid);
  const out: number[] = [];
  const stack = table.has(root) ? [root] : [];
  while (stack.length > 0) {
    const pid = stack.pop() as number;
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}
