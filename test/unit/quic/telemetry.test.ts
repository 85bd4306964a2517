/**
 * ConnTelemetry with a fake quiche connection and fake clocks: rate-limited sampling, samples
 * stored only on change, PTO inference around onTimeout(), the series shape, and qlog events.
 */
import { describe, expect, it } from 'vitest';
import type { QuicStats } from '../../../harness/proto/quic/binding.js';
import { QlogWriter, RECORD_SEPARATOR, type QlogSink } from '../../../harness/proto/quic/qlog.js';
import {
  ConnTelemetry,
  TIMEOUTS_SOURCE,
  type TelemetrySource,
} from '../../../harness/proto/quic/telemetry.js';

/** A quiche connection whose counters the test moves by hand; counts stats() reads. */
class FakeConn implements TelemetrySource {
  s: QuicStats = {
    recv: 0,
    sent: 0,
    lost: 0,
    retrans: 0,
    sentBytes: 0,
    recvBytes: 0,
    lostBytes: 0,
    streamRetransBytes: 0,
    srttMs: 333,
    cwndBytes: 13_500,
    deliveryRateBytesPerSec: 0,
    pmtuBytes: 1350,
    peerMaxUdpPayloadBytes: 1472,
    peerInitialMaxData: 0,
    peerInitialMaxStreamsBidi: 0,
  };
  closed = false;
  timedOut = false;
  reads = 0;
  stats(): QuicStats {
    this.reads++;
    return { ...this.s };
  }
  isClosed(): boolean {
    return this.closed;
  }
  isTimedOut(): boolean {
    return this.timedOut;
  }
}

class MemorySink implements QlogSink {
  text = '';
  ended = false;
  writableLength = 0;
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
  end(cb: () => void): void {
    this.ended = true;
    cb();
  }
  records(): { name?: string; data?: Record<string, unknown> }[] {
    return this.text
      .split(RECORD_SEPARATOR)
      .slice(1)
      .map((r) => JSON.parse(r) as { name?: string; data?: Record<string, unknown> });
  }
}

function setup(withQlog = false) {
  const conn = new FakeConn();
  let now = 1000;
  let mono = 5_000_000;
  const sink = new MemorySink();
  const qlog = withQlog
    ? new QlogWriter(
        '/nonexistent/x.sqlog',
        { vantagePoint: 'server', title: 't', description: 'd', referenceTimeMs: 1 },
        sink,
      )
    : null;
  const tel = new ConnTelemetry({
    side: 'server',
    local: { host: '198.18.0.2', port: 443 },
    peer: { host: '198.18.0.1', port: 50000 },
    series: true,
    qlog,
    now: () => now,
    monotonic: () => mono,
    trailingTimer: false,
  });
  tel.attach(conn);
  const advance = (ms: number) => {
    now += ms;
    mono += ms;
  };
  return { conn, tel, advance, sink };
}

describe('ConnTelemetry sampling', () => {
  it('samples at most once per interval, stores only changes, on CLOCK_MONOTONIC times', () => {
    const { conn, tel, advance } = setup();
    tel.afterFlush(); // first sample
    conn.s.sent = 10;
    advance(3);
    tel.afterFlush(); // too soon: not read
    expect(conn.reads).toBe(1);
    advance(7);
    tel.afterFlush(); // 10 ms after the first: read, changed
    advance(10);
    tel.afterFlush(); // read, unchanged: not stored
    expect(conn.reads).toBe(3);
    conn.s.srttMs = 81;
    conn.s.cwndBytes = 20_000;
    conn.s.deliveryRateBytesPerSec = 1_250_000;
    advance(10);
    tel.afterFlush();
    const s = tel.series();
    expect(s).not.toBeNull();
    expect(s?.t).toEqual([5_000_000, 5_000_010, 5_000_030]);
    expect(s?.packetsSent).toEqual([0, 10, 10]);
    expect(s?.srttMs).toEqual([333, 333, 81]);
    expect(s?.cwndBytes).toEqual([13_500, 13_500, 20_000]);
    expect(s?.deliveryRateMbit).toEqual([0, 0, 10]);
    expect(s?.timeouts).toEqual([0, 0, 0]);
    expect(s).toMatchObject({
      side: 'server',
      transport: 'quic',
      connection: '198.18.0.2:443 198.18.0.1:50000',
      intervalMs: 10,
      timeoutsSource: TIMEOUTS_SOURCE,
    });
    expect(s?.source).toMatch(/^quiche 0\.18\.0 .*@matrixai\/quic-linux-x64 \d/);
    // Columns quiche 0.18 does not expose are absent, not zero.
    expect(s).not.toHaveProperty('bytesInFlight');
    expect(s).not.toHaveProperty('ssthreshBytes');
    expect(s).not.toHaveProperty('minRttMs');
  });

  it('takes a final sample at close and keeps the series afterwards', async () => {
    const { conn, tel, advance } = setup();
    tel.afterFlush();
    advance(2);
    conn.s.sent = 5;
    await tel.close(conn.stats(), null, null, false);
    tel.afterFlush(); // after close: ignored
    expect(tel.series()?.packetsSent).toEqual([0, 5]);
  });
});

describe('ConnTelemetry PTO inference', () => {
  /** One timer expiry: `effect` is what quiche's onTimeout() does, `sent` what the next flush sends. */
  function expire(env: ReturnType<typeof setup>, effect: () => void, sent: number): void {
    env.tel.timeoutStart();
    effect();
    env.tel.timeoutEnd();
    env.conn.s.sent += sent;
    env.tel.afterFlush();
  }

  it('counts an expiry that declared nothing lost and was followed by probes as a PTO', () => {
    const env = setup();
    env.tel.afterFlush();
    expire(env, () => undefined, 2);
    env.advance(300);
    expire(env, () => undefined, 1);
    expect(env.tel.timers).toEqual({ pto: 2, lossTime: 0, closed: 0, quiet: 0 });
    // Each PTO is sampled at once (no interval wait) and shows in the timeouts column.
    expect(env.tel.series()?.timeouts).toEqual([0, 1, 2]);
    expect(env.tel.series()?.packetsSent).toEqual([0, 2, 3]);
  });

  it('does not count time-threshold losses, idle/draining ends, or quiet expiries', () => {
    const env = setup();
    env.tel.afterFlush();
    // Time-threshold loss: quiche declares packets lost, then retransmits.
    expire(
      env,
      () => {
        env.conn.s.lost += 3;
      },
      3,
    );
    // Nothing lost and nothing sent (e.g. a PTO blocked by the anti-amplification limit).
    expire(env, () => undefined, 0);
    // Idle timeout: quiche closes the connection.
    expire(
      env,
      () => {
        env.conn.closed = true;
        env.conn.timedOut = true;
      },
      0,
    );
    expect(env.tel.timers).toEqual({ pto: 0, lossTime: 1, closed: 1, quiet: 1 });
    expect(env.tel.series()?.timeouts?.every((v) => v === 0)).toBe(true);
    expect(env.tel.series()?.packetsLost?.at(-1)).toBe(3);
  });
});

describe('ConnTelemetry qlog events', () => {
  it('writes connection_started, datagrams per flush, metrics_updated, the inferred PTO and connection_closed', async () => {
    const env = setup(true);
    env.tel.onDatagramIn(1200);
    env.tel.onDatagramOut(1252);
    env.tel.onDatagramOut(44);
    env.tel.afterFlush();
    env.conn.s.srttMs = 80;
    env.advance(20);
    env.tel.afterFlush();
    env.tel.timeoutStart();
    env.tel.timeoutEnd();
    env.conn.s.sent += 1;
    env.tel.afterFlush();
    await env.tel.close(env.conn.stats(), { isApp: true, code: 0x100, reason: '' }, null, false);
    expect(env.sink.ended).toBe(true);
    const recs = env.sink.records();
    expect(recs[0]).toMatchObject({ qlog_format: 'JSON-SEQ', qlog_version: '0.3' });
    const names = recs.slice(1).map((r) => r.name);
    expect(names).toEqual([
      'connectivity:connection_started',
      'transport:datagrams_received',
      'transport:datagrams_sent',
      'recovery:metrics_updated',
      'recovery:metrics_updated',
      'recovery:loss_timer_updated',
      'connectivity:connection_closed',
      'generic:info',
    ]);
    expect(recs[3]?.data).toEqual({ count: 2, raw: [{ length: 1252 }, { length: 44 }] });
    expect(recs[5]?.data).toMatchObject({ congestion_window: 13_500, smoothed_rtt: 80 });
    expect(recs[6]?.data).toMatchObject({ event_type: 'expired', timer_type: 'pto' });
    expect(recs[7]?.data).toEqual({ owner: 'local', trigger: 'application', application_code: 0x100 });
  });
});
