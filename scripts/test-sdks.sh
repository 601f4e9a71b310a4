#!/usr/bin/env bash
# `make test-sdks`: each SDK's own tests — unit tests, then the live tests against a server this
# script starts on free loopback ports (embedded storage, test hooks on), stopped at exit.
# Python: pytest in sdks/python. Go: go test in sdks/go (REST) and sdks/go/grpc (gRPC transport).
# Last, the Python SDK is built (sdist + wheel) and the wheel installed in a clean venv and used.
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
  CONCORD_RATE_LIMIT_PER_SECOND=0 "$PY" -m concord_server >"$DATA/server.log" 2>&1 &
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

log "$TAG" "Python SDK"
scripts/pytest.sh sdks/python -q
log "$TAG" "Go SDK (REST)"
(cd sdks/go && go test -count=1 ./...)
if [[ -f sdks/go/grpc/go.mod ]]; then
  log "$TAG" "Go SDK (gRPC transport)"
  (cd sdks/go/grpc && go test -count=1 ./...)
fi

log "$TAG" "Python SDK package: sdist + wheel, installed into a clean venv"
DIST="$DATA/dist"
"$PY" -m build --sdist --wheel --outdir "$DIST" sdks/python >"$DATA/build.log" 2>&1 ||
  { tail -30 "$DATA/build.log" >&2; die "$TAG" "python -m build failed"; }
python3 -m venv "$DATA/clean-venv"
"$DATA/clean-venv/bin/pip" install -q -c constraints.txt "$DIST"/concord_sdk-*.whl
"$DATA/clean-venv/bin/python" - "$CONCORD_TEST_BASE_URL" "$KEY" <<'PY'
import sys

from concord import Concord

with Concord(base_url=sys.argv[1], api_key=sys.argv[2]) as client:
    status = client.health.live().status
    assert str(status.value if hasattr(status, "value") else status) == "SERVING", status
print("installed wheel answered the live server")
PY
