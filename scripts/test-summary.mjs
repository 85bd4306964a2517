// Prints "N passed, N failed, N skipped" from vitest's JSON report, counting a failed typecheck or
// lint stage (or a vitest run that produced no report) as one failure each. Exit status 1 if any failed.
import { readFileSync } from 'node:fs';

const [file, rcText, failedStages] = process.argv.slice(2);
let passed = 0;
let failed = 0;
let skipped = 0;
try {
  const r = JSON.parse(readFileSync(file, 'utf8'));
  passed = r.numPassedTests ?? 0;
  // A file that failed to load has no assertions: count it once; files with failing tests are
  // already counted by their tests.
  const brokenFiles = (r.testResults ?? []).filter(
    (f) => f.status === 'failed' && (f.assertionResults ?? []).length === 0,
  ).length;
  failed = (r.numFailedTests ?? 0) + brokenFiles;
  skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
} catch {
  failed += 1;
  console.error('test-summary: vitest wrote no JSON report');
}
if (Number(rcText) !== 0 && failed === 0) failed = 1;
if (failedStages) {
  for (const stage of failedStages.split(', ')) {
    console.error(`test-summary: ${stage} failed`);
    failed += 1;
  }
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
