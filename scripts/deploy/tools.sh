#!/usr/bin/env bash
# Install the deployment checks' tools into .scratch/deploy-tools (idempotent, stamped):
# helm, kubeconform and actionlint built with `go install` from the Go module proxy (pinned
# below), and the Kubernetes API's JSON Schemas for kubeconform (deploy/tools/k8s_schemas.py:
# pinned Go modules, converted once) so the chart validates offline.
#
#   scripts/deploy/tools.sh          # install what is missing
#   scripts/deploy/tools.sh env      # print the export lines the checks read
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
cd "$CONCORD_ROOT"
TAG=deploy-tools

DIR="$CONCORD_ROOT/.scratch/deploy-tools"
BIN="$DIR/bin"
SCHEMAS="$DIR/k8s-schemas"
GO_TOOLS=(
  helm.sh/helm/v4/cmd/helm@v4.3.2
  github.com/yannh/kubeconform/cmd/kubeconform@v0.8.0
  github.com/rhysd/actionlint/cmd/actionlint@v1.7.12
)

print_env() {
  printf 'export CONCORD_HELM=%q\n' "$BIN/helm"
  printf 'export CONCORD_KUBECONFORM=%q\n' "$BIN/kubeconform"
  printf 'export CONCORD_ACTIONLINT=%q\n' "$BIN/actionlint"
  printf 'export CONCORD_K8S_SCHEMAS=%q\n' "$SCHEMAS"
}

install_go_tools() {
  local t0=$SECONDS stamp="$BIN/.concord-install-stamp" want have="" tool
  command -v go >/dev/null 2>&1 || die "$TAG" "Go is needed (scripts/setup.sh go installs it)"
  want="$(go env GOVERSION) ${GO_TOOLS[*]}"
  [[ -f $stamp ]] && have="$(cat "$stamp")"
  if [[ $want == "$have" && ${CONCORD_FORCE_INSTALL:-0} != 1 ]]; then
    log "$TAG" "helm, kubeconform, actionlint up to date"
    return
  fi
  mkdir -p "$BIN"
  for tool in "${GO_TOOLS[@]}"; do
    log "$TAG" "go install $tool"
    GOBIN="$BIN" nice -n 10 go install "$tool" >&2 || die "$TAG" "go install $tool failed"
  done
  printf '%s\n' "$want" >"$stamp"
  log "$TAG" "helm, kubeconform, actionlint installed in $((SECONDS - t0))s"
}

install_schemas() {
  local t0=$SECONDS
  "$CONCORD_ROOT/.venv/bin/python" deploy/tools/k8s_schemas.py "$SCHEMAS" "$CONCORD_ROOT/.scratch/cache/gomod" ||
    die "$TAG" "building the Kubernetes JSON Schemas failed"
  log "$TAG" "Kubernetes JSON Schemas ready in $((SECONDS - t0))s"
}

case "${1:-install}" in
  install) install_go_tools; install_schemas ;;
  env) print_env ;;
  *) sed -n '2,9s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2; exit 2 ;;
esac
