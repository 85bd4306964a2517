/**
 * `h3bench merge DIR... --out DIR`: put the shards of a study (`h3bench run --shard I/N`, run on as
 * many machines) back together into one result. The pieces must belong together — same scenario
 * hash, seed, code commit, emulator backend, plan hash and shard count, each shard once, none
 * missing unless `--allow-missing` — and each piece's runs must be its shard's runs of the plan.
 * The merged result holds the raw runs with their run indices of the full plan; its analysis is
 * recomputed from them (`summarize`, as `h3bench report` does), and it records the pieces and the
 * hosts that ran them (report.md flags hosts that differ).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { ExitCode, UsageError } from '../../core/errors.js';
import { resummarize, summarize } from '../measure/result-summary.js';
import {
  RESULT_SCHEMA_VERSION,
  type HostRecord,
  type PartialRun,
  type ResultFile,
  type RunRecord,
} from '../model/result.js';
import { hostDifferences } from '../report/hosts.js';
import { readResult, resultPath } from '../report/read.js';
import { headlineBlock, resultTextTable } from '../report/table.js';
import {
  backendsOf,
  describePlanned,
  firstDifference,
  hostRecord,
  samePlannedRun,
  shardRepetitions,
  shardRuns,
  showValue,
  studyPlan,
} from '../runner/plan.js';
import { publishResult } from '../runner/publish.js';
import { stoppingRecord } from '../runner/run.js';
import { createRunTemp } from '../runner/workdir.js';
import { parse } from './args.js';

export const MERGE_HELP = `Usage: h3bench merge <result dir>... --out DIR [--allow-missing]

Merges the shards of a study (h3bench run --shard I/N, one per machine) into one result: checks that
they belong together, merges their raw runs (numbered as in the unsharded plan), recomputes the
analysis from them and writes <out>/<time>-<scenario>-<commit>-merged/ (result.json and the reports,
as h3bench run writes them), recording the shards merged and the hosts that ran them.

Each argument is a result directory (or its result.json), or a directory of result directories (e.g.
the downloaded artifacts of a CI job matrix): every result in it is taken.

The shards must agree on the scenario hash, the seed, the code commit, the emulator backend their
runs used, the plan hash and the shard count; each shard once; none missing and none partial unless
--allow-missing. The first difference is named, e.g. "shard 2 (DIR) has scenario hash X, shard 0
(DIR) has Y". A partial shard next to the result that resumed it (h3bench run --resume, same run id)
is skipped. Hosts that differ (CPU model, cores, kernel) are recorded and flagged in report.md.

Options:
  --out DIR          directory under which the merged result directory is written (required)
  --allow-missing    merge without the missing shards, or with partial ones: the merged result is
                     partial (<run-id>-merged-partial/); "h3bench run --resume" on it runs the
                     runs it lacks on one machine
  -h, --help         show this help

Exit codes: 0 merged, 1 the reports could not be rendered (result.json is written), 2 bad input
(unreadable or invalid result, pieces that do not belong together, a shard twice, a shard missing
or partial without --allow-missing).`;

/** One piece of a study: a result and the shard it holds (a result with no shard mark: 0 of 1). */
export interface Piece {
  /** Where it was read from (for messages). */
  dir: string;
  result: ResultFile;
}

const shardOf = (r: ResultFile): { index: number; count: number } =>
  r.shard ? { index: r.shard.index, count: r.shard.count } : { index: 0, count: 1 };

/**
 * The results named on the command line: each path is a result directory or file, or a directory
 * of result directories (every result in it). Errors name the path (exit 2).
 */
export function readPieces(paths: readonly string[]): Piece[] {
  const pieces: Piece[] = [];
  for (const p of paths) {
    if (!existsSync(p)) throw new UsageError(`h3bench merge: "${p}" does not exist`);
    const direct = resultPath(p);
    if (existsSync(direct) && statSync(direct).isFile()) {
      pieces.push({ dir: p, result: readResult(direct) });
      continue;
    }
    const found = readdirSync(p)
      .filter((d) => !d.startsWith('.'))
      .sort()
      .map((d) => path.join(p, d))
      .filter((d) => existsSync(path.join(d, 'result.json')));
    if (found.length === 0) {
      throw new UsageError(
        `h3bench merge: "${p}" holds no result.json, nor result directories with one: expected a result directory or a directory of them`,
      );
    }
    for (const d of found) pieces.push({ dir: d, result: readResult(d) });
  }
  return pieces;
}

export interface Merged {
  result: ResultFile;
  /** Things the user should know: pieces skipped, hosts that differ, what is missing. */
  notices: string[];
}

function timestamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

/**
 * Check that the pieces belong together and merge them (see the file comment). Throws a UsageError
 * (exit 2) naming the first difference.
 */
export function mergePieces(given: readonly Piece[], opts: { allowMissing: boolean; now: Date }): Merged {
  const notices: string[] = [];
  if (given.length === 0) throw new UsageError('h3bench merge: no result to merge');
  const name = (p: Piece) => `shard ${shardOf(p.result).index} (${p.dir})`;
  for (const p of given) {
    if (!p.result.plan) {
      throw new UsageError(
        `h3bench merge: ${name(p)} has no plan record (ResultFile.plan): it was written by a build from before sharding, so whether it belongs to the study cannot be checked`,
      );
    }
  }
  const pieces = withoutSuperseded(given, notices);
  pieces.sort((a, b) => shardOf(a.result).index - shardOf(b.result).index || a.dir.localeCompare(b.dir));
  const [ref, ...rest] = pieces;
  if (ref === undefined) throw new UsageError('h3bench merge: no result to merge');
  const r0 = ref.result;
  for (const p of rest) {
    const r = p.result;
    const differs = (what: string, mine: string, theirs: string, detail = ''): never => {
      throw new UsageError(
        `h3bench merge: ${name(p)} has ${what} ${mine}, ${name(ref)} has ${theirs}${detail}: these are not shards of one study`,
      );
    };
    if (r.scenarioHash !== r0.scenarioHash) {
      const { report: _a, ...a } = r.scenario;
      const { report: _b, ...b } = r0.scenario;
      const d = firstDifference(a, b);
      differs(
        'scenario hash',
        r.scenarioHash.slice(0, 12),
        r0.scenarioHash.slice(0, 12),
        d ? ` (${d.path}: ${showValue(d.a)} vs ${showValue(d.b)})` : '',
      );
    }
    if (r.scenario.seed !== r0.scenario.seed) differs('seed', `${r.scenario.seed}`, `${r0.scenario.seed}`);
    const commit = (x: ResultFile) => x.environment.gitCommit ?? '(none: not a git checkout)';
    if (r.environment.gitCommit !== r0.environment.gitCommit) differs('code commit', commit(r), commit(r0));
    const b = backendsOf(r.runs);
    const b0 = backendsOf(r0.runs);
    // A piece none of whose runs brought a link up used none: nothing to tell.
    if (b.length > 0 && b0.length > 0 && b.join('+') !== b0.join('+')) {
      differs(
        'runs on emulator backend',
        b.join('+'),
        b0.join('+'),
        ' (not the same link; pin network.backend to netem or linkem in the scenario)',
      );
    }
    if (r.plan?.hash !== r0.plan?.hash) {
      differs('plan hash', (r.plan?.hash ?? '').slice(0, 12), (r0.plan?.hash ?? '').slice(0, 12));
    }
    if (shardOf(r).count !== shardOf(r0).count) {
      differs('shard count', `${shardOf(r).count}`, `${shardOf(r0).count}`);
    }
  }
  // The plan, as this build plans the scenario, must be the one the pieces ran.
  const rec = r0.plan;
  if (!rec) throw new UsageError(`h3bench merge: ${name(ref)} has no plan record`);
  const { runs: plan, record } = studyPlan(
    { ...r0.scenario, repetitions: rec.repetitions },
    r0.scenarioHash,
    rec.sweepPoints,
  );
  if (record.hash !== rec.hash) {
    throw new UsageError(
      `h3bench merge: ${name(ref)} has plan hash ${rec.hash.slice(0, 12)}, but its scenario plans to ${record.hash.slice(0, 12)} with this build: merge with the build (code commit ${r0.environment.gitCommit ?? '?'}) that ran it`,
    );
  }
  const count = shardOf(r0).count;
  const byIndex = new Map<number, Piece>();
  for (const p of pieces) {
    const { index } = shardOf(p.result);
    const twice = byIndex.get(index);
    if (twice) {
      throw new UsageError(
        `h3bench merge: shard ${index} is given twice: ${twice.dir} (run ${twice.result.runId}) and ${p.dir} (run ${p.result.runId}); keep one`,
      );
    }
    byIndex.set(index, p);
    checkRuns(p, plan, name(p));
  }
  const missing = [...Array(count).keys()].filter((i) => !byIndex.has(i));
  const partials = pieces.filter((p) => p.result.partial !== undefined);
  if (!opts.allowMissing) {
    const first = missing[0];
    if (first !== undefined) {
      throw new UsageError(
        `h3bench merge: shard ${first} of ${count} is missing (given: ${[...byIndex.keys()].join(', ')}): merge every shard, or pass --allow-missing for a partial result`,
      );
    }
    const p = partials[0];
    if (p?.result.partial) {
      const x = p.result.partial;
      throw new UsageError(
        `h3bench merge: ${name(p)} is a partial result (${x.runsDone} of ${x.runsPlanned} runs: ${x.reason}): complete it with "h3bench run --resume ${p.dir}", or pass --allow-missing`,
      );
    }
  }
  const runs: RunRecord[] = pieces.flatMap((p) => p.result.runs).sort((a, b) => a.index - b.index);
  const s = r0.scenario;
  const gaps = [
    ...missing.map((i) => `shard ${i} missing`),
    ...partials.map((p) => `shard ${shardOf(p.result).index} partial (${p.result.partial?.reason ?? '?'})`),
  ];
  const partial: PartialRun | undefined =
    runs.length < plan.length
      ? {
          reason: `merged with --allow-missing: ${gaps.join(', ')}`,
          runsPlanned: plan.length,
          runsDone: runs.length,
        }
      : undefined;
  const hosts: HostRecord[] = pieces.flatMap((p) => {
    const sh = shardOf(p.result);
    const mark = p.result.shard ? { shard: { index: sh.index, count: sh.count } } : {};
    return p.result.hosts
      ? p.result.hosts.map((h) => ({ ...mark, ...h }))
      : [hostRecord(p.result, p.result.runs)];
  });
  const commit = r0.environment.gitCommit?.slice(0, 7) ?? 'nogit';
  const createdAt = pieces.map((p) => p.result.createdAt).sort()[0] ?? opts.now.toISOString();
  const result: ResultFile = {
    schemaVersion: RESULT_SCHEMA_VERSION,
    runId: `${timestamp(opts.now)}-${s.name}-${commit}-merged`,
    createdAt,
    scenarioFile: r0.scenarioFile,
    scenarioHash: r0.scenarioHash,
    scenario: s,
    // The environment of the lowest shard; every shard's host is in `hosts`.
    environment: r0.environment,
    runs,
    summary: summarize(s.protocols, runs, s),
    ...(partial
      ? { partial }
      : { stopping: stoppingRecord(s, [s], runs, new Set(runs.map((r) => r.repetition)).size, 'fixed') }),
    plan: rec,
    hosts,
    merged: {
      shardCount: count,
      pieces: pieces.map((p) => ({
        index: shardOf(p.result).index,
        runId: p.result.runId,
        runs: p.result.runs.length,
        ...(p.result.partial ? { partial: p.result.partial.reason } : {}),
      })),
      missingShards: missing,
    },
  };
  for (const m of missing) notices.push(`shard ${m} of ${count} is missing: its runs are not in the result`);
  for (const d of hostDifferences(hosts)) notices.push(`hosts differ: ${d}`);
  return { result, notices };
}

/**
 * The pieces without the partial results that a given one resumed (same run id, `resumed` set, and
 * every run of the partial one that it kept): `h3bench run --resume` leaves the partial result in
 * place, and a directory of results holds both.
 */
function withoutSuperseded(pieces: readonly Piece[], notices: string[]): Piece[] {
  return pieces.filter((p) => {
    if (p.result.partial === undefined) return true;
    const by = pieces.find(
      (q) =>
        q !== p &&
        q.result.resumed !== undefined &&
        q.result.runId === p.result.runId &&
        q.result.runs.length > p.result.runs.length,
    );
    if (by) notices.push(`skipped ${p.dir}: a partial result completed by its resume ${by.dir}`);
    return by === undefined;
  });
}

/** A piece's runs must be its shard's runs of the plan, each once. */
function checkRuns(p: Piece, plan: ReturnType<typeof studyPlan>['runs'], name: string): void {
  const shard = shardOf(p.result);
  const reps = shardRepetitions(p.result.plan?.repetitions ?? 0, shard);
  if (p.result.shard && p.result.shard.repetitions.join() !== reps.join()) {
    throw new UsageError(
      `h3bench merge: ${name} says it holds repetitions ${p.result.shard.repetitions.join(', ')}, but shard ${shard.index} of ${shard.count} is repetitions ${reps.join(', ')} (0-based)`,
    );
  }
  const slice = new Map(shardRuns(plan, shard).map((r) => [r.index, r]));
  const seen = new Set<number>();
  for (const r of p.result.runs) {
    const planned = slice.get(r.index);
    if (!planned) {
      throw new UsageError(
        `h3bench merge: ${name} holds run ${r.index + 1} (${describePlanned(r)}), which is not one of its shard's ${slice.size} planned runs`,
      );
    }
    if (!samePlannedRun(r, planned)) {
      throw new UsageError(
        `h3bench merge: ${name}: its run ${r.index + 1} is ${describePlanned(r)}, the plan's is ${describePlanned(planned)}`,
      );
    }
    if (seen.has(r.index)) throw new UsageError(`h3bench merge: ${name} holds run ${r.index + 1} twice`);
    seen.add(r.index);
  }
}

export async function mergeCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse('merge', argv, {
    out: { type: 'string' },
    'allow-missing': { type: 'boolean' },
  });
  if (values.help) {
    console.log(MERGE_HELP);
    return ExitCode.Ok;
  }
  if (values.out === undefined) {
    throw new UsageError('h3bench merge: --out DIR is required (see h3bench merge --help)');
  }
  if (positionals.length === 0) {
    throw new UsageError(
      'h3bench merge: expected the result directories of the shards (see h3bench merge --help)',
    );
  }
  const { result, notices } = mergePieces(readPieces(positionals), {
    allowMissing: values['allow-missing'] === true,
    now: new Date(),
  });
  const outRoot = path.resolve(values.out);
  const tmp = await createRunTemp(outRoot, result.runId);
  let published: Awaited<ReturnType<typeof publishResult>>;
  try {
    published = await publishResult(result, tmp, outRoot);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  const shownDir = path.relative(process.cwd(), published.dir) || published.dir;
  const shown = resummarize(result);
  console.log(`\n${resultTextTable(shown)}\n`);
  for (const v of headlineBlock(shown)) console.log(v);
  for (const n of notices) console.error(`h3bench: ${n}`);
  const m = result.merged;
  console.error(
    `h3bench: merged ${result.runs.length} of ${result.plan?.runs ?? '?'} planned runs from ${m?.pieces.length ?? 0} of ${m?.shardCount ?? 0} shard(s) into ${shownDir}` +
      (result.partial ? ' (a partial result)' : ''),
  );
  if (published.reportError) {
    console.error(
      `h3bench: the reports could not be written (${published.reportError.message}); result.json is kept: run "h3bench report ${shownDir}"`,
    );
    return ExitCode.RunFailed;
  }
  return ExitCode.Ok;
}
