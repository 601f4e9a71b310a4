# shellcheck shell=bash
# openapi-typescript (npm): the document's types under tsc --strict (and stricter flags), used
# through openapi-fetch against the live server (sourced by scripts/third-party.sh).

tp_check_openapi_typescript() {
  local work="$TP_WORK/openapi-typescript" prog="$TP_SRC/openapi-typescript" bin="$TP_SRC/node_modules/.bin"
  mkdir -p "$work/generated"
  "$bin/openapi-typescript" "$OPENAPI" -o "$work/generated/schema.next.ts" >&2 || return 1
  sync_file "$work/generated/schema.next.ts" "$work/generated/schema.ts"
  sync_file "$prog/main.ts" "$work/main.ts"
  sync_file "$prog/tsconfig.json" "$work/tsconfig.json"
  ln -sfn "$TP_SRC/node_modules" "$work/node_modules"
  log "$TAG" "openapi-typescript: tsc --strict, noUncheckedIndexedAccess, exactOptionalPropertyTypes on the types and main.ts"
  (cd "$work" && node_modules/.bin/tsc -p .) || return 1
  node "$work/build/main.js"
}
