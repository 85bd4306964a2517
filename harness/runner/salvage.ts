/**
 * What a dead run (its orchestrator killed with SIGKILL, crashed, or the machine lost power) left
 * in the output directory: its temporary directory (`.tmp-*`, workdir.ts) with the checkpoint of
 * its finished runs (checkpoint.ts). Finished runs are never thrown away: a directory whose
 * checkpoint holds at least one finished run becomes a result (`<run-id>-partial`, or `<run-id>`
 * when every planned run had finished), published exactly as the run publishes one (publish.ts).
 * A directory with no finished run is removed. One whose finished runs cannot be made a result
 * (an unreadable checkpoint header, a failure while publishing) is kept and reported.
 * `h3bench run` does this at its start, `h3bench cleanup` on demand; never to a live process's
 * directory, nor to one of another pid namespace (another container sharing the results directory:
 * whether its process runs cannot be told from here), which is reported instead.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { toError } from '../../core/errors.js';
import { summarize } from '../measure/result-summary.js';
import { RESULT_SCHEMA_VERSION, type ResultFile } from '../model/result.js';
import { readCheckpoint } from './checkpoint.js';
import { hostsWithRuns } from './plan.js';
import { PARTIAL_SUFFIX, publishResult } from './publish.js';
import { claimRunTemp, scanRunTemps, type ForeignTemp, type StaleTemp } from './workdir.js';

export interface Salvaged extends StaleTemp {
  /** The result directory it became (with --dry-run: the one it would become, before collisions). */
  resultDir: string;
  runsDone: number;
  runsPlanned: number;
  /** Set when fewer runs than planned had finished. */
  partial: boolean;
  /** Checkpoint lines left out (a truncated last line...). */
  skipped: string[];
  /** Set when the reports other than result.json could not be rendered. */
  reportError?: Error;
}

export interface SweepResult {
  salvaged: Salvaged[];
  /** Directories with no finished run, removed (or, with dryRun, to be removed). */
  removed: StaleTemp[];
  /** What could not be removed or salvaged (and was left in place), one line each. */
  errors: string[];
  /** Directories of runs in another pid namespace (another container), left alone. */
  foreign: ForeignTemp[];
}

/** The reason a salvaged result gives for being partial. */
export function deadOwnerReason(pid: number, runsDone: number, runsPlanned: number): string {
  return `the orchestrator (pid ${pid}) died after ${runsDone} of ${runsPlanned} runs`;
}

/**
 * Salvage or remove the `.tmp-*` directories of dead runs in `outRoot` (see the file comment);
 * with `dryRun`, only say what would be done.
 */
export async function salvageStaleRunTemps(
  outRoot: string,
  opts: { dryRun?: boolean } = {},
): Promise<SweepResult> {
  const temps = await scanRunTemps(outRoot);
  const out: SweepResult = { salvaged: [], removed: [], errors: [], foreign: temps.foreign };
  for (const t of temps.stale) {
    try {
      const cp = await readCheckpoint(t.dir);
      if (cp.runs.length === 0) {
        if (!opts.dryRun) await rm(t.dir, { recursive: true, force: true });
        out.removed.push(t);
        continue;
      }
      if (cp.header === null) {
        out.errors.push(
          `${t.dir}: kept, as it holds ${cp.runs.length} finished run(s) but no usable checkpoint header (${cp.headerError ?? 'no checkpoint.json'}); remove it by hand if they are not wanted`,
        );
        continue;
      }
      const { runsPlanned, result: header } = cp.header;
      // In the plan's order (a resume checkpoints its kept runs before its first new one).
      const runs = [...cp.runs].sort((a, b) => a.index - b.index);
      const partial = runs.length < runsPlanned;
      // The run's own reason when it had stopped early and died while publishing; otherwise its
      // orchestrator died (named by the checkpoint: `t.pid` may be a salvager that died too).
      const reason =
        cp.header.partial?.reason ??
        deadOwnerReason(cp.header.orchestratorPid ?? t.pid, runs.length, runsPlanned);
      const result: ResultFile = {
        schemaVersion: RESULT_SCHEMA_VERSION,
        ...header,
        // A resume's hosts: the dead session ran the runs no earlier session had (run.ts).
        ...(header.hosts ? { hosts: hostsWithRuns(header.hosts, runs) } : {}),
        runs,
        summary: summarize(header.scenario.protocols, runs, header.scenario),
        ...(partial
          ? {
              partial: {
                reason,
                runsPlanned,
                runsDone: runs.length,
              },
            }
          : {}),
      };
      const entry = { ...t, runsDone: runs.length, runsPlanned, partial, skipped: cp.skipped };
      if (opts.dryRun) {
        const base = `${header.runId}${partial ? PARTIAL_SUFFIX : ''}`;
        out.salvaged.push({ ...entry, resultDir: path.join(outRoot, base) });
        continue;
      }
      // Take it over first: only one process salvages a directory; if this one dies meanwhile, the
      // directory is a dead run's again and the next sweep salvages it.
      const claimed = await claimRunTemp(t.dir, header.runId);
      if (claimed === null) continue;
      try {
        const published = await publishResult(result, claimed, outRoot);
        out.salvaged.push({
          ...entry,
          resultDir: published.dir,
          ...(published.reportError ? { reportError: published.reportError } : {}),
        });
      } catch (err) {
        out.errors.push(
          `${claimed}: kept, as its ${runs.length} finished run(s) could not be made a result: ${toError(err).message}`,
        );
      }
    } catch (err) {
      out.errors.push(`${t.dir}: ${toError(err).message}`);
    }
  }
  return out;
}

/** The directories of other pid namespaces that were left alone, one line each, for the user. */
export function foreignLines(foreign: readonly ForeignTemp[]): string[] {
  return foreign.map(
    (f) =>
      `left ${f.dir} alone: its run (pid ${f.pid}) is in another pid namespace (${f.pidNamespace}; another container sharing this results directory?), where whether it still runs cannot be told from here; clean it up from there, or remove it by hand once that run is gone`,
  );
}

/** What was (or, with dryRun, would be) salvaged, one line per directory, for the user. */
export function salvagedLines(salvaged: readonly Salvaged[], dryRun = false): string[] {
  const lines: string[] = [];
  for (const s of salvaged) {
    const what = s.partial ? `${s.runsDone} of ${s.runsPlanned} runs` : `all ${s.runsPlanned} runs`;
    lines.push(
      `${dryRun ? 'would salvage' : 'salvaged'} ${what} of h3bench process ${s.pid}, which is gone, from ${s.dir} into ${s.resultDir}` +
        (s.partial ? ' (a partial result)' : '') +
        (s.skipped.length > 0 ? `; left out: ${s.skipped.join('; ')}` : ''),
    );
    if (s.reportError) {
      lines.push(
        `the reports of ${s.resultDir} could not be written (${s.reportError.message}); result.json is kept: run "h3bench report ${s.resultDir}"`,
      );
    }
  }
  return lines;
}
