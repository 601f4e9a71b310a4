# shellcheck shell=bash
# The Python SDK (sdks/python): hooks sourced by scripts/lib.sh's sdk_run (see there).
# Its dependencies come with the project's .venv (scripts/setup.sh python installs it editable).

PY_SDK_BIN="${CONCORD_BIN:-$CONCORD_ROOT/.venv/bin}"

sdk_lint() {
  (cd sdks/python && "$PY_SDK_BIN/ruff" check . && "$PY_SDK_BIN/ruff" format --check . &&
    "$PY_SDK_BIN/mypy")
}

sdk_test() {
  scripts/pytest.sh sdks/python -q
}

sdk_package_check() {
  local out
  out="$(mktemp -d)"
  log sdk-python "sdist + wheel, installed into a clean venv"
  "$PY_SDK_BIN/python" -m build --sdist --wheel --outdir "$out/dist" sdks/python >"$out/build.log" 2>&1 ||
    { tail -30 "$out/build.log" >&2; rm -rf "$out"; return 1; }
  python3 -m venv "$out/venv"
  "$out/venv/bin/pip" install -q -c constraints.txt "$out"/dist/concord_sdk-*.whl
  "$out/venv/bin/python" - "$CONCORD_TEST_BASE_URL" "$CONCORD_TEST_API_KEY" <<'PY'
import sys

from concord import Concord

with Concord(base_url=sys.argv[1], api_key=sys.argv[2]) as client:
    status = client.health.live().status
    assert str(status.value if hasattr(status, "value") else status) == "SERVING", status
print("installed wheel answered the live server")
PY
  local rc=$?
  if [[ $rc -eq 0 ]]; then
    _package_check_grpc "$out" || rc=1
  fi
  rm -rf "$out"
  return "$rc"
}

# _package_check_grpc DIR — the REST-only install lacks grpc; with the `grpc` extra, the same
# wheel's GrpcConcord answers over the live server's gRPC port.
_package_check_grpc() {
  local out="$1"
  "$out/venv/bin/python" -c 'import importlib.util as u; assert u.find_spec("grpc") is None' ||
    { log sdk-python "the REST-only install pulled in grpc"; return 1; }
  log sdk-python "the wheel with the grpc extra, over gRPC"
  local wheel
  wheel="$(echo "$out"/dist/concord_sdk-*.whl)"
  "$out/venv/bin/pip" install -q -c constraints.txt "${wheel}[grpc]" || return 1
  "$out/venv/bin/python" - "$CONCORD_TEST_GRPC_TARGET" "$CONCORD_TEST_API_KEY" <<'PY'
import sys

from concord.grpc import GrpcConcord

with GrpcConcord(sys.argv[1], api_key=sys.argv[2]) as client:
    assert str(client.health.live().status) == "SERVING"
print("installed wheel[grpc] answered over gRPC")
PY
}
