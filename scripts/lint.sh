#!/usr/bin/env bash
# `make lint`: ruff check, ruff format --check and mypy --strict for generator/, server/ (its
# tests too), cli/ and tests/conformance/, each with its own pyproject.toml config; ruff for bench/
# (bench/ruff.toml); each SDK's own checks (scripts/sdk/<name>.sh sdk_lint); actionlint on the
# GitHub workflows; the build scripts through shellcheck.
# Runs every check, then fails if any failed. Generated protoc stubs (_gen/) are excluded.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$CONCORD_ROOT"
TAG=lint
BIN="${CONCORD_BIN:-$CONCORD_ROOT/.venv/bin}" # tox passes its own
FAILED=()

check() { # NAME DIR CMD...
  local name="$1" dir="$2"
  shift 2
  log "$TAG" "$name"
  (cd "$dir" && "$@") || FAILED+=("$name")
}

for pkg in generator server cli; do
  if [[ ! -f $pkg/pyproject.toml ]]; then
    log "$TAG" "skipped $pkg: $pkg/ does not exist yet"
    continue
  fi
  check "ruff check $pkg" "$pkg" "$BIN/ruff" check --extend-exclude _gen .
  check "ruff format --check $pkg" "$pkg" "$BIN/ruff" format --check --extend-exclude _gen .
  if [[ -d $pkg/src ]]; then
    check "mypy --strict $pkg/src" "$pkg" "$BIN/mypy" --strict --exclude '/_gen/' src
  fi
done

check "mypy --strict server/tests" server "$BIN/mypy" --strict --exclude '/_gen/' tests

if [[ -f tests/conformance/pyproject.toml ]]; then
  check "ruff check tests/conformance" tests/conformance "$BIN/ruff" check .
  check "ruff format --check tests/conformance" tests/conformance "$BIN/ruff" format --check .
  check "mypy --strict tests/conformance" . "$BIN/mypy" --config-file tests/conformance/pyproject.toml
fi

check "ruff check bench" bench "$BIN/ruff" check .
check "ruff format --check bench" bench "$BIN/ruff" format --check .

if [[ -f deploy/pyproject.toml ]]; then
  check "ruff check deploy" deploy "$BIN/ruff" check .
  check "ruff format --check deploy" deploy "$BIN/ruff" format --check .
  check "mypy --strict deploy" . "$BIN/mypy" --config-file deploy/pyproject.toml
fi

while read -r sdk; do
  check "SDK $sdk" . sdk_run "$sdk" sdk_lint
done < <(sdk_names)

check "actionlint .github/workflows" . scripts/deploy/actionlint.sh

if command -v shellcheck >/dev/null 2>&1; then
  check "shellcheck scripts .ci/run" . shellcheck -x scripts/*.sh scripts/sdk/*.sh scripts/third-party/*.sh scripts/deploy/*.sh .ci/run
else
  log "$TAG" "skipped shellcheck: not installed (scripts/setup.sh apt installs it)"
fi

if [[ ${#FAILED[@]} -gt 0 ]]; then
  log "$TAG" "FAILED: ${FAILED[*]}"
  exit 1
fi
log "$TAG" "clean"
