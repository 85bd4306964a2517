import { describe, expect, it } from 'vitest';
import { analyzeRun, runFlags, CPU_SATURATION_SHARE } from '../../harness/measure/analysis.js';
import { EVENT_NAMES, timelineEvents } from '../../harness/measure/events.js';
import { client, timeline } from '../fixtures/synthetic.js';

describe('timelineEvents', () => {
  it('lists one qlog-named vocabulary in time order for any protocol', () => {
    const tl = timeline('h2', [{ sent: 3, headers: 5, data: [6, 8], end: 8 }], [7]);
    const ev = timelineEvents(tl);
    expect(ev.map((e) => e.name)).toEqual([
      'connection_started',
      'tcp_connected',
      'handshake_done',
      'request_sent',
      'headers_received',
      'data_received',
      'packet_lost',
      'data_received',
      'stream_finished',
    ]);
    expect(ev.every((e) => (EVENT_NAMES as readonly string[]).includes(e.name))).toBe(true);
    expect(ev.find((e) => e.name === 'data_received')).toMatchObject({
      t: 6,
      bytes: 1000,
      request: 0,
      stream: 0,
    });
  });
  it('h3 has no tcp_connected; a failed request ends with request_failed', () => {
    const ev = timelineEvents(
      timeline('h3', [{ data: [4], end: null, error: 'reset' }]),
      new Map([[0, 'reset']]),
    );
    expect(ev.some((e) => e.name === 'tcp_connected')).toBe(false);
    expect(ev[ev.length - 1]).toMatchObject({ name: 'request_failed', error: 'reset', t: 4 });
  });
});

describe('analyzeRun / runFlags', () => {
  const base = {
    index: 0,
    repetition: 0,
    protocol: 'h2',
    ok: true,
    server: null,
    lossTimesMs: [],
    configuredRttMs: 20,
    probeRttMs: null,
    probeOk: null,
  };
  it('computes per-run latencies from the intended send time', () => {
    const a = analyzeRun({
      ...base,
      client: client('h2', [
        { sent: 10, headers: 30, data: [35, 40] },
        { sent: 0, headers: 20, data: [25] },
      ]),
    });
    expect(a.metrics.completionP50Ms).toBeCloseTo(27.5);
    expect(a.metrics.ttfbP50Ms).toBeCloseTo(20);
    expect(a.metrics.connectP50Ms).toBe(2);
    expect(a.metrics.workloadMs).toBe(40);
    expect(a.metrics.goodputMbit).toBeCloseTo((3000 * 8) / 40 / 1000);
    expect(a.metrics.hol?.thresholdMs).toBe(30);
  });
  it('has no HOL analysis for a browser run (whole responses, no body arrival times)', () => {
    const c = client('h2', [
      { sent: 0, headers: 20, data: [400] },
      { sent: 0, headers: 20, data: [30] },
    ]);
    const own = analyzeRun({ ...base, client: c });
    expect(own.metrics.hol).not.toBeNull();
    const browser = { ...c, browser: {} as NonNullable<typeof c.browser> };
    const a = analyzeRun({ ...base, client: browser });
    expect(a.metrics.hol).toBeNull();
    expect(a.hol).toBeNull();
    // Everything else is measured as for any client.
    expect(a.metrics.completionP50Ms).toBe(own.metrics.completionP50Ms);
    expect(a.timeline).not.toBeNull();
  });
  it('counts a browser client as CPU-bound at 0.9 of all its cores, not of one', () => {
    const c = client('h2', [{ data: [5] }], { cpu: { userMs: 120, systemMs: 19, wallMs: 100 } });
    const browser = (cores: number) => ({
      ...c,
      browser: {
        cpu: { source: 's', browserUserMs: 100, browserSystemMs: 10, processes: 5, cores },
      } as unknown as NonNullable<typeof c.browser>,
    });
    const two = analyzeRun({ ...base, client: browser(2) }).metrics;
    expect(two.cpuClientCores).toBe(2);
    expect(runFlags(two, null)).toEqual([]);
    const hot = client('h2', [{ data: [5] }], { cpu: { userMs: 170, systemMs: 15, wallMs: 100 } });
    const m = analyzeRun({ ...base, client: { ...hot, browser: browser(2).browser } }).metrics;
    expect(runFlags(m, null).map((f) => f.message)).toEqual([
      'run 0 (h2): client CPU-saturated (185% of one core: 93% of the 2 cores its browser processes could use): it may measure the client, not the protocol',
    ]);
    // h3bench's own client: one core, as before.
    expect(runFlags(analyzeRun({ ...base, client: c }).metrics, null).map((f) => f.kind)).toEqual([
      'cpu-saturated',
    ]);
  });
  it('flags CPU saturation at 0.9 of a core and a failed fidelity probe', () => {
    expect(CPU_SATURATION_SHARE).toBe(0.9);
    const c = client('h2', [{ data: [5] }], { cpu: { userMs: 80, systemMs: 12, wallMs: 100 } });
    const m = analyzeRun({ ...base, client: c, probeOk: false }).metrics;
    expect(runFlags(m, null).map((f) => f.kind)).toEqual(['cpu-saturated', 'fidelity-probe-failed']);
    const ok = analyzeRun({ ...base, client: client('h2', [{ data: [5] }]), probeOk: true }).metrics;
    expect(runFlags(ok, null)).toEqual([]);
  });
});
