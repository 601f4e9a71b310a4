#!/usr/bin/env bash
# `make test-deploy`: build the server image with podman (scripts/deploy/image.sh), then run
# deploy/tests against it: the embedded default, and replicas on the Redis/PostgreSQL/etcd test
# services (CONCORD_TEST_*_URL; `make test-deploy` starts them through scripts/with-services.sh).
# CONCORD_DEPLOY_IMAGE=skip skips it, for runners that cannot run containers (a CI job inside
# a container); the skip is logged.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$CONCORD_ROOT"
TAG=test-deploy

if [[ ${CONCORD_DEPLOY_IMAGE:-} == skip ]]; then
  log "$TAG" "SKIPPED: CONCORD_DEPLOY_IMAGE=skip (this runner cannot run containers)"
  exit 0
fi
scripts/deploy/tools.sh # helm renders the chart's NOTES, whose curl line the TLS test runs
eval "$(scripts/deploy/tools.sh env)"
t0=$SECONDS
CONCORD_TEST_IMAGE="$(scripts/deploy/image.sh build)"
export CONCORD_TEST_IMAGE
export CONTAINERS_CONF="${CONTAINERS_CONF:-$CONCORD_ROOT/scripts/deploy/containers.conf}"
t1=$SECONDS
(cd deploy && "$CONCORD_ROOT/.venv/bin/python" -m pytest tests/test_image.py "$@")
log "$TAG" "image build $((t1 - t0))s, image tests $((SECONDS - t1))s"
