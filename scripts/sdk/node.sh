# shellcheck shell=bash
# The TypeScript SDK (sdks/node, package @concord/sdk): hooks sourced by scripts/lib.sh's sdk_run.
# Dev tools (TypeScript, Biome, publint, attw, ws) are pinned in sdks/node/package.json and its
# lock; npm's cache lives in .scratch/npm-cache and a stamp skips installs that are up to date.

NODE_SDK="$CONCORD_ROOT/sdks/node"
NODE_BIN="$NODE_SDK/node_modules/.bin"
NODE_CACHE="$CONCORD_ROOT/.scratch/npm-cache"
NODE_STAMP="$NODE_SDK/node_modules/.concord-install-stamp"

node_stamp() { hash_files "$NODE_SDK/package.json" "$NODE_SDK/package-lock.json"; }

sdk_setup() {
  command -v node >/dev/null 2>&1 || die sdk-node "node not found (Node >= 20 is needed)"
  local want have=""
  want="$(node_stamp) $(node --version)"
  [[ -f $NODE_STAMP ]] && have="$(cat "$NODE_STAMP")"
  if [[ $want == "$have" && -z ${CONCORD_FORCE_INSTALL:-} ]]; then
    return 0
  fi
  log sdk-node "npm ci in sdks/node (cache .scratch/npm-cache)"
  mkdir -p "$NODE_CACHE"
  (cd "$NODE_SDK" && npm ci --cache "$NODE_CACHE" --prefer-offline --no-audit --no-fund \
    --loglevel=error >&2) || return 1
  printf '%s\n' "$want" >"$NODE_STAMP"
}

# node_build — dist/ (ESM + CJS with .d.ts), then tests and adapter into .build/.
node_build() {
  sdk_setup || return 1
  (cd "$NODE_SDK" && node scripts/build.mjs && rm -rf .build && "$NODE_BIN/tsc" -p tsconfig.test.json)
}

sdk_lint() {
  sdk_setup || return 1
  log sdk-node "biome ci; strict tsc builds of src, tests and adapter; publint and attw on the tarball"
  (cd "$NODE_SDK" && "$NODE_BIN/biome" ci --colors=off .) || return 1
  node_build || return 1
  local out rc=0
  out="$(mktemp -d)"
  (cd "$NODE_SDK" && npm pack --silent --pack-destination "$out" >/dev/null &&
    "$NODE_BIN/publint" run "$out"/concord-sdk-*.tgz --strict &&
    "$NODE_BIN/attw" --format ascii "$out"/concord-sdk-*.tgz) || rc=1
  rm -rf "$out"
  return "$rc"
}

sdk_test() {
  node_build || return 1
  log sdk-node "node --test (unit tests, then live tests against $CONCORD_TEST_BASE_URL)"
  (cd "$NODE_SDK" && node --test --test-concurrency=1 .build/tests/)
}

sdk_package_check() {
  node_build || return 1
  local out rc=0
  out="$(mktemp -d)"
  log sdk-node "npm pack, installed into a clean project, imported as ESM and CJS"
  (cd "$NODE_SDK" && npm pack --silent --pack-destination "$out" >/dev/null) || rc=1
  if [[ $rc -eq 0 ]]; then
    cp "$NODE_SDK"/tests/package/{esm.mjs,cjs.cjs,types.ts} "$out/"
    (cd "$out" && npm init -y >/dev/null && npm install --cache "$NODE_CACHE" --offline \
      --no-audit --no-fund --loglevel=error ./concord-sdk-*.tgz >&2 &&
      node esm.mjs && node cjs.cjs &&
      "$NODE_BIN/tsc" --noEmit --strict --exactOptionalPropertyTypes --noUncheckedIndexedAccess \
        --module nodenext --moduleResolution nodenext --target es2022 \
        --lib es2022,dom,esnext.disposable types.ts) || rc=1
  fi
  rm -rf "$out"
  return "$rc"
}

sdk_build_adapter() {
  node_build
}
