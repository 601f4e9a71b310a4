# shellcheck shell=bash
# The Go SDK (sdks/go, stdlib only) and its opt-in gRPC transport module (sdks/go/grpc):
# hooks sourced by scripts/lib.sh's sdk_run (see there).

go_modules() { # the Go modules of the SDK that exist
  local dir
  for dir in sdks/go sdks/go/grpc; do
    [[ -f $dir/go.mod ]] && printf '%s\n' "$dir"
  done
}

go_gofmt_clean() {
  local out
  out="$(gofmt -l .)"
  [[ -z $out ]] || { echo "not gofmt'd: $out"; return 1; }
}

sdk_lint() {
  local dir rc=0
  while read -r dir; do
    log sdk-go "gofmt -l and go vet in $dir"
    (cd "$dir" && go_gofmt_clean && go vet ./...) || rc=1
  done < <(go_modules)
  return "$rc"
}

sdk_test() {
  local dir rc=0
  while read -r dir; do
    log sdk-go "go test in $dir"
    (cd "$dir" && go test -count=1 ./...) || rc=1
  done < <(go_modules)
  return "$rc"
}

# The REST adapter (column `go`) and, from the gRPC module, the gRPC one (column `go-grpc`).
# sdks/go/go.work makes the gRPC module build against the REST module of this tree.
sdk_build_adapter() {
  (cd sdks/go && go build -o bin/concord-conformance ./cmd/concord-conformance) &&
    (cd sdks/go/grpc && go build -o ../bin/concord-conformance-grpc ./cmd/concord-conformance-grpc)
}
