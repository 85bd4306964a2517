/** `h3bench list`: the scenarios and network profiles shipped in scenarios/, with descriptions. */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { ExitCode, H3BenchError } from '../../core/errors.js';
import { projectRoot } from '../../core/paths.js';
import { loadProfile, loadScenario, profilesDir } from '../scenario/load.js';
import { parse } from './args.js';

export const LIST_HELP = `Usage: h3bench list

Lists every scenario in scenarios/ (name, protocols, backend, workload, description) and every network
profile in scenarios/profiles/ (name, description). Run a scenario with "h3bench run NAME"; run any
scenario over a profile with "h3bench run NAME --profile PROFILE".`;

const yamlNames = (dir: string): string[] =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -'.yaml'.length))
    .sort();

export function listCommand(argv: string[]): number {
  const { values } = parse('list', argv, {});
  if (values.help) {
    console.log(LIST_HELP);
    return ExitCode.Ok;
  }
  const message = (err: unknown) => (err instanceof H3BenchError ? err.message : String(err));
  console.log('Scenarios (scenarios/):');
  for (const name of yamlNames(path.join(projectRoot(), 'scenarios'))) {
    try {
      const { scenario: s } = loadScenario(name);
      const net = s.networkProfile ?? s.network.backend;
      console.log(
        `  ${s.name.padEnd(18)} ${s.protocols.join(',').padEnd(9)} ${net.padEnd(22)} ${s.workload.type.padEnd(10)} ${s.description.split('\n')[0] ?? ''}`,
      );
    } catch (err) {
      console.log(`  ${name.padEnd(18)} INVALID: ${message(err)}`);
    }
  }
  console.log('\nNetwork profiles (scenarios/profiles/; use with --profile):');
  for (const name of yamlNames(profilesDir())) {
    try {
      console.log(`  ${name.padEnd(26)} ${loadProfile(name).description}`);
    } catch (err) {
      console.log(`  ${name.padEnd(26)} INVALID: ${message(err)}`);
    }
  }
  return ExitCode.Ok;
}
