#!/usr/bin/env bash
# `make lint` part: actionlint (pinned, from the Go module proxy via scripts/deploy/tools.sh) over
# .github/workflows; it also runs shellcheck on every `run:` script when shellcheck is installed.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
cd "$CONCORD_ROOT"

scripts/deploy/tools.sh actionlint
eval "$(scripts/deploy/tools.sh env)"
"$CONCORD_ACTIONLINT" -color=false
log actionlint "clean: $(find .github/workflows -name '*.yml' | wc -l) workflows"
