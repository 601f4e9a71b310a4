# shellcheck shell=bash
# OpenAPI Generator (the CLI jar from Maven Central) at its default settings on the committed
# spec/openapi/openapi.yaml: python, go, typescript-fetch, java and csharp clients, each built by
# its language's compiler in strict mode and run against the live server (sourced by
# scripts/third-party.sh, which defines TP_*, OAG_*, OPENAPI and sync_file).

OAG_GENERATORS=(python go typescript-fetch java csharp)
OAG_OUT="$TP_WORK/oag"
# Short-lived JVMs on a busy machine: C1 only and the serial collector halve their CPU time.
TP_JVM=(-XX:TieredStopAtLevel=1 -XX:+UseSerialGC)
# What OpenAPI Generator prints whatever the document: 3.1 support is "beta" in every generator,
# and the python generator asks every inline property schema for a $ref name
# (AbstractPythonCodegen.toDefaultValue), which logs "Failed to get the schema name: null".
OAG_KNOWN_WARNINGS='OpenAPI 3.1 support is still in beta'
OAG_KNOWN_PYTHON_WARNINGS='Failed to get the schema name: null'

oag() { java "${TP_JVM[@]}" -jar "$OAG_JAR" "$@"; }

# oag_generate GENERATOR — generate into .scratch/third-party/oag/GENERATOR unless the document
# and the generator version are those of the last run; fail on any warning not known above.
oag_generate() {
  local gen="$1" dir="$OAG_OUT/$1" want known="$OAG_KNOWN_WARNINGS"
  want="$(hash_files "$OPENAPI") $OAG_VERSION"
  if [[ ! -f $dir.stamp || "$(cat "$dir.stamp")" != "$want" ]]; then
    rm -rf "$dir" "$dir.stamp"
    oag generate -g "$gen" -i "$OPENAPI" -o "$dir" >"$dir.log" 2>&1 ||
      { tail -40 "$dir.log" >&2; return 1; }
    printf '%s\n' "$want" >"$dir.stamp"
  fi
  [[ $gen == python ]] && known="$known|$OAG_KNOWN_PYTHON_WARNINGS"
  if grep -E '\b(WARN|ERROR)\b' "$dir.log" | grep -vE "$known" >&2; then
    log "$TAG" "$gen: OpenAPI Generator warned about the document (above)"
    return 1
  fi
  log "$TAG" "$gen: generated at default settings, no warning about the document"
}

tp_check_oag_generate() {
  local gen rc=0 out
  mkdir -p "$OAG_OUT"
  out="$(oag validate -i "$OPENAPI" 2>&1)" || { echo "$out" >&2; return 1; }
  log "$TAG" "validate: $(grep -cE '^\s+- ' <<<"$out") recommendation(s) (the SSE message schemas, named only by x-concord-item-schema)"
  for gen in "${OAG_GENERATORS[@]}"; do
    oag_generate "$gen" || rc=1
  done
  return "$rc"
}

tp_check_oag_python() {
  local dir="$OAG_OUT/python" prog="$TP_SRC/openapi-generator/python"
  [[ -d $dir/openapi_client ]] || { log "$TAG" "python: no generated client"; return 1; }
  log "$TAG" "python: mypy --strict (less four template checks, see mypy.ini) on the client and main.py"
  (cd "$dir" && MYPYPATH="$dir" "$TP_VENV/bin/mypy" --config-file "$prog/mypy.ini" \
    --cache-dir "$TP_WORK/mypy-cache" openapi_client "$prog/main.py") || return 1
  PYTHONPATH="$dir" "$TP_VENV/bin/python" "$prog/main.py"
}

tp_check_oag_go() {
  local work="$TP_WORK/go" prog="$TP_SRC/openapi-generator/go"
  [[ -f $OAG_OUT/go/go.mod ]] || { log "$TAG" "go: no generated client"; return 1; }
  sync_file "$prog/go.mod" "$work/go.mod"
  sync_file "$prog/main.go" "$work/main.go"
  ln -sfn "$OAG_OUT/go" "$work/generated"
  log "$TAG" "go: go vet (the client and main.go), go build"
  (cd "$work" && go vet . github.com/GIT_USER_ID/GIT_REPO_ID && go build -o client .) || return 1
  "$work/client"
}

tp_check_oag_typescript_fetch() {
  local work="$TP_WORK/typescript-fetch" prog="$TP_SRC/openapi-generator/typescript-fetch"
  [[ -f $OAG_OUT/typescript-fetch/index.ts ]] || { log "$TAG" "typescript-fetch: no generated client"; return 1; }
  sync_file "$prog/main.ts" "$work/main.ts"
  sync_file "$prog/tsconfig.json" "$work/tsconfig.json"
  ln -sfn "$OAG_OUT/typescript-fetch" "$work/generated"
  ln -sfn "$TP_SRC/node_modules" "$work/node_modules"
  log "$TAG" "typescript-fetch: tsc --strict (and noImplicitReturns) on the client and main.ts"
  (cd "$work" && node_modules/.bin/tsc -p .) || return 1
  node "$work/build/main.js"
}

# java_classpath — the generated pom's compile classpath (Maven, .scratch/m2; offline once cached).
java_classpath() {
  local work="$TP_WORK/java" pom="$OAG_OUT/java/pom.xml" want offline=()
  want="$(hash_files "$pom")"
  if [[ -f $work/cp.stamp && "$(cat "$work/cp.stamp")" == "$want" ]]; then
    return 0
  fi
  # Offline first (what .scratch/m2 holds); online when the pom asks for something new.
  [[ -f $work/cp.stamp ]] && offline=(-o)
  java_resolve "${offline[@]}" || { [[ ${#offline[@]} -gt 0 ]] && java_resolve; } || return 1
  printf '%s\n' "$want" >"$work/cp.stamp"
}

java_resolve() { # [MVN_FLAGS...] — write the compile classpath of the generated pom to cp.txt
  nice -n 10 mvn -B -q -Dstyle.color=never "$@" -Dmaven.repo.local="$TP_M2" -f "$OAG_OUT/java/pom.xml" \
    dependency:build-classpath -DincludeScope=compile -Dmdep.outputFile="$TP_WORK/java/cp.txt" >&2
}

tp_check_oag_java() {
  local work="$TP_WORK/java" prog="$TP_SRC/openapi-generator/java" sources want
  [[ -f $OAG_OUT/java/pom.xml ]] || { log "$TAG" "java: no generated client"; return 1; }
  mkdir -p "$work"
  java_classpath || return 1
  sources="$(find "$OAG_OUT/java/src/main/java" -name '*.java' | sort; echo "$prog/Main.java")"
  # shellcheck disable=SC2086 # one path a word
  want="$(hash_files $sources "$work/cp.txt")"
  if [[ ! -f $work/classes.stamp || "$(cat "$work/classes.stamp")" != "$want" ]]; then
    log "$TAG" "java: javac -Xlint:all,-rawtypes -Werror on the client (okhttp-gson) and Main.java"
    rm -rf "$work/classes" "$work/classes.stamp"
    printf '%s\n' "$sources" >"$work/sources.txt"
    nice -n 10 javac "${TP_JVM[@]/#/-J}" -Xlint:all,-rawtypes -Werror -d "$work/classes" \
      -cp "$(cat "$work/cp.txt")" @"$work/sources.txt" || return 1
    printf '%s\n' "$want" >"$work/classes.stamp"
  else
    log "$TAG" "java: sources unchanged since they compiled cleanly; running"
  fi
  java "${TP_JVM[@]}" -cp "$work/classes:$(cat "$work/cp.txt")" Main
}

tp_check_oag_csharp() {
  local dir="$OAG_OUT/csharp/src/Org.OpenAPITools"
  [[ -f $dir/Api/LockServiceApi.cs && -f $dir/Model/Problem.cs ]] ||
    { log "$TAG" "csharp: no generated client"; return 1; }
  grep -q 'ERROR_CODE_LOCK_CONFLICT' "$dir/Model/ErrorCode.cs" ||
    { log "$TAG" "csharp: ErrorCode lacks the names x-enum-varnames gives"; return 1; }
  log "$TAG" "csharp: generated at defaults (generichost, net10.0), not compiled: that needs the .NET SDK and NuGet, and Mono's mcs (C# 7.2, Json.NET 6) cannot build any of the generator's C# libraries"
  return "$TP_SKIP"
}
