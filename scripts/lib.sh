# shellcheck shell=bash
# Helpers shared by the scripts in this folder. Source it; do not run it.

# Repository root (the folder that holds scripts/).
CONCORD_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CONCORD_ROOT

# log TAG MESSAGE... — one clear, timestamped line on stderr.
log() {
  local tag="$1"
  shift
  printf '[%s %s] %s\n' "$tag" "$(date +%H:%M:%S)" "$*" >&2
}

# die TAG MESSAGE... — log and exit 1.
die() {
  log "$1" "ERROR: ${*:2}"
  exit 1
}

# as_root CMD... — run CMD as root: directly when we are root, else through
# passwordless sudo (GitHub runners); fail with a clear message otherwise.
as_root() {
  if [[ $EUID -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo -n "$@"
  else
    echo "need root (or passwordless sudo) to run: $*" >&2
    return 1
  fi
}

# hash_files FILE... — one sha256 over the names and contents of the files
# that exist (a missing file hashes as its name only, so appearing counts).
hash_files() {
  local f
  for f in "$@"; do
    printf '%s\n' "$f"
    if [[ -f $f ]]; then
      sha256sum <"$f"
    fi
  done | sha256sum | cut -d' ' -f1
}
