/**
 * Across-run summaries with known answers: sweep points are never pooled, an undefined
 * synchronized share is null (no verdict), failures are visible (requestsFailed, failed runs make a
 * contrast not comparable), too few runs give no verdict, and host socket-buffer drops are flagged.
 */
import { describe, expect, it } from 'vitest';
import { analyzeRun, runFlags, socketDrops } from '../../harness/measure/analysis.js';
import { isOk } from '../../harness/measure/outcome.js';
import { median, percentile, percentileOf } from '../../core/stats.js';
import { protocolContrasts } from '../../harness/measure/summary.js';
import { renderCsv } from '../../harness/report/csv.js';
import { parseResult, resultJson } from '../../harness/report/read.js';
import { runInput } from '../../harness/measure/result-summary.js';
import type { RunRecord } from '../../harness/model/result.js';
import type { Protocol } from '../../harness/scenario/schema.js';
import { client, result, runRecord, runsWithWorkload, type StreamSpec } from '../fixtures/synthetic.js';
import type { ProtocolContrast } from '../../harness/model/metrics.js';

const SWEEP = 'sweep:\n  key: workload.concurrency\n  values: [1, 2]\n';

/** Runs of one protocol at one sweep point whose workload completion is `ms[i]`. */
function pointRuns(p: Protocol, point: number, ms: readonly number[], first: number): RunRecord[] {
  return runsWithWorkload(p, ms, first, { sweepIndex: point });
}

const comparison = (cs: readonly ProtocolContrast[], metric: string) =>
  cs.find((c) => c.a === 'h3' && c.b === 'h2' && c.metric === metric);

describe('sweeps: contrasts per point, never pooled', () => {
  // Point 0: h3 about twice as fast as h2; point 1: h3 about twice as slow. Pooled, the two would
  // cancel out (or say whichever side the medians happen to fall on).
  const fast = [50, 51, 52, 53, 54];
  const mid = [100, 101, 102, 103, 104];
  const slow = [200, 201, 202, 203, 204];
  const runs = [
    ...pointRuns('h2', 0, mid, 0),
    ...pointRuns('h3', 0, fast, 5),
    ...pointRuns('h2', 1, mid, 10),
    ...pointRuns('h3', 1, slow, 15),
  ];
  const r = result(runs, { protocols: ['h2', 'h3'], extraYaml: SWEEP });

  it('gives each point its own verdicts and no pooled top-level contrast', () => {
    expect(r.summary.comparisons).toEqual([]);
    const at0 = comparison(r.summary.sweep?.[0]?.comparisons ?? [], 'workloadMs');
    const at1 = comparison(r.summary.sweep?.[1]?.comparisons ?? [], 'workloadMs');
    expect(at0?.direction).toBe('better');
    expect(at0?.medianA).toBe(52);
    expect(at0?.nA).toBe(5);
    expect(at1?.direction).toBe('worse');
    expect(at1?.medianA).toBe(202);
    expect(r.summary.sweep?.[1]?.counts.h3).toEqual({
      runs: 5,
      runsFailed: 0,
      requestsOk: 5,
      requestsFailed: 0,
    });
  });

  it('refuses to contrast runs of several points at once', () => {
    const byProtocol = new Map(
      (['h2', 'h3'] as const).map((p) => [p, r.summary.runs.filter((m) => m.protocol === p)]),
    );
    expect(() => protocolContrasts(byProtocol, 0)).toThrow(/2 sweep points/);
  });

  it('the result file validates, and its summary survives a write and a read', () => {
    const back = parseResult(JSON.parse(resultJson(r)), 'sweep.json');
    expect(back.summary.sweep?.[0]?.comparisons.length).toBeGreaterThan(0);
  });
});

describe('synchronized stall share without contention', () => {
  // h2: two streams on one connection stalling together (TCP-like, share ~0.98). h1: the same
  // stalls on two connections, so never two open streams on a connection: no evidence either way.
  const tcp: StreamSpec[] = [{ data: [0, 10, 60, 70] }, { data: [2, 12, 60, 72] }];
  const h1: StreamSpec[] = [
    { conn: 0, data: [0, 10, 60, 70] },
    { conn: 1, data: [2, 12, 60, 72] },
  ];
  const runs = [0, 1, 2, 3, 4].flatMap((rep) => [
    runRecord(rep * 2, rep, client('h2', tcp), { lossTimesMs: [] }),
    runRecord(rep * 2 + 1, rep, client('h1', h1), { lossTimesMs: [] }),
  ]);
  const r = result(runs, { protocols: ['h1', 'h2'] });

  it('is null per run and missing (n = 0) per protocol, not 0', () => {
    expect(
      r.summary.runs.filter((m) => m.protocol === 'h1').map((m) => m.hol?.synchronizedStallShare),
    ).toEqual([null, null, null, null, null]);
    expect(r.summary.protocols.h1?.hol.synchronizedStallShare).toEqual({ median: null, ci95: null, n: 0 });
    expect(r.summary.protocols.h2?.hol.synchronizedStallShare).toMatchObject({ n: 5 });
    expect(r.summary.protocols.h2?.hol.synchronizedStallShare.median).toBeGreaterThan(0.8);
  });

  it('gives no verdict instead of h1 "winning" it', () => {
    const c = r.summary.comparisons.find(
      (x) => x.a === 'h2' && x.b === 'h1' && x.metric === 'synchronizedStallShare',
    );
    expect(c?.significant).toBeNull();
    expect(c?.direction).toBeNull();
    expect(c?.verdict).toBe(
      'no verdict: synchronized stall share is undefined for h1 (no stall while another stream was open on its connection)',
    );
  });

  it('writes an empty CSV cell for it', () => {
    const lines = renderCsv(r).trim().split('\n');
    const col = (lines[0] ?? '').split(',').indexOf('synchronized_stall_share');
    const h1Row = lines.find((l) => l.split(',')[5] === 'h1') ?? '';
    expect(h1Row.split(',')[col]).toBe('');
  });
});

describe('failures are visible (no survivorship)', () => {
  /** One ok request taking `w` ms, plus `failed` requests that never finish. */
  const withFailures = (w: number, failed: number): StreamSpec[] => [
    { data: [w], headers: w, end: w },
    ...Array.from({ length: failed }, () => ({ data: [1], end: null })),
  ];

  it('requestsFailed is a headline metric: a protocol that fails requests shows it', () => {
    const runs = [0, 1, 2, 3, 4].flatMap((rep) => [
      runRecord(rep * 2, rep, client('h2', withFailures(100 + rep, 0))),
      // h3 is faster over its ok requests but fails one request per run (within the allowance).
      runRecord(rep * 2 + 1, rep, client('h3', withFailures(50 + rep, 1))),
    ]);
    const r = result(runs, { protocols: ['h2', 'h3'] });
    const c = comparison(r.summary.comparisons, 'requestsFailed');
    expect(c?.medianA).toBe(1);
    expect(c?.medianB).toBe(0);
    expect(c?.direction).toBe('worse');
    expect(c?.verdict).toBe('h3 has 1 more failed requests per run than h2 [1, 1]');
    expect(r.summary.protocols.h3?.metrics.requestsFailed.median).toBe(1);
  });

  it('a contrast whose sides lost different numbers of runs is flagged not comparable', () => {
    const runs = [
      ...runsWithWorkload('h2', [100, 101, 102, 103, 104, 105, 106], 0),
      // h3's two slowest runs failed: its survivors look fast.
      ...[50, 51, 52, 53, 54, 500, 600].map((w, i) =>
        runRecord(7 + i, i, client('h3', [{ data: [w], headers: w, end: w }]), { ok: i < 5 }),
      ),
    ];
    const r = result(runs, { protocols: ['h2', 'h3'] });
    const c = comparison(r.summary.comparisons, 'workloadMs');
    expect(c).toMatchObject({ comparable: false, failedRunsA: 2, failedRunsB: 0, significant: null });
    expect(c?.verdict).toMatch(/^not comparable: 2 failed runs \(h3 2, h2 0\)/);
  });

  it('too few ok runs give no verdict, however clear the difference', () => {
    const runs = [...runsWithWorkload('h2', [100, 101, 102], 0), ...runsWithWorkload('h3', [50, 51, 52], 3)];
    const r = result(runs, { protocols: ['h2', 'h3'] });
    const c = comparison(r.summary.comparisons, 'workloadMs');
    expect(c?.significant).toBeNull();
    expect(c?.verdict).toBe('too few runs for a verdict (n=3; need 5): h3/h2 = 0.50');
  });

  it('isOk is the one definition: no error and an end of stream', () => {
    expect(isOk({ error: null, tEnd: 5 })).toBe(true);
    expect(isOk({ error: null, tEnd: null })).toBe(false);
    expect(isOk({ error: 'reset', tEnd: 5 })).toBe(false);
    // A request without error that never ended is failed in the run metrics and the pooled summary alike.
    const c = client('h2', [{ data: [5] }, { data: [3] }]);
    const req = c.requests[1];
    if (req) Object.assign(req, { error: null, tEnd: null, timedOut: false });
    const r = result([runRecord(0, 0, c)], { protocols: ['h2'] });
    expect(r.summary.runs[0]?.requestsFailed).toBe(1);
    expect(r.summary.protocols.h2?.requests).toMatchObject({ ok: 1, failed: 1 });
  });
});

describe('socket-buffer drops (loss in the host, not on the link)', () => {
  it('reads the recorded counters: per namespace at teardown, or before/after snapshots', () => {
    expect(
      socketDrops({
        client: { 'Udp.RcvbufErrors': 12, 'Udp.InDatagrams': 900 },
        server: { 'Udp.RcvbufErrors': 0, 'TcpExt.TCPRcvQDrop': 3 },
      }),
    ).toEqual({
      total: 15,
      counts: { 'client.Udp.RcvbufErrors': 12, 'server.Udp.RcvbufErrors': 0, 'server.TcpExt.TCPRcvQDrop': 3 },
    });
    expect(
      socketDrops({
        client: { before: { 'Udp.RcvbufErrors': 4 }, after: { 'Udp.RcvbufErrors': 10 } },
      }),
    ).toEqual({ total: 6, counts: { 'client.Udp.RcvbufErrors': 6 } });
    expect(socketDrops(undefined)).toBeNull();
    expect(socketDrops({ client: { 'Udp.InDatagrams': 5 } })).toBeNull();
  });

  it('flags a run with drops, keeps the count per run and in runs.csv', () => {
    const counters = { sockets: { client: { 'Udp.RcvbufErrors': 7 }, server: { 'Udp.RcvbufErrors': 0 } } };
    const dropped = runRecord(0, 0, client('h3', [{ data: [5, 10] }]), { counters });
    const clean = runRecord(1, 0, client('h2', [{ data: [5, 10] }]), {
      counters: { sockets: { client: { 'Udp.RcvbufErrors': 0 }, server: {} } },
    });
    const m = analyzeRun(runInput(dropped)).metrics;
    expect(m.socketDrops?.total).toBe(7);
    const flags = runFlags(m, null);
    expect(flags.map((f) => f.kind)).toEqual(['socket-buffer-drops']);
    expect(flags[0]?.message).toMatch(
      /7 packet\(s\) dropped by full socket receive buffers in the host \(client\.Udp\.RcvbufErrors 7\)/,
    );
    expect(runFlags(analyzeRun(runInput(clean)).metrics, null)).toEqual([]);
    const r = result([dropped, clean], { protocols: ['h2', 'h3'] });
    expect(r.summary.flags.map((f) => f.kind)).toEqual(['socket-buffer-drops']);
    const lines = renderCsv(r).trim().split('\n');
    expect(lines[0]?.endsWith(',socket_buffer_drops')).toBe(true);
    expect(lines[1]?.endsWith(',7')).toBe(true);
    expect(lines[2]?.endsWith(',0')).toBe(true);
    // The flag kind is in the schema: the file validates.
    expect(() => resultJson(r)).not.toThrow();
  });
});

describe('one percentile, one median', () => {
  it('interpolates between closest ranks, in any input order', () => {
    expect(percentileOf([5, 1, 3, 2, 4], 50)).toBe(3);
    expect(percentileOf([10, 9, 8, 7, 6, 5, 4, 3, 2, 1], 99)).toBeCloseTo(9.91);
    expect(percentile(Float64Array.from([1, 2, 3, 4]), 50)).toBe(2.5);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(Number.isNaN(median([]))).toBe(true);
  });
});
