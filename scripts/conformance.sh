#!/usr/bin/env bash
# `make conformance`: the language-neutral conformance suite. Builds the SDKs' adapters, tests the
# runner itself, then runs every case through every adapter of tests/conformance/adapters.yaml
# against a live server on the embedded default storage and, when the engines are up
# (CONCORD_TEST_* from scripts/services.sh env), again on Redis + PostgreSQL + etcd.
# Prints the case x language matrix; JUnit XML goes to .scratch/conformance/<storage>/.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$CONCORD_ROOT"
TAG=conformance
PY="$CONCORD_ROOT/.venv/bin/python"
# Every adapter of tests/conformance/adapters.yaml unless CONCORD_CONFORMANCE_LANGS names some.
LANGS="${CONCORD_CONFORMANCE_LANGS:-$(sed -n 's/^\([a-z0-9_-]*\):.*/\1/p' tests/conformance/adapters.yaml | paste -sd,)}"

while read -r sdk; do
  if sdk_has "$sdk" sdk_build_adapter; then
    log "$TAG" "building the $sdk adapter"
    sdk_run "$sdk" sdk_build_adapter
  fi
done < <(sdk_names)

log "$TAG" "runner self-tests"
"$PY" -m pytest -q tests/conformance/runner_tests

run_suite() { # STORAGE
  log "$TAG" "suite on $1 storage: $LANGS"
  "$PY" -m tests.conformance.runner --start-server --storage "$1" --lang "$LANGS" \
    --parallel 8 --require-coverage --matrix --junit-dir ".scratch/conformance/$1"
}

run_suite embedded
if [[ -n ${CONCORD_TEST_REDIS_URL:-} && -n ${CONCORD_TEST_POSTGRES_URL:-} && -n ${CONCORD_TEST_ETCD_URL:-} ]]; then
  run_suite engines
else
  log "$TAG" "engines not configured (run through 'make test' or 'make services-up'); engines run skipped"
fi
