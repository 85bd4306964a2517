/**
 * The environment a run happened in, recorded in every result: versions, kernel,
 * git commit, and the host settings that can favour one protocol.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../../core/paths.js';
import type { Environment } from '../model/result.js';

const execFileP = promisify(execFile);

/** Sysctls that decide how TCP and UDP behave, read from /proc/sys (null if absent). */
export const RECORDED_SYSCTLS = [
  'net.ipv4.tcp_congestion_control',
  'net.ipv4.tcp_allowed_congestion_control',
  'net.ipv4.tcp_ecn',
  'net.ipv4.tcp_no_metrics_save',
  'net.ipv4.tcp_slow_start_after_idle',
  'net.ipv4.tcp_rmem',
  'net.ipv4.tcp_wmem',
  'net.core.rmem_max',
  'net.core.wmem_max',
  'net.core.default_qdisc',
] as const;

export function readSysctl(name: string): string | null {
  try {
    return readFileSync(path.join('/proc/sys', ...name.split('.')), 'utf8')
      .trim()
      .replace(/\s+/g, ' ');
  } catch {
    return null;
  }
}

export function readSysctls(names: readonly string[] = RECORDED_SYSCTLS): Record<string, string | null> {
  return Object.fromEntries(names.map((n) => [n, readSysctl(n)]));
}

async function gitCommit(): Promise<string | null> {
  try {
    const { stdout } = await execFileP('git', ['rev-parse', 'HEAD'], { cwd: projectRoot() });
    const dirty = await execFileP('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: projectRoot(),
    });
    return stdout.trim() + (dirty.stdout.trim() ? '-dirty' : '');
  } catch {
    return null;
  }
}

function packageVersion(name: string): string | null {
  try {
    const pkg = JSON.parse(
      readFileSync(path.join(projectRoot(), 'node_modules', name, 'package.json'), 'utf8'),
    ) as { version?: string };
    return pkg.version ?? null;
  } catch {
    return null;
  }
}

export async function captureEnvironment(): Promise<Environment> {
  return {
    node: process.version,
    kernel: os.release(),
    platform: `${os.platform()} ${os.arch()}`,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? null,
    memoryBytes: os.totalmem(),
    gitCommit: await gitCommit(),
    quicheBinding: packageVersion('@matrixai/quic-linux-x64'),
    hostSysctls: readSysctls(),
  };
}
