#!/usr/bin/env bash
# Run the engines the tests use — Redis, PostgreSQL, etcd — on 127.0.0.1, with their
# data and logs under .scratch/services/<name>. No systemd, no Docker.
#
#   scripts/services.sh start  [redis|postgres|etcd ...]   start (already running is fine)
#   scripts/services.sh stop   [redis|postgres|etcd ...]   stop what this checkout started
#   scripts/services.sh status [redis|postgres|etcd ...]   print state (exit 0)
#   scripts/services.sh check  [redis|postgres|etcd ...]   exit 0 only if all answer
#   scripts/services.sh env                                print the export lines for tests
#
# Ports (override with env): CONCORD_REDIS_PORT=6390 CONCORD_PG_PORT=55432
# CONCORD_ETCD_PORT=23790 CONCORD_ETCD_PEER_PORT=23800; CONCORD_SERVICES_TIMEOUT=60 (s).
# A service that already answers on its port but was not started by this checkout
# (another clone, say) is used as it is and never stopped by this script.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TAG=services
HOST=127.0.0.1
REDIS_PORT="${CONCORD_REDIS_PORT:-6390}"
PG_PORT="${CONCORD_PG_PORT:-55432}"
PG_DB=concord
ETCD_PORT="${CONCORD_ETCD_PORT:-23790}"
ETCD_PEER_PORT="${CONCORD_ETCD_PEER_PORT:-23800}"
TIMEOUT="${CONCORD_SERVICES_TIMEOUT:-60}"
SCRATCH="$CONCORD_ROOT/.scratch/services"
ALL_SERVICES=(redis postgres etcd)

# ---------------------------------------------------------------- helpers
# A live process, not a zombie: daemons re-parented to a PID 1 that reaps slowly linger as
# zombies after they exit.
pid_alive() {
  [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null || return 1
  local stat=""
  read -r stat <"/proc/$1/stat" 2>/dev/null || return 0
  stat="${stat##*) }"
  [[ ${stat:0:1} != Z ]]
}

read_pid() { # FILE -> first line if it is a number
  local pid=""
  if [[ -r $1 ]]; then read -r pid <"$1" || true; fi
  [[ $pid =~ ^[0-9]+$ ]] && printf '%s' "$pid"
}

# wait_until SERVICE LOGFILE PIDFILE CMD... — poll CMD until it succeeds, the process
# named by PIDFILE (may be "") exits, or TIMEOUT runs out; on failure print the log tail.
wait_until() {
  local name="$1" logfile="$2" pidfile="$3" deadline=$((SECONDS + TIMEOUT)) why=""
  shift 3
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      why="did not answer within ${TIMEOUT}s"
    elif [[ -n $pidfile && -e $pidfile ]] && ! pid_alive "$(read_pid "$pidfile")"; then
      why="exited during start-up"
    fi
    if [[ -n $why ]]; then
      log "$TAG" "ERROR: $name $why; last lines of $logfile:"
      tail -n 30 "$logfile" >&2 2>/dev/null || echo "(no log at $logfile)" >&2
      return 1
    fi
    sleep 0.2
  done
}

# stop_pid NAME PID — TERM, wait up to 20 s, then KILL.
stop_pid() {
  local name="$1" pid="$2" i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do
    pid_alive "$pid" || return 0
    sleep 0.2
  done
  log "$TAG" "$name (pid $pid) ignored SIGTERM for 20s; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
}

need() { # BINARY — fail clearly when a binary is missing
  command -v "$1" >/dev/null 2>&1 || die "$TAG" "'$1' not found; run 'scripts/setup.sh apt' (or 'make setup') first"
}

# ---------------------------------------------------------------- redis
redis_dir() { printf '%s' "$SCRATCH/redis"; }
redis_pid() { read_pid "$(redis_dir)/redis.pid"; }
redis_answers() { [[ $(redis-cli -h "$HOST" -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]; }

redis_start() {
  need redis-server
  need redis-cli
  local d
  d="$(redis_dir)"
  mkdir -p "$d/data"
  # Append-only file on, so a test can restart Redis and find its data (fencing tokens).
  redis-server --daemonize yes --bind "$HOST" --port "$REDIS_PORT" \
    --dir "$d/data" --save "" --appendonly yes --appendfsync everysec \
    --pidfile "$d/redis.pid" --logfile "$d/redis.log" >/dev/null
  wait_until redis "$d/redis.log" "" redis_answers
}

redis_stop() {
  local pid
  pid="$(redis_pid)"
  # SHUTDOWN flushes the append-only file; fall back to a signal.
  redis-cli -h "$HOST" -p "$REDIS_PORT" shutdown >/dev/null 2>&1 || true
  stop_pid redis "$pid"
  rm -f "$(redis_dir)/redis.pid"
}

# ---------------------------------------------------------------- postgres
pg_bindir() {
  # Debian keeps the server binaries (initdb, pg_ctl, postgres) out of PATH, and
  # pg_config --bindir can name a client-only folder; pick a folder that has initdb.
  local c
  local candidates=("${CONCORD_PG_BINDIR:-}")
  command -v pg_config >/dev/null 2>&1 && candidates+=("$(pg_config --bindir 2>/dev/null || true)")
  # Newest major first.
  while IFS= read -r c; do candidates+=("$c"); done < <(
    find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -t/ -k5,5 -n -r
  )
  candidates+=("$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/x)")")
  for c in "${candidates[@]}"; do
    if [[ -n $c && -x $c/initdb && -x $c/pg_ctl ]]; then
      printf '%s' "$c"
      return
    fi
  done
  die "$TAG" "PostgreSQL server binaries (initdb, pg_ctl) not found; run 'scripts/setup.sh apt' or set CONCORD_PG_BINDIR"
}

# As root, PostgreSQL refuses to run: use the postgres account. As anyone else, run as ourselves.
pg_as() {
  if [[ $EUID -eq 0 ]]; then
    # From /, which the postgres user can always enter (the checkout may be private).
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

# The folder that holds the cluster. .scratch/services/postgres when the postgres user
# can reach it; when the checkout sits under a folder it cannot enter (a 0700 temp
# folder, say), a folder in /tmp named after the checkout, linked from there.
pg_dir() {
  if [[ -L $SCRATCH/postgres ]]; then
    readlink -f "$SCRATCH/postgres"
  else
    printf '%s' "$SCRATCH/postgres"
  fi
}

pg_prepare_dir() {
  local d="$SCRATCH/postgres"
  if [[ $EUID -ne 0 ]]; then
    mkdir -p "$d"
    return
  fi
  id postgres >/dev/null 2>&1 || die "$TAG" "no 'postgres' user; run 'scripts/setup.sh apt' first"
  if [[ -L $d ]]; then # chosen on an earlier start (see below)
    local target
    target="$(readlink -f "$d")"
    mkdir -p "$target"
    chown postgres:postgres "$target"
    chmod 700 "$target"
    return
  fi
  mkdir -p "$d"
  chown postgres:postgres "$d" 2>/dev/null || true
  if ! (cd / && runuser -u postgres -- test -w "$d"); then
    local alt
    alt="/tmp/concord-pg-$(printf '%s' "$CONCORD_ROOT" | sha256sum | cut -c1-12)"
    log "$TAG" "postgres: user 'postgres' cannot reach $d; keeping the cluster in $alt"
    mkdir -p "$alt"
    chown postgres:postgres "$alt"
    chmod 700 "$alt"
    rmdir "$d"
    ln -s "$alt" "$d"
  fi
}

pg_pid() { [[ -e "$(pg_dir)/data/postmaster.pid" ]] && read_pid "$(pg_dir)/data/postmaster.pid"; }
pg_answers() { "$PG_BIN/pg_isready" -q -h "$HOST" -p "$PG_PORT" -U postgres -d postgres; }

postgres_start() {
  PG_BIN="$(pg_bindir)"
  pg_prepare_dir
  local d
  d="$(pg_dir)"
  if [[ ! -s $d/data/PG_VERSION ]]; then
    log "$TAG" "postgres: initdb in $d/data ($("$PG_BIN/postgres" --version))"
    pg_as "$PG_BIN/initdb" -D "$d/data" -A trust -U postgres -E UTF8 --no-sync >"$d/initdb.log" 2>&1 || {
      tail -n 30 "$d/initdb.log" >&2
      die "$TAG" "initdb failed"
    }
  fi
  # TCP on loopback only, no Unix socket (its path could exceed 107 bytes). fsync off:
  # this cluster is for tests, not for keeping data through a power cut.
  local opts="-c listen_addresses=$HOST -p $PG_PORT -c unix_socket_directories= -c fsync=off"
  opts+=" -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
  pg_as "$PG_BIN/pg_ctl" -D "$d/data" -l "$d/postgres.log" -o "$opts" -W start >/dev/null
  wait_until postgres "$d/postgres.log" "" pg_answers
  local exists
  exists="$("$PG_BIN/psql" -h "$HOST" -p "$PG_PORT" -U postgres -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")"
  if [[ $exists != 1 ]]; then
    "$PG_BIN/createdb" -h "$HOST" -p "$PG_PORT" -U postgres "$PG_DB"
    log "$TAG" "postgres: created database $PG_DB"
  fi
}

postgres_stop() {
  PG_BIN="$(pg_bindir)"
  local d
  d="$(pg_dir)"
  pg_as "$PG_BIN/pg_ctl" -D "$d/data" -m fast -w -t "$TIMEOUT" stop >/dev/null
}

# ---------------------------------------------------------------- etcd
etcd_dir() { printf '%s' "$SCRATCH/etcd"; }
etcd_pid() { read_pid "$(etcd_dir)/etcd.pid"; }
etcd_answers() { curl -fsS --max-time 2 "http://$HOST:$ETCD_PORT/health" 2>/dev/null | grep -q '"health":"true"'; }

etcd_start() {
  need etcd
  need curl
  local d
  d="$(etcd_dir)"
  mkdir -p "$d"
  local url="http://$HOST:$ETCD_PORT" peer="http://$HOST:$ETCD_PEER_PORT"
  # setsid: the daemon must outlive the make/CI process group that started it.
  nohup setsid etcd --name concord-test --data-dir "$d/data" \
    --listen-client-urls "$url" --advertise-client-urls "$url" \
    --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
    --initial-cluster "concord-test=$peer" --logger zap --log-outputs stderr \
    </dev/null >"$d/etcd.log" 2>&1 &
  printf '%s\n' "$!" >"$d/etcd.pid"
  wait_until etcd "$d/etcd.log" "$d/etcd.pid" etcd_answers
}

etcd_stop() {
  stop_pid etcd "$(etcd_pid)"
  rm -f "$(etcd_dir)/etcd.pid"
}

# ---------------------------------------------------------------- dispatch
port_of() {
  case "$1" in
    redis) printf '%s' "$REDIS_PORT" ;;
    postgres) printf '%s' "$PG_PORT" ;;
    etcd) printf '%s' "$ETCD_PORT" ;;
  esac
}

answers() {
  case "$1" in
    redis) command -v redis-cli >/dev/null 2>&1 && redis_answers ;;
    postgres) PG_BIN="$(pg_bindir 2>/dev/null)" && [[ -n $PG_BIN ]] && pg_answers ;;
    etcd) command -v curl >/dev/null 2>&1 && etcd_answers ;;
  esac
}

log_of() {
  case "$1" in
    redis) printf '%s' "$(redis_dir)/redis.log" ;;
    postgres) printf '%s' "$(pg_dir)/postgres.log" ;;
    etcd) printf '%s' "$(etcd_dir)/etcd.log" ;;
  esac
}

our_pid() {
  case "$1" in
    redis) redis_pid ;;
    postgres) pg_pid ;;
    etcd) etcd_pid ;;
  esac
}

# state NAME -> ours|foreign|down (+ pid for ours)
state() {
  local pid
  pid="$(our_pid "$1" || true)"
  if pid_alive "$pid"; then
    printf 'ours %s' "$pid"
  elif answers "$1"; then
    printf 'foreign'
  else
    printf 'down'
  fi
}

cmd_start() {
  local name st t0 failed=0
  for name in "$@"; do
    t0=$SECONDS
    st="$(state "$name")"
    case "$st" in
      ours*)
        if answers "$name"; then
          log "$TAG" "$name: already running (pid ${st#ours }) on $HOST:$(port_of "$name")"
          continue
        fi
        log "$TAG" "$name: process ${st#ours } is alive but not answering yet; waiting for it"
        wait_until "$name" "$(log_of "$name")" "" answers "$name" || failed=1
        continue
        ;;
      foreign)
        log "$TAG" "$name: something not started by this checkout already answers on $HOST:$(port_of "$name"); using it as is"
        continue
        ;;
    esac
    log "$TAG" "$name: starting on $HOST:$(port_of "$name")"
    if "${name}_start"; then
      log "$TAG" "$name: up in $((SECONDS - t0))s"
    else
      failed=1
    fi
  done
  return "$failed"
}

cmd_stop() {
  local name st
  for name in "$@"; do
    st="$(state "$name")"
    case "$st" in
      ours*)
        log "$TAG" "$name: stopping (pid ${st#ours })"
        "${name}_stop"
        log "$TAG" "$name: stopped"
        ;;
      foreign) log "$TAG" "$name: not started by this checkout; leaving it running" ;;
      down) log "$TAG" "$name: not running" ;;
    esac
  done
}

cmd_status() {
  local name st
  for name in "$@"; do
    st="$(state "$name")"
    case "$st" in
      ours*)
        if answers "$name"; then
          printf '%-9s running (pid %s) on %s:%s\n' "$name" "${st#ours }" "$HOST" "$(port_of "$name")"
        else
          printf '%-9s NOT ANSWERING (pid %s) on %s:%s\n' "$name" "${st#ours }" "$HOST" "$(port_of "$name")"
        fi
        ;;
      foreign) printf '%-9s answering on %s:%s (not started by this checkout)\n' "$name" "$HOST" "$(port_of "$name")" ;;
      down) printf '%-9s stopped\n' "$name" ;;
    esac
  done
}

cmd_check() {
  local name
  for name in "$@"; do
    answers "$name" || return 1
  done
}

cmd_env() {
  printf 'export CONCORD_TEST_REDIS_URL=redis://%s:%s/0\n' "$HOST" "$REDIS_PORT"
  printf 'export CONCORD_TEST_POSTGRES_URL=postgresql://postgres@%s:%s/%s\n' "$HOST" "$PG_PORT" "$PG_DB"
  printf 'export CONCORD_TEST_ETCD_URL=etcd://%s:%s\n' "$HOST" "$ETCD_PORT"
}

usage() { sed -n '2,15s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

main() {
  local cmd="${1:-}"
  shift || true
  local names=("$@") n
  [[ ${#names[@]} -gt 0 ]] || names=("${ALL_SERVICES[@]}")
  for n in "${names[@]}"; do
    case "$n" in
      redis | postgres | etcd) ;;
      *) die "$TAG" "unknown service '$n' (choose from: ${ALL_SERVICES[*]})" ;;
    esac
  done
  case "$cmd" in
    start) cmd_start "${names[@]}" ;;
    stop) cmd_stop "${names[@]}" ;;
    restart) cmd_stop "${names[@]}" && cmd_start "${names[@]}" ;;
    status) cmd_status "${names[@]}" ;;
    check) cmd_check "${names[@]}" ;;
    env) cmd_env ;;
    -h | --help | help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

main "$@"
