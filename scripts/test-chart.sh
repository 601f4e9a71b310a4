#!/usr/bin/env bash
# `make test-chart`: the Helm chart (deploy/helm/concord) linted, rendered over its value sets
# (deploy/helm/concord/ci) and the values it must refuse, and every rendered manifest validated
# strictly against the Kubernetes API schema, offline (deploy/tests/test_chart.py). helm,
# kubeconform and the schemas come from scripts/deploy/tools.sh (cached in .scratch).
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$CONCORD_ROOT"

scripts/deploy/tools.sh
eval "$(scripts/deploy/tools.sh env)"
cd deploy && exec "$CONCORD_ROOT/.venv/bin/python" -m pytest tests/test_chart.py "$@"
