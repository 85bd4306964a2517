/**
 * vitest globalSetup: compile the harness once before the tests, so tests that spawn child processes
 * (servers, clients, the CLI) run the code under test and not a stale dist/. tsc emits even when it
 * reports type errors; those fail the separate typecheck stage of `make test`, so here they only warn.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

export default function setup(): void {
  const root = path.resolve(import.meta.dirname, '../..');
  const r = spawnSync(
    process.execPath,
    [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: root,
      encoding: 'utf8',
    },
  );
  if (r.status !== 0) {
    process.stderr.write(
      `test setup: tsc reported errors (dist/ was still emitted):\n${r.stdout}${r.stderr}`,
    );
  }
}
