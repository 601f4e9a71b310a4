#!/usr/bin/env bash
# scripts/pytest.sh generator|server|sdks/python [pytest args...] — run one package's tests with the
# project's .venv. A package or test folder that does not exist yet is skipped with a
# message; pytest's exit 5 ("no tests collected") counts as success, every other
# non-zero exit is a failure. CONCORD_PYTHON picks another interpreter (tox sets it).
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$CONCORD_ROOT"
TAG=pytest

pkg="${1:?usage: scripts/pytest.sh generator|server [pytest args...]}"
shift
if [[ ! -f $pkg/pyproject.toml ]]; then
  log "$TAG" "skipped: $pkg/ does not exist yet"
  exit 0
fi
if [[ ! -d $pkg/tests ]]; then
  log "$TAG" "skipped: $pkg/tests does not exist yet"
  exit 0
fi
rc=0
python="${CONCORD_PYTHON:-$CONCORD_ROOT/.venv/bin/python}" # tox passes its own
(cd "$pkg" && "$python" -m pytest tests "$@") || rc=$?
if [[ $rc -eq 5 ]]; then
  log "$TAG" "$pkg/tests collected no tests (pytest exit 5); not counted as a failure"
  exit 0
fi
exit "$rc"
