#!/usr/bin/env bash
# Builds .scratch/bin/daprd-lock: daprd (github.com/dapr/dapr; its app.Run copied in daprd.go) with only the Redis
# lock store registered (bench/dapr/main.go), from the Go module proxy. A benchmark-only peer for
# bench/bench_locks.py, never a dependency of the server, `make test` or `make run`.
# Cached: rebuilt only when a file of bench/dapr changes. Prints the binary's path on success;
# prints one line saying why and exits non-zero when it cannot build.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

TAG=daprd-lock
SRC="$CONCORD_ROOT/bench/dapr"
BIN="$CONCORD_ROOT/.scratch/bin/daprd-lock"
STAMP="$BIN.stamp"

want="$(hash_files "$SRC/go.mod" "$SRC/go.sum" "$SRC/main.go" "$SRC/daprd.go" "$SRC/build.sh")"
have=""
[[ -f $STAMP ]] && have="$(cat "$STAMP")"
if [[ -x $BIN && $want == "$have" && ${CONCORD_FORCE_INSTALL:-0} != 1 ]]; then
  printf '%s\n' "$BIN"
  exit 0
fi
command -v go >/dev/null 2>&1 || die "$TAG" "cannot build daprd-lock: no Go toolchain (scripts/setup.sh go)"
log "$TAG" "building daprd with the Redis lock store only (the first build takes many minutes)"
t0=$SECONDS
mkdir -p "$(dirname "$BIN")" "$CONCORD_ROOT/.scratch/go"
if ! (cd "$SRC" && GOWORK=off GOFLAGS="-mod=mod -modcacherw" \
  GOMODCACHE="$CONCORD_ROOT/.scratch/go/mod" GOCACHE="$CONCORD_ROOT/.scratch/go/build" \
  nice -n 19 go build -p 1 -trimpath -o "$BIN" .) >&2; then
  die "$TAG" "cannot build daprd-lock: go build failed in bench/dapr (see above)"
fi
printf '%s\n' "$want" >"$STAMP"
log "$TAG" "built in $((SECONDS - t0))s"
printf '%s\n' "$BIN"
