#!/usr/bin/env bash
# `make compat`: the previous release's conformance cases against today's server. Takes the
# cases (and known-failing lists) of the baseline commit of scripts/baseline.sh from git (the
# last release tag v*, else the commit pinned in tests/conformance/compat-baseline) and runs
# them with today's runner and REST reference adapter against a server of this checkout on
# embedded storage. An old case that fails is a breaking change: it fails the target unless the
# contract version (spec/VERSION) was bumped since the baseline. First runs the compat
# self-tests (tests/conformance/compat_tests: a deliberately broken server must be caught).
#
# Environment: CONCORD_BASELINE (a git ref to compare with), CONCORD_COMPAT_LANGS (default
# rest), CONCORD_COMPAT_CASES (a glob on case ids), CONCORD_COMPAT_SERVER_PYTHON (the
# interpreter that runs the server), CONCORD_COMPAT_SELF_TESTS=0 (skip the self-tests).
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=scripts/baseline.sh
source "$CONCORD_ROOT/scripts/baseline.sh"
cd "$CONCORD_ROOT"
TAG=compat
PY="$CONCORD_ROOT/.venv/bin/python"

if [[ ${CONCORD_COMPAT_SELF_TESTS:-1} != 0 ]]; then
  log "$TAG" "self-tests (a deliberate breaking change must be caught)"
  "$PY" -m pytest -q tests/conformance/compat_tests
fi

found="$(baseline_commit)" || die "$TAG" "no baseline to run old cases from"
sha="${found%% *}" how="${found#* }"
if ! git cat-file -e "$sha:tests/conformance/cases" 2>/dev/null; then
  log "$TAG" "skipped: $how (${sha:0:12}) has no conformance cases"
  exit 0
fi
old_cases="$(mktemp -d "${TMPDIR:-/tmp}/concord-compat-XXXXXX")"
trap 'rm -rf "$old_cases"' EXIT
paths=(tests/conformance/cases)
if git cat-file -e "$sha:tests/conformance/known-failing" 2>/dev/null; then
  paths+=(tests/conformance/known-failing)
fi
git archive "$sha" "${paths[@]}" | tar -x -C "$old_cases"
mkdir -p "$old_cases/tests/conformance/known-failing"
count="$(cat "$old_cases"/tests/conformance/cases/*.yaml | grep -c -e '^- name:' -e '^  - name:' || true)"
old="$(contract_version "$sha")" new="$(contract_version)"
log "$TAG" "$count cases of $how (${sha:0:12}, contract $old) against this checkout's server (contract $new)"

args=(--start-server --storage embedded --lang "${CONCORD_COMPAT_LANGS:-rest}" --parallel 8
  --cases-dir "$old_cases/tests/conformance/cases"
  --known-failing-dir "$old_cases/tests/conformance/known-failing"
  --junit-dir "$CONCORD_ROOT/.scratch/compat")
[[ -z ${CONCORD_COMPAT_CASES:-} ]] || args+=(--cases "$CONCORD_COMPAT_CASES")
[[ -z ${CONCORD_COMPAT_SERVER_PYTHON:-} ]] || args+=(--server-python "$CONCORD_COMPAT_SERVER_PYTHON")
rc=0
"$PY" -m tests.conformance.runner "${args[@]}" || rc=$?
if [[ $rc -eq 0 ]]; then
  log "$TAG" "the cases of $how pass against today's server"
elif version_bumped "$old" "$new"; then
  log "$TAG" "old cases fail (above), allowed: the contract version went from $old to $new"
  rc=0
else
  log "$TAG" "BREAKING: cases of $how fail against today's server (above); restore compatibility or bump spec/VERSION (now $new)"
fi
exit "$rc"
