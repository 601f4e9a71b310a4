#!/usr/bin/env bash
# `make spec-breaking`: buf breaking for the working tree's spec/ against the baseline of
# scripts/baseline.sh: CONCORD_BASELINE, else the last release tag (v*), else the commit pinned
# in tests/conformance/compat-baseline, else the merge base of HEAD with origin/main (or main).
# So it works on main too: it compares with the previous release, not with main's tip. A
# breaking change passes only with a contract version bump (spec/VERSION: a higher major, or a
# higher minor while the major is 0).
# Skips, with a message, when there is no baseline or it has no spec yet.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=scripts/baseline.sh
source "$CONCORD_ROOT/scripts/baseline.sh"
cd "$CONCORD_ROOT"
TAG=spec-breaking
BUF="$CONCORD_ROOT/tools/node_modules/.bin/buf"

if ! found="$(baseline_commit)"; then
  log "$TAG" "skipped: nothing to compare with"
  exit 0
fi
sha="${found%% *}" how="${found#* }"
if ! git cat-file -e "$sha:spec/buf.yaml" 2>/dev/null; then
  log "$TAG" "skipped: $how (${sha:0:12}) has no spec/buf.yaml yet"
  exit 0
fi
if ! git ls-tree -r --name-only "$sha" -- spec/proto | grep -q '\.proto$'; then
  log "$TAG" "skipped: $how (${sha:0:12}) has no .proto files under spec/proto yet"
  exit 0
fi
log "$TAG" "buf breaking spec --against $how (${sha:0:12})"
# the repository's common .git folder (a linked worktree's own git dir is not one buf reads)
git_dir="$(cd "$(git rev-parse --git-common-dir)" && pwd)"
rc=0
"$BUF" breaking spec --against "$git_dir#ref=$sha,subdir=spec" || rc=$?
old="$(contract_version "$sha")" new="$(contract_version)"
case "$rc" in
  0) log "$TAG" "no breaking changes against $how" ;;
  100)
    if version_bumped "$old" "$new"; then
      log "$TAG" "breaking changes (listed above) allowed: the contract version went from $old to $new"
      rc=0
    else
      log "$TAG" "BREAKING changes against $how (listed above): bump spec/VERSION (now $new) or revert"
    fi
    ;;
  *) log "$TAG" "buf breaking failed (exit $rc)" ;;
esac
exit "$rc"
