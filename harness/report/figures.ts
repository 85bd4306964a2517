/**
 * The figures of a result as Vega-Lite specs (rendered to SVG by svg.ts). Builders only map
 * numbers computed in harness/measure/ onto marks; nothing here computes a metric.
 */
import type { TopLevelSpec } from 'vega-lite';
import { analyzeRun } from '../measure/analysis.js';
import type { Estimate } from '../../core/bootstrap.js';
import { histogramCdf } from '../measure/histograms.js';
import { METRICS } from '../measure/metrics.js';
import { representativeRun, swimlanes } from '../measure/swimlanes.js';
import { gridCell, type Protocol, type SweepAxis } from '../scenario/schema.js';
import { sweepPointLabel } from './describe.js';
import type { ResultFile } from '../model/result.js';
import { runInput } from '../measure/result-summary.js';
import type { MetricName } from '../model/metrics.js';
import { dropTimes, senderSeries } from '../measure/telemetry.js';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const PROTOCOL_SCALE = { domain: ['h1', 'h2', 'h3'], range: ['#7f7f7f', '#1f77b4', '#d62728'] };
const CONFIG = {
  font: 'Helvetica, Arial, sans-serif',
  background: 'white',
  axis: { labelFontSize: 11, titleFontSize: 12, grid: true, gridColor: '#eee' },
  legend: { labelFontSize: 11, titleFontSize: 12 },
  title: { fontSize: 14, anchor: 'start' as const },
  view: { stroke: '#ccc' },
};

/** File name (without .svg) → what the figure shows; the order figures appear in the reports. */
export const FIGURES = {
  'latency-cdf':
    'Latency CDFs per protocol (connection setup, TTFB, request completion), pooled over ok runs',
  'completion-ci': 'Completion and TTFB per protocol: medians over runs with 95% bootstrap intervals',
  'hol-ci': 'Head-of-line blocking per protocol: medians over runs with 95% bootstrap intervals',
  swimlanes: 'Per-stream delivery timelines of a representative run per protocol (stalls red, losses orange)',
  sweep: 'Metrics against the swept parameter (medians with 95% intervals)',
  'heatmap-workload':
    'Workload completion (page-load time for a page load) per grid cell: the median per protocol, and the h3/h2 paired ratio (dot: its 95% interval excludes 1)',
  'heatmap-completion-p50':
    'Request completion p50 per grid cell: the median per protocol, and the h3/h2 paired ratio (dot: its 95% interval excludes 1)',
  cwnd: 'Congestion window (and bytes in flight) of the sender (server) over time in a representative run per protocol, one line per connection; ticks: packets the emulator dropped',
  'congestion-events':
    'Congestion events per 100 packets dropped server → client per protocol: medians over runs with 95% bootstrap intervals',
} as const;
export type FigureName = keyof typeof FIGURES;

function protocolsOf(result: ResultFile): Protocol[] {
  return result.scenario.protocols.filter((p) => result.summary.protocols[p] !== undefined);
}

function latencyCdf(result: ResultFile): TopLevelSpec | null {
  const rows: { protocol: string; metric: string; percentile: number; valueMs: number }[] = [];
  const metrics = [
    ['connectMs', 'connection setup'],
    ['ttfbMs', 'TTFB'],
    ['completionMs', 'request completion'],
  ] as const;
  for (const p of protocolsOf(result)) {
    const h = result.summary.protocols[p]?.histograms;
    if (!h) continue;
    for (const [k, label] of metrics) {
      for (const pt of histogramCdf(h[k].encoded)) {
        if (pt.valueMs > 0)
          rows.push({ protocol: p, metric: label, percentile: pt.percentile, valueMs: pt.valueMs });
      }
    }
  }
  if (rows.length === 0) return null;
  return {
    $schema: SCHEMA,
    title: result.scenario.sweep
      ? `Latency CDF (pooled over ok runs of all ${result.scenario.sweep.values.length} ${result.scenario.sweep.grid ? 'cells' : 'values'} of ${result.scenario.sweep.key}, from HDR histograms)`
      : 'Latency CDF (pooled over ok runs, from HDR histograms)',
    config: CONFIG,
    data: { values: rows },
    facet: { column: { field: 'metric', type: 'nominal', sort: metrics.map((m) => m[1]), title: null } },
    spec: {
      width: 240,
      height: 200,
      mark: { type: 'line', interpolate: 'step-after', strokeWidth: 1.8 },
      encoding: {
        x: { field: 'valueMs', type: 'quantitative', scale: { type: 'log' }, title: 'ms (log scale)' },
        y: { field: 'percentile', type: 'quantitative', scale: { domain: [0, 100] }, title: 'percentile' },
        color: { field: 'protocol', type: 'nominal', scale: PROTOCOL_SCALE, title: 'protocol' },
      },
    },
    resolve: { scale: { x: 'independent' } },
  };
}

/**
 * Medians with intervals per protocol, one panel per metric; for a sweep, one row of panels per
 * point (the points are never pooled). None for a grid: a row of panels per cell (up to 100) would
 * make a figure thousands of pixels tall; its heatmaps show the medians, its tables the intervals.
 */
function estimatesFigure(
  result: ResultFile,
  metrics: readonly MetricName[],
  title: string,
): TopLevelSpec | null {
  if (result.scenario.sweep?.grid) return null;
  const rows: {
    metric: string;
    point: string;
    protocol: string;
    median: number;
    lo: number | null;
    hi: number | null;
  }[] = [];
  const sources: { point: string; protocols: Partial<Record<Protocol, Record<MetricName, Estimate>>> }[] =
    result.summary.sweep && result.scenario.sweep
      ? result.summary.sweep.map((pt, i) => ({ point: sweepPointLabel(result, i), protocols: pt.protocols }))
      : [
          {
            point: '',
            protocols: Object.fromEntries(
              protocolsOf(result).map((p) => [p, result.summary.protocols[p]?.metrics]),
            ),
          },
        ];
  for (const src of sources) {
    for (const p of protocolsOf(result)) {
      const est = src.protocols[p];
      if (!est) continue;
      for (const m of metrics) {
        const e = est[m];
        if (e.median === null) continue;
        const def = METRICS[m];
        rows.push({
          metric: `${def.label}${def.unit === 'share' ? '' : ` (${def.unit})`}`,
          point: src.point,
          protocol: p,
          median: e.median,
          lo: e.ci95?.[0] ?? null,
          hi: e.ci95?.[1] ?? null,
        });
      }
    }
  }
  if (rows.length === 0) return null;
  const labels = [...new Set(rows.map((r) => r.metric))];
  const sweep = sources.length > 1 || sources[0]?.point !== '';
  return {
    $schema: SCHEMA,
    title,
    config: CONFIG,
    data: { values: rows },
    facet: {
      column: { field: 'metric', type: 'nominal', sort: labels, title: null },
      ...(sweep
        ? { row: { field: 'point', type: 'nominal', sort: sources.map((x) => x.point), title: null } }
        : {}),
    },
    spec: {
      width: 130,
      height: 200,
      layer: [
        {
          transform: [{ filter: 'datum.lo != null && datum.hi != null' }],
          mark: { type: 'rule', strokeWidth: 2 },
          encoding: {
            x: { field: 'protocol', type: 'nominal', title: null, sort: ['h1', 'h2', 'h3'] },
            y: { field: 'lo', type: 'quantitative', title: 'median with 95% CI', scale: { zero: true } },
            y2: { field: 'hi' },
            color: { field: 'protocol', type: 'nominal', scale: PROTOCOL_SCALE, legend: null },
          },
        },
        {
          mark: { type: 'point', filled: true, size: 70 },
          encoding: {
            x: { field: 'protocol', type: 'nominal', sort: ['h1', 'h2', 'h3'] },
            y: { field: 'median', type: 'quantitative' },
            color: { field: 'protocol', type: 'nominal', scale: PROTOCOL_SCALE, legend: null },
          },
        },
      ],
    },
    resolve: { scale: { y: 'independent' } },
  };
}

const KIND_SCALE = {
  domain: ['request in flight', 'body data received', 'stall', 'synchronized stall', 'packet lost'],
  range: ['#d9d9d9', '#1f77b4', '#ff9896', '#d62728', '#ff7f0e'],
};

function swimlaneFigure(result: ResultFile): TopLevelSpec | null {
  const panels: TopLevelSpec[] = [];
  for (const p of protocolsOf(result)) {
    const rows = result.summary.runs.filter((r) => r.protocol === p);
    const rep = representativeRun(rows);
    const run = rep ? result.runs.find((r) => r.index === rep.index) : undefined;
    if (!rep || !run?.client) continue;
    const lanes = swimlanes(analyzeRun(runInput(run, result.scenario)));
    if (lanes.lanes.length === 0) continue;
    const height = Math.min(600, Math.max(120, lanes.lanes.length * 3));
    const y = {
      field: 'lane',
      type: 'quantitative' as const,
      title: 'stream (by connection, then start)',
      axis: { tickMinStep: 1 },
      scale: { domain: [-1, lanes.lanes.length] },
    };
    const layers: object[] = [
      {
        data: { values: lanes.lanes },
        mark: { type: 'rule', strokeWidth: 1 },
        encoding: {
          x: { field: 'from', type: 'quantitative', title: 'ms since t0' },
          x2: { field: 'to' },
          y,
          color: { datum: 'request in flight', type: 'nominal', scale: KIND_SCALE, title: null },
        },
      },
      {
        data: { values: lanes.points },
        mark: {
          type: 'tick',
          orient: 'vertical',
          size: Math.max(2, Math.min(8, height / lanes.lanes.length)),
          thickness: 1,
        },
        encoding: {
          x: { field: 't', type: 'quantitative' },
          y,
          color: { datum: 'body data received', type: 'nominal' },
        },
      },
    ];
    if (lanes.stalls.length) {
      layers.push({
        data: {
          values: lanes.stalls.map((s) => ({ ...s, kind: s.synchronized ? 'synchronized stall' : 'stall' })),
        },
        mark: { type: 'rule', strokeWidth: 2.5 },
        encoding: {
          x: { field: 'start', type: 'quantitative' },
          x2: { field: 'end' },
          y,
          color: { field: 'kind', type: 'nominal' },
        },
      });
    }
    if (lanes.losses.length) {
      layers.push({
        data: { values: lanes.losses.map((t) => ({ t })) },
        mark: { type: 'rule', strokeDash: [3, 2], strokeWidth: 1, opacity: 0.8 },
        encoding: {
          x: { field: 't', type: 'quantitative' },
          color: { datum: 'packet lost', type: 'nominal' },
        },
      });
    }
    const hol = rep.hol;
    const sub = hol
      ? `${hol.stallCount} stalls, ${hol.stallMs.toFixed(0)} stream-ms, synchronized share ${hol.synchronizedStallShare === null ? 'n/a (no contended stall)' : `${(hol.synchronizedStallShare * 100).toFixed(0)}%`}` +
        (hol.lossEvents === null ? ', no loss log' : `, ${hol.lossEvents} losses`) +
        `; threshold ${hol.thresholdMs.toFixed(1)} ms`
      : '';
    panels.push(runPanel(result, p, rep, sub, height, layers));
  }
  return stackedPanels(panels);
}

/** One panel of a per-run figure, titled with the representative run it shows. */
function runPanel(
  result: ResultFile,
  p: string,
  rep: { index: number; repetition: number; sweepIndex?: number | undefined; workloadMs: number | null },
  subtitle: string,
  height: number,
  layers: object[],
): TopLevelSpec {
  const at = rep.sweepIndex === undefined ? '' : `, ${sweepPointLabel(result, rep.sweepIndex)}`;
  return {
    title: {
      text: `${p}: run ${rep.index} (repetition ${rep.repetition + 1}${at}, median workload completion ${rep.workloadMs?.toFixed(0) ?? '?'} ms)`,
      subtitle,
    },
    width: 720,
    height,
    layer: layers,
  } as unknown as TopLevelSpec;
}

/** Panels one above the other sharing the colour scale; null without any. */
function stackedPanels(panels: TopLevelSpec[]): TopLevelSpec | null {
  if (panels.length === 0) return null;
  return {
    $schema: SCHEMA,
    config: CONFIG,
    vconcat: panels,
    resolve: { scale: { color: 'shared' } },
  } as unknown as TopLevelSpec;
}

const SWEEP_METRICS: readonly MetricName[] = [
  'workloadMs',
  'completionP50Ms',
  'completionP99Ms',
  'stallMs',
  'synchronizedStallShare',
];

/** Metrics against the swept value: a one-key sweep only (a grid gets heatmaps). */
function sweepFigure(result: ResultFile): TopLevelSpec | null {
  const sweep = result.scenario.sweep;
  const points = result.summary.sweep;
  if (!sweep || sweep.grid || !points?.length) return null;
  const rows: {
    value: number;
    protocol: string;
    metric: string;
    median: number;
    lo: number | null;
    hi: number | null;
  }[] = [];
  for (const pt of points) {
    for (const [p, est] of Object.entries(pt.protocols)) {
      for (const m of SWEEP_METRICS) {
        const e = est[m];
        if (e.median === null) continue;
        rows.push({
          value: pt.value,
          protocol: p,
          metric: METRICS[m].label,
          median: e.median,
          lo: e.ci95?.[0] ?? null,
          hi: e.ci95?.[1] ?? null,
        });
      }
    }
  }
  if (rows.length === 0) return null;
  const x = {
    field: 'value',
    type: 'quantitative' as const,
    title: `${sweep.key}${sweep.unit ? ` (${sweep.unit})` : ''}`,
  };
  const color = { field: 'protocol', type: 'nominal' as const, scale: PROTOCOL_SCALE };
  return {
    $schema: SCHEMA,
    title: `Metrics against ${sweep.key} (medians with 95% CIs)`,
    config: CONFIG,
    data: { values: rows },
    facet: {
      column: {
        field: 'metric',
        type: 'nominal',
        sort: SWEEP_METRICS.map((m) => METRICS[m].label),
        title: null,
      },
    },
    spec: {
      width: 180,
      height: 180,
      layer: [
        {
          transform: [{ filter: 'datum.lo != null && datum.hi != null' }],
          mark: { type: 'rule' },
          encoding: {
            x,
            y: { field: 'lo', type: 'quantitative', title: 'median' },
            y2: { field: 'hi' },
            color,
          },
        },
        {
          mark: { type: 'line', point: true },
          encoding: { x, y: { field: 'median', type: 'quantitative' }, color },
        },
      ],
    },
    resolve: { scale: { y: 'independent' } },
  };
}

/** The heatmaps of a grid sweep: figure name → metric. */
const HEATMAPS = [
  ['heatmap-workload', 'workloadMs'],
  ['heatmap-completion-p50', 'completionP50Ms'],
] as const satisfies readonly (readonly [FigureName, MetricName])[];

/** The ratio a grid's heatmaps show: the first pair whose protocols both ran. */
const RATIO_PAIRS = [
  ['h3', 'h2'],
  ['h3', 'h1'],
  ['h2', 'h1'],
] as const;

/**
 * A grid axis as the heatmaps label it: its values in a display unit (rates in Mbit/s from 1 Mbit/s
 * on, sizes in KB or MB) and the axis title "network.rate (Mbit/s)". Values that this would make
 * look equal keep their labels as written.
 */
export function axisTicks(axis: SweepAxis): { title: string; ticks: string[] } {
  const min = Math.min(...axis.values);
  const [div, unit] =
    axis.unit === 'kbit/s'
      ? min >= 1000
        ? [1000, 'Mbit/s']
        : [1, 'kbit/s']
      : axis.unit === 'B'
        ? min >= 1e6
          ? [1e6, 'MB']
          : min >= 1e3
            ? [1e3, 'KB']
            : [1, 'B']
        : [1, axis.unit];
  const ticks = axis.values.map((v) => String(+(v / div).toFixed(3)));
  if (new Set(ticks).size < ticks.length) return { title: axis.key, ticks: axis.labels.map(String) };
  return { title: unit ? `${axis.key} (${unit})` : axis.key, ticks };
}

/** A median as a cell label: whole numbers from 10 on, one decimal below. */
function cellLabel(v: number): string {
  return Math.abs(v) >= 10 ? v.toFixed(0) : v.toFixed(1);
}

/** Pixels per heatmap cell. */
const CELL = { width: 50, height: 30 };

/**
 * Heatmaps of one metric over a grid sweep: the median per cell for each protocol (one shared colour
 * scale, so colours compare across protocols; log when every median is positive), and the paired
 * ratio of h3/h2 per cell (`summary.sweep[i].comparisons`: the paired estimate, on a log scale
 * centred on 1; a dot where its 95% interval excludes 1). Rows are the grid's first key (largest
 * value on top), columns its second. Nothing is computed here but colours and labels.
 */
export function heatmapFigure(result: ResultFile, metric: MetricName): TopLevelSpec | null {
  const sweep = result.scenario.sweep;
  const grid = sweep?.grid;
  const points = result.summary.sweep;
  if (!grid || !points?.length) return null;
  const def = METRICS[metric];
  const unit = def.unit === 'share' ? '' : ` (${def.unit})`;
  // A page load's workload completion is its page-load time (last response of the page complete).
  const label =
    metric === 'workloadMs' && result.scenario.workload.type === 'page-load'
      ? 'page-load time (workload completion)'
      : def.label;
  const rows = axisTicks(grid.rows);
  const cols = axisTicks(grid.columns);
  const cellOf = (i: number) => {
    const { row, column } = gridCell(grid, i);
    return { row: rows.ticks[row] ?? '', column: cols.ticks[column] ?? '' };
  };
  const medians: { protocol: string; row: string; column: string; median: number; label: string }[] = [];
  points.forEach((pt, i) => {
    for (const p of protocolsOf(result)) {
      const m = pt.protocols[p]?.[metric].median;
      if (m === null || m === undefined) continue;
      medians.push({ protocol: p, ...cellOf(i), median: m, label: cellLabel(m) });
    }
  });
  if (medians.length === 0) return null;
  const values = medians.map((r) => r.median);
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const log = lo > 0 && hi > lo;
  // Label colour: white on the darker half of the scale.
  const position = (v: number) =>
    hi === lo ? 0 : log ? Math.log(v / lo) / Math.log(hi / lo) : (v - lo) / (hi - lo);
  // No grid lines: on a band axis they would cross the cells' labels.
  const x = {
    field: 'column',
    type: 'ordinal' as const,
    sort: cols.ticks,
    title: cols.title,
    axis: { grid: false, labelAngle: 0 },
  };
  const y = {
    field: 'row',
    type: 'ordinal' as const,
    sort: [...rows.ticks].reverse(),
    title: rows.title,
    axis: { grid: false },
  };
  const size = { width: { step: CELL.width }, height: { step: CELL.height } };
  // As tall as the panel, but never so short that the legend's labels overlap.
  const legendLength = Math.max(150, rows.ticks.length * CELL.height);
  const text = (field: string) => ({
    mark: { type: 'text', fontSize: 10 },
    encoding: {
      x,
      y,
      text: { field },
      color: {
        condition: { test: 'datum.dark', value: 'white' },
        value: 'black',
      },
    },
  });
  const panels: object[] = [
    {
      data: { values: medians.map((r) => ({ ...r, dark: position(r.median) > 0.6 })) },
      title: { text: `median ${label}${unit} per cell`, fontSize: 12 },
      facet: {
        column: {
          field: 'protocol',
          type: 'nominal',
          sort: ['h1', 'h2', 'h3'],
          title: null,
          header: { labelFontSize: 13, labelFontWeight: 'bold' },
        },
      },
      spec: {
        ...size,
        layer: [
          {
            mark: { type: 'rect', stroke: 'white', strokeWidth: 1 },
            encoding: {
              x,
              y,
              color: {
                field: 'median',
                type: 'quantitative',
                title: `median${unit}`,
                scale: { type: log ? 'log' : 'linear', domain: [lo, hi], scheme: 'yelloworangered' },
                legend: { gradientLength: legendLength, format: ',.0f' },
              },
            },
          },
          text('label'),
        ],
      },
    },
  ];
  const pair = RATIO_PAIRS.find(
    ([a, b]) => result.scenario.protocols.includes(a) && result.scenario.protocols.includes(b),
  );
  if (pair) {
    const [a, b] = pair;
    const ratios: { row: string; column: string; ratio: number; label: string; mark: string | null }[] = [];
    points.forEach((pt, i) => {
      const c = pt.comparisons.find((k) => k.a === a && k.b === b && k.metric === metric);
      if (!c || c.kind !== 'ratio' || c.value === null || !(c.value > 0)) return;
      ratios.push({
        ...cellOf(i),
        ratio: c.value,
        label: c.value.toFixed(2),
        mark: c.significant === true ? 'excludes 1' : null,
      });
    });
    if (ratios.length) {
      // A scale symmetric around 1 in log terms (0.5 and 2 equally far), at least 0.8..1.25.
      const span = Math.max(1.25, ...ratios.map((r) => Math.max(r.ratio, 1 / r.ratio)));
      const better = def.better === 'lower' ? 'below 1' : 'above 1';
      const dot = { x: CELL.width * 0.36, y: -CELL.height * 0.3 };
      panels.push({
        data: {
          values: ratios.map((r) => ({ ...r, dark: Math.abs(Math.log(r.ratio)) / Math.log(span) > 0.6 })),
        },
        title: {
          text: `${a}/${b} ratio of ${label} per cell (paired estimate; ${better}: ${a} better)`,
          fontSize: 12,
        },
        ...size,
        layer: [
          {
            mark: { type: 'rect', stroke: 'white', strokeWidth: 1 },
            encoding: {
              x,
              y,
              color: {
                field: 'ratio',
                type: 'quantitative',
                title: `${a}/${b}`,
                scale: {
                  type: 'log',
                  domain: [1 / span, span],
                  scheme: 'blueorange',
                  // Blue is always "a better": low ratios for a lower-is-better metric.
                  reverse: def.better === 'higher',
                },
                legend: {
                  gradientLength: legendLength,
                  values: [1 / span, 1 / Math.sqrt(span), 1, Math.sqrt(span), span],
                  format: '.2f',
                },
              },
            },
          },
          text('label'),
          {
            transform: [{ filter: 'datum.mark != null' }],
            // Black with a white rim: visible on the darkest and the lightest cells.
            mark: {
              type: 'point',
              filled: true,
              size: 26,
              xOffset: dot.x,
              yOffset: dot.y,
              opacity: 1,
              stroke: 'white',
              strokeWidth: 1,
            },
            encoding: {
              x,
              y,
              color: { value: 'black' },
              shape: {
                field: 'mark',
                type: 'nominal',
                scale: { domain: ['excludes 1'], range: ['circle'] },
                title: `${a}/${b} 95% interval`,
              },
            },
          },
        ],
      });
    }
  }
  const cells = grid.rows.values.length * grid.columns.values.length;
  return {
    $schema: SCHEMA,
    title: {
      text: `${label}${unit} over ${grid.rows.key} × ${grid.columns.key} (${cells} cells)`,
      subtitle: [
        'Each cell: median over its ok runs. One colour scale for every protocol. Ratio: paired by repetition within the cell;',
        'dot = its 95% interval excludes 1; no dot = it includes 1, or no verdict (fewer than 5 complete pairs, unequal failed runs).',
      ],
    },
    config: CONFIG,
    vconcat: panels,
    resolve: { scale: { color: 'independent' }, legend: { color: 'independent' } },
  } as unknown as TopLevelSpec;
}

const WINDOW_SCALE = { domain: ['congestion window', 'bytes in flight'], range: ['#1f77b4', '#ff7f0e'] };

/**
 * One panel per protocol: the sender's (server's) congestion window, and bytes in flight where the
 * stack reports it, of the representative run (workload completion closest to the median: the run
 * the swimlanes draw), step lines because samples are stored on change; the emulator's drops as ticks
 * along the bottom (server → client when recorded, else both directions).
 */
function cwndFigure(result: ResultFile): TopLevelSpec | null {
  const panels: TopLevelSpec[] = [];
  for (const p of protocolsOf(result)) {
    const rep = representativeRun(result.summary.runs.filter((r) => r.protocol === p));
    const run = rep ? result.runs.find((r) => r.index === rep.index) : undefined;
    if (!rep || !run) continue;
    const series = senderSeries(run).filter((x) => x.cwndBytes?.length);
    if (series.length === 0) continue;
    const rows: { t: number; kB: number; column: string; connection: string }[] = [];
    series.forEach((x, c) => {
      const name = series.length > 1 ? `connection ${c + 1}` : 'connection';
      x.t.forEach((t, i) => {
        const w = x.cwndBytes?.[i];
        if (w !== undefined) rows.push({ t, kB: w / 1000, column: 'congestion window', connection: name });
        const f = x.bytesInFlight?.[i];
        if (f !== undefined) rows.push({ t, kB: f / 1000, column: 'bytes in flight', connection: name });
      });
    });
    const drops = dropTimes(run.link);
    const layers: object[] = [
      {
        data: { values: rows },
        mark: { type: 'line', interpolate: 'step-after', strokeWidth: 1.2 },
        encoding: {
          x: { field: 't', type: 'quantitative', title: 'ms since t0' },
          y: { field: 'kB', type: 'quantitative', title: 'kB' },
          color: { field: 'column', type: 'nominal', scale: WINDOW_SCALE, title: null },
          detail: { field: 'connection', type: 'nominal' },
          opacity: { value: 0.85 },
        },
      },
    ];
    if (drops && drops.times.length) {
      layers.push({
        data: { values: drops.times.map((t) => ({ t })) },
        mark: { type: 'tick', orient: 'vertical', color: '#d62728', size: 10, thickness: 1 },
        encoding: { x: { field: 't', type: 'quantitative' }, y: { datum: 0 } },
      });
    }
    const dropWords = !drops
      ? 'no drop log'
      : `${drops.times.length} drops${drops.direction === 'down' ? ' server → client' : ' (both directions)'} (red ticks)`;
    const sub = `${series.length} server connection${series.length === 1 ? '' : 's'}, ${series[0]?.source ?? ''}; ${dropWords}`;
    panels.push(runPanel(result, p, rep, sub, 180, layers));
  }
  return stackedPanels(panels);
}

/** Bars: congestion events per 100 downlink drops per protocol (median over runs) with interval whiskers. */
function congestionEventsFigure(result: ResultFile): TopLevelSpec | null {
  const rows: { protocol: string; median: number; lo: number | null; hi: number | null; n: number }[] = [];
  for (const p of protocolsOf(result)) {
    const e = result.summary.protocols[p]?.transport?.congestionEventsPer100Losses;
    if (!e || e.median === null) continue;
    rows.push({ protocol: p, median: e.median, lo: e.ci95?.[0] ?? null, hi: e.ci95?.[1] ?? null, n: e.n });
  }
  if (rows.length === 0) return null;
  const x = { field: 'protocol', type: 'nominal' as const, sort: ['h1', 'h2', 'h3'], title: null };
  return {
    $schema: SCHEMA,
    title: 'Congestion events per 100 packets dropped server → client (medians over runs, 95% CIs)',
    config: CONFIG,
    data: { values: rows },
    width: 240,
    height: 220,
    layer: [
      {
        mark: { type: 'bar', opacity: 0.8 },
        encoding: {
          x,
          y: { field: 'median', type: 'quantitative', title: 'events per 100 drops', scale: { zero: true } },
          color: { field: 'protocol', type: 'nominal', scale: PROTOCOL_SCALE, legend: null },
        },
      },
      {
        transform: [{ filter: 'datum.lo != null && datum.hi != null' }],
        mark: { type: 'rule', strokeWidth: 2, color: '#222' },
        encoding: { x, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } },
      },
    ],
  } as unknown as TopLevelSpec;
}

/** The figures of a result that have data, by name. */
export function figureSpecs(result: ResultFile): Partial<Record<FigureName, TopLevelSpec>> {
  const out: Partial<Record<FigureName, TopLevelSpec>> = {};
  const add = (name: FigureName, spec: TopLevelSpec | null) => {
    if (spec) out[name] = spec;
  };
  add('latency-cdf', latencyCdf(result));
  add(
    'completion-ci',
    estimatesFigure(
      result,
      ['workloadMs', 'completionP50Ms', 'completionP99Ms', 'ttfbP50Ms', 'connectP50Ms'],
      'Completion and TTFB: medians over runs with 95% bootstrap CIs',
    ),
  );
  add(
    'hol-ci',
    estimatesFigure(
      result,
      ['stallCount', 'stallMs', 'synchronizedStallShare', 'collateralStallMs'],
      'Head-of-line blocking: medians over runs with 95% bootstrap CIs',
    ),
  );
  add('swimlanes', swimlaneFigure(result));
  add('sweep', sweepFigure(result));
  for (const [name, metric] of HEATMAPS) add(name, heatmapFigure(result, metric));
  add('cwnd', cwndFigure(result));
  add('congestion-events', congestionEventsFigure(result));
  return out;
}
