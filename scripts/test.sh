#!/usr/bin/env bash
# `make test`: the whole gate, as CI runs it. Sets up, starts the services, runs every
# check (spec-lint, check-generated, lint, generator tests, server tests) even when an
# earlier one fails, prints a summary, stops the services it started, and exits non-zero
# when any step failed.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$CONCORD_ROOT"
TAG="test"
T0=$SECONDS

scripts/setup.sh all

# Leave services alone that were already up (a developer's `make services-up`);
# stop the ones this run started, whatever happens.
STARTED_HERE=0
stop_services() {
  if [[ $STARTED_HERE -eq 1 ]]; then
    scripts/services.sh stop || log "$TAG" "WARNING: stopping the services failed"
  fi
}
trap stop_services EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if scripts/services.sh check; then
  log "$TAG" "services already running; leaving them up afterwards"
else
  STARTED_HERE=1
  scripts/services.sh start
fi
eval "$(scripts/services.sh env)"

# The set-up is done: the steps' own `setup-python` prerequisite can skip it.
export CONCORD_SKIP_SETUP=1

failure_lines() { # LOG — the last 40 lines that name a failure, each cut to 300 characters
  grep -E '(^|[^a-z])(FAIL|FAILED|ERROR|Error|error|panic|Traceback|not ok|Assertion|expected)' "$1" |
    grep -v -E 'Failures: 0, Errors: 0|[^0-9]0 failed|^\[INFO\]|^ *(# Subtest:|ok [0-9])' |
    grep -v -E '^[a-z0-9_/.-]+( +(PASS|SKIP|XFAIL))+ *$' | tail -n 40 | cut -c1-300 || true
}

STEPS=(spec-lint check-generated lint test-chart test-generator test-server test-sdks test-cli test-console conformance compat third-party test-deploy)
declare -A RESULT
FAILED=()
# Each step's output also goes to a log, so the summary can repeat what failed: CI shows a
# long run's head and tail, and a failure in the middle would otherwise be out of sight.
STEP_LOGS="$CONCORD_ROOT/.scratch/logs/test"
mkdir -p "$STEP_LOGS"
for step in "${STEPS[@]}"; do
  log "$TAG" "── $step"
  t=$SECONDS
  if make "$step" 2>&1 | tee "$STEP_LOGS/$step.log"; then
    RESULT[$step]="ok    $((SECONDS - t))s"
  else
    RESULT[$step]="FAIL  $((SECONDS - t))s"
    FAILED+=("$step")
  fi
done

log "$TAG" "summary ($((SECONDS - T0))s in all):"
for step in "${STEPS[@]}"; do
  printf '  %-16s %s\n' "$step" "${RESULT[$step]}" >&2
done
if [[ ${#FAILED[@]} -gt 0 ]]; then
  for step in "${FAILED[@]}"; do
    log "$TAG" "what failed in $step (the last failure lines of $STEP_LOGS/$step.log):"
    failure_lines "$STEP_LOGS/$step.log" >&2
  done
  log "$TAG" "FAILED: ${FAILED[*]}"
  exit 1
fi
log "$TAG" "all steps passed"
