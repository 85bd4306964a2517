/**
 * The checkpoint of a run in progress, kept in its temporary directory so that a run whose
 * orchestrator is killed (SIGKILL, a crash, a power cut) loses only the run in progress:
 *
 * - `checkpoint.json`, written before the first run (write, fsync, rename, fsync the directory):
 *   everything of the ResultFile but the runs and the summary, how many runs the plan has and the
 *   orchestrator's pid; written again before publishing a result that stopped early, with its
 *   `partial` (so that a salvage of a run killed while publishing gives the real reason);
 * - `runs.jsonl`, one RunRecord per line (its result.json form), appended and fsynced as each run
 *   finishes.
 *
 * What the checkpoint holds never includes key material or child configs (those are in `work/`).
 * The next `h3bench run` or `h3bench cleanup` turns a dead run's checkpoint into a result
 * (salvage.ts). A published result directory holds neither file.
 */
import { open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { PartialRun, ResultFile, RunRecord } from '../model/result.js';
import { currentResultSchema } from '../model/schema.js';

export const CHECKPOINT_FILE = 'checkpoint.json';
export const RUNS_FILE = 'runs.jsonl';
const CHECKPOINT_VERSION = 1;

/** Everything of a ResultFile that is known before the first run. */
export type ResultHeader = Omit<ResultFile, 'schemaVersion' | 'runs' | 'summary' | 'partial'>;

export interface CheckpointHeader {
  /** Runs the plan has. */
  runsPlanned: number;
  result: ResultHeader;
  /**
   * The pid of the orchestrator that ran the runs (absent in the checkpoints of earlier builds):
   * a directory salvaged again after its salvager died still names the process that died first.
   */
  orchestratorPid?: number;
  /** Set once the run has stopped early, before it publishes its partial result. */
  partial?: PartialRun;
}

/** The header as result.json's schema validates it: the same keys, minus what comes later. */
const headerSchema = z.looseObject({
  checkpointVersion: z.literal(CHECKPOINT_VERSION),
  runsPlanned: z.number().int().min(0),
  result: currentResultSchema.omit({ schemaVersion: true, runs: true, summary: true, partial: true }),
  orchestratorPid: z.number().int().positive().optional(),
  partial: currentResultSchema.shape.partial,
});
/** One run record, exactly as result.json's schema validates it. */
const runRecordSchema = currentResultSchema.shape.runs.element;

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Write checkpoint.json durably: a crash leaves either no file or the whole file. */
export async function writeCheckpoint(tmp: string, header: CheckpointHeader): Promise<void> {
  const file = path.join(tmp, CHECKPOINT_FILE);
  const part = `${file}.part`;
  const fh = await open(part, 'w', 0o644);
  try {
    await fh.writeFile(JSON.stringify({ checkpointVersion: CHECKPOINT_VERSION, ...header }) + '\n');
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(part, file);
  await syncDir(tmp);
}

/**
 * Append one finished run to runs.jsonl and fsync it. `afterFailure`: an earlier append failed and
 * may have left half a line; start on a new line so this record stays readable.
 */
export async function appendRunRecord(tmp: string, record: RunRecord, afterFailure = false): Promise<void> {
  const file = path.join(tmp, RUNS_FILE);
  const fh = await open(file, 'a', 0o644);
  let created: boolean;
  try {
    // The first record creates the file (a shard's or a resume's first run is not run 0).
    created = (await fh.stat()).size === 0;
    await fh.write(`${afterFailure ? '\n' : ''}${JSON.stringify(record)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  if (created || afterFailure) await syncDir(tmp);
}

/** Remove the checkpoint files (from a directory that has become a result). */
export async function removeCheckpoint(dir: string): Promise<void> {
  await rm(path.join(dir, CHECKPOINT_FILE), { force: true });
  await rm(path.join(dir, `${CHECKPOINT_FILE}.part`), { force: true });
  await rm(path.join(dir, RUNS_FILE), { force: true });
}

export interface CheckpointRead {
  /** The header; null when there is none, with `headerError` saying why when it is unreadable. */
  header: CheckpointHeader | null;
  headerError?: string;
  /** The finished runs that validate, in the order they were written, one per run index. */
  runs: RunRecord[];
  /** Lines left out, and why (a crash while appending leaves a truncated last line). */
  skipped: string[];
}

function firstIssue(error: z.ZodError): string {
  const i = error.issues[0];
  return i ? `${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}` : 'invalid';
}

/** Read a temporary directory's checkpoint (a directory without one reads as no header, no runs). */
export async function readCheckpoint(tmp: string): Promise<CheckpointRead> {
  const out: CheckpointRead = { header: null, runs: [], skipped: [] };
  try {
    const text = await readFile(path.join(tmp, CHECKPOINT_FILE), 'utf8');
    const parsed = headerSchema.safeParse(JSON.parse(text));
    if (parsed.success) {
      // The scenario was validated key by key by result.json's schema, as readResult does.
      const { runsPlanned, orchestratorPid, partial } = parsed.data;
      out.header = {
        runsPlanned,
        result: parsed.data.result as unknown as ResultHeader,
        ...(orchestratorPid !== undefined ? { orchestratorPid } : {}),
        ...(partial !== undefined ? { partial } : {}),
      };
    } else {
      out.headerError = `${CHECKPOINT_FILE} does not match its schema: ${firstIssue(parsed.error)}`;
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code !== 'ENOENT') out.headerError = `${CHECKPOINT_FILE}: ${e.message}`;
  }
  let text = '';
  try {
    text = await readFile(path.join(tmp, RUNS_FILE), 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code !== 'ENOENT') out.skipped.push(`${RUNS_FILE}: ${e.message}`);
  }
  const lines = text.split('\n');
  const seen = new Set<number>();
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const where = `${RUNS_FILE} line ${i + 1}`;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      const last = lines.slice(i + 1).every((l) => l.trim() === '');
      out.skipped.push(`${where}: ${last ? 'truncated (the process died while writing it)' : 'not JSON'}`);
      return;
    }
    const parsed = runRecordSchema.safeParse(json);
    if (!parsed.success) {
      out.skipped.push(`${where}: not a run record (${firstIssue(parsed.error)})`);
      return;
    }
    const record: RunRecord = parsed.data;
    if (seen.has(record.index)) {
      out.skipped.push(`${where}: run ${record.index + 1} again`);
      return;
    }
    seen.add(record.index);
    out.runs.push(record);
  });
  return out;
}
