#!/usr/bin/env bash
# typecheck + lint + vitest; always ends with one plain line "N passed, N failed[, N skipped]".
# Unit tests run in parallel; integration tests (servers, namespaces, the link emulator, timing
# checks) run one file at a time so they do not disturb each other's measurements on 2 cores.
set -uo pipefail
cd "$(dirname "$0")/.."
unit=$(mktemp /tmp/h3bench-vitest-unit-XXXXXX.json)
integration=$(mktemp /tmp/h3bench-vitest-integration-XXXXXX.json)
trap 'rm -f "$unit" "$integration"' EXIT
failed_stage=""
npm run --silent typecheck || failed_stage="typecheck"
npm run --silent lint || failed_stage="${failed_stage:+$failed_stage, }lint"
npx vitest run test/unit --reporter=default --reporter=json --outputFile="$unit"
unit_rc=$?
npx vitest run test/integration --no-file-parallelism --reporter=default --reporter=json --outputFile="$integration"
integration_rc=$?
node scripts/test-summary.mjs "$failed_stage" "$unit:$unit_rc" "$integration:$integration_rc"
