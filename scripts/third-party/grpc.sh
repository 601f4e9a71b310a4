# shellcheck shell=bash
# gRPC from the proto in languages we ship no SDK for, with stock protoc and the official plugins
# from Debian (protobuf-compiler, protobuf-compiler-grpc): C++ on grpc++ and Ruby on the grpc gem.
# Each calls AcquireLock on the live server and reads the concord.v1.Error packed in the status
# details of a refused call (sourced by scripts/third-party.sh).

# The contract files a locks client needs: the service, what it imports, and google.rpc.Status.
GRPC_PROTOS=(concord/v1/locks.proto concord/v1/common.proto concord/v1/options.proto
  google/api/annotations.proto google/api/http.proto google/api/field_behavior.proto
  google/rpc/status.proto)

# grpc_generate LANG PLUGIN — protoc's LANG output and the plugin's stubs into the work folder's
# gen/, each file rewritten only when its content changed (so make rebuilds only what changed).
grpc_generate() {
  local lang="$1" plugin="$2" work="$TP_WORK/grpc-$1" next file
  next="$(mktemp -d)"
  if ! protoc -I spec/proto -I spec/third_party "--${lang}_out=$next" "${GRPC_PROTOS[@]}" ||
    ! protoc -I spec/proto -I spec/third_party "--grpc_out=$next" \
      "--plugin=protoc-gen-grpc=$(command -v "$plugin")" concord/v1/locks.proto; then
    rm -rf "$next"
    return 1
  fi
  while read -r file; do
    sync_file "$next/$file" "$work/gen/$file"
  done < <(cd "$next" && find . -type f | sort)
  rm -rf "$next"
}

tp_check_grpc_cpp() {
  local work="$TP_WORK/grpc-cpp"
  grpc_generate cpp grpc_cpp_plugin || return 1
  log "$TAG" "grpc-cpp: protoc $(protoc --version | cut -d' ' -f2) + grpc_cpp_plugin; g++ -Wall -Wextra -Werror against grpc++ $(pkg-config --modversion grpc++)"
  nice -n 10 make -s -j2 -C "$work" -f "$TP_SRC/grpc/cpp/Makefile" \
    PROGRAM="$TP_SRC/grpc/cpp/client.cc" client || return 1
  "$work/client"
}

tp_check_grpc_ruby() {
  local work="$TP_WORK/grpc-ruby" prog="$TP_SRC/grpc/ruby/client.rb" file
  grpc_generate ruby grpc_ruby_plugin || return 1
  log "$TAG" "grpc-ruby: protoc + grpc_ruby_plugin; ruby -wc on the stubs and client.rb, then a run (gem grpc $(ruby -e 'require "grpc"; print GRPC::VERSION'))"
  while read -r file; do
    ruby -wc "$file" >/dev/null || return 1
  done < <(find "$work/gen" -name '*.rb' | sort; echo "$prog")
  ruby -I "$work/gen" "$prog"
}
