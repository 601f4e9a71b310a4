#!/usr/bin/env bash
# `make test-sdks`: each SDK's own tests (scripts/sdk/<name>.sh: sdk_test, then sdk_package_check)
# against a server this script starts on free loopback ports (embedded storage, test hooks on),
# and a second one with TLS and mutual TLS (CONCORD_TEST_TLS_*), both stopped at exit. CONCORD_SDKS=python,go limits the SDKs. Every SDK runs even when one fails.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$CONCORD_ROOT"
TAG=test-sdks
PY="$CONCORD_ROOT/.venv/bin/python"

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

HTTP_PORT="$(free_port)"
GRPC_PORT="$(free_port)"
TLS_HTTP_PORT="$(free_port)"
TLS_GRPC_PORT="$(free_port)"
DATA="$(mktemp -d)"
KEY="sdk-live-$(date +%s)"
# A second server with TLS that requires client certificates on REST and gRPC (mutual TLS), for
# the SDKs' CA-bundle and client-certificate tests; certificates made now (deploy/tools/certs.py).
TLS="$DATA/tls"
"$PY" deploy/tools/certs.py "$TLS"
log "$TAG" "starting a server on :$HTTP_PORT (gRPC :$GRPC_PORT), and with TLS on :$TLS_HTTP_PORT (gRPC :$TLS_GRPC_PORT)"
start_server() { # HTTP_PORT GRPC_PORT NAME [VAR=VALUE...]
  local http="$1" grpc="$2" name="$3"
  shift 3
  mkdir -p "$DATA/$name"
  env CONCORD_HTTP_PORT="$http" CONCORD_GRPC_PORT="$grpc" CONCORD_DATA_DIR="$DATA/$name" \
    CONCORD_BOOTSTRAP_ADMIN_KEY="$KEY" CONCORD_TEST_HOOKS=true CONCORD_LOG_LEVEL=WARNING \
    CONCORD_RATE_LIMIT_PER_SECOND=0 CONCORD_AUTH_FAILURE_RATE_PER_SECOND=0 "$@" \
    "$PY" -m concord_server >"$DATA/$name.log" 2>&1 &
}
start_server "$HTTP_PORT" "$GRPC_PORT" server
SERVER=$!
start_server "$TLS_HTTP_PORT" "$TLS_GRPC_PORT" tls-server \
  CONCORD_TLS_CERT_FILE="$TLS/server.pem" CONCORD_TLS_KEY_FILE="$TLS/server-key.pem" \
  CONCORD_TLS_CLIENT_CA_FILE="$TLS/ca.pem" CONCORD_TLS_HTTP_CLIENT_AUTH=require
TLS_SERVER=$!
cleanup() {
  kill "$SERVER" "$TLS_SERVER" 2>/dev/null || true
  wait "$SERVER" "$TLS_SERVER" 2>/dev/null || true
  rm -rf "$DATA"
}
trap cleanup EXIT

wait_ready() { # PID NAME CURL-ARGS...
  local pid="$1" name="$2"
  shift 2
  for _ in $(seq 1 150); do
    curl -fs "$@" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || { tail -30 "$DATA/$name.log" >&2; die "$TAG" "$name exited"; }
    sleep 0.2
  done
  curl -fs "$@" >/dev/null || die "$TAG" "$name not ready"
}
wait_ready "$SERVER" server "http://127.0.0.1:$HTTP_PORT/v1/health/ready"
wait_ready "$TLS_SERVER" tls-server --cacert "$TLS/ca.pem" --cert "$TLS/client.pem" \
  --key "$TLS/client-key.pem" "https://127.0.0.1:$TLS_HTTP_PORT/v1/health/ready"

export CONCORD_TEST_BASE_URL="http://127.0.0.1:$HTTP_PORT"
export CONCORD_TEST_GRPC_TARGET="127.0.0.1:$GRPC_PORT"
export CONCORD_TEST_API_KEY="$KEY"
export CONCORD_TEST_TLS_BASE_URL="https://127.0.0.1:$TLS_HTTP_PORT"
export CONCORD_TEST_TLS_GRPC_TARGET="127.0.0.1:$TLS_GRPC_PORT"
export CONCORD_TEST_TLS_CA_FILE="$TLS/ca.pem"
export CONCORD_TEST_TLS_CLIENT_CERT="$TLS/client.pem"
export CONCORD_TEST_TLS_CLIENT_KEY="$TLS/client-key.pem"

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
