/**
 * `h3bench compare`: baseline vs current, per scenario × protocol × metric. Reads result files only
 * (STYLE.md rule 8). A change is a *regression* when its whole 95% bootstrap interval (over runs)
 * lies on the worse side beyond the threshold (e.g. every plausible slowdown is above 5%): a gate
 * that must not cry wolf every night, at the price of missing changes barely above the threshold.
 * *Improvement* symmetrically; anything else is *no change*. Fewer than 2 ok runs on a side gives
 * *insufficient data*, which never gates.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { ExitCode, H3BenchError } from '../errors.js';
import { seedOf } from '../measure/bootstrap.js';
import { contrastMetric, formatAmount, metricDef, type AnyMetricName } from '../measure/metrics.js';
import { metricValues } from '../measure/summary.js';
import { readResult, resultPath } from '../report/read.js';
import type { ResultFile } from '../report/result.js';

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

export type CompareVerdict = 'regression' | 'improvement' | 'no change' | 'insufficient data';

export interface CompareRow {
  scenario: string;
  protocol: string;
  metric: string;
  unit: string;
  /** Medians over ok runs (metric unit). */
  baselineMedian: number | null;
  currentMedian: number | null;
  /** Runs with a value on each side. */
  nBaseline: number;
  nCurrent: number;
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
}

export interface ScenarioComparison {
  scenario: string;
  baseline: { runId: string; scenarioHash: string; createdAt: string; commit: string | null };
  current: { runId: string; scenarioHash: string; createdAt: string; commit: string | null };
  rows: CompareRow[];
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

/** The parts of a scenario that decide what is measured; results must agree on them to be compared. */
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
  return JSON.stringify(canon({ network: s.network, transport: s.transport, workload: s.workload }));
}

function differingParts(a: ResultFile, b: ResultFile): string[] {
  return (['network', 'transport', 'workload'] as const).filter(
    (k) => JSON.stringify(a.scenario[k]) !== JSON.stringify(b.scenario[k]),
  );
}

const commitOf = (r: ResultFile): string | null =>
  typeof r.environment.gitCommit === 'string' ? r.environment.gitCommit : null;

function classify(
  c: {
    significant: boolean | null;
    direction: 'better' | 'worse' | 'same' | null;
    relativeCi95: [number, number] | null;
  },
  threshold: number,
): CompareVerdict {
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
    throw new CompareInputError(
      `Cannot compare results of scenario "${name}" as its ${differingParts(baseline, current).join(', ')} differ between baseline (${baseline.runId}) and current (${current.runId})`,
    );
  }
  const notes: string[] = [];
  if (baseline.scenarioHash !== current.scenarioHash) {
    notes.push(
      `scenario "${name}": files differ (sha256 ${baseline.scenarioHash.slice(0, 12)} vs ${current.scenarioHash.slice(0, 12)}) outside network, transport and workload (repetitions, seed, protocols or description): compared anyway`,
    );
  }
  const rows: CompareRow[] = [];
  for (const p of current.scenario.protocols) {
    if (!baseline.scenario.protocols.includes(p)) {
      notes.push(`scenario "${name}": ${p} is not in the baseline: not compared`);
      continue;
    }
    const rb = baseline.summary.runs.filter((r) => r.protocol === p);
    const rc = current.summary.runs.filter((r) => r.protocol === p);
    for (const m of metrics) {
      const def = metricDef(m);
      if (!def) continue;
      const c = contrastMetric(
        def,
        metricValues(rc, m),
        metricValues(rb, m),
        { a: 'current', b: 'baseline' },
        { seed: seedOf('compare', name, p, m) },
      );
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
        protocol: p,
        metric: m,
        unit: def.unit,
        baselineMedian: c.medianB,
        currentMedian: c.medianA,
        nBaseline: c.nB,
        nCurrent: c.nA,
        kind: c.kind,
        value: c.value,
        ci95: c.ci95,
        relativeChange: c.relativeChange,
        relativeCi95,
        verdict,
        text: c.verdict,
      });
    }
  }
  for (const p of baseline.scenario.protocols) {
    if (!current.scenario.protocols.includes(p))
      notes.push(`scenario "${name}": ${p} is only in the baseline: not compared`);
  }
  const side = (r: ResultFile) => ({
    runId: r.runId,
    scenarioHash: r.scenarioHash,
    createdAt: r.createdAt,
    commit: commitOf(r),
  });
  return { scenario: name, baseline: side(baseline), current: side(current), rows, notes };
}

/**
 * Compare sets of results. With one result per side the scenario names must match; with several,
 * results are paired by scenario name and a scenario on one side only is noted, not compared.
 */
export function compareResults(
  baseline: readonly ResultFile[],
  current: readonly ResultFile[],
  opts: { threshold: number; metrics?: readonly string[] },
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
  const scenarios = pairs.map(([x, y]) => compareScenario(x, y, metrics, opts.threshold));
  const rows = scenarios.flatMap((s) => s.rows);
  return {
    threshold: opts.threshold,
    metrics,
    scenarios,
    notes: [...notes, ...scenarios.flatMap((s) => s.notes)],
    regressions: rows.filter((r) => r.verdict === 'regression').length,
    improvements: rows.filter((r) => r.verdict === 'improvement').length,
  };
}

/**
 * Results named by a path: a result.json, a run directory holding one, or a directory of run
 * directories (the newest result per scenario name is taken).
 */
export function loadResults(p: string): ResultFile[] {
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
  for (const f of found) {
    const r = readResult(f);
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
    `Change = current vs baseline median over runs, 95% bootstrap interval over runs in brackets. A regression (or improvement) needs the whole interval beyond ${pct} on the worse (better) side.`,
    '',
  ];
  for (const s of c.scenarios) {
    lines.push(
      `## ${s.scenario}`,
      '',
      `Baseline \`${s.baseline.runId}\`${s.baseline.commit ? ` (${s.baseline.commit.slice(0, 12)})` : ''} → current \`${s.current.runId}\`${s.current.commit ? ` (${s.current.commit.slice(0, 12)})` : ''}`,
      '',
      '| protocol | metric | baseline | current | change [95% CI] | runs | verdict |',
      '| --- | --- | ---: | ---: | ---: | ---: | --- |',
    );
    for (const r of s.rows) {
      const label = metricDef(r.metric)?.label ?? r.metric;
      const unit = r.unit === 'share' || r.unit === 'count' ? '' : ` ${r.unit}`;
      lines.push(
        `| ${r.protocol} | ${label} | ${fmtMedian(r.unit, r.baselineMedian)}${unit} | ${fmtMedian(r.unit, r.currentMedian)}${unit} | ${fmtChange(r)} | ${r.nBaseline}→${r.nCurrent} | ${MARK[r.verdict]} |`,
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
      regressions: s.rows.filter((r) => r.verdict === 'regression').length,
      rows: s.rows.map((r) => ({
        protocol: r.protocol,
        metric: r.metric,
        baselineMedian: r.baselineMedian,
        currentMedian: r.currentMedian,
        relativeChange: r.relativeChange,
        relativeCi95: r.relativeCi95,
        ci95: r.ci95,
        kind: r.kind,
        verdict: r.verdict,
      })),
    }),
  );
}
