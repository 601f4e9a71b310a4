#!/usr/bin/env bash
# `make bench`: every benchmark in bench/ (bench/run_all.py) with what it needs set up first —
# the .venv, wrk from apt, the OpenTelemetry Collector of bench_tracing.py (built once, niced),
# Redis/PostgreSQL/etcd on loopback (scripts/with-services.sh). Never
# part of `make test`. Arguments go to bench/run_all.py (e.g. --only locks, --against FILE).
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$CONCORD_ROOT"

if [[ -z ${CONCORD_SKIP_SETUP:-} ]]; then
  command -v wrk >/dev/null || scripts/setup.sh apt
  scripts/setup.sh python
  nice -n 10 scripts/setup.sh otelcol
fi
exec scripts/with-services.sh .venv/bin/python bench/run_all.py "$@"
