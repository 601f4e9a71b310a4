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
  rm -rf "$out"
  return "$rc"
}
