/** `h3bench validate <scenario>`: check a scenario and print it resolved, without running it. */
import { ExitCode } from '../../core/errors.js';
import { loadScenario } from '../scenario/load.js';
import { onePositional, parse } from './args.js';

export const VALIDATE_HELP = `Usage: h3bench validate <scenario name | path.yaml>

Checks the scenario against the schema and prints it with every default filled in and every unit
converted (delayMs, rateKbit, sizeBytes...). Exit 0 if valid, 2 with the file, key and value if not.`;

export function validateCommand(argv: string[]): number {
  const { values, positionals } = parse('validate', argv, {});
  if (values.help) {
    console.log(VALIDATE_HELP);
    return ExitCode.Ok;
  }
  const loaded = loadScenario(onePositional('validate', positionals, 'scenario'));
  console.log(JSON.stringify({ file: loaded.file, hash: loaded.hash, scenario: loaded.scenario }, null, 2));
  return ExitCode.Ok;
}
