#!/usr/bin/env bash
# typecheck + lint + vitest; always ends with one plain line "N passed, N failed[, N skipped]".
set -uo pipefail
cd "$(dirname "$0")/.."
report=$(mktemp /tmp/h3bench-vitest-XXXXXX.json)
trap 'rm -f "$report"' EXIT
failed_stage=""
npm run --silent typecheck || failed_stage="typecheck"
npm run --silent lint || failed_stage="${failed_stage:+$failed_stage, }lint"
npx vitest run --reporter=default --reporter=json --outputFile="$report"
vitest_rc=$?
node scripts/test-summary.mjs "$report" "$vitest_rc" "$failed_stage"
