#!/usr/bin/env bash
# The Java SDK's conformance adapter (tests/conformance/adapters.yaml): `run.sh` for REST,
# `run.sh --grpc` for the gRPC transport. Build it first: scripts/sdk/java.sh sdk_build_adapter
# (make conformance does).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cp="$here/target/concord-conformance.jar:$(cat "$here/target/classpath.txt")"
# The class-data archive sdk_build_adapter made (one per transport), when present.
archive="$here/target/adapter${1:-}.jsa"
cds=()
if [[ -n ${CONCORD_ADAPTER_CDS_DUMP:-} ]]; then
  cds=("-XX:ArchiveClassesAtExit=$CONCORD_ADAPTER_CDS_DUMP")
elif [[ -f $archive ]]; then
  cds=("-XX:SharedArchiveFile=$archive" -Xshare:auto)
fi
exec java -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xss512k "${cds[@]}" -cp "$cp" \
  dev.concord.conformance.Adapter "$@"
