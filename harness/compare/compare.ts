/**
 * `h3bench compare`: baseline vs current, per scenario × sweep point × protocol × metric. Reads
 * result files only. When both results ran with the same seeds (scenario seed and network seed),
 * repetition i of the baseline and repetition i of the current run met the same emulator and
 * workload draws, so they are paired by (protocol, repetition, sweep point) and the interval is the
 * paired one of protocol contrasts (contrastMetric with `pairs`: trimmed mean of per-repetition
 * log-ratios, Yuen's interval), which cancels the condition shared by the two runs of a repetition.
 * Otherwise (different seeds, or fewer than MIN_RUNS_FOR_VERDICT complete pairs) each side's median
 * is bootstrapped on its own, with a note. A change is a *regression* when its whole 95%
 * interval lies on the worse side beyond the threshold (e.g. every plausible slowdown is
 * above 5%): a gate that must not cry wolf every night, at the price of missing changes barely above
 * the threshold. *Improvement* symmetrically; anything else is *no change*. Fewer than
 * MIN_RUNS_FOR_VERDICT ok runs on a side gives *insufficient data*, different numbers of failed runs
 * *not comparable*; neither gates by itself.
 *
 * The metrics are over ok runs and ok requests, so failures are checked apart (reliability rows):
 * a higher share of failed runs or of failed requests than the baseline's is a regression.
 *
 * A sweep's points are compared point by point (never pooled), and results are only compared when
 * they measured the same thing: same network, transport, workload, sweep and emulator backend.
 * A partial result (schema 4 `partial`: the scenario stopped early) is refused unless the caller
 * allows it (`--allow-partial`): its fewer runs, and the order they stopped in, are not the plan.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { ExitCode, H3BenchError } from '../../core/errors.js';
import { seedOf } from '../../core/bootstrap.js';
import { MIN_RUNS_FOR_VERDICT, contrastMetric, formatAmount, metricDef } from '../measure/metrics.js';
import { failedRunCount, metricValues, repetitionPairs, runsAtPoint } from '../measure/summary.js';
import { sweepPointLabel } from '../report/describe.js';
import { readResult, resultPath } from '../report/read.js';
import type { ResultFile } from '../model/result.js';
import type { AnyMetricName, RunMetrics } from '../model/metrics.js';

/** Metrics compared unless --metric says otherwise. */
export const DEFAULT_COMPARE_METRICS: readonly AnyMetricName[] = [
  'workloadMs',
  'completionP50Ms',
  'completionP99Ms',
  'ttfbP50Ms',
  'connectP50Ms',
];

/** Inputs that cannot be compared (exit 2). */
export class CompareInputError extends H3BenchError {
  constructor(message: string) {
    super('BENCH_COMPARE_INPUT', message, ExitCode.BadInput);
  }
}

export type CompareVerdict =
  'regression' | 'improvement' | 'no change' | 'insufficient data' | 'not comparable';

/** Where in a sweep a row is: index into scenario.sweep.values, the value, and "network.loss = 1%". */
export interface SweepPoint {
  index: number;
  value: number;
  label: string;
}

export interface CompareRow {
  scenario: string;
  /** The sweep point compared; absent when the scenario is not a sweep. */
  point?: SweepPoint;
  protocol: string;
  metric: string;
  unit: string;
  /** Medians over ok runs (metric unit). */
  baselineMedian: number | null;
  currentMedian: number | null;
  /** Runs with a value on each side. */
  nBaseline: number;
  nCurrent: number;
  /** Failed runs on each side (left out of the medians); different counts make the row not comparable. */
  failedBaseline: number;
  failedCurrent: number;
  /** 'ratio': current/baseline; 'difference': current - baseline (baseline median 0). */
  kind: 'ratio' | 'difference';
  value: number | null;
  ci95: [number, number] | null;
  /** (current - baseline) / baseline; null when the baseline median is 0. */
  relativeChange: number | null;
  /** 95% interval of relativeChange; null without interval or with a zero baseline median. */
  relativeCi95: [number, number] | null;
  verdict: CompareVerdict;
  /** Plain-language statement of the change. */
  text: string;
  /**
   * 'paired': over the complete (protocol, repetition, point) pairs of baseline and current runs
   * that shared their seeds; 'unpaired': each side's median bootstrapped on its own (different
   * seeds, or fewer than MIN_RUNS_FOR_VERDICT complete pairs).
   */
  method: 'paired' | 'unpaired';
  /** Complete pairs used (0 when the seeds differ). */
  pairs: number;
}

/**
 * Whether a scenario's results could be paired by repetition: same scenario seed (workload draws)
 * and same network seed (emulator draws), so repetition i met the same conditions on both sides.
 */
export interface Pairing {
  sameSeeds: boolean;
  /** Smallest and largest number of complete pairs over the rows (0 when not paired). */
  minPairs: number;
  maxPairs: number;
  /** Rows compared paired / unpaired. */
  pairedRows: number;
  unpairedRows: number;
  /** One line for the reports: "paired by repetition: 5 pairs" or why not. */
  text: string;
}

/**
 * A failure check of one protocol (at one sweep point): the share of failed runs, or of failed
 * requests (over the runs that have a client report), baseline vs current. Any rise is a regression:
 * failures are not noise to be tolerated, and the latency rows cannot see them (ok runs and ok
 * requests only).
 */
export interface ReliabilityRow {
  scenario: string;
  point?: SweepPoint;
  protocol: string;
  check: 'failed runs' | 'failed requests';
  baseline: { failed: number; of: number };
  current: { failed: number; of: number };
  verdict: 'regression' | 'improvement' | 'no change' | 'insufficient data';
  text: string;
}

export interface ScenarioComparison {
  scenario: string;
  baseline: { runId: string; scenarioHash: string; createdAt: string; commit: string | null };
  current: { runId: string; scenarioHash: string; createdAt: string; commit: string | null };
  rows: CompareRow[];
  reliability: ReliabilityRow[];
  pairing: Pairing;
  notes: string[];
}

export interface Comparison {
  /** Threshold on the relative change, as a fraction (0.05 = 5%). */
  threshold: number;
  metrics: string[];
  scenarios: ScenarioComparison[];
  notes: string[];
  regressions: number;
  improvements: number;
}

/**
 * The emulator backends the runs actually used (`runs[].link.provenance.backend`, sorted): with
 * `network.backend: auto` the machine decides between netem and linkem, which are not the same
 * link. Empty when no run recorded one (every run failed before its link came up).
 */
export function backendsUsed(r: ResultFile): string[] {
  const b = new Set<string>();
  for (const run of r.runs) {
    const v = run.link.provenance?.backend;
    if (v !== undefined) b.add(v);
  }
  return [...b].sort();
}

interface ComparedAxis {
  key: string;
  unit: string;
  values: number[];
}

/**
 * The sweep of a result as compared: key, unit and values, and a grid's two axes (whose point-level
 * values are only cell indices); null when not a sweep.
 */
function sweepOf(r: ResultFile): (ComparedAxis & { grid?: ComparedAxis[] }) | null {
  const sw = r.scenario.sweep;
  if (!sw) return null;
  const axis = (a: ComparedAxis): ComparedAxis => ({ key: a.key, unit: a.unit, values: [...a.values] });
  return { ...axis(sw), ...(sw.grid ? { grid: [axis(sw.grid.rows), axis(sw.grid.columns)] } : {}) };
}

/**
 * The parts of a result that decide what is measured; results must agree on them to be compared:
 * the resolved network, transport and workload, the sweep (key, unit, values) and the emulator
 * backends actually used.
 */
export function measurementKey(r: ResultFile): string {
  const s = r.scenario;
  const canon = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(canon)
      : v !== null && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, canon((v as Record<string, unknown>)[k])]),
          )
        : v;
  return JSON.stringify(
    canon({
      network: networkOf(r),
      transport: s.transport,
      workload: workloadOf(r),
      sweep: sweepOf(r),
      backendsUsed: backendsUsed(r),
    }),
  );
}

/**
 * The network as compared: without the emulator seed. A different seed draws other losses from the
 * same link; it is noted and makes the comparison unpaired, but it is the same measurement.
 */
function networkOf(r: ResultFile): unknown {
  const n = r.scenario.network;
  const { seed: _seed, ...profile } = n.profile;
  return { ...n, profile };
}

/**
 * The workload as compared: without `serverCpuMs`, the server's CPU work per request, which is
 * part of the server under test (a server that got slower is what compare is for); it is noted.
 */
function workloadOf(r: ResultFile): unknown {
  const { serverCpuMs: _cpu, ...w } = r.scenario.workload;
  return w;
}

const serverCpuOf = (r: ResultFile): number => r.scenario.workload.serverCpuMs ?? 0;

/** Same scenario seed and network seed: repetition i of both results met the same draws. */
export function sameSeeds(a: ResultFile, b: ResultFile): boolean {
  return (
    a.scenario.seed === b.scenario.seed && a.scenario.network.profile.seed === b.scenario.network.profile.seed
  );
}

function differingParts(a: ResultFile, b: ResultFile): string[] {
  const parts: string[] = [];
  if (JSON.stringify(networkOf(a)) !== JSON.stringify(networkOf(b))) parts.push('network');
  if (JSON.stringify(a.scenario.transport) !== JSON.stringify(b.scenario.transport)) parts.push('transport');
  if (JSON.stringify(workloadOf(a)) !== JSON.stringify(workloadOf(b))) parts.push('workload');
  const sa = sweepOf(a);
  const sb = sweepOf(b);
  if (JSON.stringify(sa) !== JSON.stringify(sb)) {
    const over = (x: ComparedAxis) => `${x.key} over [${x.values.join(', ')}]${x.unit}`;
    const show = (x: typeof sa) => (x ? (x.grid ?? [x]).map(over).join(' × ') : 'none');
    parts.push(`sweep (${show(sa)} vs ${show(sb)})`);
  }
  const ba = backendsUsed(a).join('+') || 'unknown';
  const bb = backendsUsed(b).join('+') || 'unknown';
  if (ba !== bb) parts.push(`emulator backend used (${ba} vs ${bb}: not the same link)`);
  return parts;
}

const commitOf = (r: ResultFile): string | null => r.environment.gitCommit;

function classify(
  c: {
    significant: boolean | null;
    direction: 'better' | 'worse' | 'same' | null;
    relativeCi95: [number, number] | null;
    comparable: boolean;
  },
  threshold: number,
): CompareVerdict {
  if (!c.comparable) return 'not comparable';
  if (c.significant === null) return 'insufficient data';
  if (!c.significant || c.direction === 'same' || c.direction === null) return 'no change';
  // The interval's bound nearest to "no change" must be beyond the threshold. A significant
  // change away from a zero baseline (no relative interval) is beyond any relative threshold.
  const beyond =
    c.relativeCi95 === null || Math.min(Math.abs(c.relativeCi95[0]), Math.abs(c.relativeCi95[1])) > threshold;
  if (!beyond) return 'no change';
  return c.direction === 'worse' ? 'regression' : 'improvement';
}

/** Compare one scenario's baseline and current results. Throws CompareInputError if not comparable. */
export function compareScenario(
  baseline: ResultFile,
  current: ResultFile,
  metrics: readonly string[],
  threshold: number,
): ScenarioComparison {
  const name = current.scenario.name;
  if (baseline.scenario.name !== name) {
    throw new CompareInputError(
      `Cannot compare results as their scenarios differ: baseline "${baseline.scenario.name}", current "${name}"`,
    );
  }
  if (measurementKey(baseline) !== measurementKey(current)) {
    const parts = differingParts(baseline, current);
    throw new CompareInputError(
      `Cannot compare results of scenario "${name}" as its ${parts.join(', ')} differ${parts.length === 1 ? 's' : ''} between baseline (${baseline.runId}) and current (${current.runId})`,
    );
  }
  const notes: string[] = [];
  const serverCpuDiffers = serverCpuOf(baseline) !== serverCpuOf(current);
  // A serverCpu difference changes the hash too: its own note says what differs.
  if (baseline.scenarioHash !== current.scenarioHash && !serverCpuDiffers) {
    notes.push(
      `scenario "${name}": files differ (sha256 ${baseline.scenarioHash.slice(0, 12)} vs ${current.scenarioHash.slice(0, 12)}) outside network, transport and workload (repetitions, seed, protocols, description, or a build that hashed them differently): compared anyway`,
    );
  }
  const stacksA = baseline.scenario.stacks;
  const stacksB = current.scenario.stacks;
  const stackDiffs = (['client', 'server', 'h3'] as const)
    .filter((k) => stacksA[k] !== stacksB[k])
    .map((k) => `stacks.${k} ${stacksA[k]} vs ${stacksB[k]}`);
  if (stackDiffs.length > 0) {
    notes.push(
      `scenario "${name}": the endpoints differ (${stackDiffs.join(', ')}): every row compares one implementation with another, not one build with the next`,
    );
  }
  if (serverCpuDiffers) {
    notes.push(
      `scenario "${name}": workload.serverCpu differs (${serverCpuOf(baseline)} ms vs ${serverCpuOf(current)} ms of server CPU per request): the server's work changed, compared anyway`,
    );
  }
  const paired = sameSeeds(baseline, current);
  if (!paired) {
    const bs = baseline.scenario;
    const cs = current.scenario;
    notes.push(
      `scenario "${name}": not paired by repetition as the seeds differ (seed ${bs.seed} vs ${cs.seed}, network seed ${bs.network.profile.seed} vs ${cs.network.profile.seed}): each side's median is bootstrapped on its own, which only sees large changes; run both with the same seeds for a paired comparison`,
    );
  }
  const fewPairs = new Map<string, number>();
  const rows: CompareRow[] = [];
  const reliability: ReliabilityRow[] = [];
  const sweep = current.scenario.sweep;
  // One group per sweep point (the points are never pooled), or one for the whole result.
  const points: (SweepPoint | undefined)[] = sweep
    ? sweep.values.map((value, index) => ({ index, value, label: sweepPointLabel(current, index) }))
    : [undefined];
  for (const point of points) {
    const at = (runs: readonly RunMetrics[]) => (point ? runsAtPoint(runs, point.index) : [...runs]);
    const where = point ? { point } : {};
    for (const p of current.scenario.protocols) {
      if (!baseline.scenario.protocols.includes(p)) {
        if (!point || point.index === 0)
          notes.push(`scenario "${name}": ${p} is not in the baseline: not compared`);
        continue;
      }
      const rb = at(baseline.summary.runs.filter((r) => r.protocol === p));
      const rc = at(current.summary.runs.filter((r) => r.protocol === p));
      reliability.push(...reliabilityRows(name, where, p, rb, rc));
      const failedRuns = { a: failedRunCount(rc), b: failedRunCount(rb) };
      for (const m of metrics) {
        const def = metricDef(m);
        if (!def) continue;
        const seed = point ? seedOf('compare', name, p, m, point.index) : seedOf('compare', name, p, m);
        const c = contrastMetric(
          def,
          metricValues(rc, m),
          metricValues(rb, m),
          { a: 'current', b: 'baseline' },
          { seed, failedRuns, ...(paired ? { pairs: repetitionPairs(rc, rb, m) } : {}) },
        );
        if (paired && c.method === 'unpaired') {
          const key = `${p}${point ? ` @ ${point.label}` : ''}`;
          fewPairs.set(key, Math.min(fewPairs.get(key) ?? Infinity, c.pairs));
        }
        const relativeCi95: [number, number] | null =
          c.ci95 === null
            ? null
            : c.kind === 'ratio'
              ? [c.ci95[0] - 1, c.ci95[1] - 1]
              : c.medianB !== null && c.medianB !== 0
                ? [c.ci95[0] / Math.abs(c.medianB), c.ci95[1] / Math.abs(c.medianB)]
                : null;
        const verdict = classify({ ...c, relativeCi95 }, threshold);
        rows.push({
          scenario: name,
          ...where,
          protocol: p,
          metric: m,
          unit: def.unit,
          baselineMedian: c.medianB,
          currentMedian: c.medianA,
          nBaseline: c.nB,
          nCurrent: c.nA,
          failedBaseline: c.failedRunsB,
          failedCurrent: c.failedRunsA,
          kind: c.kind,
          value: c.value,
          ci95: c.ci95,
          relativeChange: c.relativeChange,
          relativeCi95,
          verdict,
          text: c.verdict,
          method: c.method,
          pairs: c.pairs,
        });
      }
    }
  }
  for (const p of baseline.scenario.protocols) {
    if (!current.scenario.protocols.includes(p))
      notes.push(`scenario "${name}": ${p} is only in the baseline: not compared`);
  }
  for (const [key, n] of fewPairs) {
    notes.push(
      `scenario "${name}": ${key}: only ${n} complete pair${n === 1 ? '' : 's'} of runs (need ${MIN_RUNS_FOR_VERDICT}; a pair needs both runs of a repetition ok): unpaired`,
    );
  }
  const side = (r: ResultFile) => ({
    runId: r.runId,
    scenarioHash: r.scenarioHash,
    createdAt: r.createdAt,
    commit: commitOf(r),
  });
  return {
    scenario: name,
    baseline: side(baseline),
    current: side(current),
    rows,
    reliability,
    pairing: pairingOf(paired, rows),
    notes,
  };
}

function pairingOf(sameSeeds: boolean, rows: readonly CompareRow[]): Pairing {
  const pairedRows = rows.filter((r) => r.method === 'paired');
  const counts = pairedRows.map((r) => r.pairs);
  const minPairs = counts.length ? Math.min(...counts) : 0;
  const maxPairs = counts.length ? Math.max(...counts) : 0;
  const unpairedRows = rows.length - pairedRows.length;
  let text: string;
  if (!sameSeeds) text = 'unpaired: the seeds differ (each side bootstrapped on its own)';
  else if (pairedRows.length === 0)
    text = `unpaired: fewer than ${MIN_RUNS_FOR_VERDICT} complete pairs of runs (each side bootstrapped on its own)`;
  else {
    const n = minPairs === maxPairs ? `${minPairs}` : `${minPairs}–${maxPairs}`;
    text = `paired by repetition: ${n} pairs${unpairedRows ? ` (${unpairedRows} row${unpairedRows === 1 ? '' : 's'} unpaired: too few pairs)` : ''}`;
  }
  return { sameSeeds, minPairs, maxPairs, pairedRows: pairedRows.length, unpairedRows, text };
}

const pctOf = (x: { failed: number; of: number }): string =>
  x.of ? `${x.failed}/${x.of} (${((100 * x.failed) / x.of).toFixed(1).replace(/\.0$/, '')}%)` : '0/0';

/** Failed-run and failed-request checks of one protocol (at one point): any rise is a regression. */
function reliabilityRows(
  scenario: string,
  where: { point?: SweepPoint },
  protocol: string,
  rb: readonly RunMetrics[],
  rc: readonly RunMetrics[],
): ReliabilityRow[] {
  const runs = (rs: readonly RunMetrics[]) => ({ failed: failedRunCount(rs), of: rs.length });
  const requests = (rs: readonly RunMetrics[]) => ({
    failed: rs.reduce((n, r) => n + r.requestsFailed, 0),
    of: rs.reduce((n, r) => n + r.requests, 0),
  });
  const row = (
    check: ReliabilityRow['check'],
    b: { failed: number; of: number },
    c: { failed: number; of: number },
  ): ReliabilityRow => {
    let verdict: ReliabilityRow['verdict'];
    let text: string;
    if (b.of === 0 || c.of === 0) {
      verdict = 'insufficient data';
      text = `no ${check === 'failed runs' ? 'runs' : 'requests'} on the ${b.of === 0 ? 'baseline' : 'current'} side`;
    } else {
      // Shares, so that results with different repetitions compare fairly (cross-multiplied: exact).
      const diff = c.failed * b.of - b.failed * c.of;
      verdict = diff > 0 ? 'regression' : diff < 0 ? 'improvement' : 'no change';
      text = `${check}: ${pctOf(b)} → ${pctOf(c)}`;
    }
    return { scenario, ...where, protocol, check, baseline: b, current: c, verdict, text };
  };
  return [row('failed runs', runs(rb), runs(rc)), row('failed requests', requests(rb), requests(rc))];
}

/**
 * Compare sets of results. With one result per side the scenario names must match; with several,
 * results are paired by scenario name and a scenario on one side only is noted, not compared.
 */
export function compareResults(
  baseline: readonly ResultFile[],
  current: readonly ResultFile[],
  opts: { threshold: number; metrics?: readonly string[]; allowPartial?: boolean },
): Comparison {
  const metrics = [...(opts.metrics ?? DEFAULT_COMPARE_METRICS)];
  const notes: string[] = [];
  const byName = (rs: readonly ResultFile[]) => new Map(rs.map((r) => [r.scenario.name, r]));
  const b = byName(baseline);
  const c = byName(current);
  let pairs: [ResultFile, ResultFile][];
  if (baseline.length === 1 && current.length === 1 && baseline[0] && current[0]) {
    pairs = [[baseline[0], current[0]]];
  } else {
    pairs = [...c].filter(([n]) => b.has(n)).map(([n, r]) => [b.get(n) as ResultFile, r]);
    for (const n of c.keys()) if (!b.has(n)) notes.push(`scenario "${n}" has no baseline: not compared`);
    for (const n of b.keys())
      if (!c.has(n)) notes.push(`scenario "${n}" has no current result: not compared`);
    if (pairs.length === 0)
      throw new CompareInputError(
        'Cannot compare results as baseline and current have no scenario in common',
      );
  }
  for (const [side, r] of pairs.flatMap(([x, y]) => [['baseline', x] as const, ['current', y] as const])) {
    const p = r.partial;
    if (p === undefined) continue;
    const what = `${side} "${r.runId}" of scenario "${r.scenario.name}" is a partial result (${p.runsDone} of ${p.runsPlanned} runs: ${p.reason})`;
    if (!opts.allowPartial) {
      throw new CompareInputError(
        `Cannot compare results as the ${what}; re-run the scenario, or compare it anyway with --allow-partial`,
      );
    }
    notes.push(`the ${what}`);
  }
  const scenarios = pairs.map(([x, y]) => compareScenario(x, y, metrics, opts.threshold));
  const verdicts = scenarios.flatMap((s) => [...s.rows, ...s.reliability].map((r) => r.verdict));
  return {
    threshold: opts.threshold,
    metrics,
    scenarios,
    notes: [...notes, ...scenarios.flatMap((s) => s.notes)],
    regressions: verdicts.filter((v) => v === 'regression').length,
    improvements: verdicts.filter((v) => v === 'improvement').length,
  };
}

/**
 * Results named by a path: a result.json, a run directory holding one, or a directory of run
 * directories (the newest result per scenario name is taken; a partial one only when
 * `allowPartial`, so an interrupted run in a results directory does not displace the last complete
 * one).
 */
export function loadResults(p: string, allowPartial = false): ResultFile[] {
  if (!existsSync(p)) throw new CompareInputError(`Cannot read results at "${p}" as it does not exist`);
  const direct = resultPath(p);
  if (existsSync(direct) && statSync(direct).isFile()) return [readResult(direct)];
  const found = readdirSync(p)
    .filter((d) => !d.startsWith('.'))
    .map((d) => path.join(p, d, 'result.json'))
    .filter((f) => existsSync(f));
  if (found.length === 0)
    throw new CompareInputError(
      `Cannot read results at "${p}" as it holds no result.json (nor run directories with one)`,
    );
  const newest = new Map<string, ResultFile>();
  const all = found.map((f) => readResult(f));
  for (const r of all) {
    if (
      r.partial !== undefined &&
      !allowPartial &&
      all.some((o) => o.scenario.name === r.scenario.name && o.partial === undefined)
    )
      continue;
    const prev = newest.get(r.scenario.name);
    if (!prev || prev.createdAt < r.createdAt) newest.set(r.scenario.name, r);
  }
  return [...newest.values()];
}

function fmtMedian(unit: string, v: number | null): string {
  if (v === null) return '-';
  if (unit === 'share') return `${(v * 100).toFixed(1)}%`;
  return v.toFixed(Math.abs(v) < 10 ? 2 : 1);
}

function fmtChange(r: CompareRow): string {
  if (r.value === null) return '-';
  const def = metricDef(r.metric);
  if (r.kind === 'ratio') {
    const pct = (x: number) => `${x >= 1 ? '+' : '−'}${(Math.abs(x - 1) * 100).toFixed(1)}%`;
    return r.ci95 ? `${pct(r.value)} [${pct(r.ci95[0])}, ${pct(r.ci95[1])}]` : pct(r.value);
  }
  const amt = (x: number) => `${x >= 0 ? '+' : '−'}${def ? formatAmount(def, x) : Math.abs(x).toFixed(2)}`;
  return r.ci95 ? `${amt(r.value)} [${amt(r.ci95[0])}, ${amt(r.ci95[1])}]` : amt(r.value);
}

const MARK: Record<CompareVerdict, string> = {
  regression: '🔴 regression',
  improvement: '🟢 improvement',
  'no change': 'no change',
  'insufficient data': 'insufficient data',
  'not comparable': 'not comparable',
};

/** Markdown for a CI job summary. */
export function comparisonMarkdown(c: Comparison): string {
  const pct = `${(c.threshold * 100).toFixed(1).replace(/\.0$/, '')}%`;
  const lines = [
    '# h3bench compare',
    '',
    c.regressions > 0
      ? `**${c.regressions} significant regression(s) beyond ${pct}**` +
        (c.improvements ? `, ${c.improvements} improvement(s).` : '.')
      : `No significant regression beyond ${pct}` +
        (c.improvements ? `; ${c.improvements} improvement(s).` : '.'),
    '',
    `Change = current vs baseline, 95% interval in brackets: paired by repetition when both results ran with the same seeds (trimmed mean of the per-repetition ratios current/baseline, Yuen's interval), otherwise the ratio of the medians over ok runs with a bootstrap interval. A regression (or improvement) needs the whole interval beyond ${pct} on the worse (better) side and ${MIN_RUNS_FOR_VERDICT} ok runs per side. Failures are checked apart: any rise in the share of failed runs or failed requests is a regression. Sweep points are compared one by one.`,
    '',
  ];
  for (const s of c.scenarios) {
    const sweep = s.rows.some((r) => r.point) || s.reliability.some((r) => r.point);
    const pointCell = (r: { point?: SweepPoint }) => (sweep ? `${r.point?.label ?? '-'} | ` : '');
    lines.push(
      `## ${s.scenario}`,
      '',
      `Baseline \`${s.baseline.runId}\`${s.baseline.commit ? ` (${s.baseline.commit.slice(0, 12)})` : ''} → current \`${s.current.runId}\`${s.current.commit ? ` (${s.current.commit.slice(0, 12)})` : ''}`,
      '',
      `Runs ${s.pairing.text}.`,
      '',
      `| ${sweep ? 'point | ' : ''}protocol | metric | baseline | current | change [95% CI] | runs | method | verdict |`,
      `| ${sweep ? '--- | ' : ''}--- | --- | ---: | ---: | ---: | ---: | --- | --- |`,
    );
    for (const r of s.rows) {
      const label = metricDef(r.metric)?.label ?? r.metric;
      const unit = r.unit === 'share' || r.unit === 'count' ? '' : ` ${r.unit}`;
      const failed =
        r.failedBaseline || r.failedCurrent ? ` (failed ${r.failedBaseline}→${r.failedCurrent})` : '';
      lines.push(
        `| ${pointCell(r)}${r.protocol} | ${label} | ${fmtMedian(r.unit, r.baselineMedian)}${unit} | ${fmtMedian(r.unit, r.currentMedian)}${unit} | ${fmtChange(r)} | ${r.nBaseline}→${r.nCurrent}${failed} | ${r.method === 'paired' ? `paired (${r.pairs})` : 'unpaired'} | ${MARK[r.verdict]} |`,
      );
    }
    lines.push(
      '',
      `| ${sweep ? 'point | ' : ''}protocol | failures | baseline | current | verdict |`,
      `| ${sweep ? '--- | ' : ''}--- | --- | ---: | ---: | --- |`,
    );
    for (const r of s.reliability) {
      lines.push(
        `| ${pointCell(r)}${r.protocol} | ${r.check} | ${pctOf(r.baseline)} | ${pctOf(r.current)} | ${MARK[r.verdict]} |`,
      );
    }
    lines.push('');
  }
  if (c.notes.length) lines.push('## Notes', '', ...c.notes.map((n) => `- ${n}`), '');
  return lines.join('\n');
}

/** One JSON line per scenario comparison, for --history. */
export function historyLines(c: Comparison, now: Date = new Date()): string[] {
  return c.scenarios.map((s) =>
    JSON.stringify({
      time: now.toISOString(),
      scenario: s.scenario,
      threshold: c.threshold,
      baseline: s.baseline,
      current: s.current,
      regressions: [...s.rows, ...s.reliability].filter((r) => r.verdict === 'regression').length,
      pairing: s.pairing.text,
      rows: s.rows.map((r) => ({
        ...(r.point ? { point: r.point } : {}),
        protocol: r.protocol,
        metric: r.metric,
        baselineMedian: r.baselineMedian,
        currentMedian: r.currentMedian,
        relativeChange: r.relativeChange,
        relativeCi95: r.relativeCi95,
        ci95: r.ci95,
        kind: r.kind,
        failedBaseline: r.failedBaseline,
        failedCurrent: r.failedCurrent,
        method: r.method,
        pairs: r.pairs,
        verdict: r.verdict,
      })),
      reliability: s.reliability.map((r) => ({
        ...(r.point ? { point: r.point } : {}),
        protocol: r.protocol,
        check: r.check,
        baseline: r.baseline,
        current: r.current,
        verdict: r.verdict,
      })),
    }),
  );
}
