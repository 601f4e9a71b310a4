#!/usr/bin/env bash
# `make spec-breaking`: buf breaking for the working tree's spec/ against the last commit
# on main (local branch main, else origin/main; override with CONCORD_BREAKING_AGAINST=<git ref>).
# On main itself this reports what the uncommitted edits would break. Skips, with a message,
# when there is no such ref or that commit has no spec yet.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$CONCORD_ROOT"
TAG=spec-breaking
BUF="$CONCORD_ROOT/tools/node_modules/.bin/buf"

ref="${CONCORD_BREAKING_AGAINST:-}"
if [[ -z $ref ]]; then
  for candidate in refs/heads/main refs/remotes/origin/main; do
    if git show-ref --verify -q "$candidate"; then
      ref="$candidate"
      break
    fi
  done
fi
if [[ -z $ref ]]; then
  log "$TAG" "skipped: no branch main or origin/main to compare with (fetch it, or set CONCORD_BREAKING_AGAINST)"
  exit 0
fi
sha="$(git rev-parse --verify -q "$ref^{commit}")" || die "$TAG" "not a commit: $ref"
if ! git cat-file -e "$sha:spec/buf.yaml" 2>/dev/null; then
  log "$TAG" "skipped: $ref (${sha:0:12}) has no spec/buf.yaml yet"
  exit 0
fi
if ! git ls-tree -r --name-only "$sha" -- spec/proto | grep -q '\.proto$'; then
  log "$TAG" "skipped: $ref (${sha:0:12}) has no .proto files under spec/proto yet"
  exit 0
fi
log "$TAG" "buf breaking spec --against $ref (${sha:0:12})"
rc=0
"$BUF" breaking spec --against "$(git rev-parse --absolute-git-dir)#ref=$sha,subdir=spec" || rc=$?
case "$rc" in
  0) log "$TAG" "no breaking changes against $ref" ;;
  100) log "$TAG" "BREAKING changes against $ref (listed above): bump the API version or revert" ;;
  *) log "$TAG" "buf breaking failed (exit $rc)" ;;
esac
exit "$rc"
