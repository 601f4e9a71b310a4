#!/usr/bin/env bash
# scripts/with-services.sh CMD [ARGS...] — run CMD with Redis, PostgreSQL and etcd up on loopback
# and their CONCORD_TEST_* URLs exported. Services already running (a developer's
# `make services-up`, or `make test`) are used and left running; services this script starts are
# stopped when CMD ends, whatever its outcome. CONCORD_NO_SERVICES=1 runs CMD without them.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TAG=services

[[ $# -gt 0 ]] || die "$TAG" "usage: scripts/with-services.sh CMD [ARGS...]"
started=0
stop_started() {
  if [[ $started -eq 1 ]]; then
    "$CONCORD_ROOT/scripts/services.sh" stop || log "$TAG" "WARNING: stopping the services failed"
  fi
}
trap stop_started EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ ${CONCORD_NO_SERVICES:-0} == 1 ]]; then
  log "$TAG" "CONCORD_NO_SERVICES=1: running without Redis, PostgreSQL and etcd"
else
  if ! "$CONCORD_ROOT/scripts/services.sh" check; then
    started=1
    "$CONCORD_ROOT/scripts/services.sh" start
  fi
  eval "$("$CONCORD_ROOT/scripts/services.sh" env)"
fi
"$@"  # its exit status is the script's (set -e); the EXIT trap stops what was started
