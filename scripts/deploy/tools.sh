#!/usr/bin/env bash
# Install the deployment checks' tools into .scratch/deploy-tools (idempotent, stamped):
# helm, kubeconform and actionlint built with `go install` from the Go module proxy (pinned
# below), and the Kubernetes API's JSON Schemas for kubeconform (deploy/tools/k8s_schemas.py:
# pinned Go modules, converted once) so the chart validates offline.
#
#   scripts/deploy/tools.sh             # install what is missing
#   scripts/deploy/tools.sh actionlint  # only actionlint (make lint needs no more)
#   scripts/deploy/tools.sh env         # print the export lines the checks read
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
cd "$CONCORD_ROOT"
TAG=deploy-tools

DIR="$CONCORD_ROOT/.scratch/deploy-tools"
BIN="$DIR/bin"
SCHEMAS="$DIR/k8s-schemas"
HELM=helm.sh/helm/v4/cmd/helm@v4.3.2
KUBECONFORM=github.com/yannh/kubeconform/cmd/kubeconform@v0.8.0
ACTIONLINT=github.com/rhysd/actionlint/cmd/actionlint@v1.7.12

print_env() {
  printf 'export CONCORD_HELM=%q\n' "$BIN/helm"
  printf 'export CONCORD_KUBECONFORM=%q\n' "$BIN/kubeconform"
  printf 'export CONCORD_ACTIONLINT=%q\n' "$BIN/actionlint"
  printf 'export CONCORD_K8S_SCHEMAS=%q\n' "$SCHEMAS"
}

# go_tool MODULE@VERSION — `go install` it into $BIN unless that exact build is there.
go_tool() {
  local module="$1" t0=$SECONDS name want have=""
  name="$(basename "${module%@*}")"
  command -v go >/dev/null 2>&1 || die "$TAG" "Go is needed (scripts/setup.sh go installs it)"
  want="$(go env GOVERSION) $module"
  [[ -f $BIN/.$name.stamp ]] && have="$(cat "$BIN/.$name.stamp")"
  if [[ $want == "$have" && -x $BIN/$name && ${CONCORD_FORCE_INSTALL:-0} != 1 ]]; then
    return
  fi
  mkdir -p "$BIN"
  log "$TAG" "go install $module"
  GOBIN="$BIN" nice -n 10 go install "$module" >&2 || die "$TAG" "go install $module failed"
  printf '%s\n' "$want" >"$BIN/.$name.stamp"
  log "$TAG" "$name installed in $((SECONDS - t0))s"
}

install_schemas() {
  local t0=$SECONDS
  "$CONCORD_ROOT/.venv/bin/python" deploy/tools/k8s_schemas.py "$SCHEMAS" "$CONCORD_ROOT/.scratch/cache/gomod" ||
    die "$TAG" "building the Kubernetes JSON Schemas failed"
  log "$TAG" "Kubernetes JSON Schemas ready in $((SECONDS - t0))s"
}

case "${1:-install}" in
  install)
    go_tool "$HELM"
    go_tool "$KUBECONFORM"
    go_tool "$ACTIONLINT"
    install_schemas
    ;;
  actionlint) go_tool "$ACTIONLINT" ;;
  env) print_env ;;
  *) sed -n '2,10s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2; exit 2 ;;
esac
