#!/usr/bin/env bash
# Install everything Concord's build needs. Idempotent and fast when already done.
#
#   scripts/setup.sh python   # .venv (+ generator/server editable), npm tools (buf), Go protoc plugins
#   scripts/setup.sh tools    # only the npm tools (buf)
#   scripts/setup.sh apt      # Debian packages: Redis, PostgreSQL, etcd, Mono, NUnit, shellcheck, Prometheus, podman, wrk, chromium (Debian)
#   scripts/setup.sh go       # a pinned Go into tools/go, when the machine has none >= 1.26
#   scripts/setup.sh codegen  # python + what concord-gen's targets need (make generate/check)
#   scripts/setup.sh sdks     # each SDK's toolchain (scripts/sdk/<name>.sh sdk_setup)
#   scripts/setup.sh otelcol  # the OpenTelemetry Collector of the trace tests (scripts/otelcol.sh build)
#   scripts/setup.sh console  # the web console: npm ci in console/ and its build (scripts/console.sh)
#   scripts/setup.sh third-party # what `make third-party` needs (scripts/third-party.sh setup)
#   scripts/setup.sh deploy   # helm, kubeconform, actionlint, Kubernetes schemas (scripts/deploy/tools.sh)
#   scripts/setup.sh all      # apt + python + Go (pinned, when missing) + otelcol + sdks + console + third-party + deploy (default)
#
# Environment: PYTHON (interpreter for the venv, default python3, must be >= 3.11),
# CONCORD_FORCE_INSTALL=1 (ignore the stamps and reinstall).
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$CONCORD_ROOT"

TAG=setup
PYTHON="${PYTHON:-python3}"
VENV="$CONCORD_ROOT/.venv"
PY_STAMP="$VENV/.concord-install-stamp"
TOOLS="$CONCORD_ROOT/tools"
NPM_STAMP="$TOOLS/node_modules/.concord-install-stamp"

# Debian packages. etcd ships as etcd-server (the daemon) in Debian 12 and Ubuntu;
# there is no package named "etcd" any more. redis-server brings redis-cli (redis-tools).
APT_PACKAGES=(
  redis-server
  postgresql
  etcd-server
  mono-devel
  libnewtonsoft-json-cil-dev
  nunit-console
  shellcheck
  prometheus
  curl
  ca-certificates
  podman # the server image (make test-deploy); runc, as scripts/deploy/containers.conf says
  runc
  debootstrap # its Debian base where no public registry answers
  wrk # the HTTP load generator of make bench
)
# Debian's chromium (Ubuntu ships it only as a snap; GitHub's Ubuntu runners have Chrome, which
# scripts/console.sh finds instead).
if [[ -r /etc/os-release ]] && grep -qx 'ID=debian' /etc/os-release; then
  APT_PACKAGES+=(chromium fonts-liberation)
fi

# Python tools the build uses even before generator/ or server/ exist
# (lint, vendor-protos, tests). Versions come from constraints.txt.
BASE_PY_PACKAGES=(pip pytest ruff mypy grpcio-tools googleapis-common-protos)

elapsed() { printf '%ds' "$((SECONDS - $1))"; }

# ---------------------------------------------------------------- apt
apt_missing() {
  local pkg status
  for pkg in "${APT_PACKAGES[@]}"; do
    status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)"
    if [[ $status != installed ]]; then
      printf '%s\n' "$pkg"
    fi
  done
}

setup_apt() {
  local t0=$SECONDS
  if ! command -v dpkg-query >/dev/null 2>&1; then
    die "$TAG" "dpkg-query not found: the apt step needs Debian or Ubuntu (install ${APT_PACKAGES[*]} yourself)"
  fi
  local missing
  mapfile -t missing < <(apt_missing)
  if [[ ${#missing[@]} -eq 0 ]]; then
    log "$TAG" "apt: all ${#APT_PACKAGES[@]} packages present"
    return
  fi
  log "$TAG" "apt: missing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Without an init system, package scripts must not try to start the daemons
  # (we start our own on loopback ports). A policy-rc.d answering 101 says so.
  local policy=/usr/sbin/policy-rc.d made_policy=0
  if [[ ! -e $policy ]]; then
    as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
    made_policy=1
  fi
  local rc=0
  log "$TAG" "apt: apt-get update"
  as_root apt-get update -qq || rc=$?
  if [[ $rc -eq 0 ]]; then
    log "$TAG" "apt: apt-get install ${missing[*]}"
    as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
  fi
  if [[ $made_policy -eq 1 ]]; then
    as_root rm -f "$policy"
  fi
  [[ $rc -eq 0 ]] || die "$TAG" "apt-get failed (exit $rc) installing: ${missing[*]}"
  mapfile -t missing < <(apt_missing)
  [[ ${#missing[@]} -eq 0 ]] || die "$TAG" "still missing after apt-get install: ${missing[*]}"
  log "$TAG" "apt: installed in $(elapsed "$t0")"
}

# ---------------------------------------------------------------- python
python_targets() {
  # Editable installs of the project's own packages, when they exist.
  local pkg
  for pkg in generator server sdks/python cli; do
    if [[ -f $pkg/pyproject.toml ]]; then
      printf '%s\n' "-e" "./${pkg}[dev]"
    fi
  done
}

python_stamp() {
  {
    printf 'python=%s\n' "$("$VENV/bin/python" -c 'import sys; print(sys.version)')"
    printf 'base=%s\n' "${BASE_PY_PACKAGES[*]}"
    hash_files constraints.txt generator/pyproject.toml server/pyproject.toml sdks/python/pyproject.toml \
      cli/pyproject.toml
  } | sha256sum | cut -d' ' -f1
}

setup_python() {
  local t0=$SECONDS
  command -v "$PYTHON" >/dev/null 2>&1 || die "$TAG" "$PYTHON not found (set PYTHON=/path/to/python3.11+)"
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
    die "$TAG" "$PYTHON is $("$PYTHON" -V 2>&1); Concord needs Python >= 3.11"
  [[ -f constraints.txt ]] || die "$TAG" "constraints.txt is missing"

  # A venv whose interpreter vanished (pyenv upgrade, moved checkout) is rebuilt.
  if [[ -d $VENV ]] && ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
    log "$TAG" "python: .venv is broken; recreating it"
    rm -rf "$VENV"
  fi
  if [[ ! -d $VENV ]]; then
    log "$TAG" "python: creating .venv with $("$PYTHON" -V 2>&1)"
    "$PYTHON" -m venv "$VENV"
  fi

  local want have=""
  want="$(python_stamp)"
  [[ -f $PY_STAMP ]] && have="$(cat "$PY_STAMP")"
  if [[ $want == "$have" && ${CONCORD_FORCE_INSTALL:-0} != 1 ]]; then
    log "$TAG" "python: .venv up to date"
    return
  fi

  local targets
  mapfile -t targets < <(python_targets)
  [[ -f generator/pyproject.toml ]] || log "$TAG" "python: generator/pyproject.toml absent; skipping the generator install"
  [[ -f server/pyproject.toml ]] || log "$TAG" "python: server/pyproject.toml absent; skipping the server install"
  log "$TAG" "python: pip install -c constraints.txt ${BASE_PY_PACKAGES[*]} ${targets[*]}"
  local pip=("$VENV/bin/python" -m pip --disable-pip-version-check)
  "${pip[@]}" install -q -c constraints.txt pip
  "${pip[@]}" install -q -c constraints.txt "${BASE_PY_PACKAGES[@]}" "${targets[@]}"
  "${pip[@]}" check >&2 || die "$TAG" "pip check found broken requirements"
  printf '%s\n' "$want" >"$PY_STAMP"
  log "$TAG" "python: installed in $(elapsed "$t0")"
}

# ---------------------------------------------------------------- npm tools
setup_npm() {
  local t0=$SECONDS
  command -v npm >/dev/null 2>&1 || die "$TAG" "npm not found (Node >= 20 is needed for the buf CLI)"
  local want have=""
  want="$(hash_files "$TOOLS/package.json" "$TOOLS/package-lock.json")"
  [[ -f $NPM_STAMP ]] && have="$(cat "$NPM_STAMP")"
  if [[ $want == "$have" && -x $TOOLS/node_modules/.bin/buf && ${CONCORD_FORCE_INSTALL:-0} != 1 ]]; then
    log "$TAG" "npm: tools/node_modules up to date"
    return
  fi
  # Not `npm ci`: the registry reachable here serves only the Linux builds of buf's
  # per-platform optional packages, so the lock file lists only those, and `npm ci` rejects
  # a lock that lacks the other platforms' entries. `npm install --no-save` installs exactly
  # the locked versions and never rewrites the lock (buf pins its platform packages exactly).
  log "$TAG" "npm: npm install --no-save in tools/ (from package-lock.json)"
  (cd "$TOOLS" && npm install --no-save --no-audit --no-fund --loglevel=error >&2)
  "$TOOLS/node_modules/.bin/buf" --version >/dev/null || die "$TAG" "buf does not run after npm ci"
  printf '%s\n' "$want" >"$NPM_STAMP"
  log "$TAG" "npm: buf $("$TOOLS/node_modules/.bin/buf" --version) installed in $(elapsed "$t0")"
}

# ---------------------------------------------------------------- Go toolchain
# The Go SDK and its gRPC module need Go >= GO_MIN. Without it (or with an older one), the pinned
# GO_VERSION comes from the Go module proxy (the same archive `GOTOOLCHAIN` downloads) into
# tools/go; scripts/lib.sh puts tools/go/bin first on PATH when it is there.
GO_MIN=1.26
GO_VERSION=1.26.8
GO_HOME="$TOOLS/go"

go_recent_enough() {
  local have
  have="$(go env GOVERSION 2>/dev/null)" || return 1
  have="${have#go}"
  [[ "$(printf '%s\n%s\n' "$GO_MIN" "$have" | sort -V | head -n1)" == "$GO_MIN" ]]
}

setup_go_toolchain() {
  local t0=$SECONDS arch zip url
  if command -v go >/dev/null 2>&1 && go_recent_enough; then
    log "$TAG" "go: $(go env GOVERSION) at $(command -v go)"
    return
  fi
  case "$(uname -m)" in
    x86_64) arch=amd64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) die "$TAG" "no pinned Go for $(uname -m); install Go >= $GO_MIN yourself" ;;
  esac
  zip="$CONCORD_ROOT/.scratch/cache/go${GO_VERSION}.linux-${arch}.zip"
  url="${GOPROXY_URL:-https://proxy.golang.org}/golang.org/toolchain/@v/v0.0.1-go${GO_VERSION}.linux-${arch}.zip"
  mkdir -p "$(dirname "$zip")"
  if [[ ! -s $zip ]]; then
    log "$TAG" "go: downloading Go $GO_VERSION from the module proxy"
    curl -fsSL --retry 3 -o "$zip.part" "$url" || die "$TAG" "download of $url failed"
    mv "$zip.part" "$zip"
  fi
  rm -rf "$GO_HOME" "$GO_HOME.unpack"
  "$PYTHON" -m zipfile -e "$zip" "$GO_HOME.unpack"
  mv "$GO_HOME.unpack/golang.org/toolchain@v0.0.1-go${GO_VERSION}.linux-${arch}" "$GO_HOME"
  rm -rf "$GO_HOME.unpack"
  chmod +x "$GO_HOME"/bin/* "$GO_HOME"/pkg/tool/*/* 2>/dev/null || true
  export PATH="$GO_HOME/bin:$PATH"
  go version >/dev/null || die "$TAG" "the Go toolchain in $GO_HOME does not run"
  log "$TAG" "go: $(go env GOVERSION) installed in tools/go in $(elapsed "$t0")"
}

# ---------------------------------------------------------------- Go protoc plugins
# protoc-gen-go for concord-gen's go_grpc target, pinned, from the Go
# module proxy into tools/go-bin (gitignored). Skipped without a Go toolchain.
GO_BIN="$TOOLS/go-bin"
GO_PLUGINS=(
  google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
)

setup_go_tools() {
  local t0=$SECONDS want have="" stamp="$GO_BIN/.concord-install-stamp"
  if ! command -v go >/dev/null 2>&1; then
    log "$TAG" "go: no Go toolchain, protoc-gen-go not installed (the go_grpc target needs it)"
    return
  fi
  want="${GO_PLUGINS[*]}"
  [[ -f $stamp ]] && have="$(cat "$stamp")"
  if [[ $want == "$have" && -x $GO_BIN/protoc-gen-go && ${CONCORD_FORCE_INSTALL:-0} != 1 ]]; then
    log "$TAG" "go: tools/go-bin up to date"
    return
  fi
  mkdir -p "$GO_BIN"
  local plugin
  for plugin in "${GO_PLUGINS[@]}"; do # one module per `go install`
    GOBIN="$GO_BIN" go install "$plugin" >&2 || die "$TAG" "go install $plugin failed"
  done
  printf '%s\n' "$want" >"$stamp"
  log "$TAG" "go: protoc-gen-go installed in tools/go-bin in $(elapsed "$t0")"
}

# ---------------------------------------------------------------- OpenTelemetry Collector
# The collector the trace tests export to, built from the Go module proxy (scripts/otelcol.sh).
setup_otelcol() {
  if ! command -v go >/dev/null 2>&1; then
    log "$TAG" "otelcol: no Go toolchain, the collector is not built (the trace tests need it)"
    return
  fi
  "$CONCORD_ROOT/scripts/otelcol.sh" build
}

# ---------------------------------------------------------------- SDK toolchains
# Each SDK installs what it needs itself (scripts/sdk/<name>.sh sdk_setup).
# What concord-gen's targets need besides Python (scripts/sdk/<name>.sh sdk_setup_codegen).
setup_codegen() {
  local sdk
  while read -r sdk; do
    sdk_run "$sdk" sdk_setup_codegen || die "$TAG" "code-generation tools of the $sdk SDK failed"
  done < <(sdk_names)
}

setup_sdks() {
  local sdk
  while read -r sdk; do
    sdk_run "$sdk" sdk_setup || die "$TAG" "set-up of the $sdk SDK failed"
  done < <(sdk_names)
}

# ---------------------------------------------------------------- main
usage() {
  sed -n '2,15s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

main() {
  local what="${1:-all}" t0=$SECONDS
  case "$what" in
    python) setup_python; setup_npm; setup_go_tools ;;
    tools) setup_npm ;;
    apt) setup_apt ;;
    sdks) setup_sdks ;;
    console) scripts/console.sh setup ;;
    deploy) scripts/deploy/tools.sh ;;
    go) setup_go_toolchain ;;
    codegen) setup_python; setup_npm; setup_go_tools; setup_codegen ;;
    otelcol) setup_otelcol ;;
    third-party) setup_python; setup_npm; "$CONCORD_ROOT/scripts/third-party.sh" setup ;;
    all) setup_apt; setup_python; setup_npm; setup_go_toolchain; setup_go_tools; setup_otelcol; setup_sdks
      scripts/console.sh setup; "$CONCORD_ROOT/scripts/third-party.sh" setup; scripts/deploy/tools.sh ;;
    -h | --help | help) usage; return ;;
    *) usage >&2; die "$TAG" "unknown part '$what'" ;;
  esac
  log "$TAG" "done ($what) in $(elapsed "$t0")"
}

main "$@"
