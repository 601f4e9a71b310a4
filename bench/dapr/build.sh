#!/usr/bin/env bash
# Builds .scratch/bin/daprd-lock: daprd (github.com/dapr/dapr, cmd/daprd/app) with only the Redis
# lock store registered (bench/dapr/main.go), from the Go module proxy. daprd's components sit
# behind build tags, and built with none, one file of cmd/daprd/components panics at start: the
# build uses a copy of the dapr module with that file emptied (a `replace` in a copy of go.mod).
# A benchmark-only peer for bench/bench_locks.py, never a dependency of `make test`/`make run`.
# Cached: rebuilt only when a file of bench/dapr changes. Prints the binary's path on success;
# prints one line saying why and exits non-zero when it cannot build.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

TAG=daprd-lock
SRC="$CONCORD_ROOT/bench/dapr"
BIN="$CONCORD_ROOT/.scratch/bin/daprd-lock"
STAMP="$BIN.stamp"

want="$(hash_files "$SRC/go.mod" "$SRC/go.sum" "$SRC/main.go" "$SRC/build.sh")"
have=""
[[ -f $STAMP ]] && have="$(cat "$STAMP")"
if [[ -x $BIN && $want == "$have" && ${CONCORD_FORCE_INSTALL:-0} != 1 ]]; then
  printf '%s\n' "$BIN"
  exit 0
fi
prepare_build_dir() { # DIR: bench/dapr's module on a copy of dapr whose zz_notag.go is empty
  local dir=$1 dapr
  dapr="$(cd "$SRC" && go mod download -json github.com/dapr/dapr |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [[ -n $dapr ]] || return 1
  rm -rf "$dir" && mkdir -p "$dir"
  cp "$SRC/go.mod" "$SRC/go.sum" "$SRC/main.go" "$dir/"
  cp -r "$dapr" "$dir/dapr" && chmod -R u+w "$dir/dapr"
  printf 'package components\n' >"$dir/dapr/cmd/daprd/components/zz_notag.go"
  (cd "$dir" && go mod edit -replace github.com/dapr/dapr=./dapr)
}

command -v go >/dev/null 2>&1 || die "$TAG" "cannot build daprd-lock: no Go toolchain (scripts/setup.sh go)"
log "$TAG" "building daprd with the Redis lock store only (the first build takes many minutes)"
t0=$SECONDS
mkdir -p "$(dirname "$BIN")" "$CONCORD_ROOT/.scratch/go"
export GOWORK=off GOFLAGS="-mod=mod -modcacherw" GOMODCACHE="$CONCORD_ROOT/.scratch/go/mod" \
  GOCACHE="$CONCORD_ROOT/.scratch/go/build"
WORK="$CONCORD_ROOT/.scratch/dapr-build"
if ! (prepare_build_dir "$WORK" && cd "$WORK" &&
  nice -n 19 go build -p 1 -trimpath -o "$BIN" .) >&2; then
  die "$TAG" "cannot build daprd-lock: go build failed in bench/dapr (see above)"
fi
printf '%s\n' "$want" >"$STAMP"
log "$TAG" "built in $((SECONDS - t0))s"
printf '%s\n' "$BIN"
