/** The loss response and attribution in the reports: tables, opening paragraph, figures, runs.csv. */
import { describe, expect, it } from 'vitest';
import { figureSpecs } from '../../harness/report/figures.js';
import { renderAll } from '../../harness/report/index.js';
import { renderCsv, CSV_COLUMNS, CSV_TELEMETRY_COLUMNS } from '../../harness/report/csv.js';
import { causeSentence, openingParagraph, undoneNote } from '../../harness/report/table.js';
import { resummarize } from '../../harness/measure/result-summary.js';
import type { RunRecord } from '../../harness/model/result.js';
import { controlRun, result, sawtooth, series, withTelemetry, workloadRun } from '../fixtures/synthetic.js';

const REPS = 5;

/**
 * Runs of h3 and h2 per repetition: h3 twice as fast on the workload, its single stream too (so
 * transport dominates); each workload run with a server-side window sawtooth of `cycles[p]` cuts and
 * 20 downlink drops.
 */
function runs(opts: {
  controls: boolean;
  cycles: Record<'h3' | 'h2', number>;
  telemetry?: boolean;
}): RunRecord[] {
  const out: RunRecord[] = [];
  let index = 0;
  for (let r = 0; r < REPS; r++) {
    for (const p of ['h3', 'h2'] as const) {
      const k = p === 'h3' ? 1 : 2;
      const setup = p === 'h3' ? 20 : 40;
      let w = workloadRun(index++, r, p, setup + k * (1000 + 17 * r), setup);
      if (opts.telemetry !== false) {
        const { t, cwnd } = sawtooth({ peak: 80_000, beta: 0.7, cycles: opts.cycles[p], periodMs: 200 });
        w = withTelemetry(
          w,
          [
            series(t, {
              transport: p === 'h3' ? 'quic' : 'tcp',
              cwndBytes: cwnd,
              bytesInFlight: cwnd.map((x) => Math.round(x * 0.9)),
              srttMs: t.map(() => 40),
              timeouts: t.map(() => (p === 'h2' ? 3 : 0)),
            }),
          ],
          { dropReasons: { 'down loss': 20, 'up loss': 2 }, downlinkLossTimesMs: [15, 230, 450] },
        );
      }
      out.push(w);
      if (opts.controls) out.push(controlRun(index++, r, p, setup + k * (700 + 11 * r), setup));
    }
  }
  return out;
}

describe('loss response and attribution in the reports', () => {
  it('shows both tables, names the dominant factor up front, and draws both figures', async () => {
    const res = result(runs({ controls: true, cycles: { h3: 2, h2: 8 } }));
    const para = openingParagraph(res);
    expect(para).toMatch(
      /Attribution from the control runs: h3\/h2 = 0\.5\d: single-stream transport explains \d+% of it/,
    );
    const files = await renderAll(res, ['md', 'html', 'csv']);
    const md = files['report.md'] ?? '';
    expect(md).toContain('## Loss response');
    expect(md).toContain('timeouts (RTO for TCP, PTO for QUIC)');
    // h2: 8 cuts per 20 drops = 40 per 100; β seen 0.70; 3 timeouts.
    const h2Row = md.split('\n').find((l) => l.startsWith('| h2 | 5 |'));
    expect(h2Row).toContain('| 40.0 [40.0, 40.0] |');
    expect(h2Row).toContain('| 0.70 [0.70, 0.70] |');
    expect(h2Row).toContain('| 3.0 [3.0, 3.0] |');
    expect(md).toContain('## Attribution');
    expect(md).toMatch(/\| h3\/h2 \| 5 \| 0\.5\d \[0\.\d\d, 0\.\d\d\] \|.*\| transport \|/);
    expect(md).toContain('- h3/h2 = ');
    expect(md).toContain('![Congestion window');
    expect(files['report.html']).toContain('<h2>Loss response</h2>');
    expect(files['report.html']).toContain('<h2>Attribution</h2>');
    const cwnd = files['cwnd.svg'] ?? '';
    expect(cwnd).toContain('<svg');
    expect(cwnd).toContain('h3: run');
    expect(cwnd).toContain('3 drops server → client (red ticks)');
    expect(files['congestion-events.svg']).toContain('<svg');
  }, 60_000);

  it('without control runs, points at a loss response that differs 2× and claims no cause', () => {
    const res = result(runs({ controls: false, cycles: { h3: 2, h2: 8 } }));
    expect(res.summary.attribution).toBeUndefined();
    const s = causeSentence(res) ?? '';
    expect(s).toMatch(/loss responses differ/);
    expect(s).toContain('h2 has 40.0 congestion events per 100 downlink drops against 10.0 for h3');
    expect(s).toContain('h2 has 3.0 timeouts per run against 0.0 for h3');
    expect(s).toContain('Loss response table');
    expect(openingParagraph(res)).toContain(s);
    expect(openingParagraph(res).toLowerCase()).not.toMatch(/head-of-line|hol/);
  });

  it('says nothing about the loss response when it is alike, and shows nothing without telemetry', async () => {
    const alike = result(runs({ controls: false, cycles: { h3: 6, h2: 6 } })).summary;
    expect(alike.protocols.h3?.transport?.timeouts.median).toBe(0);
    // Equal events; timeouts 0 vs 3 still differ (a gap of ≥ 1 and 2× or more).
    const equalTimeouts = result(
      runs({ controls: false, cycles: { h3: 6, h2: 6 } }).map((r) =>
        r.server?.telemetry
          ? {
              ...r,
              server: {
                ...r.server,
                telemetry: r.server.telemetry.map((x) => ({ ...x, timeouts: x.t.map(() => 1) })),
              },
            }
          : r,
      ),
    );
    expect(causeSentence(equalTimeouts)).toBeNull();
    const bare = result(runs({ controls: false, cycles: { h3: 2, h2: 8 }, telemetry: false }));
    expect(causeSentence(bare)).toBeNull();
    const specs = figureSpecs(resummarize(bare));
    expect(Object.keys(specs)).not.toContain('cwnd');
    expect(Object.keys(specs)).not.toContain('congestion-events');
    const files = await renderAll(bare, ['md']);
    expect(files['report.md']).not.toContain('## Loss response');
    expect(files['report.md']).not.toContain('## Attribution');
    expect(renderCsv(bare).split('\n')[0]).toBe(CSV_COLUMNS.map(([n]) => n).join(','));
  }, 60_000);

  it('runs.csv marks control runs and carries the per-run loss response', () => {
    const res = result(runs({ controls: true, cycles: { h3: 2, h2: 8 } }));
    const lines = renderCsv(res).trim().split('\n');
    const header = lines[0]?.split(',') ?? [];
    expect(header).toEqual([...CSV_COLUMNS, ...CSV_TELEMETRY_COLUMNS].map(([n]) => n));
    const rows = lines
      .slice(1)
      .map((l): Record<string, string> =>
        Object.fromEntries(l.split(',').map((v, i) => [header[i] ?? '', v])),
      );
    expect(rows).toHaveLength(4 * REPS);
    expect(rows.filter((r) => r.control === 'true')).toHaveLength(2 * REPS);
    const h2 = rows.find((r) => r.protocol === 'h2' && r.control === 'false');
    expect(h2?.congestion_events).toBe('8');
    expect(h2?.congestion_events_per_100_losses).toBe('40');
    expect(h2?.downlink_drops).toBe('20');
    expect(h2?.timeouts).toBe('3');
    const control = rows.find((r) => r.control === 'true');
    expect(control?.congestion_events).toBe('');
    expect(control?.workload_ms).not.toBe('');
  });
});

describe('undoneNote', () => {
  /** A window cut to 70% and restored one sample later, `n` times (quiche's rollback). */
  function rollbacks(n: number): { t: number[]; cwnd: number[] } {
    const t: number[] = [];
    const cwnd: number[] = [];
    for (let i = 0; i < n; i++) {
      t.push(i * 300, i * 300 + 100, i * 300 + 110);
      cwnd.push(100_000, 70_000, 100_000);
    }
    return { t, cwnd };
  }

  function withWindows(h3: { t: number[]; cwnd: number[] }): RunRecord[] {
    const out: RunRecord[] = [];
    let index = 0;
    for (let r = 0; r < REPS; r++) {
      for (const p of ['h3', 'h2'] as const) {
        const w = p === 'h3' ? h3 : sawtooth({ peak: 80_000, beta: 0.7, cycles: 6, periodMs: 200 });
        const run = workloadRun(index++, r, p, 1000 + 10 * r, 30);
        out.push(
          withTelemetry(
            run,
            [
              series(w.t, {
                transport: p === 'h3' ? 'quic' : 'tcp',
                cwndBytes: w.cwnd,
                srttMs: w.t.map(() => 40),
              }),
            ],
            { dropReasons: { 'down loss': 10 } },
          ),
        );
      }
    }
    return out;
  }

  it("names quiche's rollback when h3 undoes most congestion events and h2 almost none", () => {
    const res = result(withWindows(rollbacks(6)));
    expect(res.summary.protocols.h3?.transport?.undoneShare.median).toBeGreaterThanOrEqual(0.9);
    expect(res.summary.protocols.h2?.transport?.undoneShare.median).toBe(0);
    const note = undoneNote(res);
    expect(note).toContain('h3 100% against h2 0%');
    expect(note).toContain('RESTORE_COUNT_THRESHOLD');
  });

  it('says nothing when both keep their reductions', () => {
    const res = result(withWindows(sawtooth({ peak: 90_000, beta: 0.7, cycles: 6, periodMs: 200 })));
    expect(undoneNote(res)).toBeNull();
  });
});
