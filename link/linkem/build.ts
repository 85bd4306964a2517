/**
 * Where linkem's C sources and binaries are (this directory: src/, Makefile, build/), building them on
 * first use when missing or stale, and linkem's version read from the sources.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { EnvironmentError } from '../../core/errors.js';
import { projectRoot } from '../../core/paths.js';
import { run } from '../netns.js';
import { LinkemError } from './error.js';

/** Directory of the C sources and their Makefile. */
export function linkemSourceDir(): string {
  return path.join(projectRoot(), 'link', 'linkem');
}

/** The emulator binary. */
export function linkemBinary(): string {
  return path.join(linkemSourceDir(), 'build', 'linkem');
}

/** The tcp_info sampler (src/tcpstat.c; driven by harness/runner/tcp-telemetry.ts). */
export function tcpstatBinary(): string {
  return path.join(linkemSourceDir(), 'build', 'tcpstat');
}

/** The measuring tool (UDP echo, RTT, blast, sink) used by the probes below. */
export function linkemProbeBinary(): string {
  return path.join(linkemSourceDir(), 'build', 'linkem-probe');
}

async function mtimeMs(file: string): Promise<number | null> {
  try {
    return (await stat(file)).mtimeMs;
  } catch {
    return null;
  }
}

/** Whether a binary is missing or older than any source file or the Makefile. */
async function isStale(binary: string): Promise<boolean> {
  const built = await mtimeMs(binary);
  if (built === null) return true;
  const dir = linkemSourceDir();
  const sources = (await readdir(path.join(dir, 'src'))).map((f) => path.join(dir, 'src', f));
  for (const f of [...sources, path.join(dir, 'Makefile')]) {
    const m = await mtimeMs(f);
    if (m !== null && m > built) return true;
  }
  return false;
}

/** Throws an EnvironmentError naming what to install when there is no `make` or no C compiler. */
async function requireToolchain(what: string): Promise<void> {
  for (const [tool, pkg] of [
    ['make', 'make'],
    ['cc', 'a C compiler (gcc or clang)'],
  ] as const) {
    try {
      await run([tool, '--version'], { timeoutMs: 10_000 });
    } catch (err) {
      throw new EnvironmentError(
        `Cannot build ${what}: \`${tool}\` is not available; install ${pkg} (Debian/Ubuntu: apt-get install build-essential)`,
        { cause: err },
      );
    }
  }
}

/**
 * Build tcpstat alone (`make -C link/linkem build/tcpstat`) when it is missing or older than its
 * sources; `make -C link/linkem` (set-up, buildLinkemIfNeeded) builds it with the rest.
 */
export async function buildTcpstatIfNeeded(): Promise<{ binary: string; built: boolean }> {
  const binary = tcpstatBinary();
  if (!(await isStale(binary))) return { binary, built: false };
  await requireToolchain('tcpstat');
  try {
    await run(['make', '-C', linkemSourceDir(), 'build/tcpstat'], { timeoutMs: 120_000 });
  } catch (err) {
    throw new LinkemError(`Cannot build tcpstat with make -C ${linkemSourceDir()} build/tcpstat`, {
      cause: err,
    });
  }
  return { binary, built: true };
}

/**
 * Build linkem and linkem-probe with the system C compiler (`make -C link/linkem`) when a binary is
 * missing or older than its sources. Throws an EnvironmentError naming what to install when there is
 * no `make` or no C compiler.
 */
export async function buildLinkemIfNeeded(): Promise<{ binary: string; probe: string; built: boolean }> {
  const binary = linkemBinary();
  const probe = linkemProbeBinary();
  if (!(await isStale(binary)) && !(await isStale(probe))) return { binary, probe, built: false };
  await requireToolchain('linkem');
  try {
    await run(['make', '-C', linkemSourceDir()], { timeoutMs: 120_000 });
  } catch (err) {
    throw new LinkemError(`Cannot build linkem with make -C ${linkemSourceDir()}`, { cause: err });
  }
  return { binary, probe, built: true };
}
