import type { CpuUsage } from '../model/records.js';

/** CPU used by this process since `start` (from process.cpuUsage()). */
export function cpuSince(start: NodeJS.CpuUsage, wallStartMs: number): CpuUsage {
  const d = process.cpuUsage(start);
  return { userMs: d.user / 1000, systemMs: d.system / 1000, wallMs: performance.now() - wallStartMs };
}
