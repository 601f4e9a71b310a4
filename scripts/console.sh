#!/usr/bin/env bash
# scripts/console.sh setup|test — the web console (console/).
#   setup  npm ci in console/ (stamped; npm cache in .scratch/npm-cache), then build console/dist
#          (tsc over the console and sdks/node/src; skipped when the sources did not change)
#   test   setup, then the browser tests (Debian's chromium driven by playwright-core);
#          screenshots go to .scratch/artifacts/console
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$CONCORD_ROOT"
TAG=console
DIR="$CONCORD_ROOT/console"
CACHE="$CONCORD_ROOT/.scratch/npm-cache"
NPM_STAMP="$DIR/node_modules/.concord-install-stamp"
BUILD_STAMP="$DIR/dist/.concord-build-stamp"

sources_hash() {
  local files
  mapfile -t files < <(find "$DIR/src" "$DIR/static" "$DIR/scripts" "$CONCORD_ROOT/sdks/node/src" \
    -type f | sort)
  hash_files "${files[@]}" "$DIR/tsconfig.json" "$DIR/package-lock.json"
}

setup() {
  command -v node >/dev/null 2>&1 || die "$TAG" "node not found (Node >= 20 is needed)"
  local t0=$SECONDS want have=""
  want="$(hash_files "$DIR/package.json" "$DIR/package-lock.json") $(node --version)"
  [[ -f $NPM_STAMP ]] && have="$(cat "$NPM_STAMP")"
  if [[ $want != "$have" || -n ${CONCORD_FORCE_INSTALL:-} ]]; then
    log "$TAG" "npm ci in console/ (cache .scratch/npm-cache)"
    mkdir -p "$CACHE"
    (cd "$DIR" && npm ci --cache "$CACHE" --prefer-offline --no-audit --no-fund --loglevel=error >&2)
    printf '%s\n' "$want" >"$NPM_STAMP"
  fi
  want="$(sources_hash)"
  have=""
  [[ -f $BUILD_STAMP ]] && have="$(cat "$BUILD_STAMP")"
  if [[ $want == "$have" && -f $DIR/dist/index.html ]]; then
    log "$TAG" "console/dist up to date"
    return
  fi
  (cd "$DIR" && node scripts/build.mjs >&2)
  printf '%s\n' "$want" >"$BUILD_STAMP"
  log "$TAG" "console built in $((SECONDS - t0))s"
}

run_tests() {
  setup
  local chromium="${CHROMIUM:-}" candidate
  if [[ -z $chromium ]]; then
    for candidate in /usr/bin/chromium /usr/bin/chromium-browser /usr/bin/google-chrome; do
      if [[ -x $candidate ]]; then
        chromium="$candidate"
        break
      fi
    done
  fi
  [[ -n $chromium && -x $chromium ]] ||
    die "$TAG" "no Chromium found (scripts/setup.sh apt installs Debian's chromium; or set CHROMIUM)"
  log "$TAG" "browser tests (node --test) in $chromium; screenshots in .scratch/artifacts/console"
  (cd "$DIR" && CHROMIUM="$chromium" node --test --test-concurrency=1 tests/)
}

case "${1:-}" in
  setup) setup ;;
  test) run_tests ;;
  *) die "$TAG" "usage: scripts/console.sh setup|test" ;;
esac
