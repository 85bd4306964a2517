#!/usr/bin/env node
/**
 * h3bench command line. Thin: each command lives in its own file; this maps errors to exit codes
 * and turns SIGINT/SIGTERM into a clean abort.
 */
import { ExitCode, H3BenchError } from '../../core/errors.js';
import { killAll } from '../runner/launcher.js';
import { FETCH_HELP, fetchCommand } from './fetch.js';
import { CLEANUP_HELP, cleanupCommand } from './cleanup.js';
import { COMPARE_HELP, compareCommand } from './compare.js';
import { LIST_HELP, listCommand } from './list.js';
import { MERGE_HELP, mergeCommand } from './merge.js';
import { REPORT_HELP, reportCommand } from './report.js';
import { NETEM_HELP, netemCommand } from './netem.js';
import { RUN_HELP, runCommand } from './run.js';
import { SERVE_HELP, serveCommand } from './serve.js';
import { VALIDATE_HELP, validateCommand } from './validate.js';

const HELP = `Usage: h3bench <command> [options]

Commands:
  run <scenario>        run a scenario and write results (h3bench run --help)
  report <dir>          regenerate runs.csv, report.md, report.html and figures from result.json
  compare <base> <cur>  compare two results; exit 1 on a significant regression (CI gate)
  merge <dir>... --out  merge the shards of a study (run --shard I/N) into one result
  validate <scenario>   check a scenario file and print it resolved
  list                  list the shipped scenarios
  netem selftest <p>    measure an emulated link against its profile (RTT, loss, rate, queue)
  netem shell <p> -- C  run command C in the client namespace of an emulated link
  cleanup               remove namespaces/processes left by interrupted runs, restore host sysctls
  serve                 run the paired servers standalone (h1+h2 on TCP, h3 on UDP)
  fetch <url>           one GET with h1, h2 or h3, with a timing breakdown

Run "h3bench <command> --help" for a command's options.`;

type Command = (argv: string[], signal: AbortSignal) => number | Promise<number>;
const COMMANDS: Record<string, { run: Command; help: string }> = {
  run: { run: runCommand, help: RUN_HELP },
  report: { run: reportCommand, help: REPORT_HELP },
  compare: { run: compareCommand, help: COMPARE_HELP },
  merge: { run: mergeCommand, help: MERGE_HELP },
  validate: { run: validateCommand, help: VALIDATE_HELP },
  list: { run: listCommand, help: LIST_HELP },
  netem: { run: netemCommand, help: NETEM_HELP },
  cleanup: { run: cleanupCommand, help: CLEANUP_HELP },
  serve: { run: serveCommand, help: SERVE_HELP },
  fetch: { run: fetchCommand, help: FETCH_HELP },
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(HELP);
    return name === undefined ? ExitCode.BadInput : ExitCode.Ok;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`h3bench: unknown command "${name}"\n\n${HELP}`);
    return ExitCode.BadInput;
  }
  const ac = new AbortController();
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    console.error(`\nh3bench: ${sig}: stopping and cleaning up...`);
    ac.abort(new Error(`interrupted by ${sig}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await command.run(rest, ac.signal);
  } catch (err) {
    if (ac.signal.aborted) return ExitCode.Interrupted;
    if (err instanceof H3BenchError) {
      console.error(`h3bench: ${err.message}`);
      return err.exitCode;
    }
    console.error(
      `h3bench: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
    );
    return ExitCode.RunFailed;
  } finally {
    killAll();
  }
}

let finished = false;
// A command whose pending work lost every handle would otherwise end with exit code 0, silently.
process.on('beforeExit', () => {
  if (!finished) {
    console.error(
      'h3bench: internal error: the command stopped before finishing (an awaited event never came)',
    );
    process.exitCode = ExitCode.RunFailed;
    finished = true;
  }
});

main(process.argv.slice(2)).then(
  (code) => {
    finished = true;
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err);
    process.exitCode = ExitCode.RunFailed;
  },
);
