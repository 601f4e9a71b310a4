# shellcheck shell=bash
# Helpers shared by the scripts in this folder. Source it; do not run it.

# Repository root (the folder that holds scripts/).
CONCORD_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CONCORD_ROOT

# A Go toolchain that scripts/setup.sh installed (when the machine had none recent enough).
if [[ -x $CONCORD_ROOT/tools/go/bin/go && :$PATH: != *":$CONCORD_ROOT/tools/go/bin:"* ]]; then
  export PATH="$CONCORD_ROOT/tools/go/bin:$PATH"
fi

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

# ---------------------------------------------------------------- per-SDK hooks
# Each SDK's build lives in scripts/sdk/<name>.sh, which may define these functions:
#   sdk_setup          install the SDK's toolchain and dependencies (idempotent, cached)
#   sdk_lint           the language's compiler warnings, linter and formatter check
#   sdk_test           unit tests, then live tests against CONCORD_TEST_BASE_URL /
#                      CONCORD_TEST_GRPC_TARGET / CONCORD_TEST_API_KEY (test-sdks.sh starts it)
#   sdk_package_check  build the registry artifact, install it in a clean place, call the server
#   sdk_build_adapter  build the conformance adapter named in tests/conformance/adapters.yaml
# CONCORD_SDKS (comma-separated, e.g. "python,go") limits which SDKs run; default: all of them.

# sdk_names — the SDKs with a hook file, filtered by CONCORD_SDKS, one a line.
sdk_names() {
  local f name
  for f in "$CONCORD_ROOT"/scripts/sdk/*.sh; do
    [[ -e $f ]] || continue
    name="$(basename "$f" .sh)"
    if [[ -z ${CONCORD_SDKS:-} || ",$CONCORD_SDKS," == *",$name,"* ]]; then
      printf '%s\n' "$name"
    fi
  done
}

# sdk_run NAME HOOK — run HOOK of scripts/sdk/NAME.sh in a subshell from the repository root;
# an SDK without that hook succeeds quietly.
sdk_run() {
  local name="$1" hook="$2"
  (
    cd "$CONCORD_ROOT" || exit
    # shellcheck source=/dev/null
    source "$CONCORD_ROOT/scripts/sdk/$name.sh"
    if declare -F "$hook" >/dev/null; then
      "$hook"
    fi
  )
}

# sdk_has NAME HOOK — true when scripts/sdk/NAME.sh defines HOOK.
sdk_has() {
  (
    # shellcheck source=/dev/null
    source "$CONCORD_ROOT/scripts/sdk/$1.sh"
    declare -F "$2" >/dev/null
  )
}
