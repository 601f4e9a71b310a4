#!/usr/bin/env bash
# The Java SDK's conformance adapter (tests/conformance/adapters.yaml): `run.sh` for REST,
# `run.sh --grpc` for the gRPC transport. Build it first: scripts/sdk/java.sh sdk_build_adapter
# (make conformance does).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cp="$here/target/classes:$(cat "$here/target/classpath.txt")"
exec java -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xss512k -cp "$cp" \
  dev.concord.conformance.Adapter "$@"
