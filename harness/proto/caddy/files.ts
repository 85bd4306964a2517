/**
 * Caddy's private directory: created per server under the system temp directory with the owner's
 * pid in its name, filled with the run's files, removed on close; the directories of servers whose
 * process died without closing (killed with SIGKILL) are removed by the next one that starts.
 */
import { mkdir, mkdtemp, open, readdir, rm, statfs } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BODY_CHUNK_BYTES } from '../handler.js';
import { checkFiles, filePathOf, type ServedFile } from './config.js';

/** Prefix of every Caddy directory: `h3bench-caddy-<pid>-XXXXXX`. */
export const DIR_PREFIX = 'h3bench-caddy-';
const DIR_RE = /^h3bench-caddy-(\d+)-[A-Za-z0-9]{6}$/;
/** Bytes gathered per write. */
const WRITE_BYTES = 1 << 20;
/** Free space left over after writing the files. */
const SPARE_BYTES = 64 << 20;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, owned by someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Remove the Caddy directories (under `root`) of processes that are gone; returns what was removed. */
export async function sweepStaleDirs(root = os.tmpdir()): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(root).catch(() => [])) {
    const m = DIR_RE.exec(name);
    if (m === null || alive(Number(m[1]))) continue;
    const dir = path.join(root, name);
    await rm(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}

/** A new private directory for one Caddy instance (mode 0700). */
export function makeDir(root = os.tmpdir()): Promise<string> {
  return mkdtemp(path.join(root, `${DIR_PREFIX}${process.pid}-`));
}

/**
 * Write every file under `www`, byte for byte what h3bench's handler serves, after checking that
 * the file system has room for them.
 */
export async function writeServedFiles(www: string, files: readonly ServedFile[]): Promise<void> {
  checkFiles(files);
  const total = files.reduce((a, f) => a + f.size, 0);
  const fs = await statfs(www);
  const free = fs.bavail * fs.bsize;
  if (total + SPARE_BYTES > free) {
    throw new Error(
      `not enough space in ${www} for the files Caddy serves: ${total} bytes needed, ${free} available`,
    );
  }
  for (const f of files) {
    const file = filePathOf(www, f.path);
    await mkdir(path.dirname(file), { recursive: true });
    const fh = await open(file, 'wx', 0o644);
    try {
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      for (let off = 0; off < f.size; off += BODY_CHUNK_BYTES) {
        const len = Math.min(BODY_CHUNK_BYTES, f.size - off);
        const chunk = f.chunk(off, len);
        if (chunk.length !== len)
          throw new Error(`${f.path}: chunk at ${off} is ${chunk.length} bytes, not ${len}`);
        pending.push(chunk);
        pendingBytes += len;
        if (pendingBytes >= WRITE_BYTES) {
          await writeAll(fh, pending);
          pending = [];
          pendingBytes = 0;
        }
      }
      await writeAll(fh, pending);
    } finally {
      await fh.close();
    }
  }
}

async function writeAll(fh: Awaited<ReturnType<typeof open>>, bufs: Buffer[]): Promise<void> {
  let left = bufs;
  while (left.length > 0) {
    const { bytesWritten } = await fh.writev(left);
    // A short write: drop what was written, keep the rest.
    let n = bytesWritten;
    const rest: Buffer[] = [];
    for (const b of left) {
      if (n >= b.length) n -= b.length;
      else {
        rest.push(b.subarray(n));
        n = 0;
      }
    }
    left = rest;
  }
}
