/**
 * The driver's pacer. quiche's release times (`SendInfo.at`) are opaque to JS, so when
 * `transport.pacing` is on the driver paces: a token bucket refilled at 1.25 × cwnd / srtt (read
 * from quiche's path stats), bursts of at most max(10 packets, 1 ms at that rate), the way Linux
 * TCP sizes TSO bursts to ~1 ms of data. RFC 9002 §7.7 describes pacing at a rate derived from
 * cwnd and smoothed_rtt, with N > 1 so that a slow start can still grow.
 *
 * Pure: no clock and no timer of its own. Every method that depends on time takes `now` (ms on a
 * monotonic clock: `performance.now()` in the driver), as aioquic's `QuicPacketPacer` takes it
 * (`next_send_time(now)`); the connection arms the timer for the wait the pacer asks for. cwnd and
 * srtt come from the `readEstimate` function the pacer is given.
 *
 * How the connection uses it, per flush: `refill(now)`; while `hasTokens()` (or `refresh(now)`
 * finds some) send a packet and `spend(bytes)`; when out of tokens, wait `wait(now)` ms.
 */
import type { PathEstimate } from './binding.js';
import type { JsonObject } from '../../../core/json.js';

/** Pacing mode recorded in results. */
export type PacingMode = 'driver' | 'none';

/** Smallest burst, packets. */
export const PACING_MIN_BURST_PACKETS = 10;
/** A burst covers at most this much time at the pacing rate, ms. */
export const PACING_BURST_MS = 1;
/** Pacing rate = gain × cwnd / srtt. */
export const PACING_GAIN = 1.25;
/** Timer lateness (beyond its due time) credited to the next burst, at most, ms. */
export const PACING_MAX_LATENESS_MS = 1;
/** How often cwnd and srtt are re-read from quiche, ms. */
export const PACING_ESTIMATE_INTERVAL_MS = 2;
/** Bounds of one wait for tokens, ms (setTimeout's resolution is 1 ms). */
const PACING_MIN_WAIT_MS = 1;
const PACING_MAX_WAIT_MS = 100;

/** How the pacer works, as recorded in results. */
export function pacingSettings(mode: PacingMode): JsonObject {
  return mode === 'driver'
    ? {
        mode: 'driver',
        rate: `${PACING_GAIN} × cwnd / max(srtt, 1 ms)`,
        burst: `max(${PACING_MIN_BURST_PACKETS} packets, ${PACING_BURST_MS} ms at the pacing rate) + timer lateness up to ${PACING_MAX_LATENESS_MS} ms`,
        timer: 'setTimeout, >= 1 ms',
        estimateIntervalMs: PACING_ESTIMATE_INTERVAL_MS,
        quichePacing: false,
      }
    : { mode: 'none', quichePacing: false };
}

/** A token bucket in bytes, refilled at the pacing rate. */
export class Pacer {
  private tokens: number;
  /** Pacing rate, bytes/ms; 0 until cwnd and srtt were first read (the first burst is free). */
  private rate = 0;
  private burstBytes: number;
  private readonly minBurstBytes: number;
  private lastRefill = 0;
  private lastEstimate = -Infinity;
  /** When the current wait ends (the `now` of `wait` plus its result), to credit lateness; 0 if none. */
  private waitDue = 0;
  private readonly readEstimate: (out: PathEstimate) => boolean;
  private readonly estimate: PathEstimate = { srttMs: 0, cwndBytes: 0, deliveryRateBytesPerSec: 0 };

  /**
   * @param maxPacketBytes largest packet (the smallest burst is 10 of them)
   * @param readEstimate fills in cwnd and srtt (quiche's active path); false when unavailable
   */
  constructor(maxPacketBytes: number, readEstimate: (out: PathEstimate) => boolean) {
    this.minBurstBytes = PACING_MIN_BURST_PACKETS * maxPacketBytes;
    this.burstBytes = this.minBurstBytes;
    this.tokens = this.burstBytes;
    this.readEstimate = readEstimate;
  }

  /** Pacing rate, bytes/ms (0 before the first estimate). */
  get rateBytesPerMs(): number {
    return this.rate;
  }

  /** Largest burst, bytes (without lateness credit). */
  get burst(): number {
    return this.burstBytes;
  }

  /** Add the tokens earned since the last refill (the bucket holds one burst, plus timer lateness). */
  refill(now: number): void {
    const elapsed = now - this.lastRefill;
    this.lastRefill = now;
    // A pacing timer that fired late may spend what it missed (up to PACING_MAX_LATENESS_MS more).
    const lateMs = this.waitDue > 0 ? Math.min(Math.max(now - this.waitDue, 0), PACING_MAX_LATENESS_MS) : 0;
    this.waitDue = 0;
    this.tokens = Math.min(this.burstBytes + lateMs * this.rate, this.tokens + elapsed * this.rate);
  }

  /** True if a packet may go out now. */
  hasTokens(): boolean {
    return this.tokens > 0;
  }

  /** A packet of `bytes` went out; returns true while tokens remain (the last packet may overdraw). */
  spend(bytes: number): boolean {
    this.tokens -= bytes;
    return this.tokens > 0;
  }

  /**
   * The bucket is empty: re-read cwnd and srtt (if older than PACING_ESTIMATE_INTERVAL_MS) and
   * refill at the new rate. Returns true if sending may go on, false if the sender must `wait`.
   * Senders of little (ACKs) never get here, so they never pay for reading the estimate.
   */
  refresh(now: number): boolean {
    if (now - this.lastEstimate < PACING_ESTIMATE_INTERVAL_MS) return false;
    this.lastEstimate = now;
    if (!this.readEstimate(this.estimate)) return false;
    // srtt has whole-ms resolution; below 1 ms it reads 0 and the path is not worth pacing.
    const srtt = Math.max(this.estimate.srttMs, 1);
    this.rate = (PACING_GAIN * this.estimate.cwndBytes) / srtt;
    this.burstBytes = Math.max(this.minBurstBytes, this.rate * PACING_BURST_MS);
    this.refill(now);
    return this.tokens > 0;
  }

  /**
   * Out of tokens: how long to wait before the next burst, ms (whole, 1 to 100; 1 before the rate
   * is known). Remembers when the wait ends, so that a timer firing late is credited (see refill).
   */
  wait(now: number): number {
    const waitMs =
      this.rate > 0
        ? Math.min(Math.max(PACING_MIN_WAIT_MS, Math.ceil((1 - this.tokens) / this.rate)), PACING_MAX_WAIT_MS)
        : PACING_MIN_WAIT_MS;
    this.waitDue = now + waitMs;
    return waitMs;
  }
}
