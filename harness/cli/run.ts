/** `h3bench run <scenario>`: run a scenario, print the comparison table, write results. */
import { sweepUnitWord } from '../report/table.js';
import path from 'node:path';
import { ExitCode, H3BenchError, UsageError } from '../../core/errors.js';
import { projectRoot } from '../../core/paths.js';
import { resummarize } from '../measure/result-summary.js';
import type { ResultFile } from '../model/result.js';
import { readResult, resultPath } from '../report/read.js';
import { headlineBlock, resultTextTable, verdictLines } from '../report/table.js';
import { loadScenario, scenarioHash, type LoadedScenario } from '../scenario/load.js';
import {
  estimate,
  estimateAdaptive,
  estimateRuns,
  formatDuration,
  quickScenario,
  shardsFor,
} from '../runner/budget.js';
import { shardProblem, shardRepetitions, studyPlan, type ShardSpec } from '../runner/plan.js';
import { MAX_REPETITIONS, MIN_ADAPTIVE_REPETITIONS } from '../scenario/schema.js';
import { DURATION_FORM, PERCENT_FORM, UnitError, parseDurationMs, parsePercent } from '../../core/units.js';
import {
  MAX_CONSECUTIVE_INFRA_FAILURES,
  runScenario,
  type PlannedSession,
  type ProgressEvent,
} from '../runner/run.js';
import { clientStackFlag, h3StackFlag, intFlag, parse, protocolsFlag, serverStackFlag } from './args.js';

export const RUN_HELP = `Usage: h3bench run <scenario name | path.yaml> [options]
       h3bench run <scenario> --shard I/N | --shard-env NAME [--shards N]   (one shard of a study)
       h3bench run <scenario> --shards-for DURATION           (how many shards; runs nothing)
       h3bench run [<scenario>] --resume DIR                   (complete a partial result)

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
  --client C           override stacks.client: h3bench or chromium (page-load workloads)
  --server S           override stacks.server: h3bench or caddy
  --seed N             override the scenario's seed (run order, emulator randomness)
  --quick              one repetition and a smaller workload (same network): a CI smoke check
  --verbose            print every verdict after the table, not only the headline block
  --profile NAME       run over network profile NAME (scenarios/profiles/NAME.yaml) instead of the
                       scenario's own link (backend auto when the scenario had none)
  -h, --help           show this help

A study on several machines (a CI job matrix, a Kubernetes Indexed Job; README.md, "Running a study
on many machines"): every machine runs one shard with the same scenario, flags and code commit, and
"h3bench merge" puts the shards' result directories together.
  --shard I/N          run shard I of N (0-based: 0/3, 1/3, 2/3). A shard runs whole repetitions:
                       repetition r (0-based) belongs to shard r mod N, with every protocol, sweep
                       point and control run of it, so each paired comparison stays on one machine.
                       N may not exceed the repetitions. Writes <out>/<run-id>-shard<I>of<N>/, a
                       normal result marked with its shard, the plan's hash and its host
  --shard-env NAME     read the shard from environment variable NAME: "I/N", or "I" with --shards N
                       (e.g. --shard-env JOB_COMPLETION_INDEX --shards 4 in a Kubernetes Indexed Job)
  --shards N           the shard count, when --shard or --shard-env gives only the index
  --shards-for DURATION
                       print (on stdout) the smallest shard count whose longest shard is estimated
                       to end within DURATION per machine, e.g. 300min; runs nothing (exit 2 when
                       one repetition alone takes longer)
  --resume DIR         complete the partial result DIR (<run-id>-partial: interrupted, stopped on
                       infrastructure failures, salvaged, or a merge with missing shards): run only
                       the planned runs it lacks, with the scenario and flags it was run with (the
                       scenario defaults to the file it records). Refused (exit 2) for another
                       scenario hash, code commit or plan. Its runs are kept as they are, failed
                       ones too (a failure is a measurement), except runs that failed before their
                       client ran (run directory, link, fidelity probe, server): they measured
                       nothing and run again. The completed result is written as <run-id> (its
                       partial result's run id) next to DIR (or in --out); DIR is left untouched.
                       A shard resumes as the same shard.

Adaptive repetitions cannot be sharded or resumed: their stopping rule looks at all rounds' runs
together after every round (exit 2).

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

function progressPrinter(stream: NodeJS.WriteStream, planIndex: boolean): (ev: ProgressEvent) => void {
  const tty = stream.isTTY;
  return (ev) => {
    const secs = (ev.elapsedMs / 1000).toFixed(1);
    const what = ev.run.control === true ? `${ev.run.protocol} control (one stream)` : ev.run.protocol;
    // A shard or a resume runs part of the plan: its runs' numbers in the plan too.
    const head =
      `[${ev.position}/${ev.total}] ${what} repetition ${ev.run.repetition + 1}` +
      (planIndex ? ` (run ${ev.run.index + 1} of the plan)` : '');
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

/** An environment variable name, as --shard-env takes it. */
const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SHARD_FORM = '"I/N" (0-based shard I of N, e.g. 0/4) or "I" with --shards N';

/**
 * The shard of `--shard SPEC` or `--shard-env NAME` (SPEC from the environment), with `--shards N`
 * for a bare index; undefined when neither is given. Ranges against the repetitions are checked
 * once the scenario is loaded (`shardProblem`).
 */
export function shardFlags(
  values: { shard?: string | undefined; 'shard-env'?: string | undefined; shards?: string | undefined },
  env: NodeJS.ProcessEnv = process.env,
): ShardSpec | undefined {
  const count = intFlag('shards', values.shards, 1, MAX_REPETITIONS);
  if (values.shard !== undefined && values['shard-env'] !== undefined) {
    throw new UsageError('--shard-env: value error: give either --shard or --shard-env, not both');
  }
  let flag: string;
  let spec: string;
  if (values.shard !== undefined) {
    flag = `--shard: value error: must be ${SHARD_FORM}: current value is "${values.shard}"`;
    spec = values.shard;
  } else if (values['shard-env'] !== undefined) {
    const name = values['shard-env'];
    if (!ENV_NAME_RE.test(name)) {
      throw new UsageError(
        `--shard-env: value error: must be the name of an environment variable (letters, digits, _), e.g. JOB_COMPLETION_INDEX: current value is "${name}"`,
      );
    }
    const v = env[name];
    if (v === undefined || v.trim() === '') {
      throw new UsageError(
        `--shard-env: value error: the environment variable ${name} is ${v === undefined ? 'not set' : 'empty'}: it must hold ${SHARD_FORM}`,
      );
    }
    flag = `--shard-env ${name}: value error: the environment variable must hold ${SHARD_FORM}: current value is "${v}"`;
    spec = v;
  } else {
    if (count !== undefined)
      throw new UsageError('--shards: value error: --shards N needs --shard I or --shard-env NAME');
    return undefined;
  }
  const m = /^\s*(\d+)\s*(?:\/\s*(\d+)\s*)?$/.exec(spec);
  if (!m) throw new UsageError(flag);
  const index = Number(m[1]);
  const given = m[2] === undefined ? undefined : Number(m[2]);
  if (given !== undefined && count !== undefined && given !== count) {
    throw new UsageError(`${flag} (it says ${given} shards, --shards says ${count})`);
  }
  const n = given ?? count;
  if (n === undefined) throw new UsageError(`${flag} (a bare index needs --shards N)`);
  if (n < 1 || index >= n) {
    throw new UsageError(`${flag} (the index is 0-based: 0..${Math.max(0, n - 1)} for ${n} shards)`);
  }
  return { index, count: n };
}

/** The partial result of `--resume DIR`, read and validated (exit 2 when it is none). */
function readPartial(dir: string): ResultFile {
  const from = readResult(dir);
  if (from.partial === undefined) {
    throw new UsageError(
      `--resume ${dir}: value error: it is not a partial result (it holds every planned run: ${from.runs.length}), so there is nothing to resume`,
    );
  }
  return from;
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
    client: { type: 'string' },
    server: { type: 'string' },
    seed: { type: 'string' },
    profile: { type: 'string' },
    quick: { type: 'boolean' },
    verbose: { type: 'boolean' },
    shard: { type: 'string' },
    'shard-env': { type: 'string' },
    shards: { type: 'string' },
    'shards-for': { type: 'string' },
    resume: { type: 'string' },
  });
  if (values.help) {
    console.log(RUN_HELP);
    return ExitCode.Ok;
  }
  const shard = shardFlags(values);
  const shardsForMs = unitFlag(
    'shards-for',
    values['shards-for'],
    parseDurationMs,
    DURATION_FORM,
    (v) => v > 0,
  );
  if (shardsForMs !== undefined && (shard !== undefined || values.resume !== undefined)) {
    throw new UsageError(
      '--shards-for: value error: it only prints a shard count; leave out --shard, --shard-env and --resume',
    );
  }
  const resumeDir = values.resume === undefined ? undefined : path.resolve(values.resume);
  const from = resumeDir === undefined ? undefined : readPartial(resultPath(resumeDir));
  if (positionals.length > 1 || (positionals.length === 0 && from === undefined)) {
    throw new UsageError(
      `h3bench run: expected exactly one scenario${from === undefined ? '' : ' at most (with --resume)'}, got ${positionals.length} (see h3bench run --help)`,
    );
  }
  // With --resume and no scenario: the file the partial result records (relative to the project).
  const name = positionals[0] ?? path.resolve(projectRoot(), from?.scenarioFile ?? '');
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
    clientStack: clientStackFlag(values.client),
    serverStack: serverStackFlag(values.server),
  });
  if (values.quick === true) {
    const scenario = quickScenario(loaded.scenario);
    loaded = { ...loaded, scenario, points: loaded.points.map(quickScenario), hash: scenarioHash(scenario) };
  }
  const s = loaded.scenario;
  const part = shard !== undefined || shardsForMs !== undefined ? '--shard' : from ? '--resume' : null;
  if (s.adaptive && part !== null) {
    throw new UsageError(
      `${values['shards-for'] !== undefined ? '--shards-for' : part}: the scenario has adaptive repetitions (${s.adaptive.min}..${s.adaptive.max} rounds until a target), whose stopping rule looks at every round's runs together after each round, so they can be neither split across machines nor continued from a partial result: give a fixed count (--repetitions N)`,
    );
  }
  if (shard !== undefined) {
    const problem = shardProblem(shard, s.repetitions);
    if (problem !== null) throw new UsageError(`--shard ${shard.index}/${shard.count}: ${problem}`);
  }
  if (shardsForMs !== undefined) return printShardsFor(loaded, shardsForMs, values['shards-for'] ?? '');
  // A resume writes next to the partial result unless told otherwise.
  const outRoot = path.resolve(
    values.out ?? (resumeDir !== undefined ? path.dirname(resumeDir) : path.join(projectRoot(), 'results')),
  );
  const est = estimate(loaded.points);
  const range = estimateAdaptive(loaded.points);
  const sweep =
    (s.sweep ? ` × ${s.sweep.values.length} ${sweepUnitWord(s.sweep)} of ${s.sweep.key}` : '') +
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
    `h3bench: scenario ${s.name}${values.quick === true ? ' (quick)' : ''}: ${s.protocols.join(', ')} × ${reps}${sweep} = ${runs} over ${s.networkProfile ?? 'the scenario link'} (backend ${s.network.backend}${s.protocols.includes('h3') ? `, h3 engine ${s.stacks.h3}` : ''}; ${s.stacks.client} → ${s.stacks.server}); estimated ${time}${shard !== undefined || from ? ' for the whole plan' : ''}`,
  );
  const outcome = await runScenario(loaded, {
    outRoot,
    onProgress: progressPrinter(process.stderr, shard !== undefined || from !== undefined),
    onNotice: (m) => {
      console.error(`h3bench: ${m}`);
    },
    onPlanned: (p) => {
      const line = sessionLine(loaded, p, resumeDir);
      if (line !== null) console.error(`h3bench: ${line}`);
    },
    signal,
    ...(shard ? { shard } : {}),
    ...(from && resumeDir !== undefined ? { resume: { result: from, dir: resumeDir } } : {}),
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
  if (result.shard) {
    console.error(
      `h3bench: shard ${result.shard.index}/${result.shard.count} written to ${shownDir}; once every shard is done: h3bench merge <their result directories> --out DIR`,
    );
  }
  if (result.resumed && resumeDir !== undefined) {
    console.error(
      `h3bench: ${result.partial ? 'resumed' : 'completed'} ${path.relative(process.cwd(), resumeDir) || resumeDir} into ${shownDir} (${result.resumed.kept} run(s) kept, ${result.runs.length - result.resumed.kept} run now); ${path.basename(resumeDir)} is left as it was`,
    );
  }
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

/** The line saying what a shard or a resume runs, with its estimate (null for a whole plan). */
function sessionLine(
  loaded: LoadedScenario,
  p: PlannedSession,
  resumeDir: string | undefined,
): string | null {
  const e = estimateRuns(loaded.points, p.todo);
  const reps = (list: readonly number[]) => list.map((r) => r + 1).join(', ');
  if (p.resume && resumeDir !== undefined) {
    const rerun = p.resume.rerun.length;
    return (
      `resuming ${path.relative(process.cwd(), resumeDir) || resumeDir}${p.shard ? ` (shard ${p.shard.index}/${p.shard.count})` : ''}: ` +
      `${p.resume.keep.length} of its ${p.slice.length} planned runs kept, ${e.runs} to run` +
      (rerun ? ` (${rerun} of them failed before their client ran and run again)` : '') +
      `; estimated ${formatDuration(e.ms)}`
    );
  }
  if (p.shard) {
    return `shard ${p.shard.index}/${p.shard.count}: repetition(s) ${reps(p.shard.repetitions)} of ${loaded.scenario.repetitions} = ${e.runs} of the plan's ${p.plan.length} runs; estimated ${formatDuration(e.ms)}`;
  }
  return null;
}

/** `--shards-for DURATION`: the shard count on stdout, the reasoning on stderr; runs nothing. */
function printShardsFor(loaded: LoadedScenario, budgetMs: number, given: string): number {
  const s = loaded.scenario;
  const plan = studyPlan(s, loaded.hash, s.sweep ? loaded.points.length : 0).runs;
  const f = shardsFor(loaded.points, plan, s.repetitions, budgetMs);
  const whole = `scenario ${s.name}: ${f.total.runs} runs in ${s.repetitions} repetition(s), estimated ${formatDuration(f.total.ms)} on one machine`;
  if (f.shards === null) {
    throw new UsageError(
      `--shards-for: value error: ${whole}; a shard runs whole repetitions and one alone is estimated at ${formatDuration(f.longest.ms)} (${f.longest.runs} runs), longer than ${given}: no shard count fits; give a longer duration or fewer runs per repetition: current value is "${given}"`,
    );
  }
  const each = shardRepetitions(s.repetitions, { index: 0, count: f.shards }).length;
  console.error(
    `h3bench: ${whole}; ${f.shards} shard(s) (--shard I/${f.shards}, I = 0..${f.shards - 1}) of at most ${each} repetition(s) each: the longest is estimated at ${formatDuration(f.longest.ms)} (${f.longest.runs} runs), within ${given}`,
  );
  console.log(String(f.shards));
  return ExitCode.Ok;
}
