/** `h3bench list`: the scenarios shipped in scenarios/, with their descriptions. */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { ExitCode, H3BenchError } from '../errors.js';
import { projectRoot } from '../paths.js';
import { loadScenario } from '../scenario/load.js';
import { parse } from './args.js';

export const LIST_HELP = `Usage: h3bench list

Lists every scenario in scenarios/ with its protocols, backend and description.`;

export function listCommand(argv: string[]): number {
  const { values } = parse('list', argv, {});
  if (values.help) {
    console.log(LIST_HELP);
    return ExitCode.Ok;
  }
  const dir = path.join(projectRoot(), 'scenarios');
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort();
  for (const f of files) {
    try {
      const { scenario: s } = loadScenario(path.join(dir, f));
      console.log(
        `${s.name.padEnd(20)} ${s.protocols.join(',').padEnd(9)} ${s.network.backend.padEnd(7)} ${s.description.split('\n')[0] ?? ''}`,
      );
    } catch (err) {
      console.log(`${f.padEnd(20)} INVALID: ${err instanceof H3BenchError ? err.message : String(err)}`);
    }
  }
  return ExitCode.Ok;
}
