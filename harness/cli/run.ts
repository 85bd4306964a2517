/** `h3bench run <scenario>`: run a scenario, print the comparison table, write results. */
import path from 'node:path';
import { ExitCode, H3BenchError, UsageError } from '../../core/errors.js';
import { projectRoot } from '../../core/paths.js';
import { resummarize } from '../measure/result-summary.js';
import { headlineBlock, resultTextTable, verdictLines } from '../report/table.js';
import { loadScenario, scenarioHash } from '../scenario/load.js';
import { estimate, estimateAdaptive, formatDuration, quickScenario } from '../runner/budget.js';
import { MAX_REPETITIONS, MIN_ADAPTIVE_REPETITIONS } from '../scenario/schema.js';
import { DURATION_FORM, PERCENT_FORM, UnitError, parseDurationMs, parsePercent } from '../../core/units.js';
import { MAX_CONSECUTIVE_INFRA_FAILURES, runScenario, type ProgressEvent } from '../runner/run.js';
import { h3StackFlag, intFlag, onePositional, parse, protocolsFlag } from './args.js';

export const RUN_HELP = `Usage: h3bench run <scenario name | path.yaml> [options]

Runs every protocol of the scenario over the scenario's network, interleaved per repetition, prints a
comparison table and writes <out>/<run-id>/ (result.json, report.md).

Options:
  --out DIR            directory for results (default: results/ in the project)
  --repetitions N      override the scenario's repetitions with a fixed count (1..1000)
  --min-repetitions N  adaptive repetitions: rounds always run (5..1000, default 5)
  --max-repetitions N  adaptive repetitions: rounds never exceeded (5..1000, default 30)
  --target PCT         adaptive repetitions: stop once every headline h3 contrast's interval is
                       within ±PCT, e.g. 10% (default 10%)
  --budget DURATION    adaptive repetitions: start no round that would end after DURATION, e.g. 30min
                       (any of these four makes the run adaptive; docs/metrics.md § Adaptive repetitions)
  --protocols LIST     override the protocols, e.g. h1,h2
  --h3-stack S         override stacks.h3, the HTTP/3 engine: quiche-0.18 or quiche-0.29
  --seed N             override the scenario's seed (run order, emulator randomness)
  --quick              one repetition and a smaller workload (same network): a CI smoke check
  --verbose            print every verdict after the table, not only the headline block
  --profile NAME       run over network profile NAME (scenarios/profiles/NAME.yaml) instead of the
                       scenario's own link (backend auto when the scenario had none)
  -h, --help           show this help

A run that fails (its link, emulator or server, a process crash, failed requests) is recorded with
its error and the scenario goes on; ${MAX_CONSECUTIVE_INFRA_FAILURES} infrastructure failures in a row stop it. A scenario that
stops early (that, or Ctrl-C) keeps the runs finished so far as a partial result in
<out>/<run-id>-partial/. Each finished run is checkpointed: if h3bench run is killed (kill -9, a
crash), the next run into <out> or "h3bench cleanup --out <out>" makes those a partial result.

Exit codes: 0 ok, 1 run failed (a process crashed or requests failed beyond the allowance, or the
scenario stopped early on infrastructure failures), 2 bad input (nothing is run or written),
3 missing privilege/tool, 127 unsupported, 130 interrupted (the finished runs are kept).`;

/** A flag with a unit (--target 10%, --budget 30min): its canonical value, or a usage error. */
function unitFlag(
  flag: string,
  value: string | undefined,
  parseValue: (v: unknown) => number,
  form: string,
  ok: (v: number) => boolean,
): number | undefined {
  if (value === undefined) return undefined;
  let v: number;
  try {
    v = parseValue(value);
  } catch (err) {
    if (!(err instanceof UnitError)) throw err;
    v = NaN;
  }
  if (!ok(v))
    throw new UsageError(`--${flag}: value error: must be ${form} (> 0): current value is "${value}"`);
  return v;
}

function progressPrinter(stream: NodeJS.WriteStream): (ev: ProgressEvent) => void {
  const tty = stream.isTTY;
  return (ev) => {
    const k = ev.run.index + 1;
    const secs = (ev.elapsedMs / 1000).toFixed(1);
    const what = ev.run.control === true ? `${ev.run.protocol} control (one stream)` : ev.run.protocol;
    const head = `[${k}/${ev.total}] ${what} repetition ${ev.run.repetition + 1}`;
    if (ev.phase === 'start') {
      if (tty) stream.write(`\r\x1b[2K${head} running... (${secs}s elapsed)`);
      return;
    }
    const r = ev.record;
    const status = r?.ok
      ? `ok, ${r.client?.durationMs.toFixed(0) ?? '?'} ms`
      : `FAILED: ${r?.error ?? 'unknown error'}`;
    stream.write(`${tty ? '\r\x1b[2K' : ''}${head}: ${status} (${secs}s elapsed)\n`);
  };
}

export async function runCommand(argv: string[], signal: AbortSignal): Promise<number> {
  const { values, positionals } = parse('run', argv, {
    out: { type: 'string' },
    repetitions: { type: 'string' },
    'min-repetitions': { type: 'string' },
    'max-repetitions': { type: 'string' },
    target: { type: 'string' },
    budget: { type: 'string' },
    protocols: { type: 'string' },
    'h3-stack': { type: 'string' },
    seed: { type: 'string' },
    profile: { type: 'string' },
    quick: { type: 'boolean' },
    verbose: { type: 'boolean' },
  });
  if (values.help) {
    console.log(RUN_HELP);
    return ExitCode.Ok;
  }
  const name = onePositional('run', positionals, 'scenario');
  const adaptive = {
    min: intFlag('min-repetitions', values['min-repetitions'], MIN_ADAPTIVE_REPETITIONS, MAX_REPETITIONS),
    max: intFlag('max-repetitions', values['max-repetitions'], MIN_ADAPTIVE_REPETITIONS, MAX_REPETITIONS),
    targetPct: unitFlag('target', values.target, parsePercent, PERCENT_FORM, (v) => v > 0 && v <= 100),
    budgetMs: unitFlag('budget', values.budget, parseDurationMs, DURATION_FORM, (v) => v > 0),
  };
  const adaptiveGiven = Object.values(adaptive).some((v) => v !== undefined);
  if (adaptiveGiven && values.repetitions !== undefined) {
    throw new UsageError(
      '--repetitions: value error: a fixed count cannot be combined with --min-repetitions, --max-repetitions, --target or --budget',
    );
  }
  let loaded = loadScenario(name, {
    repetitions: intFlag('repetitions', values.repetitions, 1, MAX_REPETITIONS),
    adaptive,
    protocols: protocolsFlag(values.protocols),
    seed: intFlag('seed', values.seed, 0, 2 ** 32 - 1),
    profile: values.profile,
    h3Stack: h3StackFlag(values['h3-stack']),
  });
  if (values.quick === true) {
    const scenario = quickScenario(loaded.scenario);
    loaded = { ...loaded, scenario, points: loaded.points.map(quickScenario), hash: scenarioHash(scenario) };
  }
  const s = loaded.scenario;
  const outRoot = path.resolve(values.out ?? path.join(projectRoot(), 'results'));
  const est = estimate(loaded.points);
  const range = estimateAdaptive(loaded.points);
  const sweep =
    (s.sweep ? ` × ${s.sweep.values.length} values of ${s.sweep.key}` : '') +
    (s.attribution ? ' (+ one single-stream control run each, attribution)' : '');
  const a = s.adaptive;
  const reps = a
    ? `${a.min}..${a.max} rounds (adaptive: until every headline h3 contrast is within ±${a.targetPct}%${a.budgetMs === null ? '' : `, budget ${formatDuration(a.budgetMs)}`})`
    : `${s.repetitions} repetition(s)`;
  const runs = range ? `${range.min.runs}..${range.max.runs} runs` : `${est.runs} runs`;
  const time = range
    ? `${formatDuration(range.min.ms)} to ${formatDuration(range.max.ms)}`
    : formatDuration(est.ms);
  console.error(
    `h3bench: scenario ${s.name}${values.quick === true ? ' (quick)' : ''}: ${s.protocols.join(', ')} × ${reps}${sweep} = ${runs} over ${s.networkProfile ?? 'the scenario link'} (backend ${s.network.backend}${s.protocols.includes('h3') ? `, h3 engine ${s.stacks.h3}` : ''}); estimated ${time}`,
  );
  const outcome = await runScenario(loaded, {
    outRoot,
    onProgress: progressPrinter(process.stderr),
    onNotice: (m) => {
      console.error(`h3bench: ${m}`);
    },
    signal,
  });
  const { result, dir } = outcome;
  const shownDir = path.relative(process.cwd(), dir) || dir;
  // End-of-run output: medians over runs with 95% CIs, verdicts and flags (same analysis as report.md).
  const shown = resummarize(result);
  console.log(`\n${resultTextTable(shown)}\n`);
  // The significant verdicts and counts of the rest (≤ 12 lines); every verdict is in report.md.
  for (const v of values.verbose === true ? verdictLines(shown) : headlineBlock(shown)) console.log(v);
  for (const f of shown.summary.flags) console.log(`flag: ${f.message}`);
  console.log(`medians over runs [95% bootstrap CI], times in ms; results: ${shownDir}`);
  if (outcome.reportError) {
    console.error(
      `h3bench: the reports could not be written (${outcome.reportError.message}); result.json is kept: run "h3bench report ${shownDir}"`,
    );
  }
  if (result.partial) {
    const p = result.partial;
    console.error(
      `h3bench: partial result (${p.runsDone} of ${p.runsPlanned} runs): ${p.reason}; kept in ${shownDir}`,
    );
    if (signal.aborted) return ExitCode.Interrupted;
    const e = outcome.abortedBy;
    return e instanceof H3BenchError &&
      (e.exitCode === ExitCode.Environment || e.exitCode === ExitCode.Unsupported)
      ? e.exitCode
      : ExitCode.RunFailed;
  }
  const st = result.stopping;
  if (st && st.rule !== 'none') {
    const mde = st.contrasts
      .filter((c) => c.decides && c.minDetectableEffect !== null)
      .map((c) => c.minDetectableEffect ?? 0);
    console.log(
      `adaptive repetitions: stopped after ${st.rounds} round(s): ${st.reason}; stopping intervals at ${(st.confidence * 100).toFixed(2)}% (Bonferroni over ${st.looks} looks)${mde.length ? `, widest ±${(Math.max(...mde) * 100).toFixed(1)}%` : ''}`,
    );
  }
  if (!result.summary.ok) {
    const failed = result.runs.filter((r) => !r.ok);
    console.error(`h3bench: ${failed.length} run(s) failed; see ${path.join(dir, 'report.md')}`);
    return ExitCode.RunFailed;
  }
  return ExitCode.Ok;
}
