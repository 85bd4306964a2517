#!/usr/bin/env bash
# typecheck + lint + vitest; always ends with one plain line "N passed, N failed[, N skipped]".
# TypeScript is compiled once: one tsc run over tsconfig.json type-checks the sources and the tests
# and emits dist/ (which the tests that spawn servers, clients and the CLI run); vitest's global
# setup (test/setup/build.ts) then skips its own build, told so by H3BENCH_DIST_BUILT=1. tsc emits
# even with type errors, which fail the typecheck stage only.
# Unit tests run in parallel; integration tests (servers, namespaces, the link emulator, timing
# checks) run one file at a time so they do not disturb each other's measurements on 2 cores.
set -uo pipefail
cd "$(dirname "$0")/.."
unit=$(mktemp /tmp/h3bench-vitest-unit-XXXXXX.json)
integration=$(mktemp /tmp/h3bench-vitest-integration-XXXXXX.json)
trap 'rm -f "$unit" "$integration"' EXIT
failed_stage=""
# From an empty dist/: a module deleted from the sources must not live on in a stale compiled copy
# that spawned processes could still load (tsc rewrites every file anyway).
rm -rf dist
npx tsc -p tsconfig.json || failed_stage="typecheck"
# The same program holds the tests: keep dist/ to what tsconfig.build.json emits.
rm -rf dist/test dist/vitest.config.js dist/vitest.config.js.map
export H3BENCH_DIST_BUILT=1
npm run --silent lint || failed_stage="${failed_stage:+$failed_stage, }lint"
# A hung worker must not hang CI: each run has a hard limit (a killed run writes no report and
# counts as a failure in the summary).
timeout --kill-after=30 600 npx vitest run test/unit --reporter=default --reporter=json --outputFile="$unit"
unit_rc=$?
timeout --kill-after=30 2400 npx vitest run test/integration --no-file-parallelism --reporter=default \
  --reporter=json --outputFile="$integration"
integration_rc=$?
node scripts/test-summary.mjs "$failed_stage" "$unit:$unit_rc" "$integration:$integration_rc"
