// Prints "N passed, N failed, N skipped" from vitest JSON reports, counting a failed typecheck or
// lint stage, or a vitest run that failed without reporting a failed test, as one failure each.
// Usage: test-summary.mjs "<failed stages>" REPORT.json:EXIT_STATUS...  Exit status 1 if any failed.
import { readFileSync } from 'node:fs';

const [failedStages, ...reports] = process.argv.slice(2);
let passed = 0;
let failed = 0;
let skipped = 0;
for (const arg of reports) {
  const i = arg.lastIndexOf(':');
  const file = arg.slice(0, i);
  const rc = Number(arg.slice(i + 1));
  let runFailed;
  try {
    const r = JSON.parse(readFileSync(file, 'utf8'));
    passed += r.numPassedTests ?? 0;
    skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
    // A file that failed to load has no assertions: count it once; files with failing tests are
    // already counted by their tests.
    const brokenFiles = (r.testResults ?? []).filter(
      (f) => f.status === 'failed' && (f.assertionResults ?? []).length === 0,
    ).length;
    runFailed = (r.numFailedTests ?? 0) + brokenFiles;
  } catch {
    console.error(`test-summary: vitest wrote no JSON report to ${file}`);
    runFailed = 1;
  }
  if (rc !== 0 && runFailed === 0) runFailed = 1;
  failed += runFailed;
}
if (failedStages) {
  for (const stage of failedStages.split(', ')) {
    console.error(`test-summary: ${stage} failed`);
    failed += 1;
  }
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
