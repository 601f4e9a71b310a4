# Concord — one entry point for people and CI. `make` (or `make help`) lists the targets.
# Every tool runs from the project's own environment: .venv/bin/... and tools/node_modules/.bin/...

SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

VENV    := .venv
PY      := $(VENV)/bin/python
BUF     := tools/node_modules/.bin/buf
SCRATCH := .scratch

.PHONY: help setup setup-python setup-codegen setup-tools setup-console run test generate check-generated lint spec-lint spec-breaking \
        test-generator test-server test-sdks test-chart test-deploy test-cli test-console conformance compat third-party bench services-up services-down services-status vendor-protos \
        clean distclean

help: ## Show this help
	@echo "Concord — make targets (quick start: 'make run', 'make test')"
	@echo
	@if [[ -t 1 ]]; then on=$$'\e[36m' off=$$'\e[0m'; else on="" off=""; fi; \
	grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | \
	  awk -v on="$$on" -v off="$$off" 'BEGIN {FS = ":.*## "} {printf "  %s%-17s%s %s\n", on, $$1, off, $$2}'

# ---------------------------------------------------------------- set-up
setup: ## Install everything: apt packages (Redis, PostgreSQL, etcd, Mono), .venv, npm tools, Go when missing, each SDK's toolchain
	@scripts/setup.sh all

setup-python: ## Install only .venv (generator/server editable) and the npm tools
	@[[ -n "$${CONCORD_SKIP_SETUP:-}" ]] || scripts/setup.sh python

setup-codegen: # .venv plus what concord-gen's targets need (protoc for Java, formatters)
	@[[ -n "$${CONCORD_SKIP_SETUP:-}" ]] || scripts/setup.sh codegen

setup-console: # the web console's npm packages and its build (console/dist, served at /console)
	@[[ -n "$${CONCORD_SKIP_SETUP:-}" ]] || scripts/console.sh setup

setup-tools: # only the npm tools (buf)
	@[[ -n "$${CONCORD_SKIP_SETUP:-}" ]] || scripts/setup.sh tools

# ---------------------------------------------------------------- run
run: setup-python setup-console ## Run the server (data under .scratch/data)
	@if [[ ! -f server/pyproject.toml ]]; then \
	  echo "make run: server/ does not exist yet; nothing to run" >&2; exit 1; fi
	@mkdir -p $(SCRATCH)/data
	@key="$${CONCORD_BOOTSTRAP_ADMIN_KEY:-dev-admin-key}"; \
	echo "Concord: REST http://127.0.0.1:8080 (docs at /docs, console at /console), gRPC 127.0.0.1:9090"; \
	echo "Concord: bootstrap admin API key for this dev server: $$key (header X-API-Key)"; \
	CONCORD_DATA_DIR="$(CURDIR)/$(SCRATCH)/data" CONCORD_BOOTSTRAP_ADMIN_KEY="$$key" \
	  exec $(PY) -m concord_server

# ---------------------------------------------------------------- test
test: ## Everything CI runs: setup, services, spec-lint, check-generated, lint, tests
	@scripts/test.sh

test-generator: setup-codegen ## Run the generator's tests
	@scripts/pytest.sh generator

test-server: setup-python ## Run the server's tests (starts Redis/PostgreSQL/etcd when they are not up)
	@scripts/with-services.sh scripts/pytest.sh server

test-sdks: setup-python ## Run each SDK's unit and live tests and its package check (CONCORD_SDKS=python,go limits them)
	@scripts/test-sdks.sh

test-cli: setup-python ## Run the concord CLI's tests (cli/; they start a server of their own)
	@scripts/pytest.sh cli

test-console: setup-python ## Run the web console's browser tests (chromium + playwright-core; screenshots in .scratch/artifacts/console)
	@scripts/console.sh test

test-chart: setup-python ## Lint and render the Helm chart; validate every manifest against the Kubernetes schema, offline
	@scripts/test-chart.sh

test-deploy: setup-python ## Build the server image with podman and run it: embedded default, and replicas on Redis/PostgreSQL/etcd
	@scripts/with-services.sh scripts/test-deploy.sh

conformance: setup-python ## Run the conformance suite (every adapter) on embedded storage and the engines; print the matrix
	@scripts/with-services.sh scripts/conformance.sh

compat: setup-python ## Run the previous release's conformance cases against today's server (fails on a breaking change)
	@scripts/compat.sh

third-party: setup-python ## Generate clients with OpenAPI Generator, openapi-typescript and stock protoc plugins; build them strictly; call a live server
	@scripts/third-party.sh

bench: setup-python ## Run every benchmark in bench/ against its same-run baseline; print one table, write .scratch/bench/<commit>.json
	@scripts/bench.sh $(BENCH_ARGS)

# ---------------------------------------------------------------- contract and code generation
generate: setup-codegen ## Regenerate every artifact from spec/proto (concord-gen generate)
	@if [[ ! -f generator/pyproject.toml ]]; then \
	  echo "generate: skipped, generator/ does not exist yet"; exit 0; fi; \
	$(VENV)/bin/concord-gen generate

check-generated: setup-codegen ## Fail if committed generated files differ from the spec (concord-gen check)
	@if [[ ! -f generator/pyproject.toml ]]; then \
	  echo "check-generated: skipped, generator/ does not exist yet"; exit 0; fi; \
	$(VENV)/bin/concord-gen check

spec-lint: setup-tools ## Lint the protobuf contract (buf lint)
	@if [[ ! -f spec/buf.yaml ]]; then echo "spec-lint: skipped, no spec/buf.yaml"; exit 0; fi; \
	$(BUF) lint spec && echo "spec-lint: buf lint clean"

spec-breaking: setup-tools ## Report breaking changes of the working tree's spec against the previous release (buf breaking)
	@scripts/spec-breaking.sh

vendor-protos: setup-python ## Re-copy the googleapis protos from the pinned wheel into spec/third_party
	@src="$$($(PY) -c 'import google.api, os; print(os.path.dirname(list(google.api.__path__)[0]))')"; \
	for f in api/annotations.proto api/http.proto api/field_behavior.proto rpc/status.proto; do \
	  mkdir -p "spec/third_party/google/$$(dirname $$f)"; \
	  cp "$$src/$$f" "spec/third_party/google/$$f"; \
	  echo "vendor-protos: google/$$f"; \
	done; \
	echo "vendor-protos: from googleapis-common-protos $$($(PY) -m pip show googleapis-common-protos | sed -n 's/^Version: //p')"

# ---------------------------------------------------------------- lint
lint: setup-python ## ruff + mypy --strict (generator, server, conformance, deploy), every SDK's own linters, shellcheck, actionlint
	@scripts/lint.sh

# ---------------------------------------------------------------- services
services-up: ## Start Redis, PostgreSQL and etcd on 127.0.0.1 (data in .scratch/services)
	@scripts/services.sh start

services-down: ## Stop the services started by services-up
	@scripts/services.sh stop

services-status: ## Show which services run, and the env lines tests use
	@scripts/services.sh status
	@scripts/services.sh env

# ---------------------------------------------------------------- clean
clean: ## Stop services; remove .scratch, caches and build output (keeps .venv, tools/node_modules)
	@scripts/services.sh stop 2>/dev/null || true
	@# A cluster kept outside the checkout (see scripts/services.sh) goes too.
	@if [[ -L $(SCRATCH)/services/postgres ]]; then rm -rf "$$(readlink -f $(SCRATCH)/services/postgres)"; fi
	rm -rf $(SCRATCH) .tox .mypy_cache .ruff_cache .pytest_cache build dist
	find . -path ./.git -prune -o -path ./$(VENV) -prune -o -path ./tools/node_modules -prune -o \
	  \( -name __pycache__ -o -name '*.egg-info' -o -name .mypy_cache -o -name .ruff_cache \
	     -o -name .pytest_cache \) -type d -print0 | xargs -0 rm -rf

distclean: clean ## clean, and remove .venv and tools/node_modules too
	rm -rf $(VENV) tools/node_modules
