/**
 * The addresses of an emulated link, the same on both backends. Everything the harness addresses lives
 * in 198.18.0.0/15, the range RFC 2544 reserves for benchmarking (RFC 6890 lists it as not globally
 * reachable), so no real host can answer.
 */

/** The client end of the link. */
export const CLIENT_ADDRESS = '198.18.0.1';
/** The server end of the link. */
export const SERVER_ADDRESS = '198.18.0.2';
/** The benchmarking range every address comes from. */
export const BENCH_PREFIX = '198.18.0.0/15';

/** Whether an IPv4 address is inside 198.18.0.0/15 (BENCH_PREFIX). */
export function isBenchmarkAddress(ip: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (m === null) return false;
  const octets = m.slice(1).map(Number);
  return octets.every((o) => o <= 255) && octets[0] === 198 && (octets[1] === 18 || octets[1] === 19);
}
