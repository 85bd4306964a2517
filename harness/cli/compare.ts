/** `h3bench compare BASELINE CURRENT`: the regression gate for nightly CI. */
import { appendFileSync, writeFileSync } from 'node:fs';
import { ExitCode, UsageError } from '../../core/errors.js';
import {
  DEFAULT_COMPARE_METRICS,
  compareResults,
  comparisonMarkdown,
  historyLines,
  loadResults,
} from '../compare/compare.js';
import { metricDef } from '../measure/metrics.js';
import { parse } from './args.js';
import { METRIC_NAMES } from '../model/metrics.js';

export const COMPARE_HELP = `Usage: h3bench compare <baseline> <current> [options]

Compares two results per scenario × protocol × metric: change with a 95% interval, and a verdict
(regression / improvement / no change). When both results ran with the same seeds (scenario seed
and network seed), repetition i of each met the same emulator and workload draws: runs are paired
by protocol, repetition and sweep point ("paired by repetition: 5 pairs"), which sees changes of a
few percent. Otherwise (other seeds, or fewer than 5 complete pairs) each side's median is
bootstrapped on its own, with a note. <baseline> and <current> are each a result.json, a run
directory, or a directory of run directories (then results are matched by scenario name, newest
per name).

A regression is a change whose whole interval lies on the worse side beyond the threshold (so
noise does not fail a nightly job). Results of one scenario must agree on network, transport and
workload (repetitions, seed, protocols and workload.serverCpu may differ: noted).

Options:
  --threshold PCT     smallest relative change that counts, e.g. 5% (default 5%)
  --metric LIST       metrics to compare, comma-separated or repeated (default:
                      ${DEFAULT_COMPARE_METRICS.join(',')});
                      any of ${METRIC_NAMES.join(', ')}, or workload.<key> for a workload metric
  --markdown FILE     also write the Markdown summary to FILE (e.g. $GITHUB_STEP_SUMMARY)
  --history FILE      append one JSON line per scenario comparison to FILE (JSON Lines)
  --allow-partial     compare a partial result (a scenario that stopped early: interrupted, or
                      too many infrastructure failures) instead of refusing it
  -h, --help          show this help

Exit codes: 0 no significant regression beyond the threshold, 1 regression found,
2 bad input (unreadable or invalid result, unknown schema version, different scenarios, a partial
result without --allow-partial).`;

function thresholdFlag(v: string | undefined): number {
  if (v === undefined) return 0.05;
  const m = /^(\d+(?:\.\d+)?)%?$/.exec(v.trim());
  const n = m ? Number(m[1]) : NaN;
  if (!Number.isFinite(n) || n > 1000) {
    throw new UsageError(
      `--threshold: value error: must be a percentage such as 5% (0..1000): current value is "${v}"`,
    );
  }
  return n / 100;
}

function metricsFlag(values: string[] | undefined): string[] | undefined {
  if (!values?.length) return undefined;
  const list = values
    .flatMap((v) => v.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = list.filter((m) => metricDef(m) === undefined);
  if (list.length === 0 || bad.length) {
    throw new UsageError(
      `--metric: value error: unknown metric "${bad.join(', ')}": use ${METRIC_NAMES.join(', ')} or workload.<key>`,
    );
  }
  return [...new Set(list)];
}

export function compareCommand(argv: string[]): number {
  const { values, positionals } = parse('compare', argv, {
    threshold: { type: 'string' },
    metric: { type: 'string', multiple: true },
    markdown: { type: 'string' },
    history: { type: 'string' },
    'allow-partial': { type: 'boolean' },
  });
  if (values.help) {
    console.log(COMPARE_HELP);
    return ExitCode.Ok;
  }
  if (positionals.length !== 2) {
    throw new UsageError(
      `h3bench compare: expected a baseline and a current result, got ${positionals.length} (see h3bench compare --help)`,
    );
  }
  const threshold = thresholdFlag(values.threshold);
  const metrics = metricsFlag(values.metric);
  const [baselinePath = '', currentPath = ''] = positionals;
  const allowPartial = values['allow-partial'] ?? false;
  const baseline = loadResults(baselinePath, allowPartial);
  const current = loadResults(currentPath, allowPartial);
  const c = compareResults(baseline, current, {
    threshold,
    allowPartial,
    ...(metrics ? { metrics } : {}),
  });
  const md = comparisonMarkdown(c);
  console.log(md);
  if (values.markdown) writeFileSync(values.markdown, md + '\n');
  if (values.history)
    appendFileSync(
      values.history,
      historyLines(c)
        .map((l) => l + '\n')
        .join(''),
    );
  return c.regressions > 0 ? ExitCode.Regression : ExitCode.Ok;
}
