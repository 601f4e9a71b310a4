#!/usr/bin/env bash
# An OpenTelemetry Collector for traces on 127.0.0.1: built from the Go module proxy
# (tools/otelcol: the collector core's OTLP receiver and the file exporter), it receives spans
# over OTLP/HTTP and writes them as OTLP JSON lines to .scratch/services/otelcol/spans.jsonl.
#
#   scripts/otelcol.sh build    build .scratch/bin/concord-otelcol (cached; rebuilt when tools/otelcol changes)
#   scripts/otelcol.sh path     print the binary's path
#   scripts/otelcol.sh start    start it (already running is fine)
#   scripts/otelcol.sh stop     stop what this checkout started
#   scripts/otelcol.sh status   print its state
#   scripts/otelcol.sh env      print CONCORD_OTLP_ENDPOINT for a server to export to it
#
# Port (override with env): CONCORD_OTLP_PORT=4318. Go's module and build caches live in
# .scratch/go, so a second build takes seconds. Why not Jaeger: docs/observability.md.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TAG=otelcol
HOST=127.0.0.1
PORT="${CONCORD_OTLP_PORT:-4318}"
SRC="$CONCORD_ROOT/tools/otelcol"
BIN="$CONCORD_ROOT/.scratch/bin/concord-otelcol"
STAMP="$BIN.stamp"
DIR="$CONCORD_ROOT/.scratch/services/otelcol"
TIMEOUT="${CONCORD_SERVICES_TIMEOUT:-60}"

build() {
  local t0=$SECONDS want have=""
  want="$(hash_files "$SRC/go.mod" "$SRC/go.sum" "$SRC/main.go")"
  [[ -f $STAMP ]] && have="$(cat "$STAMP")"
  if [[ -x $BIN && $want == "$have" && ${CONCORD_FORCE_INSTALL:-0} != 1 ]]; then
    log "$TAG" "$BIN up to date"
    return
  fi
  command -v go >/dev/null 2>&1 || die "$TAG" "no Go toolchain; run 'scripts/setup.sh go' first"
  log "$TAG" "building the collector (OTLP receiver, file exporter) from the Go module proxy"
  mkdir -p "$(dirname "$BIN")" "$CONCORD_ROOT/.scratch/go"
  (cd "$SRC" && GOMODCACHE="$CONCORD_ROOT/.scratch/go/mod" GOCACHE="$CONCORD_ROOT/.scratch/go/build" \
    GOFLAGS=-modcacherw nice -n 10 go build -trimpath -o "$BIN" .) || die "$TAG" "go build failed"
  printf '%s\n' "$want" >"$STAMP"
  log "$TAG" "built in $((SECONDS - t0))s"
}

pid_of() {
  local pid=""
  [[ -r $DIR/otelcol.pid ]] && read -r pid <"$DIR/otelcol.pid"
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && printf '%s' "$pid"
}

answers() { curl -fsS --max-time 2 -o /dev/null -X POST -H 'Content-Type: application/json' \
  -d '{}' "http://$HOST:$PORT/v1/traces" 2>/dev/null; }

# config FILE SPANS — the collector's configuration: OTLP/HTTP in, OTLP JSON lines out.
write_config() {
  cat >"$1" <<YAML
receivers:
  otlp:
    protocols:
      http:
        endpoint: $HOST:$PORT
exporters:
  file:
    path: $2
    flush_interval: 100ms
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [file]
YAML
}

start() {
  build
  if [[ -n "$(pid_of || true)" ]]; then
    log "$TAG" "already running (pid $(pid_of)) on $HOST:$PORT"
    return
  fi
  mkdir -p "$DIR"
  write_config "$DIR/config.yaml" "$DIR/spans.jsonl"
  nohup setsid "$BIN" --config "$DIR/config.yaml" </dev/null >"$DIR/otelcol.log" 2>&1 &
  printf '%s\n' "$!" >"$DIR/otelcol.pid"
  local i
  for ((i = 0; i < TIMEOUT * 5; i++)); do
    if answers; then
      log "$TAG" "up on http://$HOST:$PORT (spans in $DIR/spans.jsonl)"
      return
    fi
    [[ -n "$(pid_of || true)" ]] || break
    sleep 0.2
  done
  tail -n 30 "$DIR/otelcol.log" >&2 || true
  die "$TAG" "the collector did not answer on $HOST:$PORT"
}

stop() {
  local pid
  pid="$(pid_of || true)"
  if [[ -z $pid ]]; then
    log "$TAG" "not running"
    return
  fi
  kill -TERM "$pid"
  local i
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  rm -f "$DIR/otelcol.pid"
  log "$TAG" "stopped"
}

case "${1:-}" in
  build) build ;;
  path) printf '%s\n' "$BIN" ;;
  start) start ;;
  stop) stop ;;
  status)
    if [[ -n "$(pid_of || true)" ]]; then echo "otelcol   running (pid $(pid_of)) on $HOST:$PORT"; else echo "otelcol   stopped"; fi
    ;;
  env) printf 'export CONCORD_OTLP_ENDPOINT=http://%s:%s\n' "$HOST" "$PORT" ;;
  *) sed -n '2,14s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2; exit 2 ;;
esac
