/**
 * `h3bench cleanup`: remove what interrupted or crashed runs left behind (their finished runs
 * become partial results); restore host sysctls.
 */
import path from 'node:path';
import { ExitCode } from '../../core/errors.js';
import { projectRoot } from '../../core/paths.js';
import { foreignLines, salvageStaleRunTemps, salvagedLines } from '../runner/salvage.js';
import { hasNetAdmin } from '../../link/netns.js';
import { stateFile } from '../../link/state.js';
import { cleanupAll } from '../../link/topology.js';
import { intFlag, parse } from './args.js';
import { EnvironmentError } from '../../core/errors.js';

export const CLEANUP_HELP = `Usage: h3bench cleanup [--dry-run] [--older-than SECONDS] [--all] [--out DIR]

Removes every network namespace named h3b-* (with the processes inside, and the TUN devices and
veths in them), the emulator processes recorded by h3bench processes that are gone, and restores
the host sysctls h3bench raised (tcp_allowed_congestion_control, net.core.rmem_max/wmem_max) from
the state file (/run/h3bench/state.json). Namespaces owned by a running h3bench are kept.
Also clears the results directory of the temporary directories (.tmp-*) that runs whose process is
gone (kill -9, a crash, a power cut) left behind, never one of a running process: the runs such a
run had finished (its checkpoint) become a result, <run-id>-partial/ (or <run-id>/ when every
planned run had finished); a directory with no finished run is removed; one of another pid
namespace (another container) is left alone and named. "h3bench run" does the same at its start.

Options:
  --dry-run              only print what would be removed
  --older-than SECONDS   leave h3b-* namespaces no h3bench process recorded alone unless older
                         (another tool may be setting them up; default 0)
  --all                  also remove what running h3bench processes own (breaks their runs)
  --out DIR              results directory to clear of dead runs' .tmp-* directories
                         (default: results/ in the project)
  -h, --help             show this help

Exit codes: 0 clean, 1 something could not be removed, 3 not root.`;

export async function cleanupCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse('cleanup', argv, {
    'dry-run': { type: 'boolean' },
    'older-than': { type: 'string' },
    all: { type: 'boolean' },
    out: { type: 'string' },
  });
  if (values.help) {
    console.log(CLEANUP_HELP);
    return ExitCode.Ok;
  }
  if (positionals.length > 0) {
    console.error(
      `h3bench cleanup: unexpected argument "${positionals[0] ?? ''}" (see h3bench cleanup --help)`,
    );
    return ExitCode.BadInput;
  }
  const dryRun = values['dry-run'] ?? false;
  // Temporary directories of dead runs need no privilege: cleared first, whoever runs this.
  const outRoot = path.resolve(values.out ?? path.join(projectRoot(), 'results'));
  const temps = await salvageStaleRunTemps(outRoot, { dryRun });
  for (const line of salvagedLines(temps.salvaged, dryRun)) console.log(line);
  for (const line of foreignLines(temps.foreign)) console.log(line);
  for (const t of temps.removed) {
    console.log(
      `${dryRun ? 'would remove' : 'removed'} ${t.dir} (temporary directory of h3bench pid ${t.pid}, gone)`,
    );
  }
  for (const e of temps.errors) console.error(`h3bench cleanup: ${e}`);
  const admin = await hasNetAdmin();
  if (!admin.ok) throw new EnvironmentError(`Cannot clean up: ${admin.reason}; run h3bench cleanup as root`);
  const r = await cleanupAll({
    dryRun,
    all: values.all ?? false,
    olderThanS: intFlag('older-than', values['older-than'], 0, 10 ** 9) ?? 0,
  });
  const verb = dryRun ? 'would remove' : 'removed';
  for (const o of r.owners) {
    console.log(
      `${verb} leftovers of h3bench pid ${o.pid} (${o.command}): namespaces ${o.namespaces.join(', ') || '-'}, ${o.processes} process(es)`,
    );
  }
  for (const n of r.unrecorded) console.log(`${verb} namespace ${n}`);
  for (const n of r.kept) console.log(`kept namespace ${n} (owned by a running h3bench; --all removes it)`);
  for (const h of r.restored) {
    console.log(
      dryRun
        ? `would restore ${h.name} to "${h.original}"`
        : `restored ${h.name}: "${h.value}" -> "${h.original}"`,
    );
  }
  for (const e of r.errors) console.error(`h3bench cleanup: ${e}`);
  const errors = r.errors.length + temps.errors.length;
  if (
    r.owners.length +
      r.unrecorded.length +
      r.restored.length +
      temps.removed.length +
      temps.salvaged.length ===
      0 &&
    errors === 0
  ) {
    console.log(`nothing to clean up (state: ${stateFile()}, results: ${outRoot})`);
  }
  return errors > 0 ? ExitCode.RunFailed : ExitCode.Ok;
}
