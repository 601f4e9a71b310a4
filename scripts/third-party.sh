#!/usr/bin/env bash
# `make third-party`: clients that tools our users already have generate from our contract, built
# strictly and run against a live server (docs/third-party.md says what and why).
#
#   scripts/third-party.sh setup   # the tools: Debian packages (protoc, grpc++, Ruby gRPC), the
#                                  # OpenAPI Generator jar, npm packages, a Python venv (cached)
#   scripts/third-party.sh [run]   # setup, then every check against a server started here
#
# Each check lives in scripts/third-party/<tool>.sh (tp_check_<name>); every check runs even when
# one fails, and the run closes with an "N passed, N failed, N skipped" line.
# Work files live in .scratch/third-party; a check reuses what an unchanged input produced there.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$CONCORD_ROOT"
TAG=third-party

# The checks in scripts/third-party/*.sh read these.
# shellcheck disable=SC2034
TP_SRC="$CONCORD_ROOT/tests/third-party"
TP_WORK="$CONCORD_ROOT/.scratch/third-party"
TP_M2="$CONCORD_ROOT/.scratch/m2"
TP_NPM_CACHE="$CONCORD_ROOT/.scratch/npm-cache"
TP_VENV="$TP_WORK/venv"
# shellcheck disable=SC2034
OPENAPI="$CONCORD_ROOT/spec/openapi/openapi.yaml"
PY="$CONCORD_ROOT/.venv/bin/python"

# Debian's stock protoc with the official C++ and Ruby gRPC plugins, grpc++ and Ruby's gRPC gem.
TP_APT=(protobuf-compiler protobuf-compiler-grpc libprotobuf-dev libgrpc++-dev pkg-config g++ make
  ruby ruby-grpc ruby-google-protobuf)
OAG_VERSION=7.25.0
OAG_JAR="$TP_M2/org/openapitools/openapi-generator-cli/$OAG_VERSION/openapi-generator-cli-$OAG_VERSION.jar"

for part in "$CONCORD_ROOT"/scripts/third-party/*.sh; do
  # shellcheck source=/dev/null
  source "$part"
done

# sync_file SRC DST — copy SRC to DST only when the content differs (keeps build caches valid).
sync_file() {
  mkdir -p "$(dirname "$2")"
  cmp -s "$1" "$2" || cp "$1" "$2"
}

# ---------------------------------------------------------------- set-up
tp_setup_apt() {
  local pkg missing=()
  for pkg in "${TP_APT[@]}"; do
    [[ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)" == installed ]] ||
      missing+=("$pkg")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  log "$TAG" "apt: installing ${missing[*]}"
  as_root apt-get update -qq || die "$TAG" "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null || die "$TAG" "apt-get install ${missing[*]} failed"
}

tp_setup_jar() {
  [[ -s $OAG_JAR ]] && return 0
  command -v mvn >/dev/null 2>&1 || die "$TAG" "mvn not found: the OpenAPI Generator jar comes from Maven Central"
  log "$TAG" "OpenAPI Generator $OAG_VERSION (CLI jar) from Maven Central into .scratch/m2"
  nice -n 10 mvn -B -q -Dstyle.color=never -Dmaven.repo.local="$TP_M2" \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:get \
    -Dartifact="org.openapitools:openapi-generator-cli:$OAG_VERSION:jar" -Dtransitive=false >&2 ||
    die "$TAG" "download of openapi-generator-cli $OAG_VERSION failed"
}

tp_setup_npm() {
  local stamp="$TP_SRC/node_modules/.concord-install-stamp" want
  want="$(hash_files "$TP_SRC/package.json" "$TP_SRC/package-lock.json") $(node --version)"
  [[ -f $stamp && "$(cat "$stamp")" == "$want" ]] && return 0
  log "$TAG" "npm ci in tests/third-party (TypeScript, openapi-typescript, openapi-fetch)"
  mkdir -p "$TP_NPM_CACHE"
  (cd "$TP_SRC" && npm ci --cache "$TP_NPM_CACHE" --prefer-offline --no-audit --no-fund \
    --loglevel=error >&2) || die "$TAG" "npm ci in tests/third-party failed"
  printf '%s\n' "$want" >"$stamp"
}

tp_setup_python() {
  local stamp="$TP_VENV/.concord-install-stamp" want req="$TP_SRC/openapi-generator/python/requirements.txt"
  want="$(hash_files "$req") $("$PY" -V 2>&1)"
  [[ -f $stamp && "$(cat "$stamp")" == "$want" ]] && return 0
  log "$TAG" "python: a venv for the generated client (pydantic, urllib3, python-dateutil) and mypy"
  rm -rf "$TP_VENV"
  "$PY" -m venv "$TP_VENV"
  "$TP_VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$req" >&2 ||
    die "$TAG" "pip install -r $req failed"
  printf '%s\n' "$want" >"$stamp"
}

# The four parts download from different registries: they run side by side.
tp_setup() {
  local t0=$SECONDS part pids=() failed=0
  [[ -x $PY ]] || die "$TAG" ".venv is missing (run scripts/setup.sh python)"
  mkdir -p "$TP_WORK"
  for part in apt jar npm python; do
    "tp_setup_$part" &
    pids+=($!)
  done
  for part in "${pids[@]}"; do
    wait "$part" || failed=1
  done
  [[ $failed -eq 0 ]] || die "$TAG" "set-up failed (above)"
  log "$TAG" "set up in $((SECONDS - t0))s"
}

# ---------------------------------------------------------------- live server
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

tp_start_server() {
  local _
  HTTP_PORT="$(free_port)" GRPC_PORT="$(free_port)" SERVER_DATA="$(mktemp -d)"
  export CONCORD_API_KEY="third-party-$RANDOM$RANDOM"
  CONCORD_HTTP_PORT="$HTTP_PORT" CONCORD_GRPC_PORT="$GRPC_PORT" CONCORD_DATA_DIR="$SERVER_DATA" \
    CONCORD_BOOTSTRAP_ADMIN_KEY="$CONCORD_API_KEY" CONCORD_LOG_LEVEL=WARNING \
    CONCORD_RATE_LIMIT_PER_SECOND=0 CONCORD_AUTH_FAILURE_RATE_PER_SECOND=0 \
    "$PY" -m concord_server >"$SERVER_DATA/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 300); do
    curl -fs "http://127.0.0.1:$HTTP_PORT/v1/health/ready" >/dev/null 2>&1 && break
    kill -0 "$SERVER_PID" 2>/dev/null || { tail -30 "$SERVER_DATA/server.log" >&2; die "$TAG" "server exited"; }
    sleep 0.2
  done
  curl -fs "http://127.0.0.1:$HTTP_PORT/v1/health/ready" >/dev/null || die "$TAG" "server not ready"
  export CONCORD_BASE_URL="http://127.0.0.1:$HTTP_PORT" CONCORD_GRPC_TARGET="127.0.0.1:$GRPC_PORT"
  log "$TAG" "server on $CONCORD_BASE_URL (gRPC $CONCORD_GRPC_TARGET)"
}

tp_stop_server() {
  if [[ -n ${SERVER_PID:-} ]]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    rm -rf "$SERVER_DATA"
  fi
}

# ---------------------------------------------------------------- checks
# Each runs in a subshell; exit 0 passes, TP_SKIP (3) is a skip with its reason on stderr.
TP_SKIP=3
TP_CHECKS=(oag-generate oag-python oag-go oag-typescript-fetch oag-java oag-csharp
  openapi-typescript grpc-cpp grpc-ruby)

tp_run() {
  local t0=$SECONDS check t rc passed=0 failed=0 skipped=0 lines=()
  tp_setup
  trap tp_stop_server EXIT
  tp_start_server
  for check in "${TP_CHECKS[@]}"; do
    log "$TAG" "── $check"
    t=$SECONDS rc=0
    ("tp_check_${check//-/_}") || rc=$?
    case $rc in
      0) passed=$((passed + 1)) lines+=("$(printf '  %-22s ok    %ss' "$check" $((SECONDS - t)))") ;;
      "$TP_SKIP") skipped=$((skipped + 1)) lines+=("$(printf '  %-22s skip  %ss' "$check" $((SECONDS - t)))") ;;
      *) failed=$((failed + 1)) lines+=("$(printf '  %-22s FAIL  %ss' "$check" $((SECONDS - t)))") ;;
    esac
  done
  log "$TAG" "summary ($((SECONDS - t0))s in all):"
  printf '%s\n' "${lines[@]}" >&2
  echo "third-party: $passed passed, $failed failed, $skipped skipped"
  [[ $failed -eq 0 ]]
}

case "${1:-run}" in
  setup) tp_setup ;;
  run) tp_run ;;
  -h | --help | help) sed -n '2,11s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" ;;
  *) die "$TAG" "unknown command '$1' (setup or run)" ;;
esac
