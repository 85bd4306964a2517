/**
 * Heatmaps of a grid sweep on synthetic results with known medians and known verdicts: cells in
 * row-major order at the right row and column, one shared colour scale with a legend, the h3/h2
 * ratio with a dot exactly where its paired interval excludes 1; a one-key sweep keeps its line figure.
 */
import { describe, expect, it } from 'vitest';
import { axisTicks, figureSpecs, heatmapFigure } from '../../harness/report/figures.js';
import { renderAll } from '../../harness/report/index.js';
import { renderSvgs } from '../../harness/report/svg.js';
import { headlineBlock, openingParagraph, sweepNote } from '../../harness/report/table.js';
import type { ResultFile, RunRecord } from '../../harness/model/result.js';
import type { Protocol } from '../../harness/scenario/schema.js';
import { result, runsWithWorkload } from '../fixtures/synthetic.js';

/** Rows: workload.concurrency [1, 10]; columns: workload.requests [5, 50, 500]: 6 cells. */
const GRID = 'sweep:\n  grid:\n    workload.concurrency: [1, 10]\n    workload.requests: [5, 50, 500]\n';
const CELLS = 6;
/** h2's median at cell i (its 5 runs: base × 1.00, 1.01, … 1.04; the median is base × 1.02). */
const base = (cell: number) => 100 * (cell + 1);
/** Cells 0-2: h3 takes half as long (interval far below 1); 3-5: h3 ≈ h2 (interval includes 1). */
const FASTER = new Set([0, 1, 2]);
const NOISE = [0.02, -0.02, 0.01, -0.01, 0];

function gridRuns(protocols: readonly Protocol[]): RunRecord[] {
  const runs: RunRecord[] = [];
  for (let cell = 0; cell < CELLS; cell++) {
    const h2 = [0, 1, 2, 3, 4].map((rep) => base(cell) * (1 + 0.01 * rep));
    const series: Record<Protocol, number[]> = {
      h1: h2.map((v) => v * 2),
      h2,
      h3: h2.map((v, rep) => (FASTER.has(cell) ? v * 0.5 : v * (1 + (NOISE[rep] ?? 0)))),
    };
    for (const p of protocols) {
      runs.push(...runsWithWorkload(p, series[p], runs.length, { sweepIndex: cell }));
    }
  }
  return runs;
}

const gridResult = (protocols: Protocol[] = ['h1', 'h2', 'h3']): ResultFile =>
  result(gridRuns(protocols), { protocols, extraYaml: GRID });

interface Panel {
  data: { values: Record<string, unknown>[] };
  title: { text: string };
}
const panels = (r: ResultFile): Panel[] => {
  const spec = heatmapFigure(r, 'workloadMs') as unknown as { vconcat: Panel[] } | null;
  if (!spec) throw new Error('no heatmap');
  return spec.vconcat;
};
const count = (svg: string, role: string): number => svg.split(`aria-roledescription="${role}"`).length - 1;

describe('grid heatmaps', () => {
  it('replace the line figure for a grid, one figure per headline metric', () => {
    const names = Object.keys(figureSpecs(gridResult()));
    expect(names).toContain('heatmap-workload');
    expect(names).toContain('heatmap-completion-p50');
    expect(names).not.toContain('sweep');
    // No row of interval panels per cell either (the tables have the intervals).
    expect(names).not.toContain('completion-ci');
    expect(names).not.toContain('hol-ci');
  });

  it('place every cell at its row and column (row-major) with the median per protocol', () => {
    const [medians, ratio] = panels(gridResult());
    expect(medians?.data.values).toHaveLength(CELLS * 3);
    // Cell 4 = row 1 (concurrency 10), column 1 (requests 50): h2's median is base(4) × 1.02.
    const at = (p: string, row: string, column: string) =>
      medians?.data.values.find((v) => v.protocol === p && v.row === row && v.column === column);
    expect(at('h2', '10', '50')?.median).toBeCloseTo(base(4) * 1.02, 9);
    expect(at('h1', '10', '50')?.median).toBeCloseTo(base(4) * 2.04, 9);
    expect(at('h3', '1', '5')?.median).toBeCloseTo(base(0) * 0.51, 9);
    expect(at('h2', '1', '500')?.median).toBeCloseTo(base(2) * 1.02, 9);
    expect(at('h2', '1', '500')?.label).toBe('306');
    expect(ratio?.title.text).toBe(
      'h3/h2 ratio of workload completion per cell (paired estimate; below 1: h3 better)',
    );
  });

  it('mark the ratio where the paired interval excludes 1, and only there', () => {
    const r = gridResult();
    const [, ratio] = panels(r);
    const rows = ratio?.data.values ?? [];
    expect(rows).toHaveLength(CELLS);
    const marked = rows
      .filter((v) => v.mark === 'excludes 1')
      .map((v) => `${String(v.row)}/${String(v.column)}`);
    expect(marked).toEqual(['1/5', '1/50', '1/500']);
    for (const v of rows.filter((x) => x.row === '1')) expect(v.ratio).toBeCloseTo(0.5, 6);
    // The marks are the summary's own verdicts.
    const verdicts = r.summary.sweep?.map(
      (pt) =>
        pt.comparisons.find((c) => c.a === 'h3' && c.b === 'h2' && c.metric === 'workloadMs')?.significant,
    );
    expect(verdicts).toEqual([true, true, true, false, false, false]);
  });

  it('render cells with labels, a colour legend per scale and one dot per significant cell', async () => {
    const r = gridResult();
    const spec = heatmapFigure(r, 'workloadMs');
    if (!spec) throw new Error('no heatmap');
    const svg = (await renderSvgs({ h: spec })).h ?? '';
    expect(svg).toMatch(/^<svg/);
    expect(count(svg, 'rect mark')).toBe(CELLS * 3 + CELLS);
    expect(count(svg, 'text mark')).toBe(CELLS * 3 + CELLS);
    expect(count(svg, 'point')).toBe(3);
    expect(count(svg, 'legend')).toBe(3);
    expect(svg).toContain('median (ms)');
    expect(svg).toContain('h3/h2 95% interval');
    // Axis titles with units (a plain count has none), and a cell's value in its label.
    expect(svg).toContain('workload.concurrency');
    expect(svg).toContain('workload.requests: 500; workload.concurrency: 10; label: 612');
    expect(svg).toMatch(/workload\.requests: 5; workload\.concurrency: 1; h3\/h2 95% interval: excludes 1/);
  });

  it('fall back to h3/h1 without h2, and to no ratio without a pair', () => {
    const [, ratio] = panels(gridResult(['h1', 'h3']));
    expect(ratio?.title.text).toMatch(/^h3\/h1 ratio/);
    expect(panels(gridResult(['h2']))).toHaveLength(1);
  });

  it('call a page load’s workload completion its page-load time', () => {
    const r = gridResult(['h2', 'h3']);
    const page: ResultFile = {
      ...r,
      scenario: {
        ...r.scenario,
        workload: {
          type: 'page-load',
          documentBytes: 1000,
          waves: [],
          connections: 6,
          timeoutMs: 1000,
          allowedFailures: 0,
        },
      },
    };
    expect(panels(page)[0]?.title.text).toBe('median page-load time (workload completion) (ms) per cell');
  });

  it('are linked from report.md and inlined in report.html like the other figures', async () => {
    const files = await renderAll(gridResult(['h2', 'h3']));
    expect(files['heatmap-workload.svg']).toMatch(/^<svg/);
    expect(files['heatmap-completion-p50.svg']).toMatch(/^<svg/);
    expect(files['sweep.svg']).toBeUndefined();
    expect(files['completion-ci.svg']).toBeUndefined();
    expect(files['report.md']).toMatch(
      /^!\[Workload completion \(page-load time for a page load\) per grid cell.*\]\(heatmap-workload\.svg\)$/m,
    );
    expect(files['report.html']).toContain('<figure id="fig-heatmap-completion-p50"><svg');
  });
});

describe('axis ticks', () => {
  it('show rates in Mbit/s from 1 Mbit/s on, sizes in KB, other units as parsed', () => {
    expect(
      axisTicks({
        key: 'network.rate',
        unit: 'kbit/s',
        values: [1000, 2500, 50_000],
        labels: ['1mbit', '2.5mbit', '50mbit'],
      }),
    ).toEqual({ title: 'network.rate (Mbit/s)', ticks: ['1', '2.5', '50'] });
    expect(
      axisTicks({ key: 'network.rate', unit: 'kbit/s', values: [500, 2000], labels: ['500kbit', '2mbit'] }),
    ).toEqual({
      title: 'network.rate (kbit/s)',
      ticks: ['500', '2000'],
    });
    expect(
      axisTicks({ key: 'workload.size', unit: 'B', values: [20_000, 100_000], labels: ['20KB', '100KB'] }),
    ).toEqual({
      title: 'workload.size (KB)',
      ticks: ['20', '100'],
    });
    expect(
      axisTicks({ key: 'network.rtt', unit: 'ms', values: [20, 300], labels: ['20ms', '0.3s'] }),
    ).toEqual({
      title: 'network.rtt (ms)',
      ticks: ['20', '300'],
    });
    expect(axisTicks({ key: 'workload.concurrency', unit: '', values: [1, 10], labels: [1, 10] }).title).toBe(
      'workload.concurrency',
    );
  });

  it('keep the labels as written when the display unit would make two values look equal', () => {
    expect(
      axisTicks({
        key: 'network.rate',
        unit: 'kbit/s',
        values: [1000, 1000.0001],
        labels: ['1mbit', '1000.0001kbit'],
      }),
    ).toEqual({ title: 'network.rate', ticks: ['1mbit', '1000.0001kbit'] });
  });
});

describe('one-key sweep', () => {
  it('keeps its line figure and gets no heatmap', () => {
    const runs = [0, 1].flatMap((point) =>
      (['h2', 'h3'] as const).flatMap((p, k) =>
        runsWithWorkload(p, [100 + point * 10 + k, 101 + point * 10 + k], point * 4 + k * 2, {
          sweepIndex: point,
        }),
      ),
    );
    const r = result(runs, {
      protocols: ['h2', 'h3'],
      extraYaml: 'sweep:\n  key: workload.concurrency\n  values: [1, 2]\n',
    });
    const specs = figureSpecs(r);
    expect(Object.keys(specs).filter((n) => n.startsWith('heatmap'))).toEqual([]);
    expect(Object.keys(specs)).toContain('completion-ci');
    const sweep = specs.sweep as unknown as {
      title: string;
      data: { values: { value: number; protocol: string; metric: string; median: number }[] };
      spec: { layer: { encoding: { x: { title: string } } }[] };
    };
    expect(sweep.title).toBe('Metrics against workload.concurrency (medians with 95% CIs)');
    expect(sweep.spec.layer[1]?.encoding.x.title).toBe('workload.concurrency');
    expect(
      sweep.data.values
        .filter((v) => v.metric === 'workload completion')
        .map((v) => [v.value, v.protocol, v.median]),
    ).toEqual([
      [1, 'h2', 100.5],
      [1, 'h3', 101.5],
      [2, 'h2', 110.5],
      [2, 'h3', 111.5],
    ]);
    expect(heatmapFigure(r, 'workloadMs')).toBeNull();
  });
});

describe('the text of a grid result', () => {
  it('names each pair once with its points, and says cells, not values', () => {
    const r = gridResult();
    const words = [...headlineBlock(r), openingParagraph(r)].join('\n');
    // 6 cells × 3 pairs of every metric have a verdict here; none lists a cell by name.
    expect(words).not.toMatch(/workload\.concurrency × workload\.requests = \d+ × \d+: h3 vs/);
    expect(sweepNote(r)).toBe(
      'This is a sweep over workload.concurrency × workload.requests (6 cells): protocols are compared at each cell separately; runs of different cells are never pooled into one verdict.',
    );
    expect(openingParagraph(r)).toContain('at each of 6 cells of workload.concurrency × workload.requests');
    expect(words).toMatch(/\(h3 vs h2, h3 vs h1, h2 vs h1 at every point\)|at \d+ of 6 points/);
  });
});
