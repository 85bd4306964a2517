/**
 * How quiche 0.18 (the binding's engine) dates the packets it sends, with its pacing off as the
 * driver configures it (`quichePacing: false`): not with the time of `send()` but with its pacer's
 * `next_time`, which then moves only when the pacer resets. quiche 0.18.0 src/recovery/mod.rs,
 * `Recovery::on_packet_sent`: `pkt.time_sent = self.get_packet_send_time()` (the pacer's
 * `next_time()`), after `schedule_next_packet` handed the pacer 0 bytes because pacing is off; in
 * src/recovery/pacer.rs, `Pacer::send` with 0 bytes never fills the bucket, so `next_time` only
 * catches up with the clock in `Pacer::reset`, when more than `capacity / rate` passed since the
 * last reset (capacity = send_quantum, the initial window of 10 packets with CUBIC; rate =
 * 1.25 × cwnd / srtt). Every packet sent within that interval carries the time of the reset.
 *
 * What follows (RFC 9002 §5.1: an RTT sample is the time from sending the largest newly acked
 * packet to its ACK; §7.3.2: a recovery period ends when a packet sent after its start is acked):
 * - the RTT samples grow with how long ago the pacer reset, so the smoothed RTT depends on how
 *   closely packets follow each other, not only on the path;
 * - with cwnd below 8 packets (after two loss responses: 14720 → 10304 → 7212 bytes) the interval
 *   (1.63 × srtt) outgrows the RTT, each inflated sample lengthens it, the pacer stops resetting and
 *   every packet keeps one date: srtt grows by about 1 ms per ms, and since all packets look sent
 *   before the recovery period began, cwnd never grows again. That is the stall seen in
 *   page-load-browser over lossy-mobile (server srtt to seconds with cwnd pinned at 7212 bytes).
 *
 * No driver in the loop: two quiche connections joined by a JavaScript link with a fixed delay,
 * the server writing a little data on a timer, both sides sending as soon as anything arrives.
 * These tests pin the engine's behaviour the driver has to live with; if the binding starts dating
 * packets by the clock, they fail.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { QuicConfig, QuicConnection, type QuicConfigOptions } from '../../../harness/proto/quic/binding.js';
import { SERVER_NAME, generateTlsMaterial } from '../../../harness/proto/tls.js';

const tls = generateTlsMaterial();
const base: Omit<QuicConfigOptions, 'role'> = {
  alpn: ['h3'],
  idleTimeoutMs: 30_000,
  maxUdpPayloadBytes: 1472,
  connectionWindowBytes: 100_000_000,
  streamWindowBytes: 100_000_000,
  maxStreamsBidi: 10,
  maxStreamsUni: 3,
  congestion: 'cubic',
  hystart: true,
  quichePacing: false,
  maxAckDelayMs: 25,
};
const cl = { host: '10.0.0.1', port: 1111 };
const sv = { host: '10.0.0.2', port: 2222 };

interface LinkOptions {
  /** One-way delay of the link, ms (RTT = 2 ×). */
  oneWayMs: number;
  /** The server writes `bytes` on stream 0 every `periodMs`, once the client's request arrived. */
  periodMs: number;
  bytes: number;
  /** Server datagrams (0-based, in sending order) the link drops. */
  drop?: readonly number[];
  /** quiche's own pacing flag on the server (its release times are still ignored: sent at once). */
  serverQuichePacing?: boolean;
}

/** A client and a server connection over a delayed in-memory link; the server's srtt and cwnd sampled. */
class DelayedPair {
  readonly client: QuicConnection;
  readonly server: QuicConnection;
  /** [ms since start, server srtt ms, server cwnd bytes], every 50 ms. */
  readonly samples: [number, number, number][] = [];
  private readonly o: LinkOptions;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly quicTimer = new Map<QuicConnection, NodeJS.Timeout>();
  private readonly buf = new Uint8Array(1500);
  private readonly readBuf = new Uint8Array(65_536);
  private serverDatagrams = 0;
  private requested = false;
  private serving = false;
  private stopped = false;
  private readonly t0 = performance.now();

  constructor(o: LinkOptions) {
    this.o = o;
    this.client = QuicConnection.connect(
      SERVER_NAME,
      randomBytes(20),
      cl,
      sv,
      new QuicConfig({ ...base, role: 'client', caPem: tls.caPem }),
    );
    this.server = QuicConnection.accept(
      randomBytes(20),
      null,
      sv,
      cl,
      new QuicConfig({
        ...base,
        role: 'server',
        certPem: tls.certPem,
        keyPem: tls.keyPem,
        quichePacing: o.serverQuichePacing ?? false,
      }),
    );
    this.every(o.periodMs, () => {
      if (!this.serving) return;
      this.server.streamSend(0, new Uint8Array(o.bytes), false);
      this.flush(this.server);
    });
    this.every(50, () => {
      const s = this.server.stats();
      this.samples.push([performance.now() - this.t0, s.srttMs ?? NaN, s.cwndBytes ?? NaN]);
    });
    this.flush(this.client);
  }

  /** Samples taken at or after `fromMs`. */
  after(fromMs: number): [number, number, number][] {
    return this.samples.filter(([t]) => t >= fromMs);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    for (const t of this.quicTimer.values()) clearTimeout(t);
    this.timers.clear();
  }

  private every(ms: number, f: () => void): void {
    const t = setInterval(f, ms);
    this.timers.add(t);
  }

  private later(ms: number, f: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.stopped) f();
    }, ms);
    this.timers.add(t);
  }

  private flush(c: QuicConnection): void {
    const isServer = c === this.server;
    if (!isServer && c.isEstablished() && !this.requested) {
      c.streamSend(0, new TextEncoder().encode('go'), true);
      this.requested = true;
    }
    if (!isServer && c.streamReadable(0)) while (c.streamRecv(0, this.readBuf) !== null);
    if (isServer && c.isEstablished() && c.streamReadable(0)) {
      while (c.streamRecv(0, this.readBuf) !== null);
      this.serving = true;
    }
    for (let n = c.send(this.buf); n > 0; n = c.send(this.buf)) {
      const dg = this.buf.slice(0, n);
      if (isServer) {
        const i = this.serverDatagrams++;
        if (this.o.drop?.includes(i) === true) continue;
        this.later(this.o.oneWayMs, () => {
          this.deliver(this.client, dg, { from: sv, to: cl });
        });
      } else {
        this.later(this.o.oneWayMs, () => {
          this.deliver(this.server, dg, { from: cl, to: sv });
        });
      }
    }
    const prev = this.quicTimer.get(c);
    if (prev !== undefined) clearTimeout(prev);
    const ms = c.timeout();
    if (ms !== null && !this.stopped) {
      this.quicTimer.set(
        c,
        setTimeout(() => {
          c.onTimeout();
          if (!this.stopped) this.flush(c);
        }, ms),
      );
    }
  }

  private deliver(c: QuicConnection, dg: Uint8Array, info: { from: typeof cl; to: typeof sv }): void {
    try {
      c.recv(dg, info);
    } catch {
      /* nothing here is malformed; a rejected datagram would only lower the counts */
    }
    this.flush(c);
  }
}

const pairs: DelayedPair[] = [];
afterEach(() => {
  for (const p of pairs.splice(0)) p.stop();
});

function start(o: LinkOptions): DelayedPair {
  const p = new DelayedPair(o);
  pairs.push(p);
  return p;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('quiche 0.18 dates sent packets by its pacer, not by the clock (pacing off)', () => {
  it('the same 50 ms path reads ~50 ms when packets are 100 ms apart and far more when 10 ms apart', async () => {
    // Pacer interval here: 10 packets / (1.25 × 10 packets / srtt) = 0.8 × srtt ≈ 40 ms.
    const dense = start({ oneWayMs: 25, periodMs: 10, bytes: 1200 });
    const sparse = start({ oneWayMs: 25, periodMs: 100, bytes: 1200 });
    await sleep(2200);
    const denseSrtt = mean(dense.after(1000).map(([, srtt]) => srtt));
    const sparseSrtt = mean(sparse.after(1000).map(([, srtt]) => srtt));
    // Each packet 100 ms after the last one finds the pacer due for a reset: dated correctly.
    expect(sparseSrtt).toBeGreaterThanOrEqual(50);
    expect(sparseSrtt).toBeLessThan(62);
    // 10 ms apart, packets carry the date of the last reset, up to ~40 ms old (measured ~80 ms).
    expect(denseSrtt).toBeGreaterThan(sparseSrtt * 1.3);
  }, 15_000);

  it('after two loss responses (cwnd 7212 B) srtt grows ~1 ms per ms and cwnd stays pinned', async () => {
    // 100 ms RTT, a 1300-byte write every 20 ms; the link drops 3 server datagrams early on, which
    // takes cwnd from 14720 to 10304 and then 7212 bytes (CUBIC's β = 0.7).
    const link = { oneWayMs: 50, periodMs: 20, bytes: 1300, drop: [5, 30, 55] };
    const stalled = start(link);
    // The same with quiche's pacing flag on: the pacer is handed real packet sizes and its
    // next_time moves on every 10 packets, so the dates cannot freeze (they run ahead instead).
    const control = start({ ...link, serverQuichePacing: true });
    await sleep(3200);
    const late = stalled.after(2000);
    const srtt = late.map(([, s]) => s);
    const cwnd = late.map(([, , w]) => w);
    // Measured: ~1.1 s at 2 s, ~2.1 s at 3 s (path RTT 100 ms), cwnd 7212 throughout.
    expect(Math.min(...srtt)).toBeGreaterThan(500);
    expect(Math.max(...srtt)).toBeGreaterThan(Math.min(...srtt) + 400);
    expect(new Set(cwnd).size).toBe(1);
    expect(cwnd[0]).toBeLessThanOrEqual(7212);
    expect(Math.max(...control.after(2000).map(([, s]) => s))).toBeLessThan(400);
  }, 15_000);
});
