#!/usr/bin/env bash
# REST figures with wrk (a C load generator, so the client is not the bottleneck): the liveness
# probe as the baseline, then acquire+release cycles (bench/wrk_lock_cycle.lua), against a
# server this script starts. Prints requests/s and the ratio of lock requests to the baseline.
#   bench/wrk_locks.sh [seconds] [connections] [locks-url]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_RUN="${1:-5}" CONNS="${2:-16}" LOCKS_URL="${3:-}"
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
PY=.venv/bin/python
PORT="$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
DATA="$(mktemp -d)"
export CONCORD_BENCH_KEY="bench-$$"
env CONCORD_HTTP_PORT="$PORT" CONCORD_GRPC_PORT=-1 CONCORD_DATA_DIR="$DATA" \
  CONCORD_BOOTSTRAP_ADMIN_KEY="$CONCORD_BENCH_KEY" CONCORD_RATE_LIMIT_PER_SECOND=0 \
  CONCORD_LOG_LEVEL=WARNING ${LOCKS_URL:+CONCORD_LOCKS_URL="$LOCKS_URL"} \
  "$PY" -m concord_server >"$DATA/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$DATA"' EXIT
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/v1/health/live" >/dev/null 2>&1 && break; sleep 0.2; done
rate() { awk '/Requests\/sec/ {print $2}'; }
base="$(wrk -t1 -c"$CONNS" -d"${SECONDS_RUN}s" "http://127.0.0.1:$PORT/v1/health/live" | rate)"
locks="$(wrk -t1 -c"$CONNS" -d"${SECONDS_RUN}s" -s bench/wrk_lock_cycle.lua "http://127.0.0.1:$PORT" | rate)"
awk -v b="$base" -v l="$locks" -v u="${LOCKS_URL:-embedded default}" 'BEGIN {
  printf "{\"locks_url\": \"%s\", \"rest_liveness_per_s\": %.0f, \"rest_lock_requests_per_s\": %.0f, \"rest_lock_cycles_per_s\": %.0f, \"lock_requests_vs_liveness\": %.3f}\n", u, b, l, l/2, l/b }'
