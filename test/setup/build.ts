/**
 * vitest globalSetup: compile the harness before the tests, so tests that spawn child processes
 * (servers, clients, the CLI) run the code under test and not a stale dist/. `make test`
 * (scripts/test.sh) has already compiled dist/ in its typecheck and sets H3BENCH_DIST_BUILT=1, so
 * TypeScript is compiled once per `make test`; a plain `npx vitest run` compiles here. tsc emits even
 * when it reports type errors; those fail the typecheck stage of `make test`, so here they only warn.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

/** Set by scripts/test.sh once its tsc run has emitted dist/. */
export const DIST_BUILT_ENV = 'H3BENCH_DIST_BUILT';

export default function setup(): void {
  if (process.env[DIST_BUILT_ENV] === '1') return;
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
