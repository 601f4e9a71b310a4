#!/usr/bin/env bash
# `make test-sdks`: each SDK's own tests (scripts/sdk/<name>.sh: sdk_test, then sdk_package_check)
# against a server this script starts on free loopback ports (embedded storage, test hooks on),
# stopped at exit. CONCORD_SDKS=python,go limits the SDKs. Every SDK runs even when one fails.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$CONCORD_ROOT"
TAG=test-sdks
PY="$CONCORD_ROOT/.venv/bin/python"

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

HTTP_PORT="$(free_port)"
GRPC_PORT="$(free_port)"
DATA="$(mktemp -d)"
KEY="sdk-live-$(date +%s)"
log "$TAG" "starting a server on :$HTTP_PORT (gRPC :$GRPC_PORT)"
CONCORD_HTTP_PORT="$HTTP_PORT" CONCORD_GRPC_PORT="$GRPC_PORT" CONCORD_DATA_DIR="$DATA" \
  CONCORD_BOOTSTRAP_ADMIN_KEY="$KEY" CONCORD_TEST_HOOKS=true CONCORD_LOG_LEVEL=WARNING \
  CONCORD_RATE_LIMIT_PER_SECOND=0 CONCORD_AUTH_FAILURE_RATE_PER_SECOND=0 "$PY" -m concord_server >"$DATA/server.log" 2>&1 &
SERVER=$!
cleanup() { kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; rm -rf "$DATA"; }
trap cleanup EXIT

for _ in $(seq 1 150); do
  curl -fs "http://127.0.0.1:$HTTP_PORT/v1/health/ready" >/dev/null 2>&1 && break
  kill -0 "$SERVER" 2>/dev/null || { tail -30 "$DATA/server.log" >&2; die "$TAG" "server exited"; }
  sleep 0.2
done
curl -fs "http://127.0.0.1:$HTTP_PORT/v1/health/ready" >/dev/null || die "$TAG" "server not ready"

export CONCORD_TEST_BASE_URL="http://127.0.0.1:$HTTP_PORT"
export CONCORD_TEST_GRPC_TARGET="127.0.0.1:$GRPC_PORT"
export CONCORD_TEST_API_KEY="$KEY"

FAILED=()
while read -r sdk; do
  log "$TAG" "── $sdk: tests"
  sdk_run "$sdk" sdk_test || FAILED+=("$sdk tests")
  if sdk_has "$sdk" sdk_package_check; then
    log "$TAG" "── $sdk: package check"
    sdk_run "$sdk" sdk_package_check || FAILED+=("$sdk package")
  fi
done < <(sdk_names)

if [[ ${#FAILED[@]} -gt 0 ]]; then
  log "$TAG" "FAILED: ${FAILED[*]}"
  exit 1
fi
log "$TAG" "every SDK passed"
