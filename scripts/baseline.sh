# shellcheck shell=bash
# The commit a change is judged against for breaking changes (make spec-breaking, make compat).
# Source it after lib.sh; do not run it.
#
#   CONCORD_BASELINE=<git ref>   always wins
#   the last release tag         `v<major>.<minor>.<patch>` reachable from HEAD
#   the pinned commit            tests/conformance/compat-baseline: the previous release's
#                                commit until releases are tagged
#   the merge base               of HEAD with origin/main (else main): on a branch, where it
#                                left main; on main itself, HEAD (so only uncommitted edits count)

# baseline_commit — prints "<sha> <how it was chosen>".
# Returns 1 (with a message) when there is nothing to compare with.
baseline_commit() {
  local ref="" how="" sha
  if [[ -n ${CONCORD_BASELINE:-} ]]; then
    ref="$CONCORD_BASELINE" how="CONCORD_BASELINE=$CONCORD_BASELINE"
  elif ref="$(git -C "$CONCORD_ROOT" describe --tags --abbrev=0 --match 'v[0-9]*' HEAD 2>/dev/null)"; then
    how="release tag $ref"
  elif ref="$(pinned_baseline)" && [[ -n $ref ]]; then
    how="pinned commit (tests/conformance/compat-baseline)"
  else
    ref=""
    local main
    for main in refs/remotes/origin/main refs/heads/main; do
      if git -C "$CONCORD_ROOT" show-ref --verify -q "$main"; then
        ref="$(git -C "$CONCORD_ROOT" merge-base HEAD "$main")" how="merge base with ${main#refs/*/}"
        break
      fi
    done
  fi
  if [[ -z $ref ]]; then
    echo "no release tag, pinned commit, origin/main or main to compare with (set CONCORD_BASELINE)" >&2
    return 1
  fi
  if ! sha="$(git -C "$CONCORD_ROOT" rev-parse --verify -q "$ref^{commit}")"; then
    echo "not a commit in this clone: $ref (a shallow clone? fetch the history)" >&2
    return 1
  fi
  printf '%s %s\n' "$sha" "$how"
}

# pinned_baseline — the commit named in tests/conformance/compat-baseline (first non-comment word).
pinned_baseline() {
  local file="$CONCORD_ROOT/tests/conformance/compat-baseline"
  [[ -f $file ]] || return 1
  sed -e 's/#.*//' "$file" | awk 'NF {print $1; exit}'
}

# contract_version [SHA] — spec/VERSION at SHA (the working tree when omitted), default 0.1.0.
contract_version() {
  local text
  if [[ -n ${1:-} ]]; then
    text="$(git -C "$CONCORD_ROOT" show "$1:spec/VERSION" 2>/dev/null || true)"
  else
    text="$(cat "$CONCORD_ROOT/spec/VERSION" 2>/dev/null || true)"
  fi
  text="$(printf '%s' "$text" | tr -d '[:space:]')"
  printf '%s\n' "${text:-0.1.0}"
}

# version_bumped OLD NEW — whether NEW is a breaking-change bump of OLD under semver: a higher
# major, or (while the major is 0) a higher minor.
version_bumped() {
  local old_major old_minor new_major new_minor
  IFS=. read -r old_major old_minor _ <<<"$1"
  IFS=. read -r new_major new_minor _ <<<"$2"
  if ((new_major != old_major)); then
    ((new_major > old_major))
    return
  fi
  ((old_major == 0 && new_minor > old_minor))
}
